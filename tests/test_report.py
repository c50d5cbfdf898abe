"""The report renders a reconcile run folder: every figure as the run wrote it, HTML and Excel alike."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import ToolkitError
from toolkit.money import CURRENCY_EXPONENTS, parse_money
from toolkit.report import ReportPaths, write_report
from toolkit.report import excel as excel_module
from toolkit.report.model import AGE_BUCKETS, build_model, format_money
from toolkit.report.run import load_run

from test_report_support import copy_fixture, load_summary, parse_page, text_of_id


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return copy_fixture(tmp_path)


@pytest.fixture()
def rendered(run_dir: Path) -> tuple[Path, ReportPaths]:
    return run_dir, write_report(run_dir)


# --- the folder ---------------------------------------------------------------------------------


def test_report_is_written_into_the_run_folder_beside_the_run_files(rendered):
    run_dir, paths = rendered
    assert paths.html == run_dir / "report.html" and paths.html.is_file()
    assert paths.xlsx == run_dir / "report.xlsx" and paths.xlsx.is_file()
    assert paths.csv_overflow == ()
    for name in ("summary.json", "breaks.csv", "returns.csv", "ledger.csv", "balances.csv"):
        assert (run_dir / name).is_file()
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".")]


def test_report_can_be_written_elsewhere(run_dir, tmp_path):
    paths = write_report(run_dir, tmp_path / "elsewhere")
    assert paths.html.parent == tmp_path / "elsewhere"
    assert not (run_dir / "report.html").exists()


def test_a_folder_without_run_files_is_refused_and_nothing_is_written(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "postco_returns.csv").write_text("return_id\n")
    with pytest.raises(ToolkitError) as exc:
        write_report(folder)
    assert exc.value.exit_status == 2
    assert "not a reconcile run folder" in str(exc.value)
    assert "summary.json" in str(exc.value) and "breaks.csv" in str(exc.value)
    assert sorted(p.name for p in folder.iterdir()) == ["postco_returns.csv"]


def test_a_summary_that_is_not_a_reconcile_summary_is_refused(run_dir):
    (run_dir / "summary.json").write_text(json.dumps({"seed": 11, "returns": 2000}))
    with pytest.raises(ToolkitError, match="not a reconcile summary.*conservation"):
        write_report(run_dir)
    assert not (run_dir / "report.html").exists()


def test_a_broken_summary_is_refused_with_the_file_named(run_dir):
    (run_dir / "summary.json").write_text("{not json")
    with pytest.raises(ToolkitError, match="summary.json: not valid JSON"):
        write_report(run_dir)


def test_rendering_twice_gives_byte_identical_files(run_dir, tmp_path):
    first = write_report(run_dir, tmp_path / "a")
    second = write_report(run_dir, tmp_path / "b")
    assert first.html.read_bytes() == second.html.read_bytes()
    assert first.xlsx.read_bytes() == second.xlsx.read_bytes()


# --- the page -----------------------------------------------------------------------------------


def test_page_is_self_contained(rendered):
    _run_dir, paths = rendered
    html = paths.html.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//""", html)
    assert "https://" not in html
    assert html.count("<svg") == 3 + 3  # a waterfall and a daily chart per currency


def test_conservation_check_comes_first_and_is_green_when_the_run_ties_out(rendered):
    _run_dir, paths = rendered
    html = paths.html.read_text()
    assert html.index('id="conservation"') < html.index('id="headline"') < html.index('id="reasons"')
    assert 'class="conservation ok"' in html and 'data-ok="true"' in html
    assert "the run ties out" in html


def test_a_run_that_does_not_tie_out_shows_a_red_banner(run_dir):
    summary = load_summary(run_dir)
    summary["conservation"]["ok"] = False
    summary["conservation"]["money"]["USD"]["ok"] = False
    (run_dir / "summary.json").write_text(json.dumps(summary))
    html = write_report(run_dir).html.read_text()
    assert 'class="conservation fail"' in html and "FAILED" in html
    assert "Do not sign off" in html


def test_headline_money_equals_summary_json(rendered):
    run_dir, paths = rendered
    summary = load_summary(run_dir)
    page = parse_page(paths.html.read_text())
    html = paths.html.read_text()
    for ccy, money in summary["money"].items():
        assert page.by_id[f"at-risk-{ccy}"]["data-value"] == money["at_risk"]
        assert page.by_id[f"expected-credit-{ccy}"]["data-value"] == money["expected_credit"]
        assert page.by_id[f"issued-credit-{ccy}"]["data-value"] == money["issued_credit"]
        assert page.by_id[f"bonus-cost-{ccy}"]["data-value"] == money["issued_bonus"]
        shown = text_of_id(html, f"at-risk-{ccy}")
        assert parse_money(shown, ccy) == parse_money(money["at_risk"], ccy)
    assert text_of_id(html, "at-risk-USD") == "260.00"
    assert text_of_id(html, "at-risk-JPY") == "500"
    assert page.by_id["breaks-total"]["data-value"] == str(summary["counts"]["breaks"])
    assert page.by_id["exit-status"]["data-value"] == str(summary["exit_status"])


