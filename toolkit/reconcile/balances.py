"""Balances: each wallet's running balance checked row by row, its roll-forward, and liability.

Owns ``balance_break`` and ``negative_balance`` and the ``balances.csv`` roll-forward of
``docs/contract.md``: rows of a wallet in (``created_date``, file order), the first row setting
the opening (``updated_balance ∓ amount``), signed movements per role bucket, and
``closing = opening + Σ movements`` tied to the ledger's own last ``updated_balance``.

A balance is one wallet in one currency: a wallet is single-currency in Rise, and keying on both
guarantees no sum ever mixes currencies even if an export is wrong. This module must never look
at returns.

How it stays fast on millions of rows. Wallet ids and currency codes of an export have one byte
width each (``W0048618GBP``, ``GBP``), so their bytes pack into one ``int64`` per row that sorts
like the text (each byte position a digit of a mixed radix, :func:`_text_key`): no hashing of
millions of strings, and the balances come out already in ``balances.csv`` order. Two sorts of
unique packed integers (time then wallet, the row position in the low bits) give the replay
order. The replay then gathers, checks and sums rows one block at a time, so intermediates stay
in cache and no ledger-sized temporary is faulted in, in two halves on the two cores. Text that
does not pack (mixed widths, missing values, too many distinct bytes) takes the straightforward
route, :func:`_roll_forward_hashed`; both give the same result, which
``tests/test_balances_fast.py`` holds on random ledgers.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.contract import BreakReason, Role
from toolkit.io.keys import categories
from toolkit.io.text import arrow_text, encode
from toolkit.reconcile.classify import break_frame
from toolkit.reconcile.link import ROLE_CODE, ROLES, Links, order_by

__all__ = ["BUCKETS", "Balances", "liability", "roll_forward"]

#: ``balances.csv`` movement column per ledger role, in column order.
BUCKETS: dict[Role, str] = {
    Role.REFUND_CREDIT: "refund_credits",
    Role.BONUS_CREDIT: "bonus_credits",
    Role.OTHER_CREDIT: "other_credits",
    Role.REDEMPTION: "redemptions",
    Role.REDEMPTION_REFUND: "redemption_refunds",
    Role.EXPIRY: "expiries",
    Role.CANCELLATION: "cancellations",
    Role.VOID: "voids",
    Role.ADJUSTMENT: "adjustments",
    Role.OTHER: "other",
}
_STR = pd.StringDtype("pyarrow", na_value=np.nan)
#: ``created_date`` of exports is whole milliseconds: packing milliseconds leaves room for the
#: row position in the same ``int64``.
_US_PER_MS = 1000
#: Number columns of ``Balances.wallets``, in order; movement buckets by role code.
_NUMBERS = ("opening", *BUCKETS.values(), "closing", "reported_closing", "difference", "rows")
_BUCKET_ROW = {ROLE_CODE[role]: _NUMBERS.index(column) for role, column in BUCKETS.items()}
#: Rows per block: a block's int64 values (512 kB) stay in cache across the passes over it.
_BLOCK = 1 << 16
#: Rows laid side by side for byte ranges.
_LANES = 256


@dataclass(frozen=True)
class Balances:
    """Per-balance roll-forward (typed, minor units) and the balance breaks.

    Attributes
    ----------
    wallets: one row per (wallet_id, currency), sorted by both: ``wallet_id``, ``currency``,
        ``customer_email`` (of the wallet's latest row), ``opening``, one column per bucket,
        ``closing``, ``reported_closing``, ``difference``, ``rows``.
    breaks: typed break frames (``balance_break``, ``negative_balance``).
    """

    wallets: pd.DataFrame
    breaks: list[pd.DataFrame]


def roll_forward(ledger: pd.DataFrame, links: Links) -> Balances:
    """Replay every wallet in ledger order; check each row's ``updated_balance``.

    Parameters
    ----------
    ledger: typed ledger frame.
    links: roles, signed amounts and times from :func:`toolkit.reconcile.link.link`.

    Returns
    -------
    Balances: ``wallets`` sorted by (``wallet_id``, ``currency``); ``balance_break`` rows by
    balance in order of first appearance in the file (wallet, then currency), then in replay
    order; ``negative_balance`` rows in file order.

    Example
    -------
    >>> bal = roll_forward(ledger, links)  # doctest: +SKIP
    >>> bal.wallets[["wallet_id", "currency", "opening", "closing"]]  # doctest: +SKIP
    """
    m = len(ledger)
    columns = [_fixed_width_bytes(ledger["wallet_id"]),
               _fixed_width_bytes(ledger["currency"])] if m else [None]
    if any(c is None for c in columns):
        return _roll_forward_hashed(ledger, links)
    bits = max(1, (m - 1).bit_length())
    updated = ledger["updated_balance"].to_numpy(dtype=np.int64)
    # Independent pieces run on both cores: numpy's sorts, gathers and arrow's takes release
    # the GIL.
    with ThreadPoolExecutor(max_workers=2) as pool:
        by_time = pool.submit(_by_time, links.created_us, bits)
        packed = _text_key(columns, 2 ** (63 - bits))
        by_time = by_time.result()
        if packed is None:
            return _roll_forward_hashed(ledger, links)
        key, currency_radix = packed
        order, first, keys = _replay_order(key, by_time, bits, pool)
        del key, by_time  # the order lives in the key's memory
        last = np.r_[first[1:] - 1, m - 1]
        text = pool.submit(_balance_text, columns, ledger["customer_email"], order[first],
                           order[last])
        numbers = np.zeros((len(_NUMBERS), len(first)), dtype=np.int64)
        # Two halves of the rows, cut where a balance starts, so no balance is in both.
        cut = int(first[np.searchsorted(first, m // 2)]) if first[-1] >= m // 2 else m
        later = pool.submit(_replay, order, first, cut, m, links, updated, numbers)
        found = _replay(order, first, 0, cut, links, updated, numbers)
        bad, expected, reported = (np.concatenate(pair) for pair in zip(found, later.result()))
        text = text.result()

    if len(bad):
        permutation = _file_order(bad, order, first, keys, currency_radix, m)
        bad, expected, reported = bad[permutation], expected[permutation], reported[permutation]
    li = order[bad]
    breaks = [
        break_frame(BreakReason.BALANCE_BREAK, links.ret[li], li, expected, reported,
                    reported - expected),
    ]
    negative = np.flatnonzero(updated < 0)
    breaks.append(break_frame(BreakReason.NEGATIVE_BALANCE, links.ret[negative], negative, None,
                              updated[negative], None))

    row = {name: numbers[i] for i, name in enumerate(_NUMBERS)}
    np.subtract(updated[order[first]], links.signed[order[first]], out=row["opening"])
    row["closing"] += row["opening"]  # it held the sum of all movements
    row["reported_closing"][:] = updated[order[last]]
    np.subtract(row["reported_closing"], row["closing"], out=row["difference"])
    row["rows"][:] = np.diff(first, append=m)
    table = pd.DataFrame(numbers.T, columns=list(_NUMBERS), copy=False)
    for i, (name, values) in enumerate(text.items()):
        table.insert(i, name, values)
    return Balances(table, breaks)


def _roll_forward_hashed(ledger: pd.DataFrame, links: Links) -> Balances:
    """:func:`roll_forward` for any text: codes by hashing, one sort of the rows, one of the
    balances. The straightforward route, and the fast one's reference."""
    m = len(ledger)
    wallet_code, = encode(ledger["wallet_id"])
    ccy_code, = encode(ledger["currency"])
    key = wallet_code * (int(ccy_code.max(initial=0)) + 1) + ccy_code
    order = order_by(key, links.created_us)
    key = key[order]
    start = np.r_[True, key[1:] != key[:-1]] if m else np.zeros(0, dtype=bool)
    group = np.cumsum(start) - 1
    k = int(start.sum())

    signed = links.signed[order]
    reported = ledger["updated_balance"].to_numpy(dtype=np.int64)[order]
    expected = np.empty(m, dtype=np.int64)
    if m:
        expected[1:] = reported[:-1] + signed[1:]
        expected[start] = reported[start]  # the first row sets the opening: never a break
    bad = np.flatnonzero(expected != reported)
    li = order[bad]
    breaks = [
        break_frame(BreakReason.BALANCE_BREAK, links.ret[li], li, expected[bad], reported[bad],
                    reported[bad] - expected[bad]),
    ]
    balance = ledger["updated_balance"].to_numpy(dtype=np.int64)
    negative = np.flatnonzero(balance < 0)
    breaks.append(break_frame(BreakReason.NEGATIVE_BALANCE, links.ret[negative], negative, None,
                              balance[negative], None))

    first = np.flatnonzero(start)
    last = np.r_[first[1:] - 1, m - 1] if k else np.zeros(0, dtype=np.int64)
    # Every movement bucket in one pass: a (balance, role) table of signed sums.
    moves = np.zeros((k, len(ROLES)), dtype=np.int64)
    np.add.at(moves, (group, links.role[order].astype(np.int64)), signed)
    table = pd.DataFrame({
        "wallet_id": arrow_text(ledger["wallet_id"]).take(pa.array(order[first])),
        "currency": arrow_text(ledger["currency"]).take(pa.array(order[first])),
        "customer_email": arrow_text(ledger["customer_email"]).take(pa.array(order[last])),
        "opening": reported[first] - signed[first],
    })
    for role, column in BUCKETS.items():
        table[column] = moves[:, ROLE_CODE[role]]
    table["closing"] = table["opening"].to_numpy() + moves.sum(axis=1)
    table["reported_closing"] = reported[last]
    table["difference"] = table["reported_closing"] - table["closing"]
    table["rows"] = np.diff(np.r_[first, m]) if k else np.zeros(0, dtype=np.int64)
    sort = pc.sort_indices(pa.table({"w": arrow_text(table["wallet_id"]),
                                     "c": arrow_text(table["currency"])}),
                           sort_keys=[("w", "ascending"), ("c", "ascending")])
    table = table.take(sort.to_numpy()).reset_index(drop=True)
    return Balances(table, breaks)


def _raw_text(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A text column as arrow, missing values kept (``arrow_text`` without its copies)."""
    try:
        values = pa.array(column.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return arrow_text(column)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    return arrow_text(column)


def _str(values: pa.Array | pa.ChunkedArray) -> pd.arrays.ArrowStringArray:
    """pandas ``str`` text of arrow strings without a Python object per value (missing -> "")."""
    return pd.arrays.ArrowStringArray(values.fill_null("") if values.null_count else values,
                                      dtype=_STR)


def _fixed_width_bytes(column: pd.Series) -> np.ndarray | None:
    """The bytes of a text column as a ``(rows, width)`` matrix (a view when in one chunk; a
    ``category`` column's from its categories' bytes), or ``None`` unless every value is
    present and has the same byte width."""
    coded = categories(column)
    if coded is not None:
        codes, names = coded
        table = _fixed_width_bytes(pd.Series(names, dtype=_STR)) if names else None
        return None if table is None else np.take(table, codes, axis=0)
    values = _raw_text(column)
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts, width = [], None
    for chunk in chunks:
        n = len(chunk)
        if not n:
            continue
        if chunk.null_count:
            return None
        _, offsets, data = chunk.buffers()
        kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(offsets, dtype=kind)[chunk.offset:chunk.offset + n + 1]
        total = int(offsets[-1] - offsets[0])
        if total % n or (width is not None and total // n != width):
            return None
        width = total // n
        if any((np.diff(offsets[b.start:b.stop + 1]) != width).any() for b in _blocks(n)):
            return None
        raw = np.frombuffer(data, dtype=np.uint8) if total else np.zeros(0, dtype=np.uint8)
        parts.append(raw[int(offsets[0]):int(offsets[-1])].reshape(n, width))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _text_key(columns: list[np.ndarray], limit: int) -> tuple[np.ndarray, int] | None:
    """One integer per row that orders rows as their texts do, column after column, or ``None``
    when it would reach ``limit``.

    Each byte position of fixed-width text is a digit of a mixed radix: its radix is the
    position's byte range (``max - min + 1``), or, where that is too wide to fit, the number of
    distinct bytes there (a rank table). Positions holding one byte cost nothing. Equal keys mean
    equal texts and smaller keys smaller texts (byte order, as arrow sorts strings).

    Returns
    -------
    (keys, radix of the last column): ``key // radix`` keys the other columns alone.
    """
    m = len(columns[0])
    digits = [(column, j) for column in columns for j in range(column.shape[1])]
    ranges = [_byte_range(column) for column in columns]
    low = np.concatenate([lo for lo, _ in ranges])
    radix = [int(r) for r in np.concatenate([hi for _, hi in ranges]) - low + 1]
    ranks: dict[int, np.ndarray] = {}
    # Widest ranges first: the fewest rank tables that make the key fit.
    for i in sorted(range(len(radix)), key=lambda i: -radix[i]):
        if math.prod(radix) < limit or radix[i] == 1:
            break
        column, j = digits[i]
        present = sum(np.bincount(column[b, j], minlength=256) for b in _blocks(m)) > 0
        if int(present.sum()) < radix[i]:
            ranks[i] = (np.cumsum(present) - 1).astype(np.uint8)
            radix[i] = int(present.sum())
    if math.prod(radix) >= limit:
        return None
    steps = [(i, r) for i, r in enumerate(radix) if r > 1]
    high = low + np.asarray(radix) - 1
    peak = 0
    for i, r in steps:
        peak = peak * r + (r - 1 if i in ranks else int(high[i]))
    if peak >= 2**63:  # raw bytes would overflow before the lows come off: shift each byte
        for i, _ in steps:
            ranks.setdefault(i, (np.arange(256) - low[i]).astype(np.uint8))
    offset = 0
    for i, r in steps:
        offset = offset * r + (0 if i in ranks else int(low[i]))
    key = np.empty(m, dtype=np.int64)
    # Block by block, so a block's keys stay in cache across the byte positions.
    for start in range(0, m, _BLOCK):
        part = key[start:start + _BLOCK]
        part.fill(0)
        for i, r in steps:
            column, j = digits[i]
            part *= r
            byte = column[start:start + _BLOCK, j]
            part += ranks[i][byte] if i in ranks else byte
        part -= offset
    last = columns[-1].shape[1]
    return key, math.prod(radix[len(radix) - last:])


def _byte_range(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest byte at each position of a ``(rows, width)`` byte matrix.

    Many rows are laid side by side first: a reduction over a few wide rows runs at memory speed,
    one over millions of rows of a dozen bytes does not."""
    rows, width = column.shape
    if not width:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    whole = rows - rows % _LANES
    low = np.full(width, 255, dtype=np.uint8)
    high = np.zeros(width, dtype=np.uint8)
    if whole:
        wide = column[:whole].reshape(-1, _LANES * width)
        low = wide.min(axis=0).reshape(_LANES, width).min(axis=0)
        high = wide.max(axis=0).reshape(_LANES, width).max(axis=0)
    if whole < rows:
        low = np.minimum(low, column[whole:].min(axis=0))
        high = np.maximum(high, column[whole:].max(axis=0))
    return low.astype(np.int64), high.astype(np.int64)


def _by_time(created_us: np.ndarray, bits: int) -> np.ndarray:
    """Positions sorted by (``created_us``, position); one sort of unique packed integers when
    the time span fits beside ``bits`` of position."""
    low = int(created_us.min())
    span = int(created_us.max()) - low
    room = 2 ** (63 - bits)
    packed = np.subtract(created_us, low)
    unit = 1
    if span >= room and not any((packed[b] % _US_PER_MS).any() for b in _blocks(len(packed))):
        unit = _US_PER_MS
        packed //= unit
    if span // unit >= room:
        return np.argsort(created_us, kind="stable")
    packed <<= bits
    _add_positions(packed)
    packed.sort()
    packed &= (1 << bits) - 1
    return packed


def _blocks(n: int) -> list[slice]:
    """Slices of ``n`` rows, :data:`_BLOCK` at a time: checks over blocks need no ledger-sized
    temporary (fresh memory costs a page fault per page on first touch)."""
    return [slice(start, min(start + _BLOCK, n)) for start in range(0, n, _BLOCK)]


def _add_positions(values: np.ndarray) -> None:
    """``values |= position`` in place, block by block (no array of positions)."""
    step = np.arange(_BLOCK, dtype=np.int64)
    here = np.empty(_BLOCK, dtype=np.int64)
    for start in range(0, len(values), _BLOCK):
        part = values[start:start + _BLOCK]
        np.add(step[:len(part)], start, out=here[:len(part)])
        part |= here[:len(part)]


def _replay_order(key: np.ndarray, by_time: np.ndarray, bits: int, pool: ThreadPoolExecutor
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by (``key``, time, position): the time order's rank rides in the low bits.
    The gathers run in two halves, one on ``pool``.

    Returns
    -------
    (order, first, keys): positions in replay order (written over ``key``), the first replayed
    row of each balance, and each balance's key.
    """
    m = len(key)
    half = m // 2
    rows = np.empty(m, dtype=np.int64)

    def ranked_keys(begin: int, end: int) -> None:
        for start in range(begin, end, _BLOCK):
            part = rows[start:min(start + _BLOCK, end)]
            np.take(key, by_time[start:start + len(part)], out=part, mode="clip")
            part <<= bits

    later = pool.submit(ranked_keys, half, m)
    ranked_keys(0, half)
    later.result()
    _add_positions(rows)
    rows.sort()
    start_flags = np.empty(m, dtype=bool)
    start_flags[0] = True
    shifted = np.empty(_BLOCK + 1, dtype=np.int64)
    for start in range(0, m, _BLOCK):
        lead = max(start - 1, 0)
        stop = min(start + _BLOCK, m)
        part = np.right_shift(rows[lead:stop], bits, out=shifted[:stop - lead])
        np.not_equal(part[1:], part[:-1], out=start_flags[lead + 1:stop])
    first = np.flatnonzero(start_flags)
    keys = rows[first] >> bits
    rows &= (1 << bits) - 1
    later = pool.submit(np.take, by_time, rows[half:], None, key[half:], "clip")
    np.take(by_time, rows[:half], out=key[:half], mode="clip")
    later.result()
    return key, first, keys


def _replay(order: np.ndarray, first: np.ndarray, begin: int, end: int, links: Links,
            updated: np.ndarray, numbers: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replay rows ``begin:end`` of the replay order (whole balances), block by block so every
    intermediate stays in cache.

    Adds each balance's movements per bucket, and of all rows (into the ``closing`` row), to
    ``numbers``. Sums wrap as ``int64`` addition does, so the order of adding never changes a
    bit.

    Returns
    -------
    (rows, expected, reported): replayed rows whose ``updated_balance`` does not follow from the
    row before, in replay order, with the expected and the reported balance.
    """
    size = min(_BLOCK, max(end - begin, 0))
    signed = np.empty(size, dtype=np.int64)
    reported = np.empty(size, dtype=np.int64)
    expected = np.empty(size, dtype=np.int64)
    role = np.empty(size, dtype=links.role.dtype)
    masked = np.empty(size, dtype=np.int64)
    total_row = _NUMBERS.index("closing")
    found = [(np.zeros(0, dtype=np.int64),) * 3]
    previous = np.zeros(1, dtype=np.int64)  # the last balance of the block before (as an array,
    # so that sums wrap as in every other int64 sum, without a scalar overflow warning)
    for start in range(begin, end, _BLOCK):
        stop = min(start + _BLOCK, end)
        n = stop - start
        sg, rp, rl, ex, mk = signed[:n], reported[:n], role[:n], expected[:n], masked[:n]
        rows = order[start:stop]
        np.take(links.signed, rows, out=sg, mode="clip")
        np.take(updated, rows, out=rp, mode="clip")
        np.take(links.role, rows, out=rl, mode="clip")
        # Balances meeting this block, and where each starts in it (the first may start before).
        g0 = int(np.searchsorted(first, start, side="right")) - 1
        g1 = int(np.searchsorted(first, stop, side="left"))
        local = first[g0:g1] - start
        opens = local[local >= 0]
        np.add(previous, sg[:1], out=ex[:1])
        np.add(rp[:-1], sg[1:], out=ex[1:])
        ex[opens] = rp[opens]  # the first row sets the opening: never a break
        previous[0] = rp[-1]
        wrong = np.flatnonzero(ex != rp)
        if len(wrong):
            found.append((wrong + start, ex[wrong], rp[wrong]))
        local[0] = 0
        total = np.add.reduceat(sg, local)
        numbers[total_row, g0:g1] += total
        # Each role's sums, except the block's commonest role: the total minus the others.
        counts = np.bincount(rl, minlength=len(ROLES))
        common = int(np.argmax(counts))
        for code in np.flatnonzero(counts).tolist():
            if code == common:
                continue
            np.multiply(sg, rl == code, out=mk)
            moved = np.add.reduceat(mk, local)
            total -= moved
            if code in _BUCKET_ROW:
                numbers[_BUCKET_ROW[code], g0:g1] += moved
        if common in _BUCKET_ROW:
            numbers[_BUCKET_ROW[common], g0:g1] += total
    return tuple(np.concatenate(part) for part in zip(*found))


def _balance_text(columns: list[np.ndarray], email: pd.Series, first: np.ndarray,
                  last: np.ndarray) -> dict[str, pd.arrays.ArrowStringArray]:
    """The text columns of the balances: wallet and currency of each balance's first row (from
    their byte matrices), the customer email of its latest."""
    return {
        "wallet_id": _str(_fixed_width_text(columns[0], first)),
        "currency": _str(_fixed_width_text(columns[1], first)),
        "customer_email": _str(_raw_text(email).take(pa.array(last))),
    }


def _fixed_width_text(column: np.ndarray, rows: np.ndarray) -> pa.LargeStringArray:
    """Arrow strings of some rows of a fixed-width byte matrix: one row copy each, where a take
    of arrow strings reads offsets and characters from two places."""
    data = np.take(column, rows, axis=0)
    count, width = data.shape
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int64) if width else (
        np.zeros(count + 1, dtype=np.int64))
    return pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))


