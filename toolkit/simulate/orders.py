"""Orders and their line items: a small apparel catalog, prices per currency, discounts, tax.

Every amount is an integer of minor units. Line money follows the order of operations a Shopify
refund uses: ``net = price − allocated discount``, ``tax = net × tax %``, ``value = net + tax``,
each rounded half up per line with :mod:`toolkit.money`.

This module owns what was bought and what it cost; it must never decide what is returned or why.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from toolkit.money import scale_minor_array

__all__ = ["CATALOG_FAMILIES", "Catalog", "LineItems", "build_catalog", "draw_lines"]

#: family code -> (USD price range, popularity weight)
CATALOG_FAMILIES: dict[str, tuple[tuple[int, int], float]] = {
    "TEE": ((18, 35), 3.0), "SHIRT": ((35, 70), 2.0), "JEAN": ((60, 120), 2.0),
    "DRESS": ((50, 140), 2.0), "JACKET": ((90, 220), 1.0), "SWTR": ((45, 110), 1.2),
    "SKRT": ((35, 80), 1.0), "SHRT": ((25, 50), 1.2), "SOCK": ((6, 12), 1.0),
    "HAT": ((15, 35), 0.6), "BELT": ((20, 45), 0.5), "SCRF": ((9, 40), 0.5), "SNKR": ((70, 150), 1.0),
}
_SIZES = ("XS", "S", "M", "L", "XL")
_COLORS = ("BLK", "WHT", "NAV", "RED", "GRN", "GRY")


@dataclass(frozen=True)
class Catalog:
    """Products: SKU text, popularity and price in minor units per shop currency."""

    sku: np.ndarray          # object, one per product
    weight: np.ndarray       # float, sums to 1
    price_minor: np.ndarray  # int64, shape (currencies, products)


@dataclass(frozen=True)
class LineItems:
    """Returned lines, one row per item (quantity 1), grouped by return."""

    return_index: np.ndarray  # int64, which return request
    position: np.ndarray      # int64, 0-based line number inside its return
    product: np.ndarray       # int64, catalog index
    price_minor: np.ndarray   # int64
    discount_minor: np.ndarray
    tax_minor: np.ndarray

    @property
    def net_minor(self) -> np.ndarray:
        return self.price_minor - self.discount_minor

    @property
    def value_minor(self) -> np.ndarray:
        return self.price_minor - self.discount_minor + self.tax_minor


def build_catalog(price_scales: list[Decimal], rng: np.random.Generator, products: int = 240) -> Catalog:
    """A seeded catalog priced in each currency (``price_scales`` in shop currency order)."""
    fams = list(CATALOG_FAMILIES)
    fam = np.arange(products) % len(fams)
    style = np.arange(products) // len(fams) + 1
    lo = np.array([CATALOG_FAMILIES[f][0][0] for f in fams])[fam]
    hi = np.array([CATALOG_FAMILIES[f][0][1] for f in fams])[fam]
    # Prices end in .00 or .95 like a real price list (USD cents).
    whole = rng.integers(lo, hi + 1)
    usd_cents = whole * 100 - np.where(rng.random(products) < 0.5, 5, 0)
    size = rng.integers(0, len(_SIZES), products)
    color = rng.integers(0, len(_COLORS), products)
    sku = np.array(
        [f"{fams[f]}-{s:02d}-{_SIZES[z]}-{_COLORS[c]}" for f, s, z, c in zip(fam, style, size, color, strict=True)],
        dtype=object,
    )
    weight = np.array([CATALOG_FAMILIES[f][1] for f in fams])[fam] * rng.gamma(2.0, 0.5, products)
    prices = np.stack([scale_minor_array(usd_cents, scale * 100) for scale in price_scales])
    return Catalog(sku=sku, weight=weight / weight.sum(), price_minor=prices.astype(np.int64))


def draw_lines(
    item_count: np.ndarray,
    currency_index: np.ndarray,
    discount_pct: np.ndarray,
    tax_pct: list[Decimal],
    catalog: Catalog,
    rng: np.random.Generator,
) -> LineItems:
    """Line items for every return: products, prices, allocated discount and tax.

    Parameters
    ----------
    item_count: lines per return.
    currency_index: per return, index into ``catalog.price_minor`` and ``tax_pct``.
    discount_pct: per return, the order's discount in whole percent.
    """
    n_lines = int(item_count.sum())
    ret = np.repeat(np.arange(len(item_count), dtype=np.int64), item_count)
    starts = np.cumsum(item_count) - item_count
    position = np.arange(n_lines, dtype=np.int64) - np.repeat(starts, item_count)
    product = rng.choice(len(catalog.sku), size=n_lines, p=catalog.weight)
    cur = currency_index[ret]
    price = catalog.price_minor[cur, product]
    pct = discount_pct[ret].astype(np.int64)
    discount = (2 * price * pct + 100) // 200  # half up of price × pct / 100, all non-negative
    net = price - discount
    tax = np.zeros(n_lines, dtype=np.int64)
    for ci, rate in enumerate(tax_pct):
        sel = cur == ci
        if sel.any() and rate:
            tax[sel] = scale_minor_array(net[sel], rate)
    return LineItems(ret, position, product.astype(np.int64), price, discount, tax)
