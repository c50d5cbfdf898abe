"""Wallets after the credit: redemptions, refunds of orders paid with credit, expiry, loyalty
credits, manual adjustments, and the balance every row reports.

A wallet is a set of lots (one per credit) spent soonest-expiring first; a lot held for a coming
clawback is not spendable. Event times are fixed before any amount is known, so the wallets are
run position by position: step ``k`` prices the ``k``-th event of every wallet at once, with numpy,
on a matrix of lot balances (wallets grouped by how many lots they have, so the matrix stays
narrow). Redemptions never exceed the spendable balance and expiries take exactly a lot's rest,
so balances chain and never go negative unless a fault says so. Within a wallet no two events
share a second: ties are pushed one second apart before pricing.

This module owns wallet activity and balances; it must never decide which credits are due.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.simulate.events import Events, Issuer, Kind
from toolkit.simulate.returns import DAY, HOUR
from toolkit.simulate.scenario import Scenario

__all__ = ["OTHER_PROGRAMMES", "MANUAL_NOTES", "WalletRun", "add_activity", "add_expiries", "run_wallets"]

#: issuer_id and external event name of credits from other Rise workflows
OTHER_PROGRAMMES: tuple[tuple[str, str], ...] = (
    ("loyalty_rewards", "ORDER"), ("birthday_gift", "OTHER"), ("referral_program", "REFERRAL"),
)
#: notes of manual adjustments (never naming a return)
MANUAL_NOTES: tuple[str, ...] = ("Goodwill: delayed delivery", "Goodwill: service recovery",
                                 "Balance correction", "Balance correction after chargeback")
_REVERSALS = (Kind.CLAWBACK, Kind.VOID, Kind.CANCEL)
_SPLIT = 1 << 32


@dataclass(frozen=True)
class WalletRun:
    """Priced events: every array is indexed by event index."""

    wallet: np.ndarray     # wallet index (0..wallets-1), -1 for events past the export
    t: np.ndarray          # time after tie-breaking
    amount: np.ndarray     # priced amount (0: the event did not happen)
    balance: np.ndarray    # wallet balance after the event
    funding: np.ndarray    # REFUND: the issue event whose lot took it back (-1: none)
    wallet_keys: np.ndarray  # the wallet key of each wallet index
    expires_at: np.ndarray  # ISSUE: expiry time of the lot (-1: never)


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int, lo: float, hi: float) -> np.ndarray:
    return np.clip(np.exp(np.log(median) + sigma * rng.standard_normal(n)), lo, hi).astype(np.int64)


def add_activity(events: Events, scenario: Scenario, rng: np.random.Generator, *, start: int, end: int,
                 ordinary_wallet: np.ndarray, usd_minor: dict[int, np.ndarray], currency_of_key) -> None:
    """Redemptions, their refunds, loyalty credits and manual adjustments in ordinary wallets.

    ``ordinary_wallet`` flags events (so far) whose wallet may carry random activity;
    ``usd_minor[k]`` is ``k`` USD in minor units per currency index; ``currency_of_key`` maps
    wallet keys to currency indices.
    """
    s = scenario
    c = events.freeze()
    base = np.flatnonzero((c["kind"] == Kind.ISSUE) & (c["issuer"] == Issuer.POSTCO) & (c["credit_kind"] == 1)
                          & ~c["held"] & (c["dup"] == 0) & ordinary_wallet & (c["t"] <= end))
    spend = base[rng.random(len(base)) < s.redeem_share]
    t1 = c["t"][spend] + _lognormal(rng, s.redeem_delay_days_median * DAY, 0.9, len(spend), HOUR, 400 * DAY)
    full = rng.random(len(spend)) < s.full_spend_share
    frac1 = np.where(full, 1.0, rng.integers(20, 91, len(spend)) / 100)
    again = rng.random(len(spend)) < s.second_redeem_share
    t2 = t1[again] + _lognormal(rng, 20 * DAY, 0.8, int(again.sum()), HOUR, 200 * DAY)
    frac2 = np.where(rng.random(int(again.sum())) < s.full_spend_share, 1.0,
                     rng.integers(20, 91, int(again.sum())) / 100)
    w_spend = c["wallet"][spend]
    r1 = events.add(len(spend), wallet=w_spend, t=t1, kind=Kind.REDEEM, frac=frac1)
    r2 = events.add(int(again.sum()), wallet=w_spend[again], t=t2, kind=Kind.REDEEM, frac=frac2)
    red = np.concatenate([r1, r2])
    red_w = np.concatenate([w_spend, w_spend[again]])
    red_t = np.concatenate([t1, t2])
    back = rng.random(len(red)) < s.redemption_refund_share
    events.add(int(back.sum()), wallet=red_w[back], t=red_t[back] + rng.integers(2 * DAY, 20 * DAY, int(back.sum())),
               kind=Kind.REFUND, frac=rng.integers(30, 101, int(back.sum())) / 100, target=red[back])

    wallets = np.unique(c["wallet"][ordinary_wallet & (c["kind"] == Kind.ISSUE)])
    first_t = {}
    if len(wallets):
        order = np.lexsort((c["t"], c["wallet"]))
        wk, tk = c["wallet"][order], c["t"][order]
        pos = np.searchsorted(wk, wallets)
        first_t = tk[pos]
    loyal = wallets[rng.random(len(wallets)) < s.other_credit_wallet_share]
    k = len(loyal)
    programme = rng.integers(0, len(OTHER_PROGRAMMES), k)
    dollars = rng.choice(np.array([5, 10, 15, 20]), k)
    cur = currency_of_key(loyal)
    events.add(k, wallet=loyal, t=rng.integers(start, end, k), kind=Kind.ISSUE,
               amount=_usd(usd_minor, dollars, cur), issuer=Issuer.OTHER, sub=programme)
    picked = rng.random(len(wallets)) < s.manual_adjustment_share
    manual = wallets[picked]
    m = len(manual)
    lo = np.asarray(first_t)[picked] + HOUR if m else np.zeros(0, dtype=np.int64)
    t_m = rng.integers(np.minimum(lo, end - 1), end) if m else lo
    add = rng.random(m) < 0.6
    note = np.where(add, rng.integers(0, 2, m), rng.integers(2, 4, m))
    dollars = rng.integers(5, 31, m)
    amount = _usd(usd_minor, dollars, currency_of_key(manual))
    events.add(m, wallet=manual, t=t_m, kind=np.where(add, Kind.MANUAL_ADD, Kind.MANUAL_SUB), amount=amount, sub=note)


def _usd(usd_minor: dict[int, np.ndarray], dollars: np.ndarray, cur: np.ndarray) -> np.ndarray:
    out = np.zeros(len(dollars), dtype=np.int64)
    for d in np.unique(dollars):
        sel = dollars == d
        out[sel] = usd_minor[int(d)][cur[sel]]
    return out


def add_expiries(events: Events, scenario: Scenario, end: int) -> np.ndarray:
    """An expiry event for every credit whose expiration date falls before the export.

    Returns the expiry time of every ISSUE event so far (-1: never).
    """
    c = events.freeze()
    expires = np.full(len(c["t"]), -1, dtype=np.int64)
    if scenario.credit_expiry_days <= 0:
        return expires
    issue = np.flatnonzero(c["kind"] == Kind.ISSUE)
    expires[issue] = c["t"][issue] + scenario.credit_expiry_days * DAY
    due = issue[(expires[issue] <= end) & (c["t"][issue] <= end)]
    events.add(len(due), wallet=c["wallet"][due], t=expires[due], kind=Kind.EXPIRE, target=due)
    return expires


def run_wallets(events: Events, expires_at: np.ndarray, end: int) -> WalletRun:
    """Order, tie-break and price every event; return amounts and balances per event."""
    c = events.freeze()
    n = len(c["t"])
    expires = np.full(n, -1, dtype=np.int64)
    expires[: len(expires_at)] = expires_at
    kind = c["kind"]
    keep = (c["t"] <= end) | np.isin(kind, _REVERSALS)
    idx = np.flatnonzero(keep)
    keys, widx_kept = np.unique(c["wallet"][idx], return_inverse=True)
    widx = np.full(n, -1, dtype=np.int64)
    widx[idx] = widx_kept
    order = np.lexsort((idx, c["t"][idx], widx_kept))
    ev = idx[order]
    w = widx[ev]
    starts = np.flatnonzero(np.r_[True, w[1:] != w[:-1]])
    run_len = np.diff(np.r_[starts, len(ev)])
    pos = np.arange(len(ev)) - np.repeat(starts, run_len)
    # Strictly increasing times inside each wallet (one second apart at least).
    shifted = c["t"][ev] - pos + w * _SPLIT
    t_new = np.full(n, 0, dtype=np.int64)
    t_new[:] = c["t"]
    t_new[ev] = np.maximum.accumulate(shifted) - w * _SPLIT + pos

    # Lot columns: soonest-expiring first, never-expiring after, then by time; the free column last.
    is_issue = kind[ev] == Kind.ISSUE
    lot_ev = ev[is_issue]
    lot_w = w[is_issue]
    exp_key = np.where(expires[lot_ev] < 0, np.iinfo(np.int64).max, expires[lot_ev])
    lo = np.lexsort((lot_ev, t_new[lot_ev], exp_key, lot_w))
    lot_ev, lot_w = lot_ev[lo], lot_w[lo]
    lot_starts = np.searchsorted(lot_w, lot_w, side="left")
    column = np.full(n, -1, dtype=np.int64)
    column[lot_ev] = np.arange(len(lot_ev)) - lot_starts
    n_wallets = len(keys)
    lots_per_wallet = np.bincount(lot_w, minlength=n_wallets)

    amount = np.zeros(n, dtype=np.int64)
    balance = np.zeros(n, dtype=np.int64)
    funding = np.full(n, -1, dtype=np.int64)
    width = 1 << np.ceil(np.log2(lots_per_wallet + 1)).astype(np.int64)
    ev_width = width[w]
    for wd in np.unique(width):
        sel = ev_width == wd
        _run_bucket(c, ev[sel], w[sel], pos[sel], column, int(wd), amount, balance, funding)
    return WalletRun(wallet=widx, t=t_new, amount=amount, balance=balance, funding=funding,
                     wallet_keys=keys, expires_at=expires)


def _consume(rem: np.ndarray, spendable: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Take ``want`` from spendable lots in column order; returns the matrix taken."""
    avail = np.where(spendable, np.maximum(rem, 0), 0)
    before = np.cumsum(avail, axis=1) - avail
    return np.clip(want[:, None] - before, 0, avail)


