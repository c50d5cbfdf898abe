"""The Excel workbook of the report: the sheets a controller hands to whoever fixes the breaks.

Sheets: Summary (tie-out, headline per currency, breaks by reason, aging), Breaks (one row per
break, autofilter), Roll-forward (liability per currency), Balances (one row per wallet), Run info
(inputs, settings, the meaning of every reason). Money cells are real numbers with the currency's
own format (0 decimals JPY, 3 KWD, 2 others; negatives red); headers are frozen and filterable.

Detail that does not fit under Excel's row limit goes to a CSV beside the workbook and the Summary
sheet says where; :data:`EXCEL_ROW_LIMIT` is a module constant so tests can lower it.
Amounts are written from the run's decimal strings (never through a float). The short sheets are
written cell by cell with xlsxwriter (streamed, ``constant_memory``); the long ones (Breaks,
Balances) get their rows from :mod:`toolkit.report.sheetdata`, about ten times faster.
This module lays out cells; it must never compute a reconciliation figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.contract import BREAK_SEVERITY, Severity
from toolkit.io.output import write_csv
from toolkit.money import CURRENCY_EXPONENTS, format_minor
from toolkit.report.model import REASON_DEFINITIONS, ReportModel
from toolkit.report.sheetdata import column_letter, rows_xml, splice_rows

__all__ = ["EXCEL_ROW_LIMIT", "SHEETS", "write_workbook"]

#: Rows per worksheet in Excel (header included). Tests lower it to exercise the CSV overflow.
EXCEL_ROW_LIMIT = 1_048_576

#: The workbook's sheets, in order.
SHEETS = ("Summary", "Breaks", "Roll-forward", "Balances", "Run info")

#: Money columns of breaks.csv and balances.csv (written as numbers in the row's currency).
BREAK_MONEY = ("expected_amount", "actual_amount", "difference")
BALANCE_MONEY = (
    "opening", "refund_credits", "bonus_credits", "other_credits", "redemptions",
    "redemption_refunds", "expiries", "cancellations", "voids", "adjustments", "other",
    "closing", "reported_closing", "difference",
)
_INT_COLUMNS = ("age_days", "rows")
_MAX_WIDTH = 44
_SEVERITY_RANK = {Severity.HIGH.value: 0, Severity.MEDIUM.value: 1, Severity.LOW.value: 2}


def _money_format(exp: int) -> str:
    body = "#,##0" + ("." + "0" * exp if exp else "")
    return f"{body};[Red]-{body}"


@dataclass
class _Formats:
    """The workbook's cell formats, created once."""

    money: dict[int, Any]
    header: Any
    title: Any
    bold: Any
    ok: Any
    fail: Any
    integer: Any
    wrap: Any
    note: Any

    def for_currency(self, currency: str) -> Any:
        return self.money[CURRENCY_EXPONENTS.get(currency, 2)]


def _formats(book: Any) -> _Formats:
    return _Formats(
        money={e: book.add_format({"num_format": _money_format(e)}) for e in sorted(set(CURRENCY_EXPONENTS.values()))},
        header=book.add_format({"bold": True, "bg_color": "#E8ECF2", "bottom": 1, "text_wrap": True, "valign": "top"}),
        title=book.add_format({"bold": True, "font_size": 14}),
        bold=book.add_format({"bold": True}),
        ok=book.add_format({"bold": True, "font_color": "#1F7A45", "bg_color": "#E6F4EA", "align": "left"}),
        fail=book.add_format({"bold": True, "font_color": "#B3261E", "bg_color": "#FDECEA", "align": "left"}),
        integer=book.add_format({"num_format": "#,##0"}),
        wrap=book.add_format({"text_wrap": True, "valign": "top"}),
        note=book.add_format({"italic": True, "font_color": "#6B7486"}),
    )


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested settings as ``("columns.returns", value)`` pairs."""
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, value)]


def _print_setup(ws: Any, repeat_header: bool = True) -> None:
    """A4 landscape, one page wide, header row repeated: sheets print as finance expects."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    if repeat_header:
        ws.repeat_rows(0)
    ws.set_footer("&L&A&RPage &P of &N")


def _width(header: str, values: list[str]) -> int:
    longest = max([len(header)] + [len(v) for v in values[:2000]]) if values else len(header)
    return min(_MAX_WIDTH, max(8, longest + 2))


