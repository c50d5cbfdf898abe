"""Running the analysts' notebooks: execute each with papermill, export HTML beside it.

``python -m toolkit.notebooks`` (``make notebooks``) executes every ``notebooks/*.ipynb`` top to
bottom in a fresh ``python3`` kernel, writes the executed copy to ``notebooks/_executed/`` and an
HTML page next to it, and gives each notebook its own output folder (its ``output_dir``
parameter) for the ``result.json`` it writes. The committed notebooks are never modified, except
by ``--strip``, which clears outputs an analyst saved by accident.

This module owns how notebooks are run, parameterized and exported; it must never compute a
business figure (the notebooks call the toolkit for that) nor read what a notebook wrote.

Example::

    python -m toolkit.notebooks --small            # every notebook on small data, ~1 min
    python -m toolkit.notebooks 02 -p seed=7       # only 02_reconcile, another seed
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.progress import stage

__all__ = [
    "KERNEL",
    "NOTEBOOK_DIR",
    "SMALL_PARAMETERS",
    "NotebookRun",
    "discover",
    "execute",
    "main",
    "strip",
]

LOG = logging.getLogger("toolkit")

#: The kernel every notebook is saved with and executed in (installed into the venv by setup).
KERNEL = "python3"

#: The project's notebooks (the package is installed editable from the repository).
NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"

#: Parameters for a quick run (``--small``, and the tests): small data, same questions.
#: Keyed by notebook stem; a notebook missing here runs with its own defaults.
SMALL_PARAMETERS: dict[str, dict[str, Any]] = {
    "01_simulate_returns": {"n_returns": 1500},
    "02_reconcile": {"n_returns": 1500},
    "03_tune_bonus": {"n_returns": 800, "replications": 20, "bonus_max_pct": 20.0, "bonus_step_pct": 2.5},
    "04_calibrate_from_export": {"n_returns": 4000},
}

#: nbconvert's own log, kept to errors.
_QUIET_EXPORT = logging.getLogger("toolkit.notebooks.export")
_QUIET_EXPORT.setLevel(logging.ERROR)

#: Seconds one cell may run before the notebook counts as failed.
CELL_TIMEOUT = 900


@dataclass(frozen=True)
class NotebookRun:
    """What happened to one notebook.

    Attributes
    ----------
    name: the notebook's stem (``02_reconcile``).
    executed: the executed copy (``.ipynb``), written even when a cell failed.
    html: the HTML export beside it, or ``None`` when even the export failed.
    output_dir: the folder passed as the notebook's ``output_dir`` parameter.
    seconds: wall time of execution and export.
    error: ``None`` when every cell ran; else the first line of the failure.
    """

    name: str
    executed: Path
    html: Path | None
    output_dir: Path
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def discover(notebook_dir: str | Path = NOTEBOOK_DIR, only: Sequence[str] = ()) -> list[Path]:
    """The notebooks to run, in name order; ``only`` keeps those whose stem starts with one of them.

    Checkpoints and executed copies are never picked up.

    >>> [p.stem for p in discover(only=["02"])]  # doctest: +SKIP
    ['02_reconcile']
    """
    paths = sorted(p for p in Path(notebook_dir).glob("*.ipynb") if not p.name.startswith("."))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) for o in only)]
    return paths


def execute(
    notebook: str | Path,
    out_dir: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    hide_code: bool = False,
    timeout: int = CELL_TIMEOUT,
) -> NotebookRun:
    """Execute one notebook in a fresh ``python3`` kernel and export its HTML.

    The executed copy is ``out_dir/<stem>.ipynb``, the page ``out_dir/<stem>.html``, and the
    notebook's own files go to ``out_dir/<stem>/`` (passed as ``output_dir``, also the kernel's
    working directory, so nothing a notebook writes lands in the source tree).

    Parameters
    ----------
    notebook: the source notebook; it is read, never written.
    out_dir: where executed copies, pages and output folders go.
    parameters: overrides of the notebook's ``parameters`` cell (``output_dir`` is always set).
    hide_code: export the page without code cells (for readers who only want the story).
    timeout: seconds a single cell may run.

    Returns
    -------
    NotebookRun
        Failure is data here: ``error`` holds the first line of what went wrong.
    """
    import papermill

    notebook = Path(notebook)
    out_dir = Path(out_dir).resolve()
    own_dir = out_dir / notebook.stem
    own_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f"{notebook.stem}.ipynb"
    params = {**(parameters or {}), "output_dir": str(own_dir)}
    start = time.perf_counter()
    error = None
    with stage(f"notebook {notebook.stem}"):
        try:
            papermill.execute_notebook(
                str(notebook), str(executed), parameters=params, kernel_name=KERNEL,
                cwd=str(own_dir), progress_bar=False, execution_timeout=timeout,
            )
        except Exception as exc:  # a failing notebook is reported, the others still run
            error = _first_line(exc)
            LOG.error("notebook %s failed: %s", notebook.stem, error)
        html = _export_html(executed, hide_code=hide_code)
    return NotebookRun(notebook.stem, executed, html, own_dir, time.perf_counter() - start, error)


def strip(paths: Sequence[str | Path]) -> list[Path]:
    """Clear outputs, execution counts and run metadata of committed notebooks, in place.

    Returns the notebooks that changed. This is what the hygiene test demands of every
    committed notebook, so an analyst who saved outputs runs ``--strip`` before committing.
    """
    import nbformat

    changed = []
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
            for key in ("execution", "papermill", "collapsed", "scrolled"):
                cell.metadata.pop(key, None)
        for key in ("papermill", "widgets"):
            nb.metadata.pop(key, None)
        after = nbformat.writes(nb)
        if after != before:
            path.write_text(after + "\n" if not after.endswith("\n") else after, encoding="utf-8")
            changed.append(path)
    return changed


def _export_html(executed: Path, *, hide_code: bool) -> Path | None:
    if not executed.exists():
        return None
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    exporter.log = _QUIET_EXPORT  # it warns about alt text on every inline chart
    exporter.exclude_input = hide_code
    exporter.exclude_input_prompt = hide_code
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def _first_line(exc: Exception) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:  # a cell raised: papermill carries the kernel's exception name and value
        return f"{ename}: {evalue}"[:300]
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]


def _parse_parameter(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw  # a bare word is a string: -p scenario=holiday_peak
    return name.strip(), value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit.notebooks",
        description=(
            "Execute the notebooks top to bottom in a fresh python3 kernel, each into "
            "OUT/<name>.ipynb with an HTML page beside it and its files in OUT/<name>/. "
            "Exit status 0 when every notebook ran, 1 when any failed."
        ),
    )
    parser.add_argument("only", nargs="*", metavar="NAME",
                        help="run only notebooks whose name starts with NAME (e.g. 02)")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOK_DIR, metavar="DIR",
                        help="folder of the notebooks (default: the project's notebooks/)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where executed copies and pages go (default: NOTEBOOKS/_executed)")
    parser.add_argument("--small", action="store_true",
                        help="small data for a quick check (about a minute for all)")
    parser.add_argument("-p", "--parameter", action="append", type=_parse_parameter, default=[],
                        metavar="NAME=VALUE",
                        help="override a parameter in every notebook run (a Python literal, else text)")
    parser.add_argument("--hide-code", action="store_true",
                        help="export pages without code cells (for finance readers)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, metavar="SECONDS",
                        help=f"seconds one cell may run (default {CELL_TIMEOUT})")
    parser.add_argument("--strip", action="store_true",
                        help="clear saved outputs from the committed notebooks instead of running them")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the notebooks; returns the exit status (0 all ran, 1 any failed, 2 nothing to run)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    notebooks = discover(args.notebooks, args.only)
    if not notebooks:
        print(f"no notebooks matching {args.only or '*'} in {args.notebooks}", file=sys.stderr)
        return 2
    if args.strip:
        for path in strip(notebooks):
            print(f"stripped {path}")
        return 0
    logging.getLogger("papermill").setLevel(logging.WARNING)  # its banner repeats our stage line
    out = args.out or args.notebooks / "_executed"
    overrides = dict(args.parameter)
    runs = []
    for notebook in notebooks:
        params = {**(SMALL_PARAMETERS.get(notebook.stem, {}) if args.small else {}), **overrides}
        runs.append(execute(notebook, out, params, hide_code=args.hide_code, timeout=args.timeout))
    for run in runs:
        status = "ok    " if run.ok else "FAILED"
        print(f"{status} {run.name:<28} {run.seconds:6.1f} s  {run.html or run.executed}")
        if not run.ok:
            print(f"       {run.error}")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
