"""The result of a reconciliation: a frozen, typed value that writes itself as an output folder.

Owns the folder layout (``breaks.csv``, ``returns.csv``, ``ledger.csv``, ``balances.csv``,
``summary.json``) and writing it all-or-nothing through
:func:`toolkit.io.output.atomic_output_dir`. Equal results give byte-equal folders. It must never
compute a break or a balance: it holds what :func:`toolkit.reconcile.reconcile` computed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.io.output import atomic_output_dir, write_json
from toolkit.io.text import TextTable, arrow_memory, write_text_tables

__all__ = ["OUTPUT_FILES", "ReconciliationResult"]

#: The files of an output folder, in the order they are written.
OUTPUT_FILES = ("breaks.csv", "returns.csv", "ledger.csv", "balances.csv", "summary.json")
_TABLES = ("breaks", "returns", "ledger", "balances")


def _table(name: str) -> property:
    """A result table as a frame of text, made the first time it is read."""

    def read(self: ReconciliationResult) -> pd.DataFrame:
        return self._frame(name)

    return property(read, doc=f"``{name}.csv`` as a frame of text.")


class ReconciliationResult:
    """What a reconciliation found, in the text form written to disk.

    Attributes
    ----------
    breaks: ``breaks.csv``: one row per break, sorted by reason, return id, transaction id.
    returns: ``returns.csv``: one row per input return (outcome, reasons, credits), by return id.
    ledger: ``ledger.csv``: one row per input ledger row (role, link, outcome), by time and id.
    balances: ``balances.csv``: one roll-forward row per wallet, by wallet id.
    summary: ``summary.json`` as a dict (counts, money, liability, conservation, daily series).
    exit_status: 0 when no break is of high or medium severity, else 1.
    typed_breaks: the breaks with amounts as ``Int64`` minor units (same order as ``breaks``).

    The four tables are frames of ``str`` columns. The reconciler hands them over as
    :class:`~toolkit.io.text.TextTable` (codes, integers and orders, no text yet): a table's
    frame is made the first time it is read, and :meth:`write` formats the files a slice of
    rows at a time without making the frames at all. The result is frozen.

    Example
    -------
    >>> result = reconcile("postco_returns.csv", "rise_ledger.csv")  # doctest: +SKIP
    >>> result.summary["counts"]["breaks_by_reason"]["missing_credit"]  # doctest: +SKIP
    3
    >>> result.write("out/march")  # doctest: +SKIP
    PosixPath('out/march')
    """

    __slots__ = ("_text", "_frames", "summary", "exit_status", "typed_breaks")

    def __init__(
        self, breaks: pd.DataFrame | TextTable, returns: pd.DataFrame | TextTable,
        ledger: pd.DataFrame | TextTable, balances: pd.DataFrame | TextTable,
        summary: dict[str, Any], exit_status: int, typed_breaks: pd.DataFrame,
    ) -> None:
        tables = dict(zip(_TABLES, (breaks, returns, ledger, balances)))
        set_ = object.__setattr__
        set_(self, "_text", {k: v for k, v in tables.items() if isinstance(v, TextTable)})
        set_(self, "_frames", {k: v for k, v in tables.items() if not isinstance(v, TextTable)})
        set_(self, "summary", summary)
        set_(self, "exit_status", exit_status)
        set_(self, "typed_breaks", typed_breaks)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ReconciliationResult is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ReconciliationResult is frozen: cannot delete {name!r}")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={self._rows(name)} rows" for name in _TABLES)
        return f"ReconciliationResult({sizes}, exit_status={self.exit_status})"

    def __reduce__(self) -> tuple:
        # Pickled (or copied) as frames: text tables hold locks and lazily made encodings.
        return (ReconciliationResult, (self.breaks, self.returns, self.ledger, self.balances,
                                       self.summary, self.exit_status, self.typed_breaks))

    def _rows(self, name: str) -> int:
        return len(self._text[name]) if name in self._text else len(self._frames[name])

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            with arrow_memory():
                self._frames[name] = self._text[name].to_pandas()
        return self._frames[name]

    breaks = _table("breaks")
    returns = _table("returns")
    ledger = _table("ledger")
    balances = _table("balances")

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain Python: the summary and each table as a list of row dicts."""
        return {
            "summary": self.summary,
            "exit_status": self.exit_status,
            "breaks": self.breaks.to_dict(orient="records"),
            "returns": self.returns.to_dict(orient="records"),
            "ledger": self.ledger.to_dict(orient="records"),
            "balances": self.balances.to_dict(orient="records"),
        }

    def write(self, out_dir: str | Path) -> Path:
        """Write the output folder; nothing changes in ``out_dir`` unless every file is complete.

        Returns
        -------
        Path of the folder.
        """
        target = Path(out_dir)
        with arrow_memory(), atomic_output_dir(target) as tmp:
            tables = [self._text[name] if name in self._text
                      else TextTable.from_frame(self._frames[name]) for name in _TABLES]
            write_json(self.summary, tmp / "summary.json")
            write_text_tables([(table, tmp / f"{name}.csv")
                               for name, table in zip(_TABLES, tables)])
        return target
