"""The Rise side of a return: the PostCo trigger, the workflow's two issue actions, reversals.

When a credit taker's return reaches its release stage (resolve, or review for early credit),
PostCo fires its trigger and the Rise workflow issues ``workflow_credit_pct`` % of
``store_credit_amount`` as a refund credit and, on the bonus branch (bonus ≥ ``workflow_bonus_min``),
``workflow_bonus_pct`` % of ``bonus_credit_amount`` as a bonus credit one second later, into the
wallet of the return's email in the return's currency. Early credit on a return later archived or
rejected is reversed (a manual clawback naming the return, a VOID, or a CANCEL). Planted faults
change exactly these events, as :mod:`toolkit.simulate.faults` planned.

This module owns which credits the workflow issues and reverses; it must never price a
redemption or compute a balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolkit.contract import ResolutionType, ReturnStatus
from toolkit.money import round_half_up_array, scale_minor_array
from toolkit.simulate.events import Events, Issuer, Kind, Ref
from toolkit.simulate.faults import FaultPlan
from toolkit.simulate.returns import DAY, HOUR, MISSING
from toolkit.simulate.scenario import Scenario

__all__ = ["Expectations", "Issued", "expectations", "issue_credits", "wallet_key"]

REFUND_KIND, BONUS_KIND = 1, 2


@dataclass(frozen=True)
class Expectations:
    """What the contract's rules expect of each return, with the scenario's workflow settings."""

    release_at: np.ndarray        # when the workflow fires (MISSING: never, as of the export)
    expects_credit: np.ndarray    # the contract's rule, at the export
    expected_credit: np.ndarray
    expected_bonus: np.ndarray
    bonus_branch: np.ndarray      # bonus_credit_amount >= the workflow's minimum


@dataclass
class Issued:
    """Event indices of the credits the workflow issued, per return (-1: none)."""

    base: np.ndarray
    bonus: np.ndarray
    duplicate_base: np.ndarray
    duplicate_bonus: np.ndarray
    #: planted rows that name no return: (fault name, event indices)
    loose: dict[str, np.ndarray] = field(default_factory=dict)
    #: planted extra rows: redemptions after a dropped row, over-redemptions
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def wallet_key(customer: np.ndarray, second_email: np.ndarray, currency_index: np.ndarray,
               n_currencies: int) -> np.ndarray:
    """One integer per (customer email, currency): a Rise wallet."""
    return (np.asarray(customer, dtype=np.int64) * 2 + np.asarray(second_email, dtype=np.int64)) \
        * n_currencies + np.asarray(currency_index, dtype=np.int64)


def expectations(book: dict[str, np.ndarray], scenario: Scenario, currencies: list[str]) -> Expectations:
    """Release time, *expects credit* and the expected amounts of every return."""
    s = scenario
    credit_res = np.isin(book["resolution_type"], [ResolutionType.STORE_CREDIT.value, ResolutionType.MIXED.value])
    sca = book["store_credit_minor"]
    status = book["status"]
    early = book["early_credit"]
    approved = (book["reviewed_at"] != MISSING) & ~(
        (status == ReturnStatus.REJECTED.value) & (book["received_at"] == MISSING) & (book["resolved_at"] == MISSING)
    )
    at_stage_early = np.isin(status, [ReturnStatus.REVIEWED.value, ReturnStatus.RECEIVED.value,
                                      ReturnStatus.RESOLVED.value])
    expects = credit_res & (sca > 0) & np.where(early, at_stage_early, status == ReturnStatus.RESOLVED.value)
    # The workflow fires at release even when the return is later archived or rejected.
    fired_early = credit_res & (sca > 0) & early & approved
    fired_late = credit_res & (sca > 0) & ~early & (status == ReturnStatus.RESOLVED.value)
    release = np.where(fired_early, book["reviewed_at"], np.where(fired_late, book["resolved_at"], MISSING))
    bonus_min = np.array([s.bonus_min_minor(c) for c in currencies], dtype=np.int64)[book["currency_index"]]
    branch = book["bonus_credit_minor"] >= bonus_min
    exp_credit = scale_minor_array(sca, s.workflow_credit_pct)
    exp_bonus = np.where(branch, scale_minor_array(book["bonus_credit_minor"], s.workflow_bonus_pct), 0)
    return Expectations(release.astype(np.int64), expects, exp_credit.astype(np.int64),
                        exp_bonus.astype(np.int64), branch)


def _delay(rng: np.random.Generator, median_s: float, n: int) -> np.ndarray:
    return np.clip(np.exp(np.log(median_s) + 1.0 * rng.standard_normal(n)), 2, 6 * HOUR).astype(np.int64)


def issue_credits(
    events: Events,
    book: dict[str, np.ndarray],
    exp: Expectations,
    plan: FaultPlan,
    scenario: Scenario,
    n_currencies: int,
    rng: np.random.Generator,
    end: int,
    latest: int,
) -> Issued:
    """Append the workflow's issue rows, duplicates, reversals and planted rows to ``events``."""
    s = scenario
    n = len(book["status"])
    none = np.full(n, -1, dtype=np.int64)
    issued = Issued(base=none.copy(), bonus=none.copy(), duplicate_base=none.copy(), duplicate_bonus=none.copy())
    if not s.integration_active:
        # Switched off (or a plan without the workflow): every released return goes without.
        book["fault"][exp.release_at != MISSING] = "integration_off"
        return issued
    window = s.issue_window_hours * HOUR
    hosts = {k: v for k, v in plan.hosts.items()}
    is_host = {}
    for k, v in hosts.items():
        is_host[k] = np.zeros(n, dtype=bool)
        is_host[k][v] = True
    any_host = book["fault"] != ""

    base_t = exp.release_at + _delay(rng, s.issue_delay_seconds_median, n)
    base_amt = exp.expected_credit.copy()
    bonus_amt = exp.expected_bonus.copy()
    fires = (exp.release_at != MISSING) & (base_t <= end) & (base_amt > 0)

    # Periods: the integration switched off; the workflow's percentages mis-set.
    if plan.outage:
        hit = ~any_host & fires & (exp.release_at >= plan.outage[0]) & (exp.release_at < plan.outage[1])
        book["fault"][hit] = "integration_outage"
        fires &= ~hit
    if plan.misset:
        hit = ~any_host & fires & (exp.release_at >= plan.misset[0]) & (exp.release_at < plan.misset[1])
        book["fault"][hit] = "workflow_misset"
        base_amt[hit] = scale_minor_array(book["store_credit_minor"][hit], s.faults.misset_credit_pct)
        bonus_amt[hit] = np.where(exp.bonus_branch[hit],
                                  scale_minor_array(book["bonus_credit_minor"][hit], s.faults.misset_bonus_pct), 0)

    get = lambda name: is_host.get(name, np.zeros(n, dtype=bool))  # noqa: E731
    fires &= ~get("lost_trigger")
    # Premature: the workflow fired although the return is not at its release stage.
    pre = get("premature_credit")
    if pre.any():
        lo = book["reviewed_at"][pre] + HOUR
        hi = np.maximum(np.minimum(latest - 60, book["reviewed_at"][pre] + 5 * DAY), lo + 1)
        base_t[pre] = rng.integers(lo, hi)
        base_amt[pre] = exp.expected_credit[pre]
        bonus_amt[pre] = np.where(exp.bonus_branch[pre], scale_minor_array(book["bonus_credit_minor"][pre],
                                                                            s.workflow_bonus_pct), 0)
        fires |= pre
    # Credit on a return refunded to card or exchanged: the trigger fired for the wrong method.
    cnc = get("credit_on_non_credit_return")
    if cnc.any():
        base_t[cnc] = book["resolved_at"][cnc] + _delay(rng, s.issue_delay_seconds_median, int(cnc.sum()))
        base_amt[cnc] = book["value_minor"][cnc]
        bonus_amt[cnc] = 0
        fires |= cnc
    off = get("credit_amount_off")
    if off.any():
        bump = np.maximum(1, round_half_up_array(base_amt[off] * rng.integers(2, 16, int(off.sum())), 100))
        base_amt[off] = base_amt[off] + bump
    boff = get("bonus_amount_off")
    if boff.any():
        bonus_amt[boff] = bonus_amt[boff] + np.maximum(1, round_half_up_array(bonus_amt[boff] * 5, 100))
    below = get("bonus_below_minimum")
    if below.any():
        bonus_amt[below] = np.maximum(1, scale_minor_array(book["bonus_credit_minor"][below], s.workflow_bonus_pct))
    bonus_amt[get("bonus_branch_skipped")] = 0
    late = get("late_credit")
    if late.any():
        base_t[late] = exp.release_at[late] + window + rng.integers(HOUR, 5 * DAY, int(late.sum()))

    cur = book["currency_index"].copy()
    second = book["use_second_email"].copy()
    wc = hosts.get("wrong_currency", np.zeros(0, dtype=np.int64))
    cur[wc] = plan.wrong_currency_to
    second[hosts.get("wrong_wallet", np.zeros(0, dtype=np.int64))] = True
    wallet = wallet_key(book["customer"], second, cur, n_currencies)
    unref = get("unreferenced_credit")
    ref = np.where(unref, Ref.NONE, Ref.RETURN).astype(np.int8)

    # Pairs for an ambiguous fallback: one unreferenced credit, no referenced one.
    pairs = plan.ambiguous_pairs
    amb_first = np.zeros(n, dtype=bool)
    amb_first[pairs[:, 0]] = True
    amb_second = np.zeros(n, dtype=bool)
    amb_second[pairs[:, 1]] = True
    early_status_end = np.isin(book["status"], [ReturnStatus.REJECTED.value, ReturnStatus.ARCHIVED.value])
    held = fires & book["early_credit"] & early_status_end & ~get("unreversed_early_credit")

    base_fires = fires & ~amb_first & ~amb_second
    r = np.flatnonzero(base_fires)
    drop = get("dropped_ledger_row")
    issued.base[r] = events.add(
        len(r), wallet=wallet[r], t=base_t[r], kind=Kind.ISSUE, amount=base_amt[r], ret=r, ref=ref[r],
        credit_kind=REFUND_KIND, issuer=Issuer.POSTCO, held=held[r])
    bonus_fires = fires & (bonus_amt > 0)
    rb = np.flatnonzero(bonus_fires)
    bonus_t = base_t + 1
    issued.bonus[rb] = events.add(
        len(rb), wallet=wallet[rb], t=bonus_t[rb], kind=Kind.ISSUE, amount=bonus_amt[rb], ret=rb, ref=ref[rb],
        credit_kind=BONUS_KIND, issuer=Issuer.POSTCO, held=held[rb], drop=drop[rb])
    if len(pairs):
        t_row = np.maximum(base_t[pairs[:, 0]], base_t[pairs[:, 1]]) + rng.integers(30 * 60, 24 * HOUR, len(pairs))
        issued.loose["ambiguous_fallback"] = events.add(
            len(pairs), wallet=wallet[pairs[:, 0]], t=t_row, kind=Kind.ISSUE,
            amount=exp.expected_credit[pairs[:, 0]], ref=Ref.NONE, credit_kind=REFUND_KIND, issuer=Issuer.POSTCO)

    # Re-delivered triggers: a second credit (and bonus) inside the window.
    retry = np.flatnonzero(get("webhook_retry") & fires)
    if len(retry):
        lo = base_t[retry] + 600
        hi = np.maximum(exp.release_at[retry] + window - HOUR, lo + 1)
        t_dup = rng.integers(lo, hi)
        issued.duplicate_base[retry] = events.add(
            len(retry), wallet=wallet[retry], t=t_dup, kind=Kind.ISSUE, amount=base_amt[retry], ret=retry,
            ref=Ref.RETURN, credit_kind=REFUND_KIND, issuer=Issuer.POSTCO, dup=1)
        rb2 = retry[bonus_amt[retry] > 0]
        t_dup_b = t_dup[bonus_amt[retry] > 0] + 1
        issued.duplicate_bonus[rb2] = events.add(
            len(rb2), wallet=wallet[rb2], t=t_dup_b, kind=Kind.ISSUE, amount=bonus_amt[rb2], ret=rb2,
            ref=Ref.RETURN, credit_kind=BONUS_KIND, issuer=Issuer.POSTCO, dup=1)

    # A credit email never sent: the bonus's when there is one, else the credit's.
    me = np.flatnonzero(get("missing_email") & fires)
    if len(me):
        issued.extra["missing_email"] = np.where(issued.bonus[me] >= 0, issued.bonus[me], issued.base[me])

    # Reversals of early credit on returns archived or rejected afterwards.
    h = np.flatnonzero(held)
    if len(h):
        terminal = np.where(book["status"][h] == ReturnStatus.ARCHIVED.value, book["archived_at"][h],
                            book["resolved_at"][h])
        t_rev = np.maximum(terminal, bonus_t[h] + 1) + rng.integers(60, 2 * HOUR, len(h))
        method = rng.integers(0, 4, len(h))  # 0-1 manual clawback, 2 VOID, 3 CANCEL
        claw = method <= 1
        events.add(int(claw.sum()), wallet=wallet[h[claw]], t=t_rev[claw], kind=Kind.CLAWBACK,
                   ret=h[claw], ref=Ref.RETURN, target=issued.base[h[claw]], target2=issued.bonus[h[claw]])
        for kind, sel in ((Kind.VOID, method == 2), (Kind.CANCEL, method == 3)):
            for col, dt in ((issued.base, 0), (issued.bonus, 1)):
                rr = h[sel & (col[h] >= 0)]
                tt = t_rev[sel & (col[h] >= 0)] + dt
                events.add(len(rr), wallet=wallet[rr], t=tt, kind=kind, ret=rr, target=col[rr])

    # Planted follow-ups in the host's own wallet. A dropped row is the bonus (the wallet's second
    # row: a dropped first row would only move the wallet's opening); the redemption after it
    # then shows the balance break.
    dr = np.flatnonzero(drop & fires & (bonus_amt > 0))
    if len(dr):
        t_next = base_t[dr] + rng.integers(DAY, 10 * DAY, len(dr))
        issued.extra["dropped_ledger_row"] = events.add(
            len(dr), wallet=wallet[dr], t=np.minimum(t_next, latest - DAY), kind=Kind.REDEEM, frac=0.5)
    ng = np.flatnonzero(get("negative_balance") & fires)
    if len(ng):
        t_over = base_t[ng] + rng.integers(DAY, 10 * DAY, len(ng))
        extra = np.maximum(1, round_half_up_array(base_amt[ng] * rng.integers(5, 40, len(ng)), 100))
        issued.extra["negative_balance"] = events.add(
            len(ng), wallet=wallet[ng], t=np.minimum(t_over, latest - DAY), kind=Kind.REDEEM_OVER, amount=extra)

    # Credits that name no return.
    for name, (cust, cidx, t, amount) in plan.standalone.items():
        k = len(cust)
        w = wallet_key(cust, np.zeros(k, dtype=bool), cidx, n_currencies)
        if name == "test_credit":
            issued.loose[name] = events.add(k, wallet=w, t=t, kind=Kind.ISSUE, amount=amount, ref=Ref.BOGUS,
                                            credit_kind=REFUND_KIND, issuer=Issuer.MANUAL)
        else:
            issued.loose[name] = events.add(k, wallet=w, t=t, kind=Kind.ISSUE, amount=amount, ref=Ref.NONE,
                                            credit_kind=REFUND_KIND, issuer=Issuer.POSTCO)
    return issued
