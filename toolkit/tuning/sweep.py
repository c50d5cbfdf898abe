"""The bonus sweep: what each bonus level costs, retains and earns, with bands that say how sure.

Two computations of the same quantities:

- **Closed form** (expected values at the point coefficients): per return, the logit
  probabilities times the outcome values of :mod:`~toolkit.tuning.economics`, averaged over a
  large fixed sample of returns. Smooth in the bonus, so the optimum is found with
  ``scipy.optimize.minimize_scalar(method="bounded")`` and the breakeven and the within-1 %
  range with ``brentq``.
- **Monte Carlo** with common random numbers and parameter uncertainty: each run draws one
  coefficient vector (from the calibration's covariance, or the stated prior), one sample of
  returns and one uniform per return, and evaluates *every* level on those same draws. The 90 %
  bands are the 5th and 95th percentiles over runs, so they hold both the uncertainty about the
  customers' response and the sampling noise of a finite month of returns.

Why the Monte Carlo needs no loop over levels: with the inverse-CDF draw of
:func:`~toolkit.tuning.choice.draw_choices` a customer's choice moves monotonically with the
credit odds multiplier ``k = exp(bonus_coef x bonus_frac)``: refunders and exchangers switch to
credit once ``k`` passes a threshold of their own, ``k* = max(1/U - 1 - e_E, e_E/(1-U) - 1 - e_E)
/ e_C`` (``U`` the uniform, ``e_C``, ``e_E`` the exponentiated utilities without bonus). Sorting
the thresholds once per run turns every level into a binary search and a cumulative sum, exactly
the choices ``draw_choices`` would make level by level (a test checks that).

This module owns the sweep and its statistics; it must never read files or draw charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize_scalar

from toolkit.money import exponent, format_minor, round_half_up
from toolkit.progress import stage
from toolkit.tuning.calibrate import PRIOR_SD, Calibration
from toolkit.tuning.choice import COEFFICIENT_NAMES, ChoiceCoefficients
from toolkit.tuning.economics import ECONOMICS_RANGES, Economics
from toolkit.tuning.observed import ObservedReturns
from toolkit.tuning.population import DrawnReturns, ReturnPopulation, draw_returns

__all__ = ["BonusLevel", "STATISTICS", "SweepResult", "bonus_levels", "sweep_bonus"]

_K = {name: i for i, name in enumerate(COEFFICIENT_NAMES)}

#: Per-level statistics, per return: shares, then money (float minor units).
SHARES = ("p_refund", "p_credit", "p_exchange")
MONEY = ("credit_issued", "bonus_issued", "bonus_cost", "refunds_avoided", "net_value")
STATISTICS = SHARES + MONEY
BAND = (5.0, 95.0)
#: Returns the sensitivity analysis averages over (it re-optimises ~25 times per assumption).
TORNADO_RETURNS = 20_000
WITHIN = 0.01
#: The widest percentage range an automatic widening searches (``--max`` accepts up to this too).
WIDEST_PCT = 200.0
#: Bonus levels merchants commonly offer (domain research §6: 5-15 %, 10 % most common).
COMMON_RANGE_PCT = (5.0, 15.0)


@dataclass(frozen=True)
class BonusLevel:
    """One policy: a percentage of the return value, or a fixed amount, paid with store credit.

    ``pct`` is in percent (10.0 for 10 %); ``fixed_minor`` in minor units; one of them is 0.
    """

    pct: float = 0.0
    fixed_minor: int = 0

    @property
    def kind(self) -> str:
        if self.fixed_minor:
            return "fixed"
        return "percentage" if self.pct else "none"

    def label(self, currency: str) -> str:
        if self.fixed_minor:
            return f"fixed {format_minor(self.fixed_minor, currency)}"
        return f"{self.pct:g}%" if self.pct else "none"


def bonus_levels(step_pct: float = 1.0, max_pct: float = 30.0,
                 fixed_minor: Sequence[int] = (500, 1000)) -> list[BonusLevel]:
    """Percentage levels ``0, step, ..., max`` then the fixed amounts.

    >>> [lv.label("USD") for lv in bonus_levels(10, 30, [500])]
    ['none', '10%', '20%', '30%', 'fixed 5.00']
    """
    count = int(math.floor(max_pct / step_pct + 1e-9))
    pcts = [round(i * step_pct, 6) for i in range(count + 1)]
    return [BonusLevel(pct=p) for p in pcts] + [BonusLevel(fixed_minor=int(f)) for f in fixed_minor]


# --- Closed form --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sample:
    """Returns with their bonus-free utilities, ready for any coefficient-free level."""

    value: np.ndarray
    fee: np.ndarray
    e_credit: np.ndarray
    e_exchange: np.ndarray


def _prepare(beta: np.ndarray, drawn: DrawnReturns, typical: float) -> tuple[np.ndarray, np.ndarray]:
    """Credit and exchange utilities without the bonus term."""
    value = drawn.value_minor.astype(float)
    fee_frac = drawn.fee_minor / value
    log_rel = np.log(value / typical)
    u_credit = (beta[_K["asc_credit"]] + beta[_K["fee_coef"]] * fee_frac
                + beta[_K["retailer_borne_credit"]] * drawn.retailer_borne
                + beta[_K["value_coef_credit"]] * log_rel)
    u_exchange = (beta[_K["asc_exchange"]] + beta[_K["fee_coef"]] * fee_frac
                  + beta[_K["retailer_borne_exchange"]] * drawn.retailer_borne
                  + beta[_K["value_coef_exchange"]] * log_rel)
    return u_credit, u_exchange


def _sample(beta: np.ndarray, drawn: DrawnReturns, typical: float) -> _Sample:
    u_credit, u_exchange = _prepare(beta, drawn, typical)
    return _Sample(drawn.value_minor.astype(float), drawn.fee_minor.astype(float),
                   np.exp(u_credit), np.exp(u_exchange))


def _expected(s: _Sample, bonus_coef: float, economics: Economics,
              pct: float = 0.0, fixed_minor: float = 0.0) -> dict[str, float]:
    """Closed-form expected statistics per return at one level."""
    bonus = s.value * (pct / 100.0) + fixed_minor
    k_e_credit = np.exp(bonus_coef * bonus / s.value) * s.e_credit
    denom = 1.0 + k_e_credit + s.e_exchange
    p_c, p_e = k_e_credit / denom, s.e_exchange / denom
    c = economics.credit_cost_per_unit()
    m, ship = economics.gross_margin_frac, economics.exchange_shipping_minor
    kept = s.value - s.fee
    return {
        "p_refund": float(np.mean(1.0 / denom)),
        "p_credit": float(np.mean(p_c)),
        "p_exchange": float(np.mean(p_e)),
        "credit_issued": float(np.mean(p_c * (s.value + bonus))),
        "bonus_issued": float(np.mean(p_c * bonus)),
        "bonus_cost": float(np.mean(p_c * bonus * c)),
        "refunds_avoided": float(np.mean((p_c + p_e) * kept)),
        "net_value": float(np.mean(p_c * (kept - (s.value + bonus) * c)
                                   + p_e * (m * s.value - s.fee - ship))),
    }


@dataclass(frozen=True)
class _Curve:
    """Closed-form net value over the percentage bonus, with its optimum and ranges."""

    sample: _Sample
    bonus_coef: float
    economics: Economics
    max_pct: float

    def net(self, pct: float) -> float:
        s, econ = self.sample, self.economics
        k_e_credit = np.exp(self.bonus_coef * pct / 100.0) * s.e_credit
        c = econ.credit_cost_per_unit()
        credit = s.value - s.fee - s.value * (1.0 + pct / 100.0) * c
        exchange = econ.gross_margin_frac * s.value - s.fee - econ.exchange_shipping_minor
        return float(np.mean((k_e_credit * credit + s.e_exchange * exchange)
                             / (1.0 + k_e_credit + s.e_exchange)))

    def optimum(self) -> tuple[float, float]:
        res = minimize_scalar(lambda p: -self.net(p), bounds=(0.0, self.max_pct),
                              method="bounded", options={"xatol": 1e-4})
        # The bounded search never evaluates the ends exactly: compare with them.
        candidates = [(float(res.x), -float(res.fun)), (0.0, self.net(0.0)),
                      (self.max_pct, self.net(self.max_pct))]
        return max(candidates, key=lambda pv: (pv[1], -pv[0]))

    def within(self, best_pct: float, best_net: float) -> tuple[float, float]:
        floor = best_net - WITHIN * abs(best_net)

        def edge(lo: float, hi: float) -> float:
            return brentq(lambda p: self.net(p) - floor, lo, hi, xtol=1e-6)

        low = 0.0 if self.net(0.0) >= floor else edge(0.0, best_pct)
        high = self.max_pct if self.net(self.max_pct) >= floor else edge(best_pct, self.max_pct)
        return low, high

    def breakeven(self, best_pct: float, limit_pct: float = 200.0) -> float | None:
        """The bonus above the optimum at which net value falls back to the no-bonus level."""
        base = self.net(0.0)
        if best_pct <= 0.0 or self.net(limit_pct) >= base:
            return None
        return float(brentq(lambda p: self.net(p) - base, best_pct, limit_pct, xtol=1e-6))


# --- Monte Carlo --------------------------------------------------------------------------------


def _run(beta: np.ndarray, drawn: DrawnReturns, uniforms: np.ndarray, typical: float,
         levels: list[BonusLevel], economics: Economics) -> np.ndarray:
    """One Monte Carlo run: per-return means of :data:`STATISTICS` at every level, ``(L, S)``."""
    u_credit, u_exchange = _prepare(beta, drawn, typical)
    e_exchange = np.exp(u_exchange)
    with np.errstate(divide="ignore", invalid="ignore"):
        need_vs_refund = 1.0 / uniforms - 1.0 - e_exchange
        need_vs_exchange = e_exchange / (1.0 - uniforms) - 1.0 - e_exchange
        need = np.maximum(need_vs_refund, need_vs_exchange)
        # Credit at a level iff bonus_coef * bonus_frac >= threshold (log of k*).
        threshold = np.where(need > 0, np.log(need) - u_credit, -np.inf)
    refund_type = uniforms * (1.0 + e_exchange) < 1.0
    value = drawn.value_minor.astype(float)
    fee = drawn.fee_minor.astype(float)
    n = len(value)
    columns = (None, value, fee, refund_type.astype(float), np.where(refund_type, value, 0.0),
               np.where(refund_type, fee, 0.0))
    totals = np.array([n] + [float(c.sum()) for c in columns[1:]])
    b = beta[_K["bonus_coef"]]

    pct_levels = [lv for lv in levels if not lv.fixed_minor]
    fixed_levels = [lv for lv in levels if lv.fixed_minor]
    ordered = pct_levels + fixed_levels
    sums = np.empty((len(ordered), 6))
    groups = (
        (slice(0, len(pct_levels)), threshold, b * np.array([lv.pct for lv in pct_levels]) / 100.0),
        (slice(len(pct_levels), len(ordered)), threshold * value,  # b * fixed >= threshold * value
         b * np.array([lv.fixed_minor for lv in fixed_levels], dtype=float)),
    )
    for where, score_of_return, score_of_level in groups:
        if not len(score_of_level):
            continue
        # Bin each return by the first level (in score order) at which it takes credit; the
        # running total over bins is then the sum over credit-takers at every level at once.
        rank = np.argsort(score_of_level, kind="stable")
        with np.errstate(invalid="ignore"):
            first = np.searchsorted(score_of_level[rank], score_of_return, side="left")
        bins = len(rank) + 1
        per_bin = np.stack([np.bincount(first, weights=c, minlength=bins) if c is not None
                            else np.bincount(first, minlength=bins).astype(float)
                            for c in columns], axis=1)
        running = np.cumsum(per_bin[:-1], axis=0)
        block = np.empty_like(running)
        block[rank] = running
        sums[where] = block

    n_c, a_c, f_c, r_c, ar_c, fr_c = sums.T
    n_r, a_r, f_r = totals[3] - r_c, totals[4] - ar_c, totals[5] - fr_c
    n_e = n - n_c - n_r
    a_e, f_e = totals[1] - a_c - a_r, totals[2] - f_c - f_r
    bonus = np.array([lv.pct / 100.0 for lv in ordered]) * a_c + np.array(
        [lv.fixed_minor for lv in ordered], dtype=float) * n_c
    c = economics.credit_cost_per_unit()
    m, ship = economics.gross_margin_frac, economics.exchange_shipping_minor
    stats = np.stack([
        n_r, n_c, n_e,
        a_c + bonus, bonus, c * bonus,
        (a_c - f_c) + (a_e - f_e),
        (a_c - f_c) - c * (a_c + bonus) + m * a_e - f_e - ship * n_e,
    ], axis=1) / n
    # Back to the caller's level order.
    position = {id(lv): i for i, lv in enumerate(ordered)}
    return stats[[position[id(lv)] for lv in levels]]


def _head(drawn: DrawnReturns, n: int) -> DrawnReturns:
    return DrawnReturns(drawn.value_minor[:n], drawn.fee_minor[:n], drawn.retailer_borne[:n])


def _coefficient_draws(
    coefficients: ChoiceCoefficients | Calibration, coefficient_sd: dict[str, float] | None,
    rng: np.random.Generator, runs: int,
) -> np.ndarray:
    if isinstance(coefficients, Calibration):
        return coefficients.draw(rng, runs)
    sd = np.array([(coefficient_sd or PRIOR_SD).get(n, 0.0) for n in COEFFICIENT_NAMES])
    return coefficients.as_array() + sd * rng.standard_normal((runs, len(sd)))


# --- Result -------------------------------------------------------------------------------------


def _money(value_minor: float, currency: str) -> str:
    """A float statistic in minor units as a decimal string, rounded half up (toolkit.money)."""
    num, den = float(value_minor).as_integer_ratio()  # exact, so the half-up rule sees the truth
    return format_minor(round_half_up(num, den), currency)


@dataclass(frozen=True)
class SweepResult:
    """Everything a bonus sweep found. Frozen; rendering (files, charts) only reads it.

    Attributes
    ----------
    table: one row per level: ``level``, ``bonus_type``, ``bonus_pct``, ``bonus_fixed_minor``, then
        for each statistic its Monte Carlo mean, ``_low`` and ``_high`` (5th / 95th percentile over
        runs) and ``_closed_form``; shares in ``[0, 1]``, money as float minor units per return
        (``*_per_return_minor``); plus ``net_gain_vs_none_per_return_minor`` (with band),
        ``p_better_than_none``, ``p_best`` and ``within_1pct_of_best``.
    curve: closed-form statistics on a fine percentage grid (for smooth charts).
    tornado: per assumption, its low/high value and the optimum and recommended level's gain.
    recommendation: the answer, as JSON-ready data (``headline`` is one sentence).
    settings: every input that shaped the result (economics, coefficients, runs, seed, ...).
    """

    table: pd.DataFrame
    curve: pd.DataFrame
    tornado: pd.DataFrame
    recommendation: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return str(self.settings["currency"])

    def csv_table(self) -> pd.DataFrame:
        """The table as ``sweep.csv`` writes it: shares to 6 decimals, money as decimal strings
        in the currency's precision rounded half up."""
        out = pd.DataFrame(index=self.table.index)
        for col in self.table.columns:
            series = self.table[col]
            if col == "bonus_fixed_minor":
                continue
            if col.endswith("_minor"):
                out[col.removesuffix("_minor")] = [_money(v, self.currency) for v in series]
            elif series.dtype.kind == "f":
                out[col] = series.round(6)
            else:
                out[col] = series
        out.insert(out.columns.get_loc("bonus_pct") + 1, "bonus_fixed", [
            format_minor(int(v), self.currency) if v else "" for v in self.table["bonus_fixed_minor"]
        ])
        return out

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``sweep.csv``, ``curve.csv``, ``tornado.csv``, ``recommendation.json`` and the
        charts (PNG and SVG) into ``out_dir`` all at once (nothing half-written on failure).

        Returns
        -------
        name -> path of every file written.
        """
        from toolkit.io.output import atomic_output_dir, write_csv, write_json
        from toolkit.tuning.charts import save_figures

        out_dir = Path(out_dir)
        with atomic_output_dir(out_dir) as tmp:
            write_csv(self.csv_table(), tmp / "sweep.csv")
            write_csv(self.curve.round(6), tmp / "curve.csv")
            write_csv(self.tornado.round(6), tmp / "tornado.csv")
            write_json({**self.recommendation, "settings": self.settings},
                       tmp / "recommendation.json")
            names = save_figures(self, tmp)
        files = ["sweep.csv", "curve.csv", "tornado.csv", "recommendation.json", *names]
        return {name: out_dir / name for name in files}

    def figures(self) -> dict[str, Any]:
        """The charts as matplotlib figures: ``uptake``, ``net_benefit``, ``tornado``."""
        from toolkit.tuning.charts import make_figures

        return make_figures(self)


# --- The sweep ----------------------------------------------------------------------------------


def sweep_bonus(
    *,
    economics: Economics | None = None,
    coefficients: ChoiceCoefficients | Calibration | None = None,
    coefficient_sd: dict[str, float] | None = None,
    population: ReturnPopulation | ObservedReturns | None = None,
    step_pct: float = 1.0,
    max_pct: float = 30.0,
    fixed_minor: Sequence[int] = (500, 1000),
    runs: int = 400,
    returns: int = 20_000,
    seed: int = 0,
    closed_form_returns: int = 50_000,
    workers: int = 2,
    widen: bool = True,
) -> SweepResult:
    """Sweep bonus levels and recommend one, with bands from parameter and sampling uncertainty.

    Parameters
    ----------
    economics: the merchant's economics (default :class:`Economics` defaults).
    coefficients: point coefficients with ``coefficient_sd`` as a normal prior (default: the
        published-prior defaults with :data:`~toolkit.tuning.calibrate.PRIOR_SD`), or a
        :class:`Calibration` whose covariance gives the draws.
    population: returns to value: a :class:`ReturnPopulation` or an export's rows.
    step_pct, max_pct: the percentage grid, in percent. fixed_minor: fixed bonuses, minor units.
    runs: Monte Carlo runs (one coefficient draw and one month of returns each).
    returns: returns per run. seed: everything random derives from it.
    closed_form_returns: size of the fixed sample the closed-form expectations average over.
    workers: threads for the runs (results do not depend on it).
    widen: when the expected-value optimum sits at ``max_pct``, double the range (up to
        :data:`WIDEST_PCT`) until it is inside; the recommendation reports the widening. With
        ``False`` the grid stays as asked and an optimum at its edge is reported as such.

    Returns
    -------
    SweepResult

    Example
    -------
    >>> result = sweep_bonus(runs=20, returns=2000, closed_form_returns=5000, seed=1)
    >>> result.recommendation["recommended"]["level"] in set(result.table["level"])
    True
    """
    economics = economics or Economics()
    population = population or ReturnPopulation()
    coefficients = coefficients or ChoiceCoefficients()
    point = (coefficients.coefficients if isinstance(coefficients, Calibration) else coefficients)
    if isinstance(coefficients, Calibration):
        typical = coefficients.typical_value_minor
    elif isinstance(population, ReturnPopulation):
        typical = population.typical()
    elif population.typical_value_minor is not None:  # a simulated scenario's rows
        typical = float(population.typical_value_minor)
    else:  # an export with prior coefficients: its own median return is the typical one
        typical = float(np.median(population.value_minor))
    currency = population.currency
    requested_max = max_pct

    root = np.random.SeedSequence(seed)
    coef_seq, closed_seq, run_seq = root.spawn(3)
    closed_drawn = draw_returns(population, np.random.default_rng(closed_seq), closed_form_returns)
    beta = point.as_array()
    sample = _sample(beta, closed_drawn, typical)
    curve = _Curve(sample, float(beta[_K["bonus_coef"]]), economics, max_pct)
    best_pct, best_net = curve.optimum()
    # An optimum pinned to the top of the grid is not an answer: widen the range (doubling) until
    # the expected-value optimum is inside it, and say so in the recommendation.
    while widen and best_pct >= max_pct - 1e-6 and max_pct < WIDEST_PCT:
        max_pct = min(2.0 * max_pct, WIDEST_PCT)
        curve = _Curve(sample, curve.bonus_coef, economics, max_pct)
        best_pct, best_net = curve.optimum()
    levels = bonus_levels(step_pct, max_pct, fixed_minor)

    draws = _coefficient_draws(coefficients, coefficient_sd, np.random.default_rng(coef_seq), runs)
    run_seeds = run_seq.spawn(runs)

    def one(r: int) -> np.ndarray:
        rng = np.random.default_rng(run_seeds[r])
        drawn = draw_returns(population, rng, returns)
        return _run(draws[r], drawn, rng.random(returns), typical, levels, economics)

    with stage(f"Monte Carlo: {runs} runs x {returns:,} returns x {len(levels)} levels"):
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            per_run = np.stack(list(pool.map(one, range(runs))))  # (R, L, S)

    with stage("closed-form curve, optimum and sensitivities"):
        closed = [_expected(sample, curve.bonus_coef, economics, lv.pct, lv.fixed_minor)
                  for lv in levels]
        table = _table(levels, per_run, closed, currency)
        low, high = curve.within(best_pct, best_net)
        breakeven = curve.breakeven(best_pct)
        fine = np.round(np.linspace(0.0, max_pct, int(round(max_pct / 0.25)) + 1), 6)
        curve_frame = pd.DataFrame([
            {"bonus_pct": p, **_expected(sample, curve.bonus_coef, economics, pct=p)} for p in fine
        ]).rename(columns={s: f"{s}_per_return_minor" for s in MONEY})
        recommended = table.loc[table["net_value_per_return_minor"].idxmax()]
        sd = (coefficients.sd() if isinstance(coefficients, Calibration) else
              np.array([(coefficient_sd or PRIOR_SD).get(n, 0.0) for n in COEFFICIENT_NAMES]))
        tornado = _tornado(_head(closed_drawn, TORNADO_RETURNS), typical, point, sd, economics, max_pct, recommended)

    optimum_runs = table.loc[table["bonus_type"] != "fixed", "bonus_pct"].to_numpy()[
        per_run[:, table["bonus_type"].to_numpy() != "fixed", -1].argmax(axis=1)]
    recommendation = _recommend(
        table, currency, best_pct, best_net, (low, high), breakeven, economics,
        (float(np.percentile(optimum_runs, BAND[0])), float(np.percentile(optimum_runs, BAND[1]))),
        float(curve.net(0.0)), isinstance(coefficients, Calibration), (requested_max, max_pct),
    )
    settings = {
        "currency": currency,
        "economics": economics.model_dump(),
        "coefficients": {k: round(v, 6) for k, v in point.model_dump().items()},
        "coefficient_source": "calibration" if isinstance(coefficients, Calibration) else "prior",
        "coefficient_sd": {n: round(float(v), 6) for n, v in zip(COEFFICIENT_NAMES, sd, strict=True)},
        "calibration": coefficients.to_dict() if isinstance(coefficients, Calibration) else None,
        "population": (population.model_dump() if isinstance(population, ReturnPopulation)
                       else {"source": population.origin,
                             f"{population.origin}_rows": len(population),
                             "skipped": population.skipped,
                             "bonus_base_share": round(population.bonus_base_share, 6)}),
        "typical_value_minor": round(typical, 4),
        "step_pct": step_pct, "max_pct": max_pct, "max_pct_requested": requested_max,
        "widen": widen, "fixed_minor": [int(f) for f in fixed_minor],
        "runs": runs, "returns": returns, "seed": seed, "closed_form_returns": closed_form_returns,
        "band_percentiles": list(BAND),
    }
    return SweepResult(table=table, curve=curve_frame, tornado=tornado,
                       recommendation=recommendation, settings=settings)


def _table(levels: list[BonusLevel], per_run: np.ndarray, closed: list[dict[str, float]],
           currency: str) -> pd.DataFrame:
    rows: dict[str, Any] = {
        "level": [lv.label(currency) for lv in levels],
        "bonus_type": [lv.kind for lv in levels],
        "bonus_pct": [lv.pct for lv in levels],
        "bonus_fixed_minor": [lv.fixed_minor for lv in levels],
    }
    lo, hi = np.percentile(per_run, BAND, axis=0)  # (L, S) each
    mean = per_run.mean(axis=0)
    for s, name in enumerate(STATISTICS):
        col = name if name in SHARES else f"{name}_per_return_minor"
        rows[col] = mean[:, s]
        rows[col.replace(name, f"{name}_low", 1)] = lo[:, s]
        rows[col.replace(name, f"{name}_high", 1)] = hi[:, s]
        rows[col.replace(name, f"{name}_closed_form", 1)] = [c[name] for c in closed]
    net = per_run[:, :, -1]
    none = next(i for i, lv in enumerate(levels) if lv.kind == "none")
    gain = net - net[:, [none]]
    rows["net_gain_vs_none_per_return_minor"] = gain.mean(axis=0)
    rows["net_gain_vs_none_low_per_return_minor"] = np.percentile(gain, BAND[0], axis=0)
    rows["net_gain_vs_none_high_per_return_minor"] = np.percentile(gain, BAND[1], axis=0)
    rows["p_better_than_none"] = (gain > 0).mean(axis=0)
    rows["p_best"] = np.bincount(net.argmax(axis=1), minlength=len(levels)) / len(net)
    table = pd.DataFrame(rows)
    best = table["net_value_per_return_minor"].max()
    table["within_1pct_of_best"] = table["net_value_per_return_minor"] >= best - WITHIN * abs(best)
    return table


def _tornado(drawn: DrawnReturns, typical: float, point: ChoiceCoefficients, sd: np.ndarray,
             economics: Economics, max_pct: float, recommended: pd.Series) -> pd.DataFrame:
    """Low/high of each assumption: the closed-form optimum and the recommended level's gain."""
    beta0 = point.as_array()
    z = 1.6449  # a 90 % interval of a normal

    def evaluate(beta: np.ndarray, econ: Economics) -> tuple[float, float]:
        sample = _sample(beta, drawn, typical)
        curve = _Curve(sample, float(beta[_K["bonus_coef"]]), econ, max_pct)
        best_pct, _ = curve.optimum()
        level = _expected(sample, curve.bonus_coef, econ, float(recommended["bonus_pct"]),
                          float(recommended["bonus_fixed_minor"]))["net_value"]
        return best_pct, level - curve.net(0.0)

    base_opt, base_gain = evaluate(beta0, economics)
    rows = []
    cases: list[tuple[str, float, float, Any, Any]] = []
    for name, (lo, hi) in ECONOMICS_RANGES.items():
        cases.append((name, lo, hi,
                      (beta0, economics.model_copy(update={name: type(getattr(economics, name))(lo)})),
                      (beta0, economics.model_copy(update={name: type(getattr(economics, name))(hi)}))))
    for name in ("bonus_coef", "asc_credit", "asc_exchange"):
        i = _K[name]
        lo_b, hi_b = beta0.copy(), beta0.copy()
        lo_b[i] -= z * sd[i]
        hi_b[i] += z * sd[i]
        cases.append((name, float(lo_b[i]), float(hi_b[i]), (lo_b, economics), (hi_b, economics)))
    for name, lo, hi, low_case, high_case in cases:
        opt_lo, gain_lo = evaluate(*low_case)
        opt_hi, gain_hi = evaluate(*high_case)
        rows.append({
            "assumption": name, "low": lo, "high": hi,
            "optimum_pct_low": opt_lo, "optimum_pct_high": opt_hi, "optimum_pct_base": base_opt,
            "gain_low_per_return_minor": gain_lo, "gain_high_per_return_minor": gain_hi,
            "gain_base_per_return_minor": base_gain,
        })
    frame = pd.DataFrame(rows)
    swing = (frame["gain_high_per_return_minor"] - frame["gain_low_per_return_minor"]).abs()
    return frame.assign(swing=swing).sort_values(["swing", "assumption"], ascending=[False, True],
                                                 kind="stable").drop(columns="swing").reset_index(
                                                     drop=True)


