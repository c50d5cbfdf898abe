"""Return requests: who returns what and why, what they choose, and the merchant's lifecycle.

One row per return request, as numpy arrays (a "book"). The customer's choice comes from THE
choice model, :mod:`toolkit.tuning.choice`; the bonus offered is computed per line (percentage of
the line's price after discount, capped per item, rounded half up per line) or per request
(fixed), and written on every return whether or not the customer takes credit. The lifecycle is
pending → reviewed (approved or rejected) → received → resolved with stochastic delays, archives
for requests cancelled or never shipped, rejections at review or resolve, partial refunds edited
at resolve, and early credit at review for customers under that policy.

Times are integer epoch seconds; ``MISSING`` (-1) marks a stage not reached by the export time.
This module owns the PostCo side; it must never write ledger rows or plant faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from toolkit.contract import BonusType, ResolutionType, ReturnStatus
from toolkit.money import exponent, round_half_up_array
from toolkit.simulate.orders import LineItems, build_catalog, draw_lines
from toolkit.simulate.scenario import Scenario
from toolkit.tuning.choice import CHOICES, ChoiceFeatures, choice_probabilities, draw_choices

__all__ = ["MISSING", "REASONS", "Population", "draw_population"]

MISSING = -1
DAY, HOUR = 86_400, 3_600

#: (reason as PostCo shows it, retailer borne?)
REASONS: tuple[tuple[str, bool], ...] = (
    ("Size too small", False), ("Size too big", False), ("Changed my mind", False),
    ("Style not as expected", False), ("Ordered more than one size", False),
    ("Colour not as pictured", False),
    ("Damaged item", True), ("Wrong item sent", True), ("Defective", True),
)
_CUSTOMER_REASONS = np.array([i for i, (_, rb) in enumerate(REASONS) if not rb])
_RETAILER_REASONS = np.array([i for i, (_, rb) in enumerate(REASONS) if rb])
TYPICAL_VALUE_USD = Decimal(60)


@dataclass
class Population:
    """Customers (numeric attributes), the return book and its line items, before Rise."""

    book: dict[str, np.ndarray]
    lines: LineItems
    currencies: list[str]
    customer_currency: np.ndarray   # int index into ``currencies``
    customer_second_email: np.ndarray
    customer_created_at: np.ndarray
    sku: np.ndarray                 # catalog SKU text
    end: int                        # export time, epoch seconds


def _lognormal_seconds(rng: np.random.Generator, median_s: float, sigma: float, n: int,
                       lo: float, hi: float) -> np.ndarray:
    return np.clip(np.exp(np.log(median_s) + sigma * rng.standard_normal(n)), lo, hi).astype(np.int64)


def _first_per_group(group: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Boolean: the first row (in order) of each group among rows where ``mask``."""
    first = np.zeros(len(group), dtype=bool)
    idx = np.flatnonzero(mask)
    if len(idx):
        _, pos = np.unique(group[idx], return_index=True)
        first[idx[pos]] = True
    return first


