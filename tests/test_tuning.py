"""Bonus tuning: economics per return, the sweep, its optimum, breakeven, bands and outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.tuning import ChoiceCoefficients, Economics, ReturnPopulation, sweep_bonus
from toolkit.tuning.choice import ChoiceFeatures, choice_probabilities, draw_choices
from toolkit.tuning.economics import outcome_values
from toolkit.tuning.population import draw_returns
from toolkit.tuning.sweep import _run, bonus_levels

SMALL = dict(runs=60, returns=3000, closed_form_returns=20_000, seed=4)
NO_UNCERTAINTY = {n: 0.0 for n in ChoiceCoefficients.model_fields}


@pytest.fixture(scope="module")
def small_sweep():
    return sweep_bonus(step_pct=2.0, max_pct=30.0, fixed_minor=[500], **SMALL)


# --- Economics: a finance story -----------------------------------------------------------------

SIMPLE = Economics(gross_margin_frac=0.40, redemption_frac=0.90, uplift_frac=0.10,
                   cannibalized_frac=0.0, discount_rate_annual=0.0, carrying_cost_annual=0.0,
                   exchange_shipping_minor=600)


def test_an_eighty_dollar_return_is_worth_more_as_credit_than_as_exchange():
    # An 80.00 sweater comes back; a cash refund would have paid 75.00 (5.00 fee withheld).
    # Taken as credit with a 10 % bonus the customer holds 88.00 of credit. 90 % of it is spent:
    # 79.20 of goods at 60 % cost = 47.52, less 40 % margin on 10 % extra spend (7.92 x 0.4 =
    # 3.168): credit costs 44.352. The shop kept 75.00 in cash, so credit is worth 30.648.
    # An exchange ships a 48.00-cost replacement (6.00 shipping) and keeps 80.00 - 5.00 fee
    # waived: worth 32.00 - 5.00 - 6.00 = 21.00. A refund is the baseline: 0.
    values = outcome_values(SIMPLE, np.array([8000]), np.array([500]), np.array([800]))
    assert values[0].round(3).tolist() == [0.0, 3064.8, 2100.0]


def test_credit_cost_per_unit_spells_out_every_assumption():
    econ = Economics(gross_margin_frac=0.5, redemption_frac=0.8, uplift_frac=0.0,
                     cannibalized_frac=0.5, breakage_kept_frac=0.5, days_to_redeem=365,
                     days_to_breakage=365, discount_rate_annual=0.10, carrying_cost_annual=0.02,
                     exchange_shipping_minor=0)
    # goods: 0.8 x (0.5 x 0.5 + 0.5) / 1.1 = 0.545454...; escheat: 0.2 x 0.5 / 1.1 = 0.090909...;
    # carrying: 0.02 x one year outstanding = 0.02
    assert econ.credit_cost_per_unit() == pytest.approx(0.6 / 1.1 + 0.1 / 1.1 + 0.02)


def test_switcher_breakeven_is_where_credit_stops_beating_a_refund():
    frac = SIMPLE.switcher_breakeven_frac()
    assert frac == pytest.approx(1 / 0.504 - 1)
    at_breakeven = outcome_values(SIMPLE, np.array([10000]), np.array([0]), np.array([frac * 10000]))
    assert at_breakeven[0, 1] == pytest.approx(0.0, abs=1e-6)


# --- The Monte Carlo shortcut is exactly the model's draw, level by level --------------------------


@settings(max_examples=25, deadline=None)
@given(bonus_coef=st.floats(-10, 15), fee=st.integers(0, 900), seed=st.integers(0, 10_000))
def test_threshold_sweep_equals_drawing_every_level(bonus_coef, fee, seed):
    rng = np.random.default_rng(seed)
    population = ReturnPopulation(refund_fee_minor=fee)
    drawn = draw_returns(population, rng, 800)
    uniforms = rng.random(800)
    levels = bonus_levels(5, 30, [300, 1000])
    coefs = ChoiceCoefficients(bonus_coef=bonus_coef)
    econ = Economics()
    fast = _run(coefs.as_array(), drawn, uniforms, 4470.0, levels, econ)
    value = drawn.value_minor.astype(float)
    for i, level in enumerate(levels):
        bonus = value * level.pct / 100 + level.fixed_minor
        x = ChoiceFeatures(bonus / value, drawn.fee_minor / value, drawn.retailer_borne,
                           np.log(value / 4470.0))
        chosen = draw_choices(choice_probabilities(coefs, x), uniforms)
        worth = outcome_values(econ, drawn.value_minor, drawn.fee_minor, bonus)
        assert np.allclose(fast[i, :3], np.bincount(chosen, minlength=3) / 800)
        assert fast[i, 4] == pytest.approx(np.mean(bonus * (chosen == 1)))
        assert fast[i, -1] == pytest.approx(worth[np.arange(800), chosen].mean())


# --- The sweep ------------------------------------------------------------------------------------


def test_closed_form_uptake_lies_within_the_monte_carlo_band(small_sweep):
    t = small_sweep.table
    for share in ("p_refund", "p_credit", "p_exchange"):
        assert (t[f"{share}_low"] <= t[f"{share}_closed_form"]).all(), share
        assert (t[f"{share}_closed_form"] <= t[f"{share}_high"]).all(), share


def test_uptake_rises_with_the_bonus(small_sweep):
    pct = small_sweep.table[small_sweep.table["bonus_type"] != "fixed"]
    assert np.all(np.diff(pct["p_credit"]) > 0)
    assert np.all(np.diff(pct["p_credit_closed_form"]) > 0)
    assert np.all(np.diff(pct["p_refund"]) < 0)
    assert np.all(np.diff(pct["bonus_cost_per_return_minor"]) > 0)


def test_shares_add_up_and_bands_bracket_the_mean(small_sweep):
    t = small_sweep.table
    assert np.allclose(t["p_refund"] + t["p_credit"] + t["p_exchange"], 1.0)
    for stat, low, high in (
        ("p_credit", "p_credit_low", "p_credit_high"),
        ("net_value_per_return_minor", "net_value_low_per_return_minor",
         "net_value_high_per_return_minor"),
    ):
        assert (t[low] <= t[stat]).all() and (t[stat] <= t[high]).all()


def test_optimum_is_the_best_of_the_closed_form_curve(small_sweep):
    rec, curve = small_sweep.recommendation, small_sweep.curve
    best = curve["net_value_per_return_minor"].max()
    assert curve.loc[curve["net_value_per_return_minor"].idxmax(), "bonus_pct"] == pytest.approx(
        rec["optimum_pct_closed_form"], abs=0.25)
    assert rec["recommended"]["level"] == small_sweep.table.loc[
        small_sweep.table["net_value_per_return_minor"].idxmax(), "level"]
    assert float(rec["optimum_net_value_per_return"]) * 100 >= round(best) - 1


def _flat_response(**kw):
    # Nobody reacts to the bonus: every cent of it is a cost, so the best bonus is none.
    return sweep_bonus(coefficients=ChoiceCoefficients(bonus_coef=0.0),
                       coefficient_sd=NO_UNCERTAINTY, step_pct=5.0, max_pct=30.0,
                       fixed_minor=[500], **{**SMALL, **kw})


def test_a_bonus_nobody_reacts_to_is_pure_cost():
    result = _flat_response()
    rec, t = result.recommendation, result.table
    assert rec["recommended"]["level"] == "none"
    assert rec["optimum_pct_closed_form"] == 0.0
    assert rec["portfolio_breakeven_pct"] is None
    assert (t["net_gain_vs_none_per_return_minor"].iloc[1:] < 0).all()
    assert (t["p_better_than_none"] == 0).all()


def test_within_one_percent_range_matches_the_hand_computed_edge():
    # With no response the net value falls linearly: net(p) = net(0) - p x cost_per_pct, where
    # cost_per_pct is the closed-form bonus cost at 5 % divided by 5. The range ends where the
    # fall reaches 1 % of net(0).
    result = _flat_response()
    t = result.table.set_index("level")
    cost_per_pct = t.loc["5%", "bonus_cost_closed_form_per_return_minor"] / 5
    net0 = t.loc["none", "net_value_closed_form_per_return_minor"]
    low, high = result.recommendation["within_1pct_range_pct"]
    assert low == 0.0
    assert high == pytest.approx(0.01 * abs(net0) / cost_per_pct, abs=1e-3)


def test_breakeven_brings_net_value_back_to_the_no_bonus_level():
    result = sweep_bonus(step_pct=5.0, max_pct=30.0, fixed_minor=[],
                         economics=Economics(gross_margin_frac=0.25, cannibalized_frac=0.5),
                         **SMALL)
    rec, curve = result.recommendation, result.curve
    breakeven = rec["portfolio_breakeven_pct"]
    assert breakeven is not None and breakeven > rec["optimum_pct_closed_form"] > 0
    grid = sweep_bonus(step_pct=breakeven, max_pct=breakeven, fixed_minor=[],
                       economics=Economics(gross_margin_frac=0.25, cannibalized_frac=0.5),
                       **SMALL).table
    at = grid["net_value_closed_form_per_return_minor"]
    assert at.iloc[1] == pytest.approx(at.iloc[0], abs=0.01)
    assert curve["net_value_per_return_minor"].iloc[0] == pytest.approx(at.iloc[0])


def test_fixed_bonus_costs_its_amount_on_every_credit():
    result = sweep_bonus(step_pct=10.0, max_pct=10.0, fixed_minor=[500], **SMALL)
    row = result.table.set_index("level").loc["fixed 5.00"]
    assert row["bonus_issued_per_return_minor"] == pytest.approx(500 * row["p_credit"])


def test_recommendation_names_the_level_and_states_its_caveats(small_sweep):
    rec = small_sweep.recommendation
    assert rec["recommended"]["level"] in rec["headline"]
    assert {lv["level"] for lv in rec["asked_levels"]} == {"none", "10%", "fixed 5.00"}
    assert any("published-prior" in w for w in rec["warnings"])


# --- Outputs --------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_threads_do_not_matter(tmp_path: Path):
    a = sweep_bonus(step_pct=5.0, fixed_minor=[500], workers=1, **SMALL)
    b = sweep_bonus(step_pct=5.0, fixed_minor=[500], workers=2, **SMALL)
    pd.testing.assert_frame_equal(a.table, b.table)
    a.write(tmp_path / "a")
    b.write(tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert {"sweep.csv", "recommendation.json", "uptake.png", "net_benefit.svg",
            "tornado.png"} <= set(names)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    c = sweep_bonus(step_pct=5.0, fixed_minor=[500], **{**SMALL, "seed": 5})
    assert not c.table.equals(a.table)


def test_sweep_csv_writes_money_in_the_currency_precision(small_sweep, tmp_path: Path):
    small_sweep.write(tmp_path)
    frame = pd.read_csv(tmp_path / "sweep.csv", dtype=str, keep_default_na=False)
    assert frame["net_value_per_return"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert frame.loc[frame["level"] == "fixed 5.00", "bonus_fixed"].item() == "5.00"
    rec = json.loads((tmp_path / "recommendation.json").read_text())
    assert rec["settings"]["seed"] == SMALL["seed"]
    assert len(small_sweep.figures()) == 3


def test_exported_rows_can_be_the_population():
    from toolkit.tuning.observed import observed_returns

    rows = pd.DataFrame({
        "currency": ["EUR"] * 4, "return_total": ["20.00", "40.00", "80.00", "160.00"],
        "resolution_type": ["original_payment", "store_credit", "exchange", ""],
        "bonus_type": ["percentage"] * 4, "bonus_rate": ["0.10"] * 4,
        "fees_total": ["4.00", "", "", ""], "reason_category": ["customer_borne"] * 4,
    })
    obs = observed_returns(rows)
    assert obs.fee_minor.tolist() == [400, 400, 400, 400]  # the offered fee, not the deducted one
    result = sweep_bonus(population=obs, step_pct=10.0, max_pct=20.0, fixed_minor=[500],
                         runs=10, returns=500, closed_form_returns=1000)
    assert result.currency == "EUR"
    assert result.table["level"].tolist() == ["none", "10%", "20%", "fixed 5.00"]


# --- Defaults and the edge of the search -------------------------------------------------------


def test_default_assumptions_put_the_best_bonus_inside_the_searched_range(small_sweep):
    rec = small_sweep.recommendation
    low, high = rec["within_1pct_range_pct"]
    assert not rec["at_edge_of_search"] and not rec["widened"]
    assert 0.0 < low < rec["optimum_pct_closed_form"] < high < 30.0
    assert "Edge of the search" not in rec["headline"]
    # A breakeven beyond the optimum: a bonus twice as large as the best one stops paying.
    assert rec["optimum_pct_closed_form"] < rec["portfolio_breakeven_pct"] < 60.0


# Cheap credit (high margin, nothing cannibalized, all breakage kept): every extra point of
# bonus pays well past 30 %.
CHEAP_CREDIT = Economics(gross_margin_frac=0.55, cannibalized_frac=0.0, redemption_frac=0.85)


def test_an_optimum_at_the_edge_widens_the_search_and_says_so():
    result = sweep_bonus(economics=CHEAP_CREDIT, step_pct=5.0, max_pct=30.0, fixed_minor=[], **SMALL)
    rec, pct = result.recommendation, result.table["bonus_pct"]
    assert rec["widened"] and rec["asked_range_pct"] == [0.0, 30.0]
    searched = rec["searched_range_pct"][1]
    assert searched > 30.0 and pct.max() == searched
    assert 30.0 < rec["optimum_pct_closed_form"] < searched
    assert "widened from 0-30 %" in rec["headline"]
    assert any("widened" in w for w in rec["warnings"])


def test_without_widening_an_optimum_at_the_edge_is_reported_plainly():
    result = sweep_bonus(economics=CHEAP_CREDIT, step_pct=5.0, max_pct=30.0, fixed_minor=[],
                         widen=False, **SMALL)
    rec = result.recommendation
    assert rec["at_edge_of_search"] and not rec["widened"]
    assert rec["optimum_pct_closed_form"] == pytest.approx(30.0)
    assert rec["headline"].startswith("Edge of the search: the best level found is the highest "
                                      "searched (30 %)")
    assert "widen the search" in rec["headline"]


def test_the_default_returns_are_the_simulators_default_shop():
    from toolkit.simulate import load_scenario
    from toolkit.tuning.choice import TYPICAL_VALUE_USD

    shop, population = load_scenario(), ReturnPopulation()
    assert population.typical() == float(shop.usd_in(TYPICAL_VALUE_USD, "USD"))
    assert population.refund_fee_minor == shop.usd_in(shop.refund_fee_usd, "USD")
    assert population.retailer_borne_frac == shop.retailer_borne_share
    drawn = draw_returns(population, np.random.default_rng(0), 20_000)
    # No fee when the merchant is at fault; the fee (at most the value) on every other return.
    borne = drawn.retailer_borne == 1
    assert (drawn.fee_minor[borne] == 0).all()
    assert (drawn.fee_minor[~borne] == np.minimum(595, drawn.value_minor[~borne])).all()
    assert np.median(drawn.value_minor) == pytest.approx(6540, rel=0.05)  # exp(4.18) = 65.37