def _recommend(table: pd.DataFrame, currency: str, best_pct: float, best_net: float,
               within: tuple[float, float], breakeven: float | None, economics: Economics,
               optimum_band: tuple[float, float], net_none: float,
               calibrated: bool, searched: tuple[float, float]) -> dict[str, Any]:
    def level_summary(row: pd.Series) -> dict[str, Any]:
        return {
            "level": row["level"],
            "p_credit": round(float(row["p_credit"]), 4),
            "p_credit_band": [round(float(row["p_credit_low"]), 4), round(float(row["p_credit_high"]), 4)],
            "net_value_per_return": _money(row["net_value_per_return_minor"], currency),
            "net_gain_vs_none_per_return": _money(row["net_gain_vs_none_per_return_minor"], currency),
            "net_gain_vs_none_band": [
                _money(row["net_gain_vs_none_low_per_return_minor"], currency),
                _money(row["net_gain_vs_none_high_per_return_minor"], currency),
            ],
            "bonus_cost_per_return": _money(row["bonus_cost_per_return_minor"], currency),
            "p_better_than_none": round(float(row["p_better_than_none"]), 4),
            "p_best": round(float(row["p_best"]), 4),
        }

    best = table.loc[table["net_value_per_return_minor"].idxmax()]
    close = table[table["within_1pct_of_best"]]
    cheapest = close.loc[close["bonus_cost_per_return_minor"].idxmin()]
    asked = table[table["bonus_type"].eq("fixed") | table["bonus_pct"].isin([0.0, 5.0, 10.0])]
    gain = float(best["net_gain_vs_none_per_return_minor"])
    sure = float(best["p_better_than_none"])
    requested_max, searched_max = searched
    widened = searched_max > requested_max + 1e-9
    top_pct = float(table.loc[table["bonus_type"] != "fixed", "bonus_pct"].max())
    best_pct_level = float(best["bonus_pct"]) if best["bonus_type"] == "percentage" else None
    at_edge = best_pct >= top_pct - 1e-6 or (
        best_pct_level is not None and best_pct_level >= top_pct - 1e-9)
    if best["bonus_type"] == "none":
        headline = (f"Offer no bonus: no level earns more than it costs "
                    f"(best alternative within 1 %: {cheapest['level']}).")
    else:
        headline = (
            f"Offer {best['level']} store-credit bonus: about "
            f"{_money(gain, currency)} {currency} more per return than no bonus "
            f"(90 % band {_money(best['net_gain_vs_none_low_per_return_minor'], currency)} to "
            f"{_money(best['net_gain_vs_none_high_per_return_minor'], currency)}), "
            f"better than none in {sure:.0%} of scenarios; the curve is flat from "
            f"{within[0]:.1f} % to {within[1]:.1f} %."
        )
    if at_edge:
        headline = (
            f"Edge of the search: the best level found is the highest searched ({top_pct:g} %), "
            f"so net value may still rise beyond it; widen the search (--max) or calibrate the "
            f"customers' response before acting. " + headline)
    elif widened:
        headline += (f" (The search was widened from 0-{requested_max:g} % to "
                     f"0-{searched_max:g} % to find an optimum inside the range.)")
    warnings = []
    if at_edge:
        warnings.append(f"the best percentage is at the top of the searched range "
                        f"(0-{top_pct:g} %): net value may still rise beyond it, and the response "
                        f"to bonuses above the levels merchants commonly offer "
                        f"({COMMON_RANGE_PCT[0]:g}-{COMMON_RANGE_PCT[1]:g} %) is an "
                        f"extrapolation of the logit")
    elif widened:
        warnings.append(f"the best percentage lay at the top of the asked range "
                        f"(0-{requested_max:g} %), so the search was widened to "
                        f"0-{searched_max:g} %")
    if not at_edge and best_pct_level is not None and best_pct_level > COMMON_RANGE_PCT[1]:
        warnings.append(f"the recommended level is above the {COMMON_RANGE_PCT[0]:g}-"
                        f"{COMMON_RANGE_PCT[1]:g} % merchants commonly offer: the response there "
                        f"is an extrapolation; the cheapest level within 1 % of the best is "
                        f"{cheapest['level']}")
    if not calibrated:
        warnings.append("customer response coefficients are published-prior assumptions, not "
                        "fitted to this merchant: randomise the offered bonus for a few weeks and "
                        "calibrate (toolkit tune --export) before committing to a large bonus")
    if float(best["p_better_than_none"]) < 0.9:
        warnings.append(f"the recommended level beats no bonus in only "
                        f"{float(best['p_better_than_none']):.0%} of scenarios")
    return {
        "headline": headline,
        "warnings": warnings,
        "currency": currency,
        "recommended": level_summary(best),
        "cheapest_within_1pct": level_summary(cheapest),
        "asked_levels": [level_summary(r) for _, r in asked.iterrows()],
        "optimum_pct_closed_form": round(best_pct, 3),
        "optimum_net_value_per_return": _money(best_net, currency),
        "optimum_gain_vs_none_per_return": _money(best_net - net_none, currency),
        "optimum_pct_band_over_runs": [round(optimum_band[0], 3), round(optimum_band[1], 3)],
        "within_1pct_range_pct": [round(within[0], 3), round(within[1], 3)],
        "at_edge_of_search": bool(at_edge),
        "searched_range_pct": [0.0, round(searched_max, 3)],
        "asked_range_pct": [0.0, round(requested_max, 3)],
        "widened": bool(widened),
        "within_1pct_meaning": "bonus levels whose expected net value per return is within 1 % "
                               "of the best (closed form)",
        "portfolio_breakeven_pct": None if breakeven is None else round(breakeven, 3),
        "switcher_breakeven_pct": round(100 * economics.switcher_breakeven_frac(), 3),
        "credit_cost_per_unit": round(economics.credit_cost_per_unit(), 6),
        "currency_exponent": exponent(currency),
    }