def draw_population(scenario: Scenario, rngs: dict[str, np.random.Generator]) -> Population:
    """Draw customers, orders, return requests, choices and lifecycles for ``scenario``."""
    s = scenario
    n = s.returns_count
    end = int(s.period_end.timestamp())
    start = end - s.period_days * DAY
    currencies = list(s.currencies)
    shares = np.array([s.currencies[c].customer_share for c in currencies])
    exps = np.array([exponent(c) for c in currencies], dtype=np.int64)

    # Orders and customers ------------------------------------------------------------------
    r = rngs["orders"]
    per_order = 1 + (r.random(n) < s.multi_return_order_share) * (1 + (r.random(n) < 0.15))
    n_orders = int(np.searchsorted(np.cumsum(per_order), n) + 1)
    per_order = per_order[:n_orders].copy()
    per_order[-1] -= int(per_order.sum()) - n
    n_customers = max(1, int(np.ceil(n_orders / s.orders_per_customer_mean)))
    n_customers = min(n_customers, n_orders)
    order_customer = np.empty(n_orders, dtype=np.int64)
    order_customer[:n_customers] = np.arange(n_customers)
    if n_orders > n_customers:
        w = r.gamma(0.7, 1.0, n_customers)
        order_customer[n_customers:] = r.choice(n_customers, n_orders - n_customers, p=w / w.sum())
    r.shuffle(order_customer)
    rc = rngs["customers"]
    customer_currency = rc.choice(len(currencies), n_customers, p=shares)
    customer_second = rc.random(n_customers) < s.second_email_share
    customer_created = start - rc.integers(30 * DAY, 3 * 365 * DAY, n_customers)

    ret_order = np.repeat(np.arange(n_orders, dtype=np.int64), per_order)
    seq_in_order = np.arange(n) - np.repeat(np.cumsum(per_order) - per_order, per_order)
    ret_customer = order_customer[ret_order]
    cur = customer_currency[ret_customer]

    # Request times: an order's later returns follow its first within the return window.
    t = rngs["times"]
    first_created = start + t.integers(0, end - start, n_orders)
    created = first_created[ret_order].copy()
    later = seq_in_order > 0
    gap = t.integers(HOUR, 10 * DAY, n)
    room = end - created
    created[later] = created[later] + np.minimum(gap[later], room[later] * t.random(later.sum())).astype(np.int64)
    fulfilled = first_created - t.integers(1 * DAY, (s.return_window_days - 1) * DAY + 2 * DAY, n_orders)
    fulfilled = np.minimum(fulfilled, first_created - HOUR)
    ordered = fulfilled - t.integers(HOUR, 3 * DAY, n_orders)
    discount_pct = np.where(t.random(n_orders) < s.discounted_order_share,
                            t.choice(np.array([10, 15, 20, 25]), n_orders, p=[0.45, 0.3, 0.15, 0.1]), 0)

    # Lines, reasons -----------------------------------------------------------------------
    rl = rngs["lines"]
    catalog = build_catalog([s.currencies[c].price_scale for c in currencies], rngs["catalog"])
    p_geom = 1.0 / s.items_per_return_mean
    item_count = np.minimum(rl.geometric(p_geom, n), 8).astype(np.int64)
    lines = draw_lines(item_count, cur, discount_pct[ret_order],
                       [s.currencies[c].tax_pct for c in currencies], catalog, rl)
    retailer_borne = rl.random(n) < s.retailer_borne_share
    reason = np.where(retailer_borne, rl.choice(_RETAILER_REASONS, n), rl.choice(_CUSTOMER_REASONS, n))
    item_rejected = (item_count >= 2) & (rl.random(n) < s.item_reject_share)
    accepted = ~(item_rejected[lines.return_index] & (lines.position == 0))
    accepted_count = item_count - item_rejected.astype(np.int64)
    value = np.bincount(lines.return_index, weights=lines.value_minor * accepted, minlength=n).astype(np.int64)

    # Bonus offered, per line ----------------------------------------------------------------
    rb = rngs["bonus"]
    cap = np.array([s.usd_in(s.bonus_cap_per_item_usd, c) if s.bonus_cap_per_item_usd is not None else -1
                    for c in currencies], dtype=np.int64)
    if s.bonus_experiment_rates:
        levels = list(s.bonus_experiment_rates)
        level = rb.integers(0, len(levels), n)
        bonus_type = np.where(np.array([lv > 0 for lv in levels])[level],
                              BonusType.PERCENTAGE.value, BonusType.NONE.value).astype(object)
    elif s.bonus_type == BonusType.NONE or s.bonus_rate == 0:
        levels, level = [Decimal(0)], np.zeros(n, dtype=np.int64)
        bonus_type = np.full(n, BonusType.NONE.value, dtype=object)
    else:
        levels, level = [s.bonus_rate], np.zeros(n, dtype=np.int64)
        bonus_type = np.full(n, s.bonus_type.value, dtype=object)
    line_bonus = np.zeros(len(lines.return_index), dtype=np.int64)
    fixed_bonus = np.zeros(n, dtype=np.int64)
    if s.bonus_type == BonusType.FIXED and not s.bonus_experiment_rates:
        fixed_bonus = np.array([s.usd_in(s.bonus_rate, c) for c in currencies], dtype=np.int64)[cur]
    else:
        line_level = level[lines.return_index]
        for k, rate in enumerate(levels):
            sel = line_level == k
            if rate and sel.any():
                frac = Fraction(rate)
                line_bonus[sel] = round_half_up_array(lines.net_minor[sel] * frac.numerator, frac.denominator)
        if s.bonus_cap_per_item_usd is not None:
            line_bonus = np.minimum(line_bonus, cap[cur[lines.return_index]])
    line_bonus = line_bonus * accepted
    bonus_rate = np.array([float(lv) for lv in levels])[level]
    bonus_offered = (np.bincount(lines.return_index, weights=line_bonus, minlength=n).astype(np.int64)
                     + fixed_bonus)

    # The customer's choice (the one shared model) -------------------------------------------
    fee_offered = np.where(retailer_borne, 0,
                           np.array([s.usd_in(s.refund_fee_usd, c) for c in currencies], dtype=np.int64)[cur])
    typical = np.array([s.usd_in(TYPICAL_VALUE_USD, c) for c in currencies], dtype=np.int64)[cur]
    safe_value = np.maximum(value, 1)
    features = ChoiceFeatures(
        bonus_frac=bonus_offered / safe_value,
        fee_frac=fee_offered / safe_value,
        retailer_borne=retailer_borne.astype(float),
        log_value_rel=np.log(safe_value / typical),
    )
    rch = rngs["choice"]
    choice = draw_choices(choice_probabilities(s.choice, features), rch.random(n))
    takes_credit = choice == CHOICES.index("store_credit")
    mixed = takes_credit & (accepted_count >= 2) & (rch.random(n) < s.mixed_share)
    resolution = np.array([ResolutionType.ORIGINAL_PAYMENT.value, ResolutionType.STORE_CREDIT.value,
                           ResolutionType.EXCHANGE.value], dtype=object)[choice]
    resolution[mixed] = ResolutionType.MIXED.value
    # Mixed: the first accepted line goes back to the card, the rest to credit.
    first_accepted = _first_per_group(lines.return_index, accepted)
    line_cash = accepted & ((choice[lines.return_index] == 0)
                            | (mixed[lines.return_index] & first_accepted))
    line_credit = accepted & takes_credit[lines.return_index] & ~line_cash
    cash_value = np.bincount(lines.return_index, weights=lines.value_minor * line_cash, minlength=n).astype(np.int64)
    credit_value = np.bincount(lines.return_index, weights=lines.value_minor * line_credit,
                               minlength=n).astype(np.int64)
    bonus_credit = np.where(
        takes_credit,
        np.bincount(lines.return_index, weights=line_bonus * line_credit, minlength=n).astype(np.int64)
        + np.where(credit_value > 0, fixed_bonus, 0),
        0,
    )
    fees = np.where(cash_value > 0, np.minimum(fee_offered, cash_value), 0)
    keep_item = rch.random(n) < s.keep_item_share
    early = takes_credit & (rch.random(n) < s.early_credit_share)

    # Lifecycle ------------------------------------------------------------------------------
    lc = rngs["lifecycle"]
    auto = lc.random(n) < s.auto_approve_share
    review_delay = np.where(auto, lc.integers(5, 180, n),
                            _lognormal_seconds(lc, s.review_delay_hours_median * HOUR, 0.8, n, 300, 4 * DAY))
    cancelled = lc.random(n) < s.cancel_while_pending_share
    cancel_at = created + lc.integers(HOUR, 3 * DAY, n)
    reviewed = created + review_delay
    reject_review = ~cancelled & (lc.random(n) < s.reject_at_review_share)
    never_shipped = ~cancelled & ~reject_review & ~keep_item & (lc.random(n) < s.never_shipped_share)
    abandon_at = reviewed + lc.integers(28 * DAY, 35 * DAY, n)
    received = np.where(keep_item, MISSING,
                        reviewed + _lognormal_seconds(lc, s.ship_delay_days_median * DAY, 0.5, n, DAY, 14 * DAY))
    resolve_from = np.where(keep_item, reviewed, received)
    resolved = resolve_from + np.where(
        keep_item, lc.integers(HOUR, 2 * DAY, n),
        _lognormal_seconds(lc, s.resolve_delay_days_median * DAY, 0.6, n, HOUR, 10 * DAY))
    reject_resolve = lc.random(n) < s.reject_at_resolve_share

    status = np.full(n, ReturnStatus.PENDING.value, dtype=object)
    t_review = np.full(n, MISSING, dtype=np.int64)
    t_receive = np.full(n, MISSING, dtype=np.int64)
    t_resolve = np.full(n, MISSING, dtype=np.int64)
    t_archive = np.full(n, MISSING, dtype=np.int64)
    live = ~cancelled
    # Cancelled while pending.
    arch = cancelled & (cancel_at <= end)
    status[arch], t_archive[arch] = ReturnStatus.ARCHIVED.value, cancel_at[arch]
    # Reviewed (approved or rejected).
    rev = live & (reviewed <= end)
    t_review[rev] = reviewed[rev]
    status[rev] = np.where(reject_review[rev], ReturnStatus.REJECTED.value, ReturnStatus.REVIEWED.value)
    approved = rev & ~reject_review
    # Never shipped back: archived after the label expires.
    gone = approved & never_shipped & (abandon_at <= end)
    status[gone], t_archive[gone] = ReturnStatus.ARCHIVED.value, abandon_at[gone]
    moving = approved & ~never_shipped
    rec = moving & ~keep_item & (received <= end)
    status[rec], t_receive[rec] = ReturnStatus.RECEIVED.value, received[rec]
    res = moving & (keep_item | rec) & (resolved <= end)
    t_resolve[res] = resolved[res]
    status[res] = np.where(reject_resolve[res], ReturnStatus.REJECTED.value, ReturnStatus.RESOLVED.value)

    # Partial refunds are edited at resolve (never for early credit: it is already out).
    is_resolved = status == ReturnStatus.RESOLVED.value
    partial = is_resolved & ~early & (choice != CHOICES.index("exchange")) & (lc.random(n) < s.partial_refund_share)
    factor_pct = lc.integers(50, 91, n)
    store_credit = credit_value.copy()
    store_credit[partial] = (2 * store_credit[partial] * factor_pct[partial] + 100) // 200
    refund_cash = np.maximum(cash_value - fees, 0)
    refund_cash[partial] = (2 * refund_cash[partial] * factor_pct[partial] + 100) // 200
    refund_to_original = np.where(is_resolved, refund_cash, 0)

    phone_lookup = rngs["identity"].random(n) < s.phone_lookup_share
    use_second = customer_second[ret_customer] & (rngs["identity"].random(n) < s.second_email_use_share)
    use_second &= ~phone_lookup  # a phone lookup fills in the order's (first) email

    book: dict[str, np.ndarray] = {
        "customer": ret_customer, "order": ret_order, "order_seq": seq_in_order,
        "ordered_at": ordered[ret_order], "currency_index": cur.astype(np.int64), "exponent": exps[cur],
        "use_second_email": use_second, "phone_lookup": phone_lookup,
        "created_at": created, "reviewed_at": t_review, "received_at": t_receive,
        "resolved_at": t_resolve, "archived_at": t_archive, "status": status,
        "choice": np.array(CHOICES, dtype=object)[choice], "resolution_type": resolution,
        "reason_index": reason, "retailer_borne": retailer_borne,
        "item_count": accepted_count, "lines_requested": item_count, "item_rejected": item_rejected,
        "keep_item": keep_item, "partial_refund": partial, "partial_pct": np.where(partial, factor_pct, 100),
        "early_credit": early, "auto_approved": auto,
        "value_minor": value, "fee_offered_minor": fee_offered, "fees_minor": fees,
        "bonus_type": bonus_type, "bonus_rate": bonus_rate, "bonus_offered_minor": bonus_offered,
        "bonus_credit_minor": bonus_credit, "store_credit_minor": store_credit,
        "refund_to_original_minor": refund_to_original, "cash_value_minor": cash_value,
        "line_source": np.arange(n, dtype=np.int64),
        "fault": np.full(n, "", dtype=object),
    }
    return Population(
        book=book, lines=lines, currencies=currencies, customer_currency=customer_currency,
        customer_second_email=customer_second, customer_created_at=customer_created,
        sku=catalog.sku, end=end,
    )
