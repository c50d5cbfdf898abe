"""The report in the programs people open it with: headless Chromium for the page, LibreOffice
for the workbook. Each test skips, with the reason shown, only when its program is not installed."""

from __future__ import annotations

import csv
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from toolkit.money import parse_money
from toolkit.report import write_report

from test_report_support import copy_fixture, load_summary

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, Path, Path]:
    run_dir = copy_fixture(tmp_path_factory.mktemp("programs"))
    paths = write_report(run_dir)
    return run_dir, paths.html, paths.xlsx


@pytest.fixture(scope="module")
def browser_page(rendered):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="python package playwright missing")
    _run_dir, html, _xlsx = rendered
    console_errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        yield page, console_errors, requests
        browser.close()


@pytest.mark.browser
def test_page_loads_without_errors_or_network(browser_page, rendered):
    page, console_errors, requests = browser_page
    assert console_errors == []
    assert requests == [rendered[1].as_uri()]


@pytest.mark.browser
def test_numbers_the_browser_shows_equal_summary_json(browser_page, rendered):
    page, _errors, _requests = browser_page
    summary = load_summary(rendered[0])
    for ccy, money in summary["money"].items():
        shown = page.inner_text(f"#at-risk-{ccy}")
        assert parse_money(shown, ccy) == parse_money(money["at_risk"], ccy)
        shown = page.inner_text(f"#issued-credit-{ccy}")
        assert parse_money(shown, ccy) == parse_money(money["issued_credit"], ccy)
    for ccy, lia in summary["liability"].items():
        shown = page.inner_text(f"#liability-closing-{ccy}")
        assert parse_money(shown, ccy) == parse_money(lia["closing"], ccy)
    assert page.inner_text("#breaks-total") == str(summary["counts"]["breaks"])
    assert "ties out" in page.inner_text("#conservation")
    assert page.locator("#conservation svg, #liability svg").count() == len(summary["liability"])


@pytest.mark.browser
def test_screenshot_is_a_real_page_not_a_blank_one(browser_page, tmp_path):
    page, _errors, _requests = browser_page
    from PIL import Image

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    image = Image.open(shot).convert("RGB")
    assert image.height > 2000
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200


@pytest.mark.browser
def test_page_prints_to_pdf(browser_page, tmp_path):
    page, _errors, _requests = browser_page
    pdf = page.pdf(format="A4", landscape=True, print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000


def _soffice(tmp_path: Path, target: str, source: Path) -> Path:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) not installed")
    out = tmp_path / "converted"
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/lo_profile", "--headless",
         "--convert-to", target, "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.office
def test_libreoffice_converts_the_workbook_to_pdf(rendered, tmp_path):
    out = _soffice(tmp_path, "pdf", rendered[2])
    pdf = out / "report.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert "TIES OUT" in text and "Money at risk" in text and "260.00" in text


#: LibreOffice's CSV filter with its last option -1: every sheet to its own file (raw values).
EVERY_SHEET_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


@pytest.mark.office
def test_libreoffice_reads_every_sheet_with_the_runs_values(rendered, tmp_path):
    out = _soffice(tmp_path, EVERY_SHEET_CSV, rendered[2])
    run_dir = rendered[0]
    summary = load_summary(run_dir)
    sheet = {name: list(csv.reader((out / f"report-{name}.csv").read_text().splitlines()))
             for name in ("Summary", "Breaks", "Roll-forward", "Balances")}
    by_label = {r[0]: r[1:] for r in sheet["Summary"] if r}
    assert by_label["Conservation check"][0] == "TIES OUT"
    shown = dict(zip([c for c in by_label["Headline"] if c], by_label["Money at risk"]))
    for ccy, money in summary["money"].items():
        assert Decimal(shown[ccy]) == Decimal(money["at_risk"])
    breaks = list(csv.DictReader((run_dir / "breaks.csv").read_text().splitlines()))
    header, *rows = sheet["Breaks"]
    assert header == list(breaks[0]) and len(rows) == len(breaks)
    col = header.index("difference")
    assert sum(Decimal(r[col]) for r in rows if r[col]) == sum(Decimal(b["difference"]) for b in breaks if b["difference"])
    header, *rows = sheet["Balances"]
    closing = header.index("closing")
    usd = sum(Decimal(r[closing]) for r in rows if r[header.index("currency")] == "USD")
    assert usd == Decimal(summary["liability"]["USD"]["closing"])
