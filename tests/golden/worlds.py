"""Small random but clean worlds for property and metamorphic tests, and the faults to plant.

A world is a PostCo export and a Rise ledger (contract text frames) in which every rule holds:
each released store-credit return got its credit (and its bonus when one is due) from the PostCo
workflow in the customer's wallet within the window; customers also earn loyalty rewards and spend
them; every wallet's ``updated_balance`` runs correctly; no two rows of a wallet share a
``created_date``. :func:`plant` then breaks exactly one rule and says which counts must move.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.money import format_minor

CURRENCIES = ("USD", "JPY", "KWD", "EUR")
BASE = pd.Timestamp("2026-03-01T00:00:00Z")
AS_OF = "2026-04-30T00:00:00Z"
FAULTS = (
    "drop_credit", "change_amount", "duplicate", "wrong_currency", "wrong_wallet", "late",
    "orphan", "drop_bonus", "voided_duplicate", "balance", "premature", "clawed_back",
)


@dataclass
class World:
    returns: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)  # amounts in minor units until rendered
    planted: int = 0  # faults planted so far: makes the ids of planted rows unique

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Contract text, with running balances filled in per wallet in time order."""
        ledger = sorted(self.ledger, key=lambda row: (row["wallet_id"], row["_t"],
                                                      row["transaction_id"]))
        balance: dict[str, int] = {}
        last: dict[str, int] = {}
        rows = []
        for row in ledger:
            # No two rows of a wallet share a created_date (the simulator's promise too).
            row["_t"] = max(row["_t"], last.get(row["wallet_id"], -1) + 1)
            last[row["wallet_id"]] = row["_t"]
            sign = 1 if row["operation_type"] == "ADD" else -1
            balance[row["wallet_id"]] = balance.get(row["wallet_id"], 0) + sign * row["_amount"]
            out = {k: v for k, v in row.items() if not k.startswith("_")}
            out["amount"] = format_minor(row["_amount"], row["currency"])
            out["created_date"] = (BASE + pd.Timedelta(seconds=row["_t"])).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            reported = row.get("_reported", balance[row["wallet_id"]])
            out["updated_balance"] = format_minor(reported, row["currency"])
            rows.append(out)
        ledger_frame = pd.DataFrame(rows).fillna("")
        return pd.DataFrame(self.returns).fillna(""), ledger_frame


