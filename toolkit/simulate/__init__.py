"""Simulate a Shopify merchant's PostCo returns refunded as Rise.ai store credit.

``simulate_returns`` draws customers, orders, return requests, the customer's choice (the shared
model in :mod:`toolkit.tuning.choice`), the merchant's lifecycle, the Rise workflow's credits,
wallet activity, emails and planted faults, and returns a :class:`Simulation` whose frames are
the contract's files as text; ``Simulation.write`` puts them in a folder with ``truth.csv``.
"""

from toolkit.simulate.scenario import FaultRates, Scenario, load_scenario
from toolkit.simulate.simulation import Simulation, simulate_returns
from toolkit.simulate.truth import compare_with_truth

__all__ = [
    "FaultRates", "Scenario", "Simulation", "compare_with_truth", "load_scenario", "simulate_returns",
]
