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

from concurrent.futures import ThreadPoolExecutor

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
from toolkit.io.keys import arrow_of, lookup
from toolkit.io.text import arrow_text, join_groups
from toolkit.reconcile.link import (
    LINK_CODE,
    NO,
    Expectations,
    Links,
    is_one_of,
    order_in_small_groups,
    pick,
)
from toolkit.settings import ReconcileSettings

__all__ = ["BREAK_FRAME_COLUMNS", "ReturnState", "break_frame", "classify"]

#: Columns of the typed break frame every check produces.
BREAK_FRAME_COLUMNS = ("reason", "r", "li", "expected", "actual", "difference")


class ReturnState:
    """Per-return results beside the breaks, aligned with the returns frame.

    Attributes
    ----------
    outcome: ``returns.csv`` outcome (arrow dictionary: a small code per return).
    link: ``reference``, ``fallback`` or ``none`` (how its credits were found; dictionary).
    issued_credit, issued_bonus: uncancelled linked credits in the return's currency, minor units.
    refund_ids, bonus_ids: ``|``-separated transaction ids of uncancelled linked credits (arrow
        text), built on first use: they are output text, not part of any check.
    pending: a credit or bonus is due but still inside its window.
    """

    __slots__ = ("outcome", "link", "issued_credit", "issued_bonus", "pending", "_ids", "_joined")

    def __init__(
        self, outcome: pa.DictionaryArray, link: pa.DictionaryArray, issued_credit: np.ndarray,
        issued_bonus: np.ndarray, pending: np.ndarray, ids: tuple,
    ) -> None:
        self.outcome = outcome
        self.link = link
        self.issued_credit = issued_credit
        self.issued_bonus = issued_bonus
        self.pending = pending
        self._ids = ids  # (credit groups, transaction ids)
        self._joined: dict[str, pa.Array] = {}

    @property
    def refund_ids(self) -> pa.Array:
        return self._join("refund")

    @property
    def bonus_ids(self) -> pa.Array:
        return self._join("bonus")

    def _join(self, kind: str) -> pa.Array:
        if kind not in self._joined:
            groups, tids = self._ids
            self._joined[kind] = groups.join(tids, 0 if kind == "refund" else 1)
        return self._joined[kind]


