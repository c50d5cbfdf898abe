"""The reconciliation pipeline: read, expect, link, classify, roll forward, tabulate, summarize.

Owns the order of the stages and the effective settings of a run (``as_of`` included). Each
stage is a module of its own; this one only wires them and logs progress on stderr. It must never
write files (that is :meth:`ReconciliationResult.write`) nor print to stdout.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from toolkit.contract import BREAK_KEY, BreakReason, Severity
from toolkit.errors import ConfigError, InputError
from toolkit.io.memory import ordinary_pages
from toolkit.io.readers import InputTable, Source, read_ledger, read_notifications, read_returns
from toolkit.io.text import Codes, arrow_memory, join_groups, prepare_soon
from toolkit.progress import stage
from toolkit.reconcile.balances import roll_forward
from toolkit.reconcile.classify import BREAK_FRAME_COLUMNS, classify
from toolkit.reconcile.link import NO, epoch_us, expect, link
from toolkit.reconcile.result import ReconciliationResult
from toolkit.reconcile.summary import RunFacts, build_summary
from toolkit.reconcile.tables import (
    REASON_ORDER,
    balances_table,
    breaks_table,
    currency_exponents,
    iso_utc,
    ledger_order,
    ledger_table,
    returns_table,
)
from toolkit.settings import ReconcileSettings, load_settings

__all__ = ["reconcile", "resolve_as_of"]


def reconcile(
    returns: Source | InputTable,
    ledger: Source | InputTable,
    notifications: Source | InputTable | None = None,
    *,
    settings: ReconcileSettings | None = None,
    config: str | Path | None = None,
    as_of: str | datetime | pd.Timestamp | None = None,
) -> ReconciliationResult:
    """Reconcile PostCo returns against the Rise store-credit ledger.

    Parameters
    ----------
    returns, ledger, notifications: a path, several paths, or a DataFrame of contract text
        each (or an already read :class:`~toolkit.io.readers.InputTable`).
    settings: the settings; else read from ``config`` (TOML); else the contract's defaults.
    config: a TOML settings file, used when ``settings`` is not given.
    as_of: the moment described (overrides the settings'); naive means the settings' zone.

    Returns
    -------
    ReconciliationResult, frozen; ``.write(out_dir)`` writes the output folder.

    Raises
    ------
    InputError
        When an input is refused (every problem listed).
    ConfigError
        When the settings are invalid.

    Example
    -------
    >>> result = reconcile("postco_returns.csv", "rise_ledger.csv", as_of="2026-03-31T23:59:59Z")
    ... # doctest: +SKIP
    >>> result.exit_status  # doctest: +SKIP
    1
    """
    if settings is None:
        settings = load_settings(config)
    with arrow_memory(), ordinary_pages():
        return _reconcile(returns, ledger, notifications, settings, as_of)


def _reconcile(
    returns: Source | InputTable, ledger: Source | InputTable,
    notifications: Source | InputTable | None, settings: ReconcileSettings,
    as_of: str | datetime | pd.Timestamp | None,
) -> ReconciliationResult:
    with stage("reading inputs"):
        r_in, l_in, n_in = _read_all(returns, ledger, notifications, settings)
    R, L = r_in.frame, l_in.frame
    as_of_us = resolve_as_of(as_of if as_of is not None else settings.as_of, settings, R, L)

    with stage("linking credits to returns"):
        # Expectations (returns only) are worked out on the other core while linking starts.
        with ThreadPoolExecutor(max_workers=1) as pool:
            exp_job = pool.submit(expect, R, settings)
            links = link(R, L, exp_job.result, settings)
            exp = exp_job.result()
    with stage("classifying breaks"):
        frames, state = classify(R, L, exp, links, settings, as_of_us,
                                 n_in.frame if n_in is not None else None)
    with stage("rolling balances forward"):
        bal = roll_forward(L, links)
        frames.extend(bal.breaks)
    with stage("tabulating outputs"):
        # Only orders and codes are made here (the text when written). Sorting the ledger and
        # encoding its currencies go to other threads first (numpy and arrow release the GIL).
        with ThreadPoolExecutor(max_workers=2) as pool:
            ledger_rows = pool.submit(ledger_order, L, links)
            ledger_currency = pool.submit(currency_exponents, L["currency"])
            typed = pd.concat([f for f in frames if len(f)] or [frames[0]], ignore_index=True)
            typed = typed.loc[:, list(BREAK_FRAME_COLUMNS)]
            breaks_text, typed = breaks_table(typed, R, L, exp, links,
                                              settings.issue_window_hours, as_of_us)
            return_reasons, row_reasons, broken_rows = _reasons(typed, len(R), len(L))
            returns_text = returns_table(R, exp, state, return_reasons)
            balances_text = balances_table(bal.wallets)
            ledger_text = ledger_table(L, R, links, row_reasons, broken_rows,
                                       ledger_rows.result(), ledger_currency.result())
        # Their once-per-column work (encodings) goes on in the background while the summary
        # is made; writing waits for what it needs.
        prepare_soon([returns_text, ledger_text, balances_text])
    with stage("summarizing"):
        effective = settings.to_json_dict()
        effective["as_of"] = iso_utc(np.array([as_of_us]))[0]
        summary = build_summary(RunFacts(
            settings=effective, as_of_us=as_of_us, returns_input=r_in, ledger_input=l_in,
            notifications_input=n_in, returns=R, ledger=L, exp=exp, links=links, state=state,
            typed_breaks=typed, breaks_text=breaks_text, returns_text=returns_text,
            ledger_text=ledger_text, wallets=bal.wallets, zone=settings.timezone,
        ))
    serious = typed["severity"].isin([Severity.HIGH.value, Severity.MEDIUM.value]).any()
    return ReconciliationResult(
        breaks=breaks_text, returns=returns_text, ledger=ledger_text, balances=balances_text,
        summary=summary, exit_status=int(bool(serious)), typed_breaks=typed,
    )


def _read_all(
    returns: Source | InputTable, ledger: Source | InputTable,
    notifications: Source | InputTable | None, settings: ReconcileSettings,
) -> tuple[InputTable, InputTable, InputTable | None]:
    """Read the inputs side by side (arrow parsing releases the GIL) and refuse them together:
    one :class:`InputError` lists the problems of every input, not only the first one's."""
    def read(source: Source | InputTable | None, reader) -> InputTable | None:
        if source is None or isinstance(source, InputTable):
            return source
        return reader(source, settings)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(read, source, reader) for source, reader in (
            (returns, read_returns), (ledger, read_ledger), (notifications, read_notifications))]
    problems = []
    tables = []
    for future in futures:
        try:
            tables.append(future.result())
        except InputError as exc:
            problems.extend(exc.problems)
            tables.append(None)
    if problems:
        raise InputError(problems)
    return tables[0], tables[1], tables[2]


