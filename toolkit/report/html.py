"""The HTML report: one self-contained page (inline CSS and SVG, no script, no network).

Rendering is the Jinja2 template's job (``templates/report.html.j2``, package data); this module
only prepares what the template cannot do (flattening nested summary values, drawing charts) and
registers the money filters. Key figures carry stable ``id`` and ``data-value`` attributes (the
contract's decimal string) so tests and scripts can read the page. It must never compute a
reconciliation figure: everything comes from :class:`~toolkit.report.model.ReportModel`.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from toolkit.contract import Severity
from toolkit.money import CURRENCY_EXPONENTS, MoneyParseError, format_minor, parse_money
from toolkit.report.charts import daily_svg, waterfall_svg
from toolkit.report.model import AGE_BUCKETS, ReportModel, format_money

__all__ = ["render_html"]

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["money"] = format_money
    env.filters["plain"] = format_minor
    env.filters["count"] = lambda n: f"{int(n):,}"
    env.filters["pct"] = lambda p: "n/a" if p is None else f"{p:.1f} %"
    env.filters["label"] = lambda s: str(s).replace("_", " ")
    env.filters["when"] = _when
    env.filters["day"] = lambda t: str(t)[:10]
    return env


def _when(text: str) -> str:
    """An ISO timestamp for people: ``2026-03-31 23:59:59+00:00``."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return str(text)
    return moment.isoformat(sep=" ")


def _text_money(text: str, currency: str) -> tuple[int | None, str]:
    """A decimal string from a run file as (minor, text for people); (None, "") when empty."""
    if text in ("", None):
        return None, ""
    try:
        minor = parse_money(str(text), currency)
    except MoneyParseError:
        return None, str(text)
    return minor, format_money(minor, currency)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested summary values as ``("a · b", leaf)`` pairs, skipping empty tables."""
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for k in value:
            out.extend(_flatten(value[k], f"{prefix} · {k}" if prefix else str(k)))
        return out
    return [(prefix, value)]


#: Reading order of the conservation figures (as a controller checks them); others follow.
_CHECK_ORDER = (
    "read", "duplicates_collapsed", "input", "output", "distinct_in_output",
    "ledger_in", "ledger_by_role", "balances_movement", "returns_issued", "ledger_linked_credits",
)


def _check_table(checks: dict[str, Any], currency_rows: bool) -> dict[str, Any]:
    """``{name: {key: value, ..., "ok": bool}}`` as a table: one row per name, one column per key.

    Money values (decimal strings, on currency rows) are shown with thousands separators.
    """
    columns: list[str] = [
        k for k in _CHECK_ORDER if any(isinstance(v, dict) and k in v for v in checks.values())
    ]
    for values in checks.values():
        for k in values if isinstance(values, dict) else ():
            if k != "ok" and k not in columns:
                columns.append(k)
    rows = []
    for name, values in checks.items():
        values = values if isinstance(values, dict) else {"value": values}
        cells = []
        for k in columns:
            v = values.get(k, "")
            if currency_rows and isinstance(v, str) and name in CURRENCY_EXPONENTS:
                minor, text = _text_money(v, name)
                cells.append({"text": text or v, "neg": minor is not None and minor < 0})
            elif isinstance(v, int) and not isinstance(v, bool):
                cells.append({"text": f"{v:,}", "neg": False})
            else:
                cells.append({"text": str(v), "neg": False})
        rows.append({"name": name, "ok": bool(values.get("ok", True)), "cells": cells})
    return {"columns": columns, "rows": rows}


def _conservation(summary: dict[str, Any]) -> dict[str, Any]:
    cons = summary["conservation"]
    return {
        "ok": bool(cons.get("ok")),
        "rows": _check_table(cons.get("rows") or {}, currency_rows=False),
        "money": _check_table(dict(sorted((cons.get("money") or {}).items())), currency_rows=True),
        "others": [(k, v) for k, v in _flatten({k: v for k, v in cons.items() if k not in {"ok", "rows", "money"}})],
    }


def _largest(model: ReportModel) -> list[dict[str, Any]]:
    out = []
    for b in model.largest:
        ccy = b.get("currency", "")
        row = dict(b)
        for col in ("expected_amount", "actual_amount", "difference"):
            minor, text = _text_money(b.get(col, ""), ccy) if ccy in CURRENCY_EXPONENTS else (None, b.get(col, ""))
            row[col + "_text"] = text
            row[col + "_neg"] = minor is not None and minor < 0
        out.append(row)
    return out


def _inputs(summary: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for kind, info in summary.get("inputs", {}).items():
        if not info:
            out.append({"kind": kind, "files": [], "rows": None, "extra": []})
            continue
        extra = [(k, v) for k, v in info.items() if k not in {"files", "rows"}]
        out.append({"kind": kind, "files": info.get("files", []), "rows": info.get("rows"), "extra": extra})
    return out


def _settings(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in _flatten(summary.get("settings", {})) if v not in ({}, None, "")]


def render_html(model: ReportModel) -> str:
    """The whole report page as one string.

    Example
    -------
    >>> page = render_html(build_model(load_run("tests/fixtures/report_run")))  # doctest: +SKIP
    >>> page.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    summary = model.summary
    charts = {
        "waterfall": {r.currency: Markup(waterfall_svg(r)) for r in model.rollforwards},
        "daily": {d.currency: Markup(daily_svg(d)) for d in model.daily},
    }
    severity_counts = summary["counts"].get("breaks_by_severity", {})
    return _environment().get_template("report.html.j2").render(
        m=model,
        s=summary,
        conservation=_conservation(summary),
        inputs=_inputs(summary),
        settings=_settings(summary),
        largest=_largest(model),
        charts=charts,
        severities=[s.value for s in Severity],
        severity_counts={s.value: int(severity_counts.get(s.value, 0)) for s in Severity},
        buckets=[b[0] for b in AGE_BUCKETS],
        liability_difference={r.currency: r.difference for r in model.rollforwards},
    )
