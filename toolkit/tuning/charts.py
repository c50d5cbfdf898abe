"""Charts of a bonus sweep: uptake curve, net benefit with bands, tornado of sensitivities.

Each chart is drawn from a :class:`~toolkit.tuning.sweep.SweepResult` and nothing else, and saved
as PNG and SVG with fixed metadata so the same result gives the same bytes.
This module owns drawing; it must never compute a statistic the result does not hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from toolkit.tuning.sweep import SweepResult

__all__ = ["make_figures", "save_figures"]

_COLORS = {"refund": "#b2182b", "store_credit": "#2166ac", "exchange": "#4d9221",
           "net": "#2166ac", "fixed": "#e08214"}


def _scale(result: SweepResult) -> float:
    from toolkit.money import exponent

    return float(10 ** exponent(result.currency))


def _uptake(result: SweepResult) -> Figure:
    t = result.table
    pct = t[t["bonus_type"] != "fixed"]
    fixed = t[t["bonus_type"] == "fixed"]
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    for col, key, name in (("p_credit", "store_credit", "store credit"),
                           ("p_refund", "refund", "refund"), ("p_exchange", "exchange", "exchange")):
        ax.fill_between(pct["bonus_pct"], 100 * pct[f"{col}_low"], 100 * pct[f"{col}_high"],
                        color=_COLORS[key], alpha=0.15, linewidth=0)
        ax.plot(pct["bonus_pct"], 100 * pct[col], color=_COLORS[key], label=name)
    for _, row in fixed.iterrows():
        ax.errorbar([result.curve["bonus_pct"].max() * 1.04], [100 * row["p_credit"]],
                    yerr=[[100 * (row["p_credit"] - row["p_credit_low"])],
                          [100 * (row["p_credit_high"] - row["p_credit"])]],
                    fmt="D", color=_COLORS["fixed"], capsize=3)
        ax.annotate(row["level"], (result.curve["bonus_pct"].max() * 1.04, 100 * row["p_credit"]),
                    textcoords="offset points", xytext=(6, 0), fontsize=8, va="center")
    ax.set_xlabel("store-credit bonus, % of the return value")
    ax.set_ylabel("share of returns, %")
    ax.set_title("Who takes what, by bonus (line: mean; band: 90 % of scenarios)")
    ax.legend(loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _net(result: SweepResult) -> Figure:
    t, rec, scale = result.table, result.recommendation, _scale(result)
    pct = t[t["bonus_type"] != "fixed"]
    fixed = t[t["bonus_type"] == "fixed"]
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    lo, hi = rec["within_1pct_range_pct"]
    ax.axvspan(lo, hi, color="#fdb863", alpha=0.35, linewidth=0, label="within 1 % of the best")
    ax.fill_between(pct["bonus_pct"], pct["net_gain_vs_none_low_per_return_minor"] / scale,
                    pct["net_gain_vs_none_high_per_return_minor"] / scale,
                    color=_COLORS["net"], alpha=0.15, linewidth=0, label="90 % band")
    ax.plot(pct["bonus_pct"], pct["net_gain_vs_none_per_return_minor"] / scale,
            color=_COLORS["net"], label="Monte Carlo mean")
    curve = result.curve
    base = float(curve["net_value_per_return_minor"].iloc[0])
    ax.plot(curve["bonus_pct"], (curve["net_value_per_return_minor"] - base) / scale,
            color="black", linestyle="--", linewidth=1, label="closed form")
    opt = rec["optimum_pct_closed_form"]
    ax.axvline(opt, color="black", linewidth=0.8)
    ax.annotate(f"optimum {opt:.1f} %", (opt, ax.get_ylim()[1]), textcoords="offset points",
                xytext=(-4, -12), ha="right", fontsize=8)
    x_fixed = pct["bonus_pct"].max() * 1.04
    for _, row in fixed.iterrows():
        mean = row["net_gain_vs_none_per_return_minor"] / scale
        ax.errorbar([x_fixed], [mean],
                    yerr=[[mean - row["net_gain_vs_none_low_per_return_minor"] / scale],
                          [row["net_gain_vs_none_high_per_return_minor"] / scale - mean]],
                    fmt="D", color=_COLORS["fixed"], capsize=3)
        ax.annotate(row["level"], (x_fixed, mean), textcoords="offset points", xytext=(6, 0),
                    fontsize=8, va="center")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("store-credit bonus, % of the return value")
    ax.set_ylabel(f"net gain per return vs no bonus, {result.currency}")
    ax.set_title("What each bonus earns, net of its cost")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _tornado(result: SweepResult) -> Figure:
    t, scale = result.tornado.iloc[::-1], _scale(result)
    level = result.recommendation["recommended"]["level"]
    fig = Figure(figsize=(10, 0.45 * len(t) + 1.6))
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = range(len(t))
    base = float(t["gain_base_per_return_minor"].iloc[0]) / scale
    for ax, low, high, center, title in (
        (ax1, t["gain_low_per_return_minor"] / scale, t["gain_high_per_return_minor"] / scale, base,
         f"net gain of {level} vs none, {result.currency} per return"),
        (ax2, t["optimum_pct_low"], t["optimum_pct_high"], float(t["optimum_pct_base"].iloc[0]),
         "best bonus, %"),
    ):
        ax.barh(y, low - center, left=center, color="#92c5de", label="assumption low")
        ax.barh(y, high - center, left=center, color="#f4a582", label="assumption high")
        ax.axvline(center, color="black", linewidth=0.8)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    ax1.set_yticks(list(y))
    ax1.set_yticklabels([f"{a} ({lo:g} .. {hi:g})" for a, lo, hi in
                         zip(t["assumption"], t["low"].round(3), t["high"].round(3), strict=True)],
                        fontsize=8)
    ax1.legend(loc="lower right", frameon=False, fontsize=8)
    fig.suptitle("Which assumptions move the answer (others at base values)", fontsize=10)
    fig.tight_layout()
    return fig


def make_figures(result: SweepResult) -> dict[str, Figure]:
    """``uptake``, ``net_benefit`` and ``tornado`` figures of a sweep."""
    with matplotlib.rc_context({"svg.hashsalt": "toolkit", "font.size": 9}):
        return {"uptake": _uptake(result), "net_benefit": _net(result),
                "tornado": _tornado(result)}


def save_figures(result: SweepResult, folder: Path) -> list[str]:
    """Save every figure as ``<name>.png`` and ``<name>.svg`` into ``folder``; returns the names."""
    names: list[str] = []
    metadata: dict[str, dict[str, Any]] = {
        "png": {"Software": None},
        "svg": {"Date": None, "Creator": None},
    }
    with matplotlib.rc_context({"svg.hashsalt": "toolkit", "font.size": 9}):
        for name, fig in make_figures(result).items():
            for ext in ("png", "svg"):
                fig.savefig(folder / f"{name}.{ext}", dpi=120, metadata=metadata[ext])
                names.append(f"{name}.{ext}")
    return names
