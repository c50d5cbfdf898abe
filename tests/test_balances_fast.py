"""The roll-forward's packed-key route gives exactly what the hashed route gives.

:func:`toolkit.reconcile.balances.roll_forward` packs fixed-width wallet ids and currency codes
into sortable integers; anything else takes the straightforward hashed route. These tests hold
the two equal on random ledgers (same wallets frame, same break rows in the same order) and check
the pieces the packing rests on: keys sort like the text, the time order is the stable one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.reconcile.balances import (
    _by_time,
    _fixed_width_bytes,
    _roll_forward_hashed,
    _text_key,
    liability,
    roll_forward,
)
from toolkit.contract import Role
from toolkit.reconcile import balances
from toolkit.reconcile.link import ROLE_CODE, ROLES, Links

STR = pd.StringDtype("pyarrow", na_value=np.nan)
MS = 1000
SPRING = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z in microseconds


def _links(role, signed, created_us, ret) -> Links:
    m = len(role)
    no = np.zeros(m, dtype=bool)
    return Links(role=np.asarray(role, dtype=np.int8), is_issue=no, is_bonus=no, cancelled=no,
                 signed=np.asarray(signed, dtype=np.int64),
                 created_us=np.asarray(created_us, dtype=np.int64),
                 ret=np.asarray(ret, dtype=np.int64), link=np.zeros(m, dtype=np.int8),
                 orphan=no, ambiguous=no, clawback=no, ccy=np.zeros(m, dtype=np.int64))


def _ledger(wallets, currencies, emails, updated, dtype=STR) -> pd.DataFrame:
    return pd.DataFrame({
        "wallet_id": pd.Series(wallets, dtype=dtype),
        "currency": pd.Series(currencies, dtype=dtype),
        "customer_email": pd.Series(emails, dtype=dtype),
        "updated_balance": np.asarray(updated, dtype=np.int64),
    })


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.wallets, b.wallets, check_exact=True)
    assert len(a.breaks) == len(b.breaks)
    for x, y in zip(a.breaks, b.breaks):
        pd.testing.assert_frame_equal(x, y, check_exact=True)


ALPHABETS = {
    "digits": "0123456789",
    "letters": "WXYZabcz",
    "bytes": "A\x00é€",  # multi-byte characters and a NUL byte in the text
}


@st.composite
def ledgers(draw):
    """A random ledger: wallets drawn from a small pool (fixed width or not), few times (ties),
    running balances that sometimes break."""
    m = draw(st.integers(1, 60))
    shape = draw(st.sampled_from(["fixed", "fixed", "fixed", "mixed", "long"]))
    alphabet = ALPHABETS[draw(st.sampled_from(sorted(ALPHABETS)))]
    width = draw(st.integers(0, 6)) if shape != "long" else 60
    pool = draw(st.lists(
        st.text(alphabet, min_size=width, max_size=width) if shape != "mixed"
        else st.text(alphabet, max_size=6), min_size=1, max_size=8))
    if shape == "fixed":  # same byte width, as exports have (é and € are wider than A)
        pool = [p for p in pool if len(p.encode()) == len(pool[0].encode())]
    codes = ["USD", "EUR", "GBP", "JPY", "CAD"] if draw(st.booleans()) else ["USD", "EU", "", "GBP"]
    currency_pool = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=3))
    pick = st.integers(0, 10**6)
    wallets = [pool[draw(pick) % len(pool)] for _ in range(m)]
    currencies = [currency_pool[draw(pick) % len(currency_pool)] for _ in range(m)]
    emails = [f"c{draw(st.integers(0, 3))}@example.com" for _ in range(m)]
    times = draw(st.sampled_from(["ms", "us", "wide"]))
    if times == "wide":  # a span that cannot share an int64 with the row position
        created = draw(st.lists(st.integers(0, 2**62), min_size=m, max_size=m))
    else:
        step = MS if times == "ms" else 1
        created = [SPRING + step * draw(st.integers(0, 5)) for _ in range(m)]
    roles = [draw(st.integers(0, len(ROLES) - 1)) for _ in range(m)]
    money = st.integers(-4, 4)
    if draw(st.booleans()):  # sums near the int64 limits wrap alike on both routes
        money = money | st.sampled_from([2**63 - 1, -2**63, 2**62])
    signed = [draw(money) for _ in range(m)]
    updated = [draw(money) for _ in range(m)]
    ret = [draw(st.integers(-1, 5)) for _ in range(m)]
    dtype = draw(st.sampled_from([STR, object]))
    return _ledger(wallets, currencies, emails, updated, dtype), _links(roles, signed, created, ret)


@settings(max_examples=300, deadline=None)
@given(case=ledgers(), block=st.sampled_from([1, 2, 3, 7, balances._BLOCK]),
       lanes=st.sampled_from([1, 3, balances._LANES]))
def test_packed_route_equals_hashed_route(case, block, lanes):
    """Tiny blocks put balances across block boundaries and the two replay halves, as millions
    of rows do with the real block size."""
    ledger, links = case
    saved = balances._BLOCK, balances._LANES
    balances._BLOCK, balances._LANES = block, lanes
    try:
        fast = roll_forward(ledger, links)
    finally:
        balances._BLOCK, balances._LANES = saved
    _same(fast, _roll_forward_hashed(ledger, links))


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.tuples(st.text("AZaz09\x00é", min_size=3, max_size=3),
                                st.sampled_from(["USD", "EUR", "GBP", "JPY"])),
                      min_size=1, max_size=40).filter(
                          lambda t: len({len(w.encode()) for w, _ in t}) == 1))
def test_packed_keys_sort_like_the_text(texts):
    wallets = pd.Series([w for w, _ in texts], dtype=STR)
    # Currencies as the readers give them: a category column (bytes from its categories).
    currencies = pd.Series([c for _, c in texts], dtype=STR).astype("category")
    columns = [_fixed_width_bytes(wallets), _fixed_width_bytes(currencies)]
    key, currency_radix = _text_key(columns, 2**62)
    as_bytes = [(w.encode(), c.encode()) for w, c in texts]
    for i in range(len(texts)):
        for j in range(len(texts)):
            assert (key[i] < key[j]) == (as_bytes[i] < as_bytes[j])
            assert (key[i] // currency_radix == key[j] // currency_radix) == (
                as_bytes[i][0] == as_bytes[j][0])


@settings(max_examples=200, deadline=None)
@given(created=st.lists(st.integers(0, 2**63 - 1) | st.sampled_from([SPRING, SPRING + MS, -1]),
                        min_size=1, max_size=50),
       scale=st.sampled_from([1, MS]))
def test_time_order_is_the_stable_order(created, scale):
    us = np.asarray(created, dtype=np.int64) // scale * scale
    bits = max(1, (len(us) - 1).bit_length())
    assert _by_time(us, bits).tolist() == np.argsort(us, kind="stable").tolist()


def test_text_of_mixed_widths_does_not_pack():
    assert _fixed_width_bytes(pd.Series(["W1", "W22"], dtype=STR)) is None
    assert _fixed_width_bytes(pd.Series(["W1", None], dtype=STR)) is None
    assert _fixed_width_bytes(pd.Series(["USD", "EU"], dtype=STR).astype("category")) is None


def test_breaks_follow_the_file_while_wallets_follow_the_text():
    """Bea's wallet W2 shows up first in the export, Ann's W1 second; both have one row whose
    balance does not follow from the one before. balances.csv lists W1 first (text order); the
    balance breaks list W2's first (order of first appearance), each in time order."""
    redeem, credit = ROLE_CODE[Role.REDEMPTION], ROLE_CODE[Role.REFUND_CREDIT]
    ledger = _ledger(
        ["W2", "W1", "W2", "W1", "W2"], ["USD"] * 5,
        ["bea@example.com", "ann@example.com", "bea@example.com", "ann@example.com",
         "bea@example.com"],
        [5000, 2000, 4000, 1000, 3500])
    links = _links([credit, credit, redeem, redeem, redeem],
                   [5000, 2000, -500, -500, -500],
                   [SPRING + h * 3_600_000_000 for h in (1, 2, 3, 4, 5)], [0, 1, -1, -1, -1])
    bal = roll_forward(ledger, links)
    _same(bal, _roll_forward_hashed(ledger, links))
    wallets = bal.wallets
    assert wallets["wallet_id"].tolist() == ["W1", "W2"]
    assert wallets["opening"].tolist() == [0, 0]
    assert wallets["refund_credits"].tolist() == [2000, 5000]
    assert wallets["redemptions"].tolist() == [-500, -1000]
    assert wallets["closing"].tolist() == [1500, 4000]
    assert wallets["reported_closing"].tolist() == [1000, 3500]
    assert wallets["difference"].tolist() == [-500, -500]
    balance_break = bal.breaks[0]
    # W2 (file rows 0, 2, 4): row 2 should read 4500; row 4 follows from row 2. Then W1's row 3.
    assert balance_break["li"].tolist() == [2, 3]
    assert balance_break["expected"].tolist() == [4500, 1500]
    assert balance_break["actual"].tolist() == [4000, 1000]


