"""Shared helpers of the report tests: a copy of the hand-built run folder and readers of the page."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "report_run"


def copy_fixture(dest: Path) -> Path:
    """A fresh copy of the hand-built run folder (USD, JPY and KWD; seven breaks)."""
    target = dest / "run"
    shutil.copytree(FIXTURE, target)
    return target


def load_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())


class _Collector(HTMLParser):
    """Collects ``id -> attributes`` and every element's ``data-*`` attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str]] = {}
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if "id" in a:
            self.by_id[a["id"]] = a


def parse_page(html: str) -> _Collector:
    c = _Collector()
    c.feed(html)
    return c


def text_of_id(html: str, element_id: str) -> str:
    """The text inside the element with ``element_id`` (a leaf ``span``)."""
    m = re.search(rf'id="{re.escape(element_id)}"[^>]*>([^<]*)<', html)
    assert m, f"no element with id {element_id}"
    return m.group(1)
