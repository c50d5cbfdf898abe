"""``simulate_returns``: a merchant's PostCo returns, Rise ledger, emails and the ground truth.

The steps, each its own module and random stream (so changing one leaves the others' draws
alone): customers and orders, return requests and lifecycle (:mod:`returns`), planted faults
(:mod:`faults`), the Rise workflow (:mod:`workflow`), wallet activity and balances
(:mod:`wallet`), then the contract text of every file and the truth (:mod:`truth`).

This module assembles; it must never draw a number itself outside the named streams.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.contract import (
    LEDGER_COLUMNS, NOTIFICATION_COLUMNS, RETURN_COLUMNS, TRUTH_COLUMNS, BonusType, BreakReason,
    ResolutionType, ReturnStatus, Template,
)
from toolkit.io.output import atomic_output_dir, write_csv, write_json, write_text_table
from toolkit.money import exponent
from toolkit.progress import stage
from toolkit.simulate import text
from toolkit.simulate.customers import customer_columns, draw_name_picks
from toolkit.simulate.events import Events, Issuer, Kind, Ref
from toolkit.simulate.faults import plan_faults
from toolkit.simulate.returns import DAY, MISSING, REASONS, draw_population
from toolkit.simulate.scenario import Scenario, load_scenario
from toolkit.simulate.truth import LINKED, balance_truth, planted_truth
from toolkit.simulate.wallet import MANUAL_NOTES, OTHER_PROGRAMMES, add_activity, add_expiries, run_wallets
from toolkit.simulate.workflow import expectations, issue_credits

__all__ = ["Simulation", "simulate_returns"]

STREAMS = ("orders", "customers", "times", "catalog", "lines", "bonus", "choice", "lifecycle", "identity",
           "faults", "workflow", "wallet", "names", "emails")
#: ``postco_returns.csv``: the contract's columns, then what the returns portal offered before the
#: customer chose (the bonus had they taken store credit, the fee a cash refund would carry).
RETURN_EXPORT_COLUMNS = RETURN_COLUMNS + ("bonus_offered_amount", "fee_offered_amount")
CUSTOMER_COLUMNS = ("customer_id", "first_name", "last_name", "email", "second_email", "phone", "country",
                    "currency", "created_at")


@dataclass(frozen=True, eq=False)
class Simulation:
    """One simulated merchant: typed columns in memory, the contract's files as text on demand.

    The simulation itself is numbers (minor units, epoch seconds, codes into small vocabularies);
    the text of each file is made the first time it is asked for, then kept. ``write`` turns the
    numbers into CSV directly, table by table, without keeping the text.

    Attributes
    ----------
    returns, ledger, notifications, customers, truth: exactly the text written to disk (pandas
        ``str`` columns, ``NaN`` where the file has an empty field), made on first access.
    requests: one numeric row per return request (choice, offered bonus, stage times, delays,
        amounts in minor units, planted fault) for funnel analysis, made on first access.
    scenario: the validated scenario; seed: the seed used; planted: faults planted per kind.
    """

    scenario: Scenario
    seed: int
    planted: dict[str, int]
    _typed: _Typed = field(repr=False)

    @cached_property
    def returns(self) -> pd.DataFrame:
        return _text_frame(self._typed.table("postco_returns"))

    @cached_property
    def ledger(self) -> pd.DataFrame:
        return _text_frame(self._typed.table("rise_ledger"))

    @cached_property
    def notifications(self) -> pd.DataFrame:
        return _text_frame(self._typed.table("notifications"))

    @cached_property
    def customers(self) -> pd.DataFrame:
        return _text_frame(self._typed.table("customers"))

    @cached_property
    def truth(self) -> pd.DataFrame:
        return _text_frame(self._typed.table("truth"))

    @cached_property
    def requests(self) -> pd.DataFrame:
        return self._typed.requests()

    def write(self, out_dir: str | Path, *, parquet: bool = False) -> Path:
        """Write the contract's simulate folder atomically; ``parquet`` adds ``.parquet`` twins.

        Returns the folder. Nothing is replaced unless every file was written. A table whose text
        frame was already made is written from it; any other straight from the typed columns
        (the same bytes, see ``tests/test_simulate.py``), one table at a time.
        """
        out = Path(out_dir)

        def one(name: str, tmp: Path) -> None:
            attr = _FILES[name]
            if attr in self.__dict__ or parquet:
                frame = getattr(self, attr)
                write_csv(frame, tmp / f"{name}.csv", _TABLE_COLUMNS[name])
                if parquet:
                    frame.loc[:, list(_TABLE_COLUMNS[name])].to_parquet(tmp / f"{name}.parquet", index=False)
            else:
                write_text_table(self._typed.table(name), tmp / f"{name}.csv")

        with atomic_output_dir(out) as tmp:
            if parquet:
                for name in _FILES:
                    one(name, tmp)
            else:
                # Each file is independent: two at a time (Arrow and numpy release the GIL), the
                # shared id columns made first so neither thread makes them twice.
                self._typed.prepare()
                with ThreadPoolExecutor(max_workers=2) as pool:
                    for done in [pool.submit(one, name, tmp) for name in _FILES]:
                        done.result()
            write_json({"seed": self.seed, "scenario": self.scenario.to_json_dict(),
                        "planted": self.planted,
                        "reconcile": {"credit_pct": str(self.scenario.workflow_credit_pct),
                                      "bonus_pct": str(self.scenario.workflow_bonus_pct),
                                      "bonus_min": str(self.scenario.workflow_bonus_min),
                                      "issue_window_hours": self.scenario.issue_window_hours,
                                      "postco_workflow_id": self.scenario.workflow_id}},
                       tmp / "scenario.json")
        return out

    def summary(self) -> dict[str, Any]:
        """Counts for the one-screen summary: returns by status and resolution, credit issued per
        currency, breaks planted per reason, faults planted per kind (read off the typed columns)."""
        return self._typed.summary(self.planted)


_FILES = {"postco_returns": "returns", "rise_ledger": "ledger", "notifications": "notifications",
          "customers": "customers", "truth": "truth"}
_TABLE_COLUMNS = {"postco_returns": RETURN_EXPORT_COLUMNS, "rise_ledger": LEDGER_COLUMNS,
                  "notifications": NOTIFICATION_COLUMNS, "customers": CUSTOMER_COLUMNS, "truth": TRUTH_COLUMNS}


def _text_frame(table: pa.Table) -> pd.DataFrame:
    return pd.DataFrame({name: text.to_series(table.column(name)) for name in table.column_names})


def _counts(values: np.ndarray) -> dict[str, int]:
    keys, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
    return {str(k): int(c) for k, c in zip(keys, counts, strict=True)}


class _Typed:
    """Everything the files are made of, as numbers: the state after the simulation ran, and the
    order, ids and links of every row. Text is made only by :meth:`table`."""

    def __init__(self, s, pop, plan, exp, issued, cols, run, rngs, n_cur) -> None:  # noqa: PLR0915
        self.s, self.pop, self.plan, self.exp, self.cols, self.run, self.n_cur = s, pop, plan, exp, cols, run, n_cur
        book = pop.book
        n = len(book["status"])
        self.no_email = cols["no_email"].copy()
        self.no_email[issued.extra.get("missing_email", np.zeros(0, dtype=np.int64))] = True
        self.cur_codes = np.array(pop.currencies, dtype=object)
        self.name_picks = draw_name_picks(len(pop.customer_currency), locale=s.customer_locale, seed=s.seed,
                                          rng=rngs["names"])

        # Return ids, in request order.
        self.row_order = np.lexsort((np.arange(n), book["created_at"]))
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[self.row_order] = np.arange(n)
        n_orders = int(book["order"].max()) + 1
        order_first = np.full(n_orders, np.iinfo(np.int64).max)
        np.minimum.at(order_first, book["order"], book["ordered_at"])
        self.order_rank = np.empty(n_orders, dtype=np.int64)
        self.order_rank[np.lexsort((np.arange(n_orders), order_first))] = np.arange(n_orders)
        self.n_orders = n_orders

        # Ledger rows: numbered in time order; the export drops the planted missing rows.
        kind = cols["kind"]
        happened = (run.wallet >= 0) & (run.amount > 0)
        ev_all = np.flatnonzero(happened)
        ev_all = ev_all[np.lexsort((ev_all, run.t[ev_all]))]
        self.tx_number = np.full(len(kind), -1, dtype=np.int64)
        self.tx_number[ev_all] = np.arange(len(ev_all)) + 1
        self.exported = exported = ev_all[~cols["drop"][ev_all]]
        as_of = int(max(run.t[exported].max() if len(exported) else 0,
                        max(book[c].max() for c in ("created_at", "reviewed_at", "received_at", "resolved_at",
                                                    "archived_at"))))
        # The return each event names or is linked to (by reference, or by a fallback we planted).
        linked = np.where(kind == Kind.ISSUE, cols["ret"], -1)
        linked[(kind == Kind.ISSUE) & (cols["ref"] == Ref.NONE) & (cols["ret"] < 0)] = -1
        self.linked = linked

        # Truth rows (numbers): planted breaks and the balance checks of the written ledger.
        rows = planted_truth(book, exp, issued, plan, run.amount, as_of=as_of,
                             window_s=s.issue_window_hours * 3600)
        by_wallet = exported[np.lexsort((run.t[exported], run.wallet[exported]))]
        signed = np.where(np.isin(kind[by_wallet], [Kind.ISSUE, Kind.REFUND, Kind.MANUAL_ADD]), 1, -1) \
            * run.amount[by_wallet]
        brk, neg = balance_truth(run.wallet[by_wallet], signed, run.balance[by_wallet])
        rows.append((BreakReason.BALANCE_BREAK.value, np.full(len(brk), LINKED), by_wallet[brk]))
        rows.append((BreakReason.NEGATIVE_BALANCE.value, np.full(len(neg), LINKED), by_wallet[neg]))
        self.truth_rows = rows
        self.emails = _notification_events(s, pop, cols, run, self.no_email, linked, n_cur, rngs["emails"])

    def return_ids(self, idx: np.ndarray) -> pa.Array:
        """``PCR-…`` of returns ``idx`` (null where ``idx < 0``): a code of the request's rank."""
        idx = np.asarray(idx, dtype=np.int64)
        rank = self.rank[np.maximum(idx, 0)]
        return text.codes((rank * 0x9E3779B1 + 0x5BD1E995) & ((1 << 35) - 1), 7, "PCR-", missing=idx < 0)

    def tx_ids(self, ev: np.ndarray) -> pa.Array:
        """``tx_…`` of events ``ev`` (null where ``ev < 0``): the row's number in time order."""
        ev = np.asarray(ev, dtype=np.int64)
        number = self.tx_number[np.maximum(ev, 0)].clip(0) if len(self.tx_number) else np.zeros(len(ev), np.int64)
        return text.ids("tx_", number, 9, missing=ev < 0)

    @cached_property
    def _customers(self) -> tuple[dict[str, pa.Array], pa.Array, pa.Array]:
        pop = self.pop
        return customer_columns(pop.customer_currency, list(pop.currencies), pop.customer_second_email,
                                pop.customer_created_at, self.name_picks, locale=self.s.customer_locale,
                                seed=self.s.seed)

    @property
    def _email_text(self) -> tuple[pa.Array, pa.Array]:
        _, email, second = self._customers
        return email, second

    def prepare(self) -> None:
        """Make the id and email columns every table uses (once, before tables are made in parallel)."""
        _ = self._customers

    def table(self, name: str) -> pa.Table:
        """The file ``name`` (``postco_returns``, ``rise_ledger``, ...) as an Arrow table of text."""
        s, pop = self.s, self.pop
        if name == "customers":
            columns = self._customers[0]
        elif name == "postco_returns":
            columns = _returns_text(s, pop, self.return_ids, self.row_order, *self._email_text, self.cur_codes,
                                    self.order_rank)
        elif name == "rise_ledger":
            columns = _ledger_text(s, pop, self.plan, self.cols, self.run, self.exported, self.tx_ids,
                                   self.return_ids, self.linked, *self._email_text, self.cur_codes, self.n_cur,
                                   self.order_rank, self.n_orders)
        elif name == "notifications":
            columns = _notifications_text(pop, self.emails, self.run, self.return_ids, self.tx_ids,
                                          *self._email_text, self.cur_codes, self.n_cur)
        elif name == "truth":
            columns = _truth_text(self.truth_rows, self.return_ids, self.tx_ids, self.linked)
        else:
            raise KeyError(name)
        cols = _TABLE_COLUMNS[name]
        return pa.table({c: columns[c] for c in cols})

    def requests(self) -> pd.DataFrame:
        return _requests_frame(self.s, self.pop, self.exp, text.to_series(self.return_ids(self.row_order)),
                               self.row_order, self.cur_codes)

    def summary(self, planted: dict[str, int]) -> dict[str, Any]:
        s, book, run, cols = self.s, self.pop.book, self.run, self.cols
        ev = self.exported
        kind, issuer = cols["kind"][ev], cols["issuer"][ev]
        to_workflow = issuer == Issuer.POSTCO
        if s.workflow_id in [p for p, _ in OTHER_PROGRAMMES]:
            names = np.array([p for p, _ in OTHER_PROGRAMMES], dtype=object)
            to_workflow |= (issuer == Issuer.OTHER) & (names[np.clip(cols["sub"][ev], 0, len(names) - 1)]
                                                       == s.workflow_id)
        issue = ev[(kind == Kind.ISSUE) & to_workflow]
        cur = run.wallet_keys[run.wallet[issue]] % self.n_cur
        credit: dict[str, str] = {}
        for c in sorted(set(cur.tolist()), key=lambda i: self.cur_codes[i]):
            code = str(self.cur_codes[c])
            total = int(run.amount[issue][cur == c].sum())
            credit[code] = f"{Decimal(total).scaleb(-exponent(code)):f}"
        resolution = np.where(np.isin(book["resolution_type"], [x.value for x in ResolutionType]),
                              book["resolution_type"], "(undecided)")
        truth = [(reason, len(ret)) for reason, ret, _ in self.truth_rows if len(ret)]
        by_reason: dict[str, int] = {}
        for reason, k in truth:
            by_reason[reason] = by_reason.get(reason, 0) + k
        return {
            "returns": len(book["status"]),
            "by_status": _counts(book["status"]),
            "by_resolution": _counts(resolution),
            "ledger_rows": len(ev),
            "wallets": int(len(np.unique(run.wallet[ev]))),
            "notifications": len(self.emails[0]),
            "customers": len(self.pop.customer_currency),
            "credit_issued": credit,
            "breaks_by_reason": dict(sorted(by_reason.items())),
            "faults_planted": dict(sorted(planted.items())),
        }


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(ch) for name, ch in zip(STREAMS, children, strict=True)}


