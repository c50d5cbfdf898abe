"""Which returns the sweep values: a stated distribution, or the rows of a real export.

A :class:`ReturnPopulation` describes a merchant's returns as a distribution (value, refund fee,
share of retailer-borne reasons); :func:`draw_returns` draws from it, or resamples rows with
replacement (:class:`~toolkit.tuning.observed.ObservedReturns`): the rows of a PostCo export, or a
simulator scenario's return requests (:func:`population_from_scenario`, drawn by the simulator
itself, so there is one population model, not two). This module owns that drawing; it must never
value or choose.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from toolkit.errors import ConfigError
from toolkit.money import exponent
from toolkit.tuning.choice import CHOICES, ChoiceCoefficients, typical_value_minor
from toolkit.tuning.observed import ObservedReturns

__all__ = [
    "DrawnReturns",
    "ReturnPopulation",
    "SCENARIO_ECONOMICS",
    "ScenarioInputs",
    "draw_returns",
    "observed_from_requests",
    "population_from_scenario",
]


class ReturnPopulation(BaseModel):
    """A merchant's returns as a distribution. Defaults describe the simulator's default shop
    (``toolkit/scenarios/default.toml``) in USD, so that a sweep without inputs values the same
    merchant that ``toolkit simulate`` and ``toolkit demo`` simulate.

    Attributes
    ----------
    currency: ISO 4217 code of every amount.
    value_log_mean, value_log_sd: return value is lognormal in currency units: ``exp(N(mu, sd))``.
        Defaults 4.18 and 0.81: the log-mean and log-sd of the simulator's default shop's USD
        returns (100,000 simulated: median 70.73, mean 87.83 with tax). The research toy used 3.8
        and 0.7 (ecosystem §4.3).
    refund_fee_minor: fee deducted from a cash refund of a customer-borne return (0 = no fee),
        minor units; merchant-fault returns carry none. Default 595: the simulator's default shop
        charges 5.95; 70 % of merchants charge return fees (Loop 2025, domain §6). Set yours.
    retailer_borne_frac: share of returns whose reason is the merchant's fault (damaged, wrong
        item). Default 0.22, as the simulator's default shop. [GUESS]
    price_scale: the price of a one-USD item in ``currency`` (1.35 for CAD, 150 for JPY): scales
        the choice model's typical value (:func:`~toolkit.tuning.choice.typical_value_minor`).
    typical_value_minor: the value the choice model's ``log_value_rel`` is measured against;
        default :data:`~toolkit.tuning.choice.TYPICAL_VALUE_USD` in ``currency`` at
        ``price_scale``, the value the simulator uses.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: str = "USD"
    value_log_mean: float = 4.18
    value_log_sd: float = Field(0.81, ge=0.0)
    refund_fee_minor: int = Field(595, ge=0)
    retailer_borne_frac: float = Field(0.22, ge=0.0, le=1.0)
    price_scale: float = Field(1.0, gt=0.0)
    typical_value_minor: float | None = Field(None, gt=0.0)

    def typical(self) -> float:
        """``typical_value_minor``, or the shared typical value in this currency when not set."""
        if self.typical_value_minor is not None:
            return float(self.typical_value_minor)
        return float(typical_value_minor(self.currency, Decimal(str(self.price_scale))))


@dataclass(frozen=True)
class DrawnReturns:
    """One sample of returns: ``value_minor`` and ``fee_minor`` (int64), ``retailer_borne``."""

    value_minor: np.ndarray
    fee_minor: np.ndarray
    retailer_borne: np.ndarray


def draw_returns(
    population: ReturnPopulation | ObservedReturns, rng: np.random.Generator, n: int
) -> DrawnReturns:
    """``n`` returns from a distribution, or resampled with replacement from an export's rows.

    >>> d = draw_returns(ReturnPopulation(), np.random.default_rng(0), 3)
    >>> d.value_minor.dtype.name, len(d.fee_minor)
    ('int64', 3)
    """
    if isinstance(population, ObservedReturns):
        pick = rng.integers(0, len(population), size=n)
        return DrawnReturns(
            population.value_minor[pick], population.fee_minor[pick],
            population.retailer_borne[pick],
        )
    scale = 10 ** exponent(population.currency)
    major = np.exp(population.value_log_mean + population.value_log_sd * rng.standard_normal(n))
    # A drawn value becomes whole minor units (values are positive: floor(x + 0.5) is half up);
    # at least one minor unit so that fee and bonus shares stay finite.
    value = np.maximum(np.floor(major * scale + 0.5), 1).astype(np.int64)
    borne = (rng.random(n) < population.retailer_borne_frac).astype(float)
    # Merchants do not charge a fee when the return is their fault (PostCo: retailer-borne reasons).
    fee = np.where(borne == 1.0, 0, np.minimum(population.refund_fee_minor, value)).astype(np.int64)
    return DrawnReturns(value, fee, borne)