def _run_bucket(c: dict[str, np.ndarray], ev: np.ndarray, w: np.ndarray, pos: np.ndarray, column: np.ndarray,
                width: int, amount: np.ndarray, balance: np.ndarray, funding: np.ndarray) -> None:
    wallets, local = np.unique(w, return_inverse=True)
    nw = len(wallets)
    free = width - 1
    rem = np.zeros((nw, width), dtype=np.int64)
    spendable = np.ones((nw, width), dtype=bool)
    ended = np.zeros((nw, width), dtype=bool)
    held = c["held"][ev] & (c["kind"][ev] == Kind.ISSUE)
    spendable[local[held], column[ev[held]]] = False
    bal = np.zeros(nw, dtype=np.int64)
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(pos.max() + 2))
    kind_all, amt_fixed, frac_all = c["kind"], c["amount"], c["frac"]
    target, target2 = c["target"], c["target2"]
    for p in range(len(bounds) - 1):
        step = order[bounds[p]:bounds[p + 1]]
        e, lw = ev[step], local[step]
        k = kind_all[e]
        got = np.zeros(len(e), dtype=np.int64)
        sign = np.ones(len(e), dtype=np.int64)

        m = k == Kind.ISSUE
        if m.any():
            rem[lw[m], column[e[m]]] += amt_fixed[e[m]]
            got[m] = amt_fixed[e[m]]
        m = (k == Kind.REDEEM) | (k == Kind.REDEEM_OVER) | (k == Kind.MANUAL_SUB)
        if m.any():
            rows = lw[m]
            avail = np.where(spendable[rows], np.maximum(rem[rows], 0), 0).sum(axis=1)
            km = k[m]
            pct = np.rint(frac_all[e[m]] * 100).astype(np.int64)
            want = np.where(km == Kind.REDEEM, np.where(pct >= 100, avail, (avail * pct + 50) // 100),
                            np.where(km == Kind.MANUAL_SUB, np.minimum(amt_fixed[e[m]], avail), avail))
            take = _consume(rem[rows], spendable[rows], want)
            rem[rows] -= take
            first = np.where(take.any(axis=1), take.argmax(axis=1), -1)
            over = np.where(km == Kind.REDEEM_OVER, amt_fixed[e[m]], 0)
            rem[rows, free] -= over
            got[m] = want + over
            sign[m] = -1
            # Remember which lot paid first, for a refund of this order later.
            funding[e[m]] = np.where(first >= 0, first, -1)
        m = k == Kind.REFUND
        if m.any():
            parent = target[e[m]]
            pct = np.rint(frac_all[e[m]] * 100).astype(np.int64)
            a = (amount[parent] * pct + 50) // 100
            col = funding[parent]
            ok = col >= 0
            ok[ok] = ~ended[lw[m][ok], col[ok]]
            dest = np.where(ok, col, free)
            rem[lw[m], dest] += a
            got[m] = a
            funding[e[m]] = np.where(ok, col, -1)
        m = (k == Kind.EXPIRE) | (k == Kind.CANCEL)
        if m.any():
            col = column[target[e[m]]]
            got[m] = rem[lw[m], col]
            rem[lw[m], col] = 0
            ended[lw[m], col] = True
            sign[m] = -1
        m = k == Kind.VOID
        if m.any():
            col = column[target[e[m]]]
            got[m] = amount[target[e[m]]]
            rem[lw[m], col] -= got[m]
            sign[m] = -1
        m = k == Kind.MANUAL_ADD
        if m.any():
            rem[lw[m], free] += amt_fixed[e[m]]
            got[m] = amt_fixed[e[m]]
        m = k == Kind.CLAWBACK
        if m.any():
            c1 = column[target[e[m]]]
            t2 = target2[e[m]]
            has2 = t2 >= 0
            c2 = np.where(has2, column[np.where(has2, t2, 0)], free)
            a = rem[lw[m], c1] + np.where(has2, rem[lw[m], c2], 0)
            rem[lw[m], c1] = 0
            rem[lw[m][has2], c2[has2]] = 0
            got[m] = a
            sign[m] = -1
        bal[lw] += sign * got
        amount[e] = got
        balance[e] = bal[lw]
    # Funding is kept as an event index (the issue row whose lot paid), not a column.
    _columns_to_events(ev, local, column, funding, c["kind"], width, wallets)


def _columns_to_events(ev, local, column, funding, kind, width, wallets) -> None:
    """Translate funding columns of redemptions/refunds into the issue event of that column."""
    is_issue = kind[ev] == Kind.ISSUE
    lookup = np.full((len(wallets), width), -1, dtype=np.int64)
    lookup[local[is_issue], column[ev[is_issue]]] = ev[is_issue]
    m = np.isin(kind[ev], [Kind.REDEEM, Kind.REDEEM_OVER, Kind.MANUAL_SUB, Kind.REFUND]) & (funding[ev] >= 0)
    funding[ev[m]] = lookup[local[m], funding[ev[m]]]
