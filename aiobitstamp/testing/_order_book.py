"""The live order book of one market: deep synthetic liquidity plus resting client orders.

Prices are integer ticks and amounts integer base units (see ``_numbers``). Each side keeps
its price levels in a sorted list of keys whose best price is at the end, so taking or
adding at the top of the book is O(1) and a new level costs one ``bisect.insort``. Each
level is a FIFO of entries (price-time priority); an entry is one order, synthetic
(``owner is None``) or a client's.

Serving a 5,000-level book is the hot path of public market data, so each grouping's JSON
fragment is built once and cached until the book changes.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import orjson

from ._numbers import format_units

if TYPE_CHECKING:
    from ._accounts import Order
    from ._market_data import MarketSpec

__all__ = [
    "BUY",
    "SELL",
    "BookEntry",
    "Match",
    "OrderBook",
    "build_synthetic_book",
    "synthetic_top",
]

BUY = 0
SELL = 1
# Synthetic order ids live below 1.1e15, client order ids above it (see _trading); both are
# 16 digits and below 2**53, so they survive clients that parse JSON numbers as doubles.
SYNTHETIC_ID_BASE = 1_000_000_000_000_000
SYNTHETIC_ID_SPAN = 10_000_000_000_000
# The synthetic book spans at most this fraction of the reference price on each side.
_BOOK_SPAN = 0.25


class BookEntry:
    """One resting order in the book."""

    __slots__ = ("amount", "order_id", "owner")

    def __init__(self, order_id: int, amount: int, owner: Order | None = None) -> None:
        self.order_id = order_id
        self.amount = amount
        self.owner = owner


class Match(NamedTuple):
    """One fill taken from the book: ``amount`` units at ``price`` ticks against ``entry``."""

    price: int
    amount: int
    entry: BookEntry


class _Side:
    """One side of the book. Keys are ``sign * price``, ascending, best at the end."""

    __slots__ = ("_keys", "_levels", "_sign")

    def __init__(self, sign: int) -> None:
        self._sign = sign
        self._keys: list[int] = []
        self._levels: dict[int, list[BookEntry]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def best(self) -> int | None:
        return self._keys[-1] * self._sign if self._keys else None

    def levels(self) -> Iterator[tuple[int, list[BookEntry]]]:
        """Price levels from the best outwards."""
        for key in reversed(self._keys):
            price = key * self._sign
            yield price, self._levels[price]

    def append_worse(self, price: int, entries: list[BookEntry]) -> None:
        """Add a level worse than every existing one (used while building the book)."""
        self._keys.insert(0, price * self._sign)
        self._levels[price] = entries

    def add(self, price: int, entry: BookEntry) -> None:
        level = self._levels.get(price)
        if level is None:
            bisect.insort(self._keys, price * self._sign)
            level = self._levels[price] = []
        level.append(entry)

    def remove(self, price: int, entry: BookEntry) -> bool:
        level = self._levels.get(price)
        if level is None or entry not in level:
            return False
        level.remove(entry)
        if not level:
            self._drop_level(price)
        return True

    def _drop_level(self, price: int) -> None:
        del self._levels[price]
        key = price * self._sign
        if self._keys[-1] == key:
            self._keys.pop()
        else:
            del self._keys[bisect.bisect_left(self._keys, key)]

    def take(self, limit: int | None, amount: int) -> list[Match]:
        """Remove up to ``amount`` from the best levels priced no worse than ``limit``."""
        matches: list[Match] = []
        while amount > 0 and self._keys:
            price = self._keys[-1] * self._sign
            if limit is not None and (price - limit) * self._sign < 0:
                break
            level = self._levels[price]
            while amount > 0 and level:
                entry = level[0]
                filled = min(amount, entry.amount)
                matches.append(Match(price, filled, entry))
                entry.amount -= filled
                amount -= filled
                if entry.amount == 0:
                    level.pop(0)
            if not level:
                self._drop_level(price)
        return matches

    def available(self, limit: int | None, amount: int) -> int:
        """How much of ``amount`` could be taken at prices no worse than ``limit``."""
        found = 0
        for price, level in self.levels():
            if found >= amount or (limit is not None and (price - limit) * self._sign < 0):
                break
            found += sum(entry.amount for entry in level)
        return min(found, amount)


class OrderBook:
    """Bids and asks of one market, with cached wire forms per ``group``."""

    __slots__ = ("_cache", "asks", "bids", "market", "version")

    def __init__(self, market: MarketSpec) -> None:
        self.market = market
        self.bids = _Side(+1)
        self.asks = _Side(-1)
        self.version = 0
        self._cache: dict[int, tuple[bytes, bytes]] = {}

    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()

    def resting_side(self, side: int) -> _Side:
        """Where an order of ``side`` rests: buys on the bids."""
        return self.bids if side == BUY else self.asks

    def opposite_side(self, side: int) -> _Side:
        """What an order of ``side`` takes from: buys take the asks."""
        return self.asks if side == BUY else self.bids

    def add(self, side: int, price: int, entry: BookEntry) -> None:
        """Rest ``entry`` at the back of its price level."""
        self.resting_side(side).add(price, entry)
        self._changed()

    def remove(self, side: int, price: int, entry: BookEntry) -> None:
        """Take a resting entry out of the book (cancel, expiry)."""
        if self.resting_side(side).remove(price, entry):
            self._changed()

    def take(self, side: int, limit: int | None, amount: int) -> list[Match]:
        """Match an incoming order of ``side`` against the opposite side, best price first."""
        matches = self.opposite_side(side).take(limit, amount)
        if matches:
            self._changed()
        return matches

    def available(self, side: int, limit: int | None, amount: int) -> int:
        """How much an incoming order of ``side`` could fill right now, without filling it."""
        return self.opposite_side(side).available(limit, amount)

    def crosses(self, side: int, price: int) -> bool:
        """Would an order of ``side`` at ``price`` trade immediately?"""
        best = self.opposite_side(side).best()
        if best is None:
            return False
        return price >= best if side == BUY else price <= best

    def wire_sides(self, group: int) -> tuple[bytes, bytes]:
        """The JSON arrays of bids and asks for ``order_book/?group=``, cached until a change.

        group 1 aggregates each price level; group 0 lists every order (several rows may share
        a price); group 2 adds the order id as a third column.
        """
        cached = self._cache.get(group)
        if cached is None:
            cached = self._cache[group] = (
                self._rows(self.bids, group),
                self._rows(self.asks, group),
            )
        return cached

    def _rows(self, side: _Side, group: int) -> bytes:
        price_decimals = self.market.counter_decimals
        amount_decimals = self.market.base_decimals
        rows: list[list[str]] = []
        for price, level in side.levels():
            price_text = format_units(price, price_decimals)
            if group == 1:
                total = sum(entry.amount for entry in level)
                rows.append([price_text, format_units(total, amount_decimals)])
            elif group == 0:
                rows.extend([price_text, format_units(e.amount, amount_decimals)] for e in level)
            else:
                rows.extend(
                    [price_text, format_units(e.amount, amount_decimals), str(e.order_id)]
                    for e in level
                )
        return orjson.dumps(rows)


def _half_spread(market: MarketSpec) -> int:
    """Half the synthetic spread in ticks: about half a basis point, at least one tick."""
    return max(1, round(market.reference_ticks * 0.00005))


def synthetic_top(market: MarketSpec) -> tuple[int, int]:
    """Best bid and ask of a synthetic book that nobody has traded against yet."""
    centre = market.reference_ticks
    return centre - _half_spread(market), centre + _half_spread(market)


def build_synthetic_book(market: MarketSpec, *, seed: int, depth: int, index: int) -> OrderBook:
    """A deep, deterministic book around the market's reference price.

    ``depth`` levels per side (fewer when the tick is too coarse for that many levels within
    25% of the price), one to three orders per level, gaps of one to three ticks, sizes
    log-normal around the market's typical order value and growing away from the top.
    ``index`` gives each market its own range of order ids.
    """
    rng = random.Random(f"{seed}:{market.symbol}:book")
    book = OrderBook(market)
    centre = market.reference_ticks
    room = int(centre * _BOOK_SPAN)
    levels = max(1, min(depth, room))
    max_gap = max(1, min(3, room // levels))
    half_spread = _half_spread(market)
    unit_scale = 10**market.base_decimals
    tick = 10.0**-market.counter_decimals
    next_id = SYNTHETIC_ID_BASE + index * SYNTHETIC_ID_SPAN + rng.randrange(10**9)
    for side, direction in ((book.bids, -1), (book.asks, +1)):
        price = centre + direction * half_spread
        for level in range(levels):
            if price <= 0:
                break
            growth = 1.0 + 2.0 * level / levels
            entries = []
            for _ in range(1 + (rng.random() < 0.5) + (rng.random() < 0.2)):
                value = market.typical_order_value * growth * math.exp(rng.gauss(0.0, 1.0))
                amount = max(1, round(value / (price * tick) * unit_scale))
                next_id += rng.randint(1, 4096)
                entries.append(BookEntry(next_id, amount))
            side.append_worse(price, entries)
            price += direction * rng.randint(1, max_gap)
    return book
