"""Refusals carry their evidence: file, column, and every offending row (first 20 and a count)."""

from toolkit.errors import InputError, InputProblem, ToolkitError


def test_a_problem_lists_the_first_twenty_rows_and_counts_the_rest():
    rows = tuple(range(2, 32))
    problem = InputProblem("rise_ledger.csv", "amount", "not an amount", rows, ("abc",) * 30)
    text = problem.describe()
    assert text.startswith("rise_ledger.csv, column 'amount': not an amount in 30 row(s)")
    assert "rows 2, 3, 4" in text and ", 21 and 10 more" in text
    assert "22" not in text.split("and 10 more")[0].split("rows ")[1].split(", ")


def test_an_input_error_reports_every_problem_and_exits_two():
    err = InputError([
        InputProblem("postco_returns.csv", "status", "not one of pending, ...", (4,), ("done",)),
        InputProblem("postco_returns.csv", "currency", "missing required column"),
    ])
    assert isinstance(err, ToolkitError) and err.exit_status == 2
    lines = str(err).splitlines()
    assert lines[0] == "input refused:"
    assert "column 'status'" in lines[1] and "row(s): rows 4" in lines[1]
    assert lines[2].strip() == "postco_returns.csv, column 'currency': missing required column"
