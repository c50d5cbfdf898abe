"""Balances: each wallet's running balance checked row by row, its roll-forward, and liability.

Owns ``balance_break`` and ``negative_balance`` and the ``balances.csv`` roll-forward of
``docs/contract.md``: rows of a wallet in (``created_date``, file order), the first row setting
the opening (``updated_balance ∓ amount``), signed movements per role bucket, and
``closing = opening + Σ movements`` tied to the ledger's own last ``updated_balance``.

A balance is one wallet in one currency: a wallet is single-currency in Rise, and keying on both
guarantees no sum ever mixes currencies even if an export is wrong. Vectorized: one lexsort of the
ledger and a few ``add.at`` reductions. This module must never look at returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.contract import BreakReason, Role
from toolkit.io.text import arrow_text, encode
from toolkit.reconcile.classify import break_frame
from toolkit.reconcile.link import ROLE_CODE, ROLES, Links, order_by

__all__ = ["BUCKETS", "Balances", "liability", "roll_forward"]

#: ``balances.csv`` movement column per ledger role, in column order.
BUCKETS: dict[Role, str] = {
    Role.REFUND_CREDIT: "refund_credits",
    Role.BONUS_CREDIT: "bonus_credits",
    Role.OTHER_CREDIT: "other_credits",
    Role.REDEMPTION: "redemptions",
    Role.REDEMPTION_REFUND: "redemption_refunds",
    Role.EXPIRY: "expiries",
    Role.CANCELLATION: "cancellations",
    Role.VOID: "voids",
    Role.ADJUSTMENT: "adjustments",
    Role.OTHER: "other",
}


@dataclass(frozen=True)
class Balances:
    """Per-balance roll-forward (typed, minor units) and the balance breaks.

    Attributes
    ----------
    wallets: one row per (wallet_id, currency), sorted by both: ``wallet_id``, ``currency``,
        ``customer_email`` (of the wallet's latest row), ``opening``, one column per bucket,
        ``closing``, ``reported_closing``, ``difference``, ``rows``.
    breaks: typed break frames (``balance_break``, ``negative_balance``).
    """

    wallets: pd.DataFrame
    breaks: list[pd.DataFrame]


def roll_forward(ledger: pd.DataFrame, links: Links) -> Balances:
    """Replay every wallet in ledger order; check each row's ``updated_balance``.

    Parameters
    ----------
    ledger: typed ledger frame.
    links: roles, signed amounts and times from :func:`toolkit.reconcile.link.link`.

    Returns
    -------
    Balances
    """
    m = len(ledger)
    wallet_code, = encode(ledger["wallet_id"])
    ccy_code, = encode(ledger["currency"])
    key = wallet_code * (int(ccy_code.max(initial=0)) + 1) + ccy_code
    order = order_by(key, links.created_us)
    key = key[order]
    start = np.r_[True, key[1:] != key[:-1]] if m else np.zeros(0, dtype=bool)
    group = np.cumsum(start) - 1
    k = int(start.sum())

    signed = links.signed[order]
    reported = ledger["updated_balance"].to_numpy(dtype=np.int64)[order]
    expected = np.empty(m, dtype=np.int64)
    if m:
        expected[1:] = reported[:-1] + signed[1:]
        expected[start] = reported[start]  # the first row sets the opening: never a break
    bad = np.flatnonzero(expected != reported)
    li = order[bad]
    breaks = [
        break_frame(BreakReason.BALANCE_BREAK, links.ret[li], li, expected[bad], reported[bad],
                    reported[bad] - expected[bad]),
    ]
    balance = ledger["updated_balance"].to_numpy(dtype=np.int64)
    negative = np.flatnonzero(balance < 0)
    breaks.append(break_frame(BreakReason.NEGATIVE_BALANCE, links.ret[negative], negative, None,
                              balance[negative], None))

    first = np.flatnonzero(start)
    last = np.r_[first[1:] - 1, m - 1] if k else np.zeros(0, dtype=np.int64)
    # Every movement bucket in one pass: a (balance, role) table of signed sums.
    moves = np.zeros((k, len(ROLES)), dtype=np.int64)
    np.add.at(moves, (group, links.role[order].astype(np.int64)), signed)
    table = pd.DataFrame({
        "wallet_id": arrow_text(ledger["wallet_id"]).take(pa.array(order[first])),
        "currency": arrow_text(ledger["currency"]).take(pa.array(order[first])),
        "customer_email": arrow_text(ledger["customer_email"]).take(pa.array(order[last])),
        "opening": reported[first] - signed[first],
    })
    for role, column in BUCKETS.items():
        table[column] = moves[:, ROLE_CODE[role]]
    table["closing"] = table["opening"].to_numpy() + moves.sum(axis=1)
    table["reported_closing"] = reported[last]
    table["difference"] = table["reported_closing"] - table["closing"]
    table["rows"] = np.diff(np.r_[first, m]) if k else np.zeros(0, dtype=np.int64)
    sort = pc.sort_indices(pa.table({"w": arrow_text(table["wallet_id"]),
                                     "c": arrow_text(table["currency"])}),
                           sort_keys=[("w", "ascending"), ("c", "ascending")])
    table = table.take(sort.to_numpy()).reset_index(drop=True)
    return Balances(table, breaks)


def liability(wallets: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per currency: opening, movements per bucket, closing, reported closing, difference,
    wallets (minor units). The closing is tied to the ledger's own balances via ``difference``."""
    columns = ["opening", *BUCKETS.values(), "closing", "reported_closing", "difference"]
    out: dict[str, dict[str, int]] = {}
    for currency, part in wallets.groupby("currency", sort=True):
        sums = {c: int(part[c].to_numpy(dtype=np.int64).sum()) for c in columns}
        sums["wallets"] = len(part)
        out[str(currency)] = sums
    return out