def simulate_returns(
    scenario: Scenario | str | Path | None = None,
    *,
    returns: int | None = None,
    seed: int | None = None,
    clean: bool = False,
) -> Simulation:
    """Simulate a merchant's returns flow end to end, in memory.

    Parameters
    ----------
    scenario: a :class:`Scenario`, a path to a scenario TOML, or ``None`` for the default.
    returns: number of return requests (overrides the scenario).
    seed: seed of every random stream (overrides the scenario).
    clean: plant no fault at all (then ``truth`` is empty).

    Returns
    -------
    Simulation
        Typed columns; the text frames are made on first access, ``write(folder)`` puts the files
        on disk.

    Raises
    ------
    ConfigError
        When the scenario file is invalid.

    Example
    -------
    >>> sim = simulate_returns(returns=300, seed=1, clean=True)
    >>> len(sim.returns), len(sim.truth)
    (300, 0)
    """
    if isinstance(scenario, Scenario):
        overrides = {k: v for k, v in (("returns_count", returns), ("seed", seed)) if v is not None}
        if clean:
            overrides["clean"] = True
        s = scenario.model_copy(update=overrides)
        s = Scenario.model_validate(s.model_dump())
    else:
        s = load_scenario(scenario, returns_count=returns, seed=seed, clean=True if clean else None)
    rngs = _streams(s.seed)

    with stage(f"drawing {s.returns_count:,} return requests"):
        pop = draw_population(s, rngs)
    book = pop.book
    end = pop.end
    latest = int(max(book[c].max() for c in ("created_at", "reviewed_at", "received_at", "resolved_at",
                                               "archived_at")))
    with stage("planting faults"):
        plan = plan_faults(pop, s, rngs["faults"], latest)
    n_cur = len(pop.currencies)
    exp = expectations(book, s, pop.currencies)
    events = Events()
    with stage("issuing credits in Rise"):
        issued = issue_credits(events, book, exp, plan, s, n_cur, rngs["workflow"], end, latest)
    usd_minor = {d: np.array([s.usd_in(Decimal(d), c) for c in pop.currencies], dtype=np.int64)
                 for d in range(1, 31)}
    start = end - s.period_days * DAY
    with stage("spending, expiring and adjusting wallets"):
        cols = events.freeze()
        ordinary = (cols["wallet"] // n_cur // 2) < plan.first_fault_customer
        add_activity(events, s, rngs["wallet"], start=start, end=end, ordinary_wallet=ordinary,
                     usd_minor=usd_minor, currency_of_key=lambda k: np.asarray(k) % n_cur)
        expires = add_expiries(events, s, end)
        run = run_wallets(events, expires, end)
    cols = events.cols
    with stage("numbering rows, truth and emails"):
        return _assemble(s, pop, plan, exp, issued, cols, run, rngs, n_cur)


def _assemble(s, pop, plan, exp, issued, cols, run, rngs, n_cur) -> Simulation:
    book = pop.book
    typed = _Typed(s, pop, plan, exp, issued, cols, run, rngs, n_cur)
    planted = {k: int(len(v)) for k, v in plan.hosts.items()}
    planted["ambiguous_fallback"] = int(len(plan.ambiguous_pairs))
    planted.update({k: int(len(v[0])) for k, v in plan.standalone.items()})
    for name in ("integration_outage", "workflow_misset"):
        planted[name] = int((book["fault"] == name).sum())
    return Simulation(scenario=s, seed=s.seed, planted=planted, _typed=typed)


def _take(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    return pc.take(arr, pa.array(np.asarray(idx, dtype=np.int64)))


def _take_or_null(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    """``arr[idx]``, null where ``idx < 0`` (also when ``arr`` is empty)."""
    idx = np.asarray(idx, dtype=np.int64)
    return pc.take(arr, pa.array(idx, mask=idx < 0)) if len(arr) else pa.nulls(len(idx), pa.string())


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), pa.scalar(None, pa.string()), arr)


def _const(value: str | None, n: int) -> pa.Array:
    return pa.array([value] * n, type=pa.string()) if n < 64 else pa.repeat(pa.scalar(value, pa.string()), n)


def _pick_text(choices: list[str | None], index: np.ndarray) -> pa.Array:
    return _take(pa.array(choices, type=pa.string()), index)


def _wallet_email(keys: np.ndarray, n_cur: int, email: pa.Array, second: pa.Array) -> pa.Array:
    cust = keys // n_cur // 2
    sec = (keys // n_cur) % 2 == 1
    return pc.if_else(pa.array(sec), _take(second, cust), _take(email, cust))


def _ledger_text(s, pop, plan, cols, run, ev, tx_id_all, return_id, linked, email, second, cur_codes, n_cur,
                 order_rank, n_orders) -> dict[str, pa.Array]:
    kind = cols["kind"][ev]
    m = len(ev)
    type_names = ["WALLET_ACTION_START", "REDEEM", "REDEEM", "PAYMENT_METHOD_REFUND", "WALLET_ACTION_END",
                  "WALLET_ACTION_END", "VOID", "MANUAL", "MANUAL", "MANUAL"]
    adds = np.isin(kind, [Kind.ISSUE, Kind.REFUND, Kind.MANUAL_ADD])
    keys = run.wallet_keys[run.wallet[ev]]
    cur = keys % n_cur
    exps = np.array([exponent(c) for c in cur_codes], dtype=np.int64)[cur]
    wallet_no = run.wallet[ev]
    wallet_id = text.codes((wallet_no * 0x2545F491 + 0x3C6EF372) & ((1 << 40) - 1), 8, "wal_")
    code_suffix = text.codes((wallet_no * 0x61C88647 + 0x1234567) & ((1 << 20) - 1), 4)
    issue = kind == Kind.ISSUE
    issuer = cols["issuer"][ev]
    ck = cols["credit_kind"][ev]
    ret = cols["ret"][ev]
    ref = cols["ref"][ev]
    target = cols["target"][ev]
    # Wallet actions: each issue row starts one; expiry and cancel rows end it; refunds fund it.
    action_of = np.where(kind == Kind.ISSUE, ev, np.where(np.isin(kind, [Kind.EXPIRE, Kind.CANCEL]), target,
                                                          np.where(kind == Kind.REFUND, run.funding[ev], -1)))
    action_id = _null_where(text.codes((np.maximum(action_of, 0) * 0x9E3779B1 + 77) & ((1 << 40) - 1), 8, "wa_"),
                            action_of < 0)
    safe_ret = np.maximum(ret, 0)
    rid = return_id(safe_ret)
    postco = issue & (issuer == Issuer.POSTCO)
    other = issue & (issuer == Issuer.OTHER)
    manual_issue = issue & (issuer == Issuer.MANUAL)
    issuer_text = _pick_text([None, "WORKFLOW", "WORKFLOW", "MANUAL"], np.where(issue, issuer, 0))
    programme = cols["sub"][ev]
    issuer_id = pc.if_else(pa.array(postco), pa.scalar(s.workflow_id),
                           pc.if_else(pa.array(other), _pick_text([p for p, _ in OTHER_PROGRAMMES],
                                                                  np.where(other, programme, 0)),
                                      pa.scalar(None, pa.string())))
    credit_kind = _pick_text([None, "refund_credit", "bonus_credit"], np.where(postco | manual_issue, ck, 0))
    event_name = pc.if_else(pa.array(postco), pa.scalar("REFUND"),
                            pc.if_else(pa.array(other), _pick_text([e for _, e in OTHER_PROGRAMMES],
                                                                   np.where(other, programme, 0)),
                                       pc.if_else(pa.array(manual_issue), pa.scalar("OTHER"),
                                                  pa.scalar(None, pa.string()))))
    names_return = (issue & (ref == Ref.RETURN)) | (kind == Kind.CLAWBACK)
    bogus = text.ids("TEST-", ev, 6)
    description = pc.if_else(pa.array(names_return), rid,
                             pc.if_else(pa.array(issue & (ref == Ref.BOGUS)), bogus, pa.scalar(None, pa.string())))
    # Orders paid with credit: fresh order numbers after the returned orders, in time order.
    spend = np.isin(kind, [Kind.REDEEM, Kind.REDEEM_OVER])
    spend_rank = np.cumsum(spend) - 1
    spend_order = np.where(spend, n_orders + spend_rank, -1)
    refund = kind == Kind.REFUND
    if refund.any():
        parent_pos = np.searchsorted(ev, target[refund])
        found = (parent_pos < len(ev)) & (ev[np.minimum(parent_pos, len(ev) - 1)] == target[refund])
        spend_order[np.flatnonzero(refund)[found]] = spend_order[parent_pos[found]]
    credit_order = np.where(postco & (ret >= 0), order_rank[pop.book["order"][safe_ret]], -1)
    order_no = np.where(spend_order >= 0, spend_order, credit_order)
    has_order = order_no >= 0
    source_order_id = _null_where(pc.cast(pa.array(5_500_000_000_000 + np.maximum(order_no, 0) * 97), pa.string()),
                                  ~has_order)
    source_order_number = _null_where(text.join("#", pc.cast(pa.array(1001 + np.maximum(order_no, 0)), pa.string())),
                                      ~has_order)
    exp_at = run.expires_at[ev]
    expiration = text.timestamps(exp_at, 0, missing=~issue | (exp_at < 0))
    end_reason = _pick_text([None, "EXPIRATION", "CANCEL"],
                            np.where(kind == Kind.EXPIRE, 1, np.where(kind == Kind.CANCEL, 2, 0)))
    voided = tx_id_all(np.where(kind == Kind.VOID, np.maximum(target, 0), -1))
    suffix = _pick_text([None, ":base", ":bonus"], np.where(postco & (ref == Ref.RETURN), ck, 0))
    key = text.join("postco:", rid, suffix)
    key = pc.if_else(pa.array(cols["dup"][ev] == 1), text.join(key, ":retry"), key)
    status_word = _take(pa.array(pop.book["status"], type=pa.string()), safe_ret)
    notes = [
        (postco & (ck == 1), pa.scalar("PostCo return refund")),
        (postco & (ck == 2), pa.scalar("PostCo return bonus")),
        (manual_issue, pa.scalar("Test credit - please ignore")),
        (other, _pick_text(["Loyalty reward", "Birthday gift", "Referral reward"], np.where(other, programme, 0))),
        (np.isin(kind, [Kind.MANUAL_ADD, Kind.MANUAL_SUB]),
         _pick_text(list(MANUAL_NOTES), np.clip(programme, 0, len(MANUAL_NOTES) - 1))),
        (kind == Kind.CLAWBACK, text.join("Clawback of early credit: return ", rid, " ", status_word)),
    ]
    note = pa.repeat(pa.scalar(None, pa.string()), m)
    for mask, value in notes:
        if mask.any():
            note = pc.if_else(pa.array(mask), value, note)
    return {
        "transaction_id": tx_id_all(ev),
        "created_date": text.timestamps(run.t[ev]),
        "wallet_id": wallet_id,
        "customer_email": _wallet_email(keys, n_cur, email, second),
        "type": _pick_text(type_names, kind),
        "operation_type": _pick_text(["SUBTRACT", "ADD"], adds.astype(np.int64)),
        "amount": text.money(run.amount[ev], exps),
        "currency": _take(pa.array(list(cur_codes), type=pa.string()), cur),
        "updated_balance": text.money(run.balance[ev], exps),
        "code_suffix": code_suffix,
        "wallet_action_id": action_id,
        "issuer": issuer_text,
        "issuer_id": issuer_id,
        "credit_kind": credit_kind,
        "external_event_name": event_name,
        "external_event_description": description,
        "source_order_id": source_order_id,
        "source_order_number": source_order_number,
        "expiration_date": expiration,
        "end_reason": end_reason,
        "voided_transaction_id": voided,
        "idempotency_key": _null_where(key, ~(postco & (ref == Ref.RETURN))),
        "note": note,
    }


def _truth_text(rows, return_id, tx_id_all, linked) -> dict[str, pa.Array]:
    reasons, rets, txs = [], [], []
    for reason, ret, ev in rows:
        if not len(ret):
            continue
        if (ret == LINKED).any():
            ret = np.where(ret == LINKED, np.where(ev >= 0, linked[np.maximum(ev, 0)], -1), ret)
        reasons.append(pa.repeat(pa.scalar(reason), len(ret)))
        rets.append(return_id(ret))
        txs.append(tx_id_all(ev))
    if not reasons:
        return {c: pa.array([], type=pa.string()) for c in TRUTH_COLUMNS}
    table = pa.table({"reason": pa.concat_arrays(reasons), "return_id": pa.concat_arrays(rets),
                      "transaction_id": pa.concat_arrays(txs)})
    # Sorted by every column, empty first (stable), so the file reads the same whatever the order
    # faults were planted in.
    order = pc.sort_indices(table, sort_keys=[(c, "ascending", "at_start") for c in TRUTH_COLUMNS])
    table = table.take(order)
    return {c: table.column(c).combine_chunks() for c in TRUTH_COLUMNS}


def _rate_text(s: Scenario, pop, row_order: np.ndarray) -> pa.Array:
    """``bonus_rate`` as PostCo writes it: ``0.10`` for a percentage, the fixed amount, or ``0``."""
    book = pop.book
    if s.bonus_type == BonusType.FIXED and not s.bonus_experiment_rates:
        fixed = np.array([s.usd_in(s.bonus_rate, c) for c in pop.currencies], dtype=np.int64)
        cur = book["currency_index"][row_order]
        return text.money(fixed[cur], book["exponent"][row_order])
    levels = sorted(set(float(x) for x in np.unique(book["bonus_rate"])))
    labels = []
    for lv in levels:
        d = Decimal(str(lv))
        labels.append("0" if d == 0 else f"{d.quantize(Decimal('0.01')) if d == d.quantize(Decimal('0.01')) else d:f}")
    idx = np.searchsorted(np.array(levels), book["bonus_rate"])
    return _pick_text(labels, idx[row_order])


def _skus(pop, line_source: np.ndarray) -> pa.Array:
    """SKUs of each row's accepted lines, "|"-separated, from the return ``line_source`` names."""
    lines, full = pop.lines, pop.book
    n = len(full["status"])
    accepted = ~(full["item_rejected"][lines.return_index] & (lines.position == 0))
    li = np.flatnonzero(accepted)
    li = li[np.argsort(lines.return_index[li], kind="stable")]
    counts = np.bincount(lines.return_index[li], minlength=n)
    starts = np.cumsum(counts) - counts
    # The accepted lines of each output row, gathered in order: only integers move here.
    row_counts = counts[line_source]
    row_offsets = np.zeros(len(line_source) + 1, dtype=np.int64)
    np.cumsum(row_counts, out=row_offsets[1:])
    pos = np.arange(row_offsets[-1], dtype=np.int64) + np.repeat(starts[line_source] - row_offsets[:-1], row_counts)
    values = _pick_text(list(pop.sku), lines.product[li[pos]])
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(row_offsets.astype(np.int32)), values), "|")


