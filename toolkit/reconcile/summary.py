"""The ``summary.json`` of a reconciliation: counts, money, liability, conservation, daily series.

Owns the shape documented in ``docs/contract.md`` ("summary.json"); reports render it and never
recompute. Every reason, outcome and role appears with 0 when absent; money is text in the
currency's precision. Conservation is recomputed here from the output tables themselves (rows:
the input row each output row is made from) and from the typed partitions behind them (money),
per currency. Everything is counted and summed on integer codes (currencies, roles, outcomes),
never on text. This module must never decide a break.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.contract import (
    BREAK_SEVERITY,
    BreakReason,
    Outcome,
    Role,
    RowOutcome,
    Severity,
)
from toolkit.io.readers import InputTable
from toolkit.io.text import Codes, TextColumn, TextTable
from toolkit.money import CURRENCY_EXPONENTS, format_minor
from toolkit.reconcile.balances import BUCKETS, liability
from toolkit.reconcile.classify import ReturnState
from toolkit.reconcile.link import NO, ROLES, Expectations, Links
from toolkit.reconcile.tables import iso_utc

__all__ = ["RunFacts", "build_summary"]

LARGEST = 50
NO_DAY = np.iinfo(np.int64).max
_AT_RISK = [r.value for r in BreakReason if BREAK_SEVERITY[r] is not Severity.LOW]


@dataclass(frozen=True)
class RunFacts:
    """Everything a summary is made of (typed, minor units), gathered by the engine."""

    settings: dict[str, Any]
    as_of_us: int
    returns_input: InputTable
    ledger_input: InputTable
    notifications_input: InputTable | None
    returns: pd.DataFrame
    ledger: pd.DataFrame
    exp: Expectations
    links: Links
    state: ReturnState
    typed_breaks: pd.DataFrame  # rows of breaks_text, typed: amounts, currency, severity, id
    breaks_text: pd.DataFrame
    returns_text: TextTable  # its order: the input row of each returns.csv row
    ledger_text: TextTable  # its order: the input row of each ledger.csv row
    wallets: pd.DataFrame
    zone: str


def build_summary(f: RunFacts) -> dict[str, Any]:
    """``summary.json`` as a dict (JSON-ready: text, ints, bools, lists)."""
    breaks = f.breaks_text
    totals = _Totals(f)
    # The two passes over millions of rows run beside the rest (numpy releases the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        daily = pool.submit(_daily, f, totals)
        conservation = pool.submit(_conservation, f, totals)
        return _assemble(f, totals, breaks, daily, conservation)


def _assemble(f: RunFacts, totals: _Totals, breaks: pd.DataFrame, daily: Future,
              conservation: Future) -> dict[str, Any]:
    """The summary around the two series computed beside it."""
    from toolkit import __version__

    high_or_medium = int(breaks["severity"].isin([Severity.HIGH, Severity.MEDIUM]).sum())
    counts = {
        "breaks": len(breaks),
        "breaks_by_reason": _zero_filled(breaks["reason"], [r.value for r in BreakReason]),
        "breaks_by_severity": _zero_filled(breaks["severity"], [s.value for s in Severity]),
        "returns_by_outcome": _zero_filled(f.returns_text.columns["outcome"],
                                           [o.value for o in Outcome]),
        "ledger_by_role": _zero_filled(f.ledger_text.columns["role"], [r.value for r in Role]),
        "ledger_by_outcome": _zero_filled(f.ledger_text.columns["outcome"],
                                          [o.value for o in RowOutcome]),
    }
    first, last = NO, NO
    for stamps in (_epoch(f.returns["created_at"]), np.asarray(f.links.created_us)):
        stamps = stamps[stamps != NO]
        if len(stamps):
            lo, hi = int(stamps.min()), int(stamps.max())
            first = lo if first == NO else min(first, lo)
            last = hi if last == NO else max(last, hi)
    period = {
        "first": iso_utc(np.array([first]))[0] if first != NO else "",
        "last": iso_utc(np.array([last]))[0] if last != NO else "",
    }
    return {
        "toolkit_version": __version__,
        "as_of": iso_utc(np.array([f.as_of_us]))[0],
        "period": period,
        "settings": f.settings,
        "inputs": {
            "returns": f.returns_input.to_summary(),
            "ledger": f.ledger_input.to_summary(),
            "notifications": f.notifications_input.to_summary()
            if f.notifications_input is not None else None,
        },
        "counts": counts,
        "money": _money(f, totals),
        "liability": _liability(f.wallets),
        "conservation": conservation.result(),
        "daily": daily.result(),
        "largest_breaks": _largest(f.typed_breaks, breaks),
        "exit_status": 1 if high_or_medium else 0,
    }


def _zero_filled(values: pd.Series | TextColumn, names: list[str]) -> dict[str, int]:
    """How many rows hold each of ``names`` (0 when absent); a column of codes is counted on
    its codes."""
    if isinstance(values, Codes):
        tally = np.bincount(np.asarray(values.codes, dtype=np.int64), minlength=len(values.names))
        counts: dict[str, int] = {}
        for name, k in zip(values.names, tally.tolist()):
            counts[name] = counts.get(name, 0) + k
    elif isinstance(values, TextColumn):
        counts = pd.Series(values.text(slice(None)).to_numpy(zero_copy_only=False)).value_counts()
    else:
        counts = values.value_counts()
    return {name: int(counts.get(name, 0)) for name in names}


def _epoch(stamps: pd.Series) -> np.ndarray:
    values = stamps.dt.as_unit("us").to_numpy(dtype="datetime64[us]").view(np.int64).copy()
    values[stamps.isna().to_numpy()] = NO
    return values


def _fmt(amount: int, currency: str) -> str:
    return format_minor(int(amount), currency)


def _currency_codes(table: TextTable, frame: pd.DataFrame) -> Codes:
    """The currency of each input row as codes: the output table's own when it has them."""
    column = table.columns.get("currency") if isinstance(table, TextTable) else None
    return column if isinstance(column, Codes) else Codes.of(frame["currency"])


