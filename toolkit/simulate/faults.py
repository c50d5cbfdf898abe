"""Faults planted on purpose: which returns host them, and how those returns are reshaped.

Each per-return fault is planted on its own return, whose customer is replaced by a fresh one (a
wallet of its own), and far enough before the export that no issue window is still open. So a
fault's consequences are exactly the ones :mod:`toolkit.simulate.truth` records, and never touch
another return. Two faults are periods instead: an integration outage and a mis-set workflow,
which hit every ordinary return released in them.

See ``docs/simulate.md`` for every fault and the break reasons it yields. To add a fault: give it
a rate in :class:`~toolkit.simulate.scenario.FaultRates`, a host pool in :func:`plan_faults`, its
events in :mod:`toolkit.simulate.workflow` and its truth rows in :mod:`toolkit.simulate.truth`.

This module chooses and reshapes hosts; it must never write ledger events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from toolkit.contract import ResolutionType, ReturnStatus
from toolkit.simulate.returns import DAY, HOUR, MISSING, Population
from toolkit.simulate.scenario import Scenario

__all__ = ["FaultPlan", "PER_RETURN_FAULTS", "plan_faults"]

#: Per-return faults in planting order (scarce pools first).
PER_RETURN_FAULTS: tuple[str, ...] = (
    "premature_credit", "bonus_below_minimum", "credit_on_non_credit_return", "ambiguous_fallback",
    "unreversed_early_credit", "clawed_back_early_credit", "bonus_branch_skipped", "bonus_amount_off",
    "lost_trigger", "credit_amount_off", "webhook_retry", "wrong_currency", "wrong_wallet",
    "late_credit", "unreferenced_credit", "missing_email", "dropped_ledger_row", "negative_balance",
)
#: Faults that need no return: a credit row of its own.
STANDALONE_FAULTS: tuple[str, ...] = ("unreferenced_orphan", "test_credit")


@dataclass
class FaultPlan:
    """Where every fault goes. Return indices refer to the population's book."""

    hosts: dict[str, np.ndarray] = field(default_factory=dict)
    ambiguous_pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    #: per standalone fault: (customer index, currency index, time, amount in minor units)
    standalone: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    wrong_currency_to: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    outage: tuple[int, int] | None = None
    misset: tuple[int, int] | None = None
    #: first customer index that belongs to a fault (their wallets get no random activity)
    first_fault_customer: int = 0


def _count(rate: float, n: int) -> int:
    return int(round(rate * n))


def _new_customers(pop: Population, currency_index: np.ndarray, second: np.ndarray | bool,
                   created_at: np.ndarray) -> np.ndarray:
    """Append customers; return their indices."""
    k = len(currency_index)
    start = len(pop.customer_currency)
    pop.customer_currency = np.concatenate([pop.customer_currency, currency_index.astype(np.int64)])
    pop.customer_second_email = np.concatenate(
        [pop.customer_second_email, np.broadcast_to(np.asarray(second, dtype=bool), (k,))])
    pop.customer_created_at = np.concatenate([pop.customer_created_at, created_at.astype(np.int64)])
    return np.arange(start, start + k, dtype=np.int64)


