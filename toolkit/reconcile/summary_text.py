"""The one-screen text summary of a reconciliation, printed on stdout and reused by reports.

Owns the wording and layout of that screen: conservation first (if it fails nothing else is to
be trusted), then headline counts and money per currency, breaks by reason, and where the files
are. It reads only a ``summary.json`` dict; it must never recompute anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.contract import BREAK_SEVERITY, BreakReason

__all__ = ["format_summary"]

_FILES = ("breaks.csv", "returns.csv", "ledger.csv", "balances.csv", "summary.json")


def format_summary(summary: dict[str, Any], out_dir: str | Path | None = None) -> str:
    """The summary screen of one run.

    Parameters
    ----------
    summary: a run's ``summary.json`` as a dict.
    out_dir: the run folder, named at the end when given.

    Returns
    -------
    Text of about 30-40 lines, ending with a newline.

    Example
    -------
    >>> print(format_summary(result.summary, "out/march"))  # doctest: +SKIP
    Conservation: OK (rows and money per currency)
    ...
    """
    lines: list[str] = []
    cons = summary["conservation"]
    if cons["ok"]:
        rows = cons["rows"]
        lines.append(
            f"Conservation: OK  {rows['returns']['input']} returns and "
            f"{rows['ledger']['input']} ledger rows each in exactly one output row; "
            "money in = money out in every currency"
        )
    else:
        bad = [k for k, v in cons["rows"].items() if not v["ok"]]
        bad += [k for k, v in cons["money"].items() if not v["ok"]]
        lines.append(f"Conservation: FAILED for {', '.join(bad)}: do not rely on this run")

    counts = summary["counts"]
    inputs = summary["inputs"]
    lines.append(
        f"As of {summary['as_of']}  (period {summary['period']['first']} .. "
        f"{summary['period']['last']})"
    )
    read = [f"{name} {inputs[name]['rows']}" for name in ("returns", "ledger", "notifications")
            if inputs.get(name)]
    extra = []
    collapsed = sum(inputs[n]["duplicates_collapsed"] for n in inputs if inputs[n])
    naive = sum(inputs[n]["naive_timestamps"] for n in inputs if inputs[n])
    if collapsed:
        extra.append(f"{collapsed} exact duplicate rows collapsed")
    if naive:
        extra.append(f"{naive} timestamps without offset read in {summary['settings']['timezone']}")
    lines.append("Read: " + ", ".join(read) + (f" ({'; '.join(extra)})" if extra else ""))
    outcomes = counts["returns_by_outcome"]
    lines.append("Returns: " + ", ".join(f"{k} {v}" for k, v in outcomes.items()))
    sev = counts["breaks_by_severity"]
    lines.append(
        f"Breaks: {counts['breaks']}  (high {sev['high']}, medium {sev['medium']}, "
        f"low {sev['low']})"
    )
    lines.append("")
    lines.append(f"{'currency':<9}{'expected credit':>17}{'issued credit':>16}"
                 f"{'expected bonus':>16}{'issued bonus':>15}{'at risk':>14}{'liability':>15}")
    for ccy, money in summary["money"].items():
        liab = summary["liability"].get(ccy, {})
        lines.append(
            f"{ccy:<9}{money['expected_credit']:>17}{money['issued_credit']:>16}"
            f"{money['expected_bonus']:>16}{money['issued_bonus']:>15}{money['at_risk']:>14}"
            f"{liab.get('closing', ''):>15}"
        )
    ties = [c for c, v in summary["liability"].items() if v["difference"].strip("0.-") != ""]
    if ties:
        lines.append("Liability does not tie to the ledger's own balances in: " + ", ".join(ties))
    lines.append("")
    listed = [(r, n) for r, n in counts["breaks_by_reason"].items() if n]
    if listed:
        lines.append("Breaks by reason:")
        for reason, n in listed:
            severity = BREAK_SEVERITY[BreakReason(reason)].value
            lines.append(f"  {reason:<30}{n:>8}  {severity}")
    else:
        lines.append("No breaks.")
    if out_dir is not None:
        lines.append("")
        lines.append(f"Files in {out_dir}: " + ", ".join(_FILES))
    return "\n".join(lines) + "\n"