@pytest.mark.parametrize("dtype", [STR, object])
def test_empty_ledger_has_no_balances(dtype):
    bal = roll_forward(_ledger([], [], [], [], dtype), _links([], [], [], []))
    assert bal.wallets.empty and all(b.empty for b in bal.breaks)


LIABILITY = ["opening", "refund_credits", "bonus_credits", "other_credits", "redemptions",
             "redemption_refunds", "expiries", "cancellations", "voids", "adjustments", "other",
             "closing", "reported_closing", "difference"]


def _liability_by_groupby(wallets: pd.DataFrame) -> dict[str, dict[str, int]]:
    out = {}
    for currency, part in wallets.groupby("currency", sort=True):
        sums = {c: int(part[c].to_numpy(dtype=np.int64).sum()) for c in LIABILITY}
        sums["wallets"] = len(part)
        out[str(currency)] = sums
    return out


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["USD", "EUR", "JPY", "", "ÉUR", None]),
                               st.integers(-2**63, 2**63 - 1)), max_size=30),
       dtype=st.sampled_from([STR, object]))
def test_liability_sums_each_currency_as_a_group_by_does(rows, dtype):
    values = np.array([v for _, v in rows], dtype=np.int64)
    wallets = pd.DataFrame({"currency": pd.Series([c for c, _ in rows], dtype=dtype)})
    for i, column in enumerate(LIABILITY):
        wallets[column] = np.roll(values, i) if len(values) else values
    assert liability(wallets) == _liability_by_groupby(wallets)
