"""The scenario: every knob of the simulated merchant, validated once, frozen.

A scenario is a TOML file (``toolkit/scenarios/default.toml`` is the default) read into
:class:`Scenario`. Every field name carries its unit (``_share`` is a fraction of 0..1, ``_days``,
``_hours``, ``_seconds``, ``_pct`` is percent, ``_rate`` of faults is a share of all returns,
money fields are in major units of USD and are scaled per currency by ``price_scale``).
Problems are collected and reported together as one :class:`~toolkit.errors.ConfigError`.

This module validates and converts settings; it must never draw a random number.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from toolkit.contract import BonusType
from toolkit.errors import ConfigError
from toolkit.money import CURRENCY_EXPONENTS, exponent, round_half_up
from toolkit.settings import read_toml, validation_message
from toolkit.tuning.choice import ChoiceCoefficients

__all__ = ["CurrencyMix", "FaultRates", "Scenario", "default_scenario_path", "load_scenario"]

class CurrencyMix(BaseModel):
    """One presentment currency of the shop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_share: float = Field(ge=0.0, le=1.0, description="share of customers who buy in it")
    price_scale: Decimal = Field(
        gt=0, description="price of one USD-priced item in this currency (CAD 1.35, JPY 150)"
    )
    tax_pct: Decimal = Field(ge=0, le=50, description="sales tax / VAT on items, percent")


def _default_currencies() -> dict[str, CurrencyMix]:
    return {
        "USD": CurrencyMix(customer_share=0.80, price_scale=Decimal("1"), tax_pct=Decimal("7.25")),
        "CAD": CurrencyMix(customer_share=0.07, price_scale=Decimal("1.35"), tax_pct=Decimal("13")),
        "GBP": CurrencyMix(customer_share=0.05, price_scale=Decimal("0.80"), tax_pct=Decimal("20")),
        "EUR": CurrencyMix(customer_share=0.05, price_scale=Decimal("0.92"), tax_pct=Decimal("20")),
        "AUD": CurrencyMix(customer_share=0.03, price_scale=Decimal("1.50"), tax_pct=Decimal("10")),
    }


