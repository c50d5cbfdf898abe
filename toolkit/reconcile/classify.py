"""Classification: every break reason of the contract, decided from links and expectations.

Owns the rules of ``docs/contract.md`` "Which checks a return gets": the per-return checks (rule 1
for returns that expect credit, rule 2 for those that do not), the transaction-keyed link checks
(``ambiguous_match``, ``orphan_credit``, ``missing_notification``) and what a return's outcome is.
Balance checks live in :mod:`toolkit.reconcile.balances`.

All checks are array operations over the credits sorted by (return, ``created_date``, file
order), so "the earliest credit" is the first of its group. Breaks are produced as a typed frame
(indices into the inputs, amounts as nullable ``Int64`` minor units); wording and text belong to
:mod:`toolkit.reconcile.result`. This module must never read files or format money.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.contract import (
    BreakReason,
    Link,
    Outcome,
    ResolutionType,
    ReturnStatus,
    Template,
)
from toolkit.io.text import arrow_text, encode, join_groups
from toolkit.reconcile.link import LINK_CODE, NO, Expectations, Links, order_by
from toolkit.settings import ReconcileSettings

__all__ = ["BREAK_FRAME_COLUMNS", "ReturnState", "break_frame", "classify"]

#: Columns of the typed break frame every check produces.
BREAK_FRAME_COLUMNS = ("reason", "r", "li", "expected", "actual", "difference")


@dataclass(frozen=True)
class ReturnState:
    """Per-return results beside the breaks, aligned with the returns frame.

    Attributes
    ----------
    outcome: ``returns.csv`` outcome (arrow dictionary: a small code per return).
    link: ``reference``, ``fallback`` or ``none`` (how its credits were found; dictionary).
    issued_credit, issued_bonus: uncancelled linked credits in the return's currency, minor units.
    refund_ids, bonus_ids: ``|``-separated transaction ids of uncancelled linked credits (arrow
        text).
    pending: a credit or bonus is due but still inside its window.
    """

    outcome: pa.DictionaryArray
    link: pa.DictionaryArray
    issued_credit: np.ndarray
    issued_bonus: np.ndarray
    refund_ids: pa.Array
    bonus_ids: pa.Array
    pending: np.ndarray


def break_frame(
    reason: BreakReason, r: np.ndarray, li: np.ndarray, expected=None, actual=None,
    difference=None,
) -> pd.DataFrame:
    """A typed break frame for one reason; ``None`` amounts are empty (not meaningful)."""
    k = len(r)

    def money(values) -> pd.arrays.IntegerArray:
        if values is None:
            return pd.array([pd.NA] * k, dtype="Int64")
        return pd.array(values, dtype="Int64")

    return pd.DataFrame({
        "reason": np.full(k, reason.value, dtype=object),
        "r": np.asarray(r, dtype=np.int64),
        "li": np.asarray(li, dtype=np.int64),
        "expected": money(expected),
        "actual": money(actual),
        "difference": money(difference),
    })


class _Groups:
    """Credits sorted by (return, created_date, file order), with per-return reductions."""

    def __init__(self, r: np.ndarray, n: int) -> None:
        self.r = r
        self.n = n

    def first(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Value of the earliest masked credit of each return (``NO`` when none)."""
        out = np.full(self.n, NO, dtype=np.int64)
        rr, vv = self.r[mask], values[mask]
        if len(rr):
            start = np.r_[True, rr[1:] != rr[:-1]]
            out[rr[start]] = vv[start]
        return out

    def second(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Value of the second-earliest masked credit of each return (``NO`` when none)."""
        out = np.full(self.n, NO, dtype=np.int64)
        rr, vv = self.r[mask], values[mask]
        if len(rr) > 1:
            second = np.r_[False, rr[1:] == rr[:-1]] & np.r_[True, True, rr[2:] != rr[:-2]]
            out[rr[second]] = vv[second]
        return out

    def count(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.r[mask], minlength=self.n).astype(np.int64)

    def total(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.int64)
        np.add.at(out, self.r[mask], values[mask])
        return out

    def join(self, ids: pa.Array, li: np.ndarray, mask: np.ndarray) -> pa.Array:
        """``|``-joined ids (``ids[li]``) per return, in credit order, as arrow text."""
        first = self.first(li, mask)
        picked = ids.take(pa.array(first, mask=first == NO))
        out = picked.fill_null("") if picked.null_count else picked
        rr = self.r[mask]
        repeated = np.r_[False, rr[1:] == rr[:-1]] if len(rr) else np.zeros(0, dtype=bool)
        if repeated.any():
            in_multi = np.isin(rr, rr[repeated])
            owners, texts = join_groups(ids.take(pa.array(li[mask][in_multi])), rr[in_multi])
            where = np.zeros(self.n, dtype=bool)
            where[owners] = True
            out = pc.replace_with_mask(out, pa.array(where), texts)
        return out


def classify(
    returns: pd.DataFrame, ledger: pd.DataFrame, exp: Expectations, links: Links,
    settings: ReconcileSettings, as_of_us: int, notifications: pd.DataFrame | None,
) -> tuple[list[pd.DataFrame], ReturnState]:
    """Every return-keyed break and the link-based transaction-keyed ones.

    Parameters
    ----------
    returns, ledger, notifications: typed frames from :mod:`toolkit.io.readers`.
    exp, links: from :mod:`toolkit.reconcile.link`.
    settings: tolerance and window.
    as_of_us: the moment described, microseconds since the epoch (UTC).

    Returns
    -------
    (break frames, per-return state)
    """
    n = len(returns)
    tol = settings.amount_tolerance
    cred = np.flatnonzero(links.credited)
    order = order_by(links.ret[cred], links.created_us[cred])  # cred is increasing
    li = cred[order]
    r = links.ret[li]
    g = _Groups(r, n)

    ret_ccy, row_ccy = encode(returns["currency"], ledger["currency"])
    # Wallet emails compared as text pair by pair: cheaper than hashing every email into codes.
    row_email = arrow_text(ledger["email_key"]).take(pa.array(li))
    ret_email = arrow_text(returns["email_key"]).take(pa.array(r))
    amount = ledger["amount"].to_numpy(dtype=np.int64)[li]
    bonus = links.is_bonus[li]
    refund = ~bonus
    same = row_ccy[li] == ret_ccy[r]
    other_wallet = pc.not_equal(row_email, ret_email).to_numpy(zero_copy_only=False)
    late = (exp.due_us[r] != NO) & (links.created_us[li] > exp.due_us[r])
    fallback = links.link[li] == LINK_CODE[Link.FALLBACK]
    everything = np.ones(len(li), dtype=bool)

    expects = exp.expects_credit
    overdue = expects & (exp.due_us < as_of_us)
    frames: list[pd.DataFrame] = []
    pending = np.zeros(n, dtype=bool)
    issued: list[np.ndarray] = []  # same-currency totals: refund kind, then bonus kind
    # Rule 1 for each kind of credit, on returns that expect credit.
    for kind_mask, expected, missing, mismatch, duplicate in (
        (refund, exp.expected_credit, BreakReason.MISSING_CREDIT,
         BreakReason.CREDIT_AMOUNT_MISMATCH, BreakReason.DUPLICATE_CREDIT),
        (bonus, exp.expected_bonus, BreakReason.MISSING_BONUS,
         BreakReason.BONUS_AMOUNT_MISMATCH, BreakReason.DUPLICATE_BONUS),
    ):
        scope = expects & (expected > 0)
        count = g.count(kind_mask)
        same_total = g.total(amount, kind_mask & same)
        issued.append(same_total)
        none = scope & (count == 0)
        pending |= none & ~overdue
        hit = np.flatnonzero(none & overdue)
        frames.append(break_frame(missing, hit, np.full(len(hit), NO), expected[hit],
                                  np.zeros(len(hit)), -expected[hit]))
        hit = np.flatnonzero(scope & (count >= 2))
        frames.append(break_frame(duplicate, hit, g.second(li, kind_mask)[hit], expected[hit],
                                  same_total[hit], same_total[hit] - expected[hit]))
        first_li = g.first(li, kind_mask & same)
        first_amount = g.first(amount, kind_mask & same)
        hit = np.flatnonzero(scope & (first_li != NO) & (np.abs(first_amount - expected) > tol))
        frames.append(break_frame(mismatch, hit, first_li[hit], expected[hit], first_amount[hit],
                                  first_amount[hit] - expected[hit]))

    # A bonus where none is due (including a zero-credit return's bonus).
    first_bonus_li = g.first(li, bonus)
    first_bonus_same = g.first(same.astype(np.int64), bonus) == 1
    first_bonus_amount = g.first(amount, bonus)
    hit = np.flatnonzero(((expects & (exp.expected_bonus == 0)) | exp.zero_credit)
                         & (first_bonus_li != NO))
    actual = pd.array(np.where(first_bonus_same[hit], first_bonus_amount[hit], 0), dtype="Int64")
    actual[~first_bonus_same[hit]] = pd.NA
    frames.append(break_frame(BreakReason.UNEXPECTED_BONUS, hit, first_bonus_li[hit],
                              np.zeros(len(hit)), actual, actual))
    # A zero-credit return expects nothing: its refund credit is an amount mismatch against 0.
    first_refund_li = g.first(li, refund)
    first_refund_amount = g.first(amount, refund)
    hit = np.flatnonzero(exp.zero_credit & (first_refund_li != NO))
    frames.append(break_frame(BreakReason.CREDIT_AMOUNT_MISMATCH, hit, first_refund_li[hit],
                              np.zeros(len(hit)), first_refund_amount[hit],
                              first_refund_amount[hit]))

    # Across both kinds, once per return, on the earliest credit concerned.
    kind_expected = np.where(bonus, exp.expected_bonus[r], exp.expected_credit[r])
    for reason, mask, with_actual in (
        (BreakReason.CURRENCY_MISMATCH, ~same, False),
        (BreakReason.WRONG_WALLET, other_wallet, True),
        (BreakReason.LATE_CREDIT, late, True),
    ):
        first_li = g.first(li, mask)
        hit = np.flatnonzero(expects & (first_li != NO))
        exp_hit = g.first(kind_expected, mask)[hit]
        act = None
        if with_actual:
            act = pd.array(g.first(amount, mask)[hit], dtype="Int64")
            act[g.first(same.astype(np.int64), mask)[hit] != 1] = pd.NA
        frames.append(break_frame(reason, hit, first_li[hit], exp_hit, act, None))

    # Rule 2: credit on a return that does not expect any.
    any_count = g.count(everything)
    any_same_total = g.total(amount, same)
    any_other = g.count(~same) > 0
    first_any = g.first(li, everything)
    stray = ~expects & ~exp.zero_credit & (any_count > 0)
    status = returns["status"].to_numpy()
    rejected = np.isin(status, [ReturnStatus.REJECTED.value, ReturnStatus.ARCHIVED.value])
    non_credit = (status == ReturnStatus.RESOLVED.value) & returns["resolution_type"].isin(
        [ResolutionType.EXCHANGE, ResolutionType.ORIGINAL_PAYMENT]).to_numpy(dtype=bool)
    clawed = _clawbacks(returns, ledger, links, ret_ccy, row_ccy)
    outstanding = any_same_total - clawed
    hit = np.flatnonzero(stray & rejected & ((outstanding > tol) | any_other))
    frames.append(break_frame(BreakReason.UNREVERSED_CREDIT, hit, first_any[hit],
                              np.zeros(len(hit)), outstanding[hit], outstanding[hit]))
    for reason, mask in (
        (BreakReason.CREDIT_ON_NON_CREDIT_RETURN, stray & ~rejected & non_credit),
        (BreakReason.PREMATURE_CREDIT, stray & ~rejected & ~non_credit),
    ):
        hit = np.flatnonzero(mask)
        frames.append(break_frame(reason, hit, first_any[hit], np.zeros(len(hit)),
                                  any_same_total[hit], any_same_total[hit]))

    frames.extend(_transaction_breaks(ledger, links, notifications))

    tids = arrow_text(ledger["transaction_id"])
    broken = np.zeros(n, dtype=bool)
    for f in frames:
        rr = f["r"].to_numpy()
        if len(f) and f["reason"].iat[0] in _RETURN_KEYED:
            broken[rr] = True
    any_fallback = g.count(fallback) > 0
    # Codes into small dictionaries: a million texts are made only when written.
    outcomes = [Outcome.BREAK, Outcome.PENDING, Outcome.MATCHED_BY_FALLBACK, Outcome.MATCHED,
                Outcome.NOT_APPLICABLE]
    outcome = np.select([broken, pending, any_fallback, expects], [0, 1, 2, 3], default=4)
    link_kind = np.select([any_fallback, any_count > 0], [0, 1], default=2)
    state = ReturnState(
        outcome=_coded(outcome, outcomes),
        link=_coded(link_kind, [Link.FALLBACK, Link.REFERENCE, Link.NONE]),
        issued_credit=issued[0], issued_bonus=issued[1],
        refund_ids=g.join(tids, li, refund), bonus_ids=g.join(tids, li, bonus), pending=pending,
    )
    return frames, state


def _coded(codes: np.ndarray, names: list) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)),
                                          pa.array([x.value for x in names], type=pa.string()))


_RETURN_KEYED = {
    r.value for r in BreakReason
    if r not in {BreakReason.AMBIGUOUS_MATCH, BreakReason.ORPHAN_CREDIT,
                 BreakReason.BALANCE_BREAK, BreakReason.NEGATIVE_BALANCE,
                 BreakReason.MISSING_NOTIFICATION}
}


def _clawbacks(
    returns: pd.DataFrame, ledger: pd.DataFrame, links: Links, ret_ccy: np.ndarray,
    row_ccy: np.ndarray,
) -> np.ndarray:
    """Per return, the manual reversals naming it, in its own currency (minor units)."""
    out = np.zeros(len(returns), dtype=np.int64)
    rows = np.flatnonzero(links.clawback)
    if len(rows):
        r = links.ret[rows]
        same = row_ccy[rows] == ret_ccy[r]
        np.add.at(out, r[same], ledger["amount"].to_numpy(dtype=np.int64)[rows][same])
    return out


def _transaction_breaks(
    ledger: pd.DataFrame, links: Links, notifications: pd.DataFrame | None
) -> list[pd.DataFrame]:
    amount = ledger["amount"].to_numpy(dtype=np.int64)
    frames = []
    for reason, mask in ((BreakReason.AMBIGUOUS_MATCH, links.ambiguous),
                         (BreakReason.ORPHAN_CREDIT, links.orphan)):
        hit = np.flatnonzero(mask)
        frames.append(break_frame(reason, np.full(len(hit), NO), hit, None, amount[hit], None))
    if notifications is not None:
        cred = np.flatnonzero(links.credited)
        template = np.where(links.is_bonus[cred], Template.BONUS_CREDIT_RECEIVED.value,
                            Template.STORE_CREDIT_RECEIVED.value)
        wanted = pd.MultiIndex.from_arrays(
            [ledger["transaction_id"].to_numpy(dtype=object)[cred], template])
        sent = pd.MultiIndex.from_arrays([
            notifications["transaction_id"].str.strip().to_numpy(dtype=object),
            notifications["template"].to_numpy(dtype=object),
        ])
        hit = cred[~wanted.isin(sent)]
        frames.append(break_frame(BreakReason.MISSING_NOTIFICATION, links.ret[hit], hit, None,
                                  amount[hit], None))
    return frames
