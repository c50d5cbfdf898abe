"""Money: integer minor units, per-currency exponents, parsing, formatting and half-up rounding.

The rule, stated once: inside the toolkit every amount is an ``int`` (or an ``int64`` column) of the
currency's minor units (cents for USD, yen for JPY, fils for KWD). ``Decimal`` appears only where
text becomes money (:func:`parse_money`, :func:`parse_money_column`) and where money becomes text
(:func:`format_minor`, :func:`format_minor_column`). No float ever holds money.

Every rounding in the toolkit goes through :func:`round_half_up` (scalar) or
:func:`round_half_up_array` (vectorized): ties round away from zero, exactly like
``Decimal.quantize(..., rounding=ROUND_HALF_UP)``.

This module owns conversions; it must never know about files, returns or ledgers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

import numpy as np
import pandas as pd

__all__ = [
    "CURRENCY_EXPONENTS",
    "MoneyParseError",
    "exponent",
    "format_minor",
    "format_minor_column",
    "minor_from_decimal",
    "parse_money",
    "parse_money_column",
    "round_half_up",
    "round_half_up_array",
    "scale_minor",
    "scale_minor_array",
]

#: Digits after the decimal point per ISO 4217 code. Unknown codes are refused, not guessed.
CURRENCY_EXPONENTS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "MYR": 2, "SGD": 2, "NZD": 2, "HKD": 2,
    "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "MXN": 2, "INR": 2, "PHP": 2, "THB": 2, "IDR": 2,
    "JPY": 0, "KRW": 0,
    "KWD": 3, "BHD": 3,
}

_SYMBOLS = "$€£¥₩"


class MoneyParseError(ValueError):
    """A piece of text is not an amount of money in the given currency."""


def exponent(currency: str) -> int:
    """Minor-unit exponent of ``currency`` (``2`` for USD, ``0`` for JPY, ``3`` for KWD).

    Raises
    ------
    MoneyParseError
        When the code is not a currency the toolkit knows.
    """
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyParseError(f"unknown currency code {currency!r}") from None


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to an integer, ties away from zero.

    >>> round_half_up(5, 2), round_half_up(-5, 2), round_half_up(7, 3)
    (3, -3, 2)
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def round_half_up_array(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """Vectorized :func:`round_half_up` over an ``int64`` array and one positive denominator."""
    numerator = np.asarray(numerator, dtype=np.int64)
    magnitude = (2 * np.abs(numerator) + denominator) // (2 * denominator)
    return np.where(numerator >= 0, magnitude, -magnitude).astype(np.int64)


def _ratio(pct: Decimal | int | float | str) -> tuple[int, int]:
    """``pct`` percent as an exact integer fraction ``(num, den)`` of one."""
    frac = Fraction(Decimal(str(pct))) / 100
    return frac.numerator, frac.denominator


def scale_minor(amount_minor: int, pct: Decimal | int | str) -> int:
    """``amount_minor × pct / 100`` in minor units, rounded half up.

    >>> scale_minor(1005, 50)   # 10.05 × 50 % = 5.025 -> 5.03
    503
    """
    num, den = _ratio(pct)
    return round_half_up(amount_minor * num, den)


def scale_minor_array(amount_minor: np.ndarray, pct: Decimal | int | str) -> np.ndarray:
    """Vectorized :func:`scale_minor`."""
    num, den = _ratio(pct)
    return round_half_up_array(np.asarray(amount_minor, dtype=np.int64) * num, den)


def minor_from_decimal(value: Decimal, currency: str) -> int:
    """Exact minor units of a ``Decimal``; refuses sub-minor precision (``1.005`` USD)."""
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyParseError(
            f"{value} has more decimals than {currency} allows ({exponent(currency)})"
        )
    return int(scaled)


def _clean(text: str) -> tuple[str, bool]:
    """Strip symbols, codes, thousands separators; return the bare number and a negation flag."""
    s = text.strip()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    s = s.strip(_SYMBOLS + " ")
    if len(s) > 3 and s[:3].isalpha() and s[:3].isupper():
        s = s[3:].strip()
    if len(s) > 3 and s[-3:].isalpha() and s[-3:].isupper():
        s = s[:-3].strip()
    if s.startswith("-") and len(s) > 1 and s[1] in _SYMBOLS:
        s = "-" + s[2:]
    s = s.strip(_SYMBOLS + " ").replace(",", "").replace(" ", "")
    if s.startswith("-"):
        if negative:
            raise MoneyParseError(f"{text!r} is negative twice")
        negative, s = True, s[1:]
    return s, negative


def parse_money(text: str, currency: str) -> int:
    """Parse one amount as written in an export into minor units of ``currency``.

    Accepts ``42.50``, ``1234.5``, ``$1,234.50``, ``USD 12.00``, ``-20.00`` and ``(20.00)``.

    >>> parse_money("$1,234.50", "USD"), parse_money("(20.00)", "USD"), parse_money("1200", "JPY")
    (123450, -2000, 1200)

    Raises
    ------
    MoneyParseError
        When the text is not a number, or has more decimals than the currency allows.
    """
    bare, negative = _clean(str(text))
    if not bare or not all(c.isdigit() or c == "." for c in bare) or bare.count(".") > 1:
        raise MoneyParseError(f"{text!r} is not an amount")
    try:
        value = Decimal(bare)
    except InvalidOperation:
        raise MoneyParseError(f"{text!r} is not an amount") from None
    minor = minor_from_decimal(value, currency)
    return -minor if negative else minor


def parse_money_column(text: pd.Series, currency: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorized :func:`parse_money` over a column of text and a column of currency codes.

    Returns
    -------
    (minor, bad)
        ``minor`` is a nullable ``Int64`` series (``<NA>`` where the text was empty);
        ``bad`` is a boolean mask of rows whose text is not money in their currency (or whose
        currency is unknown). The canonical shape (``-?digits[.digits]``) is parsed without
        leaving numpy; anything else falls back to :func:`parse_money` row by row.
    """
    text = text.astype("string").str.strip()
    currency = currency.astype("string").str.strip().str.upper()
    n = len(text)
    out = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
    exps = currency.map(CURRENCY_EXPONENTS).astype("Float64")
    unknown_ccy = exps.isna().to_numpy(dtype=bool) & ~empty
    bad |= unknown_ccy
    exp_arr = exps.fillna(0).to_numpy(dtype=np.int64)

    simple = text.str.fullmatch(r"-?\d{1,15}(\.\d*)?").fillna(False).to_numpy(dtype=bool)
    simple &= ~empty & ~unknown_ccy
    if simple.any():
        idx = np.flatnonzero(simple)
        s = text.iloc[idx]
        neg = s.str.startswith("-").to_numpy(dtype=bool)
        parts = s.str.lstrip("-").str.split(".", n=1, expand=True, regex=False)
        whole = parts[0].astype("int64").to_numpy()
        frac = (
            parts[1].fillna("") if parts.shape[1] > 1 else pd.Series("", index=s.index, dtype="string")
        ).astype("string")
        e = exp_arr[idx]
        frac_len = frac.str.len().to_numpy(dtype=np.int64)
        excess = frac_len > e
        # Trailing zeros beyond the exponent are harmless ("1200.00" JPY); other digits are not.
        if excess.any():
            ex_idx = np.flatnonzero(excess)
            tail_ok = np.array(
                [frac.iloc[i][e[i]:].strip("0") == "" for i in ex_idx], dtype=bool
            )
            bad[idx[ex_idx[~tail_ok]]] = True
        frac_val = np.zeros(len(idx), dtype=np.int64)
        for k in np.unique(e):
            if k == 0:
                continue
            sel = e == k
            digits = frac[sel].str.slice(0, int(k)).str.pad(int(k), side="right", fillchar="0")
            frac_val[sel] = digits.astype("int64").to_numpy()
        minor = whole * (10 ** e) + frac_val
        out[idx] = np.where(neg, -minor, minor)

    rest = np.flatnonzero(~simple & ~empty & ~unknown_ccy)
    cur_list = currency.tolist()
    txt_list = text.tolist()
    for i in rest:
        try:
            out[i] = parse_money(txt_list[i], cur_list[i])
        except MoneyParseError:
            bad[i] = True
    result = pd.Series(out, index=text.index, dtype="Int64")
    result[empty | bad] = pd.NA
    return result, pd.Series(bad, index=text.index)


