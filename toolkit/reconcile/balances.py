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

from toolkit.contract import BreakReason, Role
from toolkit.io.text import arrow_text
from toolkit.reconcile.classify import break_frame
from toolkit.reconcile.link import ROLE_CODE, Links

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
    wallet_code, wallets = pd.factorize(ledger["wallet_id"], sort=True)
    ccy_code, currencies = pd.factorize(ledger["currency"], sort=True)
    order = np.lexsort((np.arange(m), links.created_us, ccy_code, wallet_code))
    key = wallet_code.astype(np.int64)[order] * max(len(currencies), 1) + ccy_code[order]
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
    negative = np.flatnonzero(ledger["updated_balance"].to_numpy(dtype=np.int64) < 0)
    breaks.append(break_frame(BreakReason.NEGATIVE_BALANCE, links.ret[negative], negative, None,
                              ledger["updated_balance"].to_numpy(dtype=np.int64)[negative], None))

    first = np.flatnonzero(start)
    last = np.r_[first[1:] - 1, m - 1] if k else np.zeros(0, dtype=np.int64)
    table = pd.DataFrame({
        "wallet_id": wallets.to_numpy(dtype=object)[wallet_code[order][first]],
        "currency": currencies.to_numpy(dtype=object)[ccy_code[order][first]],
        "customer_email": arrow_text(ledger["customer_email"]).take(pa.array(order[last])),
        "opening": reported[first] - signed[first],
    })
    role = links.role[order]
    total = np.zeros(k, dtype=np.int64)
    for role_name, column in BUCKETS.items():
        sel = role == ROLE_CODE[role_name]
        sums = np.zeros(k, dtype=np.int64)
        np.add.at(sums, group[sel], signed[sel])
        table[column] = sums
        total += sums
    table["closing"] = table["opening"].to_numpy() + total
    table["reported_closing"] = reported[last]
    table["difference"] = table["reported_closing"] - table["closing"]
    table["rows"] = np.diff(np.r_[first, m]) if k else np.zeros(0, dtype=np.int64)
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

