"""Money: minor units round-trip through text, and every rounding is half up."""

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.money import (
    CURRENCY_EXPONENTS,
    MoneyParseError,
    format_minor,
    format_minor_column,
    parse_money,
    parse_money_arrow,
    parse_money_column,
    round_half_up,
    round_half_up_array,
    scale_minor,
    scale_minor_array,
)

currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))
amounts = st.integers(min_value=-10**12, max_value=10**12)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("42.50", "USD", 4250),
        ("1234.5", "USD", 123450),
        ("$1,234.50", "USD", 123450),
        ("USD 12.00", "USD", 1200),
        ("-20.00", "USD", -2000),
        ("(20.00)", "USD", -2000),
        ("1200", "JPY", 1200),
        ("1200.00", "JPY", 1200),
        ("1.250", "KWD", 1250),
        ("€7", "EUR", 700),
        ("12.00 GBP", "GBP", 1200),
    ],
)
def test_messy_export_amounts_parse_to_minor_units(text, currency, minor):
    assert parse_money(text, currency) == minor


@pytest.mark.parametrize("text", ["abc", "", "1.005", "12.3.4", "--5", "(-5)", "1,2x"])
def test_text_that_is_not_money_is_refused(text):
    with pytest.raises(MoneyParseError):
        parse_money(text, "USD")


def test_unknown_currency_is_refused_not_guessed():
    with pytest.raises(MoneyParseError, match="unknown currency"):
        parse_money("1.00", "XYZ")


@given(amounts, currencies)
def test_format_then_parse_gives_back_the_same_minor_units(minor, currency):
    assert parse_money(format_minor(minor, currency), currency) == minor


@settings(deadline=None)  # builds pandas frames; timing varies with machine load
@given(st.lists(st.tuples(amounts, currencies), min_size=1, max_size=50))
def test_vectorized_format_and_parse_agree_with_the_scalar_ones(pairs):
    minor = pd.Series([m for m, _ in pairs], dtype="Int64")
    ccy = pd.Series([c for _, c in pairs])
    text = format_minor_column(minor, ccy)
    assert list(text) == [format_minor(m, c) for m, c in pairs]
    parsed, bad = parse_money_column(pd.Series(text), ccy)
    assert not bad.any()
    assert parsed.tolist() == minor.tolist()


def test_vectorized_parse_flags_every_bad_row_and_keeps_empty_as_missing():
    text = pd.Series(["1.00", "", "x", "$2.50", "1.005", "3", None])
    ccy = pd.Series(["USD", "USD", "USD", "USD", "USD", "ZZZ", "USD"])
    parsed, bad = parse_money_column(text, ccy)
    assert bad.tolist() == [False, False, True, False, True, True, False]
    assert parsed.iloc[0] == 100 and parsed.iloc[3] == 250
    assert parsed.isna().tolist() == [False, True, True, False, True, True, True]


@given(st.integers(-10**9, 10**9), st.integers(1, 10**6))
def test_round_half_up_is_decimal_round_half_up(numerator, denominator):
    expected = int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), ROUND_HALF_UP))
    assert round_half_up(numerator, denominator) == expected
    assert round_half_up_array(np.array([numerator]), denominator)[0] == expected


@given(st.integers(0, 10**10), st.decimals(min_value=0, max_value=500, places=2))
def test_scaling_by_a_percentage_rounds_half_up_once(minor, pct):
    expected = int((Decimal(minor) * pct / 100).quantize(Decimal(1), ROUND_HALF_UP))
    assert scale_minor(minor, pct) == expected
    assert scale_minor_array(np.array([minor]), pct)[0] == expected


def test_a_half_cent_bonus_rounds_up_not_to_even():
    # 5 % of 10.50 is 0.525: banker's rounding would give 0.52, finance expects 0.53.
    assert scale_minor(1050, 5) == 53
    assert format_minor(scale_minor(1050, 5), "USD") == "0.53"


