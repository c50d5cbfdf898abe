"""What one return is worth to the merchant under each choice, relative to a cash refund.

The baseline is "the customer takes the cash refund": it is worth 0. Against it, for a return of
value ``A`` with a refund fee ``F`` (charged only on cash refunds) and a bonus ``B`` (paid only
with store credit)::

    refund        0
    store credit  (A - F) - (A + B) * credit_cost_per_unit
    exchange      gross_margin * A - F - exchange_shipping

``A - F`` is the cash that does not leave (the refund we would have paid, net of the fee it
would have kept). ``credit_cost_per_unit`` is what one unit of credit issued costs, in today's
money: the goods it buys at cost, less the margin on spend beyond the credit, plus escheated
breakage and the cost of carrying the liability until it is used (see
:meth:`Economics.credit_cost_per_unit`). The returned item goes back to stock in every case, so
it cancels out.

This module owns the per-return value formulas and their assumptions; it must never draw random
numbers, read files or know about the choice model's coefficients.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ECONOMICS_RANGES", "Economics", "outcome_values"]

DAYS_PER_YEAR = 365.0


class Economics(BaseModel):
    """The merchant's economics of a return: explicit, settable, each with its source.

    Attributes
    ----------
    gross_margin_frac: margin the merchant keeps on an order paid with credit (price minus the
        cost of the goods and of fulfilling and shipping that order, over price). Default 0.35:
        the research's toy sweep (ecosystem §4.3); equivalently an apparel gross margin of ~0.50
        less ~0.15 for picking, packing and free outbound shipping of the redemption order.
        [assumption; DTC apparel gross margins run 0.30-0.60]
    redemption_frac: share of store credit eventually spent; the rest is breakage. Default 0.85:
        the low end of "85-90 % of returns credit with reminders is used" (domain §6, [GUESS]) and
        the simulator's default ``redeem_share``; gift cards ~94 % (6 % never used).
    uplift_frac: spend beyond the credit, as a share of the credit redeemed, that would not have
        happened without it. Vendors claim 20-45 % (low confidence, domain §6); we take 0.10 because
        part of that spend would have happened anyway. [assumption]
    cannibalized_frac: share of redeemed credit spent on goods the customer would have bought
        with cash anyway (a returner who takes a refund often buys the right size or another item
        anyway: credit then replaces a cash sale). That part costs its full face value, not the
        goods' cost. Default 0.5: no published figure, so the middle of the possible 0-1, with the
        tornado spanning 0.25-0.75. [GUESS; the assumption the answer is most sensitive to after
        the bonus response: measure it (credit spenders' repeat rate against refund takers')]
    days_to_redeem: mean days from issue to redemption; first redemption median 30-60 days
        (domain §6, [GUESS]).
    days_to_breakage: days until unspent credit is released as breakage (credit without expiry is
        commonly released after a year; with expiry, the expiry). [assumption]
    breakage_kept_frac: share of breakage the merchant keeps; the rest is remitted as unclaimed
        property where escheat rules reach store credit (finance's call; domain §6 / ecosystem §4.2).
    discount_rate_annual: the merchant's cost of capital, to value later goods cost and margin in
        today's money. [assumption: 8 %]
    carrying_cost_annual: yearly cost of carrying the credit liability, as a share of the credit
        outstanding (platform fees, reconciliation and audit work). [assumption: 2 %]
    exchange_shipping_minor: outbound shipping of a replacement paid by the merchant, in minor
        units of the returns' currency. [assumption: 6.00; Loop's average return cost is ~7.05 USD]
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    gross_margin_frac: float = Field(0.35, ge=0.0, le=1.0)
    redemption_frac: float = Field(0.85, ge=0.0, le=1.0)
    uplift_frac: float = Field(0.10, ge=0.0, le=5.0)
    cannibalized_frac: float = Field(0.5, ge=0.0, le=1.0)
    days_to_redeem: float = Field(45.0, ge=0.0)
    days_to_breakage: float = Field(365.0, ge=0.0)
    breakage_kept_frac: float = Field(1.0, ge=0.0, le=1.0)
    discount_rate_annual: float = Field(0.08, ge=0.0, le=1.0)
    carrying_cost_annual: float = Field(0.02, ge=0.0, le=1.0)
    exchange_shipping_minor: int = Field(600, ge=0)

    def discount_factor(self, days: float) -> float:
        """Today's value of one unit paid ``days`` from now."""
        return float((1.0 + self.discount_rate_annual) ** (-days / DAYS_PER_YEAR))

    def credit_cost_per_unit(self) -> float:
        """Cost to the merchant, in today's money, of one unit of store credit issued.

        ``r ((1 - q)(1 - m) + q) d_r`` goods given at cost when redeemed (the cannibalized share
        ``q`` at face value: a cash sale lost), ``- r u m d_r`` margin on the extra spend, ``+ (1 - r)(1 - kept) d_b`` breakage remitted, ``+ carry x years outstanding``,
        with ``d_r``, ``d_b`` the discount factors at redemption and at breakage.

        >>> round(Economics(gross_margin_frac=0.4, redemption_frac=0.9, uplift_frac=0.1,
        ...     cannibalized_frac=0.0, discount_rate_annual=0.0,
        ...     carrying_cost_annual=0.0).credit_cost_per_unit(), 4)
        0.504
        """
        r, m, u = self.redemption_frac, self.gross_margin_frac, self.uplift_frac
        q = self.cannibalized_frac
        d_redeem = self.discount_factor(self.days_to_redeem)
        d_breakage = self.discount_factor(self.days_to_breakage)
        years_outstanding = (
            r * self.days_to_redeem + (1.0 - r) * self.days_to_breakage
        ) / DAYS_PER_YEAR
        return (
            r * ((1.0 - q) * (1.0 - m) + q) * d_redeem
            - r * u * m * d_redeem
            + (1.0 - r) * (1.0 - self.breakage_kept_frac) * d_breakage
            + self.carrying_cost_annual * years_outstanding
        )

    def switcher_breakeven_frac(self) -> float:
        """Largest bonus (share of value) at which one refunder moved to credit still pays, for a
        return without fee: ``1 / credit_cost_per_unit - 1`` (ecosystem §4.2, generalised)."""
        return 1.0 / self.credit_cost_per_unit() - 1.0


