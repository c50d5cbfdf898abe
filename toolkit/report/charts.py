"""Charts of the report as inline SVG text: the liability waterfall and credit issued by day.

SVG keeps text as text (``svg.fonttype = "none"``: searchable, sharp in print) and is made
deterministic with a fixed ``svg.hashsalt`` and no date in its metadata, so an unchanged run
renders byte-identical charts. Chart coordinates are floats in currency units; they only place
pixels, every label on a chart is formatted from integer minor units. This module draws; it must
never compute a figure that is not already in the model.
"""

from __future__ import annotations

import io
import re
from datetime import date

import matplotlib
import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from toolkit.money import exponent
from toolkit.report.model import DailySeries, RollForward, format_money

__all__ = ["daily_svg", "waterfall_svg"]

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "toolkit-report",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8a94a6",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}
_UP, _DOWN, _TOTAL, _BAD, _EXPECTED = "#2e7d4f", "#c0392b", "#4a5a75", "#c0392b", "#e08a1e"


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    # Fixed margins (set per chart) rather than bbox_inches="tight", which draws the figure twice.
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    # Inline SVG needs neither the XML prolog, the DOCTYPE nor the RDF metadata block.
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    return text[text.index("<svg"):]


def _units(currency: str) -> float:
    return float(10 ** exponent(currency))


def _axis_formatter(currency: str) -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def waterfall_svg(roll: RollForward) -> str:
    """A waterfall from opening to closing liability, with the ledger's reported closing below it.

    Horizontal, one row per step read top to bottom like the roll-forward table beside it, so
    many movements stay legible; zero movements are left out.

    Example
    -------
    >>> svg = waterfall_svg(model.rollforwards[0])  # doctest: +SKIP
    """
    steps = [(label, minor) for _key, label, minor in roll.movements if minor != 0]
    labels = ["Opening"] + [label for label, _ in steps] + ["Closing", "Reported by ledger"]
    scale = _units(roll.currency)
    lefts, widths, colors, values = [0.0], [roll.opening / scale], [_TOTAL], [roll.opening]
    running = roll.opening
    for _label, minor in steps:
        lefts.append((running if minor >= 0 else running + minor) / scale)
        widths.append(abs(minor) / scale)
        colors.append(_UP if minor >= 0 else _DOWN)
        values.append(minor)
        running += minor
    lefts += [0.0, 0.0]
    widths += [roll.closing / scale, roll.reported_closing / scale]
    colors += [_TOTAL, _BAD if roll.difference else _TOTAL]
    values += [roll.closing, roll.reported_closing]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 0.95 + 0.27 * len(labels)))
        ax = fig.subplots()
        y = np.arange(len(labels))
        ax.barh(y, widths, left=lefts, color=colors, height=0.64)
        right = max([lo + w for lo, w in zip(lefts, widths)] + [1.0 / scale])
        for i, (lo, w, minor) in enumerate(zip(lefts, widths, values)):
            sign = "+" if 0 < i <= len(steps) and minor > 0 else ""
            ax.text(lo + w + right * 0.01, i, sign + format_money(minor, roll.currency),
                    va="center", ha="left", fontsize=7.5)
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, right * 1.22)
        ax.xaxis.set_major_formatter(_axis_formatter(roll.currency))
        ax.tick_params(axis="x", labelsize=7.5)
        ax.set_title(f"Store-credit liability, {roll.currency}", loc="left")
        ax.grid(axis="x", color="#e3e7ee", linewidth=0.6)
        ax.set_axisbelow(True)
        fig.subplots_adjust(left=0.24, right=0.95, top=1 - 0.42 / fig.get_figheight(),
                            bottom=0.38 / fig.get_figheight())
        return _svg(fig)


def daily_svg(series: DailySeries) -> str:
    """Refund credit expected (by release date) against credit and bonus issued, per day.

    Issued refund credit is the filled area, bonus stacked on it in a lighter shade, expected
    credit the orange line: days where the line runs above the filled area released more credit
    than went out. Steps, not bars, so a year of days stays one path per series.
    """
    scale = _units(series.currency)
    days = [date.fromisoformat(d[:10]) for d in series.dates]
    issued = np.asarray(series.issued, dtype=np.int64) / scale
    with_bonus = (np.asarray(series.issued, dtype=np.int64) + np.asarray(series.bonus, dtype=np.int64)) / scale
    expected = np.asarray(series.expected, dtype=np.int64) / scale
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.2, 2.6))
        ax = fig.subplots()
        ax.fill_between(days, 0, issued, step="mid", color=_TOTAL, linewidth=0, label="Refund credit issued")
        ax.fill_between(days, issued, with_bonus, step="mid", color="#8fb3de", linewidth=0, label="Bonus issued")
        ax.step(days, expected, where="mid", color=_EXPECTED, linewidth=1.1,
                label="Credit expected (returns released)")
        if len(days) <= 40:
            ax.plot(days, expected, "o", color=_EXPECTED, markersize=2.5)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.yaxis.set_major_formatter(_axis_formatter(series.currency))
        ax.set_ylim(bottom=0)
        ax.set_title(f"Credit against returns released, by day, {series.currency}", loc="left")
        ax.grid(axis="y", color="#e3e7ee", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(frameon=False, fontsize=7.5, ncols=3, loc="upper left", bbox_to_anchor=(0, -0.12))
        fig.subplots_adjust(left=0.11, right=0.99, top=0.89, bottom=0.27)
        return _svg(fig)
