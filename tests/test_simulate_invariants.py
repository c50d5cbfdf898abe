"""Properties every simulated folder has, whatever the seed and scenario knobs (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.money import parse_money, scale_minor
from toolkit.simulate import load_scenario, simulate_returns

CURRENCY_MIXES = [
    None,
    {"USD": {"customer_share": 1.0, "price_scale": "1", "tax_pct": "0"}},
    {"GBP": {"customer_share": 0.5, "price_scale": "0.8", "tax_pct": "20"},
     "JPY": {"customer_share": 0.3, "price_scale": "150", "tax_pct": "10"},
     "KWD": {"customer_share": 0.2, "price_scale": "0.31", "tax_pct": "0"}},
]

scenarios = st.fixed_dictionaries({
    "seed": st.integers(0, 10_000),
    "returns_count": st.integers(150, 700),
    "clean": st.booleans(),
    "credit_expiry_days": st.sampled_from([0, 60, 365]),
    "bonus": st.sampled_from([("percentage", "0.10"), ("fixed", "5.00"), ("none", "0"), ("experiment", "")]),
    "currencies": st.sampled_from(CURRENCY_MIXES),
    "early_credit_share": st.sampled_from([0.0, 0.12, 0.6]),
})


def _simulate(knobs: dict):
    kw = {k: v for k, v in knobs.items() if k not in ("bonus", "currencies") and v is not None}
    kind, rate = knobs["bonus"]
    if kind == "experiment":
        kw["bonus_experiment_rates"] = ["0", "0.05", "0.10", "0.20"]
    else:
        kw.update(bonus_type=kind, bonus_rate=rate)
    if knobs["currencies"] is not None:
        kw["currencies"] = knobs["currencies"]
    return simulate_returns(load_scenario(**kw))


def _money(frame: pd.DataFrame, col: str) -> list[int]:
    return [parse_money(a, c) for a, c in zip(frame[col], frame["currency"], strict=True)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_every_simulated_folder_keeps_the_ledger_invariants(knobs: dict) -> None:
    sim = _simulate(knobs)
    led = sim.ledger
    truth = sim.truth
    planted_rows = set(truth["transaction_id"].dropna())

    # Ids and emails are unique by construction.
    assert sim.returns["return_id"].is_unique
    assert led["transaction_id"].is_unique
    assert sim.notifications["notification_id"].is_unique
    emails = pd.concat([sim.customers["email"], sim.customers["second_email"].dropna()])
    assert emails.is_unique
    assert emails.str.endswith((".com", ".net", ".org", ".test")).all()
    assert emails.str.contains(r"@(?:example\.(?:com|net|org)|[a-z]+\.test)$").all()

    # Never two rows of one wallet in the same second.
    assert not led.duplicated(["wallet_id", "created_date"]).any()

    # Balances chain per wallet, start from zero, and money is conserved per wallet; amounts are
    # positive. Only rows named in truth.csv may break it.
    amounts = _money(led, "amount")
    balances = _money(led, "updated_balance")
    assert min(amounts) > 0
    running: dict[str, int] = defaultdict(int)
    order = sorted(range(len(led)), key=lambda i: (led["created_date"].iat[i], i))
    for i in order:
        signed = amounts[i] if led["operation_type"].iat[i] == "ADD" else -amounts[i]
        w = led["wallet_id"].iat[i]
        running[w] += signed
        if running[w] != balances[i]:
            assert not knobs["clean"]
            assert led["transaction_id"].iat[i] in planted_rows
            running[w] = balances[i]
        if not knobs["clean"] and balances[i] < 0:
            assert led["transaction_id"].iat[i] in planted_rows
    if knobs["clean"]:
        assert min(balances) >= 0
        assert truth.empty


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_every_workflow_credit_follows_its_return_and_is_announced(knobs: dict) -> None:
    sim = _simulate({**knobs, "clean": True})
    ret = sim.returns.set_index("return_id")
    led = sim.ledger
    postco = led[(led["type"] == "WALLET_ACTION_START") & (led["issuer_id"] == "postco")]
    emails = set(zip(sim.notifications["template"], sim.notifications["transaction_id"], strict=True))
    for _, row in postco.iterrows():
        r = ret.loc[row["external_event_description"]]
        cur = r["currency"]
        assert row["currency"] == cur
        assert row["customer_email"] == r["customer_email"]
        if row["credit_kind"] == "refund_credit":
            assert parse_money(row["amount"], cur) == scale_minor(parse_money(r["store_credit_amount"], cur), 100)
            assert ("store_credit_received", row["transaction_id"]) in emails
        else:
            bonus = parse_money(r["bonus_credit_amount"], cur)
            assert parse_money(row["amount"], cur) == bonus
            assert bonus >= parse_money("1.00", cur)
            assert ("bonus_credit_received", row["transaction_id"]) in emails
    assert postco["idempotency_key"].str.fullmatch(r"postco:PCR-[0-9A-Z]{7}:(base|bonus)").all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_return_value_is_split_exactly_between_credit_cash_and_fees(knobs: dict) -> None:
    sim = _simulate(knobs)
    r = sim.returns
    total, fees = _money(r, "return_total"), _money(r, "fees_total")
    credit, cash = _money(r, "store_credit_amount"), _money(r, "refund_to_original_amount")
    bonus = _money(r, "bonus_credit_amount")
    notes = r["notes"].fillna("")
    for i in range(len(r)):
        # The offered bonus is on every row; the bonus amount only on credit takers' rows.
        assert r["bonus_type"].iat[i] in ("percentage", "fixed", "none") and r["bonus_rate"].iat[i] != ""
        assert r["reason_category"].iat[i] in ("retailer_borne", "customer_borne")
        if r["resolution_type"].iat[i] in ("exchange", "original_payment"):
            assert credit[i] == 0 and bonus[i] == 0
        if r["status"].iat[i] == "resolved" and "edited" not in notes.iat[i] \
                and r["resolution_type"].iat[i] != "exchange":
            assert credit[i] + cash[i] + fees[i] == total[i]
        if r["reason_category"].iat[i] == "retailer_borne":
            assert fees[i] == 0
    assert all(Decimal(x) >= 0 for x in r["bonus_rate"])
