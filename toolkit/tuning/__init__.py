"""Bonus tuning: the customer choice model, per-return economics, sweeps and calibration.

The facade: :func:`sweep_bonus` answers "which bonus should we offer for choosing store credit?"
with a :class:`SweepResult`; :func:`fit_choice_model` fits the customers' response to a PostCo
export as a :class:`Calibration`; :class:`Economics` and :class:`ChoiceCoefficients` hold the
assumptions. Everything else in this package is internal and may move.
"""

from toolkit.tuning.calibrate import Calibration, fit_choice_model
from toolkit.tuning.choice import ChoiceCoefficients, ChoiceFeatures
from toolkit.tuning.economics import Economics
from toolkit.tuning.population import ReturnPopulation
from toolkit.tuning.sweep import SweepResult, sweep_bonus

__all__ = [
    "Calibration",
    "ChoiceCoefficients",
    "ChoiceFeatures",
    "Economics",
    "ReturnPopulation",
    "SweepResult",
    "fit_choice_model",
    "sweep_bonus",
]