def _write_table(ws: Any, fmt: _Formats, frame: pd.DataFrame, money: tuple[str, ...]) -> tuple[str, str]:
    """Lay out ``frame`` (text columns) from A1: header, widths, frozen header, autofilter.

    Returns the data rows as sheet XML and the sheet's dimension; :func:`write_workbook` splices
    them in after the workbook is written (see :mod:`toolkit.report.sheetdata`).
    """
    columns = list(frame.columns)
    for j, col in enumerate(columns):
        ws.write_string(0, j, col, fmt.header)
    kinds = ["money" if c in money else "int" if c in _INT_COLUMNS else "text" for c in columns]
    sample = frame.head(2000)
    for j, col in enumerate(columns):
        values = sample[col].tolist()
        if kinds[j] == "money":
            values = [f"{Decimal(v):,}" for v in values if v]
        ws.set_column(j, j, _width(col, values))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    ccy = frame["currency"] if "currency" in frame else pd.Series("USD", index=frame.index)
    by_currency = {c: fmt.for_currency(c)._get_xf_index() for c in ccy.unique()}
    rows = rows_xml(frame, kinds, ccy.map(by_currency).tolist(), fmt.integer._get_xf_index())
    return rows, f"A1:{column_letter(len(columns) - 1)}{len(frame) + 1}"


