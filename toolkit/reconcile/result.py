"""The result of a reconciliation: a frozen, typed value that writes itself as an output folder.

Owns the folder layout (``breaks.csv``, ``returns.csv``, ``ledger.csv``, ``balances.csv``,
``summary.json``) and writing it all-or-nothing through
:func:`toolkit.io.output.atomic_output_dir`. Equal results give byte-equal folders. It must never
compute a break or a balance: it holds what :func:`toolkit.reconcile.reconcile` computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.io.output import atomic_output_dir, write_json
from toolkit.io.text import arrow_memory, write_csv_text

__all__ = ["OUTPUT_FILES", "ReconciliationResult"]

#: The files of an output folder, in the order they are written.
OUTPUT_FILES = ("breaks.csv", "returns.csv", "ledger.csv", "balances.csv", "summary.json")


@dataclass(frozen=True, eq=False)
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

    Example
    -------
    >>> result = reconcile("postco_returns.csv", "rise_ledger.csv")  # doctest: +SKIP
    >>> result.summary["counts"]["breaks_by_reason"]["missing_credit"]  # doctest: +SKIP
    3
    >>> result.write("out/march")  # doctest: +SKIP
    PosixPath('out/march')
    """

    breaks: pd.DataFrame
    returns: pd.DataFrame
    ledger: pd.DataFrame
    balances: pd.DataFrame
    summary: dict[str, Any]
    exit_status: int
    typed_breaks: pd.DataFrame = field(repr=False)

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
            for name, frame in (("breaks.csv", self.breaks), ("returns.csv", self.returns),
                                ("ledger.csv", self.ledger), ("balances.csv", self.balances)):
                write_csv_text(frame, tmp / name)
            write_json(self.summary, tmp / "summary.json")
        return target
