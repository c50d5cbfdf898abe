"""Simulate a Shopify merchant's PostCo returns refunded as Rise.ai store credit.

``simulate_returns`` draws customers, orders, return requests, the customer's choice (the shared
model in :mod:`toolkit.tuning.choice`), the merchant's lifecycle, the Rise workflow's credits,
wallet activity, emails and planted faults, and returns a :class:`Simulation` whose frames are
the contract's files as text; ``Simulation.write`` puts them in a folder with ``truth.csv``.
"""

from toolkit.lazy import lazy_facade

__all__, __getattr__, __dir__ = lazy_facade(__name__, {
    "FaultRates": "toolkit.simulate.scenario",
    "Scenario": "toolkit.simulate.scenario",
    "Simulation": "toolkit.simulate.simulation",
    "compare_with_truth": "toolkit.simulate.truth",
    "load_scenario": "toolkit.simulate.scenario",
    "simulate_returns": "toolkit.simulate.simulation",
})