#: Scenario settings that are also economics of a bonus: Economics field -> how it is read.
SCENARIO_ECONOMICS = {
    "redemption_frac": "redeem_share (share of credits the customer spends)",
    "days_to_redeem": "redeem_delay_days_median (issue to first redemption)",
    "days_to_breakage": "credit_expiry_days (when credits expire; unchanged when 0 = never)",
}


def _choice_index(choice: pd.Series) -> np.ndarray:
    codes = {name: i for i, name in enumerate(CHOICES)}
    return choice.astype(str).map(lambda c: codes.get(c, -1)).to_numpy(dtype=np.int8)


def observed_from_requests(requests: pd.DataFrame, scenario: Any) -> ObservedReturns:
    """The simulator's return requests (``Simulation.requests``) as the rows a sweep resamples.

    Keeps the most common currency and positive values; per return the value, the fee a cash
    refund would carry (``fee_offered_minor``), the reason class, the bonus offered as a share of
    the value and the choice drawn. ``typical_value_minor`` is the shared typical value at the
    scenario's price scale for that currency, exactly what the simulator drew choices against.
    """
    counts = requests["currency"].astype(str).value_counts()
    currency = str(counts.index[0])
    in_main = (requests["currency"].astype(str) == currency).to_numpy()
    value_all = requests["value_minor"].to_numpy(dtype=np.int64)
    keep = in_main & (value_all > 0)
    r = requests.loc[keep]
    value = r["value_minor"].to_numpy(dtype=np.int64)
    offered = r["bonus_offered_minor"].to_numpy(dtype=float)
    rate = r["bonus_rate"].to_numpy(dtype=float)
    pct = (r["bonus_type"].astype(str) == "percentage").to_numpy() & (rate > 0) & (offered > 0)
    base_share = float(np.median(offered[pct] / (rate[pct] * value[pct]))) if pct.any() else 1.0
    mix = scenario.currencies.get(currency)
    typical = typical_value_minor(currency, mix.price_scale if mix is not None else 1)
    return ObservedReturns(
        currency=currency,
        value_minor=value,
        fee_minor=np.minimum(r["fee_offered_minor"].to_numpy(dtype=np.int64), value),
        retailer_borne=r["retailer_borne"].to_numpy(dtype=float),
        bonus_frac=offered / value,
        chosen=_choice_index(r["choice"]),
        skipped={"other currency": int((~in_main).sum()),
                 "zero value": int((in_main & (value_all <= 0)).sum())},
        bonus_base_share=base_share,
        typical_value_minor=float(typical),
        offered_columns=("bonus_offered_amount", "fee_offered_amount"),
        origin="scenario",
        bonus_rate=np.where(r["bonus_type"].astype(str).to_numpy() == "percentage", rate, 0.0),
    )


@dataclass(frozen=True)
class ScenarioInputs:
    """What a simulator scenario says about a bonus sweep.

    Attributes
    ----------
    population: the scenario's return requests as the simulator draws them (resampled by the
        sweep), with the simulator's typical value.
    coefficients: the scenario's choice coefficients (``[choice]``; the shared defaults when the
        scenario does not set them).
    economics: :class:`~toolkit.tuning.economics.Economics` fields the scenario states
        (:data:`SCENARIO_ECONOMICS`).
    """

    population: ObservedReturns
    coefficients: ChoiceCoefficients
    economics: dict[str, float]


def population_from_scenario(path: str | Path, *, max_returns: int = 50_000) -> ScenarioInputs:
    """Simulate a scenario's return requests and take them as the population to value.

    One population model: the returns (values, currencies, reasons, fees offered) are drawn by
    :func:`toolkit.simulate.simulate_returns` itself, with faults switched off (they change what
    Rise issues, not what customers are offered) and at most ``max_returns`` requests.

    Raises
    ------
    ConfigError
        The file is missing or not a valid scenario (every problem listed, by the simulator).

    Example
    -------
    >>> inputs = population_from_scenario("toolkit/scenarios/default.toml")  # doctest: +SKIP
    >>> inputs.population.currency, inputs.economics["redemption_frac"]  # doctest: +SKIP
    ('USD', 0.85)
    """
    from toolkit.simulate import load_scenario, simulate_returns

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: scenario file not found")
    scenario = load_scenario(path)
    sim = simulate_returns(scenario, returns=min(scenario.returns_count, max_returns), clean=True)
    economics: dict[str, float] = {
        "redemption_frac": float(scenario.redeem_share),
        "days_to_redeem": float(scenario.redeem_delay_days_median),
    }
    if scenario.credit_expiry_days > 0:
        economics["days_to_breakage"] = float(scenario.credit_expiry_days)
    return ScenarioInputs(observed_from_requests(sim.requests, scenario), scenario.choice, economics)
