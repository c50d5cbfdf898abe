"""The columnar text kernels equal their scalar originals, value for value and byte for byte."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.io.readers import _currencies, _money
from toolkit.io.text import iso_utc_arrow, join_groups, write_csv_text
from toolkit.money import (
    CURRENCY_EXPONENTS,
    MoneyParseError,
    format_minor,
    format_minor_arrow,
    parse_money,
)

CODES = sorted(CURRENCY_EXPONENTS)
amounts = st.integers(-(10**15), 10**15)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(amounts, st.sampled_from(CODES)), min_size=1, max_size=40))
def test_money_text_is_format_minor(values):
    minor = np.array([v for v, _ in values], dtype=np.int64)
    exps = np.array([CURRENCY_EXPONENTS[c] for _, c in values])
    assert format_minor_arrow(minor, exps).to_pylist() == [format_minor(v, c) for v, c in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(amounts, st.sampled_from(CODES), st.booleans()), min_size=1,
                max_size=40))
def test_missing_money_is_empty_text(values):
    minor = np.array([v for v, _, _ in values], dtype=np.int64)
    exps = np.array([CURRENCY_EXPONENTS[c] for _, c, _ in values])
    missing = np.array([m for _, _, m in values])
    assert format_minor_arrow(minor, exps, missing).to_pylist() == [
        "" if m else format_minor(v, c) for v, c, m in values]
    # A currency whose every amount is missing still fits the layout (``""`` beside ``1200``).
    assert format_minor_arrow(np.array([5, 1200]), np.array([3, 0]), np.array([True, False])
                              ).to_pylist() == ["", "1200"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(
    st.from_regex(r"-?[0-9]{1,9}(\.[0-9]{0,4})?", fullmatch=True) | st.sampled_from(
        ["$1,234.50", "USD 12.00", "(20.00)", "-20.00", "12.3.4", "abc", "1.005", ""]),
    st.sampled_from(CODES)), min_size=1, max_size=30))
def test_money_parsing_is_parse_money(values):
    import pyarrow as pa

    # Split in two chunks, as the CSV parser hands a column over in blocks.
    half = len(values) // 2
    text = [pa.array([t for t, _ in values[:half]]), pa.array([t for t, _ in values[half:]])]
    currency = _currencies([pa.array([c for _, c in values], type=pa.string())])
    minor, bad, shown = _money(text, currency, required=False)
    assert (shown is None) == (not bad.any())
    for (t, c), got, refused in zip(values, minor, bad):
        if t == "":
            assert pd.isna(got) and not refused
            continue
        try:
            expected = parse_money(t, c)
        except MoneyParseError:
            assert refused, (t, c)
        else:
            assert not refused and got == expected, (t, c, got, expected)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4_102_444_800_000_000), min_size=1, max_size=20),
       st.booleans())
def test_timestamps_are_iso_utc(us, whole_seconds):
    us = np.array(us, dtype=np.int64)
    if whole_seconds:
        us = us // 1_000_000 * 1_000_000
    stamps = pd.to_datetime(us, unit="us", utc=True)
    fraction = bool((us % 1_000_000).any())
    expected = [s.strftime("%Y-%m-%dT%H:%M:%S" + (".%f" if fraction else "")) + "Z"
                for s in stamps]
    assert iso_utc_arrow(us).to_pylist() == expected
    assert iso_utc_arrow(np.array([-1])).to_pylist() == [""]


cells = st.text(alphabet=st.sampled_from(list('ab ,"\n\ré€x1')), max_size=6)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(cells, cells, st.one_of(st.none(), cells)), max_size=15))
def test_csv_bytes_are_write_csv_bytes(rows, tmp_path_factory):
    frame = pd.DataFrame(rows, columns=["a", "b,c", "d"])
    folder = tmp_path_factory.mktemp("csv")
    # The reference is pandas itself: write_csv promises pandas' bytes.
    frame.to_csv(folder / "pandas.csv", index=False, lineterminator="\n", na_rep="")
    write_csv_text(frame, folder / "arrow.csv")
    assert (folder / "pandas.csv").read_bytes() == (folder / "arrow.csv").read_bytes()


def test_groups_are_joined_in_order():
    import pyarrow as pa

    owners, text = join_groups(pa.array(["T-1", "T-2", "T-9", "T-3", "T-4"]),
                               np.array([4, 4, 7, 9, 9]))
    assert owners.tolist() == [4, 7, 9]
    assert text.to_pylist() == ["T-1|T-2", "T-9", "T-3|T-4"]


# --- the readers' text helpers equal the pandas and arrow operations they stand in for -------

texts = st.text(alphabet=st.sampled_from(list("aB #1\t\u00a0\u2003\x1cé€Z")), max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(texts, max_size=8), min_size=1, max_size=4), st.booleans())
def test_joined_chunks_are_arrow_concatenation(chunks, sliced):
    import pyarrow as pa

    from toolkit.io.readers import _one_chunk

    arrays = [pa.array(c, type=pa.string()) for c in chunks]
    if sliced:  # chunks that start inside their buffers, as slices of a parsed block do
        arrays = [a.slice(1) if len(a) else a for a in arrays]
    joined = _one_chunk(arrays)
    assert joined.type == pa.large_string()
    assert joined.to_pylist() == [v for a in arrays for v in a.to_pylist()]
    joined.validate(full=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(texts, max_size=30))
def test_keys_emails_and_references_are_what_pandas_makes_of_them(values):
    import pyarrow as pa

    from toolkit.io.readers import _email_key, _reference, _trimmed, normalize_reference

    series = pd.Series(values, dtype="str")
    text = pa.array(values, type=pa.large_string())
    assert _trimmed(text).to_pylist() == list(series.str.strip())
    assert _email_key(text).to_pylist() == list(series.str.strip().str.lower())
    assert _reference(text).to_pylist() == list(normalize_reference(series))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=2, max_size=40), st.integers(1, 16),
       st.booleans())
def test_distinct_ids_are_told_from_repeated_ones(numbers, width, ordered):
    import pyarrow as pa

    from toolkit.io.readers import _all_distinct

    ids = [f"R{n:0{width}d}"[-width:] if width > 1 else str(n % 10) for n in numbers]
    if ordered:
        ids.sort()
    assert _all_distinct(pa.array(ids, type=pa.large_string())) == (len(set(ids)) == len(ids))
