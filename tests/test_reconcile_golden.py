"""Golden stories: given this export and this ledger, expect exactly these breaks.

Every story starts from Ann's ordinary return R-1 (see ``golden/story.py``): resolved
2026-03-02 10:00 UTC as store credit, 50.00 USD base credit, no bonus. The Rise workflow (issuer
``postco``) must credit it within 72 h, i.e. by 2026-03-05 10:00 UTC; the books are looked at on
2026-03-31 unless a story says otherwise. Balances are filled in correctly unless a story is
about balances.
"""

from __future__ import annotations

from golden.story import break_row, found, outcome, run

R1_CREDITED = """
transaction_id, created_date,         amount, external_event_description
T-1,            2026-03-02T11:00:00Z, 50.00,  R-1
"""
R1_WITH_BONUS = """
return_id, bonus_type, bonus_rate, bonus_credit_amount
R-1,       percentage, 0.10,       5.00
"""


# --- one story per break reason ---------------------------------------------------------------


def test_resolved_return_without_any_credit_is_missing_credit():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         amount, issuer_id, external_event_description
    T-9,            2026-03-01T08:00:00Z, 10.00,  loyalty,
    """)
    assert found(result) == {("missing_credit", "R-1", "")}
    row = break_row(result, "missing_credit")
    assert (row["expected_amount"], row["actual_amount"], row["difference"]) == (
        "50.00", "0.00", "-50.00")
    assert row["severity"] == "high"
    assert "R-1" in row["detail"] and "2026-03-05T10:00:00Z" in row["detail"]
    assert result.exit_status == 1


def test_credit_for_less_than_the_store_credit_is_an_amount_mismatch():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         amount, external_event_description
    T-1,            2026-03-02T11:00:00Z, 45.00,  R-1
    """)
    assert found(result) == {("credit_amount_mismatch", "R-1", "T-1")}
    row = break_row(result, "credit_amount_mismatch")
    assert (row["expected_amount"], row["actual_amount"], row["difference"]) == (
        "50.00", "45.00", "-5.00")


def test_retried_webhook_issuing_the_credit_twice_is_a_duplicate_credit():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         amount, external_event_description
    T-1,            2026-03-02T11:00:00Z, 50.00,  R-1
    T-2,            2026-03-02T15:00:00Z, 50.00,  #R-1
    """)
    assert found(result) == {("duplicate_credit", "R-1", "T-2")}
    row = break_row(result, "duplicate_credit")
    assert (row["actual_amount"], row["difference"]) == ("100.00", "50.00")
    assert result.returns.at[0, "refund_credit_ids"] == "T-1|T-2"


def test_bonus_branch_that_never_ran_is_missing_bonus():
    result = run(R1_WITH_BONUS, R1_CREDITED)
    assert found(result) == {("missing_bonus", "R-1", "")}
    assert break_row(result, "missing_bonus")["severity"] == "medium"


def test_bonus_for_the_wrong_amount_is_a_bonus_amount_mismatch():
    result = run(R1_WITH_BONUS, """
    transaction_id, created_date,         amount, credit_kind,   external_event_description
    T-1,            2026-03-02T11:00:00Z, 50.00,  refund_credit, R-1
    T-2,            2026-03-02T11:00:01Z, 4.00,   bonus_credit,  R-1
    """)
    assert found(result) == {("bonus_amount_mismatch", "R-1", "T-2")}
    assert break_row(result, "bonus_amount_mismatch")["difference"] == "-1.00"


def test_bonus_issued_twice_is_a_duplicate_bonus():
    result = run(R1_WITH_BONUS, """
    transaction_id, created_date,         amount, credit_kind,   external_event_description
    T-1,            2026-03-02T11:00:00Z, 50.00,  refund_credit, R-1
    T-2,            2026-03-02T11:00:01Z, 5.00,   bonus_credit,  R-1
    T-3,            2026-03-03T09:00:00Z, 5.00,   bonus_credit,  R-1
    """)
    assert found(result) == {("duplicate_bonus", "R-1", "T-3")}


def test_bonus_under_the_minimum_that_was_still_issued_is_unexpected():
    # 5 % of 15.00 is 0.75: under bonus_min 1.00 the workflow must take the no-bonus branch.
    # The bonus row has no credit_kind: its idempotency key ending in ":bonus" says what it is.
    result = run("""
    return_id, store_credit_amount, bonus_type, bonus_rate, bonus_credit_amount
    R-1,       15.00,               percentage, 0.05,       0.75
    """, """
    transaction_id, created_date,         amount, credit_kind, idempotency_key, external_event_description
    T-1,            2026-03-02T11:00:00Z, 15.00,  ,            R-1:credit,      R-1
    T-2,            2026-03-02T11:00:01Z, 0.75,   ,            R-1:bonus,       R-1
    """)
    assert found(result) == {("unexpected_bonus", "R-1", "T-2")}
    row = break_row(result, "unexpected_bonus")
    assert (row["expected_amount"], row["actual_amount"]) == ("0.00", "0.75")


def test_credit_landing_in_a_canadian_wallet_for_a_us_order_is_a_currency_mismatch():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         wallet_id,  currency, amount, external_event_description
    T-1,            2026-03-02T11:00:00Z, W-ann-cad,  CAD,      50.00,  R-1
    """)
    # The credit was issued, in the wrong currency: no missing credit, no amount comparison.
    assert found(result) == {("currency_mismatch", "R-1", "T-1")}
    row = break_row(result, "currency_mismatch")
    assert (row["expected_amount"], row["actual_amount"], row["difference"]) == ("50.00", "", "")
    assert "50.00 CAD" in row["detail"]


