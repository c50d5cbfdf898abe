"""Text keys compared, hashed and looked up by their bytes, without hashing strings one by one.

Linking a million returns to millions of ledger rows is mostly key work: which reference names
which return, whether a credit sits on the return's wallet, which rows a void undoes. Arrow's
string hash tables cost about 250 ns per value; this module reads the arrow buffers directly with
numpy instead: each string is seen as 8-byte words (an unaligned ``uint64`` view of the data
buffer), so hashing, comparing and packing cost a few array operations per word of the longest
key. Ids and emails are one to four words.

* :func:`hash64` gives every string a 64-bit hash (equal text, equal hash);
* :func:`equal_pairs` compares ``a[i]`` with ``b[j]`` exactly, pair by pair;
* :func:`lookup` finds each value's position among keys: a hash join whose every hit is verified
  byte for byte, and which falls back to arrow's exact ``index_in`` whenever two keys share a
  hash (repeated keys, or a collision), so the answer is always the exact one;
* :func:`small_codes` codes a column against a short vocabulary (currencies, enum values).

It must never decide what a key means (trimming, case): callers pass the text to compare.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "KeyTable", "Texts", "arrow_of", "categories", "equal_pairs", "hash64", "lookup", "small_codes",
    "spread",
]

_U64 = np.uint64
#: ``_MASKS[k]`` keeps the first ``k`` bytes of a little-endian word.
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)
_MIX_A = _U64(0x9E3779B97F4A7C15)
_MIX_B = _U64(0xFF51AFD7ED558CCD)
_MIX_C = _U64(0xC4CEB9FE1A85EC53)


@dataclass(frozen=True)
class Texts:
    """The bytes of a text column, ready for word-wise reading.

    Attributes
    ----------
    start, length: byte offset and length of each string (``int64``).
    words: an unaligned ``uint64`` view of the data buffer (no copy): ``words[p]`` is the 8
        bytes from ``p`` (little endian), for every ``p`` with 8 bytes left in the buffer.
    tail: the same for the buffer's last bytes, zero padded (``tail[p - tail_from]``).
    data: the data buffer's bytes.
    arrow: the text as one arrow array.
    width: the length of every string when all have the same length (ids often do), else -1.
    """

    start: np.ndarray
    length: np.ndarray
    words: np.ndarray
    tail: np.ndarray
    tail_from: int
    width: int
    data: np.ndarray
    arrow: pa.Array

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def of(cls, values: object) -> Texts:
        """Views a text column (arrow string/large string, a pandas ``str`` Series, or anything
        :func:`toolkit.io.text.arrow_text` accepts); nulls read as empty text."""
        if isinstance(values, Texts):
            return values
        arr = arrow_of(values)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if arr.null_count:
            arr = arr.fill_null("")
        if pa.types.is_large_string(arr.type):
            offset_type = np.int64
        elif pa.types.is_string(arr.type):
            offset_type = np.int32
        else:
            raise TypeError(f"not a text column: {arr.type}")
        n = len(arr)
        _, offsets_buf, data_buf = arr.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=offset_type)[arr.offset:arr.offset + n + 1]
        offsets = offsets.astype(np.int64, copy=False)  # large strings' offsets: no copy
        data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None
                else np.zeros(0, dtype=np.uint8))
        # Every word fully inside the buffer is read in place; the last few through a padded copy.
        tail_from = max(len(data) - 8, 0)
        padded = np.zeros(len(data) - tail_from + 16, dtype=np.uint8)
        padded[:len(data) - tail_from] = data[tail_from:]
        # Lengths in 32 bits where they fit (half the memory of the offsets' 64).
        length = np.subtract(offsets[1:], offsets[:-1],
                             dtype=np.int32 if offsets[-1] - offsets[0] < 2**31 else np.int64,
                             casting="unsafe") if n else np.zeros(0, dtype=np.int32)
        width = int(length[0]) if n and int(length.min()) == int(length.max()) else -1
        return cls(offsets[:-1], length, _word_view(data), _word_view(padded), tail_from, width,
                   data, arr)

    def word(self, j: int, rows: np.ndarray | None = None) -> np.ndarray:
        """The ``j``-th 8-byte word of each string (of ``rows``), bytes past its end zeroed."""
        if rows is None and self.width >= 0:
            return self._uniform_word(j)
        start = self.start if rows is None else self.start[rows]
        length = self.length if rows is None else self.length[rows]
        left = np.minimum(np.maximum(length - 8 * j, 0), 8)
        at = start + 8 * j
        if len(at) and int(at.max()) >= len(self.words):
            out = np.empty(len(at), dtype=np.uint64)
            inside = at < len(self.words)
            out[inside] = self.words[at[inside]]
            beyond = np.minimum(at[~inside] - self.tail_from, len(self.tail) - 1)
            out[~inside] = self.tail[beyond]
        else:
            out = self.words[at]
        return out & _MASKS[left]  # (past a text's end: any bytes, masked to 0)

    def _uniform_word(self, j: int) -> np.ndarray:
        """:meth:`word` of every string when all have one length: the strings lie back to back,
        so their ``j``-th words are one strided view (the last few read from ``tail``)."""
        n, w = len(self), self.width
        left = min(max(w - 8 * j, 0), 8)
        out = np.zeros(n, dtype=np.uint64)
        if not n or not left:
            return out
        first = int(self.start[0]) + 8 * j
        fit = min(max((len(self.words) - 1 - first) // w + 1, 0), n)
        if fit:
            out[:fit] = self.words[first:first + (fit - 1) * w + 1:w]
        if fit < n:
            at = first + np.arange(fit, n, dtype=np.int64) * w - self.tail_from
            out[fit:] = self.tail[np.minimum(at, len(self.tail) - 1)]
        out &= _MASKS[left]
        return out

    def max_words(self, rows: np.ndarray | None = None) -> int:
        length = self.length if rows is None else self.length[rows]
        return int((int(length.max()) + 7) // 8) if len(length) else 0


def _word_view(data: np.ndarray) -> np.ndarray:
    """``uint64`` words starting at every byte of ``data`` that has 8 bytes left."""
    count = max(len(data) - 7, 0)
    if not count:
        return np.zeros(0, dtype=np.uint64)
    return np.ndarray(shape=(count,), dtype="<u8", buffer=data, offset=0, strides=(1,))


def categories(values: object) -> tuple[np.ndarray, list[str]] | None:
    """The codes and category texts of a pandas ``category`` column without missing values
    (what the readers make of enumerations and currency codes); ``None`` for anything else.

    >>> categories(pd.Series(["b", "a", "b"], dtype="category"))
    (array([1, 0, 1], dtype=int8), ['a', 'b'])
    """
    if not isinstance(values, pd.Series) or not isinstance(values.dtype, pd.CategoricalDtype):
        return None
    codes = values.array.codes  # (the column's own codes, read-only; ``cat.codes`` copies)
    if len(codes) and int(codes.min()) < 0:
        return None
    return codes, [str(c) for c in values.cat.categories]


def spread(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[codes]`` for small integer ``codes`` (a category column's): taken by arrow, which
    reads one- and two-byte indices as they are, where numpy first widens every code to 64 bits.
    The result is read-only (arrow's memory).

    >>> spread(np.array([7, 9], dtype=np.int16), np.array([1, 0, 1], dtype=np.int8)).tolist()
    [9, 7, 9]
    """
    if not len(codes):
        return np.zeros(0, dtype=table.dtype)
    return pa.array(table).take(pa.array(codes)).to_numpy(zero_copy_only=False)


