"""Reading a reconcile run folder for the report: the files, checked, as the reconciler wrote them.

This module owns recognising a run folder and loading its files as text (money stays the
contract's decimal strings until :mod:`toolkit.report.model` turns it into minor units). A folder
that is not a reconcile run is refused with a :class:`~toolkit.errors.ToolkitError` (exit 2)
naming what is missing. It must never recompute a reconciliation result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from toolkit.errors import ToolkitError

__all__ = ["RUN_FILES", "RunFolder", "load_run"]

#: Files every reconcile run folder holds.
RUN_FILES: tuple[str, ...] = ("summary.json", "breaks.csv", "returns.csv", "ledger.csv", "balances.csv")

#: Keys of ``summary.json`` the report reads; a summary without them is not a reconcile run's.
SUMMARY_KEYS: tuple[str, ...] = (
    "as_of", "counts", "money", "liability", "conservation", "exit_status", "inputs", "settings",
)

#: Columns of ``returns.csv`` the report reads (the headline match rates).
RETURN_USECOLS: tuple[str, ...] = ("outcome", "currency", "expects_credit", "expected_credit")


@dataclass(frozen=True)
class RunFolder:
    """One reconcile run folder, loaded.

    Attributes
    ----------
    path: the folder.
    summary: ``summary.json`` as parsed JSON.
    breaks: ``breaks.csv``, every column as text (empty string for no value).
    balances: ``balances.csv``, every column as text.
    returns: ``returns.csv`` counted by the columns in :data:`RETURN_USECOLS` (as text), one
        row per distinct combination with its number of returns in ``n``.
    """

    path: Path
    summary: dict[str, Any]
    breaks: pd.DataFrame
    balances: pd.DataFrame
    returns: pd.DataFrame


def _read_text_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, engine="c")
    except ValueError as exc:
        raise ToolkitError(f"{path}: not a reconcile output file ({exc})") from None


def _count_returns(path: Path) -> pd.DataFrame:
    """``returns.csv`` counted by :data:`RETURN_USECOLS`: a million rows become a few thousand.

    Read with Arrow's multi-threaded CSV reader, only the columns the report needs.
    """
    columns = list(RETURN_USECOLS)
    try:
        table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
            include_columns=columns, column_types={c: pa.string() for c in columns},
            strings_can_be_null=False,
        ))
    except (pa.ArrowInvalid, KeyError) as exc:
        raise ToolkitError(f"{path}: not a reconcile output file ({exc})") from None
    counted = table.group_by(columns).aggregate([([], "count_all")]).to_pandas()
    counted = counted.rename(columns={"count_all": "n"}).sort_values(columns, kind="stable")
    return counted.reset_index(drop=True)


def load_run(run_dir: str | Path) -> RunFolder:
    """Load a reconcile run folder, refusing anything else.

    Parameters
    ----------
    run_dir: the folder ``toolkit reconcile --out`` wrote.

    Returns
    -------
    RunFolder

    Raises
    ------
    ToolkitError
        (exit status 2) when the folder does not exist, lacks a run file, or its
        ``summary.json`` is not a reconcile summary.

    Example
    -------
    >>> run = load_run("tests/fixtures/report_run")  # doctest: +SKIP
    >>> run.summary["exit_status"]  # doctest: +SKIP
    1
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ToolkitError(f"{path}: no such folder; expected a reconcile run folder")
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise ToolkitError(
            f"{path}: not a reconcile run folder (missing {', '.join(missing)}); "
            "run `toolkit reconcile ... --out DIR` first"
        )
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ToolkitError(f"{path / 'summary.json'}: not valid JSON ({exc})") from None
    absent = [k for k in SUMMARY_KEYS if not isinstance(summary, dict) or k not in summary]
    if absent:
        raise ToolkitError(
            f"{path / 'summary.json'}: not a reconcile summary (missing {', '.join(absent)})"
        )
    return RunFolder(
        path=path,
        summary=summary,
        breaks=_read_text_csv(path / "breaks.csv"),
        balances=_read_text_csv(path / "balances.csv"),
        returns=_count_returns(path / "returns.csv"),
    )
