"""Settings: defaults are the contract's, files and flags override, every problem is named."""

from decimal import Decimal

import pytest

from toolkit.errors import ConfigError
from toolkit.settings import load_settings


def test_defaults_are_the_contracts():
    s = load_settings()
    assert (s.credit_pct, s.bonus_pct, s.bonus_min) == (Decimal(100), Decimal(100), Decimal("1.00"))
    assert (s.amount_tolerance, s.issue_window_hours, s.as_of) == (0, 72, None)
    assert (s.timezone, s.postco_workflow_id) == ("UTC", "postco")


def test_file_then_flags_override_in_that_order(tmp_path):
    cfg = tmp_path / "recon.toml"
    cfg.write_text('credit_pct = 90\nissue_window_hours = 48\ntimezone = "Asia/Kuala_Lumpur"\n'
                   '[columns.returns]\n"RMA Number" = "return_id"\n')
    s = load_settings(cfg, issue_window_hours=24, bonus_pct=None)
    assert s.credit_pct == Decimal(90)
    assert s.issue_window_hours == 24
    assert s.bonus_pct == Decimal(100)
    assert s.columns.returns == {"RMA Number": "return_id"}


def test_a_reconcile_table_is_read_when_present(tmp_path):
    cfg = tmp_path / "recon.toml"
    cfg.write_text("[reconcile]\nbonus_min = 2.5\n")
    assert load_settings(cfg).bonus_min == Decimal("2.5")


def test_every_problem_in_a_settings_file_is_reported_at_once(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('credit_pct = -5\ntimezone = "Mars/Olympus"\ncolour = "blue"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    message = str(err.value)
    assert str(cfg) in message
    for name in ("credit_pct", "timezone", "colour"):
        assert name in message


def test_broken_toml_names_the_file(tmp_path):
    cfg = tmp_path / "broken.toml"
    cfg.write_text("credit_pct = = 1\n")
    with pytest.raises(ConfigError, match="broken.toml"):
        load_settings(cfg)


@pytest.mark.parametrize(("currency", "minor"), [("USD", 100), ("JPY", 1), ("KWD", 1000)])
def test_bonus_minimum_is_one_unit_in_each_currencys_minor_units(currency, minor):
    assert load_settings().bonus_min_minor(currency) == minor