def test_zero_and_three_decimal_currencies_format_in_their_own_precision():
    assert format_minor(1200, "JPY") == "1200"
    assert format_minor(1250, "KWD") == "1.250"
    assert format_minor(-5, "USD") == "-0.05"


# --- the column parser's fast path ------------------------------------------------------------
# parse_money_arrow reads the canonical shape with integer arithmetic over the column's bytes and
# hands everything else to parse_money. Whatever the path, the answer must be parse_money's.

canonical_text = st.from_regex(r"-?[0-9]{1,15}(\.[0-9]{0,4})?", fullmatch=True)
unusual_text = st.sampled_from([
    "$1,234.50", "USD 12.00", "(20.00)", "12.3.4", "abc", "", " 5", "5 ", "+5", "1e5", "-",
    ".", "-.5", ".5", "5.", "--5", "1-2", "٥", "€7", "0012", "-0", "-0.00", "12 GBP",
    "123456789012345.123", "-123456789012345.123", "1234567890123456",
    "0000000000000000000001", "1.2.", "\u00a05", "5\u00a0",
])


def _scalar(text: str, currency: str) -> int | None:
    try:
        return parse_money(text, currency)
    except MoneyParseError:
        return None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(canonical_text | unusual_text, currencies | st.just("XYZ")),
                min_size=1, max_size=60))
def test_column_parsing_is_parse_money_value_for_value(pairs):
    text = pa.array([t for t, _ in pairs])
    ccy = pa.array([c for _, c in pairs])
    minor, bad, parsed = parse_money_arrow(text, ccy)
    for (t, c), value, refused, read in zip(pairs, minor, bad, parsed):
        if c not in CURRENCY_EXPONENTS or t == "":
            # Unknown codes are the currency column's problem; empty is missing, not bad.
            assert not refused and not read and value == 0, (t, c)
            continue
        expected = _scalar(t, c)
        assert refused == (expected is None), (t, c)
        assert read == (expected is not None) and value == (expected or 0), (t, c, value)


@settings(max_examples=40, deadline=None)
@given(st.lists(canonical_text | unusual_text, min_size=1, max_size=40), currencies)
def test_known_exponents_give_the_same_answer_as_the_codes(texts, currency):
    text = pa.array(texts)
    ccy = pa.array([currency] * len(texts))
    exps = np.full(len(texts), CURRENCY_EXPONENTS[currency], dtype=np.int8)
    by_code = parse_money_arrow(text, ccy)
    by_exponent = parse_money_arrow(text, ccy, exponents=exps)
    for a, b in zip(by_code, by_exponent):
        assert np.array_equal(a, b)


def test_a_long_column_of_store_credit_is_read_block_by_block():
    # 150,000 amounts cross the parser's 65,536-row blocks; odd rows sit on both sides of them.
    amounts = [f"{i % 100_000}.{i % 100:02d}" for i in range(150_000)]
    amounts[65_535] = "(12.50)"       # a refund written in parentheses, last row of a block
    amounts[65_536] = "12.345"        # one decimal too many for USD, first row of the next
    amounts[131_072] = "-0.07"
    amounts[149_999] = ""
    minor, bad, parsed = parse_money_arrow(pa.array(amounts), pa.array(["USD"] * len(amounts)))
    assert minor[1] == 101 and minor[99_999] == 9_999_999 and minor[100_000] == 0
    assert minor[65_535] == -1250 and bad.tolist().count(True) == 1 and bad[65_536]
    assert minor[131_072] == -7 and not parsed[149_999] and not bad[149_999]
    assert parsed.sum() == len(amounts) - 2


def test_a_multi_byte_character_sends_its_rows_to_the_scalar_rules():
    # "€" is three bytes: the byte layout of the fast path no longer holds for its block.
    minor, bad, parsed = parse_money_arrow(pa.array(["€7", "3.50", "١٢"]),
                                           pa.array(["EUR", "EUR", "EUR"]))
    assert minor.tolist() == [700, 350, _scalar("١٢", "EUR") or 0]
    assert bad.tolist() == [False, False, _scalar("١٢", "EUR") is None]