def _stamp(seconds: int) -> str:
    return (BASE + pd.Timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def clean_world(seed: int, n_returns: int) -> World:
    """A world without any fault: every count but ``matched`` / ``not_applicable`` is zero."""
    rng = np.random.default_rng(seed)
    world = World()
    n_customers = max(2, n_returns // 2)
    customers = [(f"c{i}@example.com", CURRENCIES[rng.integers(len(CURRENCIES))])
                 for i in range(n_customers)]
    clock = [0]

    def tick(at: int) -> int:
        # Distinct created_date for every ledger row: each one takes a fresh second.
        clock[0] += 1
        return at + clock[0]

    for i, (email, ccy) in enumerate(customers):
        wallet = f"W-{i}-{ccy}"
        reward = int(rng.integers(100, 5000))
        world.ledger.append(_row(f"L-{i}", wallet, email, ccy, reward, tick(0), issuer_id="loyalty",
                                 credit_kind="", external_event_description=""))
        world.ledger.append(_row(f"S-{i}", wallet, email, ccy, int(rng.integers(1, reward)),
                                 tick(86_400 * 40), type="REDEEM", operation_type="SUBTRACT",
                                 issuer_id="", credit_kind="", external_event_description=""))
    for k in range(n_returns):
        c = int(rng.integers(n_customers))
        email, ccy = customers[c]
        wallet = f"W-{c}-{ccy}"
        rid = f"R-{k:04d}"
        created = int(rng.integers(0, 86_400 * 20))
        resolved = created + int(rng.integers(3600, 86_400 * 5))
        kind = rng.choice(["credit", "credit", "credit", "exchange", "pending", "rejected"])
        credit = int(rng.integers(1, 200_000))
        bonus = int(rng.integers(0, 3) * rng.integers(0, credit // 5 + 1))
        status = {"credit": "resolved", "exchange": "resolved", "pending": "received",
                  "rejected": "rejected"}[kind]
        resolution = {"credit": "store_credit", "exchange": "exchange", "pending": "store_credit",
                      "rejected": ""}[kind]
        sca = credit if kind in ("credit", "pending") else 0
        bca = bonus if kind in ("credit", "pending") else 0
        world.returns.append({
            "return_id": rid, "order_id": f"O-{k}", "customer_email": email, "status": status,
            "resolution_type": resolution, "currency": ccy,
            "return_total": format_minor(credit, ccy), "refund_to_original_amount": "0",
            "store_credit_amount": format_minor(sca, ccy),
            "bonus_type": "fixed" if bca else "none",
            "bonus_credit_amount": format_minor(bca, ccy),
            "created_at": _stamp(created),
            "resolved_at": _stamp(resolved) if status == "resolved" else "",
        })
        if kind != "credit":
            continue
        issued = tick(resolved + int(rng.integers(1, 3600)))
        world.ledger.append(_row(f"T-{k}", wallet, email, ccy, sca, issued, external_event_description=rid,
                                 wallet_action_id=f"WA-{k}", _return=rid, _release=resolved))
        minimum = 10 ** {"USD": 2, "JPY": 0, "KWD": 3, "EUR": 2}[ccy]
        if bca >= minimum:
            world.ledger.append(_row(f"B-{k}", wallet, email, ccy, bca, tick(issued),
                                     credit_kind="bonus_credit", external_event_description=rid,
                                     wallet_action_id=f"WB-{k}", _return=rid, _release=resolved))
    return world


def _row(tid: str, wallet: str, email: str, ccy: str, amount: int, t: int, **extra) -> dict:
    row = {
        "transaction_id": tid, "wallet_id": wallet, "customer_email": email,
        "type": "WALLET_ACTION_START", "operation_type": "ADD", "currency": ccy,
        "issuer_id": "postco", "credit_kind": "refund_credit", "_amount": amount, "_t": t,
    }
    row.update(extra)
    return row


def plant(world: World, fault: str, rng: np.random.Generator) -> dict[str, int] | None:
    """Plant one ``fault`` in a clean ``world``; return the expected change of break counts
    (``None`` when the world has nothing to plant it on)."""
    world.planted += 1
    tag = f"-{world.planted}"
    nudge = 1000 * world.planted  # planted rows never share a second with another row
    credits = [r for r in world.ledger if r["transaction_id"].startswith("T-")]
    bonuses = [r for r in world.ledger if r["transaction_id"].startswith("B-")]
    if fault == "drop_bonus":
        if not bonuses:
            return None
        world.ledger.remove(bonuses[int(rng.integers(len(bonuses)))])
        return {"missing_bonus": 1}
    if not credits:
        return None
    row = credits[int(rng.integers(len(credits)))]
    if fault == "drop_credit":
        world.ledger.remove(row)
        return {"missing_credit": 1}
    if fault == "change_amount":
        row["_amount"] += 1
        return {"credit_amount_mismatch": 1}
    if fault in ("duplicate", "voided_duplicate"):
        copy = dict(row, transaction_id=row["transaction_id"] + "-retry" + tag, _t=row["_t"] + 7 + nudge,
                    wallet_action_id=row["wallet_action_id"] + "-retry" + tag)
        world.ledger.append(copy)
        if fault == "duplicate":
            return {"duplicate_credit": 1}
        world.ledger.append(dict(copy, transaction_id=copy["transaction_id"] + "-void", type="VOID",
                                 operation_type="SUBTRACT", _t=copy["_t"] + 3 + nudge,
                                 voided_transaction_id=copy["transaction_id"],
                                 external_event_description=""))
        return {}
    if fault == "wrong_currency":
        other = "JPY" if row["currency"] != "JPY" else "USD"
        row.update(currency=other, wallet_id=row["wallet_id"] + "-" + other)
        return {"currency_mismatch": 1}
    if fault == "wrong_wallet":
        row.update(wallet_id="W-stranger-" + row["currency"], customer_email="stranger@example.com")
        return {"wrong_wallet": 1}
    if fault == "late":
        row["_t"] = row["_release"] + 72 * 3600 + 3600 + 13 + nudge
        return {"late_credit": 1}
    if fault == "orphan":
        world.ledger.append(dict(row, transaction_id="T-orphan" + tag, external_event_description="R-NONE",
                                 _t=row["_t"] + 5 + nudge))
        return {"orphan_credit": 1}
    if fault == "balance":
        last = max((r for r in world.ledger if r["wallet_id"] == row["wallet_id"]),
                   key=lambda r: r["_t"])
        last["_reported"] = -1  # reported balance after the wallet's last row is wrong
        return {"balance_break": 1, "negative_balance": 1}
    if fault == "premature":
        ret = next(r for r in world.returns if r["return_id"] == row["_return"])
        ret.update(status="received", resolved_at="")
        # The return no longer expects credit: its bonus (if any) goes with the credit.
        return {"premature_credit": 1}
    if fault == "clawed_back":
        ret = next(r for r in world.returns if r["return_id"] == row["_return"])
        ret.update(status="rejected", resolution_type="", resolved_at="")
        total = sum(r["_amount"] for r in world.ledger if r.get("_return") == ret["return_id"])
        world.ledger.append(dict(row, transaction_id=row["transaction_id"] + "-claw" + tag, type="MANUAL",
                                 operation_type="SUBTRACT", _amount=total, _t=row["_t"] + 86_400 + nudge,
                                 external_event_description="", issuer_id="",
                                 note=f"clawback {ret['return_id']} rejected"))
        return {}
    raise ValueError(fault)