def _split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows that fit on one sheet under the header, and the rest."""
    fit = EXCEL_ROW_LIMIT - 1
    return frame.iloc[:fit], frame.iloc[fit:]


def _sorted_breaks(model: ReportModel) -> pd.DataFrame:
    """Breaks to chase first on top: severity, then per currency the most money at stake, the oldest.

    Amounts of different currencies are never compared: rows are grouped by currency first.
    """
    b = model.breaks
    order = np.lexsort((
        b["break_id"].to_numpy(),
        -b["age"].to_numpy(),
        -np.abs(b["net"].to_numpy()),
        b["currency"].to_numpy(),
        b["severity"].map(_SEVERITY_RANK).fillna(3).to_numpy(),
    ))
    text_cols = [c for c in b.columns if c not in {"expected", "actual", "net", "risk", "age"}]
    return b.iloc[order][text_cols].reset_index(drop=True)


def _sorted_balances(balances: pd.DataFrame) -> pd.DataFrame:
    """Wallets that need attention on top: a difference, then a negative closing; then by id.

    The amounts are the run's canonical decimal text, so a sign test on the text is exact: an
    amount is non-zero when a digit other than 0 remains, negative when it starts with ``-``.
    """
    if balances.empty:
        return balances
    drifting = balances["difference"].str.strip("-0.") != ""
    negative = balances["closing"].str.startswith("-") & (balances["closing"].str.strip("-0.") != "")
    attention = np.where(drifting.to_numpy(dtype=bool), 0, np.where(negative.to_numpy(dtype=bool), 1, 2))
    order = np.lexsort((balances["wallet_id"].to_numpy(), balances["currency"].to_numpy(), attention))
    return balances.iloc[order].reset_index(drop=True)


def _summary_sheet(ws: Any, fmt: _Formats, model: ReportModel, notes: list[str]) -> None:
    s = model.summary
    ws.set_column(0, 0, 36)
    ws.set_column(1, 5 + max(len(model.currencies), 3), 16)
    ws.write_string(0, 0, "Store-credit reconciliation", fmt.title)
    ws.write_string(1, 0, "As of")
    ws.write_string(1, 1, str(s["as_of"]).replace("T", " "))
    period = s.get("period") or {}
    ws.write_string(2, 0, "Period")
    ws.write_string(2, 1, f"{str(period.get('first', ''))[:10]} to {str(period.get('last', ''))[:10]}")
    ws.write_string(3, 0, "Conservation check")
    ws.write_string(3, 1, "TIES OUT" if model.conservation_ok else "DOES NOT TIE OUT",
                    fmt.ok if model.conservation_ok else fmt.fail)
    ws.write_string(4, 0, "Exit status")
    ws.write_number(4, 1, model.exit_status, fmt.fail if model.exit_status else fmt.ok)
    ws.write_string(4, 2, "high or medium breaks found" if model.exit_status else "no high or medium breaks")
    row = 5
    for note in notes:
        ws.write_string(row, 0, note, fmt.fail)
        row += 1
    row += 1

    ws.write_string(row, 0, "Headline", fmt.bold)
    for j, h in enumerate(model.headlines):
        ws.write_string(row, 1 + j, h.currency, fmt.header)
    lines = (
        ("Returns expecting credit", "expecting_credit", False),
        ("Matched (count)", "matched", False),
        ("Credit expected", "expected_credit", True),
        ("Matched (amount)", "matched_credit", True),
        ("Credit issued (linked)", "issued_credit", True),
        ("Bonus expected", "expected_bonus", True),
        ("Bonus cost (issued)", "issued_bonus", True),
        ("Breaks", "breaks", False),
        ("Breaks, high + medium", "breaks_high_medium", False),
        ("Money at risk", "at_risk", True),
    )
    for label, attr, is_money in lines:
        row += 1
        ws.write_string(row, 0, label)
        for j, h in enumerate(model.headlines):
            v = getattr(h, attr)
            if is_money:
                ws.write_number(row, 1 + j, Decimal(format_minor(v, h.currency)), fmt.for_currency(h.currency))
            else:
                ws.write_number(row, 1 + j, v, fmt.integer)
    row += 2

    ws.write_string(row, 0, "Breaks by reason", fmt.bold)
    for j, head in enumerate(("Severity", "Currency", "Count", "Expected", "Actual", "Net exposure", "At risk")):
        ws.write_string(row, 1 + j, head, fmt.header)
    for r in model.reasons:
        if r.count == 0:
            continue
        for k, line in enumerate(r.lines or ()):
            row += 1
            ws.write_string(row, 0, r.reason if k == 0 else "")
            if k == 0:
                ws.write_string(row, 1, r.severity)
            ws.write_string(row, 2, line.currency)
            ws.write_number(row, 3, line.count, fmt.integer)
            for j, v in enumerate((line.expected, line.actual, line.net, line.at_risk)):
                ws.write_number(row, 4 + j, Decimal(format_minor(v, line.currency)), fmt.for_currency(line.currency))
    row += 2

    ws.write_string(row, 0, "Aging of open breaks", fmt.bold)
    heads = [sev.value for sev in Severity] + ["total"] + [f"at risk {c}" for c in model.currencies]
    for j, head in enumerate(heads):
        ws.write_string(row, 1 + j, head, fmt.header)
    for a in model.aging:
        row += 1
        ws.write_string(row, 0, f"{a.label} since release")
        values = [a.by_severity[sev.value] for sev in Severity] + [a.total]
        for j, v in enumerate(values):
            ws.write_number(row, 1 + j, v, fmt.integer)
        for j, c in enumerate(model.currencies):
            ws.write_number(row, 1 + len(values) + j, Decimal(format_minor(a.at_risk[c], c)), fmt.for_currency(c))


def _rollforward_sheet(ws: Any, fmt: _Formats, model: ReportModel) -> None:
    moves = [(key, label) for key, label, _v in (model.rollforwards[0].movements if model.rollforwards else ())]
    heads = ["currency", "opening"] + [k for k, _ in moves] + ["closing", "reported_closing", "difference", "wallets"]
    for j, h in enumerate(heads):
        ws.write_string(0, j, h, fmt.header)
        ws.set_column(j, j, max(12, len(h) + 4))
    for i, r in enumerate(model.rollforwards):
        f = fmt.for_currency(r.currency)
        values = [r.opening] + [dict((k, v) for k, _l, v in r.movements).get(k, 0) for k, _ in moves]
        values += [r.closing, r.reported_closing, r.difference]
        ws.write_string(1 + i, 0, r.currency)
        for j, v in enumerate(values):
            ws.write_number(1 + i, 1 + j, Decimal(format_minor(v, r.currency)), f)
        ws.write_number(1 + i, 1 + len(values), r.wallets, fmt.integer)
    ws.freeze_panes(1, 1)
    ws.autofilter(0, 0, max(len(model.rollforwards), 1), len(heads) - 1)
    ws.write_string(len(model.rollforwards) + 2, 0,
                    "closing = opening + every movement (signed); difference = reported_closing - closing",
                    fmt.note)


def _run_info_sheet(ws: Any, fmt: _Formats, model: ReportModel) -> None:
    s = model.summary
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 40)
    ws.set_column(2, 2, 12)
    ws.set_column(3, 3, 70)
    row = 0
    ws.write_string(row, 0, "Run", fmt.title)
    for label, value in (("As of", s["as_of"]), ("Toolkit version", s.get("toolkit_version", ""))):
        if value:
            row += 1
            ws.write_string(row, 0, label)
            ws.write_string(row, 1, str(value))
    row += 2
    ws.write_string(row, 0, "Input files", fmt.bold)
    for j, h in enumerate(("input", "file", "rows", "sha256")):
        ws.write_string(row + 1, j, h, fmt.header)
    row += 1
    for kind, info in (s.get("inputs") or {}).items():
        for f in (info or {}).get("files", []) if info else [{}]:
            row += 1
            ws.write_string(row, 0, kind)
            ws.write_string(row, 1, str(f.get("path", "not given")))
            if isinstance(f.get("rows"), int):
                ws.write_number(row, 2, f["rows"], fmt.integer)
            ws.write_string(row, 3, str(f.get("sha256", "")))
    row += 2
    ws.write_string(row, 0, "Settings (assumptions)", fmt.bold)
    for key, value in _flatten(s.get("settings") or {}):
        if value in ({}, None, ""):
            continue
        row += 1
        ws.write_string(row, 0, key)
        ws.write_string(row, 1, str(value))
    row += 2
    ws.write_string(row, 0, "Break reasons", fmt.bold)
    for j, h in enumerate(("reason", "severity", "", "meaning")):
        if h:
            ws.write_string(row + 1, j, h, fmt.header)
    row += 1
    for reason, text in REASON_DEFINITIONS.items():
        row += 1
        ws.write_string(row, 0, str(reason))
        ws.write_string(row, 1, BREAK_SEVERITY[reason].value)
        ws.write_string(row, 3, text)


def write_workbook(model: ReportModel, balances: pd.DataFrame, path: Path) -> tuple[Path, ...]:
    """Write the workbook to ``path``; rows beyond the sheet limit go to CSVs beside it.

    Parameters
    ----------
    model: the report model.
    balances: ``balances.csv`` as text, one row per wallet.
    path: the ``.xlsx`` file to write.

    Returns
    -------
    The overflow CSV files written (empty when everything fit).

    Example
    -------
    >>> write_workbook(model, run.balances, Path("/tmp/report.xlsx"))  # doctest: +SKIP
    ()
    """
    breaks = _sorted_breaks(model)
    wallets = _sorted_balances(balances)
    breaks_fit, breaks_rest = _split(breaks)
    wallets_fit, wallets_rest = _split(wallets)
    overflow: list[Path] = []
    notes: list[str] = []
    for name, rest, total, sheet in (
        ("report_breaks_overflow.csv", breaks_rest, len(breaks), "Breaks"),
        ("report_balances_overflow.csv", wallets_rest, len(wallets), "Balances"),
    ):
        if len(rest):
            target = path.parent / name
            write_csv(rest, target)
            overflow.append(target)
            notes.append(
                f"{sheet}: {total:,} rows; the first {total - len(rest):,} are on sheet {sheet}, "
                f"the other {len(rest):,} are in {name} (Excel holds {EXCEL_ROW_LIMIT:,} rows a sheet)."
            )
    created = datetime.fromisoformat(str(model.summary["as_of"]).replace("Z", "+00:00"))
    with pd.ExcelWriter(path, engine="xlsxwriter",
                        engine_kwargs={"options": {"constant_memory": True}}) as writer:
        book = writer.book
        # A fixed creation time (the run's as-of) keeps the workbook byte-identical across renders.
        book.set_properties({"title": "Store-credit reconciliation", "created": created.replace(tzinfo=None)})
        fmt = _formats(book)
        sheets = {name: book.add_worksheet(name) for name in SHEETS}
        for name, ws in sheets.items():
            _print_setup(ws, repeat_header=name in {"Breaks", "Roll-forward", "Balances"})
        _summary_sheet(sheets["Summary"], fmt, model, notes)
        long_rows = {
            1 + SHEETS.index("Breaks"): _write_table(sheets["Breaks"], fmt, breaks_fit, BREAK_MONEY),
            1 + SHEETS.index("Balances"): _write_table(sheets["Balances"], fmt, wallets_fit, BALANCE_MONEY),
        }
        _rollforward_sheet(sheets["Roll-forward"], fmt, model)
        _run_info_sheet(sheets["Run info"], fmt, model)
    splice_rows(path, long_rows)
    return tuple(overflow)