_NOTE_WORDS = ("Keep item", "1 item rejected at inspection", "Refund edited at resolve", "Rejected at review",
               "Rejected at resolve", "Cancelled by customer", "Never shipped back")


def _returns_text(s, pop, return_id, row_order, email, second, cur_codes, order_rank) -> dict[str, pa.Array]:
    full = pop.book
    n_cust = len(pop.customer_currency)
    # Rows in request order: numbers are permuted when first used; text is made from them directly.
    book = _Permuted(full, row_order)
    off = s.postco_export_utc_offset_minutes
    exps = book["exponent"]
    cust = book["customer"]
    ret_email = _take(pa.concat_arrays([email, second]), cust + n_cust * book["use_second_email"].astype(np.int64))
    phone = _null_where(_phones(pop, cust), ~book["phone_lookup"])
    order_no = order_rank[book["order"]]
    status = _enum_codes(full["status"], [x.value for x in ReturnStatus])[row_order]
    statuses = [x.value for x in ReturnStatus]
    rejected, archived = statuses.index(ReturnStatus.REJECTED.value), statuses.index(ReturnStatus.ARCHIVED.value)
    flags = [
        book["keep_item"], book["item_rejected"], book["partial_refund"],
        (status == rejected) & (book["received_at"] == MISSING) & (book["resolved_at"] == MISSING),
        (status == rejected) & (book["resolved_at"] != MISSING),
        (status == archived) & (book["reviewed_at"] == MISSING),
        (status == archived) & (book["reviewed_at"] != MISSING),
    ]
    # Each row's notes are one of few combinations of flags: word the combinations, then pick.
    combo = np.zeros(len(status), dtype=np.int64)
    for bit, mask in enumerate(flags):
        combo |= np.asarray(mask, dtype=np.int64) << bit
    present, combo_idx = np.unique(combo, return_inverse=True)
    words = ["; ".join(w for bit, w in enumerate(_NOTE_WORDS) if c >> bit & 1) or None for c in present.tolist()]
    credit_taker = (full["choice"] == "store_credit")[row_order]
    cols = {
        "return_id": return_id(row_order),
        "order_id": pc.cast(pa.array(5_500_000_000_000 + order_no * 97), pa.string()),
        "order_name": text.join("#", pc.cast(pa.array(1001 + order_no), pa.string())),
        "customer_email": ret_email,
        "customer_phone": phone,
        "status": _pick_text(statuses, status),
        "resolution_type": _enum_text(full["resolution_type"], [x.value for x in ResolutionType], row_order),
        "currency": _pick_text(list(cur_codes), book["currency_index"]),
        "return_total": text.money(book["value_minor"], exps),
        "fees_total": text.money(book["fees_minor"], exps),
        "refund_to_original_amount": text.money(book["refund_to_original_minor"], exps),
        "store_credit_amount": text.money(np.where(credit_taker, book["store_credit_minor"], 0), exps),
        "bonus_type": _enum_text(full["bonus_type"], [x.value for x in BonusType], row_order),
        "bonus_rate": _rate_text(s, pop, row_order),
        "bonus_credit_amount": text.money(book["bonus_credit_minor"], exps),
        "credit_issue_stage": _pick_text(["resolved", "reviewed"], book["early_credit"].astype(np.int64)),
    }
    for c in ("created_at", "reviewed_at", "received_at", "resolved_at", "archived_at"):
        cols[c] = text.timestamps(book[c], off, missing=book[c] == MISSING)
    cols.update({
        "reason": _pick_text([r for r, _ in REASONS], book["reason_index"]),
        "reason_category": _pick_text(["customer_borne", "retailer_borne"], book["retailer_borne"].astype(np.int64)),
        "item_count": pc.cast(pa.array(book["item_count"]), pa.string()),
        "skus": _skus(pop, book["line_source"]),
        "notes": _pick_text(words, combo_idx),
        "bonus_offered_amount": text.money(book["bonus_offered_minor"], exps),
        "fee_offered_amount": text.money(book["fee_offered_minor"], exps),
    })
    return cols


