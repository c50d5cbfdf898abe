"""`toolkit demo`: the whole flow on its own data, proving the reconciler finds what was planted."""

import pandas as pd

from toolkit.cli import main
from toolkit.simulate import compare_with_truth


def test_demo_runs_end_to_end_and_finds_exactly_the_planted_faults(tmp_path, capsys):
    status = main(["-q", "demo", "--out", str(tmp_path), "--returns", "1500", "--seed", "4"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "Conservation: OK" in out
    assert "Found exactly the planted faults: yes" in out
    for path in ("simulation/truth.csv", "reconcile/breaks.csv", "reconcile/summary.json",
                 "reconcile/report.html", "reconcile/report.xlsx", "tuning/sweep.csv"):
        assert (tmp_path / path).is_file(), path
        assert str(tmp_path / path.split("/")[0]) in out
    truth = pd.read_csv(tmp_path / "simulation/truth.csv", dtype=str, keep_default_na=False)
    assert len(truth) > 0


def test_comparing_with_truth_counts_agreed_missed_and_extra_breaks():
    truth = pd.DataFrame({"reason": ["missing_credit", "late_credit"],
                          "return_id": ["R1", "R2"], "transaction_id": ["", "T2"]})
    found = pd.DataFrame({"reason": ["missing_credit", "orphan_credit"],
                          "return_id": ["R1", ""], "transaction_id": [None, "T9"],
                          "severity": ["high", "high"]})
    assert compare_with_truth(found, truth) == (1, 1, 1)
