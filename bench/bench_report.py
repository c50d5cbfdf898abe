"""Benchmark of the report: render ``report.html`` and ``report.xlsx`` for 1,000,000 returns.

Targets: :func:`toolkit.report.write_report` in at most 10 s on a 2-core machine, and the HTML
page under 5 MB (top-N tables; the full detail stays in the CSVs and the workbook). The run
folder is produced once with the simulator and the reconciler and cached under
``bench/_work/report_1m`` (keyed by returns and seed); only the report is timed.
Writes ``bench/results/report.json`` and ``bench/results/report.md``.
"""

from __future__ import annotations

import json
import logging
import resource
import shutil
import sys
import time
from pathlib import Path
from bench import save_results

HERE = Path(__file__).parent
RETURNS = 1_000_000
SEED = 11
TARGET_S = 10.0
TARGET_HTML_MB = 5.0


def _run_folder(work: Path) -> Path:
    """A reconcile run folder for RETURNS simulated returns, built once and cached."""
    from toolkit.reconcile import reconcile
    from toolkit.simulate import simulate_returns

    run = work / "run"
    stamp = work / "built.json"
    key = {"returns": RETURNS, "seed": SEED}
    if stamp.exists() and json.loads(stamp.read_text()) == key and (run / "summary.json").exists():
        return run
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    simulate_returns(returns=RETURNS, seed=SEED).write(work / "sim")
    sim = work / "sim"
    reconcile(sim / "postco_returns.csv", sim / "rise_ledger.csv", sim / "notifications.csv").write(run)
    stamp.write_text(json.dumps(key))
    return run


def main() -> int:
    from toolkit.report import write_report

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    run = _run_folder(HERE / "_work" / "report_1m")
    sizes = {name: sum(1 for _ in open(run / name)) - 1 for name in ("breaks.csv", "balances.csv", "returns.csv")}
    out = HERE / "_work" / "report_1m" / "report"
    timings = []
    for _ in range(3):
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        paths = write_report(run, out)
        timings.append(time.perf_counter() - start)
    best = min(timings)
    html_mb = paths.html.stat().st_size / 1e6
    xlsx_mb = paths.xlsx.stat().st_size / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    name = f"report {RETURNS // 1000}k returns"
    rows = [
        {"benchmark": name, "metric": "write_report wall time (best of 3)", "value": round(best, 3),
         "unit": "s", "target": TARGET_S, "ok": best <= TARGET_S},
        {"benchmark": name, "metric": "report.html size", "value": round(html_mb, 2), "unit": "MB",
         "target": TARGET_HTML_MB, "ok": html_mb < TARGET_HTML_MB},
        {"benchmark": name, "metric": "report.xlsx size", "value": round(xlsx_mb, 2), "unit": "MB",
         "target": None, "ok": None},
        {"benchmark": name, "metric": "peak RSS", "value": round(peak_mb, 1), "unit": "MB",
         "target": None, "ok": None},
    ]
    md = [
        "## Report",
        "",
        f"`write_report` on a reconcile run of {RETURNS:,} simulated returns (seed {SEED}): "
        f"{sizes['returns.csv']:,} returns, {sizes['breaks.csv']:,} breaks, "
        f"{sizes['balances.csv']:,} wallets. Timed: reading the run folder, the HTML page with its "
        "charts, the workbook with every break and every wallet.",
        "",
        "| metric | value | target |",
        "|---|---|---|",
        f"| wall time, best of 3 (all: {', '.join(f'{t:.2f}' for t in timings)} s) | {best:.2f} s "
        f"| <= {TARGET_S:.0f} s {'ok' if best <= TARGET_S else 'MISSED'} |",
        f"| report.html | {html_mb:.2f} MB | < {TARGET_HTML_MB:.0f} MB "
        f"{'ok' if html_mb < TARGET_HTML_MB else 'MISSED'} |",
        f"| report.xlsx | {xlsx_mb:.1f} MB | |",
        f"| peak RSS | {peak_mb:.0f} MB | |",
    ]
    save_results("report", rows, md)
    print("\n".join(md))
    return 0 if best <= TARGET_S and html_mb < TARGET_HTML_MB else 1


if __name__ == "__main__":
    sys.exit(main())
