"""Columnar text: timestamps and CSV written at the speed of arrow kernels.

The reconciler writes millions of timestamps and rows. This module produces their text for whole
columns without a Python object per value: :func:`iso_utc_arrow` the contract's UTC timestamps,
and :func:`write_csv_text` the bytes of :func:`toolkit.io.output.write_csv` for a frame of text
(UTF-8, ``\\n``, minimal quoting like pandas); money text is :mod:`toolkit.money`'s
(:func:`~toolkit.money.format_minor_arrow`).

A :class:`TextTable` is a file's text before it exists: named columns held as what they are
(:class:`Codes` of few distinct values, :class:`Money` in minor units, :class:`Stamps` in
microseconds, :class:`Fixed` text already there, :class:`Taken` text of another table's rows)
and the order its rows are written in. :func:`write_text_tables` formats slices of rows on two
threads while it writes them, so no file's whole text is ever in memory, and the same bytes come
out as from pandas' ``to_csv`` of :meth:`TextTable.to_pandas`. Tests hold each function equal to
its scalar or pandas original on random input.

It must never decide what a value means or which columns a file has.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "NO_TIME", "Codes", "Fixed", "Money", "Stamps", "Taken", "TextColumn", "TextTable",
    "arrow_memory", "arrow_text", "decode", "encode", "index_in", "is_in", "iso_utc_arrow",
    "join_groups", "prepare_soon", "source_text", "write_csv_text", "write_text_tables",
]

#: Marker of "no timestamp" in microsecond arrays.
NO_TIME = -1
#: pandas (``lineterminator="\n"``) quotes a field holding the separator, a quote or ``\n``.
_NEEDS_QUOTES = r'[",\n]'
_SPECIAL_BYTES = (b",", b'"', b"\n")


@contextmanager
def arrow_memory() -> Iterator[None]:
    """Arrow allocates from jemalloc inside the block (the previous default pool after it).

    Millions of rows mean many short-lived buffers of hundreds of megabytes. With this machine's
    default pool (mimalloc) every such buffer is returned to the system and faulted in again:
    copies of a 370 MB ledger took three times as long, and a million-return reconciliation
    about 12 s more. jemalloc keeps freed pages for reuse. Buffers remember their pool, so
    leaving the block is safe. Falls back to the current pool where jemalloc is not built in.

    Example
    -------
    >>> with arrow_memory():
    ...     _ = pa.array(["a"])
    """
    previous = pa.default_memory_pool()
    try:
        pool = pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        pool = previous
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def arrow_text(
    values: pd.Series | np.ndarray | pa.Array | pa.ChunkedArray,
) -> pa.Array | pa.ChunkedArray:
    """A text column as arrow strings (chunks kept as they are), without a Python object per
    value when the column is already arrow-backed (pandas ``str``)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, pd.Series):
        try:
            arr = pa.array(values.array)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            arr = pa.array(values.to_numpy(dtype=object), type=pa.string())
    else:
        arr = pa.array(np.asarray(values, dtype=object), type=pa.string())
    if pa.types.is_dictionary(arr.type):  # a category column: its text, decoded
        arr = arr.dictionary.take(arr.indices)
    if arr.type == pa.large_string():
        arr = arr.cast(pa.string())
    return arr.fill_null("") if arr.null_count else arr


def _flat(values: object) -> pa.Array:
    arr = arrow_text(values)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def encode(*columns: object) -> list[np.ndarray]:
    """Integer codes of text columns over one shared dictionary (equal text, equal code).

    One arrow hash pass: the "factorize string keys once" step of every join and grouping.
    """
    arrays = [_flat(c) for c in columns]
    joined = pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]
    indices = pc.dictionary_encode(joined).indices.to_numpy(zero_copy_only=False)
    indices = indices.astype(np.int64)
    out, start = [], 0
    for arr in arrays:
        out.append(indices[start:start + len(arr)])
        start += len(arr)
    return out