def break_frame(
    reason: BreakReason, r: np.ndarray, li: np.ndarray, expected=None, actual=None,
    difference=None,
) -> pd.DataFrame:
    """A typed break frame for one reason; ``None`` amounts are empty (not meaningful)."""
    k = len(r)

    def money(values) -> pd.arrays.IntegerArray:
        if values is None:
            return pd.arrays.IntegerArray(np.zeros(k, dtype=np.int64), np.ones(k, dtype=bool))
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
    """Credits sorted by (return, kind, created_date, file order), with per-return reductions.

    A return's credits of one kind (refund 0, bonus 1) are one contiguous group, in time order,
    so "the earliest credit of a kind" is a group's first and its duplicate the one after, and
    sums are segment sums. Across both kinds, "the earliest" compares a return's two groups.

    Attributes
    ----------
    r, kind, row: the return, kind and ledger row of each sorted credit.
    created: ``created_date`` of every ledger row (read only where two credits are compared).
    starts, sizes, group_key: each group's first sorted position, size and key ``2 × return
        + kind`` (``starts`` and ``sizes`` as :func:`~toolkit.reconcile.link.order_in_small_groups`
        gives them for that key; ``group_key`` derived when not given).
    """

    def __init__(self, r: np.ndarray, kind: np.ndarray, created: np.ndarray, row: np.ndarray,
                 n: int, starts: np.ndarray, sizes: np.ndarray,
                 group_key: np.ndarray | None = None) -> None:
        self.r, self.kind, self.created, self.row, self.n = r, kind, created, row, n
        self.starts, self.sizes = starts, sizes
        if group_key is None:
            group_key = r[starts] * 2
            group_key += kind[starts]
        self.group_key = group_key
        # Per (return, kind), the sorted position of the earliest credit; the second-earliest
        # (a duplicate, rare) is kept per group that has one.
        self._first = self._per_return(starts, NO, np.int32)
        self._again = np.flatnonzero(sizes > 1)

    def _per_return(self, values: np.ndarray, fill: int, dtype) -> np.ndarray:
        """``values`` per group, scattered to an ``(n, 2)`` array by (return, kind); ``fill``
        where a return has no group of a kind."""
        out = np.full(2 * self.n, fill, dtype=dtype)
        out[self.group_key] = values
        return out.reshape(self.n, 2)

    def first(self, kind: int) -> np.ndarray:
        """Per return, the sorted position of its earliest credit of ``kind`` (``NO`` when none;
        ``int32``: positions are below 2**31)."""
        return self._first[:, kind]

    def second(self, kind: int) -> tuple[np.ndarray, np.ndarray]:
        """The returns with two or more credits of ``kind`` (ascending) and the sorted position
        of each one's second-earliest."""
        again = self._again[(self.group_key[self._again] & 1) == kind]
        return self.group_key[again] >> 1, self.starts[again] + 1

    def totals(self, values: np.ndarray, mask: np.ndarray | None) -> list[np.ndarray]:
        """Per return and kind (refund, then bonus), the sum of ``values`` over its masked
        credits (``None``: all of them; exact integers)."""
        if not len(self.starts):
            return [np.zeros(self.n, dtype=np.int64) for _ in range(2)]
        sums = np.add.reduceat(values if mask is None else values * mask, self.starts)
        out = self._per_return(sums, 0, np.int64)
        return [out[:, 0], out[:, 1]]

    def first_where(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The returns with a masked credit and the sorted position of the earliest one by
        (``created_date``, file order), either kind: for masks true on few credits, without an
        array over every return."""
        sel = np.flatnonzero(mask)
        if not len(sel):
            return sel, sel
        rr, kk = self.r[sel], self.kind[sel]
        lead = np.r_[True, (rr[1:] != rr[:-1]) | (kk[1:] != kk[:-1])]
        sel, rr = sel[lead], rr[lead]  # each group's earliest masked credit
        first = np.r_[True, rr[1:] != rr[:-1]]
        at = sel[first]
        # A return with masked credits of both kinds: its bonus group's follows its refund's.
        both = np.flatnonzero(first)
        both = both[(both + 1 < len(rr)) & (rr[np.minimum(both + 1, len(rr) - 1)] == rr[both])]
        if len(both):
            a, b = sel[both], sel[both + 1]
            row_a, row_b = self.row[a], self.row[b]
            time_a, time_b = self.created[row_a], self.created[row_b]
            later = (time_b < time_a) | ((time_b == time_a) & (row_b < row_a))
            at[np.searchsorted(rr[first], rr[both[later]])] = b[later]
        return rr[first], at

    def first_of(self, returns: np.ndarray) -> np.ndarray:
        """The sorted position of the earliest credit of each of ``returns`` (all have one)."""
        wanted = np.zeros(self.n, dtype=bool)
        wanted[returns] = True
        owners, at = self.first_where(wanted[self.r])
        return at[np.searchsorted(owners, returns)]

    def first_in_kind(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`first_where` for a mask true on credits of one kind only."""
        sel = np.flatnonzero(mask)
        rr = self.r[sel]
        lead = np.r_[True, rr[1:] != rr[:-1]] if len(rr) else np.zeros(0, dtype=bool)
        return rr[lead], sel[lead]

    def join(self, ids: pa.Array, kind: int) -> pa.Array:
        """``|``-joined ids (``ids[row]``) of each return's credits of ``kind``, in time order,
        as arrow text."""
        mine = (self.group_key & 1) == kind
        starts, owner, sizes = self.starts[mine], self.group_key[mine] >> 1, self.sizes[mine]
        first = np.full(self.n, NO, dtype=np.int64)
        first[owner] = self.row[starts]
        picked = ids.take(pa.array(first, mask=first == NO))
        out = picked.fill_null("") if picked.null_count else picked
        multi = sizes > 1
        if multi.any():
            at = np.repeat(starts[multi], sizes[multi])
            at += np.arange(len(at)) - np.repeat(np.cumsum(sizes[multi]) - sizes[multi],
                                                 sizes[multi])
            owners, texts = join_groups(ids.take(pa.array(self.row[at])), self.r[at])
            where = np.zeros(self.n, dtype=bool)
            where[owners] = True
            out = pc.replace_with_mask(out, pa.array(where), texts.cast(out.type))
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
    cred_ret = links.ret[cred]
    # Wallet emails compared as text pair by pair (cheaper than hashing every email into codes),
    # in ledger order, by arrow on the other core while the credits are sorted and the checks
    # that do not need them run.
    pool = ThreadPoolExecutor(max_workers=1)
    wallets_job = pool.submit(_other_wallet, ledger["email_key"], returns["email_key"], cred,
                              cred_ret)
    transaction_job = pool.submit(_transaction_breaks, ledger, links, notifications)
    pool.shutdown(wait=False)
    # Sorted by (return, kind, time, file order): the key is 2 × return + kind.
    key = cred_ret * 2
    key += links.is_bonus[cred]
    li, key, starts, sizes = order_in_small_groups(key, links.created_us, rows=cred)
    bonus = np.bitwise_and(key, 1, out=np.empty(len(key), dtype=bool), casting="unsafe")
    group_key = key[starts]
    key >>= 1
    r = key
    # Lateness, then the totals, then the bonus kind's rule 1 on a helper thread; amounts,
    # currencies and the refund kind's rule 1 here (numpy releases the GIL).
    helper = ThreadPoolExecutor(max_workers=1)
    late_job = helper.submit(_late, links.created_us, li, exp.due_us, r)
    g = _Groups(r, bonus, links.created_us, li, n, starts, sizes, group_key)
    amount = ledger["amount"].to_numpy(dtype=np.int64)[li]
    same = links.ccy[li] == exp.ccy[r]
    all_same = bool(same.all())  # the usual case: no credit in another currency
    issued_job = helper.submit(g.totals, amount, None if all_same else same)  # (per kind)

    expects = exp.expects_credit
    overdue = expects & (exp.due_us < as_of_us)
    def rule_one(kind: int, expected: np.ndarray, missing: BreakReason,
                 mismatch: BreakReason, duplicate: BreakReason):
        """Rule 1 for one kind of credit (0 refund, 1 bonus), on returns that expect credit:
        its breaks, its pending returns and each return's first credit of the kind."""
        out = []
        scope = expects & (expected > 0)
        first_at = g.first(kind)
        none = scope & (first_at == NO)
        hit = np.flatnonzero(none & overdue)
        out.append(break_frame(missing, hit, np.full(len(hit), NO), expected[hit],
                               np.zeros(len(hit)), -expected[hit]))
        if all_same:  # each return's first credit of the kind is its first in its currency
            owners = np.flatnonzero(first_at != NO)
            at = first_at[owners]
        else:
            owners, at = g.first_in_kind((bonus if kind else ~bonus) & same)
        amounts = amount[at]
        off = expected[owners]
        np.subtract(amounts, off, out=off)
        np.abs(off, out=off)
        off = off > tol
        off &= scope[owners]
        hit, at, amounts = owners[off], at[off], amounts[off]
        out.append(break_frame(mismatch, hit, li[at], expected[hit], amounts,
                               amounts - expected[hit]))
        # Duplicates last: they read the totals, worked out meanwhile.
        owners, second_at = g.second(kind)
        hit, second_at = owners[scope[owners]], second_at[scope[owners]]
        same_total = issued_job.result()[kind]
        out.insert(1, break_frame(duplicate, hit, li[second_at], expected[hit],
                                  same_total[hit], same_total[hit] - expected[hit]))
        return out, none & ~overdue, first_at

    # The two kinds are independent: bonuses on the helper thread, after the totals.
    bonus_job = helper.submit(rule_one, 1, exp.expected_bonus, BreakReason.MISSING_BONUS,
                              BreakReason.BONUS_AMOUNT_MISMATCH, BreakReason.DUPLICATE_BONUS)
    helper.shutdown(wait=False)
    refund_frames, refund_pending, refund_at = rule_one(
        0, exp.expected_credit, BreakReason.MISSING_CREDIT,
        BreakReason.CREDIT_AMOUNT_MISMATCH, BreakReason.DUPLICATE_CREDIT)
    bonus_frames, bonus_pending, bonus_at = bonus_job.result()
    issued = issued_job.result()
    frames: list[pd.DataFrame] = refund_frames + bonus_frames
    pending = refund_pending | bonus_pending

    # A bonus where none is due (including a zero-credit return's bonus).
    hit = np.flatnonzero(((expects & (exp.expected_bonus == 0)) | exp.zero_credit)
                         & (bonus_at != NO))
    at = bonus_at[hit]
    first_bonus_same = same[at]
    actual = pd.array(np.where(first_bonus_same, amount[at], 0), dtype="Int64")
    actual[~first_bonus_same] = pd.NA
    frames.append(break_frame(BreakReason.UNEXPECTED_BONUS, hit, li[at],
                              np.zeros(len(hit)), actual, actual))
    # A zero-credit return expects nothing: its refund credit is an amount mismatch against 0.
    hit = np.flatnonzero(exp.zero_credit & (refund_at != NO))
    at = refund_at[hit]
    frames.append(break_frame(BreakReason.CREDIT_AMOUNT_MISMATCH, hit, li[at],
                              np.zeros(len(hit)), amount[at], amount[at]))

    # Across both kinds, once per return, on the earliest credit concerned.
    other_ccy = g.first_where(~same)
    for reason, firsts, with_actual in (
        (BreakReason.CURRENCY_MISMATCH, other_ccy, False),
        (BreakReason.WRONG_WALLET, None, True),
        (BreakReason.LATE_CREDIT, g.first_where(late_job.result()), True),
    ):
        owners, at = firsts if firsts is not None else g.first_where(wallets_job.result()[li])
        expecting = expects[owners]
        hit, at = owners[expecting], at[expecting]
        kind_expected = np.where(bonus[at], exp.expected_bonus[hit], exp.expected_credit[hit])
        act = None
        if with_actual:
            act = pd.array(amount[at], dtype="Int64")
            act[~same[at]] = pd.NA
        frames.append(break_frame(reason, hit, li[at], kind_expected, act, None))

    # Rule 2: credit on a return that does not expect any.
    has_credit = np.zeros(n, dtype=bool)
    has_credit[r] = True
    any_same_total = issued[0] + issued[1]
    any_other = np.zeros(n, dtype=bool)
    any_other[other_ccy[0]] = True
    stray = ~expects & ~exp.zero_credit & has_credit
    status = returns["status"]
    rejected = is_one_of(status, ReturnStatus.REJECTED, ReturnStatus.ARCHIVED)
    non_credit = is_one_of(status, ReturnStatus.RESOLVED) & is_one_of(
        returns["resolution_type"], ResolutionType.EXCHANGE, ResolutionType.ORIGINAL_PAYMENT)
    clawed = _clawbacks(ledger, links, exp)
    outstanding = any_same_total - clawed
    hit = np.flatnonzero(stray & rejected & ((outstanding > tol) | any_other))
    frames.append(break_frame(BreakReason.UNREVERSED_CREDIT, hit, li[g.first_of(hit)],
                              np.zeros(len(hit)), outstanding[hit], outstanding[hit]))
    for reason, mask in (
        (BreakReason.CREDIT_ON_NON_CREDIT_RETURN, stray & ~rejected & non_credit),
        (BreakReason.PREMATURE_CREDIT, stray & ~rejected & ~non_credit),
    ):
        hit = np.flatnonzero(mask)
        frames.append(break_frame(reason, hit, li[g.first_of(hit)], np.zeros(len(hit)),
                                  any_same_total[hit], any_same_total[hit]))

    frames.extend(transaction_job.result())

    broken = np.zeros(n, dtype=bool)
    for f in frames:
        rr = f["r"].to_numpy()
        if len(f) and f["reason"].iat[0] in _RETURN_KEYED:
            broken[rr] = True
    any_fallback = np.zeros(n, dtype=bool)
    any_fallback[r[links.link[li] == LINK_CODE[Link.FALLBACK]]] = True  # (li: the credits)
    # Codes into small dictionaries: a million texts are made only when written.
    outcomes = [Outcome.BREAK, Outcome.PENDING, Outcome.MATCHED_BY_FALLBACK, Outcome.MATCHED,
                Outcome.NOT_APPLICABLE]
    outcome = _first_true([broken, pending, any_fallback, expects])
    link_kind = _first_true([any_fallback, has_credit])
    state = ReturnState(
        outcome=_coded(outcome, outcomes),
        link=_coded(link_kind, [Link.FALLBACK, Link.REFERENCE, Link.NONE]),
        issued_credit=issued[0], issued_bonus=issued[1], pending=pending,
        ids=(g, arrow_of(ledger["transaction_id"])),
    )
    return frames, state


def _other_wallet(
    row_email: pd.Series, ret_email: pd.Series, li: np.ndarray, r: np.ndarray
) -> np.ndarray:
    """Per ledger row, whether it is one of ``li`` and sits on another wallet than its return
    (row ``li[k]`` belongs to return ``r[k]``; emails differ).

    Compared a block of pairs at a time: each block's texts are taken, compared and dropped, so
    the next block reuses their memory instead of faulting in fresh pages for every pair."""
    rows, rets = arrow_of(row_email), arrow_of(ret_email)
    out = np.zeros(len(rows), dtype=bool)
    for at in range(0, len(li), _PAIRS_PER_BLOCK):
        block = slice(at, at + _PAIRS_PER_BLOCK)
        differ = pc.not_equal(rows.take(pa.array(li[block])), rets.take(pa.array(r[block])))
        if isinstance(differ, pa.ChunkedArray):
            differ = differ.combine_chunks()
        out[li[block]] = differ.to_numpy(zero_copy_only=False)
    return out


_PAIRS_PER_BLOCK = 1 << 16


def _late(created: np.ndarray, li: np.ndarray, due_us: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Whether each sorted credit (ledger row ``li[k]``, of return ``r[k]``) was created after its
    return's due time."""
    due = due_us[r]
    late = created[li] > due
    late &= due != NO
    return late


def _first_true(masks: list[np.ndarray]) -> np.ndarray:
    """Per row, the index of the first mask that holds there (``len(masks)`` when none):
    ``np.select`` on one-byte codes, by arithmetic."""
    out = np.full(len(masks[0]), len(masks), dtype=np.int8)
    for code in range(len(masks) - 1, -1, -1):
        out = pick(masks[code], np.int8(code), out)
    return out


def _coded(codes: np.ndarray, names: list) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)),
                                          pa.array([x.value for x in names], type=pa.string()))