def test_credit_in_another_customers_wallet_is_wrong_wallet():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         wallet_id, customer_email,  amount, external_event_description
    T-1,            2026-03-02T11:00:00Z, W-bob,     bob@example.com, 50.00,  R-1
    """)
    assert found(result) == {("wrong_wallet", "R-1", "T-1")}
    assert "bob@example.com" in break_row(result, "wrong_wallet")["detail"]


def test_credit_a_week_after_resolution_is_late_and_low_severity():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         amount, external_event_description
    T-1,            2026-03-09T11:00:00Z, 50.00,  R-1
    """)
    assert found(result) == {("late_credit", "R-1", "T-1")}
    assert break_row(result, "late_credit")["severity"] == "low"
    assert result.exit_status == 0  # money is right, only late


def test_credit_before_the_return_was_resolved_is_premature():
    result = run("""
    return_id, status,   resolved_at
    R-1,       received,
    """, R1_CREDITED)
    assert found(result) == {("premature_credit", "R-1", "T-1")}
    row = break_row(result, "premature_credit")
    assert (row["expected_amount"], row["actual_amount"]) == ("0.00", "50.00")


def test_credit_on_a_return_refunded_to_the_card_is_paid_twice():
    result = run("""
    return_id, resolution_type,  refund_to_original_amount, store_credit_amount
    R-1,       original_payment, 50.00,                     0.00
    """, R1_CREDITED)
    assert found(result) == {("credit_on_non_credit_return", "R-1", "T-1")}


def test_early_credit_kept_after_the_return_was_rejected_is_unreversed():
    # Early credit at review; the parcel never arrived and PostCo rejected the return.
    result = run("""
    return_id, status,   credit_issue_stage, reviewed_at,          resolved_at
    R-1,       rejected, reviewed,           2026-03-01T12:00:00Z,
    """, """
    transaction_id, created_date,         amount, external_event_description
    T-1,            2026-03-01T12:30:00Z, 50.00,  R-1
    """)
    assert found(result) == {("unreversed_credit", "R-1", "T-1")}
    assert break_row(result, "unreversed_credit")["actual_amount"] == "50.00"


def test_unreferenced_credit_fitting_two_returns_is_ambiguous_and_never_guessed():
    # Ann returned two orders of 50.00 the same morning; the workflow lost the reference.
    result = run("""
    return_id, order_id, resolved_at
    R-1,       O-1,      2026-03-02T10:00:00Z
    R-2,       O-2,      2026-03-02T10:05:00Z
    """, """
    transaction_id, created_date,         amount, external_event_description
    T-1,            2026-03-02T11:00:00Z, 50.00,
    """)
    assert found(result) == {
        ("ambiguous_match", "", "T-1"),
        ("missing_credit", "R-1", ""),
        ("missing_credit", "R-2", ""),
    }
    assert result.ledger.set_index("transaction_id").at["T-1", "link"] == "none"


