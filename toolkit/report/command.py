"""``toolkit report RUN_DIR [--out DIR]``: render the report of a reconcile run folder.

Prints the run's one-screen summary and where the report files are; the exit status is the run's
own (0 no high or medium break, 1 at least one), or 2 when the folder is not a reconcile run.
This module parses flags and prints; it must never compute or render anything itself.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path,
                        help="a folder written by `toolkit reconcile --out`")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help="write report.html and report.xlsx here (default: RUN_DIR)")


def run(args: argparse.Namespace) -> int:
    from toolkit.reconcile.summary_text import format_summary
    from toolkit.report import write_report

    paths = write_report(args.run_dir, args.out)
    summary = json.loads((Path(args.run_dir) / "summary.json").read_text(encoding="utf-8"))
    print(format_summary(summary, args.run_dir), end="")
    print(f"Report (HTML):  {paths.html}")
    print(f"Report (Excel): {paths.xlsx}")
    for extra in paths.csv_overflow:
        print(f"Rows beyond Excel's row limit: {extra}")
    return int(summary["exit_status"])
