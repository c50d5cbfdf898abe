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

How: a large file is mapped rather than copied, hashed in the background while arrow parses it
in parallel blocks, and typed column by column in arrow and numpy (two columns at a time; both
release the GIL). Enumerations and currency codes are checked once per distinct value, parsed
columns never have their text joined, and byte-level tests skip work that would change nothing
(trimming text without edge spaces, lower-casing text without capitals).

This module owns turning text into typed columns; it must never decide what a row *means*
(roles, links and breaks belong to :mod:`toolkit.reconcile`). Money text becomes minor units
only through :mod:`toolkit.money` (:func:`~toolkit.money.parse_money_arrow` reads whole
columns).
"""

from __future__ import annotations

import hashlib
import mmap
import os
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
    #: Free text with few distinct values (issuers): kept as a ``category`` column, unchecked.
    few: tuple[str, ...] = ()
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
    few=("issuer", "issuer_id"),
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
        columns are nullable ``Int64``); timestamps are ``datetime64[us, UTC]``; enumerations,
        currency codes, issuers and ``kind`` are ``category`` columns of ``str`` values (a
        small code per row); other text is ``str``.
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
    frame = table.frame
    frame["email_key"] = _text_series(_email_key(_column_text(frame["customer_email"])))
    frame["return_key"] = _text_series(_reference(_column_text(frame["return_id"])))
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
    frame["email_key"] = _text_series(_email_key(_column_text(frame["customer_email"])))
    frame["reference"] = _text_series(
        _reference(_column_text(frame["external_event_description"])))
    # The contract's fallback rule, evaluated only on rows without a credit_kind. A read
    # credit_kind is one of the two kinds or empty, so the result has two values: it is kept as
    # one flag per row.
    credit_kind = frame["credit_kind"]
    bonus = (credit_kind == CreditKind.BONUS_CREDIT.value).to_numpy(dtype=bool, copy=True)
    unnamed = (credit_kind == "").to_numpy(dtype=bool)
    if unnamed.any():
        rows = np.flatnonzero(unnamed)
        picked = pa.array(rows)
        key = _column_text(frame["idempotency_key"])
        note = _column_text(frame["note"])
        if _has_text(key):
            bonus[rows] |= pc.ends_with(key.take(picked), ":bonus").to_numpy(
                zero_copy_only=False)
        if _has_text(note):
            bonus[rows] |= pc.match_substring_regex(
                note.take(picked), r"(?i)\bbonus\b").to_numpy(zero_copy_only=False)
    kinds = pd.CategoricalDtype(pd.Index(
        [CreditKind.REFUND_CREDIT.value, CreditKind.BONUS_CREDIT.value], dtype=_STR))
    frame["kind"] = pd.Series(pd.Categorical.from_codes(bonus.view(np.int8), dtype=kinds),
                              copy=False)
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


def _reference(text: pa.Array) -> pa.Array:
    """:func:`normalize_reference` of arrow text: the kernels pandas runs, skipped where the
    bytes prove them no-ops."""
    text = _trimmed(text)
    if not _any_byte_in(text, (ord("#"), ord("#"))):
        return text
    prefixed = pc.starts_with(text, pattern="#")
    return _trimmed(pc.if_else(prefixed, pc.utf8_slice_codeunits(text, 1), text))


def _email_key(email: pa.Array) -> pa.Array:
    """Emails as matching compares them: trimmed, lower case (``.str.strip().str.lower()``)."""
    email = _trimmed(email)
    # Only A-Z and multi-byte characters can change under lower-casing.
    if _any_byte_in(email, (ord("A"), ord("Z")), (0x80, 0xFF)):
        email = pc.utf8_lower(email)
    return email


# ----------------------------------------------------------------------------------------------
# columns of text
#
# A column is read as a list of arrow chunks (one or more per file): plain text (``string`` as
# the CSV parser gives it, half the offsets of ``large_string``), or dictionary-encoded text for
# the few-valued columns the parser encodes while it parses (enumerations, currency codes).
# Parsed columns (money, timestamps) are read chunk by chunk and never joined; text that stays
# in the frame is joined into one ``large_string`` array (what pandas' ``str`` holds; later
# takes and lookups over millions of rows are much faster on one chunk).

_LARGE = pa.large_string()
_CODED = pa.dictionary(pa.int32(), pa.string())
_STR = pd.StringDtype("pyarrow", na_value=np.nan)
#: Rows per block of byte-level numpy work: small temporaries are reused warm instead of being
#: allocated (and page-faulted) afresh for millions of rows.
_BLOCK = 1 << 16

Chunks = list[pa.Array]


def _dense(chunk: pa.Array) -> pa.Array:
    """A chunk as plain text (a dictionary-encoded one decoded)."""
    if pa.types.is_dictionary(chunk.type):
        return chunk.dictionary.cast(_LARGE).take(chunk.indices)
    return chunk


def _one_chunk(chunks: Chunks | pa.Array | pa.ChunkedArray) -> pa.Array:
    """One ``large_string`` array of text chunks, the characters copied once at most.

    Several chunks are joined with numpy (its large buffers come in huge pages: far fewer page
    faults than millions of fresh 4 KiB pages), the offsets rebased chunk by chunk.
    """
    if isinstance(chunks, pa.ChunkedArray):
        chunks = chunks.chunks
    elif isinstance(chunks, pa.Array):
        chunks = [chunks]
    chunks = [_dense(c) for c in chunks]
    if len(chunks) == 1 or any(c.null_count for c in chunks):
        joined = chunks[0] if len(chunks) == 1 else pa.concat_arrays(
            [c.cast(_LARGE) for c in chunks])
        return joined if joined.type == _LARGE else joined.cast(_LARGE)
    n = sum(len(c) for c in chunks)
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    parts, row, base = [], 0, 0
    for chunk in chunks:
        where, chars = _string_buffers(chunk)
        size = len(chunk)
        block = offsets[row + 1:row + 1 + size]
        block[:] = where[1:]
        block += base - int(where[0])
        parts.append(chars[int(where[0]):int(where[-1])])
        row += size
        base += int(where[-1] - where[0])
    data = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _empty_text(n: int) -> pa.Array:
    """``n`` empty texts (a column the input does not have): offsets only, all zero."""
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(np.zeros(n + 1, dtype=np.int64)),
                                            pa.py_buffer(b""))


def _chunked(chunks: Chunks) -> pa.ChunkedArray:
    """Plain text chunks as one chunked array (no copy unless their types differ)."""
    dense = [_dense(c) for c in chunks]
    kinds = {c.type for c in dense}
    if len(kinds) == 1:
        return pa.chunked_array(dense)
    return pa.chunked_array([c.cast(_LARGE) for c in dense], type=_LARGE)


def _column_text(column: pd.Series) -> pa.Array:
    """A ``str`` column of the frame as one arrow ``large_string`` array, without a copy."""
    return _one_chunk(pa.array(column.array))


def _text_series(text: pa.Array) -> pd.Series:
    """Arrow text as a pandas ``str`` column (the array is wrapped, not copied)."""
    return pd.Series(_STR.__from_arrow__(text), copy=False)


def _string_buffers(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The ``n + 1`` offsets (absolute) and the character bytes of a string array."""
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(text.buffers()[1], dtype=width)[text.offset:
                                                            text.offset + len(text) + 1]
    data = text.buffers()[2]
    chars = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets, chars


