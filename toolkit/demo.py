"""``toolkit demo``: the default scenario end to end, on data the toolkit makes itself.

Simulates a month of a mid-size apparel shop, reconciles the simulated exports against the
simulated ledger, checks that the reconciliation found exactly the faults the simulator planted,
renders the report, runs a small bonus sweep, and prints where everything is. It wires the
library together; it must never compute anything the library does not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from toolkit.progress import stage

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("data/demo"),
                        help="folder for all results (default: data/demo)")
    parser.add_argument("--returns", type=int, default=20000,
                        help="return requests to simulate (default: 20000)")
    parser.add_argument("--seed", type=int, default=11, help="random seed (default: 11)")
    parser.add_argument("--no-tune", action="store_true", help="skip the bonus sweep")


def run(args: argparse.Namespace) -> int:
    from toolkit.reconcile import reconcile
    from toolkit.reconcile.summary_text import format_summary
    from toolkit.simulate import compare_with_truth, simulate_returns

    out: Path = args.out
    sim_dir, run_dir, tune_dir = out / "simulation", out / "reconcile", out / "tuning"
    with stage(f"simulating {args.returns:,} returns (seed {args.seed})"):
        sim = simulate_returns(returns=args.returns, seed=args.seed)
        sim.write(sim_dir)
    with stage("reconciling the simulated exports against the simulated ledger"):
        result = reconcile(
            sim_dir / "postco_returns.csv",
            sim_dir / "rise_ledger.csv",
            sim_dir / "notifications.csv",
        )
        result.write(run_dir)
    agreed, missed, extra = compare_with_truth(result.breaks, sim.truth)
    report_paths = None
    try:
        from toolkit.report import write_report
    except ImportError:
        write_report = None
    if write_report is not None:
        with stage("rendering the report"):
            report_paths = write_report(run_dir)
    sweep = None
    if not args.no_tune:
        try:
            from toolkit.tuning import sweep_bonus
        except ImportError:
            sweep_bonus = None
        if sweep_bonus is not None:
            with stage("sweeping bonus levels"):
                sweep = sweep_bonus(seed=args.seed)
                sweep.write(tune_dir)

    print(format_summary(result.summary))
    print()
    verdict = "yes" if missed == 0 and extra == 0 else "NO"
    print(f"Found exactly the planted faults: {verdict} "
          f"({agreed} agreed, {missed} planted but not found, {extra} found but not planted)")
    if sweep is not None:
        print(f"Bonus recommendation: {sweep.recommendation.get('headline', '')}")
    print()
    print(f"Simulated exports and truth: {sim_dir}")
    print(f"Reconciliation:              {run_dir}")
    if report_paths is not None:
        print(f"Report (HTML):               {report_paths.html}")
        print(f"Report (Excel):              {report_paths.xlsx}")
    if sweep is not None:
        print(f"Bonus sweep:                 {tune_dir}")
    sys.stdout.flush()
    return 0 if missed == 0 and extra == 0 else 1
