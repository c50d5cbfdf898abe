"""Finance stories for reconciliation tests: small inline tables with sensible defaults.

A story gives only the columns that matter to it, as CSV text (cells are trimmed, so tables can
be aligned for reading); every other required column gets a default of an ordinary resolved
store-credit return of Ann's and an ordinary PostCo-workflow credit into Ann's wallet. When the
ledger table has no ``updated_balance`` column, each wallet's running balance is filled in
correctly, so a story only states balances when balances are its subject.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pandas as pd

from toolkit.reconcile import ReconciliationResult, reconcile
from toolkit.settings import ReconcileSettings

RETURN_DEFAULTS = {
    "return_id": "R-1", "order_id": "O-1", "customer_email": "ann@example.com",
    "status": "resolved", "resolution_type": "store_credit", "currency": "USD",
    "return_total": "50.00", "refund_to_original_amount": "0.00",
    "store_credit_amount": "50.00", "bonus_type": "none", "bonus_credit_amount": "0.00",
    "created_at": "2026-03-01T09:00:00Z", "resolved_at": "2026-03-02T10:00:00Z",
}
LEDGER_DEFAULTS = {
    "wallet_id": "W-ann", "customer_email": "ann@example.com", "type": "WALLET_ACTION_START",
    "operation_type": "ADD", "currency": "USD", "issuer": "WORKFLOW", "issuer_id": "postco",
    "credit_kind": "refund_credit", "external_event_name": "REFUND",
}
NOTIFICATION_DEFAULTS = {"customer_email": "ann@example.com", "currency": "USD"}
#: After every story's release times and inside the default 72 h window's end.
LATE_AS_OF = "2026-03-31T00:00:00Z"


def table(text: str, defaults: dict[str, str]) -> pd.DataFrame:
    """CSV text (cells trimmed) with ``defaults`` for columns it does not give."""
    frame = pd.read_csv(io.StringIO(text.strip()), dtype=str, keep_default_na=False,
                        skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    frame = frame.apply(lambda col: col.str.strip())
    for column, value in defaults.items():
        if column not in frame.columns:
            frame[column] = value
    return frame


def with_balances(ledger: pd.DataFrame) -> pd.DataFrame:
    """Fill ``updated_balance`` with each wallet's correct running balance (file order)."""
    if "updated_balance" in ledger.columns:
        return ledger
    balance: dict[str, Decimal] = {}
    out = []
    for _, row in ledger.iterrows():
        sign = 1 if row["operation_type"] == "ADD" else -1
        balance[row["wallet_id"]] = balance.get(row["wallet_id"], Decimal(0)) + sign * Decimal(
            row["amount"])
        out.append(f"{balance[row['wallet_id']]}")
    ledger = ledger.copy()
    ledger["updated_balance"] = out
    return ledger


def returns_table(text: str) -> pd.DataFrame:
    return table(text, RETURN_DEFAULTS)


def ledger_table(text: str) -> pd.DataFrame:
    return with_balances(table(text, LEDGER_DEFAULTS))


def run(
    returns: str, ledger: str, notifications: str | None = None, *, as_of: str = LATE_AS_OF,
    **settings: object,
) -> ReconciliationResult:
    """Reconcile a story's tables."""
    notes = table(notifications, NOTIFICATION_DEFAULTS) if notifications is not None else None
    return reconcile(returns_table(returns), ledger_table(ledger), notes,
                     settings=ReconcileSettings(**settings), as_of=as_of)


def found(result: ReconciliationResult) -> set[tuple[str, str, str]]:
    """The breaks as (reason, return_id, transaction_id), the way ``truth.csv`` states them."""
    return set(zip(result.breaks["reason"], result.breaks["return_id"],
                   result.breaks["transaction_id"]))


def outcome(result: ReconciliationResult, return_id: str) -> str:
    return result.returns.set_index("return_id").at[return_id, "outcome"]


def break_row(result: ReconciliationResult, reason: str) -> dict[str, str]:
    rows = result.breaks.loc[result.breaks["reason"] == reason]
    assert len(rows) == 1, f"expected one {reason} break, found {len(rows)}"
    return rows.iloc[0].to_dict()
