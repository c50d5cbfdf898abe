"""The ground truth: every break the contract's rules must find in a simulated folder.

Per-return faults yield the reasons listed in ``docs/simulate.md`` (their consequences included:
a dropped issue row also leaves its return without credit; an ambiguous credit leaves both
candidates without one). The balance checks are read off the written ledger itself, row by row
in wallet order, because they are defined on exactly those rows.

This module records breaks; it must never change an event.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.contract import BreakReason as R
from toolkit.simulate.faults import FaultPlan
from toolkit.simulate.workflow import Expectations, Issued

__all__ = ["LINKED", "TruthRows", "balance_truth", "compare_with_truth", "planted_truth"]

#: return index meaning "the return the event is linked to"
LINKED = -2
#: (reason, return index or -1 / LINKED, event index or -1)
TruthRows = list[tuple[str, np.ndarray, np.ndarray]]


def _none(n: int) -> np.ndarray:
    return np.full(n, -1, dtype=np.int64)


def planted_truth(book: dict[str, np.ndarray], exp: Expectations, issued: Issued, plan: FaultPlan,
                  amounts: np.ndarray, *, as_of: int, window_s: int) -> TruthRows:
    """Return-keyed breaks and planted transaction-keyed ones (not the balance checks)."""
    rows: TruthRows = []
    fault = book["fault"]
    past = exp.expects_credit & (exp.release_at + window_s < as_of)

    def add(reason: R, ret: np.ndarray, ev: np.ndarray | None = None) -> None:
        ret = np.asarray(ret, dtype=np.int64)
        rows.append((reason.value, ret, _none(len(ret)) if ev is None else np.asarray(ev, dtype=np.int64)))

    def hosts(name: str) -> np.ndarray:
        return plan.hosts.get(name, np.zeros(0, dtype=np.int64))

    # No credit at all: the integration was off (for a while), the trigger was lost.
    gone = np.flatnonzero(np.isin(fault, ["integration_off", "integration_outage", "lost_trigger"]) & past)
    add(R.MISSING_CREDIT, gone)
    add(R.MISSING_BONUS, gone[exp.expected_bonus[gone] > 0])
    # No bonus: the bonus action failed, or its row is missing from the export.
    for name in ("bonus_branch_skipped", "dropped_ledger_row"):
        h = hosts(name)
        add(R.MISSING_BONUS, h[exp.expected_bonus[h] > 0])

    # A period with the workflow's percentages mis-set.
    m = np.flatnonzero((fault == "workflow_misset") & exp.expects_credit)
    base = issued.base[m]
    off = (base >= 0) & (amounts[np.maximum(base, 0)] != exp.expected_credit[m])
    add(R.CREDIT_AMOUNT_MISMATCH, m[off], base[off])
    bonus = issued.bonus[m]
    off = (bonus >= 0) & (exp.expected_bonus[m] > 0) & (amounts[np.maximum(bonus, 0)] != exp.expected_bonus[m])
    add(R.BONUS_AMOUNT_MISMATCH, m[off], bonus[off])

    for name, reason, col in (
        ("credit_amount_off", R.CREDIT_AMOUNT_MISMATCH, issued.base),
        ("bonus_amount_off", R.BONUS_AMOUNT_MISMATCH, issued.bonus),
        ("wrong_currency", R.CURRENCY_MISMATCH, issued.base),
        ("wrong_wallet", R.WRONG_WALLET, issued.base),
        ("late_credit", R.LATE_CREDIT, issued.base),
        ("premature_credit", R.PREMATURE_CREDIT, issued.base),
        ("credit_on_non_credit_return", R.CREDIT_ON_NON_CREDIT_RETURN, issued.base),
        ("unreversed_early_credit", R.UNREVERSED_CREDIT, issued.base),
        ("bonus_below_minimum", R.UNEXPECTED_BONUS, issued.bonus),
        ("webhook_retry", R.DUPLICATE_CREDIT, issued.duplicate_base),
        ("webhook_retry", R.DUPLICATE_BONUS, issued.duplicate_bonus),
    ):
        h = hosts(name)
        h = h[col[h] >= 0]
        add(reason, h, col[h])

    pairs = plan.ambiguous_pairs
    if len(pairs):
        add(R.AMBIGUOUS_MATCH, _none(len(pairs)), issued.loose["ambiguous_fallback"])
        add(R.MISSING_CREDIT, pairs.ravel())
    for name in ("unreferenced_orphan", "test_credit"):
        ev = issued.loose.get(name, np.zeros(0, dtype=np.int64))
        add(R.ORPHAN_CREDIT, _none(len(ev)), ev)
    me = issued.extra.get("missing_email", np.zeros(0, dtype=np.int64))
    # -2: the return the row is linked to (filled in when ids are known).
    rows.append((R.MISSING_NOTIFICATION.value, np.full(len(me), LINKED, dtype=np.int64), me))
    return rows


def balance_truth(wallet: np.ndarray, amount_signed: np.ndarray, balance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in the given wallet/time order) of ``balance_break`` and ``negative_balance`` rows.

    Rows must be sorted by wallet, then time.
    """
    n = len(wallet)
    first = np.r_[True, wallet[1:] != wallet[:-1]] if n else np.zeros(0, dtype=bool)
    prev = np.r_[0, balance[:-1]] if n else balance
    expected = prev + amount_signed
    brk = ~first & (expected != balance)
    return np.flatnonzero(brk), np.flatnonzero(balance < 0)


def compare_with_truth(breaks: pd.DataFrame, truth: pd.DataFrame) -> tuple[int, int, int]:
    """Compare found breaks with planted ones as sets of (reason, return_id, transaction_id).

    Returns
    -------
    (agreed, missed, extra): planted and found, planted but not found, found but not planted.
    """
    cols = ["reason", "return_id", "transaction_id"]

    def keys(frame: pd.DataFrame) -> set[tuple[str, str, str]]:
        f = frame.loc[:, cols].astype("string").fillna("")
        return set(map(tuple, f.itertuples(index=False, name=None)))

    found, planted = keys(breaks), keys(truth)
    return len(found & planted), len(planted - found), len(found - planted)
