"""Every notebook runs top to bottom in a fresh ``python3`` kernel on small data and answers its
question: each writes ``result.json`` and the figures in it are checked here against what the
toolkit must find (the planted faults, conservation, uptake rising with the bonus, ...).

A notebook without a check below still must run and write its result file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from toolkit.notebooks import NOTEBOOK_DIR, SMALL_PARAMETERS, discover, execute

pytestmark = pytest.mark.notebook

NOTEBOOKS = discover(NOTEBOOK_DIR)


def check_tune_bonus(result: dict[str, Any], out: Path) -> None:
    uptake = sorted((float(p), share) for p, share in result["uptake_by_pct"].items())
    shares = [share for _, share in uptake]
    assert len(shares) >= 5
    assert all(a < b for a, b in zip(shares, shares[1:])), "uptake must rise with the bonus"
    for pct, share in uptake:
        low, high = result["uptake_band_by_pct"][f"{pct:g}"]
        assert low <= share <= high
    top = max(p for p, _ in uptake)
    assert 0.0 <= result["optimum_pct"] <= top
    levels = pd.read_csv(out / "sweep" / "sweep.csv", dtype=str)["level"]
    assert result["recommended_level"] in set(levels)
    # A higher margin makes each unit of credit cheaper, so the best bonus never falls with it.
    optima = [o for _, o in sorted((float(m), o) for m, o in result["optimum_pct_by_margin"].items())]
    assert all(a <= b + 1e-6 for a, b in zip(optima, optima[1:]))
    assert (out / "sweep" / "net_benefit.png").exists()


def check_simulate(result: dict[str, Any], out: Path) -> None:
    funnel = [count for _, count in result["funnel"]]
    assert funnel[0] == result["returns"] == SMALL_PARAMETERS["01_simulate_returns"]["n_returns"]
    assert all(a >= b for a, b in zip(funnel, funnel[1:])), f"a funnel never grows: {result['funnel']}"
    assert funnel[-1] > 0
    assert abs(sum(result["choice_shares"].values()) - 1.0) < 1e-6
    # Merchant-fault returns lean to cash: the choice model's retailer-borne terms are negative.
    by_reason = result["choice_shares_by_reason"]
    assert by_reason["retailer_borne"]["refund"] > by_reason["customer_borne"]["refund"]
    assert sum(result["by_status"].values()) == result["returns"]
    assert all(Decimal(v) > 0 for v in result["expected_credit"].values())
    truth = pd.read_csv(out / "simulation" / "truth.csv", dtype=str)
    assert len(truth) == result["planted_breaks"] > 0
    assert truth["reason"].value_counts().to_dict() == result["planted_breaks_by_reason"]
    exported = pd.read_csv(out / "simulation" / "postco_returns.csv", dtype=str)
    assert len(exported) == result["returns"]


def check_reconcile(result: dict[str, Any], out: Path) -> None:
    assert result["conservation_ok"] is True
    # The reconciler finds exactly the faults the simulator planted: nothing missed, nothing extra.
    assert result["truth_missed"] == 0 and result["truth_extra"] == 0
    assert result["truth_agreed"] == result["breaks"] > 0
    assert result["breaks_by_reason"] == result["truth_by_reason"]
    assert sum(result["aging"].values()) == result["breaks"]
    assert result["exit_status"] == 1  # the default month carries high-severity breaks
    for currency, lia in result["liability"].items():
        # The roll-forward ties: closing plus the unexplained difference is what Rise reports.
        assert Decimal(lia["closing"]) + Decimal(lia["difference"]) == Decimal(lia["reported_closing"]), currency
    assert result["drilled_break"]["reason"] in result["breaks_by_reason"]
    assert Path(result["report_html"]).is_file()
    summary = json.loads((out / "run" / "summary.json").read_text())
    assert summary["counts"]["breaks"] == result["breaks"]


def check_calibrate(result: dict[str, Any], out: Path) -> None:
    uptake = [v for _, v in sorted((float(p), v) for p, v in result["observed_uptake_by_bonus_pct"].items())]
    assert uptake[-1] > uptake[0] + 0.1, "a 20 % bonus must draw visibly more customers to credit"
    assert result["not_identified"] == {}  # randomised levels, fees and reasons identify everything
    coefs = result["coefficients"]
    # The fit recovers the simulated customers' response within its own standard errors.
    assert abs(coefs["bonus_coef"]["z"]) < 3
    assert all(abs(c["z"]) < 3.5 for c in coefs.values()), coefs
    for level, observed in result["observed_uptake_by_level"].items():
        assert abs(result["fitted_uptake_by_level"][level] - observed) < 0.03, level
    widths = result["uptake_band_width_at_10pct"]
    assert widths["calibrated"] < widths["prior"] / 2, "calibrating must narrow the uncertainty"
    assert (out / "experiment" / "postco_returns.csv").exists()


CHECKS: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "01_simulate_returns": check_simulate,
    "02_reconcile": check_reconcile,
    "03_tune_bonus": check_tune_bonus,
    "04_calibrate_from_export": check_calibrate,
}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_small_data_and_answers_its_question(notebook, tmp_path):
    run = execute(notebook, tmp_path, SMALL_PARAMETERS.get(notebook.stem, {}))
    assert run.ok, f"{notebook.name} failed: {run.error} (see {run.executed})"
    result = json.loads((run.output_dir / "result.json").read_text())
    CHECKS.get(notebook.stem, lambda r, o: None)(result, run.output_dir)
    assert "data:image/png;base64" in run.html.read_text(), "the page must show its charts"
