"""The wallet event table: every balance change the simulator will write to the Rise ledger.

Events are appended in blocks of numpy arrays (one block per source: workflow credits, reversals,
redemptions, planted faults...) and only later ordered, timed and priced by
:mod:`toolkit.simulate.wallet`. An event's index in the table is its identity throughout.

This module owns the table's shape; it must never draw random numbers or compute balances.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["Events", "Issuer", "Kind", "Ref"]


class Kind(IntEnum):
    """What an event does to the wallet (and which ledger ``type`` it becomes)."""

    ISSUE = 0          # WALLET_ACTION_START ADD: a new credit (a lot)
    REDEEM = 1         # REDEEM SUBTRACT: a share of the spendable balance
    REDEEM_OVER = 2    # REDEEM SUBTRACT: the whole balance plus ``amount`` (a race: goes negative)
    REFUND = 3         # PAYMENT_METHOD_REFUND ADD: a share of a redemption comes back
    EXPIRE = 4         # WALLET_ACTION_END EXPIRATION: the unspent rest of a lot
    CANCEL = 5         # WALLET_ACTION_END CANCEL: the unspent rest of a lot
    VOID = 6           # VOID SUBTRACT: undoes an issue row in full
    MANUAL_ADD = 7     # MANUAL ADD: goodwill
    MANUAL_SUB = 8     # MANUAL SUBTRACT: a correction, at most the spendable balance
    CLAWBACK = 9       # MANUAL SUBTRACT naming a return: removes its held credits in full


class Ref(IntEnum):
    """What ``external_event_description`` says."""

    NONE = 0
    RETURN = 1   # the return's id
    BOGUS = 2    # an id that is no return (a test credit)


class Issuer(IntEnum):
    NONE = 0
    POSTCO = 1   # the PostCo workflow
    OTHER = 2    # another workflow (loyalty, birthday, referral)
    MANUAL = 3   # issued by hand in the dashboard


_COLUMNS: dict[str, tuple[type, int | float | bool]] = {
    "wallet": (np.int64, -1),
    "t": (np.int64, 0),
    "kind": (np.int8, 0),
    "amount": (np.int64, 0),      # fixed amount (ISSUE, VOID, MANUAL_*), or extra (REDEEM_OVER)
    "frac": (np.float64, 1.0),    # share of the base (REDEEM, REFUND)
    "ret": (np.int64, -1),        # the return it belongs to / names
    "ref": (np.int8, 0),
    "credit_kind": (np.int8, 0),  # 0 none, 1 refund_credit, 2 bonus_credit
    "issuer": (np.int8, 0),
    "target": (np.int64, -1),     # VOID/CANCEL/EXPIRE/CLAWBACK: issue event; REFUND: redemption event
    "target2": (np.int64, -1),    # CLAWBACK: the second issue event (the bonus)
    "held": (np.bool_, False),    # ISSUE: not spendable until reversed (early credit to be clawed back)
    "dup": (np.int8, 0),          # ISSUE: 1 for a re-delivered trigger's second credit
    "sub": (np.int8, 0),          # flavour: other-credit programme, manual note, ...
    "drop": (np.bool_, False),    # missing from the export (planted)
    "no_email": (np.bool_, False),  # its customer email was never sent (planted)
}


class Events:
    """An append-only table of wallet events, column arrays of equal length."""

    def __init__(self) -> None:
        self._blocks: dict[str, list[np.ndarray]] = {k: [] for k in _COLUMNS}
        self._n = 0
        self.cols: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self._n

    def add(self, n: int, **values: np.ndarray | int | float | bool) -> np.ndarray:
        """Append ``n`` events; unspecified columns take their defaults. Returns their indices."""
        unknown = set(values) - set(_COLUMNS)
        if unknown:
            raise KeyError(f"unknown event columns {sorted(unknown)}")
        for name, (dtype, default) in _COLUMNS.items():
            v = values.get(name, default)
            arr = np.broadcast_to(np.asarray(v, dtype=dtype), (n,)).copy()
            self._blocks[name].append(arr)
        start = self._n
        self._n += n
        return np.arange(start, self._n, dtype=np.int64)

    def freeze(self) -> dict[str, np.ndarray]:
        """Concatenate the blocks into ``self.cols`` (call once every event is added)."""
        self.cols = {k: (np.concatenate(v) if v else np.zeros(0, dtype=_COLUMNS[k][0]))
                     for k, v in self._blocks.items()}
        return self.cols
