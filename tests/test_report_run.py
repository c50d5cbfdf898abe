"""The report of a real run: simulate a shop's 2,000 returns, reconcile them, render the report,
and read every figure back against the run's own files."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from toolkit.reconcile import reconcile
from toolkit.report import write_report
from toolkit.simulate import simulate_returns

from test_report_support import load_summary, parse_page


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, object]:
    base = tmp_path_factory.mktemp("real")
    sim = simulate_returns(returns=2000, seed=7).write(base / "sim")
    run_dir = base / "run"
    reconcile(sim / "postco_returns.csv", sim / "rise_ledger.csv", sim / "notifications.csv").write(run_dir)
    return run_dir, write_report(run_dir)


def _rows(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_the_run_has_breaks_of_many_reasons_to_render(run):
    run_dir, _paths = run
    summary = load_summary(run_dir)
    assert summary["counts"]["breaks"] > 20
    assert sum(1 for n in summary["counts"]["breaks_by_reason"].values() if n) >= 10


def test_page_figures_equal_the_runs_summary(run):
    run_dir, paths = run
    summary = load_summary(run_dir)
    page = parse_page(paths.html.read_text())
    for ccy, money in summary["money"].items():
        assert page.by_id[f"at-risk-{ccy}"]["data-value"] == money["at_risk"]
        assert page.by_id[f"issued-credit-{ccy}"]["data-value"] == money["issued_credit"]
    for ccy, lia in summary["liability"].items():
        assert page.by_id[f"liability-closing-{ccy}"]["data-value"] == lia["closing"]
        assert page.by_id[f"liability-difference-{ccy}"]["data-value"] == lia["difference"]
    reasons = {a["data-reason"]: int(a["data-count"]) for t, a in page.elements if "data-reason" in a}
    assert reasons == {r: n for r, n in summary["counts"]["breaks_by_reason"].items() if n}
    aging = sum(int(a["data-total"]) for _t, a in page.elements if "data-bucket" in a)
    assert aging == summary["counts"]["breaks"]
    assert page.by_id["conservation"]["data-ok"] == ("true" if summary["conservation"]["ok"] else "false")


def test_money_at_risk_by_age_adds_up_to_the_runs_money_at_risk(run):
    run_dir, paths = run
    summary = load_summary(run_dir)
    html = paths.html.read_text()
    aging = html[html.index('id="aging"'):html.index('id="liability"')]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    currencies = sorted(summary["money"])
    for row in aging.split("<tr data-bucket=")[1:]:
        values = [v.split('"')[0] for v in row.split('data-value="')[1:]]
        for ccy, v in zip(currencies, values):
            totals[ccy] += Decimal(v)
    for ccy in currencies:
        assert totals[ccy] == Decimal(summary["money"][ccy]["at_risk"]), ccy


def test_workbook_breaks_sum_to_breaks_csv_per_currency(run):
    run_dir, paths = run
    breaks = pd.read_csv(run_dir / "breaks.csv", dtype=str, keep_default_na=False)
    rows = _rows(openpyxl.load_workbook(paths.xlsx, read_only=True)["Breaks"])
    assert len(rows) == len(breaks)
    sheet, csv = defaultdict(Decimal), defaultdict(Decimal)
    for r in rows:
        sheet[r["currency"]] += Decimal(str(r["difference"])) if r["difference"] is not None else 0
    for ccy, d in zip(breaks["currency"], breaks["difference"]):
        csv[ccy] += Decimal(d) if d else 0
    assert dict(sheet) == dict(csv)


def test_workbook_wallet_closings_sum_to_the_liability(run):
    run_dir, paths = run
    summary = load_summary(run_dir)
    rows = _rows(openpyxl.load_workbook(paths.xlsx, read_only=True)["Balances"])
    closing = defaultdict(Decimal)
    for r in rows:
        closing[r["currency"]] += Decimal(str(r["closing"]))
    assert len(rows) == sum(v["wallets"] for v in summary["liability"].values())
    for ccy, lia in summary["liability"].items():
        assert closing[ccy] == Decimal(lia["closing"]), ccy