_RETURN_KEYED = {
    r.value for r in BreakReason
    if r not in {BreakReason.AMBIGUOUS_MATCH, BreakReason.ORPHAN_CREDIT,
                 BreakReason.BALANCE_BREAK, BreakReason.NEGATIVE_BALANCE,
                 BreakReason.MISSING_NOTIFICATION}
}


def _clawbacks(ledger: pd.DataFrame, links: Links, exp: Expectations) -> np.ndarray:
    """Per return, the manual reversals naming it, in its own currency (minor units)."""
    out = np.zeros(len(exp.ccy), dtype=np.int64)
    rows = np.flatnonzero(links.clawback)
    if len(rows):
        r = links.ret[rows]
        same = links.ccy[rows] == exp.ccy[r]
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
        # Each credit wants the email of its kind: looked up among the transaction ids of the
        # emails sent with that template (one hash table per template, no Python objects).
        cred = np.flatnonzero(links.credited)
        sent_ids = notifications["transaction_id"].str.strip()
        tids = arrow_of(ledger["transaction_id"])
        missing = np.zeros(len(cred), dtype=bool)
        for is_bonus, name in ((False, Template.STORE_CREDIT_RECEIVED),
                               (True, Template.BONUS_CREDIT_RECEIVED)):
            mine = np.flatnonzero(links.is_bonus[cred] == is_bonus)
            sent = arrow_of(sent_ids).filter(
                pa.array(is_one_of(notifications["template"], name.value)))
            missing[mine] = lookup(tids, sent, cred[mine]) == NO
        hit = cred[missing]
        frames.append(break_frame(BreakReason.MISSING_NOTIFICATION, links.ret[hit], hit, None,
                                  amount[hit], None))
    return frames