def _file_order(bad: np.ndarray, order: np.ndarray, first: np.ndarray, keys: np.ndarray,
                currency_radix: int, m: int) -> np.ndarray:
    """Permutation putting replayed rows ``bad`` in the order of balances by first appearance in
    the file: wallet first, then currency (the order of hashed codes), then replay order."""
    earliest = np.minimum.reduceat(order, first)  # each balance's first file row
    wallet = keys // currency_radix
    currency = keys % currency_radix
    wallet_start = np.flatnonzero(np.r_[True, wallet[1:] != wallet[:-1]])
    wallet_first = np.repeat(np.minimum.reduceat(earliest, wallet_start),
                             np.diff(np.r_[wallet_start, len(keys)]))
    codes, inverse = np.unique(currency, return_inverse=True)
    currency_first = np.full(len(codes), m, dtype=np.int64)
    np.minimum.at(currency_first, inverse, earliest)
    balance = np.searchsorted(first, bad, side="right") - 1
    return np.lexsort((bad, currency_first[inverse][balance], wallet_first[balance]))


def liability(wallets: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per currency: opening, movements per bucket, closing, reported closing, difference,
    wallets (minor units). The closing is tied to the ledger's own balances via ``difference``.

    Currencies in text order; a wallet without a currency counts nowhere (as in a pandas
    group-by). Sums wrap as ``int64`` addition does.

    >>> numbers = ["opening", *BUCKETS.values(), "closing", "reported_closing", "difference"]
    >>> wallets = pd.DataFrame({"currency": ["USD", "EUR", "USD"],
    ...                         **{c: [100, 5, 7] for c in numbers}})
    >>> usd = liability(wallets)["USD"]
    >>> usd["closing"], usd["wallets"]
    (107, 2)
    """
    columns = ["opening", *BUCKETS.values(), "closing", "reported_closing", "difference"]
    codes, names = pd.factorize(wallets["currency"], sort=True)
    # One stable sort of small codes (a radix sort) puts each currency's wallets together.
    small = codes.astype(np.int16) if len(names) < 2**15 else codes
    order = np.argsort(small, kind="stable")
    order = order[codes[order] >= 0]
    starts = np.searchsorted(codes[order], np.arange(len(names)))
    counts = np.diff(np.r_[starts, len(order)])
    sums = {c: np.add.reduceat(wallets[c].to_numpy(dtype=np.int64)[order], starts)
            if len(order) else np.zeros(0, dtype=np.int64) for c in columns}
    out: dict[str, dict[str, int]] = {}
    for i, name in enumerate(names):
        totals = {c: int(sums[c][i]) for c in columns}
        totals["wallets"] = int(counts[i])
        out[str(name)] = totals
    return out
