"""How a large run's arrays get their memory: ordinary 4 KiB pages, not transparent huge pages.

numpy asks the kernel for transparent huge pages on every large array (``madvise``). Where the
kernel then compacts memory to find 2 MiB pages on demand (``defrag = madvise``, the common
default, on small VMs whose memory is fragmented), the first touch of a fresh array can stall in
the kernel. Measured on the 2-core benchmark machine, a million-return reconciliation's linking
and classifying spent 0.7-1.3 s in the kernel with the advice and 0.3-0.55 s without it, for the
same work (six runs each). :func:`ordinary_pages` turns the advice off for the duration of a run
and restores numpy's setting afterwards.

It must never change what a run computes, only how its memory is mapped; where numpy does not
offer the switch it does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

__all__ = ["ordinary_pages"]

_lock = threading.Lock()
_depth = 0
_previous = True


def _switch() -> Callable[[bool], bool] | None:
    """numpy's runtime switch of the huge-page advice (``None`` where it has none)."""
    for module in ("_core", "core"):
        multiarray = getattr(getattr(np, module, None), "multiarray", None)
        switch = getattr(multiarray, "_set_madvise_hugepage", None)
        if switch is not None:
            return switch
    return None


@contextmanager
def ordinary_pages() -> Iterator[None]:
    """Inside the block numpy does not ask for transparent huge pages (nesting and threads are
    safe: the outermost block restores numpy's own setting).

    Example
    -------
    >>> with ordinary_pages():
    ...     _ = np.zeros(10)
    """
    global _depth, _previous
    switch = _switch()
    if switch is None:
        yield
        return
    with _lock:
        if _depth == 0:
            _previous = bool(switch(False))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                switch(_previous)
