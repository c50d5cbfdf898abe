"""Run every benchmark area, each in its own process (so peak memory is its own), and gather
their results into ``bench/results.md`` and ``bench/results.json``.

An area is a module ``bench/bench_<area>.py`` with a ``main()`` that writes
``bench/results/<area>.json`` (a list of ``{"benchmark", "metric", "value", "unit", "target",
"ok"}``) and ``bench/results/<area>.md`` (its own section). ``python -m bench AREA ...`` runs only
those areas; ``python -m bench --collect`` only gathers the areas' latest results.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
AREAS = ("simulate", "reconcile", "report", "tuning")


def main(argv: list[str]) -> int:
    unknown = [a for a in argv if a not in AREAS and a != "--collect"]
    if unknown:
        print(f"bench: unknown area(s) {unknown}; areas are {', '.join(AREAS)}", file=sys.stderr)
        return 2
    areas = [] if "--collect" in argv else [a for a in argv if a in AREAS] or list(AREAS)
    (HERE / "results").mkdir(exist_ok=True)
    failed = []
    for area in areas:
        if not (HERE / f"bench_{area}.py").exists():
            continue
        print(f"== bench {area}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", f"bench.bench_{area}"], cwd=HERE.parent)
        print(f"== bench {area}: exit {rc} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        if rc:
            failed.append(area)
    rows, sections = [], []
    for area in AREAS:
        js, md = HERE / "results" / f"{area}.json", HERE / "results" / f"{area}.md"
        if js.exists():
            rows.extend(json.loads(js.read_text()))
        if md.exists():
            sections.append(md.read_text().strip())
    header = (
        "# Benchmark results\n\n"
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python "
        f"{platform.python_version()}. Written by `make bench`; each area runs in its own "
        "process, peak RSS is that process's maximum resident set.\n"
    )
    (HERE / "results.md").write_text(header + "\n" + "\n\n".join(sections) + "\n")
    (HERE / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    missed = [r for r in rows if r.get("ok") is False]
    print(f"bench: {len(rows)} figures, {len(missed)} off target; see bench/results.md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
