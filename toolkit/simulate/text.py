"""Turning the simulator's integer columns into the contract's text, fast.

Ids, money and timestamps for millions of rows are built with pyarrow compute kernels and lookup
tables (two-digit fractions, dates, times of day), never with per-row Python. The results are
pandas ``str`` columns backed by Arrow, so writing them out is cheap too.

This module only formats; it must never decide a value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.money import CURRENCY_EXPONENTS

__all__ = ["codes", "ids", "join", "money", "timestamps", "to_series"]

_SECONDS_PER_DAY = 86_400
_TIME_OF_DAY = pa.array(
    [f"T{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
)
_FRACTIONS = {
    e: pa.array([f".{i:0{e}d}" for i in range(10 ** e)]) for e in sorted(set(CURRENCY_EXPONENTS.values())) if e
}
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SINGLES = pa.array(list(_ALPHABET))
_PAIRS = pa.array([a + b for a in _ALPHABET for b in _ALPHABET])


def to_series(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """An Arrow string array as a pandas ``str`` column."""
    return pd.Series(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers``: ``ids("PCR-", [7], 7)`` -> ``PCR-0000007``."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def codes(numbers: np.ndarray, width: int) -> pa.Array:
    """Base-32 (Crockford) codes of ``width`` characters: ``codes([33], 3)`` -> ``011``."""
    n = np.asarray(numbers, dtype=np.int64)
    parts = []
    k = width
    while k > 0:
        step = 2 if k >= 2 else 1
        k -= step
        digits = (n >> (5 * k)) & ((1 << (5 * step)) - 1)
        parts.append(pc.take(_PAIRS if step == 2 else _SINGLES, pa.array(digits)))
    return pc.binary_join_element_wise(*parts, "")


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation of string arrays and literals."""
    return pc.binary_join_element_wise(*(pa.scalar(p) if isinstance(p, str) else p for p in parts), sep)


def money(amount_minor: np.ndarray, currency_exponent: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Minor units as contract money text (``4250`` with exponent 2 -> ``42.50``); ``missing`` -> null."""
    amount = np.asarray(amount_minor, dtype=np.int64)
    exps = np.asarray(currency_exponent, dtype=np.int64)
    scale = 10 ** exps
    mag = np.abs(amount)
    whole = pc.cast(pa.array(mag // scale), pa.string())
    out = whole
    for e, table in _FRACTIONS.items():
        sel = exps == e
        if not sel.any():
            continue
        frac = pc.take(table, pa.array(np.where(sel, mag % scale, 0)))
        out = pc.if_else(pa.array(sel), pc.binary_join_element_wise(whole, frac, ""), out)
    neg = amount < 0
    if neg.any():
        out = pc.if_else(pa.array(neg), pc.binary_join_element_wise(pa.scalar("-"), out, ""), out)
    if missing is not None and np.any(missing):
        out = pc.if_else(pa.array(np.asarray(missing, dtype=bool)), pa.scalar(None, pa.string()), out)
    return out


def timestamps(epoch_seconds: np.ndarray, offset_minutes: int = 0, missing: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as ISO 8601 text in a fixed offset (``Z`` for UTC); ``missing`` -> null."""
    t = np.asarray(epoch_seconds, dtype=np.int64) + offset_minutes * 60
    day = t // _SECONDS_PER_DAY
    tod = t - day * _SECONDS_PER_DAY
    if missing is not None:
        missing = np.asarray(missing, dtype=bool)
        day = np.where(missing, day[~missing].min() if (~missing).any() else 0, day)
        tod = np.where(missing, 0, tod)
    first = int(day.min()) if len(day) else 0
    span = (int(day.max()) - first + 1) if len(day) else 1
    dates = np.datetime_as_string(np.arange(first, first + span).astype("datetime64[D]"), unit="D")
    date_text = pc.take(pa.array(dates.astype(object)), pa.array(day - first))
    tod_text = pc.take(_TIME_OF_DAY, pa.array(tod))
    if offset_minutes == 0:
        suffix = "Z"
    else:
        sign = "+" if offset_minutes > 0 else "-"
        suffix = f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    out = pc.binary_join_element_wise(date_text, tod_text, pa.scalar(suffix), "")
    if missing is not None and missing.any():
        out = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), out)
    return out
