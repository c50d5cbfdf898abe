"""The command line: help everywhere, one entry point, refusals as exit 2 without a traceback."""

import subprocess
import sys

import pytest

from toolkit.cli import COMMANDS, main


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_explains_every_flag(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: toolkit " + command)
    for line in out.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") and "  " not in stripped:
            # a flag listed alone on its line must have its explanation on the next line
            nxt = out.splitlines()[out.splitlines().index(line) + 1].strip()
            assert nxt and not nxt.startswith("-"), f"{command}: {stripped} has no help"


def test_python_dash_m_runs_the_same_command_line():
    done = subprocess.run([sys.executable, "-m", "toolkit", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "simulate" in done.stdout


def test_a_bad_scenario_file_is_refused_with_exit_two_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "simulate", "--scenario", str(bad), "--out", str(out)],
        capture_output=True, text=True,
    )
    assert done.returncode == 2
    assert "bad.toml" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