class _Totals:
    """Exact per-currency (and per-role) sums over the ledger and the returns, computed once.

    Currencies are integer codes (their position in ``currencies``); every sum is an
    ``np.add.at`` over flat ``int64`` keys, never over text."""

    def __init__(self, f: RunFacts) -> None:
        rows = _currency_codes(f.ledger_text, f.ledger)
        rets = _currency_codes(f.returns_text, f.returns)
        self.currencies = sorted(set(rows.names) | set(rets.names))
        index = {c: i for i, c in enumerate(self.currencies)}
        self.roles = [r.value for r in ROLES]
        self.row_ccy = _recode(rows, index)
        self.ret_ccy = _recode(rets, index)
        k, n_roles = len(self.currencies), len(self.roles)
        by_role = np.zeros(k * n_roles, dtype=np.int64)
        np.add.at(by_role, self.row_ccy * n_roles + f.links.role.astype(np.int64),
                  np.asarray(f.links.signed, dtype=np.int64))
        self.by_role = by_role.reshape(k, n_roles)
        self.signed_in = self.by_role.sum(axis=1)  # every row has exactly one role

    def per_return(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        out = np.zeros(len(self.currencies), dtype=np.int64)
        keys, values = self.ret_ccy, np.asarray(values, dtype=np.int64)
        if mask is not None:
            keys, values = keys[mask], values[mask]
        np.add.at(out, keys, values)
        return out


def _recode(codes: Codes, index: dict[str, int]) -> np.ndarray:
    """Codes of one column as positions in ``index`` (``int64``, ready to index with)."""
    table = np.array([index[c] for c in codes.names] or [0], dtype=np.int64)
    return table[np.asarray(codes.codes, dtype=np.int64)]


def _money(f: RunFacts, totals: _Totals) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tb = f.typed_breaks
    risk = _risk_amount(tb)
    serious = tb["severity"].isin([Severity.HIGH, Severity.MEDIUM]).to_numpy(dtype=bool)
    # At-risk sums per (currency, reason) on integer codes, one pass over the breaks.
    index = {c: i for i, c in enumerate(totals.currencies)}
    reason_index = {r: j for j, r in enumerate(_AT_RISK)}
    ccy = np.array([index.get(c, -1) for c in tb["currency"].to_numpy(dtype=object)],
                   dtype=np.int64)
    reason = np.array([reason_index.get(r, -1) for r in tb["reason"].to_numpy(dtype=object)],
                      dtype=np.int64)
    k, n_reasons = len(totals.currencies), len(_AT_RISK)
    counted = serious & (ccy >= 0)
    at_risk = np.zeros(k, dtype=np.int64)
    np.add.at(at_risk, ccy[counted], risk[counted])
    counted &= reason >= 0
    by_reason = np.zeros(k * n_reasons, dtype=np.int64)
    np.add.at(by_reason, ccy[counted] * n_reasons + reason[counted], risk[counted])
    by_reason = by_reason.reshape(k, n_reasons)
    sums = {name: totals.per_return(values) for name, values in (
        ("expected_credit", f.exp.expected_credit), ("issued_credit", f.state.issued_credit),
        ("expected_bonus", f.exp.expected_bonus), ("issued_bonus", f.state.issued_bonus))}
    for i, c in enumerate(totals.currencies):
        out[c] = {
            **{name: _fmt(values[i], c) for name, values in sums.items()},
            "by_role": {r: _fmt(totals.by_role[i, j], c) for j, r in enumerate(totals.roles)},
            "at_risk": _fmt(at_risk[i], c),
            "at_risk_by_reason": {r: _fmt(by_reason[i, j], c) for j, r in enumerate(_AT_RISK)},
        }
    return out


def _risk_amount(tb: pd.DataFrame) -> np.ndarray:
    """Money a break puts at risk: |difference|, else |actual|, else |expected| (minor units)."""
    amount = tb["difference"].fillna(tb["actual"]).fillna(tb["expected"]).fillna(0)
    return np.abs(amount.to_numpy(dtype=np.int64))


def _liability(wallets: pd.DataFrame) -> dict[str, Any]:
    out = {}
    for c, sums in liability(wallets).items():
        out[c] = {
            "opening": _fmt(sums["opening"], c),
            "movements": {col: _fmt(sums[col], c) for col in BUCKETS.values()},
            "closing": _fmt(sums["closing"], c),
            "reported_closing": _fmt(sums["reported_closing"], c),
            "difference": _fmt(sums["difference"], c),
            "wallets": sums["wallets"],
        }
    return out


def _conservation(f: RunFacts, totals: _Totals) -> dict[str, Any]:
    """Rows: every input row in exactly one output row. Money: per currency, what came in
    equals what the outputs account for (see ``docs/reconcile.md``)."""
    rows: dict[str, Any] = {}
    ok = True
    for name, table, text in (
        ("returns", f.returns_input, f.returns_text),
        ("ledger", f.ledger_input, f.ledger_text),
    ):
        read = sum(x.rows for x in table.files)
        # Each output row is made from the input row ``order`` names: every input row in
        # exactly one output row iff ``order`` is a permutation of the input rows.
        missing, repeated, size = _coverage(text, table.rows)
        entry = {
            "read": read,
            "duplicates_collapsed": table.duplicates_collapsed,
            "input": table.rows,
            "output": len(text),
            "input_rows_missing": missing,
            "input_rows_repeated": repeated,
        }
        entry["ok"] = bool(read - table.duplicates_collapsed == table.rows == len(text)
                           == size and missing == 0 and repeated == 0)
        ok &= entry["ok"]
        rows[name] = entry

    credited = np.flatnonzero(f.links.credited)
    # Currency codes of the returns as small integers: the random lookups stay in cache.
    ret_ccy = totals.ret_ccy.astype(np.int16) if len(totals.currencies) < 2**15 \
        else totals.ret_ccy
    same = credited[totals.row_ccy[credited] == ret_ccy[f.links.ret[credited]]]
    linked = np.zeros(len(totals.currencies), dtype=np.int64)
    np.add.at(linked, totals.row_ccy[same], f.ledger["amount"].to_numpy(dtype=np.int64)[same])
    issued = totals.per_return(f.state.issued_credit) + totals.per_return(f.state.issued_bonus)
    wallet_ccy = Codes.of(f.wallets["currency"])
    index = {c: i for i, c in enumerate(totals.currencies)}
    w_ccy = np.array([index.get(c, -1) for c in wallet_ccy.names] or [-1],
                     dtype=np.int64)[np.asarray(wallet_ccy.codes, dtype=np.int64)]
    movement_all = (f.wallets["closing"].to_numpy(dtype=np.int64)
                    - f.wallets["opening"].to_numpy(dtype=np.int64))
    movements = np.zeros(len(totals.currencies), dtype=np.int64)
    np.add.at(movements, w_ccy[w_ccy >= 0], movement_all[w_ccy >= 0])
    money: dict[str, Any] = {}
    for i, c in enumerate(totals.currencies):
        ledger_in = int(totals.signed_in[i])
        by_role = int(totals.by_role[i].sum())
        movement = int(movements[i])
        entry = {
            "ledger_in": _fmt(ledger_in, c),
            "ledger_by_role": _fmt(by_role, c),
            "balances_movement": _fmt(movement, c),
            "returns_issued": _fmt(int(issued[i]), c),
            "ledger_linked_credits": _fmt(int(linked[i]), c),
            "ok": ledger_in == by_role == movement and int(issued[i]) == int(linked[i]),
        }
        ok &= entry["ok"]
        money[c] = entry
    return {"ok": bool(ok), "rows": rows, "money": money}


def _coverage(table: TextTable, rows: int) -> tuple[int, int, int]:
    """Input rows no output row is made from, input rows more than one is made from, and the
    number of output rows, from the table's ``order`` (``None``: each row once, in place)."""
    if table.order is None:
        n = len(table)
        return max(rows - n, 0), 0, n
    order = np.asarray(table.order, dtype=np.int64)
    if len(order) == rows and (not rows or (order.min() >= 0 and order.max() < rows)):
        # A one-byte mark per input row stays in the CPU caches, unlike a count per row;
        # every row marked by exactly ``rows`` output rows means none is repeated.
        seen = np.zeros(rows, dtype=bool)
        seen[order] = True
        if seen.all():
            return 0, 0, rows
    times = np.bincount(order, minlength=rows)
    return int((times == 0).sum()), int((times > 1).sum()), len(order)


def _local_days(us: np.ndarray, zone: str) -> np.ndarray:
    """Day number (days since 1970-01-01) of each instant in the merchant's zone."""
    us = np.asarray(us, dtype=np.int64)
    if zone == "UTC":
        return us // 86_400_000_000  # floor, as the calendar day of a UTC instant
    stamps = pd.Series(pd.to_datetime(us, unit="us", utc=True))
    local = stamps.dt.tz_convert(zone).dt.tz_localize(None)
    return local.to_numpy(dtype="datetime64[us]").view(np.int64) // 86_400_000_000


def _daily(f: RunFacts, totals: _Totals) -> dict[str, list[dict[str, Any]]]:
    """Per currency and merchant-zone day: returns released, credit expected by release day,
    and uncancelled linked credit and bonus by issue day (all grouped on integer keys)."""
    released = np.flatnonzero(f.exp.expects_credit)
    credited = np.flatnonzero(f.links.credited)
    currencies = totals.currencies
    release_day = _local_days(f.exp.release_us[released], f.zone)
    issue_day = _local_days(f.links.created_us[credited], f.zone)
    out: dict[str, list[dict[str, Any]]] = {}
    if not len(release_day) + len(issue_day):
        return out
    first = int(min(release_day.min(initial=NO_DAY), issue_day.min(initial=NO_DAY)))
    last = int(max(release_day.max(initial=-NO_DAY), issue_day.max(initial=-NO_DAY)))
    span = last - first + 1
    by_release = totals.ret_ccy[released] * span + (release_day - first)
    by_issue = totals.row_ccy[credited] * span + (issue_day - first)
    amount = f.ledger["amount"].to_numpy(dtype=np.int64)[credited]
    bonus = f.links.is_bonus[credited]
    size = len(currencies) * span
    if size <= 4 * (len(by_release) + len(by_issue)) + 1024:
        # (currency, day) keys are few and dense: summed straight into place, not sorted.
        keys = np.arange(size)
    else:
        keys, inverse = np.unique(np.concatenate([by_release, by_issue]), return_inverse=True)
        inverse = inverse.ravel()
        by_release, by_issue = inverse[:len(by_release)], inverse[len(by_release):]
    columns = [np.bincount(by_release, minlength=len(keys)).astype(np.int64)]
    for keys_of, values in ((by_release, f.exp.expected_credit[released]),
                            (by_issue, np.where(bonus, 0, amount)),
                            (by_issue, np.where(bonus, amount, 0))):
        total = np.zeros(len(keys), dtype=np.int64)
        np.add.at(total, keys_of, np.asarray(values, dtype=np.int64))
        columns.append(total)
    present = (columns[0] > 0) | (np.bincount(by_issue, minlength=len(keys)) > 0)
    keys = keys[present]
    sums = np.stack(columns, axis=1)[present]
    day0 = first
    dates = np.datetime_as_string((keys % span + day0).astype("datetime64[D]"), unit="D")
    for c, date, row in zip(keys // span, dates, sums):
        code = currencies[int(c)]
        out.setdefault(code, []).append({
            "date": str(date),
            "returns_released": int(row[0]),
            "credit_expected": _fmt(row[1], code),
            "credit_issued": _fmt(row[2], code),
            "bonus_issued": _fmt(row[3], code),
        })
    return out


def _largest(tb: pd.DataFrame, breaks_text: pd.DataFrame) -> list[dict[str, Any]]:
    """The high and medium breaks with the most money, compared across currencies in units
    (minor units scaled to the finest exponent, so no float is involved)."""
    serious = tb["severity"].isin([Severity.HIGH, Severity.MEDIUM]).to_numpy(dtype=bool)
    if not serious.any():
        return []
    finest = max(CURRENCY_EXPONENTS.values())
    scale = 10 ** (finest - tb["currency"].map(CURRENCY_EXPONENTS).fillna(finest)
                   .to_numpy(dtype=np.int64))
    ranked = pd.DataFrame({
        "weight": _risk_amount(tb) * scale, "break_id": tb["break_id"].to_numpy(dtype=object),
    }).loc[serious].sort_values(["weight", "break_id"], ascending=[False, True]).head(LARGEST)
    ids = breaks_text["break_id"]
    if len(ids) == len(tb) and ids.is_unique and (
            ids.to_numpy(dtype=object) == tb["break_id"].to_numpy(dtype=object)).all():
        # The rows of ``breaks_text`` are those of ``tb``: picked by position, not by id.
        picked = breaks_text.iloc[ranked.index.to_numpy()].to_dict(orient="records")
    else:
        by_id = breaks_text.set_index("break_id", drop=False)
        picked = [dict(by_id.loc[bid].items()) for bid in ranked["break_id"]]
    return [{k: (v if isinstance(v, str) else str(v)) for k, v in row.items()} for row in picked]
