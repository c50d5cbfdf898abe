"""toolkit: simulate, reconcile and tune PostCo returns refunded as Rise.ai store credit.

The public API is this facade: a dozen names, alphabetical. Each is imported on first use
(PEP 562), so ``import toolkit`` and the command line stay fast; everything not listed here is
internal and may move.

The reconciler is ``toolkit.reconcile.reconcile``: ``toolkit.reconcile`` is its package, and
a function of the same name on the facade would be replaced by the package as soon as anything
imports it.

>>> import toolkit
>>> from toolkit.reconcile import reconcile
>>> sim = toolkit.simulate_returns(returns=500, seed=1)           # doctest: +SKIP
>>> result = reconcile(sim.returns, sim.ledger, sim.notifications)  # doctest: +SKIP
"""

from __future__ import annotations

from toolkit.lazy import lazy_facade

__version__ = "0.1.0"

__all__, __getattr__, __dir__ = lazy_facade(__name__, {
    "Calibration": "toolkit.tuning",
    "ConfigError": "toolkit.errors",
    "Economics": "toolkit.tuning",
    "InputError": "toolkit.errors",
    "ReconcileSettings": "toolkit.settings",
    "ReconciliationResult": "toolkit.reconcile",
    "Scenario": "toolkit.simulate",
    "Simulation": "toolkit.simulate",
    "SweepResult": "toolkit.tuning",
    "ToolkitError": "toolkit.errors",
    "fit_choice_model": "toolkit.tuning",
    "load_scenario": "toolkit.simulate",
    "load_settings": "toolkit.settings",
    "simulate_returns": "toolkit.simulate",
    "sweep_bonus": "toolkit.tuning",
    "write_report": "toolkit.report",
})
