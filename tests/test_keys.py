"""Byte-wise key work equals plain Python string semantics, on any text arrow can hold."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.io.keys import KeyTable, Texts, _DirectIndex, equal_pairs, hash64, lookup, small_codes

# Short ids, ids sharing long prefixes, unicode, empty text, and the odd long note.
_text = st.one_of(
    st.text(alphabet="R-0123456789#", max_size=12),
    st.text(max_size=40),
    st.sampled_from(["", "R-1", "R-12", "R-123", "r-1", "\x00", "é", "ü" * 9, "x" * 70]),
)
_texts = st.lists(_text, max_size=60)


def _arrow(values: list[str], how: int) -> pa.Array | pa.ChunkedArray:
    """The same text as arrow holds it in different layouts."""
    if how == 0:
        return pa.array(values, type=pa.string())
    if how == 1:
        return pa.array(values, type=pa.large_string())
    if how == 2:  # a slice: offsets that do not start at zero
        return pa.array(["pad", "more pad"] + values, type=pa.string()).slice(2)
    half = len(values) // 2
    return pa.chunked_array([pa.array(values[:half], type=pa.string()),
                             pa.array(values[half:], type=pa.string())], type=pa.string())


@settings(max_examples=200, deadline=None)
@given(_texts, _texts, st.integers(0, 3), st.integers(0, 3))
def test_lookup_finds_the_first_equal_key_or_nothing(values, keys, how_v, how_k):
    first = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    expected = [first.get(v, -1) for v in values]
    assert lookup(_arrow(values, how_v), _arrow(keys, how_k)).tolist() == expected


_digit_ids = st.lists(st.integers(0, 99_999), min_size=1, max_size=60, unique=True)
# Probes near the ids: one byte changed (in range, out of range, below), cut short, extended.
_edits = st.lists(st.tuples(st.integers(0, 59), st.integers(0, 9), st.sampled_from(
    ["", "0", "9", "a", "/", ":", "R", "\x00", "é", "00"])), max_size=40)


@settings(max_examples=200, deadline=None)
@given(_digit_ids, _edits, st.sampled_from(["R", "#R-", ""]), st.booleans(), st.booleans(),
       st.integers(0, 3))
def test_ids_of_digits_are_coded_exactly(numbers, edits, prefix, padded, numbered, how):
    """Ids made of a prefix and digits are looked up by exact integer codes (no hashing); a
    probe differing in any byte, in length or in a byte no id has there finds nothing.
    Numbered ids (a run of consecutive numbers) fill their codes densely: one array slot each."""
    if numbered:
        numbers = list(range(numbers[0] % 90_000, numbers[0] % 90_000 + len(numbers)))
    keys = [prefix + (f"{k:05d}" if padded else str(k)) for k in numbers]
    values = list(keys)
    for i, at, piece in edits:
        key = keys[i % len(keys)]
        values.append(key[:at] + piece + key[at + 1:])
        values.append(key[:at])
        values.append(key + piece)
    table = KeyTable(_arrow(keys, how))
    assert table.digits is not None
    if numbered and padded:
        assert isinstance(table.table, _DirectIndex)
    position = {k: i for i, k in enumerate(keys)}
    assert table.find(_arrow(values, how)).tolist() == [position.get(v, -1) for v in values]
    rows = np.arange(0, len(values), 3)
    assert table.find(_arrow(values, how), rows).tolist() == [
        position.get(values[r], -1) for r in rows]


@settings(max_examples=200, deadline=None)
@given(_texts, st.integers(0, 3), st.data())
def test_lookup_of_some_rows_only(keys, how, data):
    values = data.draw(_texts)
    rows = data.draw(st.lists(st.integers(0, max(len(values) - 1, 0)), max_size=20)
                     if values else st.just([]))
    first = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    got = lookup(_arrow(values, how), pa.array(keys, type=pa.string()), np.array(rows, dtype=int))
    assert got.tolist() == [first.get(values[r], -1) for r in rows]


@settings(max_examples=200, deadline=None)
@given(_texts, _texts, st.integers(0, 3), st.data())
def test_equal_pairs_is_string_equality(a, b, how, data):
    if not a or not b:
        return
    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(a) - 1), st.integers(0, len(b) - 1)),
                               max_size=40))
    ai = np.array([p[0] for p in pairs], dtype=int)
    bi = np.array([p[1] for p in pairs], dtype=int)
    got = equal_pairs(_arrow(a, how), ai, pa.array(b, type=pa.string()), bi)
    assert got.tolist() == [a[i] == b[j] for i, j in pairs]


@settings(max_examples=200, deadline=None)
@given(_texts, st.integers(0, 3))
def test_equal_text_has_equal_hash_whatever_the_layout(values, how):
    h = hash64(_arrow(values, how))
    again = hash64(pa.array(values, type=pa.string()))
    assert h.tolist() == again.tolist()
    by_text = {}
    for v, x in zip(values, h.tolist()):
        assert by_text.setdefault(v, x) == x


def test_distinct_ids_get_distinct_hashes():
    ids = pa.array([f"R{i:08d}" for i in range(200_000)] + [f"#{i}" for i in range(50_000)])
    assert len(np.unique(hash64(ids))) == len(ids)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["USD", "EUR", "", "JPY", "usd", "KWD", "EURO", "\x00"]),
                max_size=50),
       st.lists(st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP", "EURO", ""]), max_size=6,
                unique=True))
def test_small_codes_is_the_index_in_the_vocabulary(values, vocabulary):
    got = small_codes(pa.array(values, type=pa.string()), vocabulary)
    assert got.tolist() == [vocabulary.index(v) if v in vocabulary else -1 for v in values]


def test_nulls_read_as_empty_text():
    t = Texts.of(pa.array(["a", None, ""]))
    assert t.length.tolist() == [1, 0, 0]
    assert lookup(pa.array([None, "a"]), pa.array(["", "a"])).tolist() == [0, 1]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 20), st.integers(0, 40), st.integers(0, 3), st.data())
def test_texts_of_one_length_read_like_any_other(width, count, how, data):
    """Same-length texts (ids often are) take a strided path; it must agree with plain Python."""
    alphabet = st.text(alphabet="AB09é", min_size=width, max_size=width)
    values = data.draw(st.lists(alphabet.filter(lambda x: len(x.encode()) == width),
                                min_size=count, max_size=count))
    keys = data.draw(st.lists(st.sampled_from(values or ["x"]), max_size=10))
    first = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    assert lookup(_arrow(values, how), _arrow(keys, 0)).tolist() == [first.get(v, -1)
                                                                     for v in values]
    assert lookup(_arrow(keys, 0), _arrow(values, how)).tolist() == [
        values.index(k) if k in values else -1 for k in keys]
    by_text = {}
    for v, x in zip(values, hash64(_arrow(values, how)).tolist()):
        assert by_text.setdefault(v, x) == x
    assert small_codes(_arrow(values, how), sorted(set(values))[:5]).tolist() == [
        sorted(set(values))[:5].index(v) if v in sorted(set(values))[:5] else -1 for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0, 1, 999, 1000, 2000, -7, 10**15,
                                                                    2**62 - 1, -(2**62)])),
                max_size=40),
       st.sampled_from([0, 1, 2, 3, 18]))  # (10**18: too wide to pack with positions)
def test_order_by_is_a_lexsort_by_major_minor_then_position(pairs, scale):
    from toolkit.reconcile.link import order_by, order_in_small_groups

    major = np.array([p[0] * 10**scale for p in pairs], dtype=np.int64)
    minor = np.array([p[1] for p in pairs], dtype=np.int64)
    expected = np.lexsort((np.arange(len(pairs)), minor, major))
    assert order_by(major, minor).tolist() == expected.tolist()
    order, sorted_major, starts, sizes = order_in_small_groups(major, minor)
    assert order.tolist() == expected.tolist()
    assert sorted_major.tolist() == major[expected].tolist()
    runs = [(i, k) for i, k in enumerate(sorted_major.tolist())
            if i == 0 or k != sorted_major[i - 1]]
    assert starts.tolist() == [i for i, _ in runs]
    assert sizes.tolist() == [sorted_major.tolist().count(k) for _, k in runs]
    # Rows instead of positions: strictly increasing, with ``minor`` indexed by row.
    rows = np.cumsum(np.arange(len(pairs), dtype=np.int64) % 3 + 1)
    by_row = np.zeros(int(rows[-1]) + 1 if len(rows) else 0, dtype=np.int64)
    by_row[rows] = minor
    order, sorted_major, starts, sizes = order_in_small_groups(major, by_row, rows)
    assert order.tolist() == rows[expected].tolist()
    assert sorted_major.tolist() == major[expected].tolist()
