"""Linking: what each ledger row is, which return each credit belongs to, and what undoes what.

Owns the ledger side's vocabulary (``docs/contract.md``: roles, cancelled issue rows, clawbacks)
and the two ways an issue row finds its return: by reference (``external_event_description``
names the return) and by fallback (same email, currency, expected amount, inside the issue window,
exactly one candidate). Ambiguity is reported, never guessed.

Everything here is vectorized over the whole ledger, except the fallback's final one-to-one
assignment, which walks only the unreferenced PostCo-workflow rows that still compete for a return.
It must never decide whether a link is a break: that is :mod:`toolkit.reconcile.classify`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.contract import (
    CreditIssueStage,
    CreditKind,
    EndReason,
    LedgerType,
    Link,
    OperationType,
    ResolutionType,
    ReturnStatus,
    Role,
)
from toolkit.io.keys import KeyTable, Texts, arrow_of, categories, lookup, small_codes, spread
from toolkit.io.text import arrow_text, encode
from toolkit.money import CURRENCY_EXPONENTS, scale_minor_array
from toolkit.settings import ReconcileSettings

__all__ = [
    "CURRENCIES", "LINKS", "ROLES", "Expectations", "Links", "currency_codes", "expect",
    "is_one_of", "link", "order_by", "order_in_small_groups", "pick",
]

NO = -1  #: "no return" / "no row" in index arrays
#: ``Links.role`` holds an index into this tuple (small ints, not millions of strings).
ROLES: tuple[Role, ...] = tuple(Role)
#: ``Links.link`` holds an index into this tuple.
LINKS: tuple[Link, ...] = (Link.NONE, Link.REFERENCE, Link.FALLBACK)
ROLE_CODE: dict[Role, int] = {r: i for i, r in enumerate(ROLES)}
LINK_CODE: dict[Link, int] = {k: i for i, k in enumerate(LINKS)}
assert LINK_CODE[Link.NONE] == 0 and LINK_CODE[Link.REFERENCE] == 1  # (a mask is a link code)
#: ``Expectations.ccy`` and ``Links.ccy`` hold an index into this tuple.
CURRENCIES: tuple[str, ...] = tuple(CURRENCY_EXPONENTS)
_US_PER_HOUR = 3_600_000_000
_TOKEN = re.compile(r"[^\s,;:()\[\]{}'\"<>|/]+")


@dataclass(frozen=True)
class Expectations:
    """What each return should receive, as arrays aligned with the returns frame.

    Attributes
    ----------
    expects_credit: the contract's *expects credit*.
    zero_credit: resolved (or early-released) store-credit/mixed return whose credit is 0; any
        refund credit on it is a ``credit_amount_mismatch`` against 0.
    release_us: release time in microseconds since the epoch (UTC); ``NO`` when not released.
    due_us: release time + issue window; ``NO`` when not released.
    expected_credit, expected_bonus: minor units of the return's currency (0 unless expecting).
    ccy: the return's currency, as an index into :data:`CURRENCIES`.
    """

    expects_credit: np.ndarray
    zero_credit: np.ndarray
    release_us: np.ndarray
    due_us: np.ndarray
    expected_credit: np.ndarray
    expected_bonus: np.ndarray
    ccy: np.ndarray


@dataclass(frozen=True)
class Links:
    """Every ledger row's role and link, as arrays aligned with the ledger frame.

    Attributes
    ----------
    role: the ``ledger.csv`` role of each row, as an index into :data:`ROLES`.
    is_issue: ``WALLET_ACTION_START`` + ``ADD``.
    is_bonus: the issue row is a bonus credit (``credit_kind`` or its fallback rule).
    cancelled: an issue row a ``VOID`` or a ``CANCEL`` end undoes.
    signed: amount with the direction of ``operation_type`` (minor units).
    created_us: ``created_date`` in microseconds since the epoch (UTC).
    ret: index of the linked return (``NO`` when none); for clawbacks the return they name.
    link: ``none``, ``reference`` or ``fallback`` per row, as an index into :data:`LINKS`.
    orphan: issue rows that are ``orphan_credit``.
    ambiguous: issue rows that are ``ambiguous_match``.
    clawback: ``MANUAL`` ``SUBTRACT`` rows naming a return (``ret`` says which).
    ccy: the row's currency, as an index into :data:`CURRENCIES`.
    """

    role: np.ndarray
    is_issue: np.ndarray
    is_bonus: np.ndarray
    cancelled: np.ndarray
    signed: np.ndarray
    created_us: np.ndarray
    ret: np.ndarray
    link: np.ndarray
    orphan: np.ndarray
    ambiguous: np.ndarray
    clawback: np.ndarray
    ccy: np.ndarray

    @property
    def credited(self) -> np.ndarray:
        """Uncancelled issue rows linked to a return: the credits every return check counts."""
        return self.is_issue & ~self.cancelled & (self.ret != NO)


def epoch_us(stamps: pd.Series) -> np.ndarray:
    """Microseconds since the epoch of a UTC timestamp column; ``NaT`` becomes ``NO``.

    A column of microseconds without ``NaT`` is read in place: the result is then a read-only
    view of the frame's data."""
    values = _raw_us(stamps)
    if len(values) and int(values.min()) == _NAT:
        return values + (values == _NAT) * (NO - _NAT)  # (a where, by arithmetic)
    return values


