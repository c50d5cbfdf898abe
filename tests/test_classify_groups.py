"""The credit groups of classification answer "the earliest credit" as a plain scan would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.reconcile.classify import _Groups
from toolkit.reconcile.link import order_in_small_groups

# (return, bonus?, created_date, masked?) per credit; few returns and times, so ties happen.
_credits = st.lists(st.tuples(st.integers(0, 4), st.booleans(), st.integers(0, 3), st.booleans()),
                    max_size=30)


def _groups(credits):
    ret = np.array([c[0] for c in credits], dtype=np.int64)
    bonus = np.array([c[1] for c in credits], dtype=bool)
    time = np.array([c[2] for c in credits], dtype=np.int64)
    order, key, starts, sizes = order_in_small_groups(ret * 2 + bonus, time)
    return _Groups(key >> 1, (key & 1).astype(bool), time, order, 5, starts, sizes), order


@settings(max_examples=300, deadline=None)
@given(_credits)
def test_earliest_masked_credit_of_either_kind_is_first_by_time_then_file_order(credits):
    g, order = _groups(credits)
    mask = np.array([credits[i][3] for i in order], dtype=bool)
    owners, at = g.first_where(mask)
    expected = {}
    for row, (ret, _, time, masked) in enumerate(credits):
        if masked and (ret not in expected or (time, row) < expected[ret]):
            expected[ret] = (time, row)
    assert owners.tolist() == sorted(expected)
    assert [int(g.row[a]) for a in at] == [expected[r][1] for r in sorted(expected)]
    with_credit = np.array(sorted({c[0] for c in credits}), dtype=np.int64)
    firsts = g.first_of(with_credit)
    for ret, a in zip(with_credit.tolist(), firsts.tolist()):
        rows = [row for row, c in enumerate(credits) if c[0] == ret]
        assert int(g.row[a]) == min(rows, key=lambda row: (credits[row][2], row))


@settings(max_examples=300, deadline=None)
@given(_credits)
def test_first_and_second_credit_of_a_kind_and_totals(credits):
    g, order = _groups(credits)
    amount = np.arange(1, len(credits) + 1, dtype=np.int64)[order] * 10
    totals = g.totals(amount, None)
    for kind in (0, 1):
        first = g.first(kind)
        owners, seconds = g.second(kind)
        assert owners.tolist() == sorted(set(owners.tolist()))
        second = dict(zip(owners.tolist(), seconds.tolist()))
        for ret in range(5):
            rows = sorted((c[2], row) for row, c in enumerate(credits)
                          if c[0] == ret and c[1] == bool(kind))
            assert (int(g.row[first[ret]]) if first[ret] >= 0 else None) == (
                rows[0][1] if rows else None)
            assert (int(g.row[second[ret]]) if ret in second else None) == (
                rows[1][1] if len(rows) > 1 else None)
            assert totals[kind][ret] == sum((row + 1) * 10 for _, row in rows)