def _lengths(text: pa.Array) -> np.ndarray:
    """Bytes per value (``0`` is the empty text)."""
    offsets, _ = _string_buffers(text)
    return np.diff(offsets)


def _empty_rows(chunks: Chunks) -> np.ndarray:
    """Where the text is empty, for plain or dictionary-encoded chunks."""
    parts = []
    for chunk in chunks:
        if pa.types.is_dictionary(chunk.type):
            per_value = _lengths(chunk.dictionary) == 0
            parts.append(per_value[chunk.indices.to_numpy(zero_copy_only=False)]
                         if per_value.any() else np.zeros(len(chunk), dtype=bool))
        else:
            offsets, _ = _string_buffers(chunk)
            parts.append(offsets[1:] == offsets[:-1])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _has_text(text: pa.Array) -> bool:
    """Whether any value is not empty."""
    offsets, _ = _string_buffers(text)
    return bool(len(text)) and bool(offsets[-1] != offsets[0])


def _any_byte_in(text: pa.Array, *ranges: tuple[int, int]) -> bool:
    """Whether some character byte of the values falls in one of the inclusive ``ranges``."""
    offsets, chars = _string_buffers(text)
    if not len(text):
        return False
    data = chars[int(offsets[0]):int(offsets[-1])]
    step = 1 << 20
    for start in range(0, len(data), step):
        part = data[start:start + step]
        for low, high in ranges:
            if ((part - np.uint8(low)) <= np.uint8(high - low)).any():
                return True
    return False