def plan_faults(pop: Population, scenario: Scenario, rng: np.random.Generator, latest: int) -> FaultPlan:
    """Choose hosts for every fault and reshape them; ``latest`` is the last lifecycle time.

    Hosts are drawn without replacement from pools of returns that fit the fault; when a pool is
    short the fault is planted fewer times (the summary shows how many).
    """
    b = pop.book
    s = scenario
    rates = s.fault_rates
    n = len(b["status"])
    window = s.issue_window_hours * HOUR
    margin = 2 * DAY
    plan = FaultPlan(first_fault_customer=len(pop.customer_currency))
    resolved = b["status"] == ReturnStatus.RESOLVED.value
    credit_res = np.isin(b["resolution_type"], [ResolutionType.STORE_CREDIT.value, ResolutionType.MIXED.value])
    single = (b["order_seq"] == 0) & ~np.isin(b["order"], b["order"][b["order_seq"] > 0])
    plain = single & ~b["early_credit"] & ~b["partial_refund"] & ~b["phone_lookup"] & ~b["use_second_email"]
    old = (b["resolved_at"] != MISSING) & (b["resolved_at"] + window + 7 * DAY + margin < latest)
    ec_pool = resolved & credit_res & (b["store_credit_minor"] > 0) & plain & old
    bonus_min = np.array([s.bonus_min_minor(c) for c in pop.currencies], dtype=np.int64)[b["currency_index"]]
    has_bonus = b["bonus_credit_minor"] >= bonus_min
    small_bonus = (b["bonus_credit_minor"] > 0) & ~has_bonus
    taken = np.zeros(n, dtype=bool)

    def pick(name: str, pool: np.ndarray, count: int) -> np.ndarray:
        idx = np.flatnonzero(pool & ~taken)
        chosen = np.sort(rng.choice(idx, size=min(count, len(idx)), replace=False)) if count else idx[:0]
        taken[chosen] = True
        b["fault"][chosen] = name
        return chosen

    per = rates.per_return_rates()
    # Periods first: they take every ordinary return released in them.
    if rates.outage_hours > 0 or rates.misset_hours > 0:
        lo = int(s.period_end.timestamp()) - s.period_days * DAY + window
        hi = latest - window - margin - int((rates.outage_hours + rates.misset_hours) * HOUR) - 2 * DAY
        if hi > lo:
            spots = np.sort(rng.integers(lo, hi, 2))
            if rates.outage_hours > 0:
                plan.outage = (int(spots[0]), int(spots[0] + rates.outage_hours * HOUR))
            if rates.misset_hours > 0:
                m0 = max(int(spots[1]), (plan.outage[1] + HOUR) if plan.outage else 0)
                plan.misset = (m0, int(m0 + rates.misset_hours * HOUR))

    for name in PER_RETURN_FAULTS:
        count = _count(per.get(name, 0.0), n)
        if count == 0:
            plan.hosts[name] = np.zeros(0, dtype=np.int64)
            continue
        if name == "premature_credit":
            pool = (np.isin(b["status"], [ReturnStatus.REVIEWED.value, ReturnStatus.RECEIVED.value])
                    & credit_res & (b["store_credit_minor"] > 0) & single & ~b["early_credit"]
                    & ~b["phone_lookup"] & ~b["use_second_email"] & (b["reviewed_at"] < latest - 2 * HOUR))
        elif name == "bonus_below_minimum":
            pool = ec_pool & small_bonus
        elif name == "credit_on_non_credit_return":
            pool = (resolved & np.isin(b["resolution_type"], [ResolutionType.EXCHANGE.value,
                                                                ResolutionType.ORIGINAL_PAYMENT.value])
                    & plain & old & (b["value_minor"] > 0))
        elif name in ("bonus_branch_skipped", "bonus_amount_off", "dropped_ledger_row"):
            pool = ec_pool & has_bonus
        elif name in ("unreversed_early_credit", "clawed_back_early_credit"):
            pool = ec_pool & (b["resolution_type"] == ResolutionType.STORE_CREDIT.value) \
                & (b["reviewed_at"] + 4 * DAY < latest - margin)
        else:
            pool = ec_pool
        if name == "ambiguous_fallback":
            plan.ambiguous_pairs = _pick_pairs(b, pool & ~taken, count, rng, taken)
            continue
        plan.hosts[name] = pick(name, pool, count)

    _reshape_early_credit(b, plan, rng, latest, margin)
    _reshape_pairs(b, pop, plan, rng)
    # Every host gets a customer of its own, so its wallet holds nothing but the fault.
    hosts = np.flatnonzero(taken)
    pair_second = plan.ambiguous_pairs[:, 1] if len(plan.ambiguous_pairs) else np.zeros(0, dtype=np.int64)
    solo = np.setdiff1d(hosts, pair_second)
    wrong_wallet = np.isin(solo, plan.hosts.get("wrong_wallet", np.zeros(0, dtype=np.int64)))
    fresh = _new_customers(pop, b["currency_index"][solo], wrong_wallet, pop.customer_created_at[b["customer"][solo]])
    b["customer"][solo] = fresh
    if len(pair_second):
        b["customer"][pair_second] = b["customer"][plan.ambiguous_pairs[:, 0]]
    b["use_second_email"][hosts] = False
    b["phone_lookup"][hosts] = False
    wc = plan.hosts.get("wrong_currency", np.zeros(0, dtype=np.int64))
    if len(wc) and len(pop.currencies) == 1:
        # A one-currency shop: the credit lands in a currency the shop does not sell in.
        pop.currencies.append("EUR" if pop.currencies[0] != "EUR" else "USD")
        plan.wrong_currency_to = np.ones(len(wc), dtype=np.int64)
    else:
        ncur = len(pop.currencies)
        plan.wrong_currency_to = ((b["currency_index"][wc] + rng.integers(1, max(ncur, 2), len(wc)))
                                  % ncur).astype(np.int64)
    ncur = len(s.currencies)

    currencies = list(s.currencies)
    for name in STANDALONE_FAULTS:
        count = _count(per.get(name, 0.0), n)
        cur = rng.integers(0, ncur, count)
        start = int(s.period_end.timestamp()) - s.period_days * DAY
        t = rng.integers(start + DAY, max(start + 2 * DAY, latest - margin), count)
        dollars = rng.integers(10, 80, count)
        amount = np.array([s.usd_in(Decimal(int(d)), currencies[c]) for d, c in zip(dollars, cur, strict=True)],
                          dtype=np.int64)
        cust = _new_customers(pop, cur, False, t - 30 * DAY)
        plan.standalone[name] = (cust, cur.astype(np.int64), t.astype(np.int64), amount)
    return plan


