"""Calibration: the choice model fitted by maximum likelihood recovers what generated the data,
and says so when the data cannot tell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import InputError
from toolkit.tuning import ChoiceCoefficients, fit_choice_model
from toolkit.tuning.choice import (
    TYPICAL_VALUE_USD,
    ChoiceFeatures,
    choice_probabilities,
    draw_choices,
    typical_value_minor,
)
from toolkit.tuning.observed import ObservedReturns, observed_returns

TRUE = ChoiceCoefficients(asc_credit=-2.2, asc_exchange=-1.4, bonus_coef=7.0, fee_coef=5.0,
                          retailer_borne_credit=-0.6, retailer_borne_exchange=-0.2,
                          value_coef_credit=-0.35, value_coef_exchange=-0.1)
TYPICAL = 6000.0


def _experiment(n: int, seed: int, levels=(0.0, 0.05, 0.10, 0.15, 0.20), fee=595) -> ObservedReturns:
    """A randomised bonus experiment drawn from the shared model with known coefficients."""
    rng = np.random.default_rng(seed)
    value = np.floor(np.exp(rng.normal(4.0, 0.7, n)) * 100 + 0.5).astype(np.int64)
    borne = (rng.random(n) < 0.22).astype(float)
    fee_minor = np.where(borne == 1, 0, fee).astype(np.int64)
    bonus = rng.choice(np.array(levels), n)
    x = ChoiceFeatures(bonus, fee_minor / value, borne, np.log(value / TYPICAL))
    chosen = draw_choices(choice_probabilities(TRUE, x), rng.random(n))
    return ObservedReturns("USD", value, fee_minor, borne, bonus, chosen, {})


def test_fit_recovers_the_true_coefficients_within_their_standard_errors():
    cal = fit_choice_model(_experiment(30_000, seed=21), typical_value_minor=TYPICAL)
    assert cal.converged and not cal.not_identified
    z = (cal.coefficients.as_array() - TRUE.as_array()) / cal.sd()
    assert np.all(np.abs(z) < 3), dict(zip(cal.table()["coefficient"], z.round(2), strict=True))
    # and the standard errors are honest: about 1 in 3 estimates falls outside one SE
    assert np.mean(np.abs(z) < 1) >= 0.25


def test_standard_errors_shrink_like_one_over_root_n():
    small = fit_choice_model(_experiment(5_000, seed=2), typical_value_minor=TYPICAL)
    large = fit_choice_model(_experiment(20_000, seed=2), typical_value_minor=TYPICAL)
    ratio = small.standard_errors["bonus_coef"] / large.standard_errors["bonus_coef"]
    assert ratio == pytest.approx(2.0, rel=0.15)


def test_one_bonus_level_leaves_the_bonus_effect_unknown_not_invented():
    obs = _experiment(8_000, seed=4, levels=(0.10,))
    prior = ChoiceCoefficients()
    cal = fit_choice_model(obs, prior=prior, typical_value_minor=TYPICAL)
    assert "only one bonus level" in cal.not_identified["bonus_coef"]
    assert cal.standard_errors["bonus_coef"] is None
    assert cal.coefficients.bonus_coef == prior.bonus_coef
    # the constant absorbs the offered 10 %: the credit utility the data saw is recovered
    seen = cal.coefficients.asc_credit + cal.coefficients.bonus_coef * 0.10
    assert seen == pytest.approx(TRUE.asc_credit + TRUE.bonus_coef * 0.10, abs=0.15)
    # and draws keep that utility while the unknown slope varies
    draws = cal.draw(np.random.default_rng(0), 2000)
    utility = draws[:, 0] + draws[:, 2] * 0.10
    assert np.std(draws[:, 2]) > 2.0 and np.std(utility) < 0.2


def test_no_fee_anywhere_leaves_the_fee_effect_unknown():
    cal = fit_choice_model(_experiment(5_000, seed=5, fee=0), typical_value_minor=TYPICAL)
    assert set(cal.not_identified) == {"fee_coef"}
    assert "same fee" in cal.not_identified["fee_coef"]


def test_an_alternative_nobody_chose_is_reported():
    obs = _experiment(3_000, seed=6)
    chosen = np.where(obs.chosen == 2, 0, obs.chosen).astype(np.int8)
    no_exchange = ObservedReturns("USD", obs.value_minor, obs.fee_minor, obs.retailer_borne,
                                  obs.bonus_frac, chosen, {})
    cal = fit_choice_model(no_exchange, typical_value_minor=TYPICAL)
    assert cal.not_identified["asc_exchange"] == "no customer chose exchange"
    assert cal.choice_counts["exchange"] == 0


def test_export_rows_read_like_postco_writes_them():
    rows = pd.DataFrame({
        "currency": ["USD"] * 6 + ["CAD"],
        "return_total": ["50.00", "50.00", "25.00", "100.00", "80.00", "0.00", "10.00"],
        "resolution_type": ["store_credit", "mixed", "exchange", "original_payment", "", "exchange",
                            "original_payment"],
        "bonus_type": ["percentage", "percentage", "fixed", "fixed", "none", "none", "none"],
        "bonus_rate": ["0.10", "0.10", "5.00", "5.00", "", "", ""],
        "fees_total": ["", "", "", "5.95", "", "", "1.00"],
        "reason_category": ["Customer Borne", "customer_borne", "Retailer Borne", "customer borne",
                            "customer_borne", "customer_borne", "customer_borne"],
    })
    obs = observed_returns(rows)
    assert obs.currency == "USD"
    assert obs.chosen.tolist() == [1, 1, 2, 0, -1]
    assert obs.bonus_frac.tolist() == [0.10, 0.10, 0.20, 0.05, 0.0]
    assert obs.retailer_borne.tolist() == [0, 0, 1, 0, 0]
    assert obs.fee_minor.tolist() == [595, 595, 0, 595, 595]
    assert obs.skipped == {"other currency": 1, "zero value": 1, "no resolution yet": 1}
    cal = fit_choice_model(obs)
    assert cal.n_used == 4 and cal.skipped["no resolution yet"] == 1


def test_the_offered_bonus_and_fee_are_read_row_by_row_when_the_export_shows_them():
    # Three customers were offered 10 % (of the price before tax, so 4.66 on a 50.00 return) and
    # a 5.95 refund fee. One took credit, one refunded, one exchanged: the export's offered
    # columns tell what each turned down; bonus_credit_amount shows only the credit taker's.
    rows = pd.DataFrame({
        "currency": ["USD"] * 4, "return_total": ["50.00", "50.00", "80.00", "40.00"],
        "resolution_type": ["store_credit", "original_payment", "exchange", "original_payment"],
        "bonus_type": ["percentage", "percentage", "percentage", "none"],
        "bonus_rate": ["0.10", "0.10", "0.10", "0"],
        "bonus_credit_amount": ["4.66", "0.00", "0.00", "0.00"],
        "fees_total": ["", "5.95", "", "0.00"],
        "reason_category": ["customer_borne", "customer_borne", "customer_borne", "retailer_borne"],
        "bonus_offered_amount": ["4.66", "4.66", "7.46", "0.00"],
        "fee_offered_amount": ["5.95", "5.95", "5.95", "0.00"],
    })
    obs = observed_returns(rows)
    assert obs.offered_columns == ("bonus_offered_amount", "fee_offered_amount")
    assert obs.bonus_frac.round(4).tolist() == [0.0932, 0.0932, 0.0932, 0.0]
    assert obs.fee_minor.tolist() == [595, 595, 595, 0]
    assert obs.bonus_base_share == pytest.approx(0.932)
    bad = rows.assign(bonus_offered_amount=["4.66", "lots", "-1.00", ""])
    with pytest.raises(InputError) as info:
        observed_returns(bad)
    assert "bonus_offered_amount" in str(info.value) and "rows 3, 4" in str(info.value)


def test_a_bad_export_is_refused_with_every_row_named():
    rows = pd.DataFrame({
        "currency": ["USD"] * 3, "return_total": ["12.00", "abc", "1.005"],
        "resolution_type": ["refund", "exchange", "exchange"],
        "bonus_type": ["percentage", "percentage", "bogus"], "bonus_rate": ["ten", "0.1", ""],
    })
    with pytest.raises(InputError) as info:
        observed_returns(rows)
    text = str(info.value)
    assert "return_total" in text and "rows 3, 4" in text
    assert "not a resolution type in 1 row(s): rows 2" in text
    assert "bonus_type" in text and "bonus_rate" in text


def _simulate_export(tmp_path: Path, n: int, seed: int, rates: list[str]) -> Path:
    from decimal import Decimal

    from toolkit.simulate import load_scenario, simulate_returns

    scenario = load_scenario(returns_count=n, seed=seed,
                             bonus_experiment_rates=[Decimal(r) for r in rates])
    simulate_returns(scenario).write(tmp_path)
    return tmp_path / "postco_returns.csv"


def test_the_simulator_and_the_tuning_share_one_typical_value():
    from toolkit.simulate import load_scenario
    from toolkit.simulate.returns import TYPICAL_VALUE_USD as SIMULATOR_TYPICAL

    assert SIMULATOR_TYPICAL == TYPICAL_VALUE_USD
    shop = load_scenario()
    for currency, mix in shop.currencies.items():
        assert typical_value_minor(currency, mix.price_scale) == shop.usd_in(TYPICAL_VALUE_USD, currency)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_calibration_on_a_simulated_bonus_experiment_recovers_the_simulators_coefficients(
        tmp_path, seed):
    # 20,000 requests, each offered 0, 5, 10, 15 or 20 % at random; the export shows on every row
    # the bonus and fee the portal offered, so refusers' offers are known exactly.
    export = _simulate_export(tmp_path, 20_000, seed, ["0", "0.05", "0.10", "0.15", "0.20"])
    from toolkit.simulate import load_scenario

    truth = load_scenario().choice
    obs = observed_returns(export)
    assert obs.offered_columns == ("bonus_offered_amount", "fee_offered_amount")
    cal = fit_choice_model(obs, typical_value_minor=typical_value_minor("USD"))
    assert cal.n_used > 15_000 and cal.converged and not cal.not_identified
    assert set(cal.bonus_levels) == {"0%", "5%", "10%", "15%", "20%"}  # the arms, as offered
    z = (cal.coefficients.as_array() - truth.as_array()) / cal.sd()
    assert np.all(np.abs(z) < 2), dict(zip(cal.table()["coefficient"], z.round(2), strict=True))


def test_without_the_offered_columns_an_export_still_calibrates_by_approximation(tmp_path):
    export = _simulate_export(tmp_path, 4_000, 8, ["0", "0.10", "0.20"])
    rows = pd.read_csv(export, dtype=str, keep_default_na=False)
    plain = tmp_path / "plain.csv"
    rows.drop(columns=["bonus_offered_amount", "fee_offered_amount"]).to_csv(plain, index=False)
    with_offer, without = observed_returns(export), observed_returns(plain)
    assert without.offered_columns == ()
    # The fee offered is inferred per reason class and agrees with what the portal showed.
    assert np.array_equal(without.fee_minor, with_offer.fee_minor)
    # The bonus offered is rate x base share: close to, not exactly, what the portal showed.
    assert without.bonus_base_share == pytest.approx(with_offer.bonus_base_share, abs=0.01)
    assert np.abs(without.bonus_frac - with_offer.bonus_frac).max() > 0
    assert np.abs(without.bonus_frac - with_offer.bonus_frac).mean() < 0.005
    assert fit_choice_model(without).converged
