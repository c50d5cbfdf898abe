"""The runner behind ``make notebooks``: executes in a real kernel, exports HTML, reports failure.

Uses two tiny notebooks written here (a chart that works, an assertion that fails), so these
tests check the runner itself, not the project's notebooks.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from toolkit.notebooks import main

pytestmark = pytest.mark.notebook


def _write(path, body):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("threshold = 5\noutput_dir = '.'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A question"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture()
def notebook_dir(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _write(folder / "a_chart.ipynb", (
        "%matplotlib inline\n"
        "import json, pathlib, matplotlib.pyplot as plt\n"
        "plt.bar(['refund', 'credit'], [threshold, 3]); plt.show()\n"
        "pathlib.Path(output_dir, 'result.json').write_text(json.dumps({'threshold': threshold}))"
    ))
    _write(folder / "b_check.ipynb", "assert threshold < 8, 'threshold too high'")
    return folder


def test_each_notebook_runs_into_its_own_folder_and_a_failure_fails_the_run(notebook_dir, tmp_path, capsys):
    out = tmp_path / "executed"
    status = main(["--notebooks", str(notebook_dir), "--out", str(out), "-q", "-p", "threshold=9"])
    assert status == 1
    summary = capsys.readouterr().out
    assert "ok     a_chart" in summary
    assert "FAILED b_check" in summary and "threshold too high" in summary
    # The parameter reached the kernel, and the notebook wrote into the folder it was given.
    assert json.loads((out / "a_chart" / "result.json").read_text()) == {"threshold": 9}
    assert "data:image/png;base64" in (out / "a_chart.html").read_text()  # the chart is on the page
    assert "threshold too high" in (out / "b_check.html").read_text()  # the failure too
    source = nbformat.read(notebook_dir / "a_chart.ipynb", as_version=4)
    assert source.cells[2].outputs == []  # the committed source is never written


def test_names_select_notebooks_and_hide_code_keeps_only_the_story(notebook_dir, tmp_path):
    out = tmp_path / "executed"
    assert main(["--notebooks", str(notebook_dir), "--out", str(out), "-q", "--hide-code", "a"]) == 0
    assert not (out / "b_check.html").exists()
    page = (out / "a_chart.html").read_text()
    assert "data:image/png;base64" in page and "plt.bar" not in page
    assert main(["--notebooks", str(notebook_dir), "--out", str(out), "-q", "zz"]) == 2
