"""Output tables: the typed results turned into the text frames written to disk.

Owns the exact text of ``breaks.csv``, ``returns.csv``, ``ledger.csv`` and ``balances.csv``:
column order (the contract's, then ours from ``docs/contract.md``), money as decimal strings in
each row's currency, timestamps as ISO 8601 UTC, stable ``break_id`` and the one-line ``detail``
a controller reads. Rows are sorted by natural keys (never by input position), so shuffled or
split inputs give the same bytes. This module must never decide a break; it only words them.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.contract import BREAK_KEY, BREAK_SEVERITY, OUTPUT_COLUMNS, BreakReason, RowOutcome
from toolkit.io.text import arrow_text, decode, iso_utc_arrow
from toolkit.money import CURRENCY_EXPONENTS, format_minor_arrow
from toolkit.reconcile.balances import BUCKETS
from toolkit.reconcile.classify import ReturnState
from toolkit.reconcile.link import LINKS, NO, ROLES, Expectations, Links

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
    """Microseconds since the epoch as ISO 8601 UTC text (``2026-03-10T03:03:12Z``); ``NO`` -> ``""``."""
    return iso_utc_arrow(us).to_numpy(zero_copy_only=False).astype(object)


def _take(values: np.ndarray, idx: np.ndarray, fill: object = "") -> np.ndarray:
    """``values[idx]`` with ``fill`` where ``idx`` is ``NO`` (numeric arrays)."""
    out = np.full(len(idx), fill, dtype=object)
    ok = idx != NO
    out[ok] = values[idx[ok]]
    return out


def _pick(column: pd.Series | pa.Array, idx: np.ndarray) -> pa.Array:
    """Text of ``column`` at ``idx`` (``""`` where ``idx`` is ``NO``), without leaving arrow."""
    idx = np.asarray(idx, dtype=np.int64)
    picked = arrow_text(column).take(pa.array(idx, mask=idx == NO))
    return picked.fill_null("") if picked.null_count else picked


def _text(column: pd.Series | pa.Array, idx: np.ndarray) -> np.ndarray:
    return _pick(column, idx).to_numpy(zero_copy_only=False).astype(object)


def _exponents(currency: np.ndarray | pa.Array | pd.Series) -> np.ndarray:
    encoded = pc.dictionary_encode(arrow_text(currency))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    table = np.array([CURRENCY_EXPONENTS[str(c)] for c in encoded.dictionary.to_pylist()],
                     dtype=np.int64)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return table[codes] if len(table) else np.zeros(len(codes), dtype=np.int64)


def _money_arrow(values: object, exps: np.ndarray) -> pa.Array:
    series = pd.Series(pd.array(values, dtype="Int64")) if not isinstance(values, np.ndarray) \
        else None
    if series is None:
        return format_minor_arrow(values, exps)
    missing = series.isna().to_numpy()
    return format_minor_arrow(series.fillna(0).to_numpy(dtype=np.int64), exps, missing)


def _money(values: object, currency: np.ndarray) -> np.ndarray:
    return _money_arrow(values, _exponents(currency)).to_numpy(zero_copy_only=False).astype(object)


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
    rid = _text(returns["return_id"], r)
    tid = _text(ledger["transaction_id"], li)
    currency = np.where(by_return, _text(returns["currency"], r), _text(ledger["currency"], li))
    email = np.where(by_return, _text(returns["customer_email"], r),
                     _text(ledger["customer_email"], li))
    created = _take(links.created_us, li, NO).astype(np.int64)
    release = np.where(by_return, _take(exp.release_us, r, NO).astype(np.int64), created)
    release = np.where(release == NO, created, release)  # rule-2 returns: the credit's time
    age = np.where(release == NO, 0, (as_of_us - release) // _US_PER_DAY)
    age_text = np.where(release == NO, "", age.astype(str)).astype(object)

    amounts = {c: _money(breaks[c], currency) for c in ("expected", "actual", "difference")}
    out = pd.DataFrame({
        "break_id": [break_id(a, b) for a, b in zip(reason, np.where(by_return, rid, tid))],
        "reason": reason,
        "severity": [BREAK_SEVERITY[BreakReason(x)].value for x in reason],
        "return_id": rid,
        "transaction_id": tid,
        "wallet_id": _text(ledger["wallet_id"], li),
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
    row_ccy = _text(ledger["currency"], li)
    row_ccy = np.where(row_ccy == "", currency, row_ccy)
    s = {
        "rid": rid, "tid": tid, "ccy": currency, "row_ccy": row_ccy,
        "exp": _money(breaks["expected"], currency),
        "act": _money(breaks["actual"], currency),
        "diff": _money(breaks["difference"], currency),
        "row_amt": _money(pd.array(_take(ledger["amount"].to_numpy(dtype=np.int64), li, None),
                                   dtype="Int64"), row_ccy),
        "due": iso_utc(np.where(_take(exp.due_us, r, NO).astype(np.int64) == NO, NO,
                                _take(exp.due_us, r, NO).astype(np.int64))),
        "created": iso_utc(_take(links.created_us, li, NO).astype(np.int64)),
        "wallet": _text(ledger["wallet_id"], li),
        "row_email": _text(ledger["customer_email"], li),
        "ret_email": _text(returns["customer_email"], r),
        "status": _text(returns["status"], r),
        "resolution": _text(returns["resolution_type"], r),
        "ref": _text(ledger["reference"], li),
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


def _frame(columns: dict[str, pa.Array]) -> pd.DataFrame:
    """Text columns (arrow) as a pandas frame of ``str`` columns."""
    return pa.table(columns).to_pandas(types_mapper={pa.string(): _STR}.get)


_STR = pd.StringDtype("pyarrow", na_value=np.nan)


def _flags(mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), "true", "false")


def _gather(columns: dict[str, object], order: np.ndarray) -> dict[str, pa.Array]:
    """Text columns in ``order``, gathered on two threads (arrow releases the GIL)."""
    indices = pa.array(order)
    with ThreadPoolExecutor(max_workers=2) as pool:
        taken = list(pool.map(lambda col: arrow_text(col).take(indices), columns.values()))
    return dict(zip(columns, taken))


def _few(column: object, order: np.ndarray) -> pa.Array:
    """A column of few distinct values (enums, currencies) in ``order``: its dictionary codes
    are gathered instead of its strings."""
    encoded = pc.dictionary_encode(arrow_text(column))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return decode(encoded.indices.to_numpy(zero_copy_only=False)[order],
                  encoded.dictionary.to_pylist())


def _in_order(values: pa.Array | pa.DictionaryArray, order: np.ndarray) -> pa.Array:
    taken = values.take(pa.array(order))
    return taken.cast(pa.string()) if pa.types.is_dictionary(taken.type) else taken


def returns_table(
    returns: pd.DataFrame, exp: Expectations, state: ReturnState, reasons: pa.Array
) -> tuple[pd.DataFrame, np.ndarray]:
    """``returns.csv`` as text, one row per input return, sorted by ``return_id``; and the
    input row of each output row (the conservation check verifies it is a permutation).

    Rows are put in order first, on integers and codes, and formatted after: gathering millions
    of finished strings is what costs.
    """
    o = pc.sort_indices(arrow_text(returns["return_id"])).to_numpy()
    exps = _exponents(returns["currency"])[o]
    text = _gather({"return_id": returns["return_id"], "customer_email": returns["customer_email"],
                    "refund_credit_ids": state.refund_ids, "bonus_credit_ids": state.bonus_ids},
                   o)
    columns = {
        "return_id": text["return_id"],
        "outcome": _in_order(state.outcome, o),
        "reasons": _in_order(reasons, o),
        "refund_credit_ids": text["refund_credit_ids"],
        "bonus_credit_ids": text["bonus_credit_ids"],
        "expected_credit": format_minor_arrow(exp.expected_credit[o], exps),
        "issued_credit": format_minor_arrow(state.issued_credit[o], exps),
        "expected_bonus": format_minor_arrow(exp.expected_bonus[o], exps),
        "issued_bonus": format_minor_arrow(state.issued_bonus[o], exps),
        "currency": _few(returns["currency"], o),
        "status": _few(returns["status"], o),
        "resolution_type": _few(returns["resolution_type"], o),
        "customer_email": text["customer_email"],
        "release_time": iso_utc_arrow(exp.release_us[o]),
        "expects_credit": _flags(exp.expects_credit[o]),
        "link": _in_order(state.link, o),
    }
    return _frame(columns), o


def ledger_table(
    ledger: pd.DataFrame, returns: pd.DataFrame, links: Links, reasons: pa.Array,
    broken: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """``ledger.csv`` as text, one row per input row, sorted by (``created_date``, id); and the
    input row of each output row. Ordered on integers first, formatted after."""
    ids = arrow_text(ledger["transaction_id"])
    o = _by_time_then_id(links.created_us, ids)
    exps = _exponents(ledger["currency"])[o]
    outcomes = [RowOutcome.INFORMATIONAL.value, RowOutcome.MATCHED.value, RowOutcome.BREAK.value]
    outcome = np.select([broken, links.credited], [2, 1], default=0)[o]
    text = _gather({"transaction_id": ids, "wallet_id": ledger["wallet_id"],
                    "customer_email": ledger["customer_email"]}, o)
    columns = {
        "transaction_id": text["transaction_id"],
        "role": decode(links.role[o], [r.value for r in ROLES]),
        "return_id": _pick(returns["return_id"], links.ret[o]),
        "link": decode(links.link[o], [k.value for k in LINKS]),
        "outcome": decode(outcome, outcomes),
        "created_date": iso_utc_arrow(links.created_us[o]),
        "wallet_id": text["wallet_id"],
        "customer_email": text["customer_email"],
        "type": _few(ledger["type"], o),
        "operation_type": _few(ledger["operation_type"], o),
        "amount": format_minor_arrow(ledger["amount"].to_numpy(dtype=np.int64)[o], exps),
        "signed_amount": format_minor_arrow(links.signed[o], exps),
        "currency": _few(ledger["currency"], o),
        "cancelled": _flags(links.cancelled[o]),
        "reasons": _in_order(reasons, o),
    }
    return _frame(columns), o


def _by_time_then_id(created: np.ndarray, ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Rows sorted by (time, id). Integers are sorted first; ids are compared only among rows
    sharing a timestamp (few), instead of a two-key sort of millions of rows with text."""
    o = np.argsort(created, kind="stable")
    t = created[o]
    tied = np.zeros(len(o), dtype=bool)
    if len(o) > 1:
        same = t[1:] == t[:-1]
        tied[1:] |= same
        tied[:-1] |= same
    if tied.any():
        at = np.flatnonzero(tied)  # positions of tie groups in o; groups stay contiguous
        rows = o[at]
        sub = pc.sort_indices(pa.table({"created": t[at], "tid": ids.take(pa.array(rows))}),
                              sort_keys=[("created", "ascending"), ("tid", "ascending")])
        o[at] = rows[sub.to_numpy()]
    return o


def balances_table(wallets: pd.DataFrame) -> pd.DataFrame:
    """``balances.csv`` as text, one row per wallet (and currency), sorted by wallet id."""
    exps = _exponents(wallets["currency"])
    columns = {
        "wallet_id": arrow_text(wallets["wallet_id"]),
        "customer_email": arrow_text(wallets["customer_email"]),
        "currency": arrow_text(wallets["currency"]),
    }
    for column in ("opening", *BUCKETS.values(), "closing", "reported_closing", "difference"):
        columns[column] = format_minor_arrow(wallets[column].to_numpy(dtype=np.int64), exps)
    columns["rows"] = pc.cast(pa.array(wallets["rows"].to_numpy(dtype=np.int64)), pa.string())
    return _frame({c: columns[c] for c in BALANCE_COLUMNS})