def _edge_bytes_in(text: pa.Array, table: np.ndarray) -> bool:
    """Whether the first or the last byte of some non-empty value is marked in ``table`` (a
    ``bool`` lookup of the 256 byte values)."""
    offsets, chars = _string_buffers(text)
    if not len(chars):
        return False
    n = len(text)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        begin, end = offsets[start:stop], offsets[start + 1:stop + 1]
        filled = end != begin
        first = chars.take(begin, mode="clip")
        final = chars.take(end - 1, mode="clip")
        if ((table[first] | table[final]) & filled).any():
            return True
    return False


#: Bytes that may be (part of) white space: all but printable ASCII other than the space
#: (controls and multi-byte characters may be spaces). Text whose values neither start nor end
#: with one has nothing to trim.
_MAY_BE_SPACE = np.ones(256, dtype=bool)
_MAY_BE_SPACE[0x21:0x7F] = False
#: What ``\s`` matches (RE2): a value starting or ending with one of these gets trimmed.
_SPACE_BYTES = np.zeros(256, dtype=bool)
_SPACE_BYTES[[9, 10, 12, 13, 32]] = True


def _trimmed(text: pa.Array) -> pa.Array:
    """``text`` without leading and trailing white space (``pc.utf8_trim_whitespace``, which
    pandas' ``.str.strip()`` runs), skipped when no value starts or ends with a byte that could
    be white space."""
    return pc.utf8_trim_whitespace(text) if _edge_bytes_in(text, _MAY_BE_SPACE) else text


# ----------------------------------------------------------------------------------------------
# reading text


@dataclass
class _RawFile:
    label: str
    sha256: str
    #: contract columns as text chunks, or None when unreadable
    columns: dict[str, Chunks] | None
    rows: int = 0
    missing: bool = False  # a required column is missing


def _as_sources(source: Source) -> list[str | Path | pd.DataFrame]:
    if isinstance(source, (str, Path, pd.DataFrame)):
        return [source]
    return list(source)


@dataclass
class _Text:
    """The rows of an input as text: chunks per contract column, and where each row came from
    (``file``: index into the labels; ``line``: as a spreadsheet numbers it)."""

    columns: dict[str, Chunks]
    file: np.ndarray
    line: np.ndarray

    def joined(self, col: str) -> pa.Array:
        """The column as one ``large_string`` array (joined once, then kept)."""
        chunks = self.columns[col]
        if len(chunks) != 1 or chunks[0].type != _LARGE:
            self.columns[col] = chunks = [_one_chunk(chunks)]
        return chunks[0]


def _read(
    source: Source, spec: _Spec, settings: ReconcileSettings, aliases: dict[str, str]
) -> InputTable:
    problems: list[InputProblem] = []
    alias = {normalize_header(k): normalize_header(v) for k, v in aliases.items()}
    raws = [_read_one(src, spec, alias, problems) for src in _as_sources(source)]
    if not raws:
        raise InputError([InputProblem(spec.name, "", "no file given")])
    readable = [r for r in raws if r.columns is not None and not r.missing]
    if not readable:
        raise InputError(problems)
    # Unreadable files are already reported; the rest are still checked so that one message
    # lists every problem of every file.
    raws = readable

    text = _Text(
        {col: [c for r in raws for c in r.columns[col]] for col in spec.columns},
        np.repeat(np.arange(len(raws), dtype=np.int32), [r.rows for r in raws]),
        np.concatenate([np.arange(2, r.rows + 2, dtype=np.int64) for r in raws])
        if len(raws) > 1 else np.arange(2, raws[0].rows + 2, dtype=np.int64),
    )
    files = tuple(SourceFile(r.label, r.sha256, r.rows) for r in raws)
    labels = [r.label for r in raws]
    for r in raws:
        r.columns = None  # the chunks live on in ``text`` alone, and die with their use

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
        data = _file_bytes(path)
        # hashlib releases the GIL: the file is hashed (and searched for white space) while
        # arrow parses it.
        hashing = ThreadPoolExecutor(max_workers=1)
        digest_job = hashing.submit(lambda: hashlib.sha256(data).hexdigest())
        padding_job = hashing.submit(_may_have_padding, data)
        hashing.shutdown(wait=False)
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
            frame = frame.astype("str").where(frame.notna(), "")
            rename, missing = _map_headers([str(c) for c in frame.columns], spec, alias, label,
                                           problems)
            table = pa.table({name: arrow_text(frame[h]) for h, name in rename.items()})
            padding_job.result()
            padded = True
        else:
            table, missing = _read_csv_text(data, label, spec, alias, problems)
            if table is None:
                return _RawFile(label, digest_job.result(), None)
            padded = padding_job.result()
        digest = digest_job.result()
    n = table.num_rows
    columns = {}
    empty = None  # one array of empty texts serves every column the input lacks
    for col in spec.columns:
        if col in table.column_names:
            chunks = table.column(col).chunks
            # Trimming allocates a new column: only pay for it when some value needs it.
            if padded and any(_edge_bytes_in(c.dictionary if pa.types.is_dictionary(c.type)
                                             else c, _SPACE_BYTES) for c in chunks):
                chunks = [pc.utf8_trim_whitespace(_dense(c)) for c in chunks]
            columns[col] = chunks
        else:
            if empty is None:
                empty = _empty_text(n)
            columns[col] = [empty]
    return _RawFile(label, digest, columns, n, bool(missing))