_NAT = np.iinfo(np.int64).min


def _raw_us(stamps: pd.Series) -> np.ndarray:
    """Microseconds since the epoch as stored (``NaT`` is the smallest int64): a read-only view
    of the frame's data when it holds microseconds."""
    if getattr(stamps.dtype, "unit", None) != "us":  # (``as_unit`` copies even when it is us)
        stamps = stamps.dt.as_unit("us")
    values = stamps.to_numpy(dtype="datetime64[us]").view(np.int64).view()
    values.flags.writeable = False
    return values


def pick(mask: np.ndarray, if_true: np.ndarray | int, if_false: np.ndarray | int) -> np.ndarray:
    """``np.where(mask, if_true, if_false)`` for one-byte codes, by arithmetic: a few SIMD
    passes, where ``where`` branches on every row (about 30 times slower on a mask that changes
    from row to row).

    >>> pick(np.array([True, False, True]), np.int8(7), np.array([1, 2, 3], dtype=np.int8))
    array([7, 2, 7], dtype=int8)
    """
    out = np.subtract(if_true, if_false, dtype=np.int8)  # (wraps; adding back unwraps)
    out = out * mask if out.ndim == 0 else np.multiply(out, mask, out=out)
    out += if_false
    return out


def is_one_of(column: pd.Series | pa.Array, *values: str) -> np.ndarray:
    """Boolean mask of rows whose text is one of ``values`` (exact; one arrow kernel, or one
    lookup per row of a ``category`` column's codes)."""
    coded = categories(column)
    if coded is not None:
        codes, names = coded
        wanted = np.flatnonzero(np.isin(np.array(names, dtype=object), [str(v) for v in values]))
        if len(wanted) > 4:
            return spread(np.isin(np.arange(len(names)), wanted), codes)
        # A compare per row and value: SIMD on the small codes, cheaper than a lookup per row
        # (values as Python ints, so the codes are not widened first).
        if not len(wanted):
            return np.zeros(len(codes), dtype=bool)
        first, *more = wanted.tolist()
        mask = codes == first
        for code in more:
            mask |= codes == code
        return mask
    arr = arrow_of(column)
    if len(values) == 1:
        mask = pc.equal(arr, pa.scalar(str(values[0]), type=arr.type))
    else:
        mask = pc.is_in(arr, value_set=pa.array([str(v) for v in values], type=arr.type))
    if mask.null_count:
        mask = mask.fill_null(False)
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return mask.to_numpy(zero_copy_only=False)


