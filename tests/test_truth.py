"""The toolkit's own proof: reconciling a simulated merchant gives back exactly its truth.csv.

The simulator plants every fault with its expected (reason, return_id, transaction_id); the
reconciler, reading only the exports, must find exactly that set: nothing missed, nothing extra.
Across seeds, the default fault mix, a clean shop, and a high-rate mix of every fault at once.
"""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.reconcile import reconcile
from toolkit.settings import ReconcileSettings
from toolkit.simulate import FaultRates, load_scenario, simulate_returns


def _settings_of(scenario) -> ReconcileSettings:
    """The reconcile settings that state what the simulated workflow was configured to do."""
    return ReconcileSettings(
        credit_pct=scenario.workflow_credit_pct, bonus_pct=scenario.workflow_bonus_pct,
        bonus_min=scenario.workflow_bonus_min, issue_window_hours=scenario.issue_window_hours,
        postco_workflow_id=scenario.workflow_id,
    )


def _triples(frame) -> set[tuple[str, str, str]]:
    frame = frame.fillna("")
    return set(zip(frame["reason"], frame["return_id"], frame["transaction_id"]))


def _assert_truth(sim) -> None:
    result = reconcile(sim.returns, sim.ledger, sim.notifications,
                       settings=_settings_of(sim.scenario), as_of=sim.scenario.period_end)
    found, planted = _triples(result.breaks), _triples(sim.truth)
    assert not planted - found, f"planted but not found: {sorted(planted - found)[:10]}"
    assert not found - planted, f"found but not planted: {sorted(found - planted)[:10]}"
    assert result.summary["conservation"]["ok"]


@pytest.mark.parametrize("seed", [1, 7, 23])
def test_default_fault_mix_gives_back_its_truth(seed):
    sim = simulate_returns(returns=4000, seed=seed)
    assert len(sim.truth) > 0
    _assert_truth(sim)


def test_clean_shop_has_no_break_at_all():
    sim = simulate_returns(returns=6000, seed=5, clean=True)
    assert sim.truth.empty
    _assert_truth(sim)


@pytest.mark.parametrize("seed", [3, 11])
def test_every_fault_at_a_high_rate_at_once_gives_back_its_truth(seed):
    # 0.4 % of returns per fault, ~9 % in all: every fault finds returns to be planted on
    # (higher rates exhaust the returns that qualify for the later faults).
    rates = {name: 0.004 for name in FaultRates.model_fields if name.endswith("_rate")}
    scenario = load_scenario(returns_count=4000, seed=seed).model_copy(
        update={"faults": FaultRates(**rates)})
    sim = simulate_returns(scenario)
    planted = set(sim.truth["reason"])
    assert len(planted) == 18, f"the high-rate mix should plant every reason: {planted}"
    _assert_truth(sim)


def test_reconcile_command_on_a_simulated_folder_gives_back_its_truth(tmp_path, capsys):
    sim = simulate_returns(returns=3000, seed=2)
    folder = sim.write(tmp_path / "sim")
    status = main(["-q", "reconcile", "--returns", str(folder / "postco_returns.csv"),
                   "--ledger", str(folder / "rise_ledger.csv"),
                   "--notifications", str(folder / "notifications.csv"),
                   "--out", str(tmp_path / "run")])
    breaks = pd.read_csv(tmp_path / "run" / "breaks.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
    assert _triples(breaks) == _triples(truth)
    assert status == (1 if (breaks["severity"] != "low").any() else 0)
    assert "Conservation: OK" in capsys.readouterr().out
