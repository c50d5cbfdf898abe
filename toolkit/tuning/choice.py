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
``log_value_rel`` is ``log(value / typical value in that currency)``, the typical value being
:data:`TYPICAL_VALUE_USD` scaled to the currency (:func:`typical_value_minor`): the simulator draws
choices and the sweep predicts them against the same value, so the constants mean the same thing
in both.

This module owns the utilities, the probabilities and the draw; it must never know about
money formats, files or the economics of a bonus.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
from pydantic import BaseModel, ConfigDict

from toolkit.money import exponent, round_half_up

__all__ = [
    "CHOICES",
    "COEFFICIENT_NAMES",
    "TYPICAL_VALUE_USD",
    "ChoiceCoefficients",
    "ChoiceFeatures",
    "choice_probabilities",
    "design",
    "draw_choices",
    "log_likelihood",
    "log_likelihood_hessian",
    "typical_value_minor",
]

#: The alternatives, in column order of every probability array.
CHOICES: tuple[str, str, str] = ("refund", "store_credit", "exchange")
REFUND, STORE_CREDIT, EXCHANGE = 0, 1, 2

#: The return value at which ``log_value_rel`` is 0, in USD: the constants ``asc_credit`` and
#: ``asc_exchange`` describe a return of this value. About the median return of the simulator's
#: default apparel shop (USD median ~72 with tax, ~60 before discounts and tax); one definition for
#: the simulator, the sweep and the calibration.
TYPICAL_VALUE_USD = Decimal(60)


def typical_value_minor(currency: str, price_scale: Decimal | str | int = 1) -> int:
    """:data:`TYPICAL_VALUE_USD` in minor units of ``currency``, priced with ``price_scale``
    (the price of one USD-priced item in that currency, as a scenario states it), half up.

    >>> typical_value_minor("USD"), typical_value_minor("JPY", 150), typical_value_minor("CAD", "1.35")
    (6000, 9000, 8100)
    """
    frac = Fraction(TYPICAL_VALUE_USD) * Fraction(Decimal(str(price_scale))) * 10 ** exponent(currency)
    return round_half_up(frac.numerator, frac.denominator)