def outcome_values(
    economics: Economics,
    value_minor: np.ndarray,
    fee_minor: np.ndarray,
    bonus_minor: np.ndarray,
) -> np.ndarray:
    """Value of each outcome per return, relative to a cash refund, shape ``(n, 3)`` in
    ``(refund, store_credit, exchange)`` order; float minor units (statistics, not money held).

    Parameters
    ----------
    economics: the assumptions.
    value_minor: return value ``A`` per return, minor units.
    fee_minor: fee ``F`` charged on a cash refund, minor units.
    bonus_minor: bonus ``B`` the customer would get with store credit, minor units (may be float
        for a percentage bonus evaluated without rounding).

    Example
    -------
    An 80.00 return with a 5.00 refund fee and a 10 % bonus (8.00), margin 40 %, 90 % redeemed,
    10 % uplift, nothing cannibalized, no discounting or carrying cost, 6.00 outbound shipping for an exchange:
    credit is worth ``75.00 - 88.00 x 0.504 = 30.648``, an exchange ``32.00 - 5.00 - 6.00 = 21``.

    >>> e = Economics(gross_margin_frac=0.4, redemption_frac=0.9, uplift_frac=0.1,
    ...     cannibalized_frac=0.0, discount_rate_annual=0.0, carrying_cost_annual=0.0)
    >>> outcome_values(e, np.array([8000]), np.array([500]), np.array([800])).round(1).tolist()
    [[0.0, 3064.8, 2100.0]]
    """
    a = np.asarray(value_minor, dtype=float)
    f = np.asarray(fee_minor, dtype=float)
    b = np.asarray(bonus_minor, dtype=float)
    out = np.zeros((len(a), 3))
    out[:, 1] = (a - f) - (a + b) * economics.credit_cost_per_unit()
    out[:, 2] = economics.gross_margin_frac * a - f - economics.exchange_shipping_minor
    return out


#: Low and high values of each assumption for the tornado chart, with why.
ECONOMICS_RANGES: dict[str, tuple[float, float]] = {
    "gross_margin_frac": (0.25, 0.55),  # apparel DTC spread
    "redemption_frac": (0.80, 0.95),  # domain §6: 85-90 % used, gift cards ~94 %
    "uplift_frac": (0.0, 0.30),  # none at all .. most of the vendor claim
    "cannibalized_frac": (0.25, 0.75),  # the middle half of what is possible; no published figure
    "days_to_redeem": (20.0, 120.0),  # first redemption 30-60 days, some much later
    "breakage_kept_frac": (0.5, 1.0),  # half escheated .. all kept
    "discount_rate_annual": (0.0, 0.15),
    "carrying_cost_annual": (0.0, 0.05),
    "exchange_shipping_minor": (0.0, 1200.0),
}
