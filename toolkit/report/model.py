"""What the report says: the figures of one reconcile run, arranged for the HTML page and the workbook.

Both renderers read this one model, so the page and the workbook can never disagree. Every figure
is either read from ``summary.json`` as written or is a plain count or sum of rows the reconciler
wrote (breaks per reason and age bucket, matched returns per currency); nothing here decides
whether something is a break. Money is integer minor units, converted from the run's decimal
strings by :mod:`toolkit.money`; text formatting for people is :func:`format_money`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from toolkit.contract import BREAK_SEVERITY, BreakReason, Severity
from toolkit.money import CURRENCY_EXPONENTS, format_minor, parse_money, parse_money_column
from toolkit.report.run import RunFolder

__all__ = [
    "AGE_BUCKETS",
    "REASON_DEFINITIONS",
    "ReportModel",
    "build_model",
    "format_money",
]

#: Age buckets of open breaks, in whole days since release: (label, first day, last day or None).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7 days", 0, 7), ("8-30 days", 8, 30), ("31-60 days", 31, 60), ("61-90 days", 61, 90),
    ("over 90 days", 91, None),
)

#: How many of the largest breaks the page lists (the workbook and breaks.csv hold them all).
TOP_BREAKS = 25

#: One sentence per break reason, for people who did not write the contract.
REASON_DEFINITIONS: dict[str, str] = {
    BreakReason.MISSING_CREDIT: "The return expects store credit and none was issued within the issue window.",
    BreakReason.CREDIT_AMOUNT_MISMATCH: "The refund credit issued differs from the credit expected.",
    BreakReason.DUPLICATE_CREDIT: "Two or more refund credits were issued for one return: the customer was credited twice.",
    BreakReason.MISSING_BONUS: "A bonus was due and none was issued within the issue window.",
    BreakReason.BONUS_AMOUNT_MISMATCH: "The bonus credit issued differs from the bonus expected.",
    BreakReason.DUPLICATE_BONUS: "Two or more bonus credits were issued for one return.",
    BreakReason.UNEXPECTED_BONUS: "A bonus credit was issued where no bonus was due.",
    BreakReason.CURRENCY_MISMATCH: "A credit was issued in another currency than the return's.",
    BreakReason.WRONG_WALLET: "The credit landed in a wallet whose email is not the return's.",
    BreakReason.LATE_CREDIT: "The credit was issued, but after the issue window.",
    BreakReason.PREMATURE_CREDIT: "Credit was issued before the return reached its release stage.",
    BreakReason.CREDIT_ON_NON_CREDIT_RETURN: "Credit on a return resolved as an exchange or a refund to the original payment: paid twice.",
    BreakReason.UNREVERSED_CREDIT: "Credit on a rejected or archived return that was not clawed back.",
    BreakReason.AMBIGUOUS_MATCH: "A PostCo credit without a reference fits several returns; someone must choose.",
    BreakReason.ORPHAN_CREDIT: "A credit names no return in the export, or a PostCo credit fits no return.",
    BreakReason.BALANCE_BREAK: "The wallet's reported balance does not follow from its previous balance and this amount.",
    BreakReason.NEGATIVE_BALANCE: "The wallet's balance went below zero.",
    BreakReason.MISSING_NOTIFICATION: "The customer was not emailed about a credit they received.",
}

#: Roll-forward movements in the order of ``balances.csv`` (contract's, then ours).
MOVEMENTS: tuple[tuple[str, str], ...] = (
    ("refund_credits", "Refund credits"), ("bonus_credits", "Bonus credits"),
    ("other_credits", "Other credits"), ("redemptions", "Redemptions"),
    ("redemption_refunds", "Redemption refunds"), ("expiries", "Expiries"),
    ("cancellations", "Cancellations"), ("voids", "Voids"), ("adjustments", "Adjustments"),
    ("other", "Other"),
)

_SEVERITY_ORDER = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}


def format_money(amount_minor: int, currency: str) -> str:
    """Money for people: the currency's precision and thousands separators.

    >>> format_money(123456789, "USD"), format_money(-1200, "JPY"), format_money(1250, "KWD")
    ('1,234,567.89', '-1,200', '1.250')
    """
    return f"{Decimal(format_minor(amount_minor, currency)):,}"


def _minor(text: Any, currency: str) -> int:
    """A summary.json amount (decimal string; absent or empty = 0) in minor units."""
    if text is None or text == "":
        return 0
    return parse_money(str(text), currency)


@dataclass(frozen=True)
class Headline:
    """The headline figures of one currency."""

    currency: str
    expecting_credit: int
    matched: int
    expected_credit: int
    matched_credit: int
    issued_credit: int
    expected_bonus: int
    issued_bonus: int
    breaks: int
    breaks_high_medium: int
    at_risk: int

    @property
    def matched_pct(self) -> float | None:
        return 100.0 * self.matched / self.expecting_credit if self.expecting_credit else None

    @property
    def matched_credit_pct(self) -> float | None:
        if not self.expected_credit:
            return None
        return 100.0 * self.matched_credit / self.expected_credit


@dataclass(frozen=True)
class ReasonLine:
    """Breaks of one reason in one currency: count and sums (minor units)."""

    currency: str
    count: int
    expected: int
    actual: int
    net: int
    at_risk: int


@dataclass(frozen=True)
class ReasonRow:
    """One break reason: its definition, severity, total count and a line per currency."""

    reason: str
    severity: str
    definition: str
    count: int
    lines: tuple[ReasonLine, ...]


@dataclass(frozen=True)
class AgingRow:
    """Open breaks of one age bucket: counts by severity and money at risk per currency."""

    label: str
    by_severity: dict[str, int]
    total: int
    at_risk: dict[str, int]


@dataclass(frozen=True)
class RollForward:
    """The liability roll-forward of one currency (minor units)."""

    currency: str
    opening: int
    movements: tuple[tuple[str, str, int], ...]
    closing: int
    reported_closing: int
    difference: int
    wallets: int


@dataclass(frozen=True)
class DailySeries:
    """Credit expected and issued per day in one currency (minor units)."""

    currency: str
    dates: tuple[str, ...]
    released: tuple[int, ...]
    expected: tuple[int, ...]
    issued: tuple[int, ...]
    bonus: tuple[int, ...]


@dataclass(frozen=True)
class ReportModel:
    """Everything the report shows, computed once from a run folder."""

    summary: dict[str, Any]
    currencies: tuple[str, ...]
    headlines: tuple[Headline, ...]
    reasons: tuple[ReasonRow, ...]
    largest: tuple[dict[str, Any], ...]
    aging: tuple[AgingRow, ...]
    rollforwards: tuple[RollForward, ...]
    daily: tuple[DailySeries, ...]
    breaks: pd.DataFrame = field(repr=False)
    total_returns: int = 0
    total_breaks: int = 0

    @property
    def exit_status(self) -> int:
        return int(self.summary["exit_status"])

    @property
    def conservation_ok(self) -> bool:
        return bool(self.summary["conservation"].get("ok"))


def _currencies(summary: dict[str, Any]) -> tuple[str, ...]:
    seen = set(summary.get("money", {})) | set(summary.get("liability", {}))
    known = [c for c in seen if c in CURRENCY_EXPONENTS]
    return tuple(sorted(known))


def _break_money(breaks: pd.DataFrame) -> pd.DataFrame:
    """Breaks with ``expected``, ``actual``, ``net`` and ``risk`` in minor units and ``age``.

    ``risk`` is the absolute difference (else the actual, else the expected amount) for high and
    medium breaks, 0 for low ones: money at risk as the reconciler counts it in ``summary.json``.
    """
    ccy = breaks["currency"]
    out = pd.DataFrame(index=breaks.index)
    for col, name in (("expected_amount", "expected"), ("actual_amount", "actual"), ("difference", "net")):
        minor, _ = parse_money_column(breaks[col], ccy)
        out[name] = minor
    risk_base = out["net"].fillna(out["actual"]).fillna(out["expected"]).fillna(0).astype("int64")
    out["net"] = out["net"].fillna(out["actual"]).fillna(0).astype("int64")
    out["expected"] = out["expected"].fillna(0).astype("int64")
    out["actual"] = out["actual"].fillna(0).astype("int64")
    counts_money = breaks["severity"].isin([Severity.HIGH, Severity.MEDIUM]).to_numpy()
    out["risk"] = np.where(counts_money, np.abs(risk_base.to_numpy()), 0)
    out["age"] = pd.to_numeric(breaks.get("age_days", pd.Series("", index=breaks.index)),
                               errors="coerce").fillna(0).astype("int64")
    return out


def _headlines(run: RunFolder, currencies: tuple[str, ...]) -> tuple[Headline, ...]:
    summary = run.summary
    # The run folder's returns come counted by (outcome, currency, flag, amount): a few thousand
    # rows for a million returns, so little text is turned into money here.
    distinct = run.returns
    expects = (distinct["expects_credit"].str.lower() == "true").to_numpy()
    matched = expects & distinct["outcome"].isin(["matched", "matched_by_fallback"]).to_numpy()
    exp_minor, _ = parse_money_column(distinct["expected_credit"], distinct["currency"])
    amount = exp_minor.fillna(0).astype("int64").to_numpy() * distinct["n"].to_numpy()
    n = distinct["n"].to_numpy()
    frame = pd.DataFrame({
        "currency": distinct["currency"], "expects": np.where(expects, n, 0),
        "matched": np.where(matched, n, 0), "exp": np.where(expects, amount, 0),
        "matched_exp": np.where(matched, amount, 0),
    })
    per = frame.groupby("currency", sort=True).sum(numeric_only=True)
    breaks = run.breaks
    per_break = breaks.groupby("currency").size()
    hm = breaks[breaks["severity"].isin([Severity.HIGH, Severity.MEDIUM])].groupby("currency").size()
    out = []
    for c in currencies:
        m = summary["money"].get(c, {})
        row = per.loc[c] if c in per.index else None
        out.append(Headline(
            currency=c,
            expecting_credit=int(row["expects"]) if row is not None else 0,
            matched=int(row["matched"]) if row is not None else 0,
            expected_credit=_minor(m.get("expected_credit"), c),
            matched_credit=int(row["matched_exp"]) if row is not None else 0,
            issued_credit=_minor(m.get("issued_credit"), c),
            expected_bonus=_minor(m.get("expected_bonus"), c),
            issued_bonus=_minor(m.get("issued_bonus"), c),
            breaks=int(per_break.get(c, 0)),
            breaks_high_medium=int(hm.get(c, 0)),
            at_risk=_minor(m.get("at_risk"), c),
        ))
    return tuple(out)


def _reasons(run: RunFolder, money: pd.DataFrame) -> tuple[ReasonRow, ...]:
    counts = run.summary["counts"].get("breaks_by_reason", {})
    breaks = run.breaks
    grouped = (
        pd.concat([breaks[["reason", "currency"]], money[["expected", "actual", "net", "risk"]]], axis=1)
        .assign(n=1).groupby(["reason", "currency"], sort=True).sum()
    )
    rows = []
    for reason in BreakReason:
        severity = BREAK_SEVERITY[reason]
        lines = []
        if reason.value in grouped.index.get_level_values(0):
            for ccy, g in grouped.loc[reason.value].iterrows():
                at_risk_text = run.summary["money"].get(ccy, {}).get("at_risk_by_reason", {}).get(reason.value)
                lines.append(ReasonLine(
                    currency=str(ccy), count=int(g["n"]), expected=int(g["expected"]),
                    actual=int(g["actual"]), net=int(g["net"]),
                    at_risk=_minor(at_risk_text, str(ccy)) if at_risk_text is not None else int(g["risk"]),
                ))
        rows.append(ReasonRow(
            reason=reason.value, severity=severity.value, definition=REASON_DEFINITIONS[reason],
            count=int(counts.get(reason.value, sum(line.count for line in lines))), lines=tuple(lines),
        ))
    rows.sort(key=lambda r: (r.count == 0, _SEVERITY_ORDER[Severity(r.severity)], -r.count, r.reason))
    return tuple(rows)


def _aging(run: RunFolder, money: pd.DataFrame, currencies: tuple[str, ...]) -> tuple[AgingRow, ...]:
    severity = run.breaks["severity"]
    ccy = run.breaks["currency"]
    age = money["age"]
    out = []
    for label, lo, hi in AGE_BUCKETS:
        sel = (age >= lo) & ((age <= hi) if hi is not None else True)
        by_sev = {s.value: int((sel & (severity == s.value)).sum()) for s in Severity}
        risk = money["risk"][sel].groupby(ccy[sel]).sum()
        out.append(AgingRow(
            label=label, by_severity=by_sev, total=int(sel.sum()),
            at_risk={c: int(risk.get(c, 0)) for c in currencies},
        ))
    return tuple(out)


def _rollforwards(summary: dict[str, Any], currencies: tuple[str, ...]) -> tuple[RollForward, ...]:
    out = []
    for c in currencies:
        lia = summary["liability"].get(c)
        if lia is None:
            continue
        moves = lia.get("movements", {})
        names = [k for k, _ in MOVEMENTS] + sorted(set(moves) - {k for k, _ in MOVEMENTS})
        labels = dict(MOVEMENTS)
        out.append(RollForward(
            currency=c, opening=_minor(lia.get("opening"), c),
            movements=tuple(
                (k, labels.get(k, k.replace("_", " ").capitalize()), _minor(moves.get(k), c))
                for k in names if k in moves
            ),
            closing=_minor(lia.get("closing"), c),
            reported_closing=_minor(lia.get("reported_closing"), c),
            difference=_minor(lia.get("difference"), c),
            wallets=int(lia.get("wallets", 0)),
        ))
    return tuple(out)


def _daily(summary: dict[str, Any], currencies: tuple[str, ...]) -> tuple[DailySeries, ...]:
    out = []
    for c in currencies:
        days = summary.get("daily", {}).get(c) or []
        if not days:
            continue
        out.append(DailySeries(
            currency=c,
            dates=tuple(str(d["date"]) for d in days),
            released=tuple(int(d.get("returns_released", 0)) for d in days),
            expected=tuple(_minor(d.get("credit_expected"), c) for d in days),
            issued=tuple(_minor(d.get("credit_issued"), c) for d in days),
            bonus=tuple(_minor(d.get("bonus_issued"), c) for d in days),
        ))
    return tuple(out)


def build_model(run: RunFolder) -> ReportModel:
    """Arrange the figures of ``run`` for the renderers.

    Parameters
    ----------
    run: a loaded run folder (:func:`toolkit.report.run.load_run`).

    Returns
    -------
    ReportModel

    Example
    -------
    >>> model = build_model(load_run("tests/fixtures/report_run"))  # doctest: +SKIP
    >>> model.headlines[0].currency  # doctest: +SKIP
    'JPY'
    """
    summary = run.summary
    currencies = _currencies(summary)
    money = _break_money(run.breaks)
    largest = tuple(summary.get("largest_breaks", [])[:TOP_BREAKS])
    counts = summary["counts"]
    return ReportModel(
        summary=summary,
        currencies=currencies,
        headlines=_headlines(run, currencies),
        reasons=_reasons(run, money),
        largest=largest,
        aging=_aging(run, money, currencies),
        rollforwards=_rollforwards(summary, currencies),
        daily=_daily(summary, currencies),
        breaks=pd.concat([run.breaks, money], axis=1),
        total_returns=int(sum(counts.get("returns_by_outcome", {}).values())),
        total_breaks=int(counts.get("breaks", len(run.breaks))),
    )
