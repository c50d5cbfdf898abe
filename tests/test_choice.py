"""The shared choice model: probabilities, draws, and the likelihood the calibration maximises."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.tuning.choice import (
    COEFFICIENT_NAMES,
    ChoiceCoefficients,
    ChoiceFeatures,
    choice_probabilities,
    design,
    draw_choices,
    log_likelihood,
    log_likelihood_hessian,
)


def _features(rng: np.random.Generator, n: int, bonus: float | None = None) -> ChoiceFeatures:
    return ChoiceFeatures(
        bonus_frac=np.full(n, bonus) if bonus is not None else rng.uniform(0, 0.3, n),
        fee_frac=rng.uniform(0, 0.2, n),
        retailer_borne=(rng.random(n) < 0.3).astype(float),
        log_value_rel=rng.normal(0, 0.7, n),
    )


def test_typical_customer_without_bonus_mostly_refunds():
    x = ChoiceFeatures(*(np.zeros(1) for _ in range(4)))
    p = choice_probabilities(ChoiceCoefficients(), x)[0]
    assert np.round(p, 3).tolist() == [0.760, 0.070, 0.170]


def test_ten_percent_bonus_moves_about_a_tenth_of_refunders_to_credit():
    none = ChoiceFeatures(*(np.zeros(1) for _ in range(4)))
    ten = ChoiceFeatures(np.array([0.10]), np.zeros(1), np.zeros(1), np.zeros(1))
    p0 = choice_probabilities(ChoiceCoefficients(), none)[0]
    p10 = choice_probabilities(ChoiceCoefficients(), ten)[0]
    assert round(1 - p10[0] / p0[0], 2) == 0.08
    assert round(float(p10[1]), 3) == 0.144


@settings(max_examples=40, deadline=None)
@given(
    bonus_coef=st.floats(0.1, 20), asc_credit=st.floats(-4, 1), asc_exchange=st.floats(-4, 1),
    low=st.floats(0, 0.5), step=st.floats(0.001, 0.5), seed=st.integers(0, 1000),
)
def test_uptake_rises_with_the_bonus(bonus_coef, asc_credit, asc_exchange, low, step, seed):
    coefs = ChoiceCoefficients(bonus_coef=bonus_coef, asc_credit=asc_credit,
                               asc_exchange=asc_exchange)
    rng = np.random.default_rng(seed)
    x = _features(rng, 50, bonus=low)
    y = ChoiceFeatures(x.bonus_frac + step, x.fee_frac, x.retailer_borne, x.log_value_rel)
    p_low, p_high = choice_probabilities(coefs, x), choice_probabilities(coefs, y)
    assert np.all(p_high[:, 1] >= p_low[:, 1])
    assert np.all(p_high[:, [0, 2]] <= p_low[:, [0, 2]] + 1e-15)
    assert np.allclose(p_high.sum(axis=1), 1.0)


def test_draws_follow_the_probabilities():
    rng = np.random.default_rng(7)
    x = _features(rng, 200_000)
    p = choice_probabilities(ChoiceCoefficients(), x)
    chosen = draw_choices(p, rng.random(len(x)))
    shares = np.bincount(chosen, minlength=3) / len(x)
    assert np.allclose(shares, p.mean(axis=0), atol=0.004)


def test_gradient_and_hessian_match_finite_differences():
    rng = np.random.default_rng(3)
    x = _features(rng, 400)
    z = design(x)
    beta = ChoiceCoefficients().as_array() + rng.normal(0, 0.2, len(COEFFICIENT_NAMES))
    chosen = draw_choices(choice_probabilities(ChoiceCoefficients.from_array(beta), x),
                          rng.random(len(x))).astype(np.intp)
    _, grad = log_likelihood(beta, z, chosen)
    hess = log_likelihood_hessian(beta, z)
    h = 1e-6
    for k in range(len(beta)):
        step = np.zeros_like(beta)
        step[k] = h
        up, g_up = log_likelihood(beta + step, z, chosen)
        down, g_down = log_likelihood(beta - step, z, chosen)
        assert np.isclose(grad[k], (up - down) / (2 * h), rtol=1e-5, atol=1e-5)
        assert np.allclose(hess[:, k], (g_up - g_down) / (2 * h), rtol=1e-4, atol=1e-4)


def test_design_reproduces_the_utilities_of_the_model():
    rng = np.random.default_rng(5)
    x = _features(rng, 30)
    coefs = ChoiceCoefficients(value_coef_exchange=0.4, fee_coef=3.0)
    u = design(x) @ coefs.as_array()
    p = np.exp(u) / np.exp(u).sum(axis=1, keepdims=True)
    assert np.allclose(p, choice_probabilities(coefs, x))
