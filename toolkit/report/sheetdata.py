"""Fast cell data for the workbook's long sheets (Breaks, Balances): OOXML rows built column-wise.

xlsxwriter spends about 9 microseconds per cell, so a run with a hundred thousand wallets would
take most of a minute; the long sheets' ``<sheetData>`` rows are therefore built here, a column at
a time, and placed into the workbook xlsxwriter wrote (which keeps the header row, column widths,
frozen panes, autofilter, print setup and every style). Rows and cells carry no ``r`` reference:
OOXML places them one after another, as Excel, LibreOffice and openpyxl read them.

Money goes in as the run's own decimal text (``1234.50``): exact, never through a float. This
module writes bytes of a sheet; it must never choose what goes into one.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

__all__ = ["column_letter", "rows_xml", "splice_rows"]

_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_INTEGER = re.compile(r"-?\d{1,15}")


def column_letter(index: int) -> str:
    """Spreadsheet column name of a 0-based index: 0 -> A, 27 -> AB."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _text_cells(values: pd.Series) -> list[str]:
    text = values.astype(str)
    if text.str.contains(_ILLEGAL_XML).any():
        text = text.str.replace(_ILLEGAL_XML, "", regex=True)
    text = text.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False) \
        .str.replace(">", "&gt;", regex=False)
    return [
        "<c/>" if not v else
        f'<c t="inlineStr"><is><t xml:space="preserve">{v}</t></is></c>' if v[0] == " " or v[-1] == " "
        else f'<c t="inlineStr"><is><t>{v}</t></is></c>'
        for v in text.tolist()
    ]


def _number_cells(values: pd.Series, styles: Sequence[int]) -> list[str]:
    return [f'<c s="{s}"><v>{v}</v></c>' if v else "<c/>" for v, s in zip(values.tolist(), styles)]


def _integer_cells(values: pd.Series, style: int) -> list[str]:
    return [
        f'<c s="{style}"><v>{v}</v></c>' if _INTEGER.fullmatch(v)
        else ("<c/>" if not v else f'<c t="inlineStr"><is><t>{v}</t></is></c>')
        for v in values.astype(str).tolist()
    ]


def rows_xml(frame: pd.DataFrame, kinds: Sequence[str], money_styles: Sequence[int],
             integer_style: int) -> str:
    """``<row>`` elements for every record of ``frame`` (text columns), in order.

    Parameters
    ----------
    frame: the table as text (empty string = no value).
    kinds: per column ``"text"``, ``"money"`` (decimal text in the row's currency) or ``"int"``.
    money_styles: per row, the workbook style index of that row's currency format.
    integer_style: style index of whole numbers.

    Example
    -------
    >>> rows_xml(pd.DataFrame({"a": ["x"], "b": ["1.50"]}), ["text", "money"], [3], 4)
    '<row><c t="inlineStr"><is><t>x</t></is></c><c s="3"><v>1.50</v></c></row>'
    """
    columns = []
    for name, kind in zip(frame.columns, kinds):
        values = frame[name]
        if kind == "money":
            columns.append(_number_cells(values, money_styles))
        elif kind == "int":
            columns.append(_integer_cells(values, integer_style))
        else:
            columns.append(_text_cells(values))
    return "".join("<row>" + "".join(cells) + "</row>" for cells in zip(*columns))


def splice_rows(xlsx: Path, sheets: dict[int, tuple[str, str]]) -> None:
    """Append rows after the header row of sheets of a finished workbook, in place.

    Parameters
    ----------
    xlsx: the workbook (as xlsxwriter wrote it, each target sheet holding its header row).
    sheets: 1-based sheet number -> (rows XML from :func:`rows_xml`, new dimension ``A1:P812``).
    """
    names = {f"xl/worksheets/sheet{n}.xml": v for n, v in sheets.items()}
    tmp_path = xlsx.with_name(xlsx.name + ".part")
    try:
        with zipfile.ZipFile(xlsx) as src, zipfile.ZipFile(tmp_path, "w") as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename in names:
                    rows, dimension = names[info.filename]
                    xml = data.decode("utf-8")
                    xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>', xml, count=1)
                    head, tail = xml.split("</sheetData>", 1)
                    data = (head + rows + "</sheetData>" + tail).encode("utf-8")
                    # Level 1 deflate: the long sheets compress ~15x at a fraction of level 6's time.
                    dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
                else:
                    dst.writestr(info, data)
        shutil.move(tmp_path, xlsx)
    finally:
        tmp_path.unlink(missing_ok=True)
