"""The simulator as users meet it: the library call, the folder, the command line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli import main
from decimal import ROUND_HALF_UP, Decimal

from toolkit.contract import LEDGER_COLUMNS, NOTIFICATION_COLUMNS, RETURN_COLUMNS, TRUTH_COLUMNS
from toolkit.errors import ConfigError
from toolkit.simulate import Scenario, load_scenario, simulate_returns

FILES = ("postco_returns.csv", "rise_ledger.csv", "notifications.csv", "customers.csv", "scenario.json",
         "truth.csv")


def _hashes(folder: Path) -> dict[str, str]:
    return {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in FILES}


def test_folder_has_every_contract_file_with_its_columns(small_simulation: Path) -> None:
    for f in FILES:
        assert (small_simulation / f).is_file()
    offered = ("bonus_offered_amount", "fee_offered_amount")
    for f, cols in (("postco_returns.csv", RETURN_COLUMNS + offered), ("rise_ledger.csv", LEDGER_COLUMNS),
                    ("notifications.csv", NOTIFICATION_COLUMNS), ("truth.csv", TRUTH_COLUMNS)):
        header = (small_simulation / f).read_text().splitlines()[0].split(",")
        assert tuple(header) == cols
    settings = json.loads((small_simulation / "scenario.json").read_text())
    assert settings["seed"] == 7 and settings["scenario"]["returns_count"] == 2000


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    a = simulate_returns(returns=800, seed=21).write(tmp_path / "a")
    b = simulate_returns(returns=800, seed=21).write(tmp_path / "b")
    c = simulate_returns(returns=800, seed=22).write(tmp_path / "c")
    assert _hashes(a) == _hashes(b)
    differ = {f for f in FILES if _hashes(a)[f] != _hashes(c)[f]}
    assert differ >= {"postco_returns.csv", "rise_ledger.csv", "notifications.csv", "customers.csv"}


def test_frames_are_exactly_what_is_written(tmp_path: Path) -> None:
    sim = simulate_returns(returns=400, seed=2)
    folder = sim.write(tmp_path / "s", parquet=True)
    back = pd.read_csv(folder / "rise_ledger.csv", dtype=str, keep_default_na=False)
    assert back.equals(sim.ledger.fillna("").astype(str).loc[:, list(LEDGER_COLUMNS)])
    assert (folder / "rise_ledger.parquet").is_file()
    assert len(pd.read_parquet(folder / "postco_returns.parquet")) == 400


def test_writing_from_typed_columns_gives_the_bytes_of_the_text_frames(tmp_path: Path) -> None:
    """The folder is written straight from the typed simulation; the text frames, made on first
    access, written by the generic CSV writer must give exactly the same files."""
    from toolkit.io.output import write_csv
    from toolkit.simulate.simulation import CUSTOMER_COLUMNS, RETURN_EXPORT_COLUMNS

    currencies = {"USD": {"customer_share": 0.6, "price_scale": "1", "tax_pct": "8"},
                  "JPY": {"customer_share": 0.2, "price_scale": "150", "tax_pct": "10"},
                  "KWD": {"customer_share": 0.2, "price_scale": "0.31", "tax_pct": "0"}}
    scenario = load_scenario(returns_count=1500, seed=9, currencies=currencies,
                             postco_export_utc_offset_minutes=330)
    fast = simulate_returns(scenario)
    assert "returns" not in fast.__dict__  # nothing turned into text yet
    folder = fast.write(tmp_path / "fast")
    assert not {"returns", "ledger", "notifications", "customers", "truth"} & set(fast.__dict__)
    sim = simulate_returns(scenario)
    for name, frame, cols in (("postco_returns", sim.returns, RETURN_EXPORT_COLUMNS),
                              ("rise_ledger", sim.ledger, LEDGER_COLUMNS),
                              ("notifications", sim.notifications, NOTIFICATION_COLUMNS),
                              ("customers", sim.customers, CUSTOMER_COLUMNS), ("truth", sim.truth, TRUTH_COLUMNS)):
        write_csv(frame, tmp_path / f"{name}.csv", cols)
        assert (tmp_path / f"{name}.csv").read_bytes() == (folder / f"{name}.csv").read_bytes(), name
    assert len(sim.truth) > 0 and sim.returns["created_at"].str.endswith("+05:30").all()
    assert _hashes(sim.write(tmp_path / "from_frames")) == _hashes(folder)


def test_summary_counts_what_the_files_hold() -> None:
    sim = simulate_returns(returns=1200, seed=4)
    got = sim.summary()
    r, led = sim.returns, sim.ledger
    assert got["returns"] == len(r) and got["ledger_rows"] == len(led)
    assert got["by_status"] == r["status"].value_counts().sort_index().to_dict()
    assert got["by_resolution"] == r["resolution_type"].fillna("(undecided)").value_counts().sort_index().to_dict()
    assert got["wallets"] == led["wallet_id"].nunique() and got["customers"] == len(sim.customers)
    assert got["notifications"] == len(sim.notifications)
    assert got["breaks_by_reason"] == sim.truth["reason"].value_counts().sort_index().to_dict()
    issued = led[(led["type"] == "WALLET_ACTION_START") & (led["issuer_id"] == "postco")]
    usd = issued.loc[issued["currency"] == "USD", "amount"].map(Decimal).sum()
    assert Decimal(got["credit_issued"]["USD"]) == usd > 0


def test_a_customer_who_keeps_the_whole_story_in_one_wallet(small_simulation: Path) -> None:
    """A credit taker resolved long ago: one refund credit and one bonus, emails with their ids."""
    r = pd.read_csv(small_simulation / "postco_returns.csv", dtype=str, keep_default_na=False)
    led = pd.read_csv(small_simulation / "rise_ledger.csv", dtype=str, keep_default_na=False)
    n = pd.read_csv(small_simulation / "notifications.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(small_simulation / "truth.csv", dtype=str, keep_default_na=False)
    ok = r[(r["status"] == "resolved") & (r["resolution_type"] == "store_credit")
           & ~r["return_id"].isin(truth["return_id"]) & (r["bonus_credit_amount"] != "0.00")]
    story = ok.iloc[0]
    credits = led[led["external_event_description"] == story["return_id"]]
    assert sorted(credits["credit_kind"]) == ["bonus_credit", "refund_credit"]
    assert credits.set_index("credit_kind").loc["refund_credit", "amount"] == story["store_credit_amount"]
    assert credits.set_index("credit_kind").loc["bonus_credit", "amount"] == story["bonus_credit_amount"]
    mails = n[n["return_id"] == story["return_id"]]["template"].tolist()
    assert mails[0] == "return_submitted" and "return_completed" in mails
    assert {"store_credit_received", "bonus_credit_received"} <= set(mails)


def test_bonus_experiment_offers_every_level_and_credit_uptake_rises_with_it() -> None:
    sim = simulate_returns(load_scenario(returns_count=6000, seed=5,
                                         bonus_experiment_rates=["0", "0.10", "0.30"]), clean=True)
    req = sim.requests
    uptake = req.groupby("bonus_rate")["choice"].apply(lambda c: (c == "store_credit").mean())
    assert list(uptake.index) == [0.0, 0.1, 0.3]
    assert uptake.iloc[0] < uptake.iloc[1] < uptake.iloc[2]
    assert set(sim.returns["bonus_rate"]) == {"0", "0.10", "0.30"}
    assert (sim.returns.loc[sim.returns["bonus_rate"] == "0", "bonus_type"] == "none").all()


def test_every_return_row_shows_the_bonus_and_fee_offered_before_the_choice(small_simulation: Path) -> None:
    r = pd.read_csv(small_simulation / "postco_returns.csv", dtype=str, keep_default_na=False)
    money = {c: r[c].map(Decimal) for c in ("bonus_offered_amount", "bonus_credit_amount", "fee_offered_amount",
                                            "fees_total", "refund_to_original_amount")}
    res = r["resolution_type"]
    credit = res == "store_credit"
    # A credit taker got exactly what was offered; a mixed return took the bonus on its credit lines only.
    assert (money["bonus_offered_amount"][credit] == money["bonus_credit_amount"][credit]).all()
    mixed = res == "mixed"
    assert mixed.any() and (money["bonus_offered_amount"][mixed] >= money["bonus_credit_amount"][mixed]).all()
    # Refund and exchange takers were offered a bonus too (bonus_credit_amount stays 0 for them).
    others = res.isin(["original_payment", "exchange"]) & (r["bonus_type"] != "none")
    assert others.sum() > 100 and (money["bonus_offered_amount"][others] > 0).mean() > 0.95
    assert (money["bonus_credit_amount"][others] == 0).all()
    assert (money["bonus_offered_amount"][r["bonus_type"] == "none"] == 0).all()
    # The refund fee: charged on customer-borne cash refunds, never on merchant-fault reasons.
    borne = r["reason_category"] == "retailer_borne"
    assert (money["fee_offered_amount"][borne] == 0).all()
    assert (money["fee_offered_amount"][~borne & (r["currency"] == "USD")] == Decimal("5.95")).all()
    charged = (res == "original_payment") & (money["fees_total"] > 0)
    assert charged.any() and (money["fee_offered_amount"][charged] >= money["fees_total"][charged]).all()


def test_offered_bonus_is_ten_percent_of_a_single_item_capped_at_twenty_dollars() -> None:
    """No discounts, no tax, 10 % bonus capped at 20.00 per item: a one-item return's offer is its
    value x 10 %, half up, at most 20.00, whatever the customer chose."""
    s = load_scenario(returns_count=1500, seed=3, discounted_order_share=0, bonus_rate="0.10",
                      bonus_cap_per_item_usd="20.00",
                      currencies={"USD": {"customer_share": 1, "price_scale": "1", "tax_pct": "0"}})
    r = simulate_returns(s, clean=True).returns
    one = r[r["item_count"] == "1"]
    want = one["return_total"].map(
        lambda v: min((Decimal(v) * Decimal("0.10")).quantize(Decimal("0.01"), ROUND_HALF_UP), Decimal("20.00")))
    assert len(one) > 500 and set(one["resolution_type"]) >= {"original_payment", "store_credit", "exchange"}
    assert (one["bonus_offered_amount"].map(Decimal) == want).all()
    assert (want == Decimal("20.00")).any()


def test_integration_switched_off_issues_no_credit_and_truth_lists_the_missing(tmp_path: Path) -> None:
    sim = simulate_returns(load_scenario(returns_count=1200, seed=8, rise_plan="pro"))
    assert not (sim.ledger["issuer_id"] == "postco").any()
    assert set(sim.truth["reason"]) <= {"missing_credit", "missing_bonus"}
    assert (sim.truth["reason"] == "missing_credit").sum() > 50
    from tests.test_simulate_oracle import oracle, truth_of

    folder = sim.write(tmp_path / "off")
    assert oracle(folder) == truth_of(folder)


def test_jpy_and_kwd_amounts_use_their_own_precision() -> None:
    currencies = {"JPY": {"customer_share": 0.5, "price_scale": "150", "tax_pct": "10"},
                  "KWD": {"customer_share": 0.5, "price_scale": "0.31", "tax_pct": "0"}}
    sim = simulate_returns(load_scenario(returns_count=300, seed=1, currencies=currencies))
    r = sim.returns
    assert r.loc[r["currency"] == "JPY", "return_total"].str.fullmatch(r"\d+").all()
    assert r.loc[r["currency"] == "KWD", "return_total"].str.fullmatch(r"\d+\.\d{3}").all()


def test_bad_scenario_lists_every_problem_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nreturns_count = -5\nrise_plan = "gold"\nnot_a_setting = 1\n'
                   'credit_expiry_days = 30\n')
    with pytest.raises(ConfigError) as err:
        load_scenario(bad)
    text = str(err.value)
    for word in ("returns_count", "rise_plan", "not_a_setting", "credit_expiry_days"):
        assert word in text


def test_scenario_is_frozen_and_clean_scenario_file_plants_nothing() -> None:
    s = load_scenario(Path("toolkit/scenarios/clean.toml"))
    assert isinstance(s, Scenario) and s.clean
    with pytest.raises(Exception):
        s.returns_count = 3  # type: ignore[misc]
    assert simulate_returns(s, returns=300, seed=3).truth.empty


def test_command_writes_the_folder_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["simulate", "--out", str(tmp_path / "o"), "--returns", "500", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "Returns by status" in out and "Planted breaks" in out and str((tmp_path / "o").resolve()) in out
    assert all((tmp_path / "o" / f).is_file() for f in FILES)


def test_command_refuses_a_bad_scenario_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nreturns_count = 0\n")
    proc = subprocess.run([sys.executable, "-m", "toolkit", "simulate", "--out", str(tmp_path / "o"),
                           "--scenario", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "returns_count" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_help_explains_every_flag() -> None:
    proc = subprocess.run([sys.executable, "-m", "toolkit", "simulate", "--help"], capture_output=True, text=True)
    for flag in ("--out", "--returns", "--seed", "--scenario", "--clean", "--parquet"):
        assert flag in proc.stdout
