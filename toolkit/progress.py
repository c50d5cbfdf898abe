"""Progress on stderr for long runs: named stages with their wall time.

Messages go through ``logging`` (logger ``toolkit``), so ``--quiet`` and notebooks control them
with the usual logging levels. Never prints to stdout: stdout belongs to summaries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["stage"]

LOG = logging.getLogger("toolkit")


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Log ``name …`` on entry and ``name done in 1.23 s`` on exit.

    >>> with stage("linking"):
    ...     pass
    """
    LOG.info("%s …", name)
    start = time.perf_counter()
    yield
    LOG.info("%s done in %.2f s", name, time.perf_counter() - start)
