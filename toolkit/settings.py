"""Reconciliation settings: the contract's settings table as one frozen pydantic model.

Settings come from defaults, then a TOML file, then command-line flags (later wins). Every
problem in a file is reported at once as a :class:`~toolkit.errors.ConfigError`.
This module validates and converts; it must never read exports or compute breaks.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolkit.errors import ConfigError
from toolkit.money import exponent, round_half_up

__all__ = ["ColumnMap", "ReconcileSettings", "load_settings", "read_toml", "validation_message"]


class ColumnMap(BaseModel):
    """Header aliases for exports from other tools: ``{"their header": "our column"}`` per file.

    Matching is case-insensitive with spaces, dashes and underscores alike, as for our own names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    returns: dict[str, str] = Field(default_factory=dict)
    ledger: dict[str, str] = Field(default_factory=dict)
    notifications: dict[str, str] = Field(default_factory=dict)


class ReconcileSettings(BaseModel):
    """What the Rise workflow is supposed to do, and how strictly to hold it to that.

    Attributes
    ----------
    credit_pct: percent of ``store_credit_amount`` the workflow issues as refund credit.
    bonus_pct: percent of ``bonus_credit_amount`` issued on the bonus branch.
    bonus_min: the bonus branch runs only when ``bonus_credit_amount`` >= this, in currency units.
    amount_tolerance: allowed absolute difference, in minor units of the return's currency.
    issue_window_hours: a credit is due within this many hours after its release time.
    as_of: the moment described; ``None`` = the latest timestamp in the returns and the ledger.
    timezone: merchant reporting zone (IANA name), also the zone of naive timestamps.
    postco_workflow_id: ``issuer_id`` of the PostCo workflow in Rise.
    columns: header aliases for other exports.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    credit_pct: Decimal = Decimal(100)
    bonus_pct: Decimal = Decimal(100)
    bonus_min: Decimal = Decimal("1.00")
    amount_tolerance: int = Field(default=0, ge=0)
    issue_window_hours: int = Field(default=72, ge=0)
    as_of: datetime | None = None
    timezone: str = "UTC"
    postco_workflow_id: str = "postco"
    columns: ColumnMap = Field(default_factory=ColumnMap)

    @field_validator("credit_pct", "bonus_pct", "bonus_min")
    @classmethod
    def _non_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def bonus_min_minor(self, currency: str) -> int:
        """``bonus_min`` in minor units of ``currency`` (rounded half up to its precision)."""
        frac = Fraction(self.bonus_min) * 10 ** exponent(currency)
        return round_half_up(frac.numerator, frac.denominator)

    def to_json_dict(self) -> dict[str, Any]:
        """Settings as plain JSON values (decimals as strings), for ``summary.json``."""
        return self.model_dump(mode="json")


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning a syntax error into a :class:`ConfigError` naming the file."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None


def validation_message(source: str, exc: ValidationError) -> str:
    """Every problem pydantic found in ``source``, one line each, for a :class:`ConfigError`."""
    lines = [f"{source}: {len(exc.errors())} problem(s)"]
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        lines.append(f"  {loc}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def load_settings(
    path: str | Path | None = None, **overrides: Any
) -> ReconcileSettings:
    """Build settings from defaults, an optional TOML file and keyword overrides (flags).

    A ``[reconcile]`` table is used when present, else the file's top level. ``None`` overrides
    are ignored, so unset command-line flags keep the file's value.

    Raises
    ------
    ConfigError
        Listing every invalid or unknown setting at once.

    Example
    -------
    >>> load_settings(None, issue_window_hours=48).issue_window_hours
    48
    """
    data: dict[str, Any] = {}
    source = "settings"
    if path is not None:
        raw = read_toml(path)
        data = dict(raw.get("reconcile", raw))
        source = str(path)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ReconcileSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(source, exc)) from None