def arrow_of(values: object) -> pa.Array | pa.ChunkedArray:
    """The arrow text behind a column as it is stored (a pandas ``str`` Series gives its own
    large strings, uncopied); other columns through :func:`toolkit.io.text.arrow_text`."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype) \
            and values.dtype.storage == "pyarrow":
        arr = pa.array(values.array)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            return arr
    from toolkit.io.text import arrow_text

    return arrow_text(values)


def _mix(h: np.ndarray) -> np.ndarray:
    h ^= h >> _U64(33)
    h *= _MIX_B
    h ^= h >> _U64(29)
    return h


def hash64(values: object, rows: np.ndarray | None = None) -> np.ndarray:
    """A 64-bit hash of each string (of ``rows``): equal text gives an equal hash.

    Strings are read a word at a time; only strings long enough take part in each word, so the
    hash of a text never depends on its neighbours, and a few long values cost little.

    >>> h = hash64(pa.array(["R-1", "R-2", "R-1", ""]))
    >>> bool(h[0] == h[2]), bool(h[0] == h[1]), bool(h[3] == h[0])
    (True, False, False)
    """
    t = Texts.of(values)
    if rows is None:
        length = t.length
        return _hash_words(length, lambda j, active: t.word(j) if len(active) == len(t)
                           else t.word(j, active))
    rows = np.asarray(rows, dtype=np.int64)
    length = t.length[rows]
    return _hash_words(length, lambda j, active: t.word(j, rows[active]))


def _hash_words(length: np.ndarray, word: Callable[[int, np.ndarray], np.ndarray]) -> np.ndarray:
    """:func:`hash64` of texts of ``length``, given ``word(j, active)``: the ``j``-th words of the
    texts at positions ``active`` (all of them while every text reaches word ``j``)."""
    h = length.astype(np.uint64) * _MIX_A + _MIX_C
    active = np.arange(len(length))
    words = int((int(length.max()) + 7) // 8) if len(length) else 0
    for j in range(words):
        reach = length[active] > 8 * j  # a word is mixed in only where text reaches it
        if not reach.all():
            active = active[reach]
        if len(active) == len(length):
            h = _mix((h ^ word(j, active)) * _MIX_A)
        else:
            h[active] = _mix((h[active] ^ word(j, active)) * _MIX_A)
    return _mix(h)


def equal_pairs(a: object, ai: np.ndarray, b: object, bi: np.ndarray) -> np.ndarray:
    """Exact equality of ``a[ai[k]]`` and ``b[bi[k]]`` for each ``k``, byte for byte.

    >>> equal_pairs(pa.array(["x", "yy"]), np.array([0, 1]),
    ...             pa.array(["yy", "x"]), np.array([1, 1]))
    array([ True, False])
    """
    ta, tb = Texts.of(a), Texts.of(b)
    ai = np.asarray(ai, dtype=np.int64)
    bi = np.asarray(bi, dtype=np.int64)
    same = ta.length[ai] == tb.length[bi]
    active = np.flatnonzero(same)
    j = 0
    while len(active):
        la = ta.length[ai[active]]
        active = active[la > 8 * j] if j else active
        if not len(active):
            break
        differ = ta.word(j, ai[active]) != tb.word(j, bi[active])
        same[active[differ]] = False
        active = active[~differ]
        j += 1
    return same


class KeyTable:
    """A hash table of text keys, built once and probed many times (see :func:`lookup`).

    Short keys whose bytes vary little by position (ids such as ``R00012345``) are coded
    exactly as integers (:class:`_Digits`): no hashing and nothing to confirm. Other keys of up
    to 32 bytes are hashed, their words packed into dense arrays once, so confirming a probe's
    hit reads a few integers instead of the key's bytes.
    """

    DENSE_WORDS = 4

    def __init__(self, keys: object) -> None:
        self.source = keys
        self.texts = Texts.of(keys)
        self.digits = _Digits.fit(self.texts)
        self.dense = None
        if self.digits is not None:
            codes, _ = self.digits.codes(self.texts, keys=True)
            self.table = (_DirectIndex(codes, self.digits.size)
                          if self.digits.size <= _DirectIndex.MOST_SLOTS_PER_KEY * len(codes)
                          else _HashIndex(codes))
        else:
            width = self.texts.max_words()
            if width <= self.DENSE_WORDS:
                self.dense = [self.texts.word(j) for j in range(width)]
                dense = self.dense
                hashes = _hash_words(self.texts.length,
                                     lambda j, active: dense[j] if len(active) == len(dense[j])
                                     else dense[j][active])
            else:
                hashes = hash64(self.texts)
            self.table = _HashIndex(hashes)
        self.exact = self.table.unique  # else: repeated keys (or a hash collision)

    def __len__(self) -> int:
        return len(self.texts)

    def find(self, values: object, rows: np.ndarray | None = None) -> np.ndarray:
        """Position of each value (of ``rows``) among the keys, ``-1`` when absent; exact
        (``int32`` or ``int64``)."""
        tv = Texts.of(values)
        rows = np.arange(len(tv)) if rows is None else np.asarray(rows, dtype=np.int64)
        if not len(rows) or not len(self):
            return np.full(len(rows), -1, dtype=np.int64)
        if not self.exact:
            return _exact_index_in(values, self.source, rows)
        if self.digits is not None:
            codes, valid = self.digits.codes(tv, rows)
            found = self.table.find(codes)  # (texts without a code looked up as code 0)
            if not valid.all():
                found[~valid] = -1
            return found
        length = tv.length[rows]
        probe_words = None
        if self.dense is not None and tv.max_words(rows) <= len(self.dense):
            # Read the values' words once: for their hashes, and again to confirm the hits.
            probe_words = [tv.word(j, rows) for j in range(tv.max_words(rows))]
            hashes = _hash_words(length, lambda j, active: probe_words[j]
                                 if len(active) == len(rows) else probe_words[j][active])
        else:
            hashes = hash64(tv, rows)
        found = self.table.find(hashes)
        out = np.full(len(rows), -1, dtype=np.int64)
        hit = np.flatnonzero(found >= 0)
        key = found[hit]
        if self.dense is None:
            ok = equal_pairs(tv, rows[hit], self.texts, key)
        else:
            # Equal lengths mean equal word counts, so the words either side has are enough.
            ok = length[hit] == self.texts.length[key]
            for j, words in enumerate(self.dense):
                if probe_words is not None and j >= len(probe_words):
                    break
                mine = probe_words[j][hit] if probe_words is not None else tv.word(j, rows[hit])
                ok &= mine == words[key]
        out[hit[ok]] = key[ok]
        return out


class _HashIndex:
    """Distinct 64-bit integers and their positions: pandas' hash table, filled and probed in
    bulk (one pass each, no ``Index`` built around it)."""

    def __init__(self, values: np.ndarray) -> None:
        from pandas._libs import hashtable

        values = np.ascontiguousarray(values, dtype=np.int64).view(np.uint64)
        self._table = hashtable.UInt64HashTable(max(len(values), 1))
        self._table.map_locations(values)
        self.unique = len(self._table) == len(values)

    def find(self, values: np.ndarray) -> np.ndarray:
        """Position of each value (``-1`` when absent)."""
        return self._table.lookup(np.ascontiguousarray(values, dtype=np.int64).view(np.uint64))


class _DirectIndex:
    """Distinct integer codes in ``0 .. size - 1`` and their positions, as one array indexed by
    code: for codes that fill their range densely (numbered ids), a lookup is one gather."""

    #: The array may be this many times larger than the keys (``int32``: 64 bytes per key).
    MOST_SLOTS_PER_KEY = 16

    def __init__(self, codes: np.ndarray, size: int) -> None:
        kind = np.int32 if len(codes) < 2**31 else np.int64
        self._slots = np.full(size, -1, dtype=kind)
        positions = np.arange(len(codes), dtype=kind)
        self._slots[codes] = positions
        self.unique = bool((self._slots[codes] == positions).all())

    def find(self, codes: np.ndarray) -> np.ndarray:
        """Position of each code (``-1`` when absent)."""
        return self._slots[codes]


class _Digits:
    """Exact integer codes of short texts, fitted to a set of keys.

    Byte position ``p`` of a text (zero past its end) is one digit, whose values are the bytes
    the keys have there, in byte order; the length is one more digit. A position where every
    key has the same byte adds nothing to the code, so ids such as ``R00012345`` need eight
    decimal digits. Where the product of each position's range of bytes is small enough for a
    dense table, a digit is the byte's place in that range; otherwise it is its rank among the
    bytes keys have there. Equal codes mean equal texts; a text with a byte or a length no key
    can have at some position can equal no key and gets no code. Fitted only when the code stays
    below ``2**62`` (below ``2**31``, codes are ``int32``: half the memory traffic).
    """

    _MOST_BYTES = 32
    _LIMIT = 1 << 62

    def __init__(self, width: int, steps: list[_Digit], length_rank: np.ndarray,
                 dtype: type) -> None:
        self.width = width
        self.steps = steps
        self.length_rank = length_rank
        self.dtype = dtype
        #: How many codes there are: every code is below it.
        self.size = (int(length_rank.max()) + 1) * math.prod(step.radix for step in steps)

    @classmethod
    def fit(cls, keys: Texts) -> _Digits | None:
        if not len(keys):
            return None
        width = int(keys.length.max())
        if not width or width > cls._MOST_BYTES:
            return None
        if keys.width >= 0:  # one length (ids often have)
            present = np.arange(width + 1) == width
        else:
            present = np.bincount(keys.length, minlength=width + 1) > 0
        # First each position's range of bytes (two cheap reductions): when their product is
        # small enough for a dense table, the digits are those ranges. Codes stay exact either
        # way; a byte inside a range that no key has just makes a code no key has.
        ranges = [(int(column.min()), int(column.max()))
                  for _, column in _byte_columns(keys, None, width)]
        dense = int(present.sum()) * math.prod(high - low + 1 for low, high in ranges)
        if dense <= _DirectIndex.MOST_SLOTS_PER_KEY * len(keys):
            steps = [_Digit(low, high - low + 1, None) for low, high in ranges]
            product = dense
        else:
            product = int(present.sum())
            steps = []
            for _, column in _byte_columns(keys, None, width):
                step = _Digit.of(np.bincount(column, minlength=256) > 0)
                product *= step.radix
                if product >= cls._LIMIT:
                    return None
                steps.append(step)
        dtype = np.int32 if product < 1 << 31 else np.int64
        return cls(width, steps, _rank(present).astype(dtype), dtype)

    def codes(self, texts: Texts, rows: np.ndarray | None = None, *, keys: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
        """The code of each text (of ``rows``) and whether it has one (could equal a key);
        texts without one get code 0. ``keys``: the texts are the keys fitted, whose every byte
        has a digit, so nothing is checked."""
        length = texts.length if rows is None else texts.length[rows]
        shortest, longest = int(length.min(initial=0)), int(length.max(initial=0))
        lengths = np.full(max(longest, self.width) + 1, -1, dtype=self.dtype)
        lengths[:self.width + 1] = self.length_rank
        code = (np.full(len(length), lengths[longest], dtype=self.dtype) if shortest == longest
                else lengths[length])
        valid = code >= 0
        some = rows
        if not valid.all():
            some = np.flatnonzero(valid) if rows is None else rows[valid]
            code = code[valid]
        bad = np.zeros(len(code), dtype=bool)
        scratch = (np.empty(len(code), dtype=np.uint8), np.empty(len(code), dtype=bool))
        known = length if some is rows else None  # (the texts' lengths, when all are coded)
        for (_, column), step in zip(_byte_columns(texts, some, self.width, known), self.steps):
            if not keys or step.radix > 1:
                step.add(code, None if keys else bad, column, scratch)
        if bad.any():
            code[bad] = 0  # (what its digits made of it may be any number)
        if len(code) == len(length):
            return code, ~bad
        out = np.zeros(len(length), dtype=code.dtype)
        out[valid] = code
        valid[valid] = ~bad
        return out, valid


@dataclass(frozen=True)
class _Digit:
    """One byte position of :class:`_Digits`: the byte values keys have there, as a range
    ``low .. low + radix - 1`` when they are consecutive (arithmetic on the bytes), else as a
    rank table (``-1``: no key has that byte there)."""

    low: int
    radix: int
    rank: np.ndarray | None

    @classmethod
    def of(cls, present: np.ndarray) -> _Digit:
        values = np.flatnonzero(present)
        low, radix = int(values[0]), len(values)
        consecutive = int(values[-1]) - low + 1 == radix
        return cls(low, radix, None if consecutive else _rank(present))

    def add(self, code: np.ndarray, bad: np.ndarray | None, column: np.ndarray,
            scratch: tuple[np.ndarray, np.ndarray]) -> None:
        """``code = code * radix + digit`` for each text's byte ``column``; ``bad`` marks the
        texts whose byte no key has there (``None``: not checked, every byte has a digit)."""
        digits, off = scratch
        if self.rank is None:
            np.subtract(column, np.uint8(self.low), out=digits)  # wraps below low: too big
            if bad is not None:
                np.greater_equal(digits, self.radix, out=off)
                bad |= off
            if self.radix > 1:
                code *= self.radix
                code += digits
            return
        digit = self.rank[column]
        if bad is not None:
            bad |= digit < 0
        code *= self.radix
        code += digit.astype(code.dtype, copy=False)


def _rank(present: np.ndarray) -> np.ndarray:
    """Rank of each present value among the present ones, ``-1`` for the others."""
    return np.where(present, np.cumsum(present) - 1, -1).astype(np.int64)


def _byte_columns(texts: Texts, rows: np.ndarray | None, width: int,
                  length: np.ndarray | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Byte ``p`` of each text (of ``rows``; none longer than ``width``), ``p = 0 .. width - 1``,
    zero past a text's end: strided views when every text has exactly ``width`` bytes, else one
    gather per position (a subset is read where it lies, never copied first). ``length``: the
    texts' lengths (of ``rows``), when the caller has them."""
    if rows is None and texts.width == width:
        k = len(texts)
        first = int(texts.start[0]) if k else 0
        matrix = texts.data[first:first + k * width].reshape(k, width)
        for p in range(width):
            yield p, matrix[:, p]
        return
    if length is None:
        length = texts.length if rows is None else texts.length[rows]
    k = len(length)
    shortest = int(length.min(initial=width)) if len(texts.data) else 0
    at = texts.start.copy() if rows is None else texts.start[rows]
    column = np.zeros(k, dtype=np.uint8)
    for p in range(width):
        if not len(texts.data):  # every text empty
            yield p, column
            continue
        np.take(texts.data, at, out=column, mode="clip")
        if p >= shortest:
            column[length <= p] = 0
        yield p, column
        at += 1


