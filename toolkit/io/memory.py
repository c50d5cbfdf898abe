"""Heap settings for runs over millions of rows: keep freed memory for reuse instead of faulting
it in again.

A reconciliation makes hundreds of short-lived arrays of tens of megabytes. glibc's malloc serves
such sizes with fresh ``mmap`` pages and gives them back on ``free``, so the next array of the
same size is page-faulted in again, one 4 KiB page at a time: on a million returns that is
seconds of a twenty-second run. Inside :func:`reuse_freed_memory` big blocks come from the heap
and freed ones stay there for the next array; on leaving, the usual thresholds are restored and
the heap is trimmed, so a notebook's process does not keep the memory.

It must never change what a run computes, only where its memory comes from; on other C
libraries (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["reuse_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks below this come from the heap during a run: glibc's largest allowed value on 64-bit
#: systems (a column of 2.4 million int64 is 19 MiB).
_MMAP_THRESHOLD = 32 * 1024 * 1024
_TRIM_THRESHOLD = 8 * 1024 * 1024 * 1024
#: glibc's own defaults, restored afterwards.
_DEFAULT_MMAP_THRESHOLD = 128 * 1024
_DEFAULT_TRIM_THRESHOLD = 128 * 1024
_lock = threading.Lock()
_depth = 0


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "mallopt") or not hasattr(libc, "malloc_trim"):
        return None
    return libc


_LIBC = _libc()


@contextmanager
def reuse_freed_memory() -> Iterator[None]:
    """Inside the block, large allocations reuse freed heap memory (glibc only; nesting and
    threads are safe: the outermost block restores the settings).

    Example
    -------
    >>> with reuse_freed_memory():
    ...     pass
    """
    global _depth
    if _LIBC is None:
        yield
        return
    with _lock:
        if _depth == 0:
            _LIBC.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
            _LIBC.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _LIBC.mallopt(_M_MMAP_THRESHOLD, _DEFAULT_MMAP_THRESHOLD)
                _LIBC.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
                _LIBC.malloc_trim(0)
