"""Invariants of the reconciler, on random clean worlds and on worlds with one planted fault.

Conservation of rows and of money per currency, currencies never mixed, identical output when rows
are shuffled, files split or columns reordered, stable break ids, and "plant one fault, exactly
the expected counts move" (docs/reconcile.md).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden.worlds import AS_OF, FAULTS, clean_world, plant
from toolkit.money import parse_money
from toolkit.reconcile import reconcile

FAST = settings(max_examples=10, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
TABLES = ("breaks", "returns", "ledger", "balances")


def _same_outputs(a, b) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    strip = {k: v for k, v in a.summary.items() if k != "inputs"}
    assert strip == {k: v for k, v in b.summary.items() if k != "inputs"}


def _money_by_currency(frame: pd.DataFrame, column: str) -> Counter:
    total: Counter = Counter()
    for text, ccy in zip(frame[column], frame["currency"]):
        total[ccy] += parse_money(text, ccy)
    return total


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 18))
def test_clean_world_has_no_break_and_conserves_rows_and_money(seed, n):
    returns, ledger = clean_world(seed, n).frames()
    result = reconcile(returns, ledger, as_of=AS_OF)
    assert result.breaks.empty and result.exit_status == 0
    assert result.summary["conservation"]["ok"]
    # Rows: every input row in exactly one output row.
    assert sorted(result.returns["return_id"]) == sorted(returns["return_id"])
    assert sorted(result.ledger["transaction_id"]) == sorted(ledger["transaction_id"])
    # Money per currency, recomputed from the written text: what came into the ledger is what the
    # roles and the wallets' roll-forwards account for.
    signed_in: Counter = Counter()
    for amount, op, ccy in zip(ledger["amount"], ledger["operation_type"], ledger["currency"]):
        signed_in[ccy] += parse_money(amount, ccy) * (1 if op == "ADD" else -1)
    assert _money_by_currency(result.ledger, "signed_amount") == signed_in
    closing = _money_by_currency(result.balances, "closing")
    opening = _money_by_currency(result.balances, "opening")
    assert {c: closing[c] - opening[c] for c in signed_in} == dict(signed_in)


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 18), fault=st.sampled_from(FAULTS))
def test_planting_one_fault_moves_exactly_the_expected_counts(seed, n, fault):
    clean = clean_world(seed, n)
    base = reconcile(*clean.frames(), as_of=AS_OF).summary["counts"]["breaks_by_reason"]
    world = clean_world(seed, n)
    delta = plant(world, fault, np.random.default_rng(seed))
    if delta is None:
        return
    faulted = reconcile(*world.frames(), as_of=AS_OF)
    after = faulted.summary["counts"]["breaks_by_reason"]
    moved = {r: after[r] - base[r] for r in after if after[r] != base[r]}
    assert moved == delta, f"{fault}: {faulted.breaks[['reason', 'return_id', 'transaction_id']]}"
    assert faulted.summary["conservation"]["ok"]


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 18),
       faults=st.lists(st.sampled_from(FAULTS), max_size=4))
def test_row_order_files_and_column_order_never_change_the_result(seed, n, faults, tmp_path_factory):
    world = clean_world(seed, n)
    rng = np.random.default_rng(seed)
    for fault in faults:
        plant(world, fault, rng)
    returns, ledger = world.frames()
    first = reconcile(returns, ledger, as_of=AS_OF)

    shuffled = reconcile(returns.sample(frac=1, random_state=1),
                         ledger.sample(frac=1, random_state=2), as_of=AS_OF)
    _same_outputs(first, shuffled)

    folder = tmp_path_factory.mktemp("split")
    half = len(ledger) // 2
    paths = []
    for i, part in enumerate((ledger.iloc[:half], ledger.iloc[half:])):
        path = folder / f"ledger_{i}.csv"
        part[list(reversed(part.columns))].to_csv(path, index=False)  # columns reordered too
        paths.append(path)
    returns_path = folder / "returns.csv"
    returns.to_csv(returns_path, index=False)
    split = reconcile(returns_path, paths, as_of=AS_OF)
    _same_outputs(first, split)

    again = reconcile(returns, ledger, as_of=AS_OF)
    assert list(again.breaks["break_id"]) == list(first.breaks["break_id"])


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 18),
       faults=st.lists(st.sampled_from(FAULTS), min_size=1, max_size=5))
def test_currencies_are_never_mixed(seed, n, faults):
    world = clean_world(seed, n)
    rng = np.random.default_rng(seed)
    for fault in faults:
        plant(world, fault, rng)
    returns, ledger = world.frames()
    result = reconcile(returns, ledger, as_of=AS_OF)
    assert result.summary["conservation"]["ok"]
    ret_ccy = dict(zip(returns["return_id"], returns["currency"]))
    row_ccy = dict(zip(ledger["transaction_id"], ledger["currency"]))
    for row in result.breaks.itertuples():
        owner = ret_ccy[row.return_id] if row.key == "return" else row_ccy[row.transaction_id]
        assert row.currency == owner
    # issued_credit sums only credits in the return's own currency.
    for row in result.returns.itertuples():
        ids = [t for t in (row.refund_credit_ids + "|" + row.bonus_credit_ids).split("|") if t]
        same = [t for t in ids if row_ccy[t] == row.currency]
        amounts = dict(zip(ledger["transaction_id"], ledger["amount"]))
        total = sum(Decimal(amounts[t]) for t in same)
        assert Decimal(row.issued_credit) + Decimal(row.issued_bonus) == total
    # Each wallet balance is one currency.
    assert not result.balances.duplicated(["wallet_id", "currency"]).any()


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_alone_is_found_with_its_own_reason(fault):
    """The metamorphic property on one fixed world per fault, so every fault runs every time."""
    for seed in range(50):
        world = clean_world(seed, 12)
        delta = plant(world, fault, np.random.default_rng(seed))
        if delta is not None:
            break
    after = reconcile(*world.frames(), as_of=AS_OF).summary["counts"]["breaks_by_reason"]
    assert {r: n for r, n in after.items() if n} == delta