def currency_codes(column: pd.Series | pa.Array) -> np.ndarray:
    """Each row's currency as an index into :data:`CURRENCIES`.

    The readers refuse unknown codes; a frame built by hand may still hold one, and then the
    code is the index into the known codes followed by the unknown ones, so unknown currencies
    never compare equal to each other by accident.
    """
    coded = categories(column)
    if coded is not None:  # each category coded once, then spread to the rows
        per_name, names = coded[0], coded[1]
        table = currency_codes(pa.array(names, type=pa.string()))
        if not len(names):
            return np.zeros(len(per_name), dtype=np.int16)
        return spread(table.astype(np.int16 if table.max() < 2**15 else np.int64), per_name)
    codes = small_codes(arrow_of(column), CURRENCIES)
    if (codes < 0).any():
        unknown = np.flatnonzero(codes < 0)
        extra, = encode(arrow_text(column).take(pa.array(unknown)))
        codes[unknown] = len(CURRENCIES) + extra
    return codes


def expect(returns: pd.DataFrame, settings: ReconcileSettings) -> Expectations:
    """What each return expects, by the contract's rules, in minor units of its own currency.

    ``expected_credit = store_credit_amount × credit_pct / 100`` and ``expected_bonus =
    bonus_credit_amount × bonus_pct / 100`` when the bonus reaches ``bonus_min`` (else 0), both
    rounded half up; both are 0 for a return that does not expect credit (yet).
    """
    status = returns["status"]
    early = is_one_of(returns["credit_issue_stage"], CreditIssueStage.REVIEWED)
    at_review_or_later = is_one_of(
        status, ReturnStatus.REVIEWED, ReturnStatus.RECEIVED, ReturnStatus.RESOLVED)
    resolved = is_one_of(status, ReturnStatus.RESOLVED)
    reached = (early & at_review_or_later) | (~early & resolved) if early.any() else resolved
    credit_resolution = is_one_of(
        returns["resolution_type"], ResolutionType.STORE_CREDIT, ResolutionType.MIXED)
    base = returns["store_credit_amount"].to_numpy(dtype=np.int64)
    expects = credit_resolution & reached & (base > 0)
    zero_credit = credit_resolution & reached & (base == 0)

    # Masked values by arithmetic (``x * mask``; ``(x + 1) * mask - 1`` for "else NO"), several
    # times cheaper than ``where`` over a million int64 values.
    resolved_at = _raw_us(returns["resolved_at"])
    stamp = np.where(early, _raw_us(returns["reviewed_at"]), resolved_at) if early.any() \
        else resolved_at
    release = stamp + 1  # (NaT + 1 does not overflow)
    release *= expects & (stamp != _NAT)  # no time, no release
    release -= 1
    window = settings.issue_window_hours * _US_PER_HOUR
    due = release + (window + 1)
    due *= expects
    due -= 1

    ccy = currency_codes(returns["currency"])
    minimums = np.array([settings.bonus_min_minor(c) for c in CURRENCIES]
                        + [0] * max(int(ccy.max(initial=0)) + 1 - len(CURRENCIES), 0),
                        dtype=np.int64)
    bonus_amount = returns["bonus_credit_amount"].to_numpy(dtype=np.int64)
    expected_credit = scale_minor_array(base, settings.credit_pct)
    expected_credit *= expects
    expected_bonus = scale_minor_array(bonus_amount, settings.bonus_pct)
    # One minimum for every currency present (the usual case) is one compare per return.
    present = np.unique(minimums[np.bincount(ccy, minlength=len(minimums)) > 0])
    minimum = int(present[0]) if len(present) == 1 else spread(minimums, ccy)
    reaches = bonus_amount >= minimum
    reaches &= expects
    expected_bonus *= reaches
    return Expectations(expects, zero_credit, release, due, expected_credit, expected_bonus, ccy)


