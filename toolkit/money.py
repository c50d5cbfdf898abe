"""Money: integer minor units, per-currency exponents, parsing, formatting and half-up rounding.

The rule, stated once: inside the toolkit every amount is an ``int`` (or an ``int64`` column) of the
currency's minor units (cents for USD, yen for JPY, fils for KWD). ``Decimal`` appears only where
text becomes money (:func:`parse_money`, :func:`parse_money_column`) and where money becomes text
(:func:`format_minor`, :func:`format_minor_column`). No float ever holds money.

Whole columns are converted without a Python object per value: :func:`parse_money_arrow` reads
the canonical shape (``-?digits[.digits]``) with integer arithmetic over the column's bytes and
hands every other shape to the scalar :func:`parse_money`; :func:`format_minor_arrow` writes the
bytes of :func:`format_minor` with integer arithmetic in arrow. The scalar functions are the
reference the column functions are tested against, value for value.

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
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CURRENCY_EXPONENTS",
    "MoneyParseError",
    "exponent",
    "format_minor",
    "format_minor_arrow",
    "format_minor_column",
    "minor_from_decimal",
    "parse_money",
    "parse_money_arrow",
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
    if denominator == 1:  # whole already (e.g. 100 % of an amount)
        return numerator.copy()
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
    scaled = np.asarray(amount_minor, dtype=np.int64) * num
    return scaled if den == 1 else round_half_up_array(scaled, den)  # (whole: already a copy)


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


def _arrow_text(values: object) -> pa.Array:
    """One arrow string array (``string`` or ``large_string``, as stored), missing values as
    ``""``: :func:`toolkit.io.keys.arrow_of` flattened to one chunk."""
    from toolkit.io.keys import arrow_of

    values = arrow_of(values)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    return values.fill_null("") if values.null_count else values


def parse_money_arrow(
    text: pa.Array | pd.Series, currency: pa.Array | pd.Series, *,
    exponents: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorized :func:`parse_money` over arrow (or pandas) columns of text and currency codes.

    The canonical shape (``-?digits[.digits]`` with no more decimals than the currency has) is
    converted with integer arithmetic over the column's bytes; every other non-empty text in a
    known currency goes to :func:`parse_money`, so the result is the scalar function's, value
    for value.

    Parameters
    ----------
    text: the amounts as written (missing counts as empty); not trimmed here.
    currency: ISO 4217 codes, one per row, as given (upper case expected).
    exponents: optional, each row's exponent of ``currency`` when the caller already has it
        (``-1`` for a code the toolkit does not know); saves looking the codes up again.

    Returns
    -------
    (minor, bad, parsed)
        ``minor``: ``int64`` minor units (``0`` where nothing was parsed); ``bad``: the text is
        not money in its row's (known) currency; ``parsed``: a value was read (not empty, not
        bad, currency known).

    Example
    -------
    >>> minor, bad, parsed = parse_money_arrow(pa.array(["1.5", "x", ""]), pa.array(["USD"] * 3))
    >>> minor.tolist(), bad.tolist(), parsed.tolist()
    ([150, 0, 0], [False, True, False], [True, False, False])
    """
    arr = _arrow_text(text)
    n = len(arr)
    if exponents is None:
        ccy = _arrow_text(currency)
        encoded = pc.dictionary_encode(ccy)
        table = np.array([CURRENCY_EXPONENTS.get(c, -1) for c in encoded.dictionary.to_pylist()]
                         + [-1], dtype=np.int64)
        exps = table[encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)]
    else:
        ccy = None
        exps = np.asarray(exponents)
    known = exps >= 0
    offsets, _ = _string_buffers(arr)
    empty = offsets[1:] == offsets[:-1]
    out, fast = _parse_canonical(arr, exps)
    bad = np.zeros(n, dtype=bool)
    slow = np.flatnonzero(~fast & ~empty & known)
    if len(slow):
        # Every other shape ("$1,234.50", "(20.00)", "1200.00" JPY) is rare: the scalar rules.
        rows = pa.array(slow)
        if ccy is None:
            ccy = _arrow_text(currency)
        for i, t, c in zip(slow, arr.take(rows).to_pylist(), ccy.take(rows).to_pylist()):
            try:
                value = parse_money(t, c)
            except MoneyParseError:
                bad[i] = True
                continue
            if _INT64_MIN <= value <= _INT64_MAX:
                out[i] = value
            else:  # beyond int64 minor units: no amount a ledger can hold
                bad[i] = True
    return out, bad, known & ~empty & ~bad


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: Powers of ten that fit an unsigned 64-bit integer.
_POW10 = np.array([10**k for k in range(20)], dtype=np.uint64)
#: Longest canonical amount: a sign, 15 digits, the point and 3 decimals.
_CANONICAL_WIDTH = 20
_U64 = {k: np.uint64(k) for k in (1, 8, 16, 32, 10, 100, 10_000, 10**8, 0x00FF00FF00FF00FF,
                                  0x0000FFFF0000FFFF, 0xFFFFFFFF)}


