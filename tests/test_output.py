"""Output files: the fast writer and pandas give the same bytes; folders appear all or nothing."""

import pandas as pd
import pytest

from toolkit.io.output import atomic_output_dir, write_csv


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"a": ["x", "", None], "b": [1, 2, 3]}),
    pd.DataFrame({"a,b": ["x", "y"], "c": ["1", "2"]}),
    pd.DataFrame({"note": ['said "hi", then left', "plain"]}),
])
def test_the_fast_writer_gives_the_bytes_pandas_would(frame, tmp_path):
    write_csv(frame, tmp_path / "fast.csv")
    frame.to_csv(tmp_path / "pandas.csv", index=False, lineterminator="\n", na_rep="")
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_a_failed_run_leaves_the_output_folder_untouched(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "keep.txt").write_text("from an earlier run")
    with pytest.raises(RuntimeError), atomic_output_dir(target) as tmp:
        (tmp / "breaks.csv").write_text("half")
        raise RuntimeError("refused")
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]