def link(
    returns: pd.DataFrame, ledger: pd.DataFrame,
    exp: Expectations | Callable[[], Expectations], settings: ReconcileSettings,
) -> Links:
    """Roles, cancellations, reference links, fallback links, orphans and ambiguous rows.

    Parameters
    ----------
    returns, ledger: typed frames from :mod:`toolkit.io.readers`.
    exp: what each return expects (:func:`expect`), or a call giving it (e.g. a future's
        ``result``), asked for only when the fallback needs it, so it can be computed meanwhile.
    settings: tolerance, issue window and the PostCo workflow id.

    Returns
    -------
    Links aligned with ``ledger``.
    """
    m = len(ledger)
    # Two independent halves on the two cores: the references looked up among the return ids,
    # and the ledger's own masks; then the roles beside the links. All are array kernels that
    # release the GIL.
    with ThreadPoolExecutor(max_workers=1) as pool:
        refs_job = pool.submit(_referencing, returns["return_key"], ledger["reference"])
        type_ = ledger["type"]
        add = is_one_of(ledger["operation_type"], OperationType.ADD)
        sign = add.view(np.int8) * np.int8(2)
        sign -= 1
        signed = ledger["amount"].to_numpy(dtype=np.int64) * sign  # (cheaper than a where)
        del sign
        is_start = is_one_of(type_, LedgerType.WALLET_ACTION_START)
        is_issue = is_start & add
        is_bonus = is_issue & is_one_of(ledger["kind"], CreditKind.BONUS_CREDIT)
        postco = is_one_of(ledger["issuer_id"], settings.postco_workflow_id.strip())
        created = epoch_us(ledger["created_date"])

        is_void = is_one_of(type_, LedgerType.VOID)
        is_end = is_one_of(type_, LedgerType.WALLET_ACTION_END)
        end_reason = ledger["end_reason"]
        cancel_end = is_end & is_one_of(end_reason, EndReason.CANCEL) if is_end.any() else is_end
        if is_void.any() or cancel_end.any():
            cancelled = is_issue & (
                _named_by(ledger["transaction_id"], ledger["voided_transaction_id"], is_void,
                          is_issue)
                | _named_by(ledger["wallet_action_id"], ledger["wallet_action_id"], cancel_end,
                            is_issue))
        else:  # (nothing voided or cancelled: the usual case)
            cancelled = np.zeros(m, dtype=bool)
        claw_rows = np.flatnonzero(is_one_of(type_, LedgerType.MANUAL))
        claw_rows = claw_rows[~add[claw_rows]]
        ccy = currency_codes(ledger["currency"])
        has_ref, target, keys = _references(*refs_job.result(), m, pool)
        claw_found = target[claw_rows]
        # Issue rows keep the return their reference names (``target`` is ``NO`` where none):
        # ``(target + 1) * is_issue - 1`` in place, several times cheaper than a ``where``.
        ret = target
        ret += 1
        ret *= is_issue
        ret -= 1
        # Unreferenced PostCo-workflow rows look for a return by fallback, among the returns
        # not holding a referenced credit of the kind: those are found on the worker, then the
        # roles, while the clawbacks and orphans are worked out here.
        fallback_rows = np.flatnonzero(is_issue & ~cancelled & ~has_ref & postco)
        held_job = pool.submit(_held, ret, is_bonus, cancelled, len(returns)) \
            if len(fallback_rows) else None
        roles_job = pool.submit(_roles, type_, end_reason, is_issue, is_bonus, has_ref, postco,
                                is_end, is_void)
        links = _linked(returns, ledger, exp, settings, is_issue, is_bonus, cancelled, has_ref,
                        ret, claw_found, keys, fallback_rows, held_job, created, ccy, claw_rows)
        role = roles_job.result()
    return Links(role, is_issue, is_bonus, cancelled, signed, created, *links, ccy)