def resolve_as_of(
    value: str | datetime | pd.Timestamp | None, settings: ReconcileSettings,
    returns: pd.DataFrame, ledger: pd.DataFrame,
) -> int:
    """The moment described, in microseconds since the epoch (UTC).

    Given: parsed as ISO 8601; naive means the settings' zone. Not given: the latest timestamp in
    the return export (any lifecycle time) and the ledger (``created_date``).

    Raises
    ------
    ConfigError
        When the text is not a timestamp.
    """
    if value is not None:
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise ConfigError(f"as_of: not an ISO 8601 timestamp: {value!r}") from None
        if stamp is pd.NaT:
            raise ConfigError(f"as_of: not a timestamp: {value!r}")
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(settings.timezone)
        return int(stamp.tz_convert("UTC").value) // 1000
    latest = NO
    for column in ("created_at", "reviewed_at", "received_at", "resolved_at", "archived_at"):
        latest = max(latest, int(epoch_us(returns[column]).max(initial=NO)))
    latest = max(latest, int(epoch_us(ledger["created_date"]).max(initial=NO)))
    return latest if latest != NO else 0


def _reasons(typed: pd.DataFrame, n: int, m: int) -> tuple[Codes, Codes, np.ndarray]:
    """``|``-joined reasons per return (return-keyed) and per ledger row (any naming it), as
    codes (few distinct texts); and which ledger rows a break names."""
    reason = typed["reason"].to_numpy(dtype=object)
    order = np.array([REASON_ORDER[x] for x in reason], dtype=np.int64)
    by_return = np.array([BREAK_KEY[BreakReason(x)] == "return" for x in reason], dtype=bool)
    r = typed["r"].to_numpy(dtype=np.int64)
    li = typed["li"].to_numpy(dtype=np.int64)

    def joined(owner: np.ndarray, mask: np.ndarray, size: int) -> Codes:
        codes = np.zeros(size, dtype=np.int32)
        names = [""]
        sel = mask & (owner != NO)
        if sel.any():
            rank = np.lexsort((order[sel], owner[sel]))
            owners, texts = join_groups(pa.array(reason[sel][rank], type=pa.string()),
                                        owner[sel][rank])
            combos, inverse = np.unique(texts.to_numpy(zero_copy_only=False).astype(str),
                                        return_inverse=True)
            names += [str(c) for c in combos]
            codes[owners] = inverse + 1
        return Codes(codes, names)

    broken = np.zeros(m, dtype=bool)
    broken[li[li != NO]] = True
    return joined(r, by_return, n), joined(li, np.ones(len(li), dtype=bool), m), broken