def lookup(values: object, keys: object | KeyTable, rows: np.ndarray | None = None) -> np.ndarray:
    """Position in ``keys`` of each value (of ``rows``), ``-1`` when absent; exact.

    A hash join: ``keys`` are hashed once into a table (pass a :class:`KeyTable` to reuse it),
    each value's hash probes it, and every hit is confirmed byte for byte. When two keys share a
    hash (a repeated key, or a collision) arrow's exact ``index_in`` answers instead (first
    occurrence wins).

    >>> lookup(pa.array(["b", "z", "a"]), pa.array(["a", "b"])).tolist()
    [1, -1, 0]
    """
    table = keys if isinstance(keys, KeyTable) else KeyTable(keys)
    return table.find(values, rows)


def _exact_index_in(values: object, keys: object, rows: np.ndarray) -> np.ndarray:
    from toolkit.io.text import arrow_text

    def flat(x: object) -> pa.Array:
        arr = x if isinstance(x, (pa.Array, pa.ChunkedArray)) else arrow_text(x)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        return arr.cast(pa.string()) if pa.types.is_large_string(arr.type) else arr

    probe = flat(values).take(pa.array(rows))
    found = pc.index_in(probe, value_set=flat(keys))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def small_codes(values: object, vocabulary: list[str] | tuple[str, ...]) -> np.ndarray:
    """Index of each value in a short ``vocabulary`` (``-1`` when not in it); exact.

    Values and vocabulary of at most 7 bytes (currency codes, most enum values) are compared as
    single words, the length in the eighth byte; anything longer goes through :func:`lookup`.

    >>> small_codes(pa.array(["EUR", "USD", "XXX", "EUR"]), ["USD", "EUR"]).tolist()
    [1, 0, -1, 1]
    """
    t = Texts.of(values)
    vocab = pa.array(list(vocabulary), type=pa.string())
    tv = Texts.of(vocab)
    if not len(t) or not len(tv):
        return np.full(len(t), -1, dtype=np.int64)
    short = int(t.length.max()) <= 7 and int(tv.length.max()) <= 7
    if not short or len(set(vocabulary)) != len(vocabulary):
        return lookup(t, tv)
    # One word holds the whole text and its length (which tells "" and "\0" apart).
    key = tv.word(0) | (tv.length.astype(np.uint64) << _U64(56))
    value = t.word(0)
    value |= t.length.astype(np.uint64) << _U64(56)
    return pd.Index(key).get_indexer(value).astype(np.int64, copy=False)
