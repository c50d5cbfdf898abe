"""Turning the simulator's integer columns into the contract's text, fast.

Ids, codes, timestamps and money for millions of rows are laid out as numpy byte matrices (one
row per value: digits by integer division, dates from a per-day table) and handed to Arrow as
string arrays without copying; money is right-aligned and its padding squeezed out. Nothing here
runs Python per row. Arrow string arrays go to the CSV writer as they are, or become pandas
``str`` columns (``to_series``).

This module only formats; it must never decide a value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.money import format_minor_arrow

__all__ = ["codes", "ids", "join", "money", "timestamps", "to_series"]

_SECONDS_PER_DAY = 86_400
_TIME_OF_DAY = pa.array(
    [f"T{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ALPHABET_BYTES = np.frombuffer(_ALPHABET.encode(), dtype=np.uint8)


def _fixed_width(mat: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Rows of an ``(n, width)`` uint8 matrix of ASCII as an Arrow string array (no copy per row);
    ``missing`` rows are null."""
    n, width = mat.shape
    data = pa.py_buffer(np.ascontiguousarray(mat, dtype=np.uint8))
    offsets = pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    if missing is None or not np.any(missing):
        return pa.StringArray.from_buffers(n, offsets, data, None, 0)
    valid = ~np.asarray(missing, dtype=bool)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(n, offsets, data, bitmap, int(n - valid.sum()))


def _fits(n: int, width: int) -> bool:
    return n * width < 2**31 - 1


def _narrow(values: np.ndarray) -> np.ndarray:
    """Non-negative integers as uint32 when they fit (division is much cheaper), else a copy."""
    return values.astype(np.uint32) if not len(values) or int(values.max()) < 2**32 else values.copy()


def _digits_into(mat: np.ndarray, start: int, values: np.ndarray, width: int) -> None:
    """Write ``values`` (non-negative, < 10**width) zero-padded into ``mat[:, start:start+width]``."""
    v = _narrow(values)
    for col in range(start + width - 1, start - 1, -1):
        q = v // 10
        mat[:, col] = v - q * 10 + 48
        v = q