def test_credit_naming_a_return_not_in_the_export_is_an_orphan():
    result = run("return_id\nR-1", R1_CREDITED + """
    T-2,            2026-03-04T09:00:00Z, 30.00,  R-777
    """)
    assert found(result) == {("orphan_credit", "", "T-2")}
    assert "R-777" in break_row(result, "orphan_credit")["detail"]


def test_unreferenced_workflow_credit_without_any_candidate_is_an_orphan():
    result = run("return_id\nR-1", R1_CREDITED + """
    T-2,            2026-03-04T09:00:00Z, 30.00,
    """)
    assert found(result) == {("orphan_credit", "", "T-2")}


def test_balance_that_does_not_follow_from_the_previous_one_is_a_balance_break():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         type,                operation_type, amount, updated_balance, external_event_description
    T-1,            2026-03-02T11:00:00Z, WALLET_ACTION_START, ADD,            50.00,  50.00,           R-1
    T-2,            2026-03-10T11:00:00Z, REDEEM,              SUBTRACT,       20.00,  35.00,
    T-3,            2026-03-12T11:00:00Z, REDEEM,              SUBTRACT,       5.00,   30.00,
    """)
    assert found(result) == {("balance_break", "", "T-2")}
    row = break_row(result, "balance_break")
    assert (row["expected_amount"], row["actual_amount"], row["difference"]) == (
        "30.00", "35.00", "5.00")
    wallet = result.balances.iloc[0]
    assert (wallet["closing"], wallet["reported_closing"], wallet["difference"]) == (
        "25.00", "30.00", "5.00")


def test_spending_more_than_the_balance_is_a_negative_balance():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         type,                operation_type, amount, external_event_description
    T-1,            2026-03-02T11:00:00Z, WALLET_ACTION_START, ADD,            50.00,  R-1
    T-2,            2026-03-10T11:00:00Z, REDEEM,              SUBTRACT,       70.00,
    """)
    assert found(result) == {("negative_balance", "", "T-2")}
    assert break_row(result, "negative_balance")["actual_amount"] == "-20.00"


def test_credit_without_its_customer_email_is_a_missing_notification():
    result = run(R1_WITH_BONUS, """
    transaction_id, created_date,         amount, credit_kind,   external_event_description
    T-1,            2026-03-02T11:00:00Z, 50.00,  refund_credit, R-1
    T-2,            2026-03-02T11:00:01Z, 5.00,   bonus_credit,  R-1
    """, notifications="""
    notification_id, sent_at,              template,              return_id, transaction_id, amount
    N-1,             2026-03-02T11:00:05Z, store_credit_received, R-1,       T-1,            50.00
    N-2,             2026-03-02T11:00:06Z, store_credit_received, R-1,       T-2,            5.00
    """)
    # The second email used the wrong template: the bonus was never announced as a bonus.
    assert found(result) == {("missing_notification", "R-1", "T-2")}
    assert break_row(result, "missing_notification")["severity"] == "low"


# --- what must NOT break ----------------------------------------------------------------------


def test_duplicate_that_was_voided_is_not_a_break():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         type,                operation_type, amount, external_event_description, voided_transaction_id
    T-1,            2026-03-02T11:00:00Z, WALLET_ACTION_START, ADD,            50.00,  R-1,
    T-2,            2026-03-02T11:05:00Z, WALLET_ACTION_START, ADD,            50.00,  R-1,
    T-3,            2026-03-02T12:00:00Z, VOID,                SUBTRACT,       50.00,  ,                           T-2
    """)
    assert found(result) == set()
    assert outcome(result, "R-1") == "matched"
    ledger = result.ledger.set_index("transaction_id")
    assert ledger.at["T-2", "cancelled"] == "true" and ledger.at["T-2", "outcome"] == "informational"
    assert result.returns.at[0, "refund_credit_ids"] == "T-1"


def test_duplicate_whose_wallet_action_was_cancelled_is_not_a_break():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         type,                operation_type, amount, wallet_action_id, end_reason, external_event_description
    T-1,            2026-03-02T11:00:00Z, WALLET_ACTION_START, ADD,            50.00,  WA-1,             ,           R-1
    T-2,            2026-03-02T11:05:00Z, WALLET_ACTION_START, ADD,            50.00,  WA-2,             ,           R-1
    T-3,            2026-03-02T12:00:00Z, WALLET_ACTION_END,   SUBTRACT,       50.00,  WA-2,             CANCEL,
    """)
    assert found(result) == set()
    assert result.ledger.set_index("transaction_id").at["T-3", "role"] == "cancellation"