def _string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (``n + 1``, absolute) and the character bytes of a string array."""
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset:arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    chars = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets, chars


def _eight_digits(words: np.ndarray) -> np.ndarray:
    """The number written by each ``uint64`` of eight digit values (0-9, the first character in
    the lowest byte): pairs, then quadruples, then the eight, combined in place."""
    u = _U64
    x = words.copy()
    for shift, mask, scale in ((8, 0x00FF00FF00FF00FF, 10), (16, 0x0000FFFF0000FFFF, 100),
                               (32, 0xFFFFFFFF, 10_000)):
        low = x >> u[shift]
        low &= u[mask]
        x &= u[mask]
        x *= u[scale]
        x += low
    return x


def _column_of(flags: np.ndarray) -> np.ndarray:
    """Column of the (single) set byte of each row of a boolean matrix of whole 64-bit words;
    meaningless on rows with no or several set bytes."""
    words = flags.view(np.uint8).view("<u8")
    if words.shape[1] == 1:
        return np.bitwise_count(words[:, 0] - np.uint64(1)) >> np.uint8(3)
    col = np.zeros(len(words), dtype=np.uint8)
    for w in range(words.shape[1]):
        word = words[:, w]
        # A lone set byte at column c: the word minus one has 8 c bits set.
        below = np.bitwise_count(word - np.uint64(1)) // np.uint8(8)
        col += np.where(word != 0, below + np.uint8(8 * w), np.uint8(0))
    return col


def _count(flags: np.ndarray) -> np.ndarray:
    """Set bytes per row of a boolean matrix of whole 64-bit words."""
    counts = np.bitwise_count(flags.view(np.uint8).view("<u8"))
    return counts[:, 0] if counts.shape[1] == 1 else counts.sum(axis=1, dtype=np.uint8)


#: Rows per block of the byte arithmetic: its temporaries stay small enough to be reused warm
#: instead of freshly allocated (and page-faulted) for millions of rows.
_BLOCK = 1 << 13


def _parse_canonical(arr: pa.Array, exps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minor units of the rows written in the canonical shape, and which rows those are.

    A row is canonical when it matches ``-?[0-9]{1,15}(\\.[0-9]*)?`` with no more decimals than
    its exponent (``exps``, ``-1`` for an unknown currency: never canonical); at most 15 digits
    before the point keep every step inside 64 bits. Such a text is its digits and nothing
    else, so its value is exact integer arithmetic: the texts are padded on the left with
    ``0`` to whole 64-bit words (one arrow kernel), the bytes seen as a matrix, each word of
    digit values read as one number (the point and the sign count as ``0``), and the point's
    place and the sign applied per row, a block of rows at a time. Other rows are ``False``
    in the mask and ``0`` in the values; the scalar parser reads them.
    """
    n = len(arr)
    out = np.zeros(n, dtype=np.int64)
    fast = np.zeros(n, dtype=bool)
    exps = np.asarray(exps)
    offsets, _ = _string_buffers(arr)
    length = offsets[1:] - offsets[:-1]
    short = length <= _CANONICAL_WIDTH
    fits = short & (length >= 1) & (exps >= 0)
    if not fits.any():
        return out, fast
    rows = None if short.all() else np.flatnonzero(short)  # longer texts are never canonical
    part = arr if rows is None else arr.take(pa.array(rows))
    plen = (length if rows is None else length[rows]).astype(np.int16)
    pexp = (exps if rows is None else exps[rows]).astype(np.int16)
    pfits = fits if rows is None else fits[rows]
    width = -(-int(plen.max()) // 8) * 8
    m = len(part)
    pout = out if rows is None else np.zeros(m, dtype=np.int64)
    pfast = fast if rows is None else np.zeros(m, dtype=bool)
    for start in range(0, m, _BLOCK):
        stop = min(start + _BLOCK, m)
        padded = pc.ascii_lpad(part.slice(start, stop - start), width, "0")
        p_off, chars = _string_buffers(padded)
        if int(p_off[-1] - p_off[0]) != (stop - start) * width:
            continue  # a multi-byte character in the block: the scalar rules read its rows
        mat = chars[int(p_off[0]):int(p_off[-1])].reshape(stop - start, width)
        _parse_rows(mat, plen[start:stop], pexp[start:stop], pfits[start:stop],
                    pout[start:stop], pfast[start:stop])
    if rows is not None:
        out[rows] = pout
        fast[rows] = pfast
    return out, fast


def _parse_rows(mat: np.ndarray, plen: np.ndarray, pexp: np.ndarray, fits: np.ndarray,
                out: np.ndarray, fast: np.ndarray) -> None:
    """:func:`_parse_canonical` of one block of padded rows, written into ``out`` and ``fast``.

    ``mat`` holds the texts right-aligned and ``0``-padded, ``plen`` their lengths, ``pexp``
    their currency exponents, ``fits`` whether the row may be canonical at all.
    """
    m, width = mat.shape
    values = mat - np.uint8(48)
    digit = values < 10
    values *= digit  # the point and the sign read as 0
    point = mat == 46
    minus = mat == 45
    points, minuses = _count(point), _count(minus)
    ok = (_count(digit) + points + minuses == width) & (points <= 1) & (minuses <= 1) & fits
    # The sign belongs in the first character (the column after the padding) only.
    negative = np.zeros(m, dtype=bool)
    if minuses.any():
        negative = (minuses == 1) & (_column_of(minus) == width - plen)
        ok &= negative | (minuses == 0)
    has_point = points == 1
    frac = np.zeros(m, dtype=np.int16)
    if has_point.any():
        frac = np.where(has_point, width - 1 - _column_of(point).astype(np.int16), 0)
    whole = plen - negative - np.where(has_point, frac + 1, 0)
    ok &= (whole >= 1) & (whole <= 15) & (frac <= pexp)
    words = values.view("<u8")
    frac = np.where(ok, frac, 0)
    pexp = np.where(ok, pexp, 0)
    if width == 8 and has_point.any():
        # One word per row: close the gap the point leaves (the digits before it move one
        # column right), so the word reads whole * 10^frac + decimals, no division needed.
        word = words[:, 0]
        mark = point.view(np.uint8).view("<u8")[:, 0]  # 1 << 8c for the point in column c
        closed = word & (mark - _U64[1])
        closed <<= _U64[8]
        closed |= word & ~((mark << _U64[8]) - _U64[1])
        number = _eight_digits(np.where(has_point, closed, word))
        number *= _POW10[pexp - frac]
    else:
        number = _eight_digits(words[:, 0])
        for w in range(1, words.shape[1]):
            number *= _U64[10**8]
            number += _eight_digits(words[:, w])
        if has_point.any():
            # ``number`` is whole * 10^(frac+1) + 0 * 10^frac + decimals.
            decimals = number % _POW10[frac]
            number //= _POW10[np.where(has_point, frac + 1, 0)]
            number *= _POW10[pexp]
            decimals *= _POW10[pexp - frac]
            number += decimals
        else:
            number *= _POW10[pexp]
    minor = number.view(np.int64)
    np.negative(minor, out=minor, where=negative)
    minor *= ok
    out[:] = minor
    fast[:] = ok


def parse_money_column(text: pd.Series, currency: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorized :func:`parse_money` over a column of text and a column of currency codes.

    Returns
    -------
    (minor, bad)
        ``minor`` is a nullable ``Int64`` series (``<NA>`` where the text was empty);
        ``bad`` is a boolean mask of rows whose text is not money in their currency (or whose
        currency is unknown). Built on :func:`parse_money_arrow`.
    """
    text = text.astype("string").str.strip()
    currency = currency.astype("string").str.strip().str.upper()
    minor, bad, parsed = parse_money_arrow(text, currency)
    empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
    unknown_ccy = ~currency.isin(list(CURRENCY_EXPONENTS)).fillna(False).to_numpy(dtype=bool)
    bad |= unknown_ccy & ~empty
    result = pd.Series(minor, index=text.index, dtype="Int64")
    result[~parsed] = pd.NA
    return result, pd.Series(bad, index=text.index)


def format_minor(amount_minor: int, currency: str) -> str:
    """Minor units as the contract writes money: ``123450`` USD -> ``"1234.50"``."""
    e = exponent(currency)
    value = Decimal(int(amount_minor)).scaleb(-e)
    return f"{value.quantize(Decimal(1).scaleb(-e), rounding=ROUND_HALF_UP):f}"


def format_minor_arrow(
    minor: np.ndarray, exponents: np.ndarray, missing: np.ndarray | None = None
) -> pa.Array:
    """Minor units as contract money text, a whole column at once (the bytes of
    :func:`format_minor`, integer arithmetic only): ``123450`` with exponent 2 -> ``"1234.50"``.

    The text is laid out right-aligned in a numpy byte matrix (digits by integer division, one
    column at a time), its left padding squeezed out, and handed to arrow as one string array:
    no Python object and no intermediate string column per value.

    Parameters
    ----------
    minor: ``int64`` amounts.
    exponents: the currency exponent of each amount (``0``, ``2`` or ``3``).
    missing: where the amount is empty (written ``""``).

    Example
    -------
    >>> format_minor_arrow(np.array([-5, 1200]), np.array([2, 0])).to_pylist()
    ['-0.05', '1200']
    """
    minor = np.asarray(minor, dtype=np.int64)
    exps = np.asarray(exponents, dtype=np.int64)
    n = len(minor)
    if n == 0:
        return pa.array([], type=pa.string())
    neg = minor < 0
    magnitude = np.abs(minor)
    whole = magnitude // 10 ** exps
    frac = magnitude - whole * 10 ** exps
    digits = np.ones(n, dtype=np.int64)
    top, power = int(whole.max()), 10
    while power <= top:
        digits += whole >= power
        power *= 10
    length = neg + digits + np.where(exps > 0, exps + 1, 0)
    # Missing amounts are laid out too (the matrix is as wide as any amount needs) and dropped
    # when the padding is squeezed out.
    width = int(length.max())
    if missing is not None and np.any(missing):
        missing = np.asarray(missing, dtype=bool)
        length[missing] = 0
        neg &= ~missing
    if n * width >= 2**31 - 1:
        return pa.chunked_array([format_minor_arrow(minor[i:i + (1 << 24)], exps[i:i + (1 << 24)],
                                                    None if missing is None
                                                    else missing[i:i + (1 << 24)])
                                 for i in range(0, n, 1 << 24)]).combine_chunks()
    groups = np.unique(exps)
    if len(groups) == 1:
        mat = _money_matrix(whole, frac, int(groups[0]), width, int(digits.max()))
    else:
        mat = np.empty((n, width), dtype=np.uint8)
        for e in groups.tolist():
            sel = exps == e
            mat[sel] = _money_matrix(whole[sel], frac[sel], e, width, int(digits[sel].max()))
    start = width - length
    if neg.any():
        mat[np.flatnonzero(neg), start[neg]] = ord("-")
    data = mat[np.arange(width)[None, :] >= start[:, None]]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(length, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), None, 0)


def _money_matrix(whole: np.ndarray, frac: np.ndarray, e: int, width: int, whole_digits: int
                  ) -> np.ndarray:
    """``whole.frac`` right-aligned in an ``(n, width)`` matrix of ASCII, zeros to the left."""
    mat = np.full((len(whole), width), ord("0"), dtype=np.uint8)
    col = width - 1
    f = _narrow(frac)
    for _ in range(e):
        q = f // 10
        mat[:, col] = f - q * 10 + 48
        f = q
        col -= 1
    if e:
        mat[:, col] = ord(".")
        col -= 1
    w = _narrow(whole)
    for _ in range(min(whole_digits, col + 1)):
        q = w // 10
        mat[:, col] = w - q * 10 + 48
        w = q
        col -= 1
    return mat


def _narrow(values: np.ndarray) -> np.ndarray:
    """Non-negative integers as ``uint32`` when they fit (division is much cheaper there)."""
    return values.astype(np.uint32) if not len(values) or int(values.max()) < 2**32 \
        else values.copy()


def format_minor_column(amount_minor: pd.Series, currency: pd.Series | str) -> pd.Series:
    """Vectorized :func:`format_minor`; ``<NA>`` becomes the empty string.

    Raises
    ------
    MoneyParseError
        When a currency code is unknown.
    """
    amounts = pd.Series(amount_minor).astype("Int64")
    if isinstance(currency, str):
        currency = pd.Series(currency, index=amounts.index)
    exps = currency.map(CURRENCY_EXPONENTS)
    if exps.isna().any():
        raise MoneyParseError(f"unknown currency code(s): {sorted(set(currency[exps.isna()]))}")
    text = format_minor_arrow(amounts.fillna(0).to_numpy(dtype=np.int64),
                              exps.astype(np.int64).to_numpy(),
                              amounts.isna().to_numpy(dtype=bool))
    return pd.Series(text.to_numpy(zero_copy_only=False), index=amounts.index, dtype=object)
