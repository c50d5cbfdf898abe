"""Output text made on demand equals its straightforward original, byte for byte.

The reconciler's output files are written from :class:`~toolkit.io.text.TextTable` (codes,
integers and orders, formatted a slice of rows at a time on two threads). Each piece is held
equal here to the plain way of doing the same thing: arrow's timestamp cast, money text of every
row, and pandas' ``to_csv`` of the finished frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.io.text import (
    NO_TIME,
    Codes,
    Fixed,
    Money,
    Stamps,
    Taken,
    TextTable,
    _iso_utc_kernels,
    iso_utc_arrow,
    write_csv_text,
    write_text_tables,
)
from toolkit.money import CURRENCY_EXPONENTS, format_minor, format_minor_arrow
from toolkit.reconcile.result import ReconciliationResult

FIRST_US, END_US = -62_135_596_800_000_000, 253_402_300_800_000_000  # years 0001..9999
CODES = sorted(CURRENCY_EXPONENTS)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.integers(FIRST_US, END_US - 1), st.just(NO_TIME),
                          st.integers(1_700_000_000, 1_800_000_000).map(lambda s: s * 10**6)),
                min_size=1, max_size=40),
       st.sampled_from([None, True, False]))
def test_timestamps_from_lookup_tables_are_arrows_cast(us, fraction):
    us = np.array(us, dtype=np.int64)
    decided = fraction if fraction is not None else bool((us[us != NO_TIME] % 10**6).any())
    assert iso_utc_arrow(us, fraction).to_pylist() == _iso_utc_kernels(us, decided).to_pylist()


def test_timestamps_outside_four_digit_years_and_empty_columns():
    far = np.array([END_US + 10**6, 0, NO_TIME], dtype=np.int64)
    assert iso_utc_arrow(far).to_pylist() == _iso_utc_kernels(far, False).to_pylist()
    assert iso_utc_arrow(np.array([NO_TIME, NO_TIME])).to_pylist() == ["", ""]
    assert iso_utc_arrow(np.array([], dtype=np.int64)).to_pylist() == []
    assert iso_utc_arrow(np.array([1_773_111_792_000_000, 1_773_111_792_000_001])).to_pylist() \
        == ["2026-03-10T03:03:12.000000Z", "2026-03-10T03:03:12.000001Z"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.integers(-(10**15), 10**15), st.sampled_from([0, 5, -5])),
                          st.sampled_from(CODES), st.booleans()), min_size=1, max_size=40),
       st.booleans())
def test_money_formatted_once_per_distinct_amount_is_every_rows_text(values, with_missing):
    minor = np.array([v for v, _, _ in values], dtype=np.int64)
    exps = np.array([CURRENCY_EXPONENTS[c] for _, c, _ in values])
    missing = np.array([m for _, _, m in values]) if with_missing else None
    column = Money(minor, exps, missing)
    rows = np.arange(len(values))[::-1]
    expected = ["" if with_missing and m else format_minor(v, c) for v, c, m in values]
    assert column.text(rows).to_pylist() == expected[::-1]
    assert column.text(slice(0, len(values))).to_pylist() == expected


cells = st.text(alphabet=st.sampled_from(list('ab ,"\n\ré€x1|')), max_size=5)


@st.composite
def tables(draw):
    """A table of every column kind, in a random order of rows."""
    n = draw(st.integers(0, 25))
    text = draw(st.lists(cells, min_size=n, max_size=n))
    other = draw(st.lists(cells, min_size=4, max_size=4))
    names = [draw(st.sampled_from(["a", "b", "c,d", "e"])) for _ in range(3)]
    columns = {
        "id": Fixed(pa.array(text, type=pa.large_string())),
        "kind": Codes(np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
                               dtype=np.int64), names),
        "flag": Codes.flags(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)),
                                     dtype=bool)),
        "other": Taken(pa.array(other), np.array(
            draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)), dtype=np.int64)),
        "amount": Money(np.array(draw(st.lists(st.integers(-(10**9), 10**9) | st.just(0),
                                               min_size=n, max_size=n)), dtype=np.int64),
                        np.array(draw(st.lists(st.sampled_from([0, 2, 3]), min_size=n,
                                               max_size=n)), dtype=np.int64)),
        "at": Stamps(np.array(draw(st.lists(st.integers(0, 4 * 10**15) | st.just(NO_TIME),
                                            min_size=n, max_size=n)), dtype=np.int64)),
        "state": Codes.of(pd.Series(draw(st.lists(st.sampled_from(["open", "shut"]),
                                                  min_size=n, max_size=n)), dtype="str")),
        "last": Codes(np.zeros(n, dtype=np.int8), ["z"]),
    }
    keep = draw(st.lists(st.sampled_from(sorted(columns)), min_size=1, unique=True))
    shuffled = draw(st.booleans())
    order = np.array(draw(st.permutations(range(n))), dtype=np.int64) if shuffled else None
    return TextTable({k: columns[k] for k in columns if k in keep}, order, rows=n)


@settings(max_examples=80, deadline=None)
@given(table=tables(), step=st.integers(1, 9))
def test_text_tables_write_the_bytes_pandas_writes_for_their_frame(table, step, tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    frame = table.to_pandas()
    assert list(frame.columns) == table.names and len(frame) == len(table)
    frame.to_csv(folder / "pandas.csv", index=False, lineterminator="\n", na_rep="")
    write_text_tables([(table, folder / "sliced.csv")], rows=step)
    assert (folder / "sliced.csv").read_bytes() == (folder / "pandas.csv").read_bytes()


def test_a_table_is_made_from_its_columns_in_its_order():
    table = TextTable({
        "tid": Fixed(["T-2", "T-1", "T-3"]),
        "rid": Taken(pa.array(["R-1", "R-2"]), np.array([1, -1, 0])),
        "role": Codes(np.array([0, 1, 0]), ["store_credit", "other_credit"]),
        "ok": Codes.flags(np.array([True, False, True])),
        "amount": Money(np.array([5000, -1250, 0]), np.array([2, 2, 0])),
        "at": Stamps(np.array([1_773_111_792_000_000, NO_TIME, 0])),
    }, order=np.array([1, 0, 2]))
    assert table.to_pandas().to_dict(orient="list") == {
        "tid": ["T-1", "T-2", "T-3"],
        "rid": ["", "R-2", "R-1"],
        "role": ["other_credit", "store_credit", "store_credit"],
        "ok": ["false", "true", "true"],
        "amount": ["-12.50", "50.00", "0"],
        "at": ["", "2026-03-10T03:03:12Z", "1970-01-01T00:00:00Z"],
    }
    # Neighbouring codes (amounts too) are one piece of the line.
    assert [type(c).__name__ for c in table.cells()] == [
        "Fixed", "Taken", "_Dict", "Stamps"]
    assert bytes(table.csv_lines(0, 1)) == b"T-1,,other_credit,false,-12.50,\n"


def test_frames_are_written_as_write_csv_would(tmp_path):
    frame = pd.DataFrame({"a": ["x,y", "", None], "b": [1, 2, 3], 'q"': ['say "hi"', "z", "w"]})
    write_csv_text(frame, tmp_path / "text.csv")
    frame.to_csv(tmp_path / "pandas.csv", index=False, lineterminator="\n", na_rep="")
    assert (tmp_path / "text.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_a_result_gives_frames_on_demand_and_writes_the_same_folder_from_either(tmp_path):
    def result(table):
        return ReconciliationResult(
            breaks=pd.DataFrame({"break_id": ["b1"], "reason": ["orphan_credit"]}),
            returns=table, ledger=pd.DataFrame({"transaction_id": ["T-1"]}),
            balances=pd.DataFrame({"wallet_id": ["W-1"], "rows": ["1"]}),
            summary={"exit_status": 0}, exit_status=0, typed_breaks=pd.DataFrame())

    text = TextTable({"return_id": Fixed(["R-2", "R-1"]),
                      "issued_credit": Money(np.array([100, 250]), np.array([2, 2]))},
                     order=np.array([1, 0]))
    lazy, eager = result(text), result(text.to_pandas())
    assert lazy.returns.to_dict(orient="list") == {"return_id": ["R-1", "R-2"],
                                                   "issued_credit": ["2.50", "1.00"]}
    lazy.write(tmp_path / "lazy")
    eager.write(tmp_path / "eager")
    for name in ("breaks.csv", "returns.csv", "ledger.csv", "balances.csv", "summary.json"):
        assert (tmp_path / "lazy" / name).read_bytes() == (tmp_path / "eager" / name).read_bytes()
    assert (tmp_path / "lazy" / "returns.csv").read_text() == \
        "return_id,issued_credit\nR-1,2.50\nR-2,1.00\n"
    with pytest.raises(AttributeError):
        lazy.exit_status = 1


def test_money_columns_beyond_the_encodable_range_are_formatted_row_by_row():
    huge = np.array([10**17, -(10**17), 10**17], dtype=np.int64)
    column = Money(huge, np.array([3, 3, 3]))
    assert column.text(np.array([2, 1])).to_pylist() == format_minor_arrow(
        huge[[2, 1]], np.array([3, 3])).to_pylist()


def test_a_result_is_copied_and_pickled_as_its_frames():
    import copy
    import pickle

    table = TextTable({"return_id": Fixed(["R-2", "R-1"])}, order=np.array([1, 0]))
    result = ReconciliationResult(
        breaks=pd.DataFrame({"break_id": []}), returns=table, ledger=pd.DataFrame(),
        balances=pd.DataFrame(), summary={"a": 1}, exit_status=1, typed_breaks=pd.DataFrame())
    for other in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result)):
        assert other.returns["return_id"].tolist() == ["R-1", "R-2"]
        assert (other.summary, other.exit_status) == ({"a": 1}, 1)


def test_codes_of_a_column_whose_late_rows_hold_new_values():
    values = ["open"] * 5000 + ["shut", "open", "held"]
    column = Codes.of(pd.Series(values, dtype="str"))
    assert sorted(column.names) == ["held", "open", "shut"]
    assert column.text(slice(None)).to_pylist() == values
