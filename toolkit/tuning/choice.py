"""The customer's choice at the returns portal: one multinomial logit, used by both the simulator
and the bonus tuning (one model, not two).

Alternatives, in this order everywhere: ``refund`` (to the original payment; the reference,
utility 0), ``store_credit`` (Rise credit plus the bonus) and ``exchange``. Utilities::

    U_credit   = asc_credit   + bonus_coef * bonus_frac + fee_coef * fee_frac
                 + retailer_borne_credit * retailer_borne + value_coef_credit * log_value_rel
    U_exchange = asc_exchange + fee_coef * fee_frac
                 + retailer_borne_exchange * retailer_borne + value_coef_exchange * log_value_rel

``bonus_frac`` is the bonus as a share of the return's value (a 10 % bonus is 0.10; a fixed 5.00
on a 50.00 return is also 0.10). ``fee_frac`` is the fee charged on a cash refund as a share of the
value (merchants waive it for credit and exchange, so it pushes away from refund).
``retailer_borne`` is 1 when the reason is the merchant's fault (defective, wrong item).
``log_value_rel`` is ``log(value / typical value in that currency)``.

This module owns the utilities, the probabilities and the draw; it must never know about
money formats, files or the economics of a bonus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

__all__ = ["CHOICES", "ChoiceCoefficients", "ChoiceFeatures", "choice_probabilities", "draw_choices"]

#: The alternatives, in column order of every probability array.
CHOICES: tuple[str, str, str] = ("refund", "store_credit", "exchange")
REFUND, STORE_CREDIT, EXCHANGE = 0, 1, 2


class ChoiceCoefficients(BaseModel):
    """Coefficients of the logit. Defaults are assumptions derived from published priors.

    With no bonus and no fee, a typical customer-borne return splits about 76 % refund,
    7 % store credit and 17 % exchange (Loop 2025, US: exchange adoption 17.1 %, refund ratio
    ~76 %; store credit share 5-10 % is a derived guess). A 10 % bonus then moves roughly a tenth
    of refunders to credit (Loop: a Shop-Now bonus plus a handling fee shift ~20 % of refunds,
    about half of it the bonus). Fees act like half a bonus of the same size. Defects push toward
    refund; higher values push slightly toward refund. All are assumptions until calibrated.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    asc_credit: float = -2.38
    asc_exchange: float = -1.50
    bonus_coef: float = 8.0
    fee_coef: float = 4.0
    retailer_borne_credit: float = -0.5
    retailer_borne_exchange: float = -0.3
    value_coef_credit: float = -0.3
    value_coef_exchange: float = -0.2

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, n) for n in type(self).model_fields], dtype=float)

    @classmethod
    def from_array(cls, values: np.ndarray) -> ChoiceCoefficients:
        return cls(**dict(zip(cls.model_fields, (float(v) for v in values), strict=True)))


@dataclass(frozen=True)
class ChoiceFeatures:
    """What drives one customer's choice; arrays of equal length, one entry per return.

    Attributes
    ----------
    bonus_frac: bonus offered for taking credit, as a share of the return value.
    fee_frac: fee on a cash refund, as a share of the return value.
    retailer_borne: 1.0 when the reason is the merchant's fault, else 0.0.
    log_value_rel: log of the return value over the typical value in its currency.
    """

    bonus_frac: np.ndarray
    fee_frac: np.ndarray
    retailer_borne: np.ndarray
    log_value_rel: np.ndarray

    def __len__(self) -> int:
        return len(self.bonus_frac)


def utilities(coefs: ChoiceCoefficients, x: ChoiceFeatures) -> np.ndarray:
    """Systematic utilities, shape ``(n, 3)``, refund column all zeros."""
    u = np.zeros((len(x), 3))
    u[:, STORE_CREDIT] = (
        coefs.asc_credit + coefs.bonus_coef * x.bonus_frac + coefs.fee_coef * x.fee_frac
        + coefs.retailer_borne_credit * x.retailer_borne
        + coefs.value_coef_credit * x.log_value_rel
    )
    u[:, EXCHANGE] = (
        coefs.asc_exchange + coefs.fee_coef * x.fee_frac
        + coefs.retailer_borne_exchange * x.retailer_borne
        + coefs.value_coef_exchange * x.log_value_rel
    )
    return u


def choice_probabilities(coefs: ChoiceCoefficients, x: ChoiceFeatures) -> np.ndarray:
    """Logit probabilities, shape ``(n, 3)`` in :data:`CHOICES` order; rows sum to one.

    >>> x = ChoiceFeatures(*(np.zeros(1) for _ in range(4)))
    >>> p = choice_probabilities(ChoiceCoefficients(), x)
    >>> [round(float(v), 2) for v in p[0]]
    [0.76, 0.07, 0.17]
    """
    u = utilities(coefs, x)
    u -= u.max(axis=1, keepdims=True)
    e = np.exp(u)
    return e / e.sum(axis=1, keepdims=True)


def draw_choices(probabilities: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Choice index per row by inverse CDF on given uniforms (common random numbers friendly).

    Passing the same ``uniforms`` for every bonus level makes differences between levels come
    from the bonus alone, not from fresh noise.
    """
    cdf = np.cumsum(probabilities, axis=1)
    return (uniforms[:, None] >= cdf[:, :-1]).sum(axis=1).astype(np.int8)
