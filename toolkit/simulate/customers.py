"""Synthetic customers: pooled Faker names indexed by numpy, emails unique by construction.

Faker is slow per call and its emails repeat, so it only fills small seeded pools of first and
last names (each pool from its own ``Faker(locale, use_weighting=False)`` with ``seed_instance``);
numpy picks from the pools. Emails are ``first.last.<number>@<reserved domain>`` (example.com,
example.net, example.org, *.test), so they are unique because the number is, and never real.
A customer's second email (a second Rise wallet) lives on ``alt.test``, which no first email uses.

This module owns who the customers are; it must never decide what they return or spend.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker

from toolkit.simulate import text

__all__ = ["COUNTRY_OF", "DOMAINS", "customer_columns", "draw_name_picks", "name_pools"]

#: Reserved domains only (RFC 2606 / 6761): no simulated email can reach a real person.
DOMAINS = ("example.com", "example.net", "example.org", "mail.test", "shop.test")
SECOND_EMAIL_DOMAIN = "alt.test"
POOL_SIZE = 2_000

COUNTRY_OF = {"USD": "US", "CAD": "CA", "GBP": "GB", "EUR": "DE", "AUD": "AU", "JPY": "JP",
              "KWD": "KW", "NZD": "NZ", "MYR": "MY", "SGD": "SG"}
_DIAL = {"US": "+1", "CA": "+1", "GB": "+44", "DE": "+49", "AU": "+61", "JP": "+81", "KW": "+965",
         "NZ": "+64", "MY": "+60", "SG": "+65"}


def _slug(value: str) -> str:
    return re.sub(r"[^a-z]", "", value.lower()) or "x"


@lru_cache(maxsize=8)
def name_pools(locale: str, seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Seeded pools of first and last names (cached: a notebook sweep builds them once)."""
    children = np.random.SeedSequence([seed, 0xC057]).generate_state(2)
    pools = []
    for child, method in zip(children, ("first_name", "last_name"), strict=True):
        fake = Faker(locale, use_weighting=False)
        fake.seed_instance(int(child))
        make = getattr(fake, method)
        # Commas and quotes never appear in names we write, so CSV fields never need quoting.
        pools.append(tuple(make().replace(",", " ").replace('"', "") for _ in range(POOL_SIZE)))
    return pools[0], pools[1]


def draw_name_picks(n: int, *, locale: str, seed: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each customer's first name, last name and email domain, as indices into their pools."""
    firsts, lasts = name_pools(locale, seed)
    fi = rng.integers(0, len(firsts), n)
    li = rng.integers(0, len(lasts), n)
    di = rng.integers(0, len(DOMAINS), n)
    return fi, li, di


def customer_columns(
    currency_index: np.ndarray,
    currencies: list[str],
    has_second_email: np.ndarray,
    created_at: np.ndarray,
    picks: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    locale: str,
    seed: int,
) -> tuple[dict[str, pa.Array], pa.Array, pa.Array]:
    """The ``customers.csv`` columns for customers ``0..n-1`` with the given attributes.

    Parameters
    ----------
    currency_index: each customer's currency, an index into ``currencies`` (ISO codes).
    has_second_email: whether the customer also uses a second email.
    created_at: signup time, epoch seconds.
    picks: the name and domain indices from :func:`draw_name_picks`.

    Returns
    -------
    (columns, email, second_email)
        The columns in contract text (Arrow strings), and the two email columns ("" when none).
    """
    n = len(currency_index)
    firsts, lasts = name_pools(locale, seed)
    fi, li, di = picks
    first_arr = pa.array(np.asarray(firsts, dtype=object))
    last_arr = pa.array(np.asarray(lasts, dtype=object))
    first_slug = pa.array(np.asarray([_slug(f) for f in firsts], dtype=object))
    last_slug = pa.array(np.asarray([_slug(x) for x in lasts], dtype=object))
    number = np.arange(n, dtype=np.int64) + 1
    num_text = pc.cast(pa.array(number), pa.string())
    fs, ls = pc.take(first_slug, pa.array(fi)), pc.take(last_slug, pa.array(li))
    domain = pc.take(pa.array(np.asarray(DOMAINS, dtype=object)), pa.array(di))
    email = text.join(fs, ".", ls, ".", num_text, "@", domain)
    second = text.join(ls, ".", fs, ".", num_text, "@" + SECOND_EMAIL_DOMAIN)
    second = pc.if_else(pa.array(has_second_email), second, pa.scalar(None, pa.string()))
    cur_idx = np.asarray(currency_index, dtype=np.int64)
    country = [COUNTRY_OF.get(c, "US") for c in currencies]
    dial = pc.take(pa.array([_DIAL.get(c, "+1") for c in country], type=pa.string()), pa.array(cur_idx))
    phone = text.join(dial, "555", pc.utf8_lpad(num_text, 7, "0"))
    columns = {
        "customer_id": text.ids("C", number, 7),
        "first_name": pc.take(first_arr, pa.array(fi)),
        "last_name": pc.take(last_arr, pa.array(li)),
        "email": email,
        "second_email": second,
        "phone": phone,
        "country": pc.take(pa.array(country, type=pa.string()), pa.array(cur_idx)),
        "currency": pc.take(pa.array(list(currencies), type=pa.string()), pa.array(cur_idx)),
        "created_at": text.timestamps(created_at),
    }
    return columns, email, pc.fill_null(second, "")
