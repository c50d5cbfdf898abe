"""A plain, row-by-row reading of docs/contract.md, run on simulated folders: what it finds must
be exactly the simulator's truth.csv.

The oracle below is deliberately naive (dicts, loops, no pandas) and lives only in the tests: it
is a second, independent reading of the rules, so the simulator's truth cannot agree with it by
sharing code.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from toolkit.money import exponent, parse_money, scale_minor
from toolkit.simulate import load_scenario, simulate_returns

CREDIT_PCT, BONUS_PCT, BONUS_MIN = Decimal(100), Decimal(100), Decimal("1.00")
WINDOW = timedelta(hours=72)
POSTCO = "postco"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _ts(text: str) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _norm_ref(text: str) -> str:
    return text.strip().lstrip("#") if text else ""


def oracle(folder: Path) -> set[tuple[str, str, str]]:
    """Every break docs/contract.md defines, for the files in ``folder``."""
    returns = _read(folder / "postco_returns.csv")
    ledger = _read(folder / "rise_ledger.csv")
    notes = _read(folder / "notifications.csv")
    breaks: set[tuple[str, str, str]] = set()

    stamps = [_ts(r[c]) for r in returns for c in ("created_at", "reviewed_at", "received_at", "resolved_at",
                                                    "archived_at") if r[c]]
    stamps += [_ts(x["created_date"]) for x in ledger]
    as_of = max(stamps)

    ret = {}
    for r in returns:
        cur = r["currency"]
        sca = parse_money(r["store_credit_amount"], cur)
        bca = parse_money(r["bonus_credit_amount"], cur)
        early = r["credit_issue_stage"] == "reviewed"
        credit_res = r["resolution_type"] in ("store_credit", "mixed")
        if early:
            reached = r["status"] in ("reviewed", "received", "resolved")
            release = _ts(r["reviewed_at"])
        else:
            reached = r["status"] == "resolved"
            release = _ts(r["resolved_at"])
        bonus_min = int(BONUS_MIN.scaleb(exponent(cur)))
        ret[r["return_id"]] = {
            "row": r, "cur": cur, "email": r["customer_email"].strip().lower(),
            "expects": credit_res and sca > 0 and reached, "release": release,
            "exp_credit": scale_minor(sca, CREDIT_PCT),
            "exp_bonus": scale_minor(bca, BONUS_PCT) if bca >= bonus_min else 0,
            "credits": {"refund_credit": [], "bonus_credit": []},
        }

    order = sorted(range(len(ledger)), key=lambda i: (_ts(ledger[i]["created_date"]), i))
    voided = {x["voided_transaction_id"] for x in ledger if x["type"] == "VOID" and x["voided_transaction_id"]}
    cancelled_actions = {x["wallet_action_id"] for x in ledger
                         if x["type"] == "WALLET_ACTION_END" and x["end_reason"] == "CANCEL"}

    def kind_of(x: dict[str, str]) -> str:
        if x["credit_kind"]:
            return x["credit_kind"]
        if x["idempotency_key"].endswith(":bonus") or "bonus" in x["note"].lower():
            return "bonus_credit"
        return "refund_credit"

    link: dict[str, str] = {}
    fallback_rows = []
    for i in order:
        x = ledger[i]
        if not (x["type"] == "WALLET_ACTION_START" and x["operation_type"] == "ADD"):
            continue
        if x["transaction_id"] in voided or (x["wallet_action_id"] and x["wallet_action_id"] in cancelled_actions):
            continue
        ref = _norm_ref(x["external_event_description"])
        if ref:
            if ref in ret:
                link[x["transaction_id"]] = ref
                ret[ref]["credits"][kind_of(x)].append(x)
            else:
                breaks.add(("orphan_credit", "", x["transaction_id"]))
        elif x["issuer_id"] == POSTCO:
            fallback_rows.append(x)
    fallback_rows.sort(key=lambda x: (_ts(x["created_date"]), x["transaction_id"]))
    for x in fallback_rows:
        k = kind_of(x)
        when = _ts(x["created_date"])
        amount = parse_money(x["amount"], x["currency"])
        cands = []
        for rid, info in ret.items():
            expects_kind = info["expects"] if k == "refund_credit" else (info["expects"] and info["exp_bonus"] > 0)
            expected = info["exp_credit"] if k == "refund_credit" else info["exp_bonus"]
            if (expects_kind and not info["credits"][k] and info["email"] == x["customer_email"].strip().lower()
                    and info["cur"] == x["currency"] and expected == amount
                    and info["release"] <= when <= info["release"] + WINDOW):
                cands.append(rid)
        if len(cands) == 1:
            link[x["transaction_id"]] = cands[0]
            ret[cands[0]]["credits"][k].append(x)
        elif len(cands) > 1:
            breaks.add(("ambiguous_match", "", x["transaction_id"]))
        else:
            breaks.add(("orphan_credit", "", x["transaction_id"]))

    for rid, info in ret.items():
        r = info["row"]
        refunds, bonuses = info["credits"]["refund_credit"], info["credits"]["bonus_credit"]
        every = sorted(refunds + bonuses, key=lambda x: (_ts(x["created_date"]), ledger.index(x)))
        if info["expects"]:
            past = info["release"] + WINDOW < as_of
            for k, creds, exp_amt, miss, dup, mism in (
                ("refund_credit", refunds, info["exp_credit"], "missing_credit", "duplicate_credit",
                 "credit_amount_mismatch"),
                ("bonus_credit", bonuses, info["exp_bonus"], "missing_bonus", "duplicate_bonus",
                 "bonus_amount_mismatch"),
            ):
                if k == "bonus_credit" and exp_amt == 0:
                    if creds:
                        breaks.add(("unexpected_bonus", rid, creds[0]["transaction_id"]))
                    continue
                if not creds:
                    if past:
                        breaks.add((miss, rid, ""))
                    continue
                if len(creds) >= 2:
                    breaks.add((dup, rid, creds[1]["transaction_id"]))
                same = [c for c in creds if c["currency"] == info["cur"]]
                if same and parse_money(same[0]["amount"], info["cur"]) != exp_amt:
                    breaks.add((mism, rid, same[0]["transaction_id"]))
            other_cur = [c for c in every if c["currency"] != info["cur"]]
            if other_cur:
                breaks.add(("currency_mismatch", rid, other_cur[0]["transaction_id"]))
            wrong = [c for c in every if c["customer_email"].strip().lower() != info["email"]]
            if wrong:
                breaks.add(("wrong_wallet", rid, wrong[0]["transaction_id"]))
            late = [c for c in every if _ts(c["created_date"]) > info["release"] + WINDOW]
            if late:
                breaks.add(("late_credit", rid, late[0]["transaction_id"]))
        elif every:
            first = every[0]["transaction_id"]
            if r["status"] in ("rejected", "archived"):
                outstanding = sum(parse_money(c["amount"], c["currency"]) for c in every)
                for x in ledger:
                    if x["type"] == "MANUAL" and x["operation_type"] == "SUBTRACT" and (
                            rid in x["external_event_description"] or rid in x["note"]):
                        outstanding -= parse_money(x["amount"], x["currency"])
                if outstanding > 0:
                    breaks.add(("unreversed_credit", rid, first))
            elif r["status"] == "resolved" and r["resolution_type"] in ("exchange", "original_payment"):
                breaks.add(("credit_on_non_credit_return", rid, first))
            else:
                breaks.add(("premature_credit", rid, first))

    last: dict[str, int] = {}
    for i in order:
        x = ledger[i]
        amount = parse_money(x["amount"], x["currency"])
        bal = parse_money(x["updated_balance"], x["currency"])
        signed = amount if x["operation_type"] == "ADD" else -amount
        w = x["wallet_id"]
        if w in last and last[w] + signed != bal:
            breaks.add(("balance_break", link.get(x["transaction_id"], ""), x["transaction_id"]))
        if bal < 0:
            breaks.add(("negative_balance", link.get(x["transaction_id"], ""), x["transaction_id"]))
        last[w] = bal
    sent = {(n["template"], n["transaction_id"]) for n in notes}
    for x in ledger:
        tx = x["transaction_id"]
        if tx in link:
            tmpl = "bonus_credit_received" if kind_of(x) == "bonus_credit" else "store_credit_received"
            if (tmpl, tx) not in sent:
                breaks.add(("missing_notification", link[tx], tx))
    return breaks


def truth_of(folder: Path) -> set[tuple[str, str, str]]:
    return {(t["reason"], t["return_id"], t["transaction_id"]) for t in _read(folder / "truth.csv")}


EVERY_FAULT_HIGH = {k: 0.004 for k in (
    "lost_trigger_rate", "bonus_branch_skipped_rate", "credit_amount_off_rate", "bonus_amount_off_rate",
    "webhook_retry_rate", "wrong_currency_rate", "wrong_wallet_rate", "late_credit_rate",
    "premature_credit_rate", "credit_on_non_credit_return_rate", "unreversed_early_credit_rate",
    "clawed_back_early_credit_rate", "bonus_below_minimum_rate", "ambiguous_fallback_rate",
    "unreferenced_orphan_rate", "test_credit_rate", "unreferenced_credit_rate", "missing_email_rate",
    "dropped_ledger_row_rate", "negative_balance_rate")}


@pytest.mark.parametrize("seed", [1, 5])
def test_oracle_finds_exactly_the_default_truth(tmp_path: Path, seed: int) -> None:
    folder = simulate_returns(returns=1500, seed=seed).write(tmp_path / "sim")
    found, truth = oracle(folder), truth_of(folder)
    assert truth, "the default scenario plants faults"
    assert found == truth


def test_oracle_finds_exactly_every_reason_at_high_rates(tmp_path: Path) -> None:
    scenario = load_scenario(returns_count=3000, seed=3, bonus_experiment_rates=["0", "0.02", "0.15", "0.30"],
                             faults={**EVERY_FAULT_HIGH, "outage_hours": 48, "misset_hours": 72})
    folder = simulate_returns(scenario).write(tmp_path / "sim")
    found, truth = oracle(folder), truth_of(folder)
    assert found == truth
    from toolkit.contract import BreakReason
    assert {t[0] for t in truth} == {r.value for r in BreakReason}


def test_clean_run_has_no_break_at_all(tmp_path: Path) -> None:
    folder = simulate_returns(returns=1500, seed=9, clean=True).write(tmp_path / "sim")
    assert truth_of(folder) == set()
    assert oracle(folder) == set()


def test_oracle_agrees_for_a_multicurrency_shop_with_jpy_and_kwd(tmp_path: Path) -> None:
    currencies = {
        "USD": {"customer_share": 0.5, "price_scale": "1", "tax_pct": "7.25"},
        "JPY": {"customer_share": 0.3, "price_scale": "150", "tax_pct": "10"},
        "KWD": {"customer_share": 0.2, "price_scale": "0.31", "tax_pct": "0"},
    }
    scenario = load_scenario(returns_count=1500, seed=4, currencies=currencies,
                             faults={**EVERY_FAULT_HIGH, "outage_hours": 24})
    folder = simulate_returns(scenario).write(tmp_path / "sim")
    assert oracle(folder) == truth_of(folder)