def _linked(
    returns: pd.DataFrame, ledger: pd.DataFrame,
    exp: Expectations | Callable[[], Expectations], settings: ReconcileSettings,
    is_issue: np.ndarray, is_bonus: np.ndarray, cancelled: np.ndarray, has_ref: np.ndarray,
    ret: np.ndarray, claw_found: np.ndarray, keys: KeyTable, fallback_rows: np.ndarray,
    held_job: Future | None, created: np.ndarray, ccy: np.ndarray, claw_rows: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The return of each row (reference, then fallback, then clawbacks), how it was linked,
    and which issue rows are orphans or ambiguous: ``(ret, link, orphan, ambiguous,
    clawback)`` as in :class:`Links`. ``ret`` holds the referenced returns of issue rows and
    is completed in place; ``held_job`` gives what :func:`_held` says of them."""
    m = len(ledger)
    # Clawback notes are looked up in the same table of return ids.
    owner, words = _note_words(ledger, claw_rows)
    word_hit = keys.find(pa.array(words, type=pa.string()))
    referenced = ret != NO
    link_kind = referenced.astype(np.int8)  # LINKS: 0 none, 1 reference
    orphan = is_issue & ~cancelled & has_ref & ~referenced

    ambiguous = np.zeros(m, dtype=bool)
    pool = fallback_rows
    if len(pool):
        exp = exp() if callable(exp) else exp
        fb_ret, fb_ambiguous = _fallback(returns, ledger, exp, settings, pool, held_job.result(),
                                         is_bonus, created, ccy)
        linked = fb_ret != NO
        ret[pool[linked]] = fb_ret[linked]
        link_kind[pool[linked]] = LINK_CODE[Link.FALLBACK]
        ambiguous[pool[fb_ambiguous]] = True
        orphan[pool[~linked & ~fb_ambiguous]] = True

    clawback = np.zeros(m, dtype=bool)
    if len(claw_rows):
        named = _named_returns(claw_found, owner, word_hit)
        clawback[claw_rows] = named != NO
        ret[clawback] = named[named != NO]
        link_kind[clawback] = LINK_CODE[Link.REFERENCE]
    return ret, link_kind, orphan, ambiguous, clawback


def _held(ret: np.ndarray, is_bonus: np.ndarray, cancelled: np.ndarray, n: int) -> np.ndarray:
    """Per return and kind (``(n, 2)``: refund, bonus), whether it holds an uncancelled
    referenced credit of the kind (``ret``: each row's referenced return, ``NO`` when none)."""
    held = np.zeros((n, 2), dtype=bool)
    referenced = np.flatnonzero(ret != NO) if not cancelled.any() \
        else np.flatnonzero((ret != NO) & ~cancelled)
    at = ret[referenced]
    at *= 2  # (marked at 2 × return + kind)
    at += is_bonus[referenced]
    held.reshape(-1)[at] = True
    return held


def _referencing(return_keys: pd.Series, reference: pd.Series
                 ) -> tuple[KeyTable, Texts, np.ndarray, np.ndarray]:
    """The table of return ids, the references' text, which rows carry one, and those rows."""
    texts = Texts.of(reference)
    has_ref = texts.length > 0
    return KeyTable(return_keys), texts, has_ref, np.flatnonzero(has_ref)


def _references(
    keys: KeyTable, texts: Texts, has_ref: np.ndarray, rows: np.ndarray, m: int,
    pool: ThreadPoolExecutor,
) -> tuple[np.ndarray, np.ndarray, KeyTable]:
    """Which rows carry a reference, the return each names (``NO`` when none), and the table of
    return ids (reused for clawback notes). Half the rows are looked up on ``pool``'s worker,
    half here."""
    half = len(rows) // 2
    first = pool.submit(keys.find, texts, rows[:half])
    target = np.full(m, NO, dtype=np.int64)
    target[rows[half:]] = keys.find(texts, rows[half:])
    target[rows[:half]] = first.result()
    return has_ref, target, keys


def _named_by(
    ids: pd.Series, naming: pd.Series, namers: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Which of ``rows`` have an ``ids`` value that a row of ``namers`` names in ``naming``
    (empty names never count). Costs nothing when there is no namer, the usual case."""
    out = np.zeros(len(rows), dtype=bool)
    if not namers.any():
        return out
    names = arrow_of(naming).filter(pa.array(namers))
    names = names.filter(pc.not_equal(names, ""))
    if not len(names):
        return out
    probe = np.flatnonzero(rows)
    hit = lookup(ids, names, probe) != NO
    out[probe[hit]] = True
    return out


def order_by(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """Positions sorted by (``major``, ``minor``, position), exactly
    ``np.lexsort((positions, minor, major))``.

    Two plain sorts of unique integers (numpy sorts those with SIMD, several times faster than an
    argsort): positions ride in the low bits, first beside ``minor`` (in milliseconds when every
    value is a whole millisecond and microseconds would not fit), then the rank that gives beside
    ``major``. Values that cannot be packed take the stable argsorts instead.

    >>> order_by(np.array([1, 0, 1, 0]), np.array([5, 9, 2, 9])).tolist()
    [1, 3, 2, 0]
    """
    major = np.asarray(major, dtype=np.int64)
    minor = np.asarray(minor, dtype=np.int64)
    n = len(major)
    if not n:
        return np.zeros(0, dtype=np.int64)
    bits = max(int(n - 1).bit_length(), 1)
    room = 1 << (63 - bits)
    by_minor = _packed_order(minor, bits, room)
    if by_minor is None:
        by_minor = np.argsort(minor, kind="stable")
    low = int(major.min())
    if int(major.max()) - low >= room:
        return by_minor[np.argsort(major[by_minor], kind="stable")]
    return by_minor[_tag_sort(major[by_minor] - low, np.arange(n, dtype=np.int64), bits)]


def order_in_small_groups(major: np.ndarray, minor: np.ndarray, rows: np.ndarray | None = None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`order_by` for data where most ``major`` values have one or two rows (the credits
    of a return), with the sorted ``major`` and where each value's group starts and its size.

    One plain sort of ``major`` with positions in the low bits puts rows in (``major``,
    position) order; then a pair is swapped where its second row's ``minor`` is smaller, and
    only groups of three or more rows are sorted again. Exactly ``order_by``'s result.

    ``rows``: the row each value belongs to, strictly increasing (e.g. the ledger rows of the
    credits); ``minor`` is then indexed by row, and the order is given as rows, not positions
    (``rows[order]``, without the gather: the rows ride in the sort's low bits).

    >>> order, sorted_major, starts, sizes = order_in_small_groups(
    ...     np.array([1, 0, 1, 0]), np.array([5, 9, 2, 9]))
    >>> order.tolist(), sorted_major.tolist(), starts.tolist(), sizes.tolist()
    ([1, 3, 2, 0], [0, 0, 1, 1], [0, 2], [2, 2])
    >>> order_in_small_groups(np.array([1, 0, 1, 0]), np.array([0, 5, 9, 0, 2, 9]),
    ...                       rows=np.array([1, 2, 4, 5]))[0].tolist()
    [2, 5, 4, 1]
    """
    major = np.asarray(major, dtype=np.int64)
    minor = np.asarray(minor, dtype=np.int64)
    n = len(major)
    if not n:
        empty = np.zeros(0, dtype=np.int64)
        return empty, major.copy(), empty, empty
    bits = max(int(n - 1 if rows is None else rows[-1]).bit_length(), 1)
    low = int(major.min())
    packs = int(major.max()) - low < 1 << (63 - bits)
    if not packs:
        order = order_by(major, minor if rows is None else minor[rows])
        sorted_major = major[order]
        if rows is not None:
            order = rows[order]
    else:
        # (the tags first, then the sorted major, in one buffer)
        sorted_major = np.arange(n, dtype=np.int64) if rows is None else rows.astype(np.int64)
        order = _tag_sort(major - low, sorted_major, bits, high=sorted_major)
        sorted_major += low
    new = np.ones(n, dtype=bool)
    np.not_equal(sorted_major[1:], sorted_major[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    del new
    sizes = np.empty_like(starts)
    np.subtract(starts[1:], starts[:-1], out=sizes[:-1])
    sizes[-1] = n - starts[-1]
    if not packs:  # (already in full order)
        return order, sorted_major, starts, sizes
    pairs = starts[sizes == 2]
    first, second = order[pairs], order[pairs + 1]
    swap = minor[second] < minor[first]  # (equal: file order stays)
    order[pairs[swap]] = second[swap]
    order[pairs[swap] + 1] = first[swap]
    big = sizes > 2
    if big.any():
        at = np.repeat(starts[big], sizes[big])
        at += np.arange(len(at)) - np.repeat(np.cumsum(sizes[big]) - sizes[big], sizes[big])
        tags = order[at]  # (major, tag) order: a group's rows are in file order
        order[at] = tags[order_by(sorted_major[at], minor[tags])]
    return order, sorted_major, starts, sizes


_US_PER_MS = 1000


def _packed_order(values: np.ndarray, bits: int, room: int) -> np.ndarray | None:
    """Positions sorted by (``values``, position) through one sort of ``value << bits |
    position``; ``None`` when the values' span does not fit in ``room``."""
    low = int(values.min())
    span = int(values.max()) - low
    packed = values - low
    if span >= room:
        if span // _US_PER_MS >= room or (packed % _US_PER_MS).any():
            return None
        packed //= _US_PER_MS  # whole milliseconds: same order, a thousand times less span
    return _tag_sort(packed, np.arange(len(values), dtype=np.int64), bits)


def _tag_sort(offsets: np.ndarray, tags: np.ndarray, bits: int,
              high: np.ndarray | None = None) -> np.ndarray:
    """The ``tags`` in order of (``offsets``, tag), through one SIMD sort of ``offset << bits |
    tag`` (``offsets``: non-negative, a fresh array, sorted in place; tags below ``2**bits``).
    ``high``: also receives the offsets in that order (it may be ``tags``' own buffer)."""
    offsets <<= bits
    offsets |= tags
    offsets.sort()
    if high is not None:
        np.right_shift(offsets, bits, out=high)
    offsets &= (1 << bits) - 1
    return offsets


def _roles(
    type_: pd.Series, end_reason: pd.Series, is_issue: np.ndarray, is_bonus: np.ndarray,
    has_ref: np.ndarray, postco: np.ndarray, is_end: np.ndarray, is_void: np.ndarray,
) -> np.ndarray:
    """Each row's role: by its type, then by its end reason (end rows) and by whether an issue
    row comes from the workflow (a reference or the PostCo issuer) and is a bonus."""
    role = _by_value(type_, {
        LedgerType.REDEEM: Role.REDEMPTION,
        LedgerType.PAYMENT_METHOD_REFUND: Role.REDEMPTION_REFUND,
        LedgerType.VOID: Role.VOID,
        LedgerType.MANUAL: Role.ADJUSTMENT,
        LedgerType.BULK: Role.ADJUSTMENT,
    })
    if is_end.any():
        ends = _by_value(end_reason, {EndReason.EXPIRATION: Role.EXPIRY,
                                      EndReason.CANCEL: Role.CANCELLATION})
        role = pick(is_end, ends, role)
    # An issue row's role by 2 × workflow + bonus (array kernels on bytes, no masked copies).
    issue_kind = has_ref | postco
    issue_kind = issue_kind.view(np.int8) * np.int8(2)
    issue_kind += is_bonus
    issue_roles = spread(np.array([ROLE_CODE[Role.OTHER_CREDIT], ROLE_CODE[Role.OTHER_CREDIT],
                                   ROLE_CODE[Role.REFUND_CREDIT], ROLE_CODE[Role.BONUS_CREDIT]],
                                  dtype=np.int8), issue_kind)
    return pick(is_issue, issue_roles, role)


def _by_value(column: pd.Series, roles: dict[str, Role]) -> np.ndarray:
    """The role code each row's text gives (``other`` for any text not in ``roles``): one small
    lookup per row for a ``category`` column, else one mask per value."""
    other = ROLE_CODE[Role.OTHER]
    coded = categories(column)
    if coded is not None:
        codes, names = coded
        table = np.array([ROLE_CODE[roles[name]] if name in roles else other for name in names]
                         or [other], dtype=np.int8)
        return spread(table, codes)
    role = np.full(len(column), other, dtype=np.int8)
    for value, kind in roles.items():
        np.copyto(role, np.int8(ROLE_CODE[kind]), where=is_one_of(column, value))
    return role


def _fallback(
    returns: pd.DataFrame, ledger: pd.DataFrame, exp: Expectations, settings: ReconcileSettings,
    pool: np.ndarray, held: np.ndarray, is_bonus: np.ndarray, created: np.ndarray,
    ccy: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Link unreferenced PostCo-workflow rows ``pool`` by email, currency, amount and window.

    Returns that already hold an uncancelled credit of a kind by reference (``held``, from
    :func:`_held`) are not candidates for that kind. Returns the linked return per pool row
    (``NO`` when none) and the ambiguous mask.
    """
    want = [exp.expects_credit & ~held[:, 0],
            exp.expects_credit & (exp.expected_bonus > 0) & ~held[:, 1]]

    taken = pa.array(pool)
    # Only candidate returns and pool rows are encoded (codes serve equality alone): hashing every
    # return's email would cost more than the whole fallback.
    wanted = np.flatnonzero(want[0] | want[1])
    wanted_email, row_email = encode(
        arrow_of(returns["email_key"]).take(pa.array(wanted)),
        arrow_of(ledger["email_key"]).take(taken))
    rows = pd.DataFrame({
        "p": np.arange(len(pool)),
        "email": row_email, "ccy": ccy[pool],
        "bonus": is_bonus[pool].astype(np.int8),
        "amount": ledger["amount"].to_numpy(dtype=np.int64)[pool],
        "created": created[pool],
    })
    cands = []
    for bonus in (0, 1):
        eligible = np.flatnonzero(want[bonus])
        cands.append(pd.DataFrame({
            "r": eligible, "email": wanted_email[np.searchsorted(wanted, eligible)],
            "ccy": exp.ccy[eligible],
            "bonus": np.int8(bonus),
            "expected": (exp.expected_bonus if bonus else exp.expected_credit)[eligible],
            "release": exp.release_us[eligible],
        }))
    pairs = rows.merge(pd.concat(cands, ignore_index=True), on=["email", "ccy", "bonus"])
    window = settings.issue_window_hours * _US_PER_HOUR
    fits = (
        (np.abs(pairs["amount"] - pairs["expected"]) <= settings.amount_tolerance)
        & (pairs["created"] >= pairs["release"])
        & (pairs["created"] <= pairs["release"] + window)
    )
    pairs = pairs.loc[fits, ["p", "r", "bonus"]]

    out = np.full(len(pool), NO, dtype=np.int64)
    ambiguous = np.zeros(len(pool), dtype=bool)
    if pairs.empty:
        return out, ambiguous
    # Rows in (created_date, transaction_id) order; a return taken by an earlier row is no longer
    # a candidate. Rows and returns that compete with nobody are settled at once, vectorized.
    per_row = pairs.groupby("p")["r"].transform("size").to_numpy()
    per_ret = pairs.groupby(["r", "bonus"])["p"].transform("size").to_numpy()
    alone = (per_row == 1) & (per_ret == 1)
    out[pairs["p"].to_numpy()[alone]] = pairs["r"].to_numpy()[alone]
    contested = pairs.loc[~alone]
    if contested.empty:
        return out, ambiguous
    order = pd.DataFrame({
        "p": np.unique(contested["p"].to_numpy()),
    })
    order["created"] = created[pool[order["p"]]]
    order["tid"] = ledger["transaction_id"].to_numpy()[pool[order["p"]]]
    order = order.sort_values(["created", "tid"], kind="stable")
    options = contested.groupby("p")[["r", "bonus"]].apply(
        lambda g: list(zip(g["r"].tolist(), g["bonus"].tolist())))
    taken: set[tuple[int, int]] = set()
    for p in order["p"].tolist():
        free = [c for c in options[p] if c not in taken]
        if len(free) == 1:
            out[p] = free[0][0]
            taken.add(free[0])
        elif len(free) > 1:
            ambiguous[p] = True
    return out, ambiguous


def _note_words(ledger: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The words of the ``note`` of each of ``rows`` (split on spaces and punctuation, a leading
    ``#`` and a trailing ``.`` dropped), in reading order, with the position in ``rows`` owning
    each."""
    notes = arrow_of(ledger["note"]).take(pa.array(rows)).to_pylist() if len(rows) else []
    words = [(i, w.lstrip("#").rstrip(".")) for i, note in enumerate(notes)
             for w in _TOKEN.findall(str(note))]
    return np.array([i for i, _ in words], dtype=np.int64), [w for _, w in words]


def _named_returns(found: np.ndarray, owner: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """The return each clawback row names in its reference or note (``NO`` when none).

    ``found`` is the return its reference names; ``owner``/``hit`` say which row each note word
    belongs to and which return it is. A note *names* a return when one of its words is the
    return id; a word merely containing an id (``R-12`` in ``R-123``) does not count.
    """
    found = found.copy()
    pending = found == NO
    named = (hit != NO) & pending[owner] if len(owner) else np.zeros(0, dtype=bool)
    # The first word that is a return id wins; words come in reading order.
    for i, k in zip(owner[named][::-1], hit[named][::-1]):
        found[i] = k
    return found