def test_clawback_naming_the_rejected_return_reverses_its_early_credit():
    result = run("""
    return_id, status,   credit_issue_stage, reviewed_at,          resolved_at
    R-1,       rejected, reviewed,           2026-03-01T12:00:00Z,
    """, """
    transaction_id, created_date,         type,                operation_type, amount, external_event_description, note
    T-1,            2026-03-01T12:30:00Z, WALLET_ACTION_START, ADD,            50.00,  R-1,
    T-2,            2026-03-08T09:00:00Z, MANUAL,              SUBTRACT,       50.00,  ,                           clawback: return R-1 rejected
    """)
    assert found(result) == set()
    ledger = result.ledger.set_index("transaction_id")
    assert (ledger.at["T-2", "role"], ledger.at["T-2", "return_id"]) == ("adjustment", "R-1")


def test_bonus_under_the_minimum_correctly_skipped_is_matched():
    result = run("""
    return_id, store_credit_amount, bonus_type, bonus_rate, bonus_credit_amount
    R-1,       15.00,               percentage, 0.05,       0.75
    """, """
    transaction_id, created_date,         amount, external_event_description
    T-1,            2026-03-02T11:00:00Z, 15.00,  R-1
    """)
    assert found(result) == set()
    assert result.returns.at[0, "expected_bonus"] == "0.00"
    assert outcome(result, "R-1") == "matched"


def test_wallet_email_differing_only_in_case_and_spaces_is_the_same_customer():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         customer_email,    amount, external_event_description
    T-1,            2026-03-02T11:00:00Z, " ANN@Example.COM", 50.00,  R-1
    """)
    assert found(result) == set()


def test_credit_still_inside_its_window_is_pending_not_missing():
    result = run(R1_WITH_BONUS, """
    transaction_id, created_date,         amount, credit_kind,   external_event_description
    T-1,            2026-03-02T11:00:00Z, 50.00,  refund_credit, R-1
    """, as_of="2026-03-04T00:00:00Z")
    assert found(result) == set()
    assert outcome(result, "R-1") == "pending"
    assert result.exit_status == 0


def test_early_credit_configured_at_review_is_matched_not_premature():
    result = run("""
    return_id, status,   credit_issue_stage, reviewed_at,          resolved_at
    R-1,       received, reviewed,           2026-03-01T12:00:00Z,
    """, """
    transaction_id, created_date,         amount, external_event_description
    T-1,            2026-03-01T12:30:00Z, 50.00,  R-1
    """)
    assert found(result) == set()
    assert outcome(result, "R-1") == "matched"
    assert result.returns.at[0, "release_time"] == "2026-03-01T12:00:00Z"


def test_unreferenced_workflow_credit_with_one_candidate_is_linked_by_fallback():
    result = run("""
    return_id, order_id, customer_email,  resolved_at
    R-1,       O-1,      ann@example.com, 2026-03-02T10:00:00Z
    R-2,       O-2,      bob@example.com, 2026-03-02T10:05:00Z
    """, """
    transaction_id, created_date,         amount, external_event_description
    T-1,            2026-03-02T11:00:00Z, 50.00,
    T-2,            2026-03-02T11:00:01Z, 50.00,  R-2
    """)
    assert found(result) == {("wrong_wallet", "R-2", "T-2")}
    assert outcome(result, "R-1") == "matched_by_fallback"
    assert result.ledger.set_index("transaction_id").at["T-1", "link"] == "fallback"


def test_loyalty_reward_without_reference_is_other_credit_and_no_break():
    result = run("return_id\nR-1", """
    transaction_id, created_date,         amount, issuer_id, external_event_description
    T-1,            2026-03-02T11:00:00Z, 50.00,  postco,    R-1
    T-2,            2026-03-05T09:00:00Z, 10.00,  loyalty,
    """)
    assert found(result) == set()
    assert result.ledger.set_index("transaction_id").at["T-2", "role"] == "other_credit"