def format_minor(amount_minor: int, currency: str) -> str:
    """Minor units as the contract writes money: ``123450`` USD -> ``"1234.50"``."""
    e = exponent(currency)
    value = Decimal(int(amount_minor)).scaleb(-e)
    return f"{value.quantize(Decimal(1).scaleb(-e), rounding=ROUND_HALF_UP):f}"


def format_minor_column(amount_minor: pd.Series, currency: pd.Series | str) -> pd.Series:
    """Vectorized :func:`format_minor`; ``<NA>`` becomes the empty string."""
    amounts = pd.Series(amount_minor).astype("Int64")
    if isinstance(currency, str):
        currency = pd.Series(currency, index=amounts.index)
    exps = currency.map(CURRENCY_EXPONENTS)
    if exps.isna().any():
        raise MoneyParseError(f"unknown currency code(s): {sorted(set(currency[exps.isna()]))}")
    exps = exps.astype(np.int64).to_numpy()
    missing = amounts.isna().to_numpy(dtype=bool)
    values = amounts.fillna(0).to_numpy(dtype=np.int64)
    neg = values < 0
    mag = np.abs(values)
    scale = 10 ** exps
    whole = (mag // scale).astype(str)
    frac = (mag % scale).astype(str)
    out = pd.Series(whole, index=amounts.index, dtype=object)
    for e in np.unique(exps):
        if e == 0:
            continue
        sel = exps == e
        out[sel] = whole[sel] + "." + np.char.zfill(frac[sel].astype(str), int(e))
    out = out.where(~neg, "-" + out)
    out[missing] = ""
    return out.astype(object)