def to_series(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """An Arrow string array as a pandas ``str`` column."""
    return pd.Series(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def ids(prefix: str, numbers: np.ndarray, width: int, missing: np.ndarray | None = None) -> pa.Array:
    """``prefix`` + zero-padded ``numbers``: ``ids("PCR-", [7], 7)`` -> ``PCR-0000007``."""
    numbers = np.asarray(numbers, dtype=np.int64)
    head = prefix.encode()
    if (len(numbers) and (numbers.min() < 0 or numbers.max() >= 10**width)) \
            or not _fits(len(numbers), len(head) + width) or not head.isascii():
        digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
        out = pc.binary_join_element_wise(pa.scalar(prefix), digits, "")
        if missing is not None and np.any(missing):
            out = pc.if_else(pa.array(np.asarray(missing, dtype=bool)), pa.scalar(None, pa.string()), out)
        return out
    mat = np.empty((len(numbers), len(head) + width), dtype=np.uint8)
    mat[:, :len(head)] = np.frombuffer(head, dtype=np.uint8)
    _digits_into(mat, len(head), numbers, width)
    return _fixed_width(mat, missing)


def codes(numbers: np.ndarray, width: int, prefix: str = "", missing: np.ndarray | None = None) -> pa.Array:
    """``prefix`` + base-32 (Crockford) codes of ``width`` characters: ``codes([33], 3)`` -> ``011``."""
    n = np.asarray(numbers, dtype=np.int64)
    head = prefix.encode()
    mat = np.empty((len(n), len(head) + width), dtype=np.uint8)
    mat[:, :len(head)] = np.frombuffer(head, dtype=np.uint8)
    for k in range(width):
        mat[:, len(head) + k] = _ALPHABET_BYTES[(n >> (5 * (width - 1 - k))) & 31]
    return _fixed_width(mat, missing)


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation of string arrays and literals."""
    return pc.binary_join_element_wise(*(pa.scalar(p) if isinstance(p, str) else p for p in parts), sep)


def money(amount_minor: np.ndarray, currency_exponent: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Minor units as contract money text (``4250`` with exponent 2 -> ``42.50``); ``missing`` -> null.

    The digits come from :func:`toolkit.money.format_minor_arrow`, the one place money becomes text.
    """
    amount = np.asarray(amount_minor, dtype=np.int64)
    exps = np.asarray(currency_exponent, dtype=np.int64)
    if missing is not None and np.any(missing):
        keep = ~np.asarray(missing, dtype=bool)
        return _spread(money(amount[keep], exps[keep]), keep)
    return format_minor_arrow(amount, exps)


def _spread(values: pa.Array, keep: np.ndarray) -> pa.Array:
    """``values`` placed at the rows where ``keep``, null elsewhere (string arrays, no copy of text)."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if values.null_count:
        raise ValueError("values to spread must have no nulls")
    value_offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset: values.offset + len(values) + 1]
    lengths = np.zeros(len(keep), dtype=np.int32)
    lengths[keep] = np.diff(value_offsets)
    offsets = np.full(len(keep) + 1, value_offsets[0] if len(value_offsets) else 0, dtype=np.int32)
    offsets[1:] += np.cumsum(lengths, dtype=np.int32)
    bitmap = pa.py_buffer(np.packbits(keep, bitorder="little"))
    data = values.buffers()[2] or pa.py_buffer(b"")
    return pa.StringArray.from_buffers(len(keep), pa.py_buffer(offsets), data, bitmap, int(len(keep) - keep.sum()))


def timestamps(epoch_seconds: np.ndarray, offset_minutes: int = 0, missing: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as ISO 8601 text in a fixed offset (``Z`` for UTC); ``missing`` -> null."""
    t = np.asarray(epoch_seconds, dtype=np.int64) + offset_minutes * 60
    if missing is not None:
        missing = np.asarray(missing, dtype=bool)
        t = np.where(missing, t[~missing].min() if (~missing).any() else 0, t)
    day = t // _SECONDS_PER_DAY
    tod = t - day * _SECONDS_PER_DAY
    if offset_minutes == 0:
        suffix = "Z"
    else:
        sign = "+" if offset_minutes > 0 else "-"
        suffix = f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    first = int(day.min()) if len(day) else 0
    span = (int(day.max()) - first + 1) if len(day) else 1
    dates = np.datetime_as_string(np.arange(first, first + span).astype("datetime64[D]"), unit="D")
    if not len(t) or not _fits(len(t), 19 + len(suffix)) or any(len(d) != 10 for d in dates):
        date_text = pc.take(pa.array(dates.astype(object)), pa.array(day - first))
        tod_text = pc.take(_TIME_OF_DAY, pa.array(tod))
        out = pc.binary_join_element_wise(date_text, tod_text, pa.scalar(suffix), "")
        if missing is not None and missing.any():
            out = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), out)
        return out
    # Fixed width: the date from a per-day table, the time of day from its digits.
    date_bytes = np.frombuffer("".join(dates).encode(), dtype=np.uint8).reshape(span, 10)
    mat = np.empty((len(t), 19 + len(suffix)), dtype=np.uint8)
    # Gathering whole 10-byte items is ~8x faster than gathering rows of a byte matrix.
    mat[:, :10] = date_bytes.view("V10").ravel()[day - first].view(np.uint8).reshape(len(t), 10)
    tod = tod.astype(np.uint32)
    hh, rest = np.divmod(tod, 3600)
    mm, ss = np.divmod(rest, 60)
    for col, char in ((10, "T"), (13, ":"), (16, ":")):
        mat[:, col] = ord(char)
    for col, v in ((11, hh), (14, mm), (17, ss)):
        mat[:, col] = 48 + v // 10
        mat[:, col + 1] = 48 + v % 10
    mat[:, 19:] = np.frombuffer(suffix.encode(), dtype=np.uint8)
    return _fixed_width(mat, missing)
