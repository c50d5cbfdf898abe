"""The reconciliation report: one HTML page and one Excel workbook rendered from a reconcile run.

A controller opens ``report.html`` and sees within a minute whether the month ties out (the
conservation check comes first), what is at risk and what to chase first; ``report.xlsx`` carries
every break and every wallet for whoever fixes them. The report renders the run folder's files
(``summary.json``, ``breaks.csv``, ``returns.csv``, ``balances.csv``) as the reconciler wrote
them; it must never recompute a reconciliation.

Example
-------
>>> from toolkit.report import write_report
>>> paths = write_report("out/run")  # doctest: +SKIP
>>> paths.html.name, paths.xlsx.name  # doctest: +SKIP
('report.html', 'report.xlsx')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolkit.io.output import atomic_output_dir
from toolkit.progress import stage
from toolkit.report.excel import write_workbook
from toolkit.report.html import render_html
from toolkit.report.model import build_model
from toolkit.report.run import load_run

__all__ = ["ReportPaths", "write_report"]

HTML_NAME = "report.html"
XLSX_NAME = "report.xlsx"


@dataclass(frozen=True)
class ReportPaths:
    """Where the report was written.

    Attributes
    ----------
    html: the self-contained HTML page.
    xlsx: the Excel workbook.
    csv_overflow: CSV files holding rows that did not fit under Excel's row limit (usually none).
    """

    html: Path
    xlsx: Path
    csv_overflow: tuple[Path, ...] = ()


def write_report(run_dir: str | Path, out_dir: str | Path | None = None) -> ReportPaths:
    """Render ``report.html`` and ``report.xlsx`` for a reconcile run folder.

    The files are written all at once: into a temporary folder first, then moved into
    ``out_dir``; other files in that folder are left alone.

    Parameters
    ----------
    run_dir: a folder written by ``toolkit reconcile --out``.
    out_dir: where to write the report; the run folder itself by default.

    Returns
    -------
    ReportPaths

    Raises
    ------
    ToolkitError
        (exit status 2) when ``run_dir`` is not a reconcile run folder.
    """
    run = load_run(run_dir)
    target = Path(out_dir) if out_dir is not None else run.path
    with stage("building the report figures"):
        model = build_model(run)
    with atomic_output_dir(target) as tmp:
        with stage("rendering report.html"):
            (tmp / HTML_NAME).write_text(render_html(model), encoding="utf-8")
        with stage("writing report.xlsx"):
            overflow = write_workbook(model, run.balances, tmp / XLSX_NAME)
    return ReportPaths(
        html=target / HTML_NAME,
        xlsx=target / XLSX_NAME,
        csv_overflow=tuple(target / p.name for p in overflow),
    )
