"""Benchmarks (not tests): ``make bench`` runs each area and writes ``bench/results.md``."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def save_results(area: str, rows: list[dict], md_lines: list[str]) -> None:
    """Write an area's figures to ``results/<area>.json`` and its section to ``results/<area>.md``."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{area}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / f"{area}.md").write_text("\n".join(md_lines) + "\n")