def index_in(values: object, value_set: object) -> np.ndarray:
    """Position of each value in ``value_set`` (its first occurrence), ``-1`` when absent."""
    found = pc.index_in(_flat(values), value_set=_flat(value_set))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def join_groups(values: pa.Array, owner: np.ndarray, separator: str = "|"
                ) -> tuple[np.ndarray, pa.Array]:
    """``separator``-joined ``values`` per owner, for ``owner`` sorted (groups contiguous).

    Returns the distinct owners and their joined text, in arrow (a list array joined by one
    kernel), so thousands of groups cost no Python loop.
    """
    owner = np.asarray(owner, dtype=np.int64)
    if not len(owner):
        return owner, pa.array([], type=pa.string())
    start = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    offsets = pa.array(np.r_[start, len(owner)].astype(np.int32))
    values = _flat(values)
    lists = pa.ListArray.from_arrays(offsets, values)
    return owner[start], pc.binary_join(lists, pa.scalar(separator, type=values.type))


def decode(codes: np.ndarray, names: list[str]) -> pa.Array:
    """Text of small integer ``codes`` (indices into ``names``): one string per row, built in
    arrow from a dictionary instead of millions of Python strings."""
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(names, type=pa.string()))
    return dictionary.cast(pa.string())


def is_in(values: pd.Series | pa.Array, value_set: pd.Series | pa.Array) -> np.ndarray:
    """Boolean mask: which ``values`` are in ``value_set`` (text; one hash pass in arrow, fast
    even when the set has millions of values)."""
    mask = pc.is_in(arrow_text(values), value_set=arrow_text(value_set))
    return mask.to_numpy(zero_copy_only=False).astype(bool)


def iso_utc_arrow(us: np.ndarray, fraction: bool | None = None) -> pa.Array:
    """Microseconds since the epoch as ``2026-03-10T03:03:12Z``; :data:`NO_TIME` -> ``""``.

    Seconds are the precision unless a value has a fraction; then every value of the column is
    written with microseconds, so a column has one shape. ``fraction`` fixes that choice (a
    column written a slice of rows at a time decides it once, from all its values).

    Every value has the same width, so the text is laid out in a numpy byte matrix from lookup
    tables (the date of each distinct day, ``HH:MM:SS`` of each second of a day, three digits of
    each millisecond) and handed to arrow as one string array: no per-value formatting.

    Example
    -------
    >>> iso_utc_arrow(np.array([1_773_111_792_000_000, -1])).to_pylist()
    ['2026-03-10T03:03:12Z', '']
    """
    us = np.asarray(us, dtype=np.int64)
    missing = us == NO_TIME
    if fraction is None:
        fraction = bool((us[~missing] % 1_000_000).any())
    n = len(us)
    width = 27 if fraction else 20
    if n == 0 or n * width >= 2**31:
        return _iso_utc_kernels(us, fraction)
    any_missing = bool(missing.any())
    if any_missing:
        if missing.all():
            return pa.StringArray.from_buffers(n, pa.py_buffer(np.zeros(n + 1, dtype=np.int32)),
                                               pa.py_buffer(b""), None, 0)
        # Missing rows borrow a present value (their text is dropped), so the days to write
        # span only the present ones.
        values = np.where(missing, us[np.argmin(missing)], us)
    else:
        values = us
    lo, hi = int(values.min()), int(values.max())
    if lo < _FIRST_US or hi >= _END_US:
        return _iso_utc_kernels(us, fraction)
    days = values // _US_PER_DAY
    rest = values - days * _US_PER_DAY
    seconds = rest // 1_000_000
    first, span = int(days.min()), int(days.max() - days.min()) + 1
    # Fields of 1, 2, 4 and 8 bytes only: numpy copies those as integers (odd widths go
    # through a slow generic copy).
    rows = np.empty(n, dtype=_STAMP_FRACTION if fraction else _STAMP)
    if span <= 4 * n + 1024:
        # Few distinct days (the usual case): each day's text once, then gathered.
        text = np.datetime_as_string(np.arange(first, first + span).astype("datetime64[D]"))
        at = days - first
    else:
        text = np.datetime_as_string(days.astype("datetime64[D]"))
        at = slice(None)
    date = np.frombuffer(text.astype("S10").tobytes(), dtype=np.uint8).reshape(-1, 10)
    rows["ymd"] = np.ascontiguousarray(date[:, :8]).view("<u8").ravel()[at]
    rows["dd"] = np.ascontiguousarray(date[:, 8:]).view("<u2").ravel()[at]
    rows["t"] = ord("T")
    rows["time"] = _seconds_of_day()[seconds]
    if fraction:
        micro = rest - seconds * 1_000_000
        milli = micro // 1000
        rows["milli"] = _fraction_digits()[0][milli]
        rows["micro"] = _fraction_digits()[1][micro - milli * 1000]
    else:
        rows["z"] = ord("Z")
    if any_missing:
        rows = rows.view(f"V{width}")[~missing]  # as opaque records: a plain copy per row
        lengths = np.where(missing, 0, width).astype(np.int32)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
    else:
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(rows.view(np.uint8)),
                                       None, 0)


