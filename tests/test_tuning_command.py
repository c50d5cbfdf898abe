"""``toolkit tune`` as a user runs it: outputs, the one-screen answer, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.cli import main

FAST = ["--runs", "20", "--returns", "1000", "--step", "5", "--seed", "3"]


def _tune(argv: list[str]) -> int:
    """Run ``toolkit tune`` through the real command line (parse, run, errors -> status)."""
    return main(["-q", "tune", *argv])


def test_tune_writes_the_folder_and_answers_in_plain_words(tmp_path: Path, capsys):
    out = tmp_path / "tune"
    assert _tune(["--out", str(out), "--fixed", "5", *FAST]) == 0
    said = capsys.readouterr().out
    assert said.splitlines()[0].startswith("Offer ")
    assert "fixed 5.00" in said and "Breakeven" in said
    for name in ("sweep.csv", "curve.csv", "tornado.csv", "recommendation.json", "uptake.png",
                 "uptake.svg", "net_benefit.png", "net_benefit.svg", "tornado.png", "tornado.svg"):
        assert (out / name).stat().st_size > 0, name


def test_config_problems_are_all_listed_and_nothing_is_written(tmp_path: Path, capsys):
    config = tmp_path / "tuning.toml"
    config.write_text("[economics]\ngross_margin_frac = 1.5\nbogus = 1\n"
                      "[coefficient_sd]\nbonus_coef = -1\n[extras]\n")
    out = tmp_path / "tune"
    assert _tune(["--out", str(out), "--config", str(config), *FAST]) == 2
    said = capsys.readouterr().err
    for problem in ("gross_margin_frac", "bogus", "[coefficient_sd] bonus_coef", "[extras]"):
        assert problem in said
    assert not out.exists()


def test_an_export_calibrates_and_is_resampled(tmp_path: Path, capsys):
    rows = ["return_id,order_id,customer_email,status,resolution_type,currency,return_total,"
            "fees_total,refund_to_original_amount,store_credit_amount,bonus_type,bonus_rate,"
            "bonus_credit_amount,created_at,resolved_at,reason_category"]
    choices = ["original_payment", "store_credit", "exchange", "original_payment"]
    for i in range(40):
        choice, rate = choices[i % 4], ("0.10" if i % 3 else "0.00")
        fee = "5.00" if choice == "original_payment" else ""
        rows.append(f"R{i},O{i},c{i}@example.com,resolved,{choice},USD,{40 + i}.00,{fee},0.00,0.00,"
                    f"percentage,{rate},0.00,2026-03-01T10:00:00Z,2026-03-05T10:00:00Z,"
                    f"customer_borne")
    export = tmp_path / "postco_returns.csv"
    export.write_text("\n".join(rows) + "\n")
    out = tmp_path / "tune"
    assert _tune(["--out", str(out), "--export", str(export), "--fixed", "", *FAST]) == 0
    import json

    rec = json.loads((out / "recommendation.json").read_text())
    cal = rec["settings"]["calibration"]
    assert cal["n_used"] == 40
    assert "value_coef_credit" not in cal["not_identified"]
    assert "retailer_borne_credit" in cal["not_identified"]
    assert rec["settings"]["population"]["export_rows"] == 40


def test_a_bad_export_is_refused_with_status_2(tmp_path: Path, capsys):
    export = tmp_path / "postco_returns.csv"
    export.write_text("return_id,currency\nR1,USD\n")
    assert _tune(["--out", str(tmp_path / "tune"), "--export", str(export), *FAST]) == 2
    assert "missing required column" in capsys.readouterr().err
    assert not (tmp_path / "tune").exists()


def test_the_toolkit_command_line_offers_tune():
    with pytest.raises(SystemExit) as info:
        main(["tune", "--help"])
    assert info.value.code == 0


def test_a_scenario_supplies_the_returns_the_response_and_the_redemption(tmp_path: Path, capsys):
    # A CAD-only shop charging 3.00 per cash refund whose customers respond weakly to a bonus and
    # spend 90 % of their credit: tune values the returns the simulator draws for it.
    scenario = tmp_path / "shop.toml"
    scenario.write_text(
        '[scenario]\nreturns_count = 3000\nseed = 4\nrefund_fee_usd = "3.00"\nredeem_share = 0.9\n'
        'credit_expiry_days = 180\n'
        '[scenario.currencies.CAD]\ncustomer_share = 1.0\nprice_scale = "1.35"\ntax_pct = "13"\n'
        '[scenario.choice]\nbonus_coef = 5.0\n')
    config = tmp_path / "tuning.toml"
    config.write_text("[economics]\ngross_margin_frac = 0.4\n")
    out = tmp_path / "tune"
    assert _tune(["--out", str(out), "--scenario", str(scenario), "--config", str(config),
                  "--fixed", "5", *FAST]) == 0
    assert "fixed 5.00" in capsys.readouterr().out
    import json

    settings = json.loads((out / "recommendation.json").read_text())["settings"]
    assert settings["currency"] == "CAD"
    assert settings["population"]["source"] == "scenario"
    assert settings["population"]["scenario_rows"] == 3000
    assert settings["typical_value_minor"] == 8100  # 60 USD at the shop's CAD price scale
    assert settings["coefficients"]["bonus_coef"] == 5.0
    assert settings["economics"]["redemption_frac"] == 0.9
    assert settings["economics"]["days_to_breakage"] == 180.0
    assert settings["economics"]["gross_margin_frac"] == 0.4  # --config wins


def test_a_bad_scenario_is_refused_with_status_2(tmp_path: Path, capsys):
    scenario = tmp_path / "shop.toml"
    scenario.write_text("[scenario]\nreturns_count = -5\nbogus_setting = 1\n")
    out = tmp_path / "tune"
    assert _tune(["--out", str(out), "--scenario", str(scenario), *FAST]) == 2
    said = capsys.readouterr().err
    assert "returns_count" in said and "bogus_setting" in said
    assert _tune(["--out", str(out), "--scenario", str(tmp_path / "missing.toml"), *FAST]) == 2
    assert "scenario file not found" in capsys.readouterr().err
    assert not out.exists()
