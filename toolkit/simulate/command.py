"""``toolkit simulate``: write a simulated merchant's exports, emails and ground truth to a folder.

This module parses flags and prints the summary; the simulation itself is
:func:`toolkit.simulate.simulate_returns`. It must never compute anything the library does not.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.progress import stage

__all__ = ["configure", "format_summary", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``simulate`` flags to ``parser``."""
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder to write postco_returns.csv, rise_ledger.csv, notifications.csv, "
                             "customers.csv, scenario.json and truth.csv into (created if missing; "
                             "files are replaced only when all are written)")
    parser.add_argument("--returns", type=int, default=None, metavar="N",
                        help="number of return requests to simulate (default: the scenario's, 20000)")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed of every random stream; the same seed gives byte-identical files "
                             "(default: the scenario's, 11)")
    parser.add_argument("--scenario", type=Path, default=None, metavar="FILE",
                        help=f"scenario TOML: shop, customers, lifecycle, Rise workflow, fault rates "
                             "(default: the packaged default.toml, a mid-size apparel shop)")
    parser.add_argument("--clean", action="store_true",
                        help="plant no fault: truth.csv is empty and reconciling finds no break")
    parser.add_argument("--parquet", action="store_true",
                        help="also write each table as Parquet beside its CSV")


def format_summary(summary: dict, out: Path) -> str:
    """The one-screen text printed after a run."""
    lines = [f"Simulated {summary['returns']:,} return requests, {summary['ledger_rows']:,} ledger rows in "
             f"{summary['wallets']:,} wallets, {summary['notifications']:,} emails, "
             f"{summary['customers']:,} customers."]
    lines.append("Returns by status:     " + ", ".join(f"{k} {v:,}" for k, v in summary["by_status"].items()))
    lines.append("Returns by resolution: " + ", ".join(f"{k} {v:,}" for k, v in summary["by_resolution"].items()))
    lines.append("PostCo credit issued:  " + (", ".join(f"{k} {v}" for k, v in summary["credit_issued"].items())
                                              or "none"))
    breaks = summary["breaks_by_reason"]
    lines.append(f"Planted breaks (truth.csv): {sum(breaks.values()):,}")
    for reason, count in breaks.items():
        lines.append(f"  {reason:<28} {count:>6,}")
    faults = {k: v for k, v in summary["faults_planted"].items() if v}
    if faults:
        lines.append("Faults planted: " + ", ".join(f"{k} {v}" for k, v in faults.items()))
    lines.append(f"Files: {out.resolve()}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Simulate and write the folder; exit status 0 (a bad scenario raises ConfigError: 2)."""
    from toolkit.simulate import simulate_returns

    sim = simulate_returns(args.scenario, returns=args.returns, seed=args.seed, clean=args.clean)
    with stage(f"writing {args.out}"):
        out = sim.write(args.out, parquet=args.parquet)
    print(format_summary(sim.summary(), out))
    return 0
