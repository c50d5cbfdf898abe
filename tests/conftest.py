"""Shared fixtures: small simulated folders, made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_simulation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder simulated with the default scenario: 2,000 returns, seed 7, faults planted."""
    from toolkit.simulate import simulate_returns

    return simulate_returns(returns=2_000, seed=7).write(tmp_path_factory.mktemp("sim") / "small")