def _pick_pairs(b: dict[str, np.ndarray], pool: np.ndarray, count: int, rng: np.random.Generator,
                taken: np.ndarray) -> np.ndarray:
    """Pairs of same-currency returns for an ambiguous fallback."""
    pairs = []
    idx = np.flatnonzero(pool)
    rng.shuffle(idx)
    by_cur: dict[int, list[int]] = {}
    for i in idx:
        by_cur.setdefault(int(b["currency_index"][i]), []).append(int(i))
        lst = by_cur[int(b["currency_index"][i])]
        if len(lst) == 2:
            pairs.append(sorted(lst))
            by_cur[int(b["currency_index"][i])] = []
            if len(pairs) == count:
                break
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    taken[arr.ravel()] = True
    b["fault"][arr.ravel()] = "ambiguous_fallback"
    return arr


_LIFECYCLE = ("created_at", "reviewed_at", "received_at", "resolved_at", "archived_at")
_AMOUNTS = ("value_minor", "fee_offered_minor", "fees_minor", "bonus_offered_minor", "bonus_credit_minor",
            "store_credit_minor", "refund_to_original_minor", "cash_value_minor", "item_count",
            "lines_requested", "item_rejected", "bonus_rate", "bonus_type", "reason_index", "retailer_borne",
            "resolution_type", "choice", "keep_item", "status", "auto_approved")


def _reshape_pairs(b: dict[str, np.ndarray], pop: Population, plan: FaultPlan, rng: np.random.Generator) -> None:
    """The second return of a pair becomes the same purchase returned again a little later."""
    if not len(plan.ambiguous_pairs):
        return
    first, second = plan.ambiguous_pairs[:, 0], plan.ambiguous_pairs[:, 1]
    shift = rng.integers(10 * 60, 12 * HOUR, len(first))
    for col in _LIFECYCLE:
        v = b[col][first]
        b[col][second] = np.where(v == MISSING, MISSING, v + shift)
    for col in _AMOUNTS:
        b[col][second] = b[col][first]
    b["line_source"][second] = b["line_source"][first]


def _reshape_early_credit(b: dict[str, np.ndarray], plan: FaultPlan, rng: np.random.Generator,
                          latest: int, margin: int) -> None:
    """Early-credit hosts: credit released at review, then archived (never shipped) or rejected."""
    for name in ("unreversed_early_credit", "clawed_back_early_credit"):
        h = plan.hosts.get(name, np.zeros(0, dtype=np.int64))
        if not len(h):
            continue
        b["early_credit"][h] = True
        archive = rng.random(len(h)) < 0.5
        end_at = np.minimum(b["reviewed_at"][h] + rng.integers(3 * DAY, 20 * DAY, len(h)), latest - margin)
        a, r = h[archive], h[~archive]
        b["status"][a] = ReturnStatus.ARCHIVED.value
        b["archived_at"][a] = end_at[archive]
        b["received_at"][a] = MISSING
        b["resolved_at"][a] = MISSING
        b["status"][r] = ReturnStatus.REJECTED.value
        b["refund_to_original_minor"][h] = 0
