"""Readers for the three reconciliation inputs: accept messy exports, refuse bad ones with evidence.

Each reader takes a path, a list of paths (overlapping exports are welcome) or a DataFrame of
contract text, and returns an :class:`InputTable`: one typed frame (money as ``int64`` minor
units, timestamps as UTC) plus what was read (file hashes, row counts, exact duplicates collapsed,
naive timestamps). Every problem in every file is collected in one pass and raised together as an
:class:`~toolkit.errors.InputError` naming the file, the column and the rows.

What is accepted: UTF-8 with or without BOM, CRLF, quoted commas and newlines, headers in any
case with spaces, dashes and underscores alike, unknown columns (kept out of the typed frame),
header aliases from ``settings.columns``, money as ``$1,234.50`` / ``USD 12.00`` / ``(20.00)``,
naive timestamps (taken in the settings' zone and counted), exact duplicate rows (collapsed).

This module owns turning text into typed columns; it must never decide what a row *means*
(roles, links and breaks belong to :mod:`toolkit.reconcile`). Money text becomes minor units only
only through :mod:`toolkit.money` (:func:`~toolkit.money.parse_money_arrow` reads whole
columns).
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from toolkit.contract import (
    LEDGER_COLUMNS,
    LEDGER_REQUIRED,
    NOTIFICATION_COLUMNS,
    RETURN_COLUMNS,
    RETURN_REQUIRED,
    BonusType,
    CreditIssueStage,
    CreditKind,
    EndReason,
    LedgerType,
    OperationType,
    ResolutionType,
    ReturnStatus,
    Template,
)
from toolkit.errors import InputError, InputProblem
from toolkit.io.text import arrow_text
from toolkit.money import CURRENCY_EXPONENTS, parse_money_arrow
from toolkit.settings import ReconcileSettings

__all__ = [
    "InputTable",
    "SourceFile",
    "normalize_header",
    "read_ledger",
    "read_notifications",
    "read_returns",
]

Source = str | Path | pd.DataFrame | Sequence[str | Path | pd.DataFrame]

#: Timestamp texts that carry their own offset; the rest are naive.
_OFFSET_SUFFIX = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
_CANONICAL_MONEY = r"^-?\d{1,15}(\.\d*)?$"
_HEADER_SEPARATORS = re.compile(r"[\s_\-]+")
_TS_UNIT = "us"


@dataclass(frozen=True)
class _Enum:
    values: frozenset[str]
    upper: bool
    allow_empty: bool


@dataclass(frozen=True)
class _Spec:
    """What one input looks like: its columns and how each is typed and checked."""

    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    nonempty: tuple[str, ...]
    key: str | None
    money: tuple[str, ...]
    timestamps: tuple[str, ...]
    enums: dict[str, _Enum] = field(default_factory=dict)
    has_currency: bool = True
    #: Cross-column rules run on the typed frame; they add problems to the same single report.
    checks: tuple[Any, ...] = ()


def _enum(values: Any, *, upper: bool = False, allow_empty: bool = False) -> _Enum:
    return _Enum(frozenset(str(v) for v in values), upper, allow_empty)


_RETURNS = _Spec(
    name="returns",
    columns=RETURN_COLUMNS,
    required=RETURN_REQUIRED,
    nonempty=(
        "return_id", "status", "currency", "return_total", "refund_to_original_amount",
        "store_credit_amount", "bonus_type", "bonus_credit_amount", "created_at",
    ),
    key="return_id",
    money=(
        "return_total", "fees_total", "refund_to_original_amount", "store_credit_amount",
        "bonus_credit_amount",
    ),
    timestamps=("created_at", "reviewed_at", "received_at", "resolved_at", "archived_at"),
    enums={
        "status": _enum(ReturnStatus),
        "resolution_type": _enum(ResolutionType, allow_empty=True),
        "bonus_type": _enum(BonusType),
        "credit_issue_stage": _enum(CreditIssueStage, allow_empty=True),
    },
    checks=(lambda f, l, p: _check_returns(f, l, p),),
)

_LEDGER = _Spec(
    name="ledger",
    columns=LEDGER_COLUMNS,
    required=LEDGER_REQUIRED,
    nonempty=(
        "transaction_id", "created_date", "wallet_id", "type", "operation_type", "amount",
        "currency", "updated_balance",
    ),
    key="transaction_id",
    money=("amount", "updated_balance"),
    timestamps=("created_date", "expiration_date"),
    enums={
        "type": _enum(LedgerType, upper=True),
        "operation_type": _enum(OperationType, upper=True),
        "credit_kind": _enum(CreditKind, allow_empty=True),
        "end_reason": _enum(EndReason, upper=True, allow_empty=True),
    },
    checks=(lambda f, l, p: _check_ledger(f, l, p),),
)

_NOTIFICATIONS = _Spec(
    name="notifications",
    columns=NOTIFICATION_COLUMNS,
    required=("template", "transaction_id"),
    nonempty=("template",),
    key=None,
    money=("amount",),
    timestamps=("sent_at",),
    enums={"template": _enum(Template)},
)


@dataclass(frozen=True)
class SourceFile:
    """One file (or frame) read for an input.

    Attributes
    ----------
    path: the path as the user gave it, or ``<DataFrame>`` for a frame.
    sha256: hash of the file's bytes (of the frame's text for a frame).
    rows: data rows in it, before duplicates were collapsed.
    """

    path: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class InputTable:
    """One input, read and typed.

    Attributes
    ----------
    frame: typed rows in file order (files in the order given), exact duplicates collapsed.
        Money columns are ``int64`` minor units (``<NA>``-free where required; optional money
        columns are nullable ``Int64``); timestamps are ``datetime64[us, UTC]``; text is ``str``.
        ``_file`` and ``_line`` say where each row came from (line as a spreadsheet numbers it).
    files: what was read, in order.
    duplicates_collapsed: rows dropped because they repeated another row exactly.
    naive_timestamps: timestamp values without an offset, read in the settings' zone.
    """

    frame: pd.DataFrame
    files: tuple[SourceFile, ...]
    duplicates_collapsed: int
    naive_timestamps: int

    @property
    def rows(self) -> int:
        return len(self.frame)

    def to_summary(self) -> dict[str, Any]:
        """The ``summary.json`` ``inputs`` entry for this input."""
        return {
            "files": [{"path": f.path, "sha256": f.sha256, "rows": f.rows} for f in self.files],
            "rows": self.rows,
            "rows_read": sum(f.rows for f in self.files),
            "duplicates_collapsed": self.duplicates_collapsed,
            "naive_timestamps": self.naive_timestamps,
        }


def normalize_header(name: str) -> str:
    """A header as the toolkit compares it: lower case, spaces, dashes and underscores alike.

    >>> normalize_header(" Return-ID "), normalize_header("customer  email")
    ('return_id', 'customer_email')
    """
    return _HEADER_SEPARATORS.sub("_", str(name).replace("\ufeff", "").strip().lower()).strip("_")


def read_returns(source: Source, settings: ReconcileSettings | None = None) -> InputTable:
    """Read PostCo return exports into a typed frame.

    Parameters
    ----------
    source: a path, several paths, or a DataFrame of contract text.
    settings: gives the zone for naive timestamps and header aliases (``[columns.returns]``).

    Returns
    -------
    InputTable whose frame has the contract's return columns typed, plus ``email_key``
    (trimmed, lower case), ``return_key`` (the id as references name it: trimmed, a leading
    ``#`` ignored), ``_file`` and ``_line``.

    Raises
    ------
    InputError
        Listing every problem: missing required columns, unparseable values, one ``return_id``
        on different rows, an empty file.

    Example
    -------
    >>> read_returns("postco_returns.csv").frame["store_credit_amount"].dtype  # doctest: +SKIP
    dtype('int64')
    """
    settings = settings or ReconcileSettings()
    table = _read(source, _RETURNS, settings, settings.columns.returns)
    table.frame["email_key"] = _email_key(table.frame["customer_email"])
    table.frame["return_key"] = normalize_reference(table.frame["return_id"])
    return table


def read_ledger(source: Source, settings: ReconcileSettings | None = None) -> InputTable:
    """Read Rise ledger exports (gift-card transaction history) into a typed frame.

    Parameters
    ----------
    source: a path, several paths, or a DataFrame of contract text.
    settings: zone for naive timestamps, header aliases (``[columns.ledger]``).

    Returns
    -------
    InputTable whose frame has the contract's ledger columns typed, plus ``email_key``,
    ``reference`` (``external_event_description`` trimmed, a leading ``#`` dropped),
    ``kind`` (``credit_kind`` or the contract's fallback rule), ``_file`` and ``_line``.

    Raises
    ------
    InputError
        Listing every problem, including one ``transaction_id`` on rows with different content
        and negative amounts (direction is ``operation_type``'s job).
    """
    settings = settings or ReconcileSettings()
    table = _read(source, _LEDGER, settings, settings.columns.ledger)
    frame = table.frame
    frame["email_key"] = _email_key(frame["customer_email"])
    frame["reference"] = normalize_reference(frame["external_event_description"])
    kind = arrow_text(frame["credit_kind"])
    # The contract's fallback rule, evaluated only on rows without a credit_kind.
    unnamed = np.flatnonzero(pc.equal(kind, "").to_numpy(zero_copy_only=False))
    if len(unnamed):
        rows = pa.array(unnamed)
        bonus = pc.or_(
            pc.ends_with(arrow_text(frame["idempotency_key"]).take(rows), ":bonus"),
            pc.match_substring_regex(arrow_text(frame["note"]).take(rows), r"(?i)\bbonus\b"),
        ).to_numpy(zero_copy_only=False)
        names = np.where(bonus, CreditKind.BONUS_CREDIT.value, CreditKind.REFUND_CREDIT.value)
        filled = np.zeros(len(frame), dtype=bool)
        filled[unnamed] = True
        spread = np.full(len(frame), "", dtype=object)
        spread[unnamed] = names
        kind = pc.if_else(pa.array(filled), pa.array(spread, type=pa.string()), kind)
    frame["kind"] = pd.Series(kind, index=frame.index, dtype=_STR)
    return table


def read_notifications(source: Source, settings: ReconcileSettings | None = None) -> InputTable:
    """Read the customer-email log into a typed frame (``template`` and ``transaction_id`` needed).

    Raises
    ------
    InputError
        Listing every problem found.
    """
    settings = settings or ReconcileSettings()
    return _read(source, _NOTIFICATIONS, settings, settings.columns.notifications)


def normalize_reference(text: pd.Series) -> pd.Series:
    """A return reference as linking compares it: trimmed, one leading ``#`` ignored."""
    return text.str.strip().str.removeprefix("#").str.strip()


def _email_key(email: pd.Series) -> pd.Series:
    return email.str.strip().str.lower()


# ----------------------------------------------------------------------------------------------
# reading text


@dataclass
class _RawFile:
    label: str
    sha256: str
    frame: pd.DataFrame | None  # contract columns as text, or None when unreadable
    missing: bool = False  # a required column is missing


def _as_sources(source: Source) -> list[str | Path | pd.DataFrame]:
    if isinstance(source, (str, Path, pd.DataFrame)):
        return [source]
    return list(source)


def _read(
    source: Source, spec: _Spec, settings: ReconcileSettings, aliases: dict[str, str]
) -> InputTable:
    problems: list[InputProblem] = []
    alias = {normalize_header(k): normalize_header(v) for k, v in aliases.items()}
    raws = [_read_one(src, spec, alias, problems) for src in _as_sources(source)]
    if not raws:
        raise InputError([InputProblem(spec.name, "", "no file given")])
    readable = [r for r in raws if r.frame is not None and not r.missing]
    if not readable:
        raise InputError(problems)
    # Unreadable files are already reported; the rest are still checked so that one message
    # lists every problem of every file.
    raws = readable

    frames = []
    for i, raw in enumerate(raws):
        f = raw.frame
        f["_file"] = np.int32(i)
        f["_line"] = np.arange(2, len(f) + 2, dtype=np.int64)
        frames.append(f)
    text = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    files = tuple(SourceFile(r.label, r.sha256, len(r.frame)) for r in raws)
    labels = [r.label for r in raws]

    text, collapsed = _collapse_duplicates(text, spec, labels, problems)
    typed, naive = _type_columns(text, spec, settings, labels, problems)
    for check in spec.checks:
        check(typed, labels, problems)
    if problems:
        raise InputError(problems)
    return InputTable(typed, files, collapsed, naive)


def _read_one(
    src: str | Path | pd.DataFrame, spec: _Spec, alias: dict[str, str],
    problems: list[InputProblem],
) -> _RawFile:
    if isinstance(src, pd.DataFrame):
        label = "<DataFrame>"
        text = src.astype("str").where(src.notna(), "") if len(src.columns) else src
        digest = hashlib.sha256(
            pd.util.hash_pandas_object(text, index=False).to_numpy().tobytes()
        ).hexdigest()
        rename, missing = _map_headers([str(c) for c in text.columns], spec, alias, label,
                                       problems)
        table = pa.table({name: arrow_text(text[header]) for header, name in rename.items()})
        padded = True
    else:
        label = str(src)
        path = Path(src)
        if not path.is_file():
            problems.append(InputProblem(label, "", "file not found"))
            return _RawFile(label, "", None)
        data = path.read_bytes()
        # hashlib releases the GIL: the file is hashed while arrow parses it.
        hashing = ThreadPoolExecutor(max_workers=1)
        digest_job = hashing.submit(lambda: hashlib.sha256(data).hexdigest())
        hashing.shutdown(wait=False)
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
            frame = frame.astype("str").where(frame.notna(), "")
            rename, missing = _map_headers([str(c) for c in frame.columns], spec, alias, label,
                                           problems)
            table = pa.table({name: arrow_text(frame[h]) for h, name in rename.items()})
            padded = True
        else:
            table, missing = _read_csv_text(data, label, spec, alias, problems)
            if table is None:
                return _RawFile(label, digest_job.result(), None)
            padded = _may_have_padding(data)
        digest = digest_job.result()
    n = table.num_rows
    columns = {}
    for col in spec.columns:
        if col in table.column_names:
            arr = table.column(col)
            # Trimming allocates a new column: only pay for it when some value may need it.
            if padded and pc.any(pc.match_substring_regex(arr, r"^\s|\s$")).as_py():
                arr = pc.utf8_trim_whitespace(arr)
            columns[col] = arr
        else:
            columns[col] = pa.repeat(pa.scalar("", type=pa.string()), n)
    # One chunk per column: later takes and lookups over millions of rows are much faster. The
    # chunks are widened to pandas' large strings first (offsets only), so the text is copied once.
    large = {
        col: pa.chunked_array(
            [c.cast(pa.large_string()) for c in
             (arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr])], type=pa.large_string())
        for col, arr in columns.items()
    }
    out = pa.table(large).combine_chunks().to_pandas(types_mapper={pa.large_string(): _STR}.get)
    return _RawFile(label, digest, out, bool(missing))


_STR = pd.StringDtype("pyarrow", na_value=np.nan)
#: Bytes next to which a space or tab would start or end a field.
_FIELD_EDGES = np.frombuffer(b',"\n\r', dtype=np.uint8)


def _may_have_padding(data: bytes) -> bool:
    """Whether some field of the file may start or end with white space.

    Looks only at the file's spaces and tabs (few in most exports) and their neighbours, with
    numpy over the raw bytes: far cheaper than a regex over every value of every column.
    """
    # Single-byte searches run at memchr speed; the two-byte one only when its last byte occurs.
    if b"\t" in data or (b"\xa0" in data and b"\xc2\xa0" in data):
        return True
    if b" " not in data:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    spaces = np.flatnonzero(raw == 32)
    before = raw[np.maximum(spaces - 1, 0)]
    after = raw[np.minimum(spaces + 1, len(raw) - 1)]
    at_edge = np.isin(before, _FIELD_EDGES) | np.isin(after, _FIELD_EDGES)
    return bool(at_edge.any() or spaces[0] == 0 or spaces[-1] == len(raw) - 1
                or (len(data) > 3 and data[3:4] == b" " and data.startswith(b"\xef\xbb\xbf")))


def _map_headers(
    headers: list[str], spec: _Spec, alias: dict[str, str], label: str,
    problems: list[InputProblem],
) -> tuple[dict[str, str], bool]:
    """``{file header: contract column}`` for the headers this input knows; records problems."""
    wanted = set(spec.columns)
    seen: dict[str, str] = {}
    rename: dict[str, str] = {}
    for header in headers:
        name = alias.get(normalize_header(header), normalize_header(header))
        if name not in wanted:
            continue  # unknown columns are kept out of the typed frame, never an error
        if name in seen:
            problems.append(InputProblem(
                label, name, f"two headers mean this column: {seen[name]!r} and {header!r}"))
            continue
        seen[name] = header
        rename[header] = name
    missing = [c for c in spec.required if c not in seen]
    for col in missing:
        problems.append(InputProblem(label, col, "missing required column"))
    return rename, bool(missing)


def _read_csv_text(
    data: bytes, label: str, spec: _Spec, alias: dict[str, str], problems: list[InputProblem],
) -> tuple[pa.Table | None, bool]:
    """The contract's columns of a CSV file as text, renamed to the contract's names.

    Only known columns are parsed. A file is read without support for line breaks inside quoted
    fields first (arrow then splits the work into blocks), and again with it if that fails.
    Returns ``(None, False)`` after recording a problem.
    """
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not body[:4096].strip() and not body.strip():  # (a whole-file copy only when blank)
        problems.append(InputProblem(label, "", "empty file without a header"))
        return None, False
    try:
        headers = pacsv.open_csv(pa.BufferReader(data)).schema.names
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        problems.append(InputProblem(label, "", f"not a readable CSV file: {exc}"))
        return None, False
    rename, missing = _map_headers(headers, spec, alias, label, problems)
    if len(set(headers)) != len(headers):
        problems.append(InputProblem(label, "", "a header appears twice"))
        return None, missing
    convert = pacsv.ConvertOptions(
        column_types={h: pa.string() for h in rename}, include_columns=list(rename),
        strings_can_be_null=False, quoted_strings_can_be_null=False,
    )
    table = None
    for newlines in (False, True):
        try:
            table = pacsv.read_csv(
                pa.BufferReader(data), read_options=pacsv.ReadOptions(block_size=1 << 24),
                parse_options=pacsv.ParseOptions(newlines_in_values=newlines),
                convert_options=convert,
            )
            break
        except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
            error = exc
    if table is None:
        problems.append(InputProblem(label, "", f"not a readable CSV file: {error}"))
        return None, missing
    return table.rename_columns([rename[h] for h in table.column_names]), missing


# ----------------------------------------------------------------------------------------------
# duplicates


def _collapse_duplicates(
    text: pd.DataFrame, spec: _Spec, labels: list[str], problems: list[InputProblem]
) -> tuple[pd.DataFrame, int]:
    """Drop exact repeats of a row; refuse one key on rows with different content."""
    content = list(spec.columns)
    if spec.key is not None:
        # Only rows whose key repeats can be duplicates: compare full content on those alone.
        # One hash pass in arrow settles the usual case (every key distinct).
        keys = arrow_text(text[spec.key])
        if _all_distinct(keys):
            return text, 0
        candidates = text[spec.key].duplicated(keep=False).to_numpy(dtype=bool, copy=True)
    else:
        candidates = np.ones(len(text), dtype=bool)
    if not candidates.any():
        return text, 0
    sub = text.loc[candidates, content]
    repeat = np.zeros(len(text), dtype=bool)
    repeat[np.flatnonzero(candidates)] = sub.duplicated(keep="first").to_numpy(dtype=bool, copy=True)
    collapsed = int(repeat.sum())
    kept = text.loc[~repeat].reset_index(drop=True) if collapsed else text
    if spec.key is not None:
        conflict = kept[spec.key].duplicated(keep=False).to_numpy(dtype=bool, copy=True)
        if conflict.any():
            _add_rows(problems, labels, kept, conflict, spec.key,
                      f"one {spec.key} on rows with different content", kept[spec.key])
    return kept, collapsed


def _all_distinct(keys: pa.Array | pa.ChunkedArray) -> bool:
    """Whether no text repeats. Ids of one length up to 16 bytes (the usual export) are packed
    into two integers and one integer mix of them is sorted: distinct mixes prove distinct ids.
    Anything else, or any repeated mix, is settled exactly by an arrow hash pass."""
    arr = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    n = len(arr)
    if n > 1 and not arr.null_count and pa.types.is_string(arr.type):
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
        width = int(offsets[1] - offsets[0])
        if 0 < width <= 16 and offsets[-1] - offsets[0] == width * n:
            data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
            packed = np.zeros((n, 16), dtype=np.uint8)
            packed[:, :width] = data.reshape(n, width)
            halves = packed.view(np.uint64)
            mix = np.sort(halves[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ halves[:, 1])
            if not (mix[1:] == mix[:-1]).any():
                return True
    return len(pc.unique(arr)) == n


# ----------------------------------------------------------------------------------------------
# typing


def _type_columns(
    text: pd.DataFrame, spec: _Spec, settings: ReconcileSettings, labels: list[str],
    problems: list[InputProblem],
) -> tuple[pd.DataFrame, int]:
    out: dict[str, pd.Series] = {col: text[col] for col in spec.columns}

    for col in spec.nonempty:
        empty = (out[col] == "").to_numpy(dtype=bool, copy=True)
        if empty.any():
            _add_rows(problems, labels, text, empty, col, "empty value in a required column")

    for col, enum in spec.enums.items():
        values = out[col].str.upper() if enum.upper else out[col].str.lower()
        ok = values.isin(enum.values).to_numpy(dtype=bool, copy=True)
        # Empty is allowed for optional enums; for required ones it was reported above.
        ok |= (values == "").to_numpy(dtype=bool)
        if not ok.all():
            _add_rows(problems, labels, text, ~ok, col,
                      f"not one of {', '.join(sorted(enum.values))}", out[col])
        out[col] = values
    if "credit_issue_stage" in spec.enums:
        out["credit_issue_stage"] = out["credit_issue_stage"].replace(
            "", CreditIssueStage.RESOLVED.value)

    if spec.has_currency:
        out["currency"] = out["currency"].str.upper()
        known = out["currency"].isin(list(CURRENCY_EXPONENTS)).to_numpy(dtype=bool, copy=True)
        given = (out["currency"] != "").to_numpy(dtype=bool, copy=True)
        if (given & ~known).any():
            _add_rows(problems, labels, text, given & ~known, "currency",
                      "unknown currency code", out["currency"])
        for col in spec.money:
            minor, bad = _parse_money(out[col], out["currency"], known)
            if bad.any():
                _add_rows(problems, labels, text, bad, col,
                          "not an amount in the row's currency", out[col])
            out[col] = minor.fillna(0).astype(np.int64) if col in spec.nonempty else minor

    naive_total = 0
    for col in spec.timestamps:
        stamps, bad, naive = _parse_timestamps(out[col], settings.timezone)
        naive_total += naive
        if bad.any():
            _add_rows(problems, labels, text, bad, col, "not an ISO 8601 timestamp", out[col])
        out[col] = stamps
    out["_file"] = text["_file"]
    out["_line"] = text["_line"]
    return pd.DataFrame(out), naive_total


def _parse_money(
    text: pd.Series, currency: pd.Series, known: np.ndarray
) -> tuple[pd.Series, np.ndarray]:
    """Minor units of each text in its row's currency; ``bad`` marks what is not money.

    :func:`toolkit.money.parse_money_arrow` converts the whole column (arrow kernels for the
    canonical shape, the scalar rules for the rest); rows of unknown currency (``~known``) are
    left empty, reported once as an unknown currency code.
    """
    minor, bad, parsed = parse_money_arrow(arrow_text(text), arrow_text(currency))
    parsed &= known
    bad &= known
    result = pd.Series(minor, index=text.index, dtype="Int64")
    if not parsed.all():
        result[~parsed] = pd.NA
    return result, bad


def _parse_timestamps(text: pd.Series, zone: str) -> tuple[pd.Series, np.ndarray, int]:
    """UTC timestamps; naive texts are read in ``zone``. Returns (stamps, bad mask, naive count)."""
    n = len(text)
    empty = (text == "").to_numpy(dtype=bool, copy=True)
    result = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[{_TS_UNIT}, UTC]")
    bad = np.zeros(n, dtype=bool)
    if empty.all():
        return result, bad, 0
    arr = arrow_text(text)
    # Most exports write UTC as "Z": a suffix test settles those; the regex runs on the rest.
    zulu = pc.ends_with(arr, "Z").to_numpy(zero_copy_only=False)
    aware = zulu.copy()
    if not zulu[~empty].all():
        rest = np.flatnonzero(~zulu & ~empty)
        aware[rest] = pc.match_substring_regex(
            arr.take(pa.array(rest)), _OFFSET_SUFFIX).to_numpy(zero_copy_only=False)
    aware &= ~empty
    naive = ~aware & ~empty
    values = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    for mask, tz in ((aware, "UTC"), (naive, None)):
        if not mask.any():
            continue
        idx = np.flatnonzero(mask)
        part = arr.take(pa.array(idx))
        try:
            cast = pc.cast(part, pa.timestamp(_TS_UNIT, tz=tz))
            stamps = pd.Series(cast.to_numpy(zero_copy_only=False))
            if tz is None:
                stamps = stamps.astype(f"datetime64[{_TS_UNIT}]")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Rare shapes arrow does not read ("2026-03-10T11:02Z"): pandas' ISO 8601 parser,
            # which also pinpoints the rows that are no timestamp at all.
            raw = pd.Series(part.to_numpy(zero_copy_only=False), dtype=object)
            stamps = pd.to_datetime(raw, format="ISO8601", errors="coerce", utc=tz is not None)
            bad[idx[stamps.isna().to_numpy()]] = True
        if tz is None:
            stamps = stamps.dt.tz_localize(
                zone, ambiguous=np.zeros(len(stamps), dtype=bool), nonexistent="shift_forward")
        else:
            stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps
        stamps = stamps.dt.tz_convert("UTC").dt.as_unit(_TS_UNIT)
        ints = stamps.to_numpy(dtype="datetime64[us]").view(np.int64)
        values[idx] = ints
    result = pd.Series(values.view(f"datetime64[{_TS_UNIT}]"), index=text.index).dt.tz_localize("UTC")
    return result, bad, int((naive & ~bad).sum())


# ----------------------------------------------------------------------------------------------
# evidence


def _add_rows(
    problems: list[InputProblem], labels: list[str], frame: pd.DataFrame, mask: np.ndarray,
    column: str, problem: str, values: pd.Series | None = None,
) -> None:
    """One :class:`InputProblem` per file holding rows where ``mask`` is true."""
    idx = np.flatnonzero(mask)
    files = frame["_file"].to_numpy()[idx]
    lines = frame["_line"].to_numpy()[idx]
    vals = values.to_numpy(dtype=object)[idx] if values is not None else None
    for f in np.unique(files):
        sel = files == f
        order = np.argsort(lines[sel], kind="stable")
        rows = tuple(int(x) for x in lines[sel][order])
        shown = tuple(str(v) for v in vals[sel][order][:20]) if vals is not None else ()
        problems.append(InputProblem(labels[int(f)], column, problem, rows, shown))


def _check_returns(frame: pd.DataFrame, labels: list[str], problems: list[InputProblem]) -> None:
    """The contract makes ``resolved_at`` required for a resolved return; early credit needs the
    review time, since that is when the credit falls due."""
    resolved = frame["status"].eq(ReturnStatus.RESOLVED).to_numpy(dtype=bool, copy=True)
    early = (
        frame["credit_issue_stage"].eq(CreditIssueStage.REVIEWED)
        & frame["status"].isin([ReturnStatus.REVIEWED, ReturnStatus.RECEIVED, ReturnStatus.RESOLVED])
    ).to_numpy(dtype=bool, copy=True)
    for condition, column, problem in (
        (resolved, "resolved_at", "empty although the status is resolved"),
        (early, "reviewed_at", "empty although credit is released at review (early credit)"),
    ):
        missing = condition & frame[column].isna().to_numpy(dtype=bool, copy=True)
        if missing.any():
            _add_rows(problems, labels, frame, missing, column, problem, frame["return_id"])


def _check_ledger(frame: pd.DataFrame, labels: list[str], problems: list[InputProblem]) -> None:
    """Ledger amounts are never negative: the direction is ``operation_type``'s."""
    negative = (frame["amount"] < 0).to_numpy(dtype=bool, copy=True)
    if negative.any():
        _add_rows(problems, labels, frame, negative, "amount",
                  "negative amount (the direction is operation_type's)", frame["amount"].astype(str))