#: Files from this size on are mapped rather than copied into memory.
_MAP_FROM = 1 << 20


def _file_bytes(path: Path) -> bytes | mmap.mmap:
    """The bytes of a file. A large file is mapped read-only with its pages brought in by one
    call (no copy of hundreds of megabytes, no page fault per 4 KiB); the CSV parser copies
    what it keeps, so the mapping is dropped with the last reference to it."""
    with open(path, "rb") as fh:
        populate = getattr(mmap, "MAP_POPULATE", None)
        if populate is not None and os.fstat(fh.fileno()).st_size >= _MAP_FROM:
            try:
                return mmap.mmap(fh.fileno(), 0, flags=mmap.MAP_SHARED | populate,
                                 prot=mmap.PROT_READ)
            except (OSError, ValueError):
                pass  # a file system that cannot map: read it like a small file
        return fh.read()


#: Bytes next to which a space or tab would start or end a field.
_FIELD_EDGES = np.frombuffer(b',"\n\r', dtype=np.uint8)


def _may_have_padding(data: bytes | mmap.mmap) -> bool:
    """Whether some field of the file may start or end with white space.

    Looks only at the file's spaces and tabs (few in most exports) and their neighbours, with
    numpy over the raw bytes: far cheaper than a regex over every value of every column.
    """
    # Single-byte searches run at memchr speed; the two-byte one only when its last byte occurs.
    if data.find(b"\t") >= 0 or (data.find(b"\xa0") >= 0 and data.find(b"\xc2\xa0") >= 0):
        return True
    if data.find(b" ") < 0:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    spaces = np.flatnonzero(raw == 32)
    before = raw[np.maximum(spaces - 1, 0)]
    after = raw[np.minimum(spaces + 1, len(raw) - 1)]
    at_edge = np.isin(before, _FIELD_EDGES) | np.isin(after, _FIELD_EDGES)
    return bool(at_edge.any() or spaces[0] == 0 or spaces[-1] == len(raw) - 1
                or (len(data) > 3 and data[3:4] == b" " and data[:3] == _BOM))


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


_BOM = b"\xef\xbb\xbf"