class ChoiceCoefficients(BaseModel):
    """Coefficients of the logit. Defaults are assumptions derived from published priors.

    With no bonus and no fee, a typical customer-borne return splits about 76 % refund,
    7 % store credit and 17 % exchange (Loop 2025, US: exchange adoption 17.1 %, refund ratio
    ~76 %; store credit share 5-10 % is a derived guess). A 10 % bonus then moves about 8 % of
    refunders to credit (Loop: a Shop-Now bonus plus a handling fee cut refunds by ~20 %, the
    bonus 5-10 points of that; 5 % / 10 % would mean ``bonus_coef`` 5.5 / 9.4). Fees act like half a bonus of the same size. Defects push toward
    refund; higher values push slightly toward refund. All are assumptions until calibrated.

    Derivation (typical return: no bonus, no fee, customer-borne, typical value):
    ``P = (1, e^asc_credit, e^asc_exchange) / sum``; ``e^-2.38 = 0.093`` and ``e^-1.50 = 0.223``
    give ``(0.760, 0.070, 0.170)``. With ``bonus_coef = 8`` a 10 % bonus multiplies the credit
    odds by ``e^0.8 = 2.23``: refund falls from 76.0 % to 70.0 % (8 % of refunders move), credit
    rises to 14.4 %, about half of Loop's ~20 % bonus-plus-fee shift. The point elasticity of
    uptake at 10 % is ``8 x 0.10 x (1 - 0.144) = 0.68``. ``fee_coef = bonus_coef / 2``.
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
        """The coefficients as a float array in field (:data:`COEFFICIENT_NAMES`) order."""
        return np.array([getattr(self, n) for n in type(self).model_fields], dtype=float)

    @classmethod
    def from_array(cls, values: np.ndarray) -> ChoiceCoefficients:
        """Inverse of :meth:`as_array`."""
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


# --- Estimation: log-likelihood, gradient and Hessian of the logit --------------------------------

#: Coefficient names in :meth:`ChoiceCoefficients.as_array` order.
COEFFICIENT_NAMES: tuple[str, ...] = tuple(ChoiceCoefficients.model_fields)


def design(x: ChoiceFeatures) -> np.ndarray:
    """Attributes of every alternative, shape ``(n, 3, K)``: ``utilities = design @ coefficients``.

    Row ``[i, j]`` holds what multiplies each coefficient in alternative ``j``'s utility; the refund
    row is all zeros because refund is the reference.
    """
    n = len(x)
    k = {name: i for i, name in enumerate(COEFFICIENT_NAMES)}
    z = np.zeros((n, 3, len(COEFFICIENT_NAMES)))
    z[:, STORE_CREDIT, k["asc_credit"]] = 1.0
    z[:, STORE_CREDIT, k["bonus_coef"]] = x.bonus_frac
    z[:, STORE_CREDIT, k["fee_coef"]] = x.fee_frac
    z[:, STORE_CREDIT, k["retailer_borne_credit"]] = x.retailer_borne
    z[:, STORE_CREDIT, k["value_coef_credit"]] = x.log_value_rel
    z[:, EXCHANGE, k["asc_exchange"]] = 1.0
    z[:, EXCHANGE, k["fee_coef"]] = x.fee_frac
    z[:, EXCHANGE, k["retailer_borne_exchange"]] = x.retailer_borne
    z[:, EXCHANGE, k["value_coef_exchange"]] = x.log_value_rel
    return z


def _probabilities_from_design(beta: np.ndarray, z: np.ndarray) -> np.ndarray:
    u = z @ beta
    u -= u.max(axis=1, keepdims=True)
    e = np.exp(u)
    return e / e.sum(axis=1, keepdims=True)


def log_likelihood(beta: np.ndarray, z: np.ndarray, chosen: np.ndarray) -> tuple[float, np.ndarray]:
    """Log-likelihood of observed choices and its analytic gradient.

    Parameters
    ----------
    beta: coefficients in :data:`COEFFICIENT_NAMES` order.
    z: attributes from :func:`design`, shape ``(n, 3, K)``.
    chosen: index of the chosen alternative per row (0 refund, 1 store credit, 2 exchange).

    Returns
    -------
    (ll, gradient): ``sum_i log P_i(chosen_i)`` and ``sum_i (z_i,chosen - sum_j P_ij z_ij)``.

    Example
    -------
    >>> x = ChoiceFeatures(*(np.zeros(2) for _ in range(4)))
    >>> ll, g = log_likelihood(np.zeros(8), design(x), np.array([0, 1]))
    >>> bool(round(ll, 4) == round(2 * float(np.log(1 / 3)), 4))
    True
    """
    u = z @ beta
    u_max = u.max(axis=1, keepdims=True)
    e = np.exp(u - u_max)
    total = e.sum(axis=1)
    rows = np.arange(len(chosen))
    ll = float((u[rows, chosen] - u_max[:, 0] - np.log(total)).sum())
    p = e / total[:, None]
    expected = np.einsum("nj,njk->nk", p, z)
    gradient = (z[rows, chosen, :] - expected).sum(axis=0)
    return ll, gradient


def log_likelihood_hessian(beta: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Analytic Hessian of :func:`log_likelihood` (negative semi-definite; it does not depend on
    the observed choices): ``-sum_i sum_j P_ij (z_ij - zbar_i)(z_ij - zbar_i)^T``."""
    p = _probabilities_from_design(beta, z)
    zbar = np.einsum("nj,njk->nk", p, z)
    dz = z - zbar[:, None, :]
    return -np.einsum("nj,njk,njl->kl", p, dz, dz)
