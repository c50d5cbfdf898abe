"""Committed notebooks are clean sources: no outputs, one parameters cell, the shared kernel.

Outputs in a committed notebook make every run a binary diff and can leak data; a notebook saved
with a venv-specific kernel fails elsewhere with NoSuchKernel. ``python -m toolkit.notebooks
--strip`` fixes the first.
"""

from __future__ import annotations

import ast

import nbformat
import pytest

from toolkit.notebooks import KERNEL, NOTEBOOK_DIR, discover, strip

NOTEBOOKS = discover(NOTEBOOK_DIR)


def test_the_project_ships_its_notebooks():
    stems = {p.stem for p in NOTEBOOKS}
    assert {"01_simulate_returns", "02_reconcile", "03_tune_bonus"} <= stems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert dirty == [], f"{path.name}: cells {dirty} carry outputs; run python -m toolkit.notebooks --strip"
    assert "papermill" not in nb.metadata, f"{path.name} is an executed copy, not a source"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_the_shared_kernel(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec.name == KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_one_parameters_cell_of_literals(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged parameters"
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert tagged[0] == first_code, "the parameters cell must be the first code cell"
    # Only literal assignments, so papermill's injected cell overrides every one cleanly.
    tree = ast.parse(nb.cells[first_code].source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign), ast.unparse(node)
        ast.literal_eval(node.value)
        names += [t.id for t in node.targets]
    assert "output_dir" in names and "seed" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_tells_its_business_question_first(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


def test_strip_clears_saved_outputs_and_leaves_clean_notebooks_alone(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)]
    cell.execution_count = 3
    nb.cells = [cell]
    dirty, clean = tmp_path / "dirty.ipynb", tmp_path / "clean.ipynb"
    nbformat.write(nb, dirty)
    assert strip([dirty]) == [dirty]
    stripped = nbformat.read(dirty, as_version=4)
    assert stripped.cells[0].outputs == [] and stripped.cells[0].execution_count is None
    assert stripped.cells[0].source == "1 + 1"
    nbformat.write(stripped, clean)
    assert strip([clean]) == []