def _read_csv_text(
    data: bytes | mmap.mmap, label: str, spec: _Spec, alias: dict[str, str],
    problems: list[InputProblem],
) -> tuple[pa.Table | None, bool]:
    """The contract's columns of a CSV file as text, renamed to the contract's names.

    Only known columns are parsed; enumerations and currency codes come dictionary-encoded
    (the parser's threads do that work). A file is read without support for line breaks inside
    quoted fields first (arrow then splits the work into blocks), and again with it if that
    fails. Returns ``(None, False)`` after recording a problem.
    """
    body = memoryview(data)[3:] if data[:3] == _BOM else memoryview(data)
    if not bytes(body[:4096]).strip() and not bytes(body).strip():  # (a copy only when blank)
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
    coded = set(spec.enums) | set(spec.few) | ({"currency"} if spec.has_currency else set())
    convert = pacsv.ConvertOptions(
        column_types={h: _CODED if name in coded else pa.string() for h, name in rename.items()},
        include_columns=list(rename), strings_can_be_null=False,
        quoted_strings_can_be_null=False,
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
    text: _Text, spec: _Spec, labels: list[str], problems: list[InputProblem]
) -> tuple[_Text, int]:
    """Drop exact repeats of a row; refuse one key on rows with different content."""
    content = list(spec.columns)
    n = len(text.file)
    if spec.key is not None:
        # Only rows whose key repeats can be duplicates: compare full content on those alone.
        # One pass settles the usual case (every key distinct).
        keys = text.joined(spec.key)
        if _all_distinct(keys):
            return text, 0
        candidates = _text_series(keys).duplicated(keep=False).to_numpy(dtype=bool, copy=True)
    else:
        candidates = np.ones(n, dtype=bool)
    if not candidates.any():
        return text, 0
    rows = np.flatnonzero(candidates)
    picked = pa.array(rows)
    sub = pd.DataFrame({c: _text_series(text.joined(c).take(picked)) for c in content})
    repeat = np.zeros(n, dtype=bool)
    repeat[rows] = sub.duplicated(keep="first").to_numpy(dtype=bool, copy=True)
    collapsed = int(repeat.sum())
    if collapsed:
        kept = pa.array(~repeat)
        text = _Text({c: [text.joined(c).filter(kept)] for c in text.columns},
                     text.file[~repeat], text.line[~repeat])
    if spec.key is not None:
        keys = text.joined(spec.key)
        conflict = _text_series(keys).duplicated(keep=False).to_numpy(dtype=bool, copy=True)
        if conflict.any():
            _add_rows(problems, labels, text, conflict, spec.key,
                      f"one {spec.key} on rows with different content", keys)
    return text, collapsed


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _all_distinct(keys: pa.Array) -> bool:
    """Whether no text repeats.

    Ids of one length up to 16 bytes (the usual export) are read as two 64-bit words (the
    first and the last eight bytes, which together cover the id): ids in increasing order (many
    exports are sorted) are distinct; otherwise one integer mix of the words is sorted, and
    distinct mixes prove distinct ids. Anything else, or any repeated mix, is settled exactly
    by an arrow hash pass.
    """
    n = len(keys)
    if n > 1 and not keys.null_count:
        offsets, chars = _string_buffers(keys)
        width = int(offsets[1] - offsets[0])
        if 0 < width <= 16 and offsets[-1] - offsets[0] == width * n:
            data = chars[offsets[0]:offsets[-1]]
            if width >= 8:
                # Read through unaligned strided views, byte-swapped once into native words.
                head = np.ndarray((n,), dtype=">u8", buffer=data, strides=(width,))
                tail = np.ndarray((n,), dtype=">u8", buffer=data, offset=width - 8,
                                  strides=(width,)).astype(np.uint64)
                head = head.astype(np.uint64)
            else:
                packed = np.zeros((n, 8), dtype=np.uint8)
                packed[:, :width] = data.reshape(n, width)
                head = packed.view(">u8")[:, 0].astype(np.uint64)
                tail = np.zeros(n, dtype=np.uint64)
            if (head[1:] >= head[:-1]).all():
                ties = head[1:] == head[:-1]
                if not ties.any() or (tail[1:][ties] > tail[:-1][ties]).all():
                    return True
            mix = head * _MIX
            mix ^= tail
            mix.sort()
            if not (mix[1:] == mix[:-1]).any():
                return True
    return len(pc.unique(keys)) == n


# ----------------------------------------------------------------------------------------------
# typing


@dataclass
class _Coded:
    """A few-valued text column as its distinct values and one code per row."""

    dictionary: pa.Array
    codes: np.ndarray

    @classmethod
    def of(cls, chunks: Chunks) -> _Coded:
        if not any(pa.types.is_dictionary(c.type) or _has_text(c) for c in chunks):
            # A column the input lacks (or leaves blank throughout): nothing to hash.
            n = sum(len(c) for c in chunks)
            return cls(pa.array([""], type=_LARGE), np.zeros(n, dtype=np.int32))
        types = {c.type for c in chunks}
        if len(types) == 1 and pa.types.is_dictionary(next(iter(types))):
            unified = pa.chunked_array(chunks).unify_dictionaries()
            dictionary = unified.chunk(0).dictionary.cast(_LARGE)
            codes = [c.indices.to_numpy(zero_copy_only=False) for c in unified.chunks]
            return cls(dictionary, np.concatenate(codes) if len(codes) != 1 else codes[0])
        encoded = pc.dictionary_encode(_one_chunk(chunks))
        return cls(encoded.dictionary.cast(_LARGE),
                   encoded.indices.to_numpy(zero_copy_only=False))

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        """A per-distinct-value array spread to the rows."""
        return per_value[self.codes]

    def text(self, dictionary: pa.Array | None = None) -> pa.Array:
        """The rows' text (under a new ``dictionary`` of the same distinct values if given)."""
        dictionary = self.dictionary if dictionary is None else dictionary
        if len(dictionary) == 1 and not _has_text(dictionary):
            return _empty_text(len(self.codes))
        return dictionary.take(pa.array(self.codes))

    def take(self, rows: pa.Array) -> pa.Array:
        """The original text of some rows."""
        return self.dictionary.take(pa.array(self.codes).take(rows))


    def categorical(self, dictionary: pa.Array | None = None) -> pd.Series:
        """The rows as a pandas ``category`` column of ``str`` categories (under a new
        ``dictionary`` of the same distinct values if given; values it makes equal merge).
        A few-valued column stays a small code per row: no text per row is made."""
        dictionary = self.dictionary if dictionary is None else dictionary
        names, per_value = np.unique(np.array(dictionary.to_pylist(), dtype=object).astype(str),
                                     return_inverse=True)
        code_type = np.int8 if len(names) < 128 else np.int32
        codes = per_value.astype(code_type)[self.codes]
        return pd.Series(pd.Categorical.from_codes(
            codes, dtype=pd.CategoricalDtype(pd.Index(names, dtype=_STR))), copy=False)


