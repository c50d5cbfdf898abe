"""Fitting the choice model to a PostCo export by maximum likelihood.

The log-likelihood and its analytic gradient and Hessian live in :mod:`toolkit.tuning.choice`;
this module selects what the data can identify, maximises, and reports standard errors from the
inverse of the observed information (minus the Hessian at the optimum). A coefficient the data
cannot pin down (one bonus level only, no fees, no retailer-borne reasons, an alternative never
chosen, or collinear columns) is *not* estimated: it keeps its prior value and is listed in
``not_identified`` with the reason, rather than coming back as a confident-looking number.

This module owns estimation; it must never value a bonus or sweep levels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from toolkit.tuning.choice import (
    CHOICES,
    COEFFICIENT_NAMES,
    ChoiceCoefficients,
    design,
    log_likelihood,
    log_likelihood_hessian,
)
from toolkit.tuning.observed import ObservedReturns, observed_returns

__all__ = ["Calibration", "PRIOR_SD", "fit_choice_model"]

#: Prior standard deviations of the default coefficients: how unsure the published priors leave
#: us. ``bonus_coef`` 8 ± 3 spans "a 10 % bonus moves 4 % to 12 % of refunders".
PRIOR_SD: dict[str, float] = {
    "asc_credit": 0.30,
    "asc_exchange": 0.20,
    "bonus_coef": 3.0,
    "fee_coef": 2.0,
    "retailer_borne_credit": 0.25,
    "retailer_borne_exchange": 0.25,
    "value_coef_credit": 0.15,
    "value_coef_exchange": 0.15,
}

_ALTERNATIVE_TERMS = {
    1: ("asc_credit", "bonus_coef", "retailer_borne_credit", "value_coef_credit"),
    2: ("asc_exchange", "retailer_borne_exchange", "value_coef_exchange"),
}
_ASC_OF = {
    "asc_credit": (), "asc_exchange": (),
    "bonus_coef": ("asc_credit",), "fee_coef": ("asc_credit", "asc_exchange"),
    "retailer_borne_credit": ("asc_credit",), "retailer_borne_exchange": ("asc_exchange",),
    "value_coef_credit": ("asc_credit",), "value_coef_exchange": ("asc_exchange",),
}
_COLUMN_OF = {
    "bonus_coef": ("bonus_frac", "only one bonus level was offered"),
    "fee_coef": ("fee_frac", "every return had the same fee share"),
    "retailer_borne_credit": ("retailer_borne", "no mix of retailer- and customer-borne reasons"),
    "retailer_borne_exchange": ("retailer_borne", "no mix of retailer- and customer-borne reasons"),
    "value_coef_credit": ("log_value_rel", "every return had the same value"),
    "value_coef_exchange": ("log_value_rel", "every return had the same value"),
}


@dataclass(frozen=True)
class Calibration:
    """The fitted choice model and how sure we are of it.

    Attributes
    ----------
    coefficients: maximum-likelihood estimates; not-identified ones hold their prior value.
    standard_errors: per coefficient, from the inverse observed information; ``None`` when not
        identified.
    covariance: ``K x K`` covariance of the estimates (rows/columns of not-identified ones are 0).
    not_identified: coefficient -> why the data cannot estimate it.
    log_likelihood: at the estimates. ``null_log_likelihood``: equal shares, for comparison.
    n_used: decided returns used. ``skipped``: returns left out, by reason.
    choice_counts: decided returns per alternative.
    bonus_levels: distinct bonus levels offered (the stated percentage rate where the export has
        one, else the bonus share; rounded to 0.1 %), with their counts.
    typical_value_minor: the value ``log_value_rel`` is measured against.
    currency: the export's currency. ``converged``: the optimiser's verdict.
    """

    coefficients: ChoiceCoefficients
    standard_errors: dict[str, float | None]
    covariance: np.ndarray
    not_identified: dict[str, str]
    log_likelihood: float
    null_log_likelihood: float
    n_used: int
    skipped: dict[str, int]
    choice_counts: dict[str, int]
    bonus_levels: dict[str, int]
    typical_value_minor: float
    currency: str
    converged: bool
    prior_sd: dict[str, float] = field(default_factory=lambda: dict(PRIOR_SD))
    constant_terms: dict[str, float] = field(default_factory=dict)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` coefficient vectors, shape ``(n, K)``: identified ones jointly normal with the
        estimated covariance, the others from their prior normal."""
        mean = self.coefficients.as_array()
        draws = rng.multivariate_normal(mean, self.covariance, size=n, method="eigh")
        names = list(COEFFICIENT_NAMES)
        for i, name in enumerate(names):
            if name in self.not_identified:
                draws[:, i] = mean[i] + self.prior_sd[name] * rng.standard_normal(n)
                # A term that was constant in the data was absorbed by the constants: keep the
                # utility the data did see, so only what the data never saw is uncertain.
                shift = (draws[:, i] - mean[i]) * self.constant_terms.get(name, 0.0)
                for asc in _ASC_OF[name]:
                    draws[:, names.index(asc)] -= shift
        return draws

    def sd(self) -> np.ndarray:
        """Uncertainty per coefficient: its standard error, or its prior sd when not identified."""
        return np.array([
            self.standard_errors[n] if self.standard_errors[n] is not None else self.prior_sd[n]
            for n in COEFFICIENT_NAMES
        ])

    def table(self) -> pd.DataFrame:
        """One row per coefficient: estimate, standard error, identified, why not."""
        est = self.coefficients.as_array()
        return pd.DataFrame({
            "coefficient": list(COEFFICIENT_NAMES),
            "estimate": est,
            "standard_error": [self.standard_errors[n] for n in COEFFICIENT_NAMES],
            "identified": [n not in self.not_identified for n in COEFFICIENT_NAMES],
            "note": [self.not_identified.get(n, "") for n in COEFFICIENT_NAMES],
        })

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (floats rounded to 6 decimals for stable bytes)."""
        return {
            "coefficients": {k: round(v, 6) for k, v in self.coefficients.model_dump().items()},
            "standard_errors": {
                k: (None if v is None else round(v, 6)) for k, v in self.standard_errors.items()
            },
            "not_identified": dict(self.not_identified),
            "log_likelihood": round(self.log_likelihood, 4),
            "null_log_likelihood": round(self.null_log_likelihood, 4),
            "n_used": self.n_used,
            "skipped": dict(self.skipped),
            "choice_counts": dict(self.choice_counts),
            "bonus_levels": dict(self.bonus_levels),
            "typical_value_minor": round(self.typical_value_minor, 4),
            "currency": self.currency,
            "converged": self.converged,
        }


def _unidentified(z: np.ndarray, chosen: np.ndarray, cols: dict[str, np.ndarray]) -> dict[str, str]:
    why: dict[str, str] = {}
    counts = np.bincount(chosen, minlength=3)
    if counts[0] == 0:
        for alt_terms in _ALTERNATIVE_TERMS.values():
            for name in alt_terms:
                why[name] = "no customer chose a refund (the reference)"
        why["fee_coef"] = "no customer chose a refund (the reference)"
    for alt, terms in _ALTERNATIVE_TERMS.items():
        if counts[alt] == 0:
            for name in terms:
                why.setdefault(name, f"no customer chose {CHOICES[alt]}")
    for name, (column, reason) in _COLUMN_OF.items():
        values = cols[column]
        if name not in why and (len(values) == 0 or np.ptp(values) < 1e-12):
            why[name] = reason
    return why


def _collinear(hessian: np.ndarray, free: list[str]) -> dict[str, str]:
    """Coefficients spanning a (near) null direction of the information: not separately known."""
    info = -hessian
    scale = np.sqrt(np.clip(np.diag(info), 1e-300, None))
    corr = info / np.outer(scale, scale)
    values, vectors = np.linalg.eigh(corr)
    why: dict[str, str] = {}
    for value, vector in zip(values, vectors.T, strict=True):
        if value < 1e-8:
            involved = [free[i] for i in np.flatnonzero(np.abs(vector) > 0.3)]
            for name in involved:
                others = ", ".join(o for o in involved if o != name)
                why[name] = f"collinear with {others} in this data"
    return why


def fit_choice_model(
    export: str | Path | pd.DataFrame | ObservedReturns,
    *,
    prior: ChoiceCoefficients | None = None,
    typical_value_minor: float | None = None,
) -> Calibration:
    """Fit the choice model to the decided returns of a PostCo export.

    Parameters
    ----------
    export: path to ``postco_returns.csv``, its rows as a text DataFrame, or already reduced
        :class:`~toolkit.tuning.observed.ObservedReturns`.
    prior: starting values, and the values kept for coefficients the data cannot identify
        (default: :class:`ChoiceCoefficients` defaults).
    typical_value_minor: value that ``log_value_rel`` is measured against; default the median
        value of the export's returns. Use the same value when sweeping with the result.

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        The export cannot be read (see :func:`~toolkit.tuning.observed.observed_returns`).

    Example
    -------
    >>> cal = fit_choice_model("data/demo/simulation/postco_returns.csv")  # doctest: +SKIP
    >>> cal.table()  # doctest: +SKIP
    """
    obs = export if isinstance(export, ObservedReturns) else observed_returns(export)
    prior = prior or ChoiceCoefficients()
    typical = float(typical_value_minor or (np.median(obs.value_minor) if len(obs) else 1.0))
    decided = obs.chosen >= 0
    x = obs.features(typical, decided_only=True)
    chosen = obs.chosen[decided].astype(np.intp)
    z = design(x)
    cols = {"bonus_frac": x.bonus_frac, "fee_frac": x.fee_frac,
            "retailer_borne": x.retailer_borne, "log_value_rel": x.log_value_rel}
    names = list(COEFFICIENT_NAMES)
    why = _unidentified(z, chosen, cols) if len(chosen) else {n: "no decided returns" for n in names}
    beta0 = prior.as_array()
    k = len(names)

    def solve(free_names: list[str]) -> tuple[np.ndarray, np.ndarray, bool]:
        idx = [names.index(n) for n in free_names]
        beta = beta0.copy()
        if not idx:
            return beta, np.zeros((0, 0)), True

        def full(b: np.ndarray) -> np.ndarray:
            out = beta0.copy()
            out[idx] = b
            return out

        def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = log_likelihood(full(b), z, chosen)
            return -ll, -grad[idx]

        def hess(b: np.ndarray) -> np.ndarray:
            return -log_likelihood_hessian(full(b), z)[np.ix_(idx, idx)]

        res = minimize(objective, beta0[idx], jac=True, hess=hess, method="trust-exact",
                       options={"gtol": 1e-8, "maxiter": 200})
        beta = full(res.x)
        # trust-exact can stop at the limit of float precision with "a bad approximation caused
        # failure to predict improvement" although the gradient is ~0: that is a maximum too.
        converged = bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-6
        return beta, log_likelihood_hessian(beta, z)[np.ix_(idx, idx)], converged

    free = [n for n in names if n not in why]
    beta, hessian, converged = solve(free)
    if free:
        extra = _collinear(hessian, free)
        if extra:
            why.update(extra)
            free = [n for n in names if n not in why]
            beta, hessian, converged = solve(free)

    covariance = np.zeros((k, k))
    ses: dict[str, float | None] = {n: None for n in names}
    if free:
        idx = [names.index(n) for n in free]
        cov_free = np.linalg.inv(-hessian)
        covariance[np.ix_(idx, idx)] = (cov_free + cov_free.T) / 2
        for n, i in zip(free, idx, strict=True):
            ses[n] = float(np.sqrt(max(covariance[i, i], 0.0)))
    ll = log_likelihood(beta, z, chosen)[0] if len(chosen) else 0.0
    # The experiment's arms: the stated percentage rate where there is one (the bonus share itself
    # varies with each return's tax and caps), else the bonus share.
    arms = x.bonus_frac if obs.bonus_rate is None else np.where(
        obs.bonus_rate[decided] > 0, obs.bonus_rate[decided], x.bonus_frac)
    levels = pd.Series(np.round(arms * 100, 1)).value_counts().sort_index()
    if len(levels) > 20:  # fixed bonuses give a share per value: summarise, do not list
        levels = pd.Series(np.round(x.bonus_frac * 100, 0)).value_counts().sort_index().head(20)
    return Calibration(
        coefficients=ChoiceCoefficients.from_array(beta),
        standard_errors=ses,
        covariance=covariance,
        not_identified={n: why[n] for n in names if n in why},
        log_likelihood=float(ll),
        null_log_likelihood=float(len(chosen) * np.log(1 / 3)),
        n_used=int(len(chosen)),
        skipped=dict(obs.skipped),
        choice_counts={c: int((chosen == i).sum()) for i, c in enumerate(CHOICES)},
        bonus_levels={f"{lvl:g}%": int(c) for lvl, c in levels.items()},
        typical_value_minor=typical,
        currency=obs.currency,
        converged=converged,
        constant_terms={
            n: float(cols[c][0]) for n, (c, _) in _COLUMN_OF.items()
            if n in why and len(cols[c]) and np.ptp(cols[c]) < 1e-12
        },
    )
