"""The one exception root of the toolkit, and the errors that carry an exit status.

Bad input is refused with evidence: :class:`InputError` holds every offending row found in one
pass, grouped by file and column, so a user fixes an export once rather than once per row.
Business discrepancies are never exceptions: they are breaks, i.e. data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ConfigError", "InputError", "InputProblem", "ToolkitError"]

#: How many row numbers a message lists before it says "and N more".
ROWS_SHOWN = 20


class ToolkitError(Exception):
    """Root of every error the toolkit raises on purpose. ``exit_status`` is the CLI's."""

    exit_status = 2


@dataclass(frozen=True)
class InputProblem:
    """One kind of problem in one column of one file, with every row it affects.

    Attributes
    ----------
    file: the file as the user named it.
    column: the contract's column name (or ``""`` for a whole-file problem).
    problem: what is wrong, in words (``"not an amount"``, ``"missing required column"``).
    rows: 1-based data row numbers as a spreadsheet shows them (header is row 1, first data row 2).
    values: the offending values, aligned with ``rows`` (may be shorter).
    """

    file: str
    column: str
    problem: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        where = f"{self.file}, column {self.column!r}" if self.column else self.file
        text = f"{where}: {self.problem}"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:ROWS_SHOWN])
            more = len(self.rows) - ROWS_SHOWN
            text += f" in {len(self.rows)} row(s): rows {shown}"
            if more > 0:
                text += f" and {more} more"
            if self.values:
                sample = ", ".join(repr(v) for v in self.values[: min(5, ROWS_SHOWN)])
                text += f" (values {sample})"
        return text


@dataclass
class InputError(ToolkitError):
    """Input refused: every problem found, in one pass. Exit status 2."""

    problems: list[InputProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [p.describe() for p in self.problems]
        return "input refused:\n  " + "\n  ".join(lines) if lines else "input refused"


class ConfigError(ToolkitError):
    """A settings or scenario file (or flag) is invalid; the message lists every problem."""
