"""Money: minor units round-trip through text, and every rounding is half up."""

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
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
