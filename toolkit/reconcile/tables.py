"""Output tables: the typed results turned into the text frames written to disk.

Owns the exact text of ``breaks.csv``, ``returns.csv``, ``ledger.csv`` and ``balances.csv``:
column order (the contract's, then ours from ``docs/contract.md``), money as decimal strings in
each row's currency, timestamps as ISO 8601 UTC, stable ``break_id`` and the one-line ``detail``
a controller reads. Rows are sorted by natural keys (never by input position), so shuffled or
split inputs give the same bytes. This module must never decide a break; it only words them.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.contract import BREAK_KEY, BREAK_SEVERITY, OUTPUT_COLUMNS, BreakReason, RowOutcome
from toolkit.money import format_minor_column
from toolkit.reconcile.balances import BUCKETS
from toolkit.reconcile.classify import ReturnState
from toolkit.reconcile.link import NO, Expectations, Links

__all__ = [
    "BALANCE_COLUMNS",
    "BREAK_COLUMNS",
    "LEDGER_COLUMNS",
    "RETURN_COLUMNS",
    "balances_table",
    "break_id",
    "breaks_table",
    "iso_utc",
    "ledger_table",
    "returns_table",
]

BREAK_COLUMNS = OUTPUT_COLUMNS["breaks.csv"] + ("key", "release_time", "age_days", "created_date")
RETURN_COLUMNS = OUTPUT_COLUMNS["returns.csv"] + (
    "status", "resolution_type", "customer_email", "release_time", "expects_credit", "link")
LEDGER_COLUMNS = OUTPUT_COLUMNS["ledger.csv"] + (
    "created_date", "wallet_id", "customer_email", "type", "operation_type", "amount",
    "signed_amount", "currency", "cancelled", "reasons")
BALANCE_COLUMNS = OUTPUT_COLUMNS["balances.csv"] + ("voids", "other", "rows")

REASON_ORDER = {r.value: i for i, r in enumerate(BreakReason)}
_US_PER_DAY = 86_400_000_000


def break_id(reason: str, key: str) -> str:
    """Stable id of a break: first 16 hex characters of SHA-256 of ``reason|key``.

    >>> break_id("missing_credit", "R-1001")
    '4f4f8fc0a7c8f5b0'  # doctest: +SKIP
    """
    return hashlib.sha256(f"{reason}|{key}".encode()).hexdigest()[:16]


def iso_utc(us: np.ndarray) -> np.ndarray:
    """Microseconds since the epoch as ISO 8601 UTC text (``2026-03-10T03:03:12Z``); ``NO`` -> ``""``.

    Seconds are the precision unless some value has a fraction, then microseconds.
    """
    us = np.asarray(us, dtype=np.int64)
    missing = us == NO
    unit = "us" if (us[~missing] % 1_000_000).any() else "s"
    text = np.datetime_as_string(np.where(missing, 0, us).astype("datetime64[us]"), unit=unit)
    out = np.char.add(text.astype(str), "Z").astype(object)
    out[missing] = ""
    return out


def _take(values: np.ndarray, idx: np.ndarray, fill: object = "") -> np.ndarray:
    """``values[idx]`` with ``fill`` where ``idx`` is ``NO``."""
    out = np.full(len(idx), fill, dtype=object)
    ok = idx != NO
    out[ok] = values[idx[ok]]
    return out


def _money(values: pd.Series | np.ndarray, currency: np.ndarray) -> np.ndarray:
    return _money_many({"x": values}, currency)["x"]


def _money_many(columns: dict[str, object], currency: np.ndarray) -> dict[str, np.ndarray]:
    """Several money columns of one table as text, formatted in one pass (same currency column)."""
    k = len(currency)
    names = list(columns)
    stacked = pd.array(np.zeros(0, dtype=np.int64), dtype="Int64")
    if names:
        stacked = pd.concat([pd.Series(pd.array(columns[c], dtype="Int64")) for c in names],
                            ignore_index=True)
    text = format_minor_column(
        pd.Series(stacked), pd.Series(np.tile(np.asarray(currency, dtype=object), len(names)),
                                      dtype=object)
    ).to_numpy(dtype=object)
    return {c: text[i * k:(i + 1) * k] for i, c in enumerate(names)}


def breaks_table(
    breaks: pd.DataFrame, returns: pd.DataFrame, ledger: pd.DataFrame, exp: Expectations,
    links: Links, settings_window_hours: int, as_of_us: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``breaks.csv`` as text, sorted by reason (contract order), return id, transaction id;
    and the typed breaks in the same order with ``break_id``, ``currency`` and ``severity``."""
    r = breaks["r"].to_numpy(dtype=np.int64)
    li = breaks["li"].to_numpy(dtype=np.int64)
    reason = breaks["reason"].to_numpy(dtype=object)
    by_return = np.array([BREAK_KEY[BreakReason(x)] == "return" for x in reason], dtype=bool)
    rid = _take(returns["return_id"].to_numpy(dtype=object), r)
    tid = _take(ledger["transaction_id"].to_numpy(dtype=object), li)
    currency = np.where(by_return, _take(returns["currency"].to_numpy(dtype=object), r),
                        _take(ledger["currency"].to_numpy(dtype=object), li))
    email = np.where(by_return, _take(returns["customer_email"].to_numpy(dtype=object), r),
                     _take(ledger["customer_email"].to_numpy(dtype=object), li))
    created = _take(links.created_us, li, NO).astype(np.int64)
    release = np.where(by_return, _take(exp.release_us, r, NO).astype(np.int64), created)
    release = np.where(release == NO, created, release)  # rule-2 returns: the credit's time
    age = np.where(release == NO, 0, (as_of_us - release) // _US_PER_DAY)
    age_text = np.where(release == NO, "", age.astype(str)).astype(object)

    amounts = _money_many({c: breaks[c] for c in ("expected", "actual", "difference")}, currency)
    out = pd.DataFrame({
        "break_id": [break_id(a, b) for a, b in zip(reason, np.where(by_return, rid, tid))],
        "reason": reason,
        "severity": [BREAK_SEVERITY[BreakReason(x)].value for x in reason],
        "return_id": rid,
        "transaction_id": tid,
        "wallet_id": _take(ledger["wallet_id"].to_numpy(dtype=object), li),
        "customer_email": email,
        "currency": currency,
        "expected_amount": amounts["expected"],
        "actual_amount": amounts["actual"],
        "difference": amounts["difference"],
        "detail": _details(breaks, returns, ledger, exp, links, rid, tid, currency,
                           settings_window_hours),
        "key": np.where(by_return, "return", "transaction").astype(object),
        "release_time": iso_utc(release),
        "age_days": age_text,
        "created_date": iso_utc(created),
    })
    out["_order"] = [REASON_ORDER[x] for x in reason]
    out = out.sort_values(["_order", "return_id", "transaction_id"], kind="stable")
    typed = breaks.iloc[out.index.to_numpy()].reset_index(drop=True)
    for column in ("break_id", "currency", "severity"):
        typed[column] = out[column].to_numpy()
    return out.loc[:, list(BREAK_COLUMNS)].reset_index(drop=True), typed


def _details(
    breaks: pd.DataFrame, returns: pd.DataFrame, ledger: pd.DataFrame, exp: Expectations,
    links: Links, rid: np.ndarray, tid: np.ndarray, currency: np.ndarray, window: int,
) -> np.ndarray:
    """One sentence per break, in a controller's words."""
    r = breaks["r"].to_numpy(dtype=np.int64)
    li = breaks["li"].to_numpy(dtype=np.int64)
    reason = breaks["reason"].to_numpy(dtype=object)
    row_ccy = _take(ledger["currency"].to_numpy(dtype=object), li)
    row_ccy = np.where(row_ccy == "", currency, row_ccy)
    s = {
        "rid": rid, "tid": tid, "ccy": currency, "row_ccy": row_ccy,
        **dict(zip(("exp", "act", "diff"), _money_many(
            {c: breaks[c] for c in ("expected", "actual", "difference")}, currency).values())),
        "row_amt": _money(pd.array(_take(ledger["amount"].to_numpy(dtype=np.int64), li, None),
                                   dtype="Int64"), row_ccy),
        "due": iso_utc(np.where(_take(exp.due_us, r, NO).astype(np.int64) == NO, NO,
                                _take(exp.due_us, r, NO).astype(np.int64))),
        "created": iso_utc(_take(links.created_us, li, NO).astype(np.int64)),
        "wallet": _take(ledger["wallet_id"].to_numpy(dtype=object), li),
        "row_email": _take(ledger["customer_email"].to_numpy(dtype=object), li),
        "ret_email": _take(returns["customer_email"].to_numpy(dtype=object), r),
        "status": _take(returns["status"].to_numpy(dtype=object), r),
        "resolution": _take(returns["resolution_type"].to_numpy(dtype=object), r),
        "ref": _take(ledger["reference"].to_numpy(dtype=object), li),
        "window": np.full(len(r), str(window), dtype=object),
    }
    kind = np.where(_take(links.is_bonus, li, False).astype(bool), "bonus", "store")
    s["kind"] = kind.astype(object)
    s["template"] = np.where(kind == "bonus", "bonus_credit_received",
                             "store_credit_received").astype(object)
    templates: dict[str, list[str]] = {
        "missing_credit": ["no store credit issued for return ", "rid", ": ", "exp", " ", "ccy",
                           " was due by ", "due", " (", "window", " h after release)"],
        "credit_amount_mismatch": ["store credit ", "tid", " for return ", "rid", " is ", "act",
                                   " ", "ccy", ", expected ", "exp", " ", "ccy"],
        "duplicate_credit": ["return ", "rid", " received store credits totalling ", "act", " ",
                             "ccy", " for ", "exp", " ", "ccy", " due; ", "tid", " repeats it"],
        "missing_bonus": ["no bonus credit issued for return ", "rid", ": ", "exp", " ", "ccy",
                          " was due by ", "due", " (", "window", " h after release)"],
        "bonus_amount_mismatch": ["bonus credit ", "tid", " for return ", "rid", " is ", "act",
                                  " ", "ccy", ", expected ", "exp", " ", "ccy"],
        "duplicate_bonus": ["return ", "rid", " received bonus credits totalling ", "act", " ",
                            "ccy", " for ", "exp", " ", "ccy", " due; ", "tid", " repeats it"],
        "unexpected_bonus": ["bonus credit ", "tid", " of ", "row_amt", " ", "row_ccy",
                             " issued for return ", "rid", ", which earns no bonus"],
        "currency_mismatch": ["credit ", "tid", " for return ", "rid", " was issued as ",
                              "row_amt", " ", "row_ccy", "; the return is in ", "ccy"],
        "wrong_wallet": ["credit ", "tid", " for return ", "rid", " went to wallet ", "wallet",
                         " of ", "row_email", ", not to the customer ", "ret_email"],
        "late_credit": ["credit ", "tid", " for return ", "rid", " was issued ", "created",
                        ", after it was due by ", "due"],
        "premature_credit": ["return ", "rid", " is ", "status",
                             " and not yet released for credit, but received ", "act", " ",
                             "ccy", " (first credit ", "tid", ")"],
        "credit_on_non_credit_return": ["return ", "rid", " was resolved as ", "resolution",
                                        " and also received ", "act", " ", "ccy",
                                        " of store credit (paid twice; first credit ", "tid",
                                        ")"],
        "unreversed_credit": ["return ", "rid", " is ", "status", " but ", "act", " ", "ccy",
                              " of credit issued for it is not reversed (first credit ", "tid",
                              ")"],
        "ambiguous_match": ["PostCo credit ", "tid", " of ", "row_amt", " ", "ccy", " for ",
                            "row_email", " has no reference and fits several returns;"
                            " left unlinked for review"],
        "orphan_credit": ["credit ", "tid", " of ", "row_amt", " ", "ccy", " for ", "row_email",
                          " matches no return in the export"],
        "balance_break": ["wallet ", "wallet", " shows ", "act", " ", "ccy", " after ", "tid",
                          "; the previous balance and this row give ", "exp", " ", "ccy"],
        "negative_balance": ["wallet ", "wallet", " balance is ", "act", " ", "ccy", " after ",
                             "tid"],
        "missing_notification": ["no ", "template", " email was sent for credit ", "tid", " of ",
                                 "row_amt", " ", "ccy", " (return ", "rid", ")"],
    }
    out = np.full(len(r), "", dtype=object)
    for name, parts in templates.items():
        sel = reason == name
        if not sel.any():
            continue
        text = np.full(int(sel.sum()), "", dtype=object)
        for part in parts:
            text = text + (s[part][sel] if part in s else part)
        if name == "orphan_credit":
            named = s["ref"][sel] != ""
            text[named] = (
                "credit " + s["tid"][sel][named] + " of " + s["row_amt"][sel][named] + " "
                + s["ccy"][sel][named] + " names return " + s["ref"][sel][named]
                + ", which is not in the export"
            )
        out[sel] = text
    return out


def returns_table(
    returns: pd.DataFrame, exp: Expectations, state: ReturnState, reasons: np.ndarray
) -> pd.DataFrame:
    """``returns.csv`` as text, one row per input return, sorted by ``return_id``."""
    ccy = returns["currency"].to_numpy(dtype=object)
    money = _money_many({
        "expected_credit": exp.expected_credit, "issued_credit": state.issued_credit,
        "expected_bonus": exp.expected_bonus, "issued_bonus": state.issued_bonus,
    }, ccy)
    out = pd.DataFrame({
        "return_id": returns["return_id"].to_numpy(dtype=object),
        "outcome": state.outcome.astype(object),
        "reasons": reasons,
        "refund_credit_ids": state.refund_ids,
        "bonus_credit_ids": state.bonus_ids,
        "expected_credit": money["expected_credit"],
        "issued_credit": money["issued_credit"],
        "expected_bonus": money["expected_bonus"],
        "issued_bonus": money["issued_bonus"],
        "currency": ccy,
        "status": returns["status"].to_numpy(dtype=object),
        "resolution_type": returns["resolution_type"].to_numpy(dtype=object),
        "customer_email": returns["customer_email"].to_numpy(dtype=object),
        "release_time": iso_utc(exp.release_us),
        "expects_credit": np.where(exp.expects_credit, "true", "false").astype(object),
        "link": state.link.astype(object),
    })
    return out.sort_values("return_id", kind="stable").reset_index(drop=True)


def ledger_table(
    ledger: pd.DataFrame, returns: pd.DataFrame, links: Links, reasons: np.ndarray,
    broken: np.ndarray,
) -> pd.DataFrame:
    """``ledger.csv`` as text, one row per input row, sorted by (``created_date``, id)."""
    ccy = ledger["currency"].to_numpy(dtype=object)
    outcome = np.select(
        [broken, links.credited], [RowOutcome.BREAK.value, RowOutcome.MATCHED.value],
        default=RowOutcome.INFORMATIONAL.value,
    ).astype(object)
    out = pd.DataFrame({
        "transaction_id": ledger["transaction_id"].to_numpy(dtype=object),
        "role": links.role.astype(object),
        "return_id": _take(returns["return_id"].to_numpy(dtype=object), links.ret),
        "link": links.link.astype(object),
        "outcome": outcome,
        "created_date": iso_utc(links.created_us),
        "wallet_id": ledger["wallet_id"].to_numpy(dtype=object),
        "customer_email": ledger["customer_email"].to_numpy(dtype=object),
        "type": ledger["type"].to_numpy(dtype=object),
        "operation_type": ledger["operation_type"].to_numpy(dtype=object),
        **_money_many({"amount": ledger["amount"].to_numpy(dtype=np.int64),
                       "signed_amount": links.signed}, ccy),
        "currency": ccy,
        "cancelled": np.where(links.cancelled, "true", "false").astype(object),
        "reasons": reasons,
    })
    keys = pa.table({"created": links.created_us, "tid": ledger["transaction_id"].to_numpy()})
    order = pc.sort_indices(keys, sort_keys=[("created", "ascending"), ("tid", "ascending")])
    return out.take(order.to_numpy()).reset_index(drop=True)


def balances_table(wallets: pd.DataFrame) -> pd.DataFrame:
    """``balances.csv`` as text, one row per wallet (and currency), sorted by wallet id."""
    ccy = wallets["currency"].to_numpy(dtype=object)
    out = pd.DataFrame({
        "wallet_id": wallets["wallet_id"].to_numpy(dtype=object),
        "customer_email": wallets["customer_email"].to_numpy(dtype=object),
        "currency": ccy,
    })
    columns = ("opening", *BUCKETS.values(), "closing", "reported_closing", "difference")
    money = _money_many({c: wallets[c].to_numpy(dtype=np.int64) for c in columns}, ccy)
    out = pd.concat([out, pd.DataFrame(money)], axis=1)
    out["rows"] = wallets["rows"].astype(str).to_numpy(dtype=object)
    return out.loc[:, list(BALANCE_COLUMNS)]
