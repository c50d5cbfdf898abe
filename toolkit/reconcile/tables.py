"""Output tables: the typed results turned into the text written to disk.

Owns the exact text of ``breaks.csv``, ``returns.csv``, ``ledger.csv`` and ``balances.csv``:
column order (the contract's, then ours from ``docs/contract.md``), money as decimal strings in
each row's currency, timestamps as ISO 8601 UTC, stable ``break_id`` and the one-line ``detail``
a controller reads. Rows are sorted by natural keys (never by input position), so shuffled or
split inputs give the same bytes. ``breaks.csv`` (thousands of rows) is made here as a frame;
the three big tables are :class:`~toolkit.io.text.TextTable` s: their order and their columns
as codes and integers, formatted when written. This module must never decide a break; it only
words them.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.contract import BREAK_KEY, BREAK_SEVERITY, OUTPUT_COLUMNS, BreakReason, RowOutcome
from toolkit.io.text import (
    Codes,
    Fixed,
    Money,
    Stamps,
    Taken,
    TextColumn,
    TextTable,
    iso_utc_arrow,
    source_text,
)
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
    "currency_exponents",
    "iso_utc",
    "ledger_order",
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
    '522addbcdf9b7e91'
    """
    return hashlib.sha256(f"{reason}|{key}".encode()).hexdigest()[:16]


def iso_utc(us: np.ndarray) -> np.ndarray:
    """Microseconds since the epoch as ISO 8601 UTC text (``2026-03-10T03:03:12Z``);
    ``NO`` -> ``""``."""
    return iso_utc_arrow(us).to_numpy(zero_copy_only=False).astype(object)


def _pick(column: pd.Series | pa.Array, idx: np.ndarray) -> pa.Array:
    """Text of ``column`` at ``idx`` (``""`` where ``idx`` is ``NO``), without leaving arrow."""
    idx = np.asarray(idx, dtype=np.int64)
    picked = source_text(column).take(pa.array(idx, mask=idx == NO))
    if picked.type != pa.string():
        picked = picked.cast(pa.string())
    return picked.fill_null("") if picked.null_count else picked


def _at(values: np.ndarray, idx: np.ndarray, fill: int = NO) -> np.ndarray:
    """``values[idx]`` (integers) with ``fill`` where ``idx`` is ``NO``."""
    values = np.asarray(values)
    return np.where(idx != NO, values[np.where(idx != NO, idx, 0)] if len(values) else fill,
                    fill).astype(values.dtype if values.dtype != bool else bool)


def _exponents(currency: pa.Array) -> np.ndarray:
    return currency_exponents(currency)[1]


def _amount(values: pd.Series, exps: np.ndarray) -> pa.Array:
    """Money text of an ``Int64`` column (``""`` where missing)."""
    values = pd.array(values, dtype="Int64")
    missing = np.asarray(values.isna(), dtype=bool)
    return format_minor_arrow(values.fillna(0).to_numpy(dtype=np.int64), exps, missing)


_KEYED_BY_RETURN = {r.value: BREAK_KEY[r] == "return" for r in BreakReason}
_SEVERITY = {r.value: BREAK_SEVERITY[r].value for r in BreakReason}


