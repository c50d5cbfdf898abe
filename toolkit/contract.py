"""The data contract's names: enums and column lists shared by readers, writers and the simulator.

Finance builds on these strings, so they are defined once here and nowhere else. Enum values are
exactly the contract's spelling. Never rename or drop a value or a column; adding is allowed.
See ``docs/contract.md`` for how the toolkit reads the places where the contract is silent.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BREAK_KEY",
    "BREAK_SEVERITY",
    "BonusType",
    "BreakReason",
    "CreditIssueStage",
    "CreditKind",
    "EndReason",
    "LEDGER_COLUMNS",
    "LEDGER_REQUIRED",
    "LedgerType",
    "Link",
    "NOTIFICATION_COLUMNS",
    "OperationType",
    "OUTPUT_COLUMNS",
    "Outcome",
    "RETURN_COLUMNS",
    "RETURN_REQUIRED",
    "ResolutionType",
    "ReturnStatus",
    "Role",
    "RowOutcome",
    "Severity",
    "Template",
    "TRUTH_COLUMNS",
]


class ReturnStatus(StrEnum):
    PENDING = "pending"
    REVIEWED = "reviewed"
    RECEIVED = "received"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class ResolutionType(StrEnum):
    STORE_CREDIT = "store_credit"
    EXCHANGE = "exchange"
    ORIGINAL_PAYMENT = "original_payment"
    MIXED = "mixed"


class BonusType(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"
    NONE = "none"


class CreditIssueStage(StrEnum):
    RESOLVED = "resolved"
    REVIEWED = "reviewed"


class LedgerType(StrEnum):
    WALLET_ACTION_START = "WALLET_ACTION_START"
    WALLET_ACTION_END = "WALLET_ACTION_END"
    REDEEM = "REDEEM"
    PAYMENT_METHOD_REFUND = "PAYMENT_METHOD_REFUND"
    VOID = "VOID"
    MANUAL = "MANUAL"
    BULK = "BULK"
    MIGRATION = "MIGRATION"
    INITIAL = "INITIAL"


class OperationType(StrEnum):
    ADD = "ADD"
    SUBTRACT = "SUBTRACT"


class CreditKind(StrEnum):
    REFUND_CREDIT = "refund_credit"
    BONUS_CREDIT = "bonus_credit"


class EndReason(StrEnum):
    EXPIRATION = "EXPIRATION"
    CANCEL = "CANCEL"


class Template(StrEnum):
    RETURN_SUBMITTED = "return_submitted"
    RETURN_REVIEWED = "return_reviewed"
    RETURN_RECEIVED = "return_received"
    RETURN_COMPLETED = "return_completed"
    RETURN_REJECTED = "return_rejected"
    STORE_CREDIT_RECEIVED = "store_credit_received"
    BONUS_CREDIT_RECEIVED = "bonus_credit_received"


class BreakReason(StrEnum):
    MISSING_CREDIT = "missing_credit"
    CREDIT_AMOUNT_MISMATCH = "credit_amount_mismatch"
    DUPLICATE_CREDIT = "duplicate_credit"
    MISSING_BONUS = "missing_bonus"
    BONUS_AMOUNT_MISMATCH = "bonus_amount_mismatch"
    DUPLICATE_BONUS = "duplicate_bonus"
    UNEXPECTED_BONUS = "unexpected_bonus"
    CURRENCY_MISMATCH = "currency_mismatch"
    WRONG_WALLET = "wrong_wallet"
    LATE_CREDIT = "late_credit"
    PREMATURE_CREDIT = "premature_credit"
    CREDIT_ON_NON_CREDIT_RETURN = "credit_on_non_credit_return"
    UNREVERSED_CREDIT = "unreversed_credit"
    AMBIGUOUS_MATCH = "ambiguous_match"
    ORPHAN_CREDIT = "orphan_credit"
    BALANCE_BREAK = "balance_break"
    NEGATIVE_BALANCE = "negative_balance"
    MISSING_NOTIFICATION = "missing_notification"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


#: What a break is keyed on: the return, or the ledger transaction.
BREAK_KEY: dict[BreakReason, str] = {
    r: ("transaction" if r in {
        BreakReason.AMBIGUOUS_MATCH, BreakReason.ORPHAN_CREDIT, BreakReason.BALANCE_BREAK,
        BreakReason.NEGATIVE_BALANCE, BreakReason.MISSING_NOTIFICATION,
    } else "return")
    for r in BreakReason
}

#: High: the customer or the books hold the wrong money. Medium: bonus or timing of release is
#: wrong, or a human must decide. Low: money is right, only late or unannounced.
BREAK_SEVERITY: dict[BreakReason, Severity] = {
    BreakReason.MISSING_CREDIT: Severity.HIGH,
    BreakReason.CREDIT_AMOUNT_MISMATCH: Severity.HIGH,
    BreakReason.DUPLICATE_CREDIT: Severity.HIGH,
    BreakReason.MISSING_BONUS: Severity.MEDIUM,
    BreakReason.BONUS_AMOUNT_MISMATCH: Severity.MEDIUM,
    BreakReason.DUPLICATE_BONUS: Severity.MEDIUM,
    BreakReason.UNEXPECTED_BONUS: Severity.MEDIUM,
    BreakReason.CURRENCY_MISMATCH: Severity.HIGH,
    BreakReason.WRONG_WALLET: Severity.HIGH,
    BreakReason.LATE_CREDIT: Severity.LOW,
    BreakReason.PREMATURE_CREDIT: Severity.MEDIUM,
    BreakReason.CREDIT_ON_NON_CREDIT_RETURN: Severity.HIGH,
    BreakReason.UNREVERSED_CREDIT: Severity.HIGH,
    BreakReason.AMBIGUOUS_MATCH: Severity.MEDIUM,
    BreakReason.ORPHAN_CREDIT: Severity.HIGH,
    BreakReason.BALANCE_BREAK: Severity.HIGH,
    BreakReason.NEGATIVE_BALANCE: Severity.HIGH,
    BreakReason.MISSING_NOTIFICATION: Severity.LOW,
}


class Outcome(StrEnum):
    """Outcome of one return in ``returns.csv``."""

    MATCHED = "matched"
    MATCHED_BY_FALLBACK = "matched_by_fallback"
    BREAK = "break"
    PENDING = "pending"
    NOT_APPLICABLE = "not_applicable"


class Role(StrEnum):
    """Role of one ledger row in ``ledger.csv``."""

    REFUND_CREDIT = "refund_credit"
    BONUS_CREDIT = "bonus_credit"
    OTHER_CREDIT = "other_credit"
    REDEMPTION = "redemption"
    REDEMPTION_REFUND = "redemption_refund"
    EXPIRY = "expiry"
    CANCELLATION = "cancellation"
    VOID = "void"
    ADJUSTMENT = "adjustment"
    OTHER = "other"


class Link(StrEnum):
    REFERENCE = "reference"
    FALLBACK = "fallback"
    NONE = "none"


class RowOutcome(StrEnum):
    """Outcome of one ledger row in ``ledger.csv``."""

    MATCHED = "matched"
    BREAK = "break"
    INFORMATIONAL = "informational"


RETURN_REQUIRED: tuple[str, ...] = (
    "return_id", "order_id", "customer_email", "status", "resolution_type", "currency",
    "return_total", "refund_to_original_amount", "store_credit_amount", "bonus_type",
    "bonus_credit_amount", "created_at",
)
RETURN_COLUMNS: tuple[str, ...] = (
    "return_id", "order_id", "order_name", "customer_email", "customer_phone", "status",
    "resolution_type", "currency", "return_total", "fees_total", "refund_to_original_amount",
    "store_credit_amount", "bonus_type", "bonus_rate", "bonus_credit_amount", "credit_issue_stage",
    "created_at", "reviewed_at", "received_at", "resolved_at", "archived_at", "reason",
    "reason_category", "item_count", "skus", "notes",
)
LEDGER_REQUIRED: tuple[str, ...] = (
    "transaction_id", "created_date", "wallet_id", "customer_email", "type", "operation_type",
    "amount", "currency", "updated_balance",
)
LEDGER_COLUMNS: tuple[str, ...] = (
    "transaction_id", "created_date", "wallet_id", "customer_email", "type", "operation_type",
    "amount", "currency", "updated_balance", "code_suffix", "wallet_action_id", "issuer",
    "issuer_id", "credit_kind", "external_event_name", "external_event_description",
    "source_order_id", "source_order_number", "expiration_date", "end_reason",
    "voided_transaction_id", "idempotency_key", "note",
)
NOTIFICATION_COLUMNS: tuple[str, ...] = (
    "notification_id", "sent_at", "customer_email", "template", "return_id", "transaction_id",
    "amount", "currency",
)
TRUTH_COLUMNS: tuple[str, ...] = ("reason", "return_id", "transaction_id")

#: Columns of each file ``reconcile`` writes, in order (the contract's "at least", plus ours).
OUTPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "breaks.csv": (
        "break_id", "reason", "severity", "return_id", "transaction_id", "wallet_id",
        "customer_email", "currency", "expected_amount", "actual_amount", "difference", "detail",
    ),
    "returns.csv": (
        "return_id", "outcome", "reasons", "refund_credit_ids", "bonus_credit_ids",
        "expected_credit", "issued_credit", "expected_bonus", "issued_bonus", "currency",
    ),
    "ledger.csv": ("transaction_id", "role", "return_id", "link", "outcome"),
    "balances.csv": (
        "wallet_id", "customer_email", "currency", "opening", "refund_credits", "bonus_credits",
        "other_credits", "redemptions", "redemption_refunds", "expiries", "cancellations",
        "adjustments", "closing", "reported_closing", "difference",
    ),
}