def _enum_codes(column: np.ndarray, values: list[str]) -> np.ndarray:
    """Codes of an object column of enum strings, each one of ``values``."""
    found, uniques = pd.factorize(column)  # hashing: one pass, no per-value comparisons
    lookup = {v: k for k, v in enumerate(values)}
    if any(u not in lookup for u in uniques):
        raise ValueError(f"values outside {values}")
    return np.array([lookup[u] for u in uniques], dtype=np.int64)[found]


def _enum_text(column: np.ndarray, values: list[str], row_order: np.ndarray) -> pa.Array:
    return _pick_text(values, _enum_codes(column, values)[row_order])


class _Permuted:
    """The book's columns in another row order, each permuted only when first used."""

    def __init__(self, book: dict[str, np.ndarray], order: np.ndarray) -> None:
        self._book, self._order, self._done = book, order, {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._done:
            self._done[key] = self._book[key][self._order]
        return self._done[key]


def _phones(pop, cust: np.ndarray) -> pa.Array:
    from toolkit.simulate.customers import _DIAL, COUNTRY_OF

    codes = [_DIAL.get(COUNTRY_OF.get(c, "US"), "+1") for c in pop.currencies]
    dial = _pick_text(codes, pop.customer_currency[cust])
    num = pc.utf8_lpad(pc.cast(pa.array(cust + 1), pa.string()), 7, "0")
    return text.join(dial, "555", num)


def _notification_events(s, pop, cols, run, no_email, linked, n_cur,
                         r: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Every email as numbers, in sending order: (time, template code, email index, return, event)."""
    book = pop.book
    n = len(book["status"])
    status = book["status"]
    rejected_at_review = (status == ReturnStatus.REJECTED.value) & (book["resolved_at"] == MISSING)
    stages = [
        (Template.RETURN_SUBMITTED, book["created_at"], np.ones(n, dtype=bool)),
        (Template.RETURN_REVIEWED, book["reviewed_at"], (book["reviewed_at"] != MISSING) & ~rejected_at_review),
        (Template.RETURN_RECEIVED, book["received_at"], book["received_at"] != MISSING),
        (Template.RETURN_COMPLETED, book["resolved_at"], status == ReturnStatus.RESOLVED.value),
        (Template.RETURN_REJECTED, np.where(rejected_at_review, book["reviewed_at"], book["resolved_at"]),
         status == ReturnStatus.REJECTED.value),
    ]
    cust = book["customer"]
    n_cust = len(pop.customer_currency)
    # Every email as one index into [first emails..., second emails...]: one take at the end.
    ret_mail = cust + n_cust * book["use_second_email"].astype(np.int64)
    templates = [t.value for t in Template]
    parts = []
    for tmpl, when, mask in stages:
        idx = np.flatnonzero(mask)
        parts.append((when[idx] + r.integers(2, 120, len(idx)), np.full(len(idx), templates.index(tmpl.value)),
                      ret_mail[idx], idx, np.full(len(idx), -1, dtype=np.int64)))
    kind = cols["kind"]
    credit = np.flatnonzero((kind == Kind.ISSUE) & (cols["issuer"] == Issuer.POSTCO) & (run.amount > 0)
                            & (run.wallet >= 0) & ~no_email)
    keys = run.wallet_keys[run.wallet[credit]]
    parts.append((run.t[credit] + r.integers(5, 90, len(credit)),
                  np.where(cols["credit_kind"][credit] == 2, templates.index(Template.BONUS_CREDIT_RECEIVED.value),
                           templates.index(Template.STORE_CREDIT_RECEIVED.value)),
                  keys // n_cur // 2 + n_cust * ((keys // n_cur) % 2), linked[credit], credit))
    t = np.concatenate([p[0] for p in parts])
    # Narrow codes and indices: a third of the bytes to move when the rows are put in order.
    tmpl = np.concatenate([p[1] for p in parts]).astype(np.int8)
    wide = max(n, n_cust * 2, len(kind)) >= 2**31
    index = np.int64 if wide else np.int32
    mail_idx = np.concatenate([p[2] for p in parts]).astype(index)
    ret = np.concatenate([p[3] for p in parts]).astype(index)
    ev = np.concatenate([p[4] for p in parts]).astype(index)
    # Order by (time, return, event). Within equal (time, return) the rows are already in event
    # order (stage rows, event -1, come first; credit rows follow in event order), so one stable
    # sort on a combined key gives exactly that order, at a third of a three-key sort's cost.
    span = n + 1
    if len(t) and max(int(t.max()), -int(t.min())) < (2**62) // span:
        order = np.argsort(t * span + (ret.astype(np.int64) + 1), kind="stable")
    else:
        order = np.lexsort((ev, ret, t))
    return t[order], tmpl[order], mail_idx[order], ret[order], ev[order]


def _notifications_text(pop, events, run, return_id, tx_id_all, email, second, cur_codes,
                        n_cur) -> dict[str, pa.Array]:
    book = pop.book
    t, tmpl, mail_idx, ret, ev = events
    templates = [t.value for t in Template]
    all_mail = pa.concat_arrays([email, second])
    is_credit = ev >= 0
    cur_idx = book["currency_index"][np.maximum(ret, 0)]
    cur_idx[is_credit] = run.wallet_keys[run.wallet[ev[is_credit]]] % n_cur
    exps = np.array([exponent(c) for c in cur_codes], dtype=np.int64)[cur_idx]
    credit_minor = np.zeros(len(ev), dtype=np.int64)
    credit_minor[is_credit] = run.amount[ev[is_credit]]
    amount = text.money(credit_minor, exps, missing=~is_credit)
    currency = _null_where(_pick_text(list(cur_codes), cur_idx), ~is_credit)
    return {
        "notification_id": text.ids("ntf_", np.arange(len(t)) + 1, 9),
        "sent_at": text.timestamps(t),
        "customer_email": _take(all_mail, mail_idx),
        "template": _pick_text(templates, tmpl),
        "return_id": return_id(ret),
        "transaction_id": tx_id_all(ev),
        "amount": amount,
        "currency": currency,
    }


def _requests_frame(s, pop, exp, return_ids: pd.Series, row_order, cur_codes) -> pd.DataFrame:
    book = pop.book

    def ts(col: str) -> pd.Series:
        v = book[col][row_order]
        stamps = np.where(v == MISSING, np.datetime64("NaT", "s"), v.astype("datetime64[s]"))
        return pd.Series(stamps).dt.tz_localize("UTC")

    def hours(a: str, b: str) -> np.ndarray:
        x, y = book[a][row_order], book[b][row_order]
        return np.where((x == MISSING) | (y == MISSING), np.nan, (y - x) / 3600)

    frame = pd.DataFrame({
        "return_id": return_ids,
        "customer": book["customer"][row_order],
        "order": book["order"][row_order],
        "currency": pd.Categorical.from_codes(book["currency_index"][row_order], categories=list(cur_codes)),
        "status": pd.Categorical(book["status"][row_order]),
        "choice": pd.Categorical(book["choice"][row_order]),
        "resolution_type": pd.Categorical(book["resolution_type"][row_order]),
        "reason_category": pd.Categorical.from_codes(book["retailer_borne"][row_order].astype(np.int8),
                                                     categories=["customer_borne", "retailer_borne"]),
        "retailer_borne": book["retailer_borne"][row_order],
        "item_count": book["item_count"][row_order],
        "value_minor": book["value_minor"][row_order],
        "bonus_type": pd.Categorical(book["bonus_type"][row_order]),
        "bonus_rate": book["bonus_rate"][row_order],
        "bonus_offered_minor": book["bonus_offered_minor"][row_order],
        "bonus_credit_minor": book["bonus_credit_minor"][row_order],
        "fee_offered_minor": book["fee_offered_minor"][row_order],
        "fees_minor": book["fees_minor"][row_order],
        "store_credit_minor": np.where(book["choice"] == "store_credit", book["store_credit_minor"], 0)[row_order],
        "refund_to_original_minor": book["refund_to_original_minor"][row_order],
        "early_credit": book["early_credit"][row_order],
        "keep_item": book["keep_item"][row_order],
        "created_at": ts("created_at"), "reviewed_at": ts("reviewed_at"), "received_at": ts("received_at"),
        "resolved_at": ts("resolved_at"), "archived_at": ts("archived_at"),
        "review_delay_hours": hours("created_at", "reviewed_at"),
        "ship_delay_hours": hours("reviewed_at", "received_at"),
        "resolve_delay_hours": hours("received_at", "resolved_at"),
        "request_to_resolve_hours": hours("created_at", "resolved_at"),
        "expects_credit": exp.expects_credit[row_order],
        "expected_credit_minor": np.where(exp.expects_credit, exp.expected_credit, 0)[row_order],
        "expected_bonus_minor": np.where(exp.expects_credit, exp.expected_bonus, 0)[row_order],
        "fault": pd.Categorical(book["fault"][row_order]),
    })
    return frame
