"""The simulator's text kernels against plain Python formatting: money, timestamps, ids, codes.

The kernels build text as byte matrices for speed; these properties pin them to the obvious
per-value formatting, nulls included.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.simulate import text

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**13, 10**13), st.sampled_from([0, 2, 3]), st.booleans()), max_size=40))
def test_money_text_is_the_decimal_in_its_currency_precision(rows) -> None:
    amount = np.array([r[0] for r in rows], dtype=np.int64)
    exps = np.array([r[1] for r in rows], dtype=np.int64)
    missing = np.array([r[2] for r in rows], dtype=bool)
    want = [None if m else f"{Decimal(a).scaleb(-e):f}" for a, e, m in rows]
    assert text.money(amount, exps, missing=missing).to_pylist() == want
    assert text.money(amount, exps).to_pylist() == [f"{Decimal(a).scaleb(-e):f}" for a, e, _ in rows]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4_000_000_000), st.booleans()), max_size=40),
       st.sampled_from([0, -300, 330, 60, -720]))
def test_timestamps_are_iso_8601_in_the_offset(rows, offset) -> None:
    t = np.array([r[0] for r in rows], dtype=np.int64)
    missing = np.array([r[1] for r in rows], dtype=bool)
    zone = timezone(timedelta(minutes=offset))

    def iso(x: int) -> str:
        s = datetime.fromtimestamp(x, zone).isoformat()
        return s.replace("+00:00", "Z")

    assert text.timestamps(t, offset, missing=missing).to_pylist() == [None if m else iso(x) for x, m in rows]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.booleans()), max_size=40), st.integers(1, 10))
def test_ids_are_the_prefix_and_zero_padded_number(rows, width) -> None:
    numbers = np.array([r[0] for r in rows], dtype=np.int64)
    missing = np.array([r[1] for r in rows], dtype=bool)
    want = [None if m else f"tx_{x:0{width}d}" for x, m in rows]
    assert text.ids("tx_", numbers, width, missing=missing).to_pylist() == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**40 - 1), max_size=40), st.integers(1, 8))
def test_codes_are_crockford_base_32_of_the_low_bits(numbers, width) -> None:
    def code(x: int) -> str:
        return "".join(_ALPHABET[(x >> (5 * (width - 1 - k))) & 31] for k in range(width))

    got = text.codes(np.array(numbers, dtype=np.int64), width, "PCR-").to_pylist()
    assert got == ["PCR-" + code(x) for x in numbers]