@dataclass
class _Enumerated:
    """An enumeration checked and brought to its case: the rows (a ``category`` column) and the
    bad rows."""

    values: pd.Series
    bad: np.ndarray | None
    original: _Coded


def _enumerate(chunks: Chunks, enum: _Enum, fill: str | None) -> _Enumerated:
    """Check an enumeration column once per distinct value (``fill`` replaces empty values)."""
    coded = _Coded.of(chunks)
    values = pc.utf8_upper(coded.dictionary) if enum.upper else pc.utf8_lower(coded.dictionary)
    # Empty is allowed for optional enums; for required ones it is reported as empty.
    ok = (pc.is_in(values, value_set=pa.array(sorted(enum.values), type=_LARGE))
          .to_numpy(zero_copy_only=False) | (_lengths(values) == 0))
    if fill is not None:
        values = pc.if_else(pc.equal(values, ""), pa.scalar(fill, type=_LARGE), values)
    return _Enumerated(coded.categorical(values), None if ok.all() else ~coded.rows(ok), coded)


@dataclass
class _Currency:
    """Currency codes in upper case, each row's exponent (``-1``: unknown) and what was given."""

    values: pa.Array
    exps: np.ndarray
    given: np.ndarray
    column: pd.Series


def _currencies(chunks: Chunks) -> _Currency:
    coded = _Coded.of(chunks)
    codes = pc.utf8_upper(coded.dictionary)
    exps = np.array([CURRENCY_EXPONENTS.get(c, -1) for c in codes.to_pylist()], dtype=np.int8)
    return _Currency(coded.text(codes), coded.rows(exps), coded.rows(_lengths(codes) != 0),
                     coded.categorical(codes))


def _money(chunks: Chunks, ccy: _Currency, required: bool
           ) -> tuple[pd.Series, np.ndarray, pa.Array | None]:
    """A money column in minor units (``int64`` when required, else nullable ``Int64``), the
    rows that are not an amount in their (known) currency, and those rows' text."""
    n = sum(len(c) for c in chunks)
    minor = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    parsed = np.zeros(n, dtype=bool)
    start = 0
    for chunk in chunks:
        stop = start + len(chunk)
        minor[start:stop], bad[start:stop], parsed[start:stop] = parse_money_arrow(
            _dense(chunk), ccy.values.slice(start, len(chunk)), exponents=ccy.exps[start:stop])
        start = stop
    minor[~parsed] = 0
    column = minor if required else pd.arrays.IntegerArray(minor, ~parsed)
    return pd.Series(column, copy=False), bad, _rows_text(_chunked(chunks), bad)


def _money_columns(columns: dict[str, Chunks], ccy: _Currency, spec: _Spec
                   ) -> dict[str, tuple[pd.Series, np.ndarray, pa.Array | None]]:
    """:func:`_money` of several columns in turn, each column's text dropped once parsed."""
    return {col: _money(columns.pop(col), ccy, col in spec.nonempty) for col in list(columns)}


def _stamps(chunks: Chunks, zone: str) -> tuple[pd.Series, np.ndarray, int, pa.Array | None]:
    """:func:`_parse_timestamps` of a column, and the text of the rows that are no timestamp."""
    stamps, bad, naive = _parse_timestamps(chunks, zone)
    return stamps, bad, naive, _rows_text(_chunked(chunks), bad)


def _rows_text(text: pa.Array | pa.ChunkedArray, mask: np.ndarray) -> pa.Array | None:
    """The text of the rows in ``mask`` (``None`` when there are none)."""
    return text.take(pa.array(np.flatnonzero(mask))) if mask.any() else None