_US_PER_DAY = 86_400_000_000
#: The years written with four digits (0001..9999); others go through arrow's own cast.
_FIRST_US = -62_135_596_800_000_000
_END_US = 253_402_300_800_000_000
_STAMP = np.dtype([("ymd", "<u8"), ("dd", "<u2"), ("t", "u1"), ("time", "<u8"), ("z", "u1")])
_STAMP_FRACTION = np.dtype([("ymd", "<u8"), ("dd", "<u2"), ("t", "u1"), ("time", "<u8"),
                            ("milli", "<u4"), ("micro", "<u4")])
_TABLES: dict[str, np.ndarray] = {}


def _seconds_of_day() -> np.ndarray:
    """``HH:MM:SS`` of each second of a day (86,400 values of 8 bytes, built once)."""
    if "seconds" not in _TABLES:
        s = np.arange(86_400)
        h, m, sec = s // 3600, s // 60 % 60, s % 60
        digits = np.stack([h // 10, h % 10, m // 10, m % 10, sec // 10, sec % 10], axis=1) + 48
        text = np.full((86_400, 8), ord(":"), dtype=np.uint8)
        text[:, [0, 1, 3, 4, 6, 7]] = digits
        _TABLES["seconds"] = text.view("<u8").ravel()
    return _TABLES["seconds"]


def _fraction_digits() -> tuple[np.ndarray, np.ndarray]:
    """``.000`` .. ``.999`` and ``000Z`` .. ``999Z`` (4 bytes each): milli- and microseconds."""
    if "milli" not in _TABLES:
        k = np.arange(1000)
        digits = (np.stack([k // 100, k // 10 % 10, k % 10], axis=1) + 48).astype(np.uint8)
        dot = np.full((1000, 1), ord("."), dtype=np.uint8)
        zed = np.full((1000, 1), ord("Z"), dtype=np.uint8)
        _TABLES["milli"] = np.ascontiguousarray(np.hstack([dot, digits])).view("<u4").ravel()
        _TABLES["micro"] = np.ascontiguousarray(np.hstack([digits, zed])).view("<u4").ravel()
    return _TABLES["milli"], _TABLES["micro"]


def _iso_utc_kernels(us: np.ndarray, fraction: bool) -> pa.Array:
    """:func:`iso_utc_arrow` through arrow's timestamp cast (any year; the reference)."""
    missing = us == NO_TIME
    if fraction:
        stamps = pa.array(np.where(missing, 0, us), type=pa.timestamp("us"))
    else:
        stamps = pa.array(np.where(missing, 0, us) // 1_000_000, type=pa.timestamp("s"))
    text = pc.replace_substring(pc.cast(stamps, pa.string()), " ", "T", max_replacements=1)
    text = pc.binary_join_element_wise(text, "Z", "")
    if missing.any():
        text = pc.if_else(pa.array(missing), "", text)
    return text


def _text_bytes(column: pa.Array) -> memoryview | None:
    """The character bytes of a string array's values (its own range of a shared buffer)."""
    if not len(column) or column.buffers()[2] is None:
        return None
    wide = column.type == pa.large_string()
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64 if wide else np.int32,
                            count=len(column) + 1, offset=(8 if wide else 4) * column.offset)
    return memoryview(column.buffers()[2])[int(offsets[0]):int(offsets[-1])]


def _may_need_quotes(column: pa.Array | pa.ChunkedArray) -> bool:
    """Whether any value may hold a comma, a quote or a line break: a byte search of the
    column's characters (memchr speed), far cheaper than a regex over every value."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        data = _text_bytes(chunk)
        if data is None:
            continue
        # A megabyte at a time: each piece copied (to search it at memchr speed) into
        # memory that is reused, never a copy of the whole column.
        for start in range(0, len(data), 1 << 20):
            raw = bytes(data[start:start + (1 << 20)])
            if any(byte in raw for byte in _SPECIAL_BYTES):
                return True
    return False


def _quoted(column: pa.Array) -> pa.Array:
    """Minimal quoting, as pandas' ``to_csv`` does it."""
    if not _may_need_quotes(column):
        return column
    needs = pc.match_substring_regex(column, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return column
    escaped = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs, escaped, column)


# -- Text tables: the text of an output file, made a slice of rows at a time ------------------

#: Which rows a column is asked for: a slice of the input rows, or their positions.
Rows = slice | np.ndarray


class TextColumn:
    """A column of text made on demand for any rows, from typed values (codes, integers,
    timestamps) or from text already there. ``plain``: no value can need CSV quoting."""

    plain: bool = False

    def text(self, rows: Rows) -> pa.Array:
        """The text of ``rows`` (``string`` array, no nulls)."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Work done once for all rows (before slices are made on several threads)."""


class Fixed(TextColumn):
    """Text already made (an arrow string array; ``""`` for missing), or a function giving it
    when first needed (text another stage may make on demand).

    Example
    -------
    >>> Fixed(["R-2", "R-1"]).text(np.array([1])).to_pylist()
    ['R-1']
    """

    def __init__(self, values: object) -> None:
        self._lock = threading.Lock()
        self._source = values
        self._values: pa.Array | None = None
        self._plain = False

    @property
    def values(self) -> pa.Array:
        with self._lock:
            if self._values is None:
                source = self._source() if callable(self._source) else self._source
                values = source_text(source)
                if values.type == pa.large_string() and _fits_string(values):
                    values = values.cast(pa.string())  # once, not each slice after picking
                # Whether any value needs quoting: one byte scan of the column, so that clean
                # columns (nearly all) skip the check slice by slice.
                self._plain = not _holds_special_bytes(values)
                self._values, self._source = values, None
            return self._values

    @property
    def plain(self) -> bool:  # type: ignore[override]
        _ = self.values
        return self._plain

    def prepare(self) -> None:
        _ = self.values

    def text(self, rows: Rows) -> pa.Array:
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(len(self.values))
            picked = self.values.slice(start, stop - start)
        else:
            picked = self.values.take(pa.array(rows))
        return picked if picked.type == pa.string() else picked.cast(pa.string())


_SPECIAL = np.zeros(256, dtype=bool)
_SPECIAL[[ord(","), ord('"'), ord("\n")]] = True


def _holds_special_bytes(values: pa.Array, step: int = 1 << 20) -> bool:
    """Whether the text holds a comma, a quote or a line break: a table lookup per byte, a
    megabyte at a time (numpy releases the GIL; temporaries stay small and reused)."""
    data = _text_bytes(values)
    if data is None:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    return any(_SPECIAL[raw[start:start + step]].any() for start in range(0, len(raw), step))


def _fits_string(values: pa.Array) -> bool:
    data = _text_bytes(values)
    return data is None or len(data) < 2**31 - 1


def source_text(values: object) -> pa.Array:
    """A text column as one arrow array of ``string`` or ``large_string`` (as held: pandas
    keeps ``large_string``, and casting millions of values costs a copy), ``""`` for missing."""
    if isinstance(values, pd.Series):
        try:
            arr = pa.array(values.array)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            arr = arrow_text(values)
    elif isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values
    else:
        arr = arrow_text(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type not in (pa.string(), pa.large_string()):
        arr = arr.cast(pa.string())
    return arr.fill_null("") if arr.null_count else arr


class Taken(TextColumn):
    """Text of another table's rows: row ``i`` is ``source[positions[i]]``, ``""`` where the
    position is negative (no such row)."""

    def __init__(self, source: object, positions: np.ndarray) -> None:
        self.source = Fixed(source)
        self.positions = np.asarray(positions, dtype=np.int64)
        self._lock = threading.Lock()
        self._padded: tuple[pa.Array, np.ndarray] | None = None

    @property
    def plain(self) -> bool:  # type: ignore[override]
        return self.source.plain

    def prepare(self) -> None:
        with self._lock:
            if self._padded is None:
                # The source with one empty value after its last, which rows without a source
                # row point at: picked without nulls to fill afterwards.
                values = self.source.values
                padded = pa.concat_arrays([values, pa.array([""], type=values.type)])
                self._padded = padded, np.where(self.positions < 0, len(values), self.positions)

    def text(self, rows: Rows) -> pa.Array:
        self.prepare()
        padded, positions = self._padded
        picked = padded.take(pa.array(positions[rows]))
        return picked if picked.type == pa.string() else picked.cast(pa.string())


class Codes(TextColumn):
    """Few distinct values: small integer ``codes`` into ``names``. Made from a text column
    (:meth:`of`), the column is encoded when first needed, once."""

    def __init__(self, codes: np.ndarray, names: list[str]) -> None:
        self._lock = threading.Lock()
        self._source: object = None
        self._set(codes, names)

    def _set(self, codes: np.ndarray, names: list[str]) -> None:
        self._codes = np.asarray(codes)
        self._names = [str(x) for x in names]
        self._plain = not any(ch in name for name in self._names for ch in ',"\n')

    @classmethod
    def of(cls, values: object) -> Codes:
        """The codes of a text column (one hash pass in arrow, when first needed; a
        ``category`` column's own codes at once)."""
        from toolkit.io.keys import categories

        coded = categories(values)
        if coded is not None:
            return cls(*coded)
        column = cls(np.zeros(0, dtype=np.int32), [])
        column._source = values
        return column

    @classmethod
    def flags(cls, mask: np.ndarray) -> Codes:
        """``true`` / ``false``."""
        return cls(np.asarray(mask, dtype=bool).view(np.uint8), ["false", "true"])

    def prepare(self) -> None:
        with self._lock:
            if self._source is not None:
                self._set(*_encode_few(source_text(self._source)))
                self._source = None

    @property
    def codes(self) -> np.ndarray:
        self.prepare()
        return self._codes

    @property
    def names(self) -> list[str]:
        self.prepare()
        return self._names

    @property
    def plain(self) -> bool:  # type: ignore[override]
        self.prepare()
        return self._plain

    def text(self, rows: Rows) -> pa.Array:
        return decode(self.codes[rows], self.names)


def _encode_few(values: pa.Array, sample: int = 4096) -> tuple[np.ndarray, list[str]]:
    """Codes and names of a column of few distinct values. The names are guessed from the
    first rows and each value looked up among them (a small hash table, about twice as fast as
    building the dictionary); a value outside the guess means encoding the whole column."""
    guess = pc.unique(values.slice(0, sample))
    if len(guess) <= 256:
        found = pc.index_in(values, value_set=guess)
        if not found.null_count:
            return found.to_numpy(zero_copy_only=False), guess.to_pylist()
    encoded = pc.dictionary_encode(values)
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()


class Stamps(TextColumn):
    """Timestamps (microseconds, :data:`NO_TIME` for none) as :func:`iso_utc_arrow` writes
    them; whether the column carries fractions is decided once, from all its values."""

    plain = True

    def __init__(self, us: np.ndarray) -> None:
        self.us = np.asarray(us, dtype=np.int64)
        self._fraction: bool | None = None

    def prepare(self) -> None:
        if self._fraction is None:
            self._fraction = _has_fraction(self.us)

    def text(self, rows: Rows) -> pa.Array:
        self.prepare()
        return iso_utc_arrow(self.us[rows], self._fraction)


def _has_fraction(us: np.ndarray, step: int = 1 << 16) -> bool:
    """Whether any timestamp has a fraction of a second: slice by slice (small temporaries,
    and the first slice with one settles it)."""
    for start in range(0, len(us), step):
        part = us[start:start + step]
        if (part % 1_000_000)[part != NO_TIME].any():
            return True
    return False


class Money(TextColumn):
    """Minor units as money text (:func:`toolkit.money.format_minor_arrow`), with the
    exponent of each row; ``missing`` rows are empty.

    Amounts repeat (a shop has a few thousand prices, wallets many zeros), so each distinct
    (amount, exponent) is formatted once and rows pick their text by integer code: one hash
    pass over integers instead of formatting every row.
    """

    plain = True

    def __init__(self, minor: np.ndarray, exponents: np.ndarray,
                 missing: np.ndarray | None = None) -> None:
        self.minor = np.asarray(minor, dtype=np.int64)
        self.exponents = np.broadcast_to(np.asarray(exponents, dtype=np.int64), self.minor.shape)
        self.missing = None if missing is None or not np.any(missing) \
            else np.asarray(missing, dtype=bool)
        self._lock = threading.Lock()
        self._distinct: tuple[np.ndarray, pa.Array] | None = None

    def prepare(self) -> None:
        with self._lock:
            if self._distinct is None:
                self._distinct = self._encode()

    def _encode(self) -> tuple[np.ndarray, pa.Array]:
        from toolkit.money import format_minor_arrow

        minor, exps = self.minor, self.exponents
        base = int(exps.max(initial=0)) + 1
        if self.missing is not None or not len(minor) or int(exps.min()) < 0 or \
                max(-int(minor.min()), int(minor.max())) >= (2**62) // base:
            return np.zeros(0, dtype=np.int32), pa.array([], type=pa.string())
        # One integer per (amount, exponent); floor division takes it apart again.
        keys = np.multiply(minor, base)
        keys += exps
        encoded = pc.dictionary_encode(pa.array(keys))
        del keys
        keys = encoded.dictionary.to_numpy(zero_copy_only=False)
        return (encoded.indices.to_numpy(zero_copy_only=False),
                format_minor_arrow(keys // base, keys % base))

    def dictionary(self) -> tuple[np.ndarray, pa.Array] | None:
        """The code of each row and the text of each distinct amount (``None`` when the
        column is formatted row by row)."""
        self.prepare()
        codes, distinct = self._distinct
        return (codes, distinct) if len(codes) == len(self.minor) else None

    def text(self, rows: Rows) -> pa.Array:
        from toolkit.money import format_minor_arrow

        self.prepare()
        codes, distinct = self._distinct
        if len(codes) != len(self.minor):  # not encoded: missing values or huge amounts
            missing = None if self.missing is None else self.missing[rows]
            return format_minor_arrow(self.minor[rows], self.exponents[rows], missing)
        return distinct.take(pa.array(codes[rows]))


class TextTable:
    """The text of a table, made on demand: named :class:`TextColumn` s over the input rows
    and the ``order`` in which they are written (``None``: as they are).

    Nothing is formatted until asked for: :meth:`to_pandas` makes every column at once,
    :func:`write_text_tables` a slice of rows at a time, so a file's text never exists whole.

    Example
    -------
    >>> table = TextTable({"id": Fixed(["b", "a"]), "ok": Codes.flags(np.array([1, 0]))},
    ...                   order=np.array([1, 0]))
    >>> table.to_pandas()["ok"].tolist()
    ['false', 'true']
    """

    def __init__(self, columns: dict[str, TextColumn], order: np.ndarray | None = None,
                 rows: int | None = None) -> None:
        self.columns = dict(columns)
        self.order = None if order is None else np.asarray(order, dtype=np.int64)
        if rows is None:
            rows = len(self.order) if self.order is not None else _length(
                next(iter(self.columns.values()), None))
        self.rows = int(rows)
        self._lock = threading.Lock()
        self._cells: list[TextColumn] | None = None
        self._started = False  # its preparation is under way in the background

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> TextTable:
        """A frame's columns as text (``""`` for missing; other types as ``str``)."""
        return cls({str(name): Fixed(_frame_text(frame[name])) for name in frame.columns},
                   rows=len(frame))

    def __len__(self) -> int:
        return self.rows

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def rows_of(self, start: int, stop: int) -> Rows:
        """Input rows of output rows ``start:stop``."""
        return slice(start, stop) if self.order is None else self.order[start:stop]

    def to_arrow(self) -> pa.Table:
        rows = self.rows_of(0, self.rows)
        return pa.table({name: col.text(rows) for name, col in self.columns.items()})

    def to_pandas(self) -> pd.DataFrame:
        """Every column as ``str`` (arrow-backed, no Python object per value)."""
        return self.to_arrow().to_pandas(types_mapper={pa.string(): _STR}.get)

    def header(self) -> bytes:
        return (",".join(_quoted(pa.array(self.names, type=pa.string())).to_pylist())
                + "\n").encode("utf-8")

    def cells(self) -> list[TextColumn]:
        """The columns as a CSV line joins them. Neighbouring columns held as codes (plain
        :class:`Codes`, encoded :class:`Money`) with few combinations become one: a code per
        row into the text of each combination (``a,b``), so the line is joined from fewer,
        longer pieces; the line break rides on the last one when it is codes. In a table
        written in another order than its input's, neighbouring text columns are joined in
        input order (a sequential pass) so each row is picked once, not once per column.
        Made once (the first caller makes it, others wait for it)."""
        with self._lock:
            if self._cells is None:
                self._cells = self._layout()
            return self._cells

    def _layout(self) -> list[TextColumn]:
        out: list[TextColumn] = []
        for col in self.columns.values():
            merged = _merge(out[-1], col) if out else None
            if merged is None and self.order is not None and out:
                merged = _pair(out[-1], col)
            if merged is not None:
                out[-1] = merged
            else:
                out.append(col)
        if out and _dictionary(out[-1]) is not None:
            codes, names = _dictionary(out[-1])
            out[-1] = _Dict(codes, pc.binary_join_element_wise(names, "\n", ""), newline=True)
        return out

    def csv_lines(self, start: int, stop: int, cells: list[TextColumn] | None = None
                  ) -> memoryview:
        """The CSV bytes of output rows ``start:stop`` (each line ending in ``\\n``)."""
        if stop <= start:
            return memoryview(b"")
        if not self.columns:
            return memoryview(b"\n" * (stop - start))
        rows = self.rows_of(start, stop)
        if len(self.columns) == 1:
            # A line of one empty field is written ``""`` (as pandas does), not left blank.
            (column,) = self.columns.values()
            text = column.text(rows) if column.plain else _quoted(column.text(rows))
            text = pc.if_else(pc.equal(text, ""), '""', text)
            return _text_bytes(pc.binary_join_element_wise(text, "\n", "")) or memoryview(b"")
        cells = self.cells() if cells is None else cells
        texts = [c.text(rows) if c.plain else _quoted(c.text(rows)) for c in cells]
        if not getattr(cells[-1], "newline", False):
            texts[-1] = pc.binary_join_element_wise(texts[-1], "\n", "")
        lines = pc.binary_join_element_wise(*texts, ",") if len(texts) > 1 else texts[0]
        return _text_bytes(lines) or memoryview(b"")


#: The most names two merged code columns may have (their product).
_MERGED_NAMES = 1 << 16
_STR = pd.StringDtype("pyarrow", na_value=np.nan)


class _Dict(TextColumn):
    """Text by code: ``dictionary[codes[row]]`` (merged neighbouring columns)."""

    plain = True

    def __init__(self, codes: np.ndarray, dictionary: pa.Array, newline: bool = False) -> None:
        self.codes = np.asarray(codes)
        self.dictionary = dictionary
        self.newline = newline

    def text(self, rows: Rows) -> pa.Array:
        return self.dictionary.take(pa.array(self.codes[rows]))


def _dictionary(column: TextColumn) -> tuple[np.ndarray, pa.Array] | None:
    """A column's codes (input order) and the text of each code, when it is held so."""
    if isinstance(column, _Dict) and not column.newline:
        return column.codes, column.dictionary
    if isinstance(column, Codes) and column.plain:
        return column.codes, pa.array(column.names, type=pa.string())
    if isinstance(column, Money):
        return column.dictionary()
    return None


def _merge(first: TextColumn, second: TextColumn) -> _Dict | None:
    """Two neighbouring columns held as codes as one, when their combinations are few enough
    to name them all up front (the code of a row is then arithmetic; finding the combinations
    that occur among many would cost a hash pass of more than the join it saves)."""
    a, b = _dictionary(first), _dictionary(second)
    if a is None or b is None:
        return None
    (codes_a, names_a), (codes_b, names_b) = a, b
    na, nb = len(names_a), len(names_b)
    if na * nb > _MERGED_NAMES:
        return None
    codes = codes_a.astype(np.int32) * np.int32(nb) + codes_b.astype(np.int32)
    combos = np.arange(na * nb)
    names = pc.binary_join_element_wise(names_a.take(pa.array(combos // nb)),
                                        names_b.take(pa.array(combos % nb)), ",")
    return _Dict(codes, names)


class _Joined(TextColumn):
    """Neighbouring text columns joined (``a,b``, each quoted as needed) in input order."""

    plain = True

    def __init__(self, values: pa.Array) -> None:
        self.values = values

    def text(self, rows: Rows) -> pa.Array:
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(len(self.values))
            return self.values.slice(start, stop - start)
        return self.values.take(pa.array(rows))


def _pair(first: TextColumn, second: TextColumn) -> _Joined | None:
    """Two neighbouring text columns (:class:`Fixed`) as one, joined in input order."""
    if not (isinstance(first, (Fixed, _Joined)) and isinstance(second, Fixed)):
        return None
    a = first.values if first.plain else _quoted(first.values)
    b = second.values if second.plain else _quoted(second.values)
    if a.type != pa.string() or b.type != pa.string() or len(a) != len(b):
        return None
    size = sum(len(_text_bytes(x) or b"") for x in (a, b)) + len(a)
    if size >= 2**31 - 1:
        return None
    return _Joined(pc.binary_join_element_wise(a, b, ","))


def _length(column: TextColumn | None) -> int:
    for attr in ("values", "positions", "codes", "us", "minor"):
        values = getattr(column, attr, None)
        if values is not None:
            return len(values)
    return 0


def _frame_text(column: pd.Series) -> pa.Array:
    return _flat(column if column.dtype == "str" else column.astype("str"))


#: Bytes of text per slice when writing. Arrow's allocator hands blocks of 8 MiB and more
#: back to the system at once (each use faults fresh pages in again); smaller ones it reuses,
#: and they stay in the CPU caches.
CSV_SLICE_BYTES = 4 << 20


def _widest(values: pa.Array) -> int:
    """Bytes of the longest value of a string array."""
    if not len(values):
        return 0
    wide = values.type == pa.large_string()
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64 if wide else np.int32,
                            count=len(values) + 1, offset=(8 if wide else 4) * values.offset)
    return int(np.diff(offsets).max())


def _slice_rows(cells: list[TextColumn], rows: int) -> int:
    """Rows per slice: about :data:`CSV_SLICE_BYTES` of text, judged from each piece's width
    (text columns: their average)."""
    width = 0
    for cell in cells:
        values = getattr(cell, "values", None)
        if isinstance(cell, Taken):
            values = cell.source.values
        if isinstance(values, pa.Array):
            data = _text_bytes(values)
            width += (len(data) if data is not None else 0) // max(len(values), 1) + 1
        elif isinstance(cell, _Dict):
            width += _widest(cell.dictionary) + 1
        elif isinstance(cell, Codes):
            width += max((len(x) for x in cell.names), default=0) + 1
        else:
            width += 28  # a timestamp, an amount
    return int(min(max(CSV_SLICE_BYTES // max(width, 1), 1024), 1 << 16))


def prepare_soon(tables: list[TextTable]) -> None:
    """Start the once-per-column work of ``tables`` (encodings, the pieces of a line) on two
    background threads, so it runs while the caller does other things; whoever needs it later
    waits for it (or does it, after a failure here: nothing is lost)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="text-prepare")
    for table in tables:
        table._started = True
        for column in table.columns.values():
            pool.submit(column.prepare)
        pool.submit(table.cells)
    pool.shutdown(wait=False)


def write_text_tables(files: list[tuple[TextTable, str | Path]], rows: int | None = None
                      ) -> None:
    """Write text tables as CSV, every file byte for byte what :func:`write_csv_text` gives.

    Slices of rows (``rows`` each; by default as many as make about
    :data:`CSV_SLICE_BYTES` of text) are formatted on two threads (arrow and numpy kernels
    release the GIL) while this one writes the finished slices in order; a few slices are in
    flight at a time, so memory stays small whatever the size of the files. The once-per-column
    work goes on in the background (:func:`prepare_soon`, unless started already): the first
    file is written while the next ones are still being prepared.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    prepare_soon([table for table, _ in files if not table._started])
    handles = [open(path, "wb") for _, path in files]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending: deque = deque()
            for (table, _), fh in zip(files, handles):
                fh.write(table.header())
                cells = table.cells()  # waits for this table's preparation, not the others'
                step = rows or _slice_rows(cells, len(table))
                for start in range(0, len(table), step):
                    stop = min(start + step, len(table))
                    pending.append((fh, pool.submit(table.csv_lines, start, stop, cells)))
                    if len(pending) > 4:
                        done, future = pending.popleft()
                        done.write(future.result())
            while pending:
                done, future = pending.popleft()
                done.write(future.result())
    finally:
        for fh in handles:
            fh.close()


def write_csv_text(frame: pd.DataFrame, path: str | Path, columns: tuple[str, ...] | None = None
                   ) -> None:
    """Write a frame of text as :func:`toolkit.io.output.write_csv` would, byte for byte.

    Every column is written as text (``""`` for missing); fields holding a comma, a quote or a
    ``\\n`` are quoted with quotes doubled; rows end with ``\\n``.
    """
    if columns is not None:
        frame = frame.loc[:, list(columns)]
    write_text_tables([(TextTable.from_frame(frame), path)])