def test_matched_by_count_and_amount_come_from_returns_csv(rendered):
    _run_dir, paths = rendered
    page = parse_page(paths.html.read_text())
    # USD: R1001 matched (50.00) of R1001, R1002, R1003 expecting 250.00.
    assert page.by_id["expecting-credit-USD"]["data-value"] == "3"
    assert page.by_id["matched-count-USD"]["data-value"] == "1"
    assert page.by_id["matched-amount-USD"]["data-value"] == "50.00"
    assert text_of_id(paths.html.read_text(), "matched-amount-pct-USD") == "20.0 %"


def test_breaks_by_reason_count_and_sum_each_currency(rendered):
    run_dir, paths = rendered
    summary = load_summary(run_dir)
    page = parse_page(paths.html.read_text())
    shown = {a["data-reason"]: int(a["data-count"]) for tag, a in page.elements
             if tag == "tbody" and "data-reason" in a}
    assert shown == {r: n for r, n in summary["counts"]["breaks_by_reason"].items() if n}
    html = paths.html.read_text()
    block = html[html.index('data-reason="duplicate_credit"'):]
    block = block[: block.index("</tbody>")]
    assert 'data-value="120.00"' in block and 'data-value="240.00"' in block
    assert "Checked, none found" in html and "<code>wrong_wallet</code>" in html


def test_aging_buckets_partition_the_open_breaks(rendered):
    run_dir, paths = rendered
    page = parse_page(paths.html.read_text())
    totals = {a["data-bucket"]: int(a["data-total"]) for tag, a in page.elements if "data-bucket" in a}
    assert list(totals) == [b[0] for b in AGE_BUCKETS]
    # ages 3 | 11, 29 | 44 | 75 | 120, 120
    assert list(totals.values()) == [1, 2, 1, 1, 2]
    assert sum(totals.values()) == load_summary(run_dir)["counts"]["breaks"]


def test_liability_roll_forward_shows_the_run_figures_and_flags_a_difference(rendered):
    run_dir, paths = rendered
    summary = load_summary(run_dir)
    page = parse_page(paths.html.read_text())
    for ccy, lia in summary["liability"].items():
        for key in ("opening", "closing", "reported_closing", "difference"):
            element = {"reported_closing": "reported"}.get(key, key)
            assert page.by_id[f"liability-{element}-{ccy}"]["data-value"] == lia[key]
        for key, value in lia["movements"].items():
            assert page.by_id[f"liability-{key}-{ccy}"]["data-value"] == value
    html = paths.html.read_text()
    usd = html[html.index('<div class="roll" data-currency="USD"'):]
    assert 'class="diff-bad"' in usd[: usd.index("</table>")]


def test_largest_exceptions_list_the_runs_largest_breaks_in_order(rendered):
    run_dir, paths = rendered
    page = parse_page(paths.html.read_text())
    ids = [a["data-break-id"] for _t, a in page.elements if "data-break-id" in a]
    assert ids == [b["break_id"] for b in load_summary(run_dir)["largest_breaks"]]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_money_shown_to_people_reads_back_to_the_same_minor_units(minor, currency):
    text = format_money(minor, currency)
    assert parse_money(text, currency) == minor
    assert text.count(".") == (1 if CURRENCY_EXPONENTS[currency] else 0)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=400), min_size=7, max_size=7))
def test_every_break_falls_in_exactly_one_age_bucket(tmp_path_factory, ages):
    run_dir = copy_fixture(tmp_path_factory.mktemp("ages"))
    breaks = pd.read_csv(run_dir / "breaks.csv", dtype=str, keep_default_na=False)
    breaks["age_days"] = [str(a) for a in ages]
    breaks.to_csv(run_dir / "breaks.csv", index=False)
    model = build_model(load_run(run_dir))
    assert sum(a.total for a in model.aging) == len(ages)
    for a, (_label, lo, hi) in zip(model.aging, AGE_BUCKETS):
        assert a.total == sum(1 for x in ages if x >= lo and (hi is None or x <= hi))


# --- the workbook -------------------------------------------------------------------------------


def _sheet_rows(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, r)) for r in rows[1:]]


def test_workbook_has_the_sheets_finance_expects(rendered):
    _run_dir, paths = rendered
    book = openpyxl.load_workbook(paths.xlsx)
    assert book.sheetnames == ["Summary", "Breaks", "Roll-forward", "Balances", "Run info"]
    for name in ("Breaks", "Roll-forward", "Balances"):
        ws = book[name]
        assert ws.freeze_panes in ("A2", "B2")
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")


