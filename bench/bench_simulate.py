"""Benchmark of the simulator: 1,000,000 return requests, in memory and to CSV files, beside a
naive per-row generator (Faker per customer, a pydantic model per return) measured on a sample
and scaled.

"In memory" is ``simulate_returns``: the typed simulation (minor units, epoch seconds, codes),
everything the files are made of. "To CSV" adds ``Simulation.write``, which renders each file's
text straight from the typed columns. The text frames (``sim.returns`` ...) are made on first
access; the time to make all five is reported too, beside the targets.

Targets on a 2-core machine: <= 10 s in memory, <= 30 s to CSV, <= 4 GB peak RSS, >= 20x faster
per row than the naive way. Each measurement runs in its own process so peak RSS is its own.
Writes ``bench/results/simulate.json`` and ``bench/results/simulate.md``.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from bench import save_results

HERE = Path(__file__).parent
WORK = HERE / "_work" / "simulate"
RETURNS = 1_000_000
NAIVE_SAMPLE = 2_000
TARGETS = {"memory_s": 10.0, "csv_s": 30.0, "rss_gb": 4.0, "speedup": 20.0}


def _child(mode: str) -> None:
    """Run one measurement and print its figures as JSON (called in a fresh process)."""
    from toolkit.simulate import simulate_returns

    if mode == "naive":
        print(json.dumps({"seconds": _naive(NAIVE_SAMPLE)}))
        return
    start = time.perf_counter()
    sim = simulate_returns(returns=RETURNS, seed=11)
    in_memory = time.perf_counter() - start
    out = {"memory_s": in_memory}
    if mode == "csv":
        shutil.rmtree(WORK, ignore_errors=True)
        sim.write(WORK / "sim")
        out["csv_s"] = time.perf_counter() - start
        out["bytes"] = sum(p.stat().st_size for p in (WORK / "sim").iterdir())
        counts = sim.summary()
        out["rows"] = {"returns": counts["returns"], "ledger": counts["ledger_rows"],
                       "notifications": counts["notifications"], "customers": counts["customers"],
                       "truth": sum(counts["breaks_by_reason"].values())}
    if mode == "frames":
        begin = time.perf_counter()
        for name in ("returns", "ledger", "notifications", "customers", "truth"):
            getattr(sim, name)
        out["frames_s"] = time.perf_counter() - begin
    out["rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps(out))


def _naive(n: int) -> float:
    """The obvious way: one Faker customer and one validated pydantic record per return."""
    import random
    from datetime import datetime, timedelta, timezone
    from decimal import ROUND_HALF_UP, Decimal

    from faker import Faker
    from pydantic import BaseModel

    class ReturnRow(BaseModel):
        return_id: str
        order_id: str
        customer_email: str
        customer_name: str
        status: str
        resolution_type: str
        currency: str
        return_total: Decimal
        store_credit_amount: Decimal
        bonus_credit_amount: Decimal
        created_at: datetime

    fake = Faker("en_US")
    fake.seed_instance(1)
    rnd = random.Random(1)
    start = time.perf_counter()
    rows = []
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(n):
        total = Decimal(rnd.randint(1000, 20000)) / 100
        credit = rnd.random() < 0.2
        bonus = (total * Decimal("0.10")).quantize(Decimal("0.01"), ROUND_HALF_UP) if credit else Decimal(0)
        rows.append(ReturnRow(
            return_id=f"PCR-{i:07d}", order_id=str(5_500_000_000_000 + i), customer_email=fake.email(),
            customer_name=fake.name(), status=rnd.choice(["resolved", "pending", "reviewed"]),
            resolution_type="store_credit" if credit else "original_payment", currency="USD",
            return_total=total, store_credit_amount=total if credit else Decimal(0), bonus_credit_amount=bonus,
            created_at=base + timedelta(seconds=rnd.randint(0, 90 * 86400)),
        ).model_dump())
    return time.perf_counter() - start


def _run(mode: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.bench_simulate", "--child", mode],
                          cwd=HERE.parent, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    import os

    load = os.getloadavg()[0]
    mem = _run("memory")
    csv = _run("csv")
    frames = _run("frames")
    naive = _run("naive")
    naive_per_row = naive["seconds"] / NAIVE_SAMPLE
    ours_per_row = mem["memory_s"] / RETURNS
    speedup = naive_per_row / ours_per_row
    rss = max(mem["rss_gb"], csv["rss_gb"])
    rows = [
        {"benchmark": "simulate 1M returns", "metric": "in memory", "value": round(mem["memory_s"], 2),
         "unit": "s", "target": TARGETS["memory_s"], "ok": mem["memory_s"] <= TARGETS["memory_s"]},
        {"benchmark": "simulate 1M returns", "metric": "to CSV files", "value": round(csv["csv_s"], 2),
         "unit": "s", "target": TARGETS["csv_s"], "ok": csv["csv_s"] <= TARGETS["csv_s"]},
        {"benchmark": "simulate 1M returns", "metric": "peak RSS", "value": round(rss, 2), "unit": "GB",
         "target": TARGETS["rss_gb"], "ok": rss <= TARGETS["rss_gb"]},
        {"benchmark": "simulate 1M returns", "metric": "speed-up per row vs naive Faker+pydantic",
         "value": round(speedup, 1), "unit": "x", "target": TARGETS["speedup"], "ok": speedup >= TARGETS["speedup"]},
        {"benchmark": "naive generator", "metric": "per row (sample of 2,000, scaled)",
         "value": round(naive_per_row * 1e6, 1), "unit": "us", "target": None, "ok": None},
        {"benchmark": "simulate 1M returns", "metric": "text frames on first access (all five)",
         "value": round(frames["frames_s"], 2), "unit": "s", "target": None, "ok": None},
        {"benchmark": "simulate 1M returns", "metric": "peak RSS with text frames",
         "value": round(frames["rss_gb"], 2), "unit": "GB", "target": None, "ok": None},
        {"benchmark": "machine", "metric": "load average (1 min) at start", "value": round(load, 2),
         "unit": "", "target": None, "ok": None},
    ]

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    counts = ", ".join(f"{k} {v:,}" for k, v in csv.get("rows", {}).items())
    md = [
        "## Simulator",
        "",
        f"`simulate_returns(returns=1_000_000, seed=11)`: the typed simulation in memory, then "
        f"`Simulation.write` renders every file from it ({counts}; {csv.get('bytes', 0) / 1e6:,.0f} MB "
        f"of CSV). The naive way (one Faker customer and one pydantic record per return, fewer columns, "
        f"no ledger) was timed on {NAIVE_SAMPLE:,} rows and scaled. 2 cores; 1-minute load average "
        f"{load:.2f} when the run started (other work on the machine slows every figure).",
        "",
        "| metric | value | target |",
        "|---|---|---|",
        f"| in memory | {mem['memory_s']:.1f} s | <= {TARGETS['memory_s']:.0f} s {mark(rows[0]['ok'])} |",
        f"| to CSV files (simulate + write) | {csv['csv_s']:.1f} s | <= {TARGETS['csv_s']:.0f} s "
        f"{mark(rows[1]['ok'])} |",
        f"| peak RSS | {rss:.2f} GB | <= {TARGETS['rss_gb']:.0f} GB {mark(rows[2]['ok'])} |",
        f"| naive generator, per row | {naive_per_row * 1e6:.0f} us (1M rows: ~{naive_per_row * RETURNS:.0f} s) | |",
        f"| ours, per row | {ours_per_row * 1e6:.1f} us | |",
        f"| speed-up per row | {speedup:.0f}x | >= {TARGETS['speedup']:.0f}x {mark(rows[3]['ok'])} |",
        f"| text frames on first access (all five) | {frames['frames_s']:.1f} s "
        f"(peak RSS {frames['rss_gb']:.2f} GB) | |",
    ]
    save_results("simulate", rows, md)
    print("\n".join(md))
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
