"""Columnar text: timestamps and CSV written at the speed of arrow kernels.

The reconciler writes millions of timestamps and rows. This module produces their text for whole
columns without a Python object per value: :func:`iso_utc_arrow` the contract's UTC timestamps,
and :func:`write_csv_text` the bytes of :func:`toolkit.io.output.write_csv` for a frame of text
(UTF-8, ``\\n``, minimal quoting like pandas); money text is :mod:`toolkit.money`'s
(:func:`~toolkit.money.format_minor_arrow`). Tests hold each function equal to its scalar or
pandas original on random input.

It must never decide what a value means or which columns a file has.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "NO_TIME", "arrow_memory", "arrow_text", "decode", "encode", "index_in", "is_in",
    "iso_utc_arrow", "join_groups", "write_csv_text",
]

#: Marker of "no timestamp" in microsecond arrays.
NO_TIME = -1
#: pandas (``lineterminator="\n"``) quotes a field holding the separator, a quote or ``\n``.
_NEEDS_QUOTES = r'[",\n]'
_SPECIAL_BYTES = (b",", b'"', b"\n")


@contextmanager
def arrow_memory() -> Iterator[None]:
    """Arrow allocates from jemalloc inside the block (the previous default pool after it).

    Millions of rows mean many short-lived buffers of hundreds of megabytes. With this machine's
    default pool (mimalloc) every such buffer is returned to the system and faulted in again:
    copies of a 370 MB ledger took three times as long, and a million-return reconciliation
    about 12 s more. jemalloc keeps freed pages for reuse. Buffers remember their pool, so
    leaving the block is safe. Falls back to the current pool where jemalloc is not built in.

    Example
    -------
    >>> with arrow_memory():
    ...     _ = pa.array(["a"])
    """
    previous = pa.default_memory_pool()
    try:
        pool = pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        pool = previous
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def arrow_text(
    values: pd.Series | np.ndarray | pa.Array | pa.ChunkedArray,
) -> pa.Array | pa.ChunkedArray:
    """A text column as arrow strings (chunks kept as they are), without a Python object per
    value when the column is already arrow-backed (pandas ``str``)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, pd.Series):
        try:
            arr = pa.array(values.array)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            arr = pa.array(values.to_numpy(dtype=object), type=pa.string())
    else:
        arr = pa.array(np.asarray(values, dtype=object), type=pa.string())
    if arr.type == pa.large_string():
        arr = arr.cast(pa.string())
    return arr.fill_null("") if arr.null_count else arr


def _flat(values: object) -> pa.Array:
    arr = arrow_text(values)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def encode(*columns: object) -> list[np.ndarray]:
    """Integer codes of text columns over one shared dictionary (equal text, equal code).

    One arrow hash pass: the "factorize string keys once" step of every join and grouping.
    """
    arrays = [_flat(c) for c in columns]
    joined = pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]
    indices = pc.dictionary_encode(joined).indices.to_numpy(zero_copy_only=False)
    indices = indices.astype(np.int64)
    out, start = [], 0
    for arr in arrays:
        out.append(indices[start:start + len(arr)])
        start += len(arr)
    return out


def index_in(values: object, value_set: object) -> np.ndarray:
    """Position of each value in ``value_set`` (its first occurrence), ``-1`` when absent."""
    found = pc.index_in(_flat(values), value_set=_flat(value_set))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def join_groups(values: pa.Array, owner: np.ndarray, separator: str = "|"
                ) -> tuple[np.ndarray, pa.Array]:
    """``separator``-joined ``values`` per owner, for ``owner`` sorted (groups contiguous).

    Returns the distinct owners and their joined text, in arrow (a list array joined by one
    kernel), so thousands of groups cost no Python loop.
    """
    owner = np.asarray(owner, dtype=np.int64)
    if not len(owner):
        return owner, pa.array([], type=pa.string())
    start = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    offsets = pa.array(np.r_[start, len(owner)].astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, _flat(values))
    return owner[start], pc.binary_join(lists, separator)


