"""Which returns the sweep values: a stated distribution, or the rows of a real export.

A :class:`ReturnPopulation` describes a merchant's returns the way a scenario does (value
distribution, refund fee, share of retailer-borne reasons); :func:`draw_returns` draws from it,
or resamples the rows of an export (:class:`~toolkit.tuning.observed.ObservedReturns`) with
replacement. This module owns that drawing; it must never value or choose.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.errors import ConfigError
from toolkit.money import exponent
from toolkit.tuning.observed import ObservedReturns

__all__ = ["DrawnReturns", "ReturnPopulation", "draw_returns", "population_from_scenario"]


class ReturnPopulation(BaseModel):
    """A merchant's returns as a distribution.

    Attributes
    ----------
    currency: ISO 4217 code of every amount.
    value_log_mean, value_log_sd: return value is lognormal in currency units: ``exp(N(mu, sd))``.
        Defaults 3.8 and 0.7 (median 44.70, mean 57.11; ecosystem §4.3).
    refund_fee_minor: fee deducted from a cash refund (0 = no fee), minor units. 70 % of
        merchants charge return fees (Loop 2025), amounts vary; set yours.
    retailer_borne_frac: share of returns whose reason is the merchant's fault (damaged, wrong
        item). [GUESS: 0.20]
    typical_value_minor: the value the choice model's ``log_value_rel`` is measured against;
        default the distribution's median.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: str = "USD"
    value_log_mean: float = 3.8
    value_log_sd: float = Field(0.7, ge=0.0)
    refund_fee_minor: int = Field(0, ge=0)
    retailer_borne_frac: float = Field(0.20, ge=0.0, le=1.0)
    typical_value_minor: float | None = Field(None, gt=0.0)

    def typical(self) -> float:
        """``typical_value_minor``, or the median value in minor units when not set."""
        if self.typical_value_minor is not None:
            return float(self.typical_value_minor)
        return float(np.exp(self.value_log_mean) * 10 ** exponent(self.currency))


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
    fee = np.minimum(np.full(n, population.refund_fee_minor, dtype=np.int64), value)
    borne = (rng.random(n) < population.retailer_borne_frac).astype(float)
    return DrawnReturns(value, fee, borne)


#: Where a simulator scenario keeps what the population needs: our field -> candidate dotted keys.
_SCENARIO_KEYS: dict[str, tuple[str, ...]] = {
    "currency": ("currency", "merchant.currency", "shop.currency"),
    "value_log_mean": ("value_log_mean", "returns.value_log_mean", "orders.value_log_mean"),
    "value_log_sd": ("value_log_sd", "returns.value_log_sd", "orders.value_log_sd"),
    "refund_fee_minor": ("refund_fee_minor", "fees.refund_fee_minor", "returns.refund_fee_minor"),
    "retailer_borne_frac": (
        "retailer_borne_frac", "returns.retailer_borne_frac", "reasons.retailer_borne_frac",
    ),
    "typical_value_minor": ("typical_value_minor", "choice.typical_value_minor"),
}


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def population_from_scenario(path: str | Path) -> ReturnPopulation:
    """The return population a scenario TOML describes; keys it does not set keep our defaults.

    A ``[population]`` table with :class:`ReturnPopulation`'s field names wins over anything else.

    Raises
    ------
    ConfigError
        The file is missing, not TOML, or sets a value out of range (every problem listed).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: scenario file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a TOML file ({exc})") from None
    found: dict[str, Any] = {}
    for name, keys in _SCENARIO_KEYS.items():
        for key in keys:
            value = _lookup(data, key)
            if value is not None:
                found[name] = value
                break
    found.update(data.get("population", {}))
    try:
        return ReturnPopulation(**found)
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{path}: " + "; ".join(lines)) from None