def _type_columns(
    text: _Text, spec: _Spec, settings: ReconcileSettings, labels: list[str],
    problems: list[InputProblem],
) -> tuple[pd.DataFrame, int]:
    """The typed frame, its columns converted side by side (arrow kernels and numpy release
    the GIL); problems are then reported in a fixed order: empty values, enumerations,
    currency codes, money, timestamps.

    A parsed column's text is handed to its job and dropped with it: the memory is reused by
    the columns converted after it instead of being freshly allocated.
    """
    raw = text.columns
    empty = {col: _empty_rows(raw[col]) for col in spec.nonempty}
    with ThreadPoolExecutor(max_workers=2) as pool:
        ccy_job = pool.submit(_currencies, raw.pop("currency")) if spec.has_currency else None
        stamp_jobs = {col: pool.submit(_stamps, raw.pop(col), settings.timezone)
                      for col in spec.timestamps}
        ccy = ccy_job.result() if ccy_job is not None else None
        # Money columns are parsed one after the other in one job: their many small numpy steps
        # would otherwise take turns on the GIL, while the arrow kernels of the other jobs
        # hardly need it.
        money_job = pool.submit(_money_columns, {col: raw.pop(col) for col in spec.money},
                                ccy, spec) if ccy is not None else None
        enum_jobs = {col: pool.submit(
            _enumerate, raw.pop(col), enum,
            CreditIssueStage.RESOLVED.value if col == "credit_issue_stage" else None)
            for col, enum in spec.enums.items()}
        few_jobs = {col: pool.submit(lambda c: _Coded.of(c).categorical(), raw.pop(col))
                    for col in spec.few}
        text_jobs = {col: pool.submit(text.joined, col) for col in list(raw)}

        for col in spec.nonempty:
            if empty[col].any():
                _add_rows(problems, labels, text, empty[col], col,
                          "empty value in a required column")
        out: dict[str, Any] = {col: job.result() for col, job in text_jobs.items()}
        out.update({col: job.result() for col, job in few_jobs.items()})
        for col, enum in spec.enums.items():
            found = enum_jobs[col].result()
            if found.bad is not None:
                _add_rows(problems, labels, text, found.bad, col,
                          f"not one of {', '.join(sorted(enum.values))}", found.original)
            out[col] = found.values
        if ccy is not None:
            out["currency"] = ccy.column
            unknown = ccy.given & (ccy.exps < 0)
            if unknown.any():
                _add_rows(problems, labels, text, unknown, "currency",
                          "unknown currency code", ccy.values)
            money = money_job.result()
            for col in spec.money:
                out[col], bad, shown = money.pop(col)
                if shown is not None:
                    _add_rows(problems, labels, text, bad, col,
                              "not an amount in the row's currency", shown=shown)
        naive_total = 0
        for col in spec.timestamps:
            out[col], bad, naive, shown = stamp_jobs[col].result()
            naive_total += naive
            if shown is not None:
                _add_rows(problems, labels, text, bad, col, "not an ISO 8601 timestamp",
                          shown=shown)
    frame = {col: _text_series(v) if isinstance(v, pa.Array) else v
             for col, v in ((c, out[c]) for c in spec.columns)}
    frame["_file"] = pd.Series(text.file, copy=False)
    frame["_line"] = pd.Series(text.line, copy=False)
    return pd.DataFrame(frame, copy=False), naive_total


_NO_TIME = np.iinfo(np.int64).min


def _parse_timestamps(chunks: Chunks, zone: str) -> tuple[pd.Series, np.ndarray, int]:
    """UTC timestamps; naive texts are read in ``zone``. Returns (stamps, bad mask, naive count)."""
    column = _chunked(chunks)
    n = len(column)
    empty = _empty_rows(chunks)
    bad = np.zeros(n, dtype=bool)
    values = np.full(n, _NO_TIME, dtype=np.int64)
    naive_count = 0
    if not empty.all():
        # Most exports write UTC as "Z": a suffix test settles those; the regex runs on the rest.
        zulu = pc.ends_with(column, "Z").to_numpy(zero_copy_only=False)
        aware = zulu.copy()
        if not (zulu | empty).all():
            rest = np.flatnonzero(~zulu & ~empty)
            aware[rest] = pc.match_substring_regex(
                column.take(pa.array(rest)), _OFFSET_SUFFIX).to_numpy(zero_copy_only=False)
        aware &= ~empty
        naive = ~aware & ~empty
        for mask, tz in ((aware, "UTC"), (naive, None)):
            if mask.any():
                _read_stamps(column, mask, tz, zone, values, bad)
        naive_count = int((naive & ~bad).sum())
    stamps = pd.Series(values.view(f"datetime64[{_TS_UNIT}]"), copy=False).dt.tz_localize("UTC")
    return stamps, bad, naive_count