def decode(codes: np.ndarray, names: list[str]) -> pa.Array:
    """Text of small integer ``codes`` (indices into ``names``): one string per row, built in
    arrow from a dictionary instead of millions of Python strings."""
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(names, type=pa.string()))
    return dictionary.cast(pa.string())


def is_in(values: pd.Series | pa.Array, value_set: pd.Series | pa.Array) -> np.ndarray:
    """Boolean mask: which ``values`` are in ``value_set`` (text; one hash pass in arrow, fast
    even when the set has millions of values)."""
    mask = pc.is_in(arrow_text(values), value_set=arrow_text(value_set))
    return mask.to_numpy(zero_copy_only=False).astype(bool)


def iso_utc_arrow(us: np.ndarray) -> pa.Array:
    """Microseconds since the epoch as ``2026-03-10T03:03:12Z``; :data:`NO_TIME` -> ``""``.

    Seconds are the precision unless a value has a fraction; then every value of the column is
    written with microseconds, so a column has one shape.
    """
    us = np.asarray(us, dtype=np.int64)
    missing = us == NO_TIME
    fraction = bool((us[~missing] % 1_000_000).any())
    if fraction:
        stamps = pa.array(np.where(missing, 0, us), type=pa.timestamp("us"))
    else:
        stamps = pa.array(np.where(missing, 0, us) // 1_000_000, type=pa.timestamp("s"))
    text = pc.replace_substring(pc.cast(stamps, pa.string()), " ", "T", max_replacements=1)
    text = pc.binary_join_element_wise(text, "Z", "")
    if missing.any():
        text = pc.if_else(pa.array(missing), "", text)
    return text


def _may_need_quotes(column: pa.Array | pa.ChunkedArray) -> bool:
    """Whether any value may hold a comma, a quote or a line break: a byte search of the
    column's character buffers (memchr speed), far cheaper than a regex over every value."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        data = chunk.buffers()[2] if len(chunk) else None
        if data is not None:
            raw = data.to_pybytes()  # one copy, then each search at memchr speed
            if any(byte in raw for byte in _SPECIAL_BYTES):
                return True
    return False


def _quoted(column: pa.Array) -> pa.Array:
    """Minimal quoting, as pandas' ``to_csv`` does it."""
    if not _may_need_quotes(column):
        return column
    needs = pc.match_substring_regex(column, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return column
    escaped = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs, escaped, column)


def write_csv_text(frame: pd.DataFrame, path: str | Path, columns: tuple[str, ...] | None = None
                   ) -> None:
    """Write a frame of text as :func:`toolkit.io.output.write_csv` would, byte for byte.

    Every column is written as text (``""`` for missing); fields holding a comma, a quote or a
    ``\\n`` are quoted with quotes doubled; rows end with ``\\n``.
    """
    if columns is not None:
        frame = frame.loc[:, list(columns)]
    header = ",".join(_quoted(pa.array([str(c) for c in frame.columns])).to_pylist())
    with open(path, "wb") as fh:
        fh.write(header.encode("utf-8") + b"\n")
        if len(frame) == 0:
            return
        if frame.shape[1] == 0:
            fh.write(b"\n" * len(frame))
            return
        # Rows in slices so the joined text of one slice stays well under 2 GiB.
        step = 1 << 20
        for start in range(0, len(frame), step):
            part = frame.iloc[start:start + step]
            cells = [_quoted(arrow_text(part[c].astype("str") if part[c].dtype != "str"
                                        else part[c])) for c in part.columns]
            # The line break rides on the last cell, so the rows are joined (copied) once.
            cells[-1] = pc.binary_join_element_wise(cells[-1], "\n", "")
            lines = pc.binary_join_element_wise(*cells, ",") if len(cells) > 1 else cells[0]
            if isinstance(lines, pa.ChunkedArray):
                lines = lines.combine_chunks()
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
                lines.offset:lines.offset + len(lines) + 1]
            data = lines.buffers()[2]
            fh.write(memoryview(data)[offsets[0]:offsets[-1]])
