"""Returns as a PostCo export shows them, reduced to what the choice model and the sweep need.

One row per return with a value: ``value_minor``, ``fee_minor``, ``retailer_borne``, the bonus
offered as a share of the value (``bonus_frac``) and, when the customer has decided, the choice
(``chosen``: 0 refund, 1 store credit, 2 exchange; -1 undecided). The rules, from the contract:
``store_credit`` and ``mixed`` are store credit, ``exchange`` exchange, ``original_payment``
refund; the offered bonus is ``bonus_type`` / ``bonus_rate`` on each row (a percentage as
``0.10``, a fixed bonus as an amount; a percentage is scaled by the bonus base share, see
:class:`ObservedReturns`). The fee is read from ``fees_total``, which holds the fee
*deducted*, i.e. only on cash refunds: the fee *offered* to every return is inferred per reason
class (retailer- or customer-borne, from ``reason_category``, else ``reason``) as the most
common fee on that class's refunds. Reading the deducted fee row by row would make the fee a
consequence of the choice and bias its coefficient.

This module owns that reduction; it must never fit, sweep or value anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.errors import InputError, InputProblem
from toolkit.io.readers import read_returns
from toolkit.money import parse_money_column
from toolkit.tuning.choice import EXCHANGE, REFUND, STORE_CREDIT, ChoiceFeatures

__all__ = ["ObservedReturns", "RETAILER_BORNE_CATEGORIES", "observed_returns"]

#: ``reason_category`` values (normalised: lower case, ``_`` for spaces and dashes) that mean the
#: merchant is at fault. PostCo classifies every reason as retailer or customer borne (domain §1.6).
RETAILER_BORNE_CATEGORIES: frozenset[str] = frozenset({
    "retailer_borne", "retailer", "defective", "damaged", "damaged_item", "faulty",
    "wrong_item", "wrong_item_sent", "not_as_described", "quality", "missing_parts",
})

_CHOICE_OF_RESOLUTION = {
    "store_credit": STORE_CREDIT, "mixed": STORE_CREDIT,
    "exchange": EXCHANGE, "original_payment": REFUND,
}
_NEEDED = ("currency", "return_total", "resolution_type", "bonus_type")
_OPTIONAL = ("bonus_rate", "fees_total", "reason_category", "reason", "bonus_credit_amount")


def _key(name: str) -> str:
    return re.sub(r"[\s\-_]+", "_", str(name).strip().lower()).lstrip("\ufeff")


@dataclass(frozen=True)
class ObservedReturns:
    """The export's returns in one currency, as arrays of equal length.

    Attributes
    ----------
    currency: the currency of every row kept.
    value_minor: ``return_total`` in minor units (int64).
    fee_minor: the fee a cash refund of this return carries (inferred, see above), minor units.
    retailer_borne: 1.0 when ``reason_category`` is a retailer-borne reason.
    bonus_frac: the bonus offered, as a share of the value.
    chosen: choice index, -1 while undecided.
    skipped: rows left out, by reason (``"no resolution yet"``, ``"zero value"``, ``"other currency"``).
    bonus_base_share: percentage bonus paid over ``rate x return_total`` (median over returns that
        took credit and got a bonus): below 1 when the bonus is computed before tax or capped.
    """

    currency: str
    value_minor: np.ndarray
    fee_minor: np.ndarray
    retailer_borne: np.ndarray
    bonus_frac: np.ndarray
    chosen: np.ndarray
    skipped: dict[str, int]
    bonus_base_share: float = 1.0

    def __len__(self) -> int:
        return len(self.value_minor)

    def features(self, typical_value_minor: float, decided_only: bool = False) -> ChoiceFeatures:
        """Choice features of the rows (only decided ones when ``decided_only``)."""
        sel = self.chosen >= 0 if decided_only else np.ones(len(self), dtype=bool)
        value = self.value_minor[sel].astype(float)
        return ChoiceFeatures(
            bonus_frac=self.bonus_frac[sel],
            fee_frac=self.fee_minor[sel] / value,
            retailer_borne=self.retailer_borne[sel],
            log_value_rel=np.log(value / typical_value_minor),
        )


def observed_returns(source: str | Path | list[str | Path] | pd.DataFrame) -> ObservedReturns:
    """Reduce a PostCo export to the arrays the tuning needs.

    A path (or several) is read by the contract's reader :func:`toolkit.io.readers.read_returns`,
    which refuses an export that breaks the contract. A DataFrame of text needs only the columns
    the tuning uses (``currency``, ``return_total``, ``resolution_type``, ``bonus_type``; optional
    ``bonus_rate``, ``fees_total``, ``reason_category``). Rows in other currencies than the most
    common one are left out and counted.

    Raises
    ------
    InputError
        A needed column is missing, or money, bonus rates or enums cannot be read (every bad row
        named, in one pass).

    Example
    -------
    >>> rows = pd.DataFrame({"currency": ["USD", "USD"], "return_total": ["80.00", "40.00"],
    ...     "resolution_type": ["store_credit", ""], "bonus_type": ["percentage", "fixed"],
    ...     "bonus_rate": ["0.10", "5.00"]})
    >>> obs = observed_returns(rows)
    >>> obs.bonus_frac.tolist(), obs.chosen.tolist()
    ([0.1, 0.125], [1, -1])
    """
    problems: list[InputProblem] = []
    if isinstance(source, pd.DataFrame):
        name = "export"
        raw = source.astype("string").rename(columns={c: _key(c) for c in source.columns})
        missing = [c for c in _NEEDED if c not in raw.columns]
        if missing:
            raise InputError([InputProblem(name, c, "missing required column") for c in missing])
        for c in _OPTIONAL:
            if c not in raw.columns:
                raw[c] = ""
        raw = raw.fillna("")
        rownum = np.arange(len(raw)) + 2
        currency = raw["currency"].str.strip().str.upper()
        value, bad_value = parse_money_column(raw["return_total"], currency)
        bad_value = bad_value.to_numpy() | value.isna().to_numpy()
        fee, bad_fee = parse_money_column(raw["fees_total"], currency)
        bad_fee = bad_fee.to_numpy()
        bonus_paid, _ = parse_money_column(raw["bonus_credit_amount"], currency)
    else:
        table = read_returns(source)  # the contract's reader: refuses a bad export with evidence
        raw = table.frame.copy()
        for c in _OPTIONAL:
            if c not in raw.columns:
                raw[c] = ""
        name = ", ".join(f.path for f in table.files)
        rownum = raw["_line"].to_numpy()
        currency = raw["currency"].astype("string").str.strip().str.upper()
        value, fee = raw["return_total"].astype("Int64"), raw["fees_total"].astype("Int64")
        bonus_paid = raw["bonus_credit_amount"].astype("Int64")
        bad_value = bad_fee = np.zeros(len(raw), dtype=bool)
        raw = raw.astype({c: "string" for c in (*_NEEDED[2:], *_OPTIONAL[:-1])}).fillna("")

    def refuse(column: str, problem: str, mask: np.ndarray) -> None:
        if mask.any():
            problems.append(InputProblem(
                name, column, problem, tuple(int(r) for r in rownum[mask]),
                tuple(str(v) for v in raw[column].to_numpy()[mask][:5]),
            ))

    refuse("return_total", "not an amount", bad_value)
    refuse("fees_total", "not an amount", bad_fee)
    resolution = raw["resolution_type"].str.strip().str.lower()
    known_res = resolution.isin(list(_CHOICE_OF_RESOLUTION) + [""]).to_numpy()
    refuse("resolution_type", "not a resolution type", ~known_res)
    btype = raw["bonus_type"].str.strip().str.lower().replace("", "none")
    refuse("bonus_type", "not a bonus type", ~btype.isin(["percentage", "fixed", "none"]).to_numpy())

    rate_text = raw["bonus_rate"].str.strip()
    is_pct = (btype == "percentage").to_numpy()
    is_fixed = (btype == "fixed").to_numpy()
    pct = pd.to_numeric(rate_text.where(is_pct, "0").replace("", "0"), errors="coerce")
    refuse("bonus_rate", "not a decimal rate", is_pct & pct.isna().to_numpy())
    fixed, bad_fixed = parse_money_column(rate_text.where(is_fixed, ""), currency)
    refuse("bonus_rate", "not a fixed bonus amount", is_fixed & (bad_fixed | fixed.isna()).to_numpy())
    if problems:
        raise InputError(problems)

    counts = currency.value_counts()
    main = str(counts.index[0]) if len(counts) else "USD"
    value_arr = value.fillna(0).to_numpy(dtype=np.int64)
    in_main = (currency == main).to_numpy()
    positive = value_arr > 0
    keep = in_main & positive
    skipped = {"other currency": int((~in_main).sum()), "zero value": int((in_main & ~positive).sum())}

    v = value_arr[keep]
    bonus_frac = np.where(
        is_pct[keep], pct.fillna(0).to_numpy(dtype=float)[keep],
        np.where(is_fixed[keep], fixed.fillna(0).to_numpy(dtype=float)[keep] / v, 0.0),
    )
    chosen = resolution[keep].map(lambda r: _CHOICE_OF_RESOLUTION.get(r, -1)).to_numpy(dtype=np.int8)
    # PostCo computes a percentage bonus on each item's price before tax (and may cap it per
    # item), while the rate is stated against nothing: the bonus as a share of return_total is
    # rate x base_share. The base share is seen only where a bonus was paid (pure store-credit
    # returns); its median is applied to every percentage offer.
    paid = bonus_paid.fillna(0).to_numpy(dtype=float)[keep]
    rates = bonus_frac.copy()
    seen = is_pct[keep] & (rates > 0) & (chosen == STORE_CREDIT) & (paid > 0) & (
        resolution[keep].to_numpy() == "store_credit")
    base_share = float(np.median(paid[seen] / (rates[seen] * v[seen]))) if seen.any() else 1.0
    bonus_frac = np.where(is_pct[keep], rates * base_share, bonus_frac)
    skipped["no resolution yet"] = int((chosen < 0).sum())
    category = raw["reason_category"].where(raw["reason_category"].str.strip() != "",
                                            raw["reason"])[keep].map(_key)
    borne = category.isin(RETAILER_BORNE_CATEGORIES).to_numpy(dtype=float)
    charged = fee.fillna(0).to_numpy(dtype=np.int64)[keep]
    # fees_total is what was deducted, so it is non-zero only where a cash refund was taken; a
    # customer who took credit was offered the same fee. The offered fee is therefore taken per
    # reason class as the most common fee charged on that class's refunds (0 when none).
    offered = np.zeros(len(v), dtype=np.int64)
    for cls in (0.0, 1.0):
        refunds = charged[(borne == cls) & (chosen == REFUND)]
        if len(refunds):
            values, counts = np.unique(refunds, return_counts=True)
            offered[borne == cls] = values[np.argmax(counts)]
    return ObservedReturns(
        currency=main,
        value_minor=v,
        fee_minor=np.minimum(offered, v),
        retailer_borne=borne,
        bonus_frac=bonus_frac.astype(float),
        chosen=chosen,
        skipped=skipped,
        bonus_base_share=base_share,
    )