def test_breaks_sheet_has_one_row_per_break_with_money_as_numbers_in_the_currency_format(rendered):
    run_dir, paths = rendered
    book = openpyxl.load_workbook(paths.xlsx)
    ws = book["Breaks"]
    rows = _sheet_rows(ws)
    breaks = pd.read_csv(run_dir / "breaks.csv", dtype=str, keep_default_na=False)
    assert sorted(r["break_id"] for r in rows) == sorted(breaks["break_id"])
    assert [r["severity"] for r in rows][:6] == ["high"] * 6 and rows[-1]["severity"] == "low"
    header = [c.value for c in ws[1]]
    col = header.index("difference") + 1
    formats = {}
    for i, r in enumerate(rows, start=2):
        cell = ws.cell(row=i, column=col)
        expected = breaks.set_index("break_id").loc[r["break_id"], "difference"]
        if expected:
            assert isinstance(cell.value, (int, float))
            assert Decimal(str(cell.value)) == Decimal(expected)
            formats[r["currency"]] = cell.number_format
    assert formats["JPY"] == "#,##0;[Red]-#,##0"
    assert formats["USD"] == "#,##0.00;[Red]-#,##0.00"
    assert formats["KWD"] == "#,##0.000;[Red]-#,##0.000"


def test_roll_forward_sheet_totals_equal_summary_liability(rendered):
    run_dir, paths = rendered
    summary = load_summary(run_dir)
    rows = _sheet_rows(openpyxl.load_workbook(paths.xlsx)["Roll-forward"])
    by_ccy = {r["currency"]: r for r in rows if r["currency"] in summary["liability"]}
    assert set(by_ccy) == set(summary["liability"])
    for ccy, lia in summary["liability"].items():
        for key in ("opening", "closing", "reported_closing", "difference"):
            assert Decimal(str(by_ccy[ccy][key])) == Decimal(lia[key]), (ccy, key)
        assert by_ccy[ccy]["wallets"] == lia["wallets"]


def test_balances_sheet_has_every_wallet_and_the_drifting_one_first(rendered):
    run_dir, paths = rendered
    rows = _sheet_rows(openpyxl.load_workbook(paths.xlsx)["Balances"])
    balances = pd.read_csv(run_dir / "balances.csv", dtype=str, keep_default_na=False)
    assert sorted(r["wallet_id"] for r in rows) == sorted(balances["wallet_id"])
    assert rows[0]["wallet_id"] == "W4" and Decimal(str(rows[0]["difference"])) == Decimal("5.00")


def test_summary_sheet_states_the_tie_out_and_money_at_risk(rendered):
    run_dir, paths = rendered
    summary = load_summary(run_dir)
    ws = openpyxl.load_workbook(paths.xlsx)["Summary"]
    cells = {r[0]: r[1:] for r in ws.iter_rows(values_only=True) if r and r[0]}
    assert cells["Conservation check"][0] == "TIES OUT"
    assert cells["Exit status"][0] == summary["exit_status"]
    currencies = [c for c in cells["Headline"] if c]
    at_risk = dict(zip(currencies, cells["Money at risk"]))
    for ccy, money in summary["money"].items():
        assert Decimal(str(at_risk[ccy])) == Decimal(money["at_risk"])


def test_rows_beyond_the_sheet_limit_go_to_csv_and_the_workbook_says_so(run_dir, monkeypatch):
    monkeypatch.setattr(excel_module, "EXCEL_ROW_LIMIT", 4)
    paths = write_report(run_dir)
    names = sorted(p.name for p in paths.csv_overflow)
    assert names == ["report_balances_overflow.csv", "report_breaks_overflow.csv"]
    book = openpyxl.load_workbook(paths.xlsx)
    on_sheet = [r["break_id"] for r in _sheet_rows(book["Breaks"])]
    overflow = pd.read_csv(run_dir / "report_breaks_overflow.csv", dtype=str, keep_default_na=False)
    assert len(on_sheet) == 3 and len(overflow) == 4
    all_ids = pd.read_csv(run_dir / "breaks.csv", dtype=str)["break_id"]
    assert sorted(on_sheet + list(overflow["break_id"])) == sorted(all_ids)
    notes = " ".join(str(c) for r in book["Summary"].iter_rows(values_only=True) for c in r if c)
    assert "report_breaks_overflow.csv" in notes and "report_balances_overflow.csv" in notes


# --- the command --------------------------------------------------------------------------------


def _run_command(argv: list[str]) -> int:
    import argparse

    from toolkit.report import command

    parser = argparse.ArgumentParser(prog="toolkit report")
    command.configure(parser)
    return command.run(parser.parse_args(argv))


def test_command_prints_the_summary_and_paths_and_exits_with_the_runs_status(run_dir, capsys):
    assert _run_command([str(run_dir)]) == 1
    out = capsys.readouterr().out
    assert str(run_dir / "report.html") in out and str(run_dir / "report.xlsx") in out
    assert "260.00" in out


def test_command_exit_status_is_zero_for_a_clean_run(run_dir, capsys):
    summary = load_summary(run_dir)
    summary["exit_status"] = 0
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert _run_command([str(run_dir)]) == 0


def test_command_refuses_a_folder_that_is_not_a_run_with_exit_status_2(tmp_path, capsys):
    from toolkit.cli import main

    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a reconcile run folder" in err and "Traceback" not in err