class FaultRates(BaseModel):
    """How often each fault is planted. ``*_rate`` = share of all return requests (the count is
    ``round(rate × returns)``, capped by how many returns qualify). See ``docs/simulate.md``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lost_trigger_rate: float = Field(0.0015, ge=0, le=0.05, description=(
        "PostCo trigger never reached Rise: missing_credit (+ missing_bonus)"))
    bonus_branch_skipped_rate: float = Field(0.0010, ge=0, le=0.05, description=(
        "bonus action failed, base credit issued: missing_bonus"))
    credit_amount_off_rate: float = Field(0.0010, ge=0, le=0.05, description=(
        "credit issued for the pre-edit amount: credit_amount_mismatch"))
    bonus_amount_off_rate: float = Field(0.0008, ge=0, le=0.05, description=(
        "bonus issued without the per-item cap or off by rounding: bonus_amount_mismatch"))
    webhook_retry_rate: float = Field(0.0015, ge=0, le=0.05, description=(
        "trigger re-delivered after the idempotency window: duplicate_credit (+ duplicate_bonus)"))
    wrong_currency_rate: float = Field(0.0005, ge=0, le=0.05, description=(
        "credit landed in a wallet of another currency: currency_mismatch"))
    wrong_wallet_rate: float = Field(0.0008, ge=0, le=0.05, description=(
        "credit landed in the customer's other email's wallet: wrong_wallet"))
    late_credit_rate: float = Field(0.0010, ge=0, le=0.05, description=(
        "credit issued after the issue window: late_credit"))
    premature_credit_rate: float = Field(0.0008, ge=0, le=0.05, description=(
        "credit issued before the return reached its release stage: premature_credit"))
    credit_on_non_credit_return_rate: float = Field(0.0008, ge=0, le=0.05, description=(
        "credit issued on a return refunded to card or exchanged: credit_on_non_credit_return"))
    unreversed_early_credit_rate: float = Field(0.0008, ge=0, le=0.05, description=(
        "early credit on a return later archived or rejected, never clawed back: unreversed_credit"))
    clawed_back_early_credit_rate: float = Field(0.0008, ge=0, le=0.05, description=(
        "early credit properly reversed (manual clawback, VOID or CANCEL): no break"))
    bonus_below_minimum_rate: float = Field(0.0008, ge=0, le=0.05, description=(
        "bonus under the workflow minimum issued anyway: unexpected_bonus"))
    ambiguous_fallback_rate: float = Field(0.0005, ge=0, le=0.05, description=(
        "unreferenced PostCo credit with two candidate returns: ambiguous_match + 2 missing_credit"))
    unreferenced_orphan_rate: float = Field(0.0005, ge=0, le=0.05, description=(
        "unreferenced PostCo credit with no candidate: orphan_credit"))
    test_credit_rate: float = Field(0.0005, ge=0, le=0.05, description=(
        "manual test credit naming a return that does not exist: orphan_credit"))
    unreferenced_credit_rate: float = Field(0.0010, ge=0, le=0.05, description=(
        "PostCo credits without a reference that link by fallback: no break"))
    missing_email_rate: float = Field(0.0010, ge=0, le=0.05, description=(
        "Rise credit email not sent: missing_notification"))
    dropped_ledger_row_rate: float = Field(0.0005, ge=0, le=0.05, description=(
        "a bonus issue row missing from the export: missing_bonus + balance_break on the next row"))
    negative_balance_rate: float = Field(0.0005, ge=0, le=0.05, description=(
        "a checkout redeemed more than the balance: negative_balance"))
    outage_hours: float = Field(10.0, ge=0, le=24 * 14, description=(
        "one period with the integration switched off: missing_credit and missing_bonus for every "
        "return released in it"))
    misset_hours: float = Field(20.0, ge=0, le=24 * 14, description=(
        "one period with the workflow percentages mis-set: amount mismatches"))
    misset_credit_pct: Decimal = Field(Decimal("90"), gt=0, le=200, description=(
        "credit percentage the workflow used during the mis-set period"))
    misset_bonus_pct: Decimal = Field(Decimal("50"), gt=0, le=200, description=(
        "bonus percentage the workflow used during the mis-set period"))

    def per_return_rates(self) -> dict[str, float]:
        """``{fault name: rate}`` for the per-return faults (names without ``_rate``)."""
        return {k.removesuffix("_rate"): getattr(self, k) for k in type(self).model_fields
                if k.endswith("_rate")}

    def zeroed(self) -> FaultRates:
        """The same settings with every fault switched off."""
        data = {k: 0.0 for k in type(self).model_fields if k.endswith(("_rate", "_hours"))}
        return self.model_copy(update=data)


class Scenario(BaseModel):
    """A simulated merchant: shop, customers, returns policy, lifecycle, Rise workflow, faults.

    Money fields (``*_usd``) are major units of USD, scaled to each currency with its
    ``price_scale`` and rounded half up to the currency's precision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Size and time
    returns_count: int = Field(20_000, ge=1, le=20_000_000, description="return requests")
    seed: int = Field(11, ge=0, description="seed of every random stream")
    period_end: datetime = Field(
        datetime(2026, 3, 31, 23, 59, 59, tzinfo=timezone.utc),
        description="moment both exports are taken (UTC if no offset)",
    )
    period_days: int = Field(90, ge=7, le=3660, description="days of return requests before the end")
    shop_domain: str = Field("acme-apparel.myshopify.com", description="the Shopify shop")
    postco_export_utc_offset_minutes: int = Field(
        -300, ge=-720, le=840, description="offset PostCo writes its timestamps in (Rise writes UTC)"
    )
    customer_locale: str = Field("en_US", description="Faker locale of customer names")

    # Customers and orders
    currencies: dict[str, CurrencyMix] = Field(default_factory=_default_currencies)
    orders_per_customer_mean: float = Field(1.3, ge=1.0, le=20.0, description="orders with a return per customer")
    multi_return_order_share: float = Field(0.05, ge=0, le=0.9, description="share of returned orders returned twice")
    items_per_return_mean: float = Field(1.4, ge=1.0, le=5.0, description="lines per return request")
    discounted_order_share: float = Field(0.35, ge=0, le=1, description="orders with a discount code")
    second_email_share: float = Field(0.06, ge=0, le=1, description="customers with a second email (second wallet)")
    second_email_use_share: float = Field(0.4, ge=0, le=1, description="their returns made with the second email")
    phone_lookup_share: float = Field(0.08, ge=0, le=1, description="returns looked up by phone")
    return_window_days: int = Field(30, ge=1, le=365, description="days after fulfilment a return is accepted")

    # Return request and choice
    retailer_borne_share: float = Field(0.22, ge=0, le=1, description="returns for a merchant-fault reason")
    keep_item_share: float = Field(0.03, ge=0, le=1, description="returns where the customer keeps the item")
    bonus_type: BonusType = Field(BonusType.PERCENTAGE, description="store-credit bonus offered")
    bonus_rate: Decimal = Field(Decimal("0.10"), ge=0, description="0.10 = 10 % per line, or a fixed amount in USD")
    bonus_cap_per_item_usd: Decimal | None = Field(Decimal("20.00"), ge=0, description="cap of a % bonus per item")
    bonus_experiment_rates: list[Decimal] = Field(
        default_factory=list,
        description="randomized experiment: each return is offered one of these % rates (0 = none)",
    )
    refund_fee_usd: Decimal = Field(Decimal("5.95"), ge=0, description="fee on a cash refund of a customer-borne return")
    mixed_share: float = Field(0.10, ge=0, le=1, description="credit takers with 2+ items who take one item in cash")
    choice: ChoiceCoefficients = Field(default_factory=ChoiceCoefficients)

    # Merchant lifecycle
    auto_approve_share: float = Field(0.4, ge=0, le=1, description="requests approved automatically")
    review_delay_hours_median: float = Field(18.0, gt=0, le=240, description="manual review delay")
    cancel_while_pending_share: float = Field(0.01, ge=0, le=0.5, description="requests archived before review")
    reject_at_review_share: float = Field(0.02, ge=0, le=0.5, description="requests rejected at review")
    never_shipped_share: float = Field(0.05, ge=0, le=0.5, description="approved returns never sent back (archived)")
    ship_delay_days_median: float = Field(5.0, gt=0, le=14, description="approval to receipt")
    resolve_delay_days_median: float = Field(2.0, gt=0, le=10, description="receipt to resolution")
    reject_at_resolve_share: float = Field(0.02, ge=0, le=0.5, description="returns rejected at resolve")
    partial_refund_share: float = Field(0.05, ge=0, le=0.5, description="refunds edited down at resolve")
    item_reject_share: float = Field(0.02, ge=0, le=0.5, description="multi-item returns with one item rejected")
    early_credit_share: float = Field(0.12, ge=0, le=1, description="credit takers whose credit is released at review")

    # Rise
    rise_postco_integration_enabled: bool = Field(True, description="PostCo activated in Rise")
    postco_rise_integration_enabled: bool = Field(True, description="Rise connected in PostCo")
    rise_plan: Literal["basic", "pro", "premium", "enterprise"] = Field(
        "premium", description="the PostCo workflow needs Premium or above"
    )
    workflow_id: str = Field("postco", description="issuer_id of the PostCo workflow")
    workflow_credit_pct: Decimal = Field(Decimal("100"), gt=0, le=1000, description="% of store_credit_amount issued")
    workflow_bonus_pct: Decimal = Field(Decimal("100"), gt=0, le=1000, description="% of bonus_credit_amount issued")
    workflow_bonus_min: Decimal = Field(Decimal("1.00"), ge=0, description="bonus branch runs when bonus >= this (currency units)")
    issue_window_hours: int = Field(72, ge=1, le=24 * 30, description="window the reconciliation allows")
    issue_delay_seconds_median: float = Field(90.0, gt=0, le=3600, description="release to credit in Rise")
    credit_expiry_days: int = Field(365, ge=0, description="credits expire this long after issue; 0 = never")
    redeem_share: float = Field(0.85, ge=0, le=1, description="credits the customer spends")
    redeem_delay_days_median: float = Field(35.0, gt=0, le=365, description="issue to first redemption")
    full_spend_share: float = Field(0.5, ge=0, le=1, description="redemptions that use the whole balance")
    second_redeem_share: float = Field(0.35, ge=0, le=1, description="credits spent in a second checkout")
    redemption_refund_share: float = Field(0.04, ge=0, le=1, description="redemptions whose order is refunded")
    other_credit_wallet_share: float = Field(0.06, ge=0, le=1, description="wallets that get a loyalty credit")
    manual_adjustment_share: float = Field(0.02, ge=0, le=1, description="wallets with a manual adjustment")

    # Faults
    clean: bool = Field(False, description="plant no fault at all")
    faults: FaultRates = Field(default_factory=FaultRates)

    @field_validator("currencies")
    @classmethod
    def _known_currencies(cls, value: dict[str, CurrencyMix]) -> dict[str, CurrencyMix]:
        unknown = sorted(c for c in value if c not in CURRENCY_EXPONENTS)
        if unknown:
            raise ValueError(f"unknown currency code(s) {unknown}; known: {sorted(CURRENCY_EXPONENTS)}")
        if not value:
            raise ValueError("at least one currency")
        total = sum(m.customer_share for m in value.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"customer_share must add up to 1 (got {total:g})")
        return value

    @field_validator("credit_expiry_days")
    @classmethod
    def _expiry_after_lifecycle(cls, value: int) -> int:
        # Early credit must still be unexpired when its return is archived or rejected (at most
        # ~50 days after review), so the clawback always finds it whole.
        if 0 < value < 60:
            raise ValueError("must be 0 (never) or at least 60 days")
        return value

    @field_validator("period_end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    @field_validator("bonus_experiment_rates")
    @classmethod
    def _rates(cls, value: list[Decimal]) -> list[Decimal]:
        if any(r < 0 or r > 1 for r in value):
            raise ValueError("experiment rates are fractions between 0 and 1")
        return value

    @model_validator(mode="after")
    def _bonus_rate_sane(self) -> Scenario:
        if self.bonus_type == BonusType.PERCENTAGE and self.bonus_rate > 1:
            raise ValueError("bonus_rate of a percentage bonus is a fraction (0.10 = 10 %)")
        return self

    # Derived values -------------------------------------------------------------------------

    @property
    def integration_active(self) -> bool:
        """Both toggles on and a plan that includes the PostCo workflow."""
        return (self.rise_postco_integration_enabled and self.postco_rise_integration_enabled
                and self.rise_plan in ("premium", "enterprise"))

    @property
    def fault_rates(self) -> FaultRates:
        """The faults to plant: none when ``clean`` or when the integration is off."""
        return self.faults.zeroed() if (self.clean or not self.integration_active) else self.faults

    def usd_in(self, amount_usd: Decimal, currency: str) -> int:
        """A USD-denominated setting in minor units of ``currency`` (half up)."""
        scale = self.currencies[currency].price_scale if currency in self.currencies else Decimal(1)
        frac = Fraction(amount_usd) * Fraction(scale) * 10 ** exponent(currency)
        return round_half_up(frac.numerator, frac.denominator)

    def bonus_min_minor(self, currency: str) -> int:
        """``workflow_bonus_min`` in minor units of ``currency`` (same rule as the reconciler)."""
        frac = Fraction(self.workflow_bonus_min) * 10 ** exponent(currency)
        return round_half_up(frac.numerator, frac.denominator)

    def to_json_dict(self) -> dict[str, Any]:
        """Every setting as plain JSON (decimals as strings), for ``scenario.json``."""
        return self.model_dump(mode="json")


def default_scenario_path() -> Path:
    """The packaged default scenario (a mid-size Shopify apparel shop)."""
    return Path(__file__).resolve().parent.parent / "scenarios" / "default.toml"


def load_scenario(path: str | Path | None = None, **overrides: Any) -> Scenario:
    """Read a scenario TOML file (default: the packaged one) and apply keyword overrides.

    A ``[scenario]`` table is used when present, else the top level. ``None`` overrides are
    ignored. Sub-tables (``[faults]``, ``[choice]``, ``[currencies.USD]``) merge over the file.

    Raises
    ------
    ConfigError
        Listing every invalid or unknown setting at once.

    Example
    -------
    >>> load_scenario(returns_count=500).returns_count
    500
    """
    p = Path(path) if path is not None else default_scenario_path()
    raw = read_toml(p)
    data = dict(raw.get("scenario", raw))
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(str(p), exc)) from None