def breaks_table(
    breaks: pd.DataFrame, returns: pd.DataFrame, ledger: pd.DataFrame, exp: Expectations,
    links: Links, settings_window_hours: int, as_of_us: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``breaks.csv`` as text, sorted by reason (contract order), return id, transaction id;
    and the typed breaks in the same order with ``break_id``, ``currency`` and ``severity``.

    The breaks are put in order first (on the reason's rank and the two ids), so each reason's
    rows are one run and its sentences are made in one piece."""
    reason = breaks["reason"].to_numpy(dtype=object)
    r = breaks["r"].to_numpy(dtype=np.int64)
    li = breaks["li"].to_numpy(dtype=np.int64)
    rank = np.array([REASON_ORDER[x] for x in reason], dtype=np.int64)
    order = pc.sort_indices(
        pa.table({"rank": rank, "rid": _pick(returns["return_id"], r),
                  "tid": _pick(ledger["transaction_id"], li)}),
        sort_keys=[("rank", "ascending"), ("rid", "ascending"), ("tid", "ascending")],
    ).to_numpy()
    typed = breaks.iloc[order].reset_index(drop=True)
    reason, r, li, rank = reason[order], r[order], li[order], rank[order]

    by_return = np.array([_KEYED_BY_RETURN[x] for x in reason], dtype=bool)
    rid = _pick(returns["return_id"], r)
    tid = _pick(ledger["transaction_id"], li)
    mask = pa.array(by_return)
    currency = pc.if_else(mask, _pick(returns["currency"], r), _pick(ledger["currency"], li))
    exps = _exponents(currency)
    created = _at(links.created_us, li)
    release = np.where(by_return, _at(exp.release_us, r), created)
    release = np.where(release == NO, created, release)  # rule-2 returns: the credit's time
    age = pc.cast(pa.array((as_of_us - release) // _US_PER_DAY), pa.string())
    if (release == NO).any():
        age = pc.if_else(pa.array(release == NO), "", age)
    amounts = {c: _amount(typed[c], exps) for c in ("expected", "actual", "difference")}
    created_text = iso_utc_arrow(created)
    reason_text = pa.array(reason, type=pa.string())
    key = pc.if_else(mask, rid, tid).to_pylist()
    severity = [_SEVERITY[x] for x in reason]
    columns = {
        "break_id": pa.array([break_id(a, b) for a, b in zip(reason, key)], type=pa.string()),
        "reason": reason_text,
        "severity": pa.array(severity, type=pa.string()),
        "return_id": rid,
        "transaction_id": tid,
        "wallet_id": _pick(ledger["wallet_id"], li),
        "customer_email": pc.if_else(mask, _pick(returns["customer_email"], r),
                                     _pick(ledger["customer_email"], li)),
        "currency": currency,
        "expected_amount": amounts["expected"],
        "actual_amount": amounts["actual"],
        "difference": amounts["difference"],
        "detail": None,
        "key": pc.if_else(mask, "return", "transaction"),
        "release_time": iso_utc_arrow(release),
        "age_days": age,
        "created_date": created_text,
    }
    columns["detail"] = _details(reason, r, li, returns, ledger, exp, links, columns,
                                 created_text, settings_window_hours)
    out = pa.table(columns).to_pandas(types_mapper={pa.string(): _STR}.get)
    for column in ("break_id", "currency", "severity"):
        typed[column] = out[column].to_numpy()
    return out.loc[:, list(BREAK_COLUMNS)], typed


_STR = pd.StringDtype("pyarrow", na_value=np.nan)


def _details(
    reason: np.ndarray, r: np.ndarray, li: np.ndarray, returns: pd.DataFrame,
    ledger: pd.DataFrame, exp: Expectations, links: Links, columns: dict[str, pa.Array],
    created: pa.Array, window: int,
) -> pa.Array:
    """One sentence per break, in a controller's words (rows sorted by reason: one run each)."""
    currency = columns["currency"]
    row_ccy = _pick(ledger["currency"], li)
    row_ccy = pc.if_else(pc.equal(row_ccy, ""), currency, row_ccy)
    amount = ledger["amount"].to_numpy(dtype=np.int64)
    bonus = _at(links.is_bonus, li, False).astype(bool)
    due = _at(exp.due_us, r)
    s = {
        "rid": columns["return_id"], "tid": columns["transaction_id"], "ccy": currency,
        "row_ccy": row_ccy,
        "exp": columns["expected_amount"], "act": columns["actual_amount"],
        "diff": columns["difference"],
        "row_amt": format_minor_arrow(_at(amount, li, 0), _exponents(row_ccy), li == NO),
        "due": iso_utc_arrow(due),
        "created": created,
        "wallet": columns["wallet_id"],
        "row_email": _pick(ledger["customer_email"], li),
        "ret_email": _pick(returns["customer_email"], r),
        "status": _pick(returns["status"], r),
        "resolution": _pick(returns["resolution_type"], r),
        "ref": _pick(ledger["reference"], li),
        "kind": pc.if_else(pa.array(bonus), "bonus", "store"),
        "template": pc.if_else(pa.array(bonus), "bonus_credit_received",
                               "store_credit_received"),
        "window": str(window),
    }
    pieces = []
    bounds = np.flatnonzero(np.r_[True, reason[1:] != reason[:-1], True]) if len(reason) \
        else np.zeros(1, dtype=np.int64)
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        name = reason[start]
        parts = [s[p].slice(start, stop - start) if isinstance(s.get(p), pa.Array)
                 else s.get(p, p) for p in _TEMPLATES[name]]
        text = pc.binary_join_element_wise(*parts, "")
        if name == "orphan_credit":
            ref = s["ref"].slice(start, stop - start)
            named = pc.binary_join_element_wise(
                "credit ", parts[1], " of ", parts[3], " ", parts[5], " names return ", ref,
                ", which is not in the export", "")
            text = pc.if_else(pc.not_equal(ref, ""), named, text)
        pieces.append(text)
    return pa.concat_arrays(pieces) if pieces else pa.array([], type=pa.string())


#: The refund kind's wording; the bonus kind's is the same with "bonus credit" for "store
#: credit" (``missing_bonus``, ``bonus_amount_mismatch``, ``duplicate_bonus``).
_KIND_TEMPLATES: dict[str, list[str]] = {
    "missing_credit": ["no store credit issued for return ", "rid", ": ", "exp", " ", "ccy",
                       " was due by ", "due", " (", "window", " h after release)"],
    "credit_amount_mismatch": ["store credit ", "tid", " for return ", "rid", " is ", "act",
                               " ", "ccy", ", expected ", "exp", " ", "ccy"],
    "duplicate_credit": ["return ", "rid", " received store credits totalling ", "act", " ",
                         "ccy", " for ", "exp", " ", "ccy", " due; ", "tid", " repeats it"],
}

_TEMPLATES: dict[str, list[str]] = {
    **_KIND_TEMPLATES,
    **{reason.replace("credit", "bonus"): [p.replace("store credit", "bonus credit") for p in parts]
       for reason, parts in _KIND_TEMPLATES.items()},
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


def _codes(values: object) -> Codes:
    """A column of few distinct values as codes: an arrow dictionary's own, else encoded."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.DictionaryArray):
        return Codes(values.indices.to_numpy(zero_copy_only=False),
                     values.dictionary.to_pylist())
    return Codes.of(values)


def currency_exponents(values: object) -> tuple[Codes, np.ndarray]:
    """Each row's currency as output codes, and its exponent (the currency index of linking is
    :func:`toolkit.reconcile.link.currency_codes`)."""
    codes = Codes.of(values)
    table = np.array([CURRENCY_EXPONENTS[c] for c in codes.names] or [0], dtype=np.int64)
    return codes, table[codes.codes]


def _sorted_order(ids: pa.Array) -> np.ndarray | None:
    """Rows in (stable) order of ``ids``; ``None`` when they already are (exports often are)."""
    n = len(ids)
    if n < 2 or pc.all(pc.less_equal(ids.slice(0, n - 1), ids.slice(1))).as_py():
        return None
    return pc.sort_indices(ids).to_numpy()


def returns_table(
    returns: pd.DataFrame, exp: Expectations, state: ReturnState, reasons: Codes
) -> TextTable:
    """``returns.csv`` as text, one row per input return, sorted by ``return_id``; its
    ``order`` is the input row of each output row (``None``: the input's own order), which the
    conservation check verifies is a permutation.

    Nothing is formatted here: the columns are codes, integers and existing text, and the text
    of each row is made when the table is written (or read as a frame).
    """
    ids = source_text(returns["return_id"])
    currency, exps = currency_exponents(returns["currency"])
    columns: dict[str, TextColumn] = {
        "return_id": Fixed(ids),
        "outcome": _codes(state.outcome),
        "reasons": reasons,
        # Read when first needed (they may be made on demand).
        "refund_credit_ids": Fixed(lambda: state.refund_ids),
        "bonus_credit_ids": Fixed(lambda: state.bonus_ids),
        "expected_credit": Money(exp.expected_credit, exps),
        "issued_credit": Money(state.issued_credit, exps),
        "expected_bonus": Money(exp.expected_bonus, exps),
        "issued_bonus": Money(state.issued_bonus, exps),
        "currency": currency,
        "status": Codes.of(returns["status"]),
        "resolution_type": Codes.of(returns["resolution_type"]),
        "customer_email": Fixed(returns["customer_email"]),
        "release_time": Stamps(exp.release_us),
        "expects_credit": Codes.flags(exp.expects_credit),
        "link": _codes(state.link),
    }
    return TextTable(columns, _sorted_order(ids), rows=len(returns))


OUTCOME_NAMES = [RowOutcome.INFORMATIONAL.value, RowOutcome.MATCHED.value, RowOutcome.BREAK.value]


def ledger_order(ledger: pd.DataFrame, links: Links) -> np.ndarray:
    """The input row of each ``ledger.csv`` row: by ``created_date``, then transaction id."""
    return _by_time_then_id(links.created_us, source_text(ledger["transaction_id"]))


def ledger_table(
    ledger: pd.DataFrame, returns: pd.DataFrame, links: Links, reasons: Codes,
    broken: np.ndarray, order: np.ndarray | None = None,
    currency: tuple[Codes, np.ndarray] | None = None,
) -> TextTable:
    """``ledger.csv`` as text, one row per input row, sorted by (``created_date``, id); its
    ``order`` is the input row of each output row. Only the order is computed here (or
    given: :func:`ledger_order`; ``currency`` likewise: :func:`currency_exponents`)."""
    ids = source_text(ledger["transaction_id"])
    currency, exps = (currency if currency is not None
                      else currency_exponents(ledger["currency"]))
    outcome = np.where(broken, np.int8(2), links.credited.astype(np.int8))
    columns: dict[str, TextColumn] = {
        "transaction_id": Fixed(ids),
        "role": Codes(links.role, [r.value for r in ROLES]),
        "return_id": Taken(returns["return_id"], links.ret),
        "link": Codes(links.link, [k.value for k in LINKS]),
        "outcome": Codes(outcome, OUTCOME_NAMES),
        "created_date": Stamps(links.created_us),
        "wallet_id": Fixed(ledger["wallet_id"]),
        "customer_email": Fixed(ledger["customer_email"]),
        "type": Codes.of(ledger["type"]),
        "operation_type": Codes.of(ledger["operation_type"]),
        "amount": Money(ledger["amount"].to_numpy(dtype=np.int64), exps),
        "signed_amount": Money(links.signed, exps),
        "currency": currency,
        "cancelled": Codes.flags(links.cancelled),
        "reasons": reasons,
    }
    if order is None:
        order = _by_time_then_id(links.created_us, ids)
    return TextTable(columns, order, rows=len(ledger))


def _by_time_then_id(created: np.ndarray, ids: pa.Array) -> np.ndarray:
    """Rows sorted by (time, id, input row). Integers are sorted first (unstable, fast); rows
    sharing a timestamp (few) are then put in order of id and input row, which makes the whole
    order the stable one."""
    created = np.asarray(created, dtype=np.int64)
    o = np.argsort(created)
    t = created[o]
    if len(o) > 1:
        same = t[1:] == t[:-1]
        if same.any():
            tied = np.zeros(len(o), dtype=bool)
            tied[1:] |= same
            tied[:-1] |= same
            at = np.flatnonzero(tied)  # positions of tie groups in o; groups stay contiguous
            rows = o[at]
            sub = pc.sort_indices(
                pa.table({"created": t[at], "tid": ids.take(pa.array(rows)), "row": rows}),
                sort_keys=[("created", "ascending"), ("tid", "ascending"),
                           ("row", "ascending")])
            o[at] = rows[sub.to_numpy()]
    return o


def balances_table(wallets: pd.DataFrame) -> TextTable:
    """``balances.csv`` as text, one row per wallet (and currency), sorted by wallet id."""
    currency, exps = currency_exponents(wallets["currency"])
    columns: dict[str, TextColumn] = {
        "wallet_id": Fixed(wallets["wallet_id"]),
        "customer_email": Fixed(wallets["customer_email"]),
        "currency": currency,
    }
    for column in ("opening", *BUCKETS.values(), "closing", "reported_closing", "difference"):
        columns[column] = Money(wallets[column].to_numpy(dtype=np.int64), exps)
    columns["rows"] = Fixed(pc.cast(pa.array(wallets["rows"].to_numpy(dtype=np.int64)),
                                    pa.string()))
    return TextTable({c: columns[c] for c in BALANCE_COLUMNS}, rows=len(wallets))
