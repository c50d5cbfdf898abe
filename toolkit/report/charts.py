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

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from toolkit.money import exponent  # noqa: E402
from toolkit.report.model import DailySeries, RollForward, format_money  # noqa: E402

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


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    # Inline SVG needs neither the XML prolog, the DOCTYPE nor the RDF metadata block.
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    return text[text.index("<svg"):]


def _units(currency: str) -> float:
    return float(10 ** exponent(currency))


def _axis_formatter(currency: str) -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def waterfall_svg(roll: RollForward) -> str:
    """A waterfall from opening to closing liability, with the ledger's reported closing beside it.

    Example
    -------
    >>> svg = waterfall_svg(model.rollforwards[0])  # doctest: +SKIP
    """
    steps = [(label, minor) for _key, label, minor in roll.movements if minor != 0]
    labels = ["Opening"] + [s[0].replace(" ", "\n") for s in steps] + ["Closing", "Reported\nby ledger"]
    scale = _units(roll.currency)
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(max(7.2, 0.85 * len(labels)), 2.9))
        running = roll.opening
        bottoms, heights, colors, texts = [0.0], [roll.opening / scale], [_TOTAL], [roll.opening]
        for _label, minor in steps:
            bottoms.append(running / scale if minor >= 0 else (running + minor) / scale)
            heights.append(abs(minor) / scale)
            colors.append(_UP if minor >= 0 else _DOWN)
            texts.append(minor)
            running += minor
        bottoms += [0.0, 0.0]
        heights += [roll.closing / scale, roll.reported_closing / scale]
        colors += [_TOTAL, _BAD if roll.difference else _TOTAL]
        texts += [roll.closing, roll.reported_closing]
        x = range(len(labels))
        ax.bar(x, heights, bottom=bottoms, color=colors, width=0.62)
        top = max([b + h for b, h in zip(bottoms, heights)] + [1.0 / scale])
        for i, (b, h, minor) in enumerate(zip(bottoms, heights, texts)):
            sign = "+" if 0 < i <= len(steps) and minor > 0 else ""
            ax.text(i, b + h + top * 0.02, sign + format_money(minor, roll.currency),
                    ha="center", va="bottom", fontsize=7 if len(labels) > 7 else 7.5)
        ax.set_xticks(list(x), labels, rotation=0, fontsize=7.5)
        ax.set_ylim(0, top * 1.15)
        ax.yaxis.set_major_formatter(_axis_formatter(roll.currency))
        ax.set_title(f"Store-credit liability, {roll.currency}", loc="left")
        ax.grid(axis="y", color="#e3e7ee", linewidth=0.6)
        ax.set_axisbelow(True)
        return _svg(fig)


def daily_svg(series: DailySeries) -> str:
    """Refund credit expected (by release date) against credit and bonus issued, per day.

    Expected credit is the outlined bar, issued credit the filled bar inside it, bonus stacked on
    top: a day whose outline stands above its filled bar released more credit than went out.
    """
    scale = _units(series.currency)
    days = [date.fromisoformat(d[:10]) for d in series.dates]
    issued = [v / scale for v in series.issued]
    bonus = [v / scale for v in series.bonus]
    expected = [v / scale for v in series.expected]
    span = max((days[-1] - days[0]).days, 1) if days else 1
    width = max(0.8 * min(1.0, span / max(len(days), 1)), 0.6) if span > 1 else 0.8
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.2, 2.6))
        ax.bar(days, expected, width=width, facecolor="none", edgecolor=_EXPECTED, linewidth=0.9,
               label="Credit expected (returns released)")
        ax.bar(days, issued, width=width * 0.6, color=_TOTAL, label="Refund credit issued")
        ax.bar(days, bonus, width=width * 0.6, bottom=issued, color="#8fb3de", label="Bonus issued")
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.yaxis.set_major_formatter(_axis_formatter(series.currency))
        ax.set_title(f"Credit against returns released, by day, {series.currency}", loc="left")
        ax.grid(axis="y", color="#e3e7ee", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(frameon=False, fontsize=7.5, ncols=3, loc="upper left", bbox_to_anchor=(0, -0.12))
        return _svg(fig)
