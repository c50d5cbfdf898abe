"""Benchmark of the bonus sweep: 31 percentage levels x 400 Monte Carlo runs x 20,000 returns.

Target: the whole :func:`toolkit.tuning.sweep_bonus` (Monte Carlo with common random numbers and
coefficient draws, closed-form curve, optimum, breakeven, tornado) in at most 5 s on a 2-core
machine. Writes ``bench/results/tuning.json`` and ``bench/results/tuning.md``.
"""

from __future__ import annotations

import logging
import resource
import sys
import time
from pathlib import Path
from bench import save_results

HERE = Path(__file__).parent
TARGET_S = 5.0


def main() -> int:
    from toolkit.tuning import sweep_bonus

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    sweep_bonus(runs=20, returns=2000, closed_form_returns=5000, fixed_minor=[])  # warm imports
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        result = sweep_bonus(step_pct=1.0, max_pct=30.0, fixed_minor=[], runs=400,
                             returns=20_000, seed=1)
        timings.append(time.perf_counter() - start)
    levels = len(result.table)
    best = min(timings)
    evaluations = levels * 400 * 20_000
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        {"benchmark": "tuning sweep 31x400x20k", "metric": "wall time (best of 3)",
         "value": round(best, 3), "unit": "s", "target": TARGET_S, "ok": best <= TARGET_S},
        {"benchmark": "tuning sweep 31x400x20k", "metric": "customer-level evaluations per second",
         "value": round(evaluations / best), "unit": "1/s", "target": None, "ok": None},
        {"benchmark": "tuning sweep 31x400x20k", "metric": "peak RSS", "value": round(peak_mb, 1),
         "unit": "MB", "target": None, "ok": None},
    ]
    md = [
        "## Bonus tuning",
        "",
        f"`sweep_bonus`: {levels} levels x 400 runs x 20,000 returns "
        f"({evaluations / 1e6:.0f} M customer-level choices, common random numbers, coefficient "
        "draws), plus the closed-form curve, optimum, breakeven and tornado.",
        "",
        "| metric | value | target |",
        "|---|---|---|",
        f"| wall time, best of 3 (all: {', '.join(f'{t:.2f}' for t in timings)} s) | "
        f"{best:.2f} s | <= {TARGET_S:.0f} s {'ok' if best <= TARGET_S else 'MISSED'} |",
        f"| choices evaluated per second | {evaluations / best / 1e6:.0f} M | |",
        f"| peak RSS | {peak_mb:.0f} MB | |",
    ]
    save_results("tuning", rows, md)
    print("\n".join(md))
    return 0 if best <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
