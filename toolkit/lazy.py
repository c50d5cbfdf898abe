"""Package facades whose names are imported on first use (PEP 562).

``import toolkit.simulate`` should not cost the import of everything the simulator uses: the
command line builds every subcommand's parser on each run, and ``toolkit --help`` should answer at
once. This module owns that mechanism; it must never know what a package exports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_facade"]


def lazy_facade(
    package: str, where: dict[str, str]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for a package exporting ``where``'s names.

    Parameters
    ----------
    package: the package's ``__name__``.
    where: public name -> the module that defines it.

    Example
    -------
    >>> __all__, __getattr__, __dir__ = lazy_facade(__name__, {"Scenario": "toolkit.simulate.scenario"})
    """
    module = importlib.import_module(package)

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(importlib.import_module(where[name]), name)
            setattr(module, name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(module), *where})

    return sorted(where), __getattr__, __dir__
