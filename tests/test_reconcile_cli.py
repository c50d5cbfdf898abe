"""``toolkit reconcile`` as users run it: files in, a folder out, a summary on stdout, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.reconcile import reconcile
from toolkit.reconcile.result import OUTPUT_FILES
from toolkit.simulate import simulate_returns

GOOD_LEDGER = """transaction_id,created_date,wallet_id,customer_email,type,operation_type,amount,currency,updated_balance,external_event_description
T-1,2026-03-09T11:00:00Z,W-1,ann@example.com,WALLET_ACTION_START,ADD,50.00,USD,50.00,R-1
"""
GOOD_RETURNS = """return_id,order_id,customer_email,status,resolution_type,currency,return_total,refund_to_original_amount,store_credit_amount,bonus_type,bonus_credit_amount,created_at,resolved_at
R-1,O-1,ann@example.com,resolved,store_credit,USD,50.00,0,50.00,none,0,2026-03-01T09:00:00Z,2026-03-02T10:00:00Z
"""


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulate_returns(returns=2000, seed=4).write(tmp_path_factory.mktemp("sim") / "shop")


def _args(folder: Path, out: Path) -> list[str]:
    return ["--returns", str(folder / "postco_returns.csv"), "--ledger",
            str(folder / "rise_ledger.csv"), "--notifications", str(folder / "notifications.csv"),
            "--out", str(out)]


def test_command_and_library_write_identical_files(simulated, tmp_path, capsys):
    status = main(["-q", "reconcile", *_args(simulated, tmp_path / "cli")])
    out = capsys.readouterr().out
    result = reconcile(str(simulated / "postco_returns.csv"), str(simulated / "rise_ledger.csv"),
                       str(simulated / "notifications.csv"))
    result.write(tmp_path / "lib")
    for name in OUTPUT_FILES:
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "lib" / name).read_bytes(), name
    assert status == result.exit_status == 1
    assert out.splitlines()[0].startswith("Conservation: OK")
    assert f"Files in {tmp_path / 'cli'}" in out


def test_rerunning_gives_byte_identical_files(simulated, tmp_path):
    main(["-q", "reconcile", *_args(simulated, tmp_path / "a")])
    main(["-q", "reconcile", *_args(simulated, tmp_path / "b")])
    for name in OUTPUT_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_flags_override_the_settings_file(tmp_path, capsys):
    (tmp_path / "returns.csv").write_text(GOOD_RETURNS)
    (tmp_path / "ledger.csv").write_text(GOOD_LEDGER)
    (tmp_path / "settings.toml").write_text("[reconcile]\nissue_window_hours = 24\n")
    base = ["-q", "reconcile", "--returns", str(tmp_path / "returns.csv"), "--ledger",
            str(tmp_path / "ledger.csv"), "--config", str(tmp_path / "settings.toml"),
            "--as-of", "2026-03-31T00:00:00Z"]
    # Credit seven days after resolution: late under the file's 24 h window...
    assert main([*base, "--out", str(tmp_path / "strict")]) == 0
    late = pd.read_csv(tmp_path / "strict" / "breaks.csv", dtype=str)
    assert list(late["reason"]) == ["late_credit"]
    # ...and on time when the flag widens the window to 10 days.
    assert main([*base, "--issue-window-hours", "240", "--out", str(tmp_path / "wide")]) == 0
    assert pd.read_csv(tmp_path / "wide" / "breaks.csv").empty
    capsys.readouterr()


def test_refused_input_exits_2_with_the_rows_named_and_writes_nothing(tmp_path):
    (tmp_path / "returns.csv").write_text(GOOD_RETURNS)
    (tmp_path / "ledger.csv").write_text(GOOD_LEDGER + (
        "T-2,2026-03-10T11:00:00Z,W-1,ann@example.com,REDEEM,SUBTRACT,ten,USD,40.00,\n"
        "T-1,2026-03-09T11:00:00Z,W-1,ann@example.com,WALLET_ACTION_START,ADD,55.00,USD,55.00,R-1\n"
    ))
    (tmp_path / "empty.csv").write_text("")
    out = tmp_path / "run"
    out.mkdir()
    (out / "breaks.csv").write_text("last month's breaks\n")
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", "reconcile", "--returns", str(tmp_path / "returns.csv"),
         "--ledger", str(tmp_path / "ledger.csv"), "--ledger", str(tmp_path / "empty.csv"),
         "--out", str(out)],
        capture_output=True, text=True, cwd=Path(__file__).parent.parent,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert f"{tmp_path / 'ledger.csv'}, column 'amount': not an amount in the row's currency in 1 row(s): rows 3" in proc.stderr
    assert "one transaction_id on rows with different content in 2 row(s): rows 2, 4" in proc.stderr
    assert f"{tmp_path / 'empty.csv'}: empty file without a header" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["breaks.csv"]
    assert (out / "breaks.csv").read_text() == "last month's breaks\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.csv", "ledger.csv",
                                                           "returns.csv", "run"]


def test_problems_of_both_inputs_are_reported_together(tmp_path, capsys):
    (tmp_path / "returns.csv").write_text(GOOD_RETURNS.replace("USD,50.00,0", "USD,fifty,0"))
    (tmp_path / "ledger.csv").write_text(GOOD_LEDGER.replace("2026-03-09T11:00:00Z", "soon"))
    status = main(["reconcile", "--returns", str(tmp_path / "returns.csv"), "--ledger",
                   str(tmp_path / "ledger.csv"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2
    assert "column 'return_total': not an amount" in err
    assert "column 'created_date': not an ISO 8601 timestamp" in err


def test_missing_required_column_is_refused_with_exit_2(tmp_path, capsys):
    (tmp_path / "returns.csv").write_text(GOOD_RETURNS.replace(",currency", ",money_code", 1))
    (tmp_path / "ledger.csv").write_text(GOOD_LEDGER)
    status = main(["reconcile", "--returns", str(tmp_path / "returns.csv"), "--ledger",
                   str(tmp_path / "ledger.csv"), "--out", str(tmp_path / "run")])
    assert status == 2
    assert f"{tmp_path / 'returns.csv'}, column 'currency': missing required column" in \
        capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_invalid_setting_is_refused_with_exit_2(tmp_path, capsys):
    (tmp_path / "returns.csv").write_text(GOOD_RETURNS)
    (tmp_path / "ledger.csv").write_text(GOOD_LEDGER)
    status = main(["reconcile", "--returns", str(tmp_path / "returns.csv"), "--ledger",
                   str(tmp_path / "ledger.csv"), "--timezone", "Mars/Olympus",
                   "--out", str(tmp_path / "run")])
    assert status == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_report_flag_renders_the_report_into_the_run_folder(simulated, tmp_path, capsys):
    pytest.importorskip("toolkit.report")
    main(["-q", "reconcile", *_args(simulated, tmp_path / "run"), "--report"])
    capsys.readouterr()
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert set(OUTPUT_FILES) <= names
    assert any(n.endswith(".html") for n in names) and any(n.endswith(".xlsx") for n in names)
