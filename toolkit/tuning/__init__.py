"""Bonus tuning: the customer choice model, per-return economics, sweeps and calibration.

The facade: :func:`sweep_bonus` answers "which bonus should we offer for choosing store credit?"
with a :class:`SweepResult`; :func:`fit_choice_model` fits the customers' response to a PostCo
export as a :class:`Calibration`; :class:`Economics` and :class:`ChoiceCoefficients` hold the
assumptions. Everything else in this package is internal and may move.
"""

from toolkit.lazy import lazy_facade

__all__, __getattr__, __dir__ = lazy_facade(__name__, {
    "Calibration": "toolkit.tuning.calibrate",
    "ChoiceCoefficients": "toolkit.tuning.choice",
    "ChoiceFeatures": "toolkit.tuning.choice",
    "Economics": "toolkit.tuning.economics",
    "ReturnPopulation": "toolkit.tuning.population",
    "SweepResult": "toolkit.tuning.sweep",
    "fit_choice_model": "toolkit.tuning.calibrate",
    "sweep_bonus": "toolkit.tuning.sweep",
})