def _read_stamps(column: pa.ChunkedArray, mask: np.ndarray, tz: str | None, zone: str,
                 values: np.ndarray, bad: np.ndarray) -> None:
    """Microseconds (UTC) of the rows in ``mask`` into ``values``; unreadable ones into ``bad``.

    ``tz`` is ``"UTC"`` for texts that carry their offset, ``None`` for naive ones (read in
    ``zone``). Arrow reads all those rows in one cast (the other rows hidden behind a validity
    mask rather than copied out); if it refuses one, pandas reads them all.
    """
    try:
        if mask.all():
            part = column
        else:
            chunks, start = [], 0
            for chunk in column.chunks:
                valid = np.concatenate([np.zeros(chunk.offset, dtype=bool),
                                        mask[start:start + len(chunk)]])
                chunks.append(pa.Array.from_buffers(
                    chunk.type, len(chunk),
                    [pa.array(valid).buffers()[1], chunk.buffers()[1], chunk.buffers()[2]],
                    offset=chunk.offset))
                start += len(chunk)
            part = pa.chunked_array(chunks, type=column.type)
        cast = pc.cast(part, pa.timestamp(_TS_UNIT, tz=tz)).to_numpy(zero_copy_only=False)
        if tz is not None:
            if mask.all():
                values[:] = cast.view(np.int64)
            else:
                values[mask] = cast.view(np.int64)[mask]
            return
        stamps = pd.Series(cast[mask]).astype(f"datetime64[{_TS_UNIT}]")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Rare shapes arrow does not read ("2026-03-10T11:02Z"): pandas' ISO 8601 parser,
        # which also pinpoints the rows that are no timestamp at all.
        idx = np.flatnonzero(mask)
        raw = pd.Series(column.take(pa.array(idx)).to_numpy(zero_copy_only=False), dtype=object)
        stamps = pd.to_datetime(raw, format="ISO8601", errors="coerce", utc=tz is not None)
        bad[idx[stamps.isna().to_numpy()]] = True
    if tz is None:
        stamps = stamps.dt.tz_localize(
            zone, ambiguous=np.zeros(len(stamps), dtype=bool), nonexistent="shift_forward")
    else:
        stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps
    stamps = stamps.dt.tz_convert("UTC").dt.as_unit(_TS_UNIT)
    values[mask] = stamps.to_numpy(dtype=f"datetime64[{_TS_UNIT}]").view(np.int64)


# ----------------------------------------------------------------------------------------------
# evidence


def _add_rows(
    problems: list[InputProblem], labels: list[str], rows: _Text | pd.DataFrame,
    mask: np.ndarray, column: str, problem: str,
    values: pa.Array | pa.ChunkedArray | _Coded | pd.Series | None = None,
    shown: pa.Array | None = None,
) -> None:
    """One :class:`InputProblem` per file holding rows where ``mask`` is true; their values are
    taken from ``values`` (all rows) or given as ``shown`` (the masked rows only)."""
    idx = np.flatnonzero(mask)
    if isinstance(rows, _Text):
        files, lines = rows.file[idx], rows.line[idx]
    else:
        files, lines = rows["_file"].to_numpy()[idx], rows["_line"].to_numpy()[idx]
    if values is not None and not isinstance(values, pd.Series):
        shown = values.take(pa.array(idx))
    if shown is not None:
        vals = np.empty(len(idx), dtype=object)
        vals[:] = shown.to_pylist()
    elif values is not None:
        vals = values.to_numpy(dtype=object)[idx]
    else:
        vals = None
    for f in np.unique(files):
        sel = files == f
        order = np.argsort(lines[sel], kind="stable")
        found = tuple(int(x) for x in lines[sel][order])
        sample = tuple(str(v) for v in vals[sel][order][:20]) if vals is not None else ()
        problems.append(InputProblem(labels[int(f)], column, problem, found, sample))


def _check_returns(frame: pd.DataFrame, labels: list[str], problems: list[InputProblem]) -> None:
    """The contract makes ``resolved_at`` required for a resolved return; early credit needs the
    review time, since that is when the credit falls due."""
    resolved = frame["status"].eq(ReturnStatus.RESOLVED).to_numpy(dtype=bool, copy=True)
    early = (
        frame["credit_issue_stage"].eq(CreditIssueStage.REVIEWED)
        & frame["status"].isin([ReturnStatus.REVIEWED, ReturnStatus.RECEIVED,
                                ReturnStatus.RESOLVED])
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
                  "negative amount (the direction is operation_type's)",
                  frame["amount"].astype(str))
