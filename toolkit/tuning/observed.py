"""Returns as a PostCo export shows them, reduced to what the choice model and the sweep need.

One row per return with a value: ``value_minor``, ``fee_minor``, ``retailer_borne``, the bonus
offered as a share of the value (``bonus_frac``) and, when the customer has decided, the choice
(``chosen``: 0 refund, 1 store credit, 2 exchange; -1 undecided). The rules, from the contract:
``store_credit`` and ``mixed`` are store credit, ``exchange`` exchange, ``original_payment``
refund. What the portal offered is read row by row from ``bonus_offered_amount`` and
``fee_offered_amount`` when the export has them (columns beyond the contract, on every row
whatever the customer chose; see docs/tuning.md). Without them: the offered bonus is
``bonus_type`` / ``bonus_rate`` on each row (a percentage as ``0.10``, a fixed bonus as an amount;
a percentage is scaled by the bonus base share, see :class:`ObservedReturns`), and the fee is
inferred from ``fees_total``, which holds the fee *deducted*, i.e. only on cash refunds: the fee
*offered* to every return is taken per reason class (retailer- or customer-borne, from
``reason_category``, else ``reason``) as the most common fee on that class's refunds. Reading the
deducted fee row by row would make the fee a consequence of the choice and bias its coefficient.

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
#: Columns beyond the contract that say what the portal offered before the customer chose; read
#: row by row when present (the contract's reader ignores them).
OFFERED = ("bonus_offered_amount", "fee_offered_amount")


def _offered_text(sources: list[str | Path], frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The :data:`OFFERED` columns of the export files, aligned with the reader's rows by
    ``_file`` and ``_line`` (empty text where a file lacks a column)."""
    parts: dict[str, list[pd.Series]] = {c: [] for c in OFFERED}
    found: set[str] = set()
    for i, src in enumerate(sources):
        path = Path(src)
        if path.suffix.lower() == ".parquet":
            table = pd.read_parquet(path)
            table = table.loc[:, [c for c in table.columns if _key(c) in OFFERED]]
            table = table.astype("string").fillna("")
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding_errors="replace",
                                usecols=lambda c: _key(c) in OFFERED)
        table = table.rename(columns={c: _key(c) for c in table.columns})
        index = pd.MultiIndex.from_arrays(
            [np.full(len(table), i, dtype=np.int64), np.arange(2, len(table) + 2, dtype=np.int64)])
        for c in OFFERED:
            if c in table.columns:
                found.add(c)
                parts[c].append(pd.Series(table[c].to_numpy(), index=index, dtype="string"))
    where = pd.MultiIndex.from_arrays([frame["_file"].to_numpy(dtype=np.int64),
                                       frame["_line"].to_numpy(dtype=np.int64)])
    return {c: pd.concat(parts[c]).reindex(where).fillna("").reset_index(drop=True)
            for c in OFFERED if c in found}


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
    bonus_base_share: percentage bonus over ``rate x return_total`` (median over returns offered a
        percentage bonus): below 1 when the bonus is computed before tax or capped.
    typical_value_minor: the value the choice model's ``log_value_rel`` is measured against, when
        the rows come with one (a simulated scenario); ``None`` for an export.
    offered_columns: which of ``bonus_offered_amount`` / ``fee_offered_amount`` the export had
        (each read row by row when present).
    origin: ``"export"`` (a PostCo file) or ``"scenario"`` (a simulator scenario's requests).
    bonus_rate: the percentage rate PostCo was set to offer on each row (``0.10``; 0 for a fixed
        bonus or none): the experiment's arms, whereas ``bonus_frac`` varies with each return's
        tax and caps.
    """

    currency: str
    value_minor: np.ndarray
    fee_minor: np.ndarray
    retailer_borne: np.ndarray
    bonus_frac: np.ndarray
    chosen: np.ndarray
    skipped: dict[str, int]
    bonus_base_share: float = 1.0
    typical_value_minor: float | None = None
    offered_columns: tuple[str, ...] = ()
    origin: str = "export"
    bonus_rate: np.ndarray | None = None

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
        offered_text = {c: raw[c].reset_index(drop=True) for c in OFFERED if c in raw.columns}
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
        paths = source if isinstance(source, list) else [source]
        offered_text = _offered_text(paths, raw)
        for c, text in offered_text.items():
            raw[c] = text.to_numpy()

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
    # What the portal offered, when the export shows it: an amount per row (empty = not shown).
    offered_amount: dict[str, np.ndarray] = {}
    offered_shown: dict[str, np.ndarray] = {}
    for c, text in offered_text.items():
        amount, bad = parse_money_column(text, currency.reset_index(drop=True))
        negative = amount.fillna(0).to_numpy() < 0
        refuse(c, "not an amount >= 0", bad.to_numpy() | negative)
        offered_amount[c] = amount.fillna(0).to_numpy(dtype=np.int64)
        offered_shown[c] = amount.notna().to_numpy()
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
    # rate x base_share. Where the export shows the bonus offered on every row
    # (bonus_offered_amount), that amount is the bonus share exactly, and the base share is
    # measured on every percentage offer. Without it, the bonus is seen only where it was paid
    # (pure store-credit returns): the median base share there is applied to every percentage
    # offer, an approximation that biases the bonus effect (customers who refused the offer
    # had no bonus_credit_amount to show what they were offered).
    paid = bonus_paid.fillna(0).to_numpy(dtype=float)[keep]
    rates = bonus_frac.copy()
    if "bonus_offered_amount" in offered_amount:
        shown = offered_shown["bonus_offered_amount"][keep]
        paid = np.where(shown, offered_amount["bonus_offered_amount"][keep], paid)
        seen = is_pct[keep] & (rates > 0) & shown & (paid > 0)
    else:
        shown = np.zeros(len(v), dtype=bool)
        seen = np.zeros(len(v), dtype=bool)
    if not seen.any():
        seen = is_pct[keep] & (rates > 0) & (chosen == STORE_CREDIT) & (paid > 0) & (
            resolution[keep].to_numpy() == "store_credit")
    base_share = float(np.median(paid[seen] / (rates[seen] * v[seen]))) if seen.any() else 1.0
    bonus_frac = np.where(is_pct[keep], rates * base_share, bonus_frac)
    bonus_frac = np.where(shown, paid / v, bonus_frac)
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
    # fee_offered_amount, where shown, is the fee each return's cash refund would have carried.
    if "fee_offered_amount" in offered_amount:
        offered = np.where(offered_shown["fee_offered_amount"][keep],
                           offered_amount["fee_offered_amount"][keep], offered)
    return ObservedReturns(
        currency=main,
        value_minor=v,
        fee_minor=np.minimum(offered, v),
        retailer_borne=borne,
        bonus_frac=bonus_frac.astype(float),
        chosen=chosen,
        skipped=skipped,
        bonus_base_share=base_share,
        offered_columns=tuple(c for c in OFFERED if c in offered_amount),
        bonus_rate=np.where(is_pct[keep], rates, 0.0),
    )
