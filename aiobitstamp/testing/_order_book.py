"""The live order book of one market: resting orders with price-time priority.

Prices are integer ticks and amounts integer base units (see ``_numbers``). Each side keeps
its price levels in a sorted list of keys whose best price is at the end, so taking or
adding at the top of the book is O(1) and a new level costs one ``bisect.insort``. Each
level is a FIFO of entries (price-time priority); an entry is one order, synthetic
(``owner is None``) or a client's.

The book remembers which price levels each engine action touched (``pop_changes``): that is
the net change the market feed publishes as one ``BookChanged``. It also caches the wire
form of every aggregated level, so serving a deep book that changes several times a second
costs a join, not a re-format of thousands of rows.
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
    "half_spread",
]

BUY = 0
SELL = 1
# The deep book's order ids live below 1.1e15; ids of later orders are derived from time
# (see _engine) and are larger. All are 16 digits, like Bitstamp's.
SYNTHETIC_ID_BASE = 1_000_000_000_000_000
SYNTHETIC_ID_SPAN = 10_000_000_000_000
# The synthetic book spans at most this fraction of the centre price on each side.
_BOOK_SPAN = 0.25


class BookEntry:
    """One resting order in the book."""

    __slots__ = ("amount", "amount_at_create", "created_us", "order_id", "owner")

    def __init__(
        self,
        order_id: int,
        amount: int,
        owner: Order | None = None,
        *,
        amount_at_create: int | None = None,
        created_us: int = 0,
    ) -> None:
        self.order_id = order_id
        self.amount = amount
        self.owner = owner
        self.amount_at_create = amount if amount_at_create is None else amount_at_create
        self.created_us = created_us


class Match(NamedTuple):
    """One fill taken from the book: ``amount`` units at ``price`` ticks against ``entry``."""

    price: int
    amount: int
    entry: BookEntry


class _Side:
    """One side of the book. Keys are ``sign * price``, ascending, best at the end."""

    __slots__ = ("_keys", "_levels", "_rows", "_sign", "touched")

    def __init__(self, sign: int) -> None:
        self._sign = sign
        self._keys: list[int] = []
        self._levels: dict[int, list[BookEntry]] = {}
        self._rows: dict[int, bytes] = {}  # price -> cached '["price","amount"]'
        self.touched: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def best(self) -> int | None:
        return self._keys[-1] * self._sign if self._keys else None

    def levels(self) -> Iterator[tuple[int, list[BookEntry]]]:
        """Price levels from the best outwards."""
        sign, levels = self._sign, self._levels
        for key in reversed(self._keys):
            price = key * sign
            yield price, levels[price]

    def total(self, price: int) -> int:
        """The aggregate amount resting at ``price`` (0 when there is no level)."""
        level = self._levels.get(price)
        return sum(entry.amount for entry in level) if level else 0

    def _touch(self, price: int) -> None:
        self.touched.add(price)
        self._rows.pop(price, None)

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
        self._touch(price)

    def remove(self, price: int, entry: BookEntry) -> bool:
        level = self._levels.get(price)
        if level is None:
            return False
        for index, candidate in enumerate(level):
            if candidate is entry:
                del level[index]
                break
        else:
            return False
        if not level:
            self._drop_level(price)
        self._touch(price)
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
        sign = self._sign
        while amount > 0 and self._keys:
            price = self._keys[-1] * sign
            if limit is not None and (price - limit) * sign < 0:
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
            self._touch(price)
        return matches

    def available(self, limit: int | None, amount: int) -> int:
        """How much of ``amount`` could be taken at prices no worse than ``limit``."""
        found = 0
        for price, level in self.levels():
            if found >= amount or (limit is not None and (price - limit) * self._sign < 0):
                break
            found += sum(entry.amount for entry in level)
        return min(found, amount)

    def wire_levels(self, price_decimals: int, amount_decimals: int) -> bytes:
        """``[["price","amount"],...]`` best first, reusing each untouched level's bytes."""
        rows, levels, sign = self._rows, self._levels, self._sign
        parts = []
        for key in reversed(self._keys):
            price = key * sign
            row = rows.get(price)
            if row is None:
                total = sum(entry.amount for entry in levels[price])
                row = rows[price] = b'["%s","%s"]' % (
                    format_units(price, price_decimals).encode(),
                    format_units(total, amount_decimals).encode(),
                )
            parts.append(row)
        return b"[" + b",".join(parts) + b"]"


class OrderBook:
    """Bids and asks of one market.

    ``microtimestamp`` is that of the last change applied (see ``_feed``): a REST snapshot
    carries it, so a diff stream can be replayed onto it.
    """

    __slots__ = ("_cache", "asks", "bids", "market", "microtimestamp", "version")

    def __init__(self, market: MarketSpec, microtimestamp: int = 0) -> None:
        self.market = market
        self.bids = _Side(+1)
        self.asks = _Side(-1)
        self.version = 0
        self.microtimestamp = microtimestamp
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

    def best_bid(self) -> int | None:
        return self.bids.best()

    def best_ask(self) -> int | None:
        return self.asks.best()

    def add(self, side: int, price: int, entry: BookEntry) -> None:
        """Rest ``entry`` at the back of its price level."""
        self.resting_side(side).add(price, entry)
        self._changed()

    def remove(self, side: int, price: int, entry: BookEntry) -> bool:
        """Take a resting entry out of the book (cancel, expiry); False if it was not there."""
        removed = self.resting_side(side).remove(price, entry)
        if removed:
            self._changed()
        return removed

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

    def pop_changes(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
        """The new aggregate of every level touched since the last call, or None."""
        bids, asks = self.bids, self.asks
        if not bids.touched and not asks.touched:
            return None
        changed_bids = [(p, bids.total(p)) for p in sorted(bids.touched, reverse=True)]
        changed_asks = [(p, asks.total(p)) for p in sorted(asks.touched)]
        bids.touched.clear()
        asks.touched.clear()
        return changed_bids, changed_asks

    def aggregated(self, side: int, depth: int | None) -> list[tuple[int, int]]:
        """``(price, total)`` of the best ``depth`` levels (all when None) of a resting side."""
        rows: list[tuple[int, int]] = []
        for price, level in self.resting_side(side).levels():
            if depth is not None and len(rows) >= depth:
                break
            rows.append((price, sum(entry.amount for entry in level)))
        return rows

    def detailed(self, side: int, depth: int | None) -> list[tuple[int, BookEntry]]:
        """``(price, entry)`` of the best ``depth`` orders (all when None), in priority order."""
        rows: list[tuple[int, BookEntry]] = []
        for price, level in self.resting_side(side).levels():
            for entry in level:
                if depth is not None and len(rows) >= depth:
                    return rows
                rows.append((price, entry))
        return rows

    def wire_sides(self, group: int) -> tuple[bytes, bytes]:
        """The JSON arrays of bids and asks for ``order_book/?group=``, cached until a change.

        group 1 aggregates each price level; group 0 lists every order (several rows may share
        a price); group 2 adds the order id as a third column.
        """
        cached = self._cache.get(group)
        if cached is None:
            if group == 1:
                decimals = (self.market.counter_decimals, self.market.base_decimals)
                cached = (self.bids.wire_levels(*decimals), self.asks.wire_levels(*decimals))
            else:
                cached = (self._rows(self.bids, group), self._rows(self.asks, group))
            self._cache[group] = cached
        return cached

    def _rows(self, side: _Side, group: int) -> bytes:
        price_decimals = self.market.counter_decimals
        amount_decimals = self.market.base_decimals
        rows: list[list[str]] = []
        for price, level in side.levels():
            price_text = format_units(price, price_decimals)
            if group == 0:
                rows.extend([price_text, format_units(e.amount, amount_decimals)] for e in level)
            else:
                rows.extend(
                    [price_text, format_units(e.amount, amount_decimals), str(e.order_id)]
                    for e in level
                )
        return orjson.dumps(rows)


def half_spread(market: MarketSpec, centre: int) -> int:
    """Half the synthetic spread in ticks: about half a basis point, at least one tick."""
    return max(1, round(centre * 0.00005))


def build_synthetic_book(
    market: MarketSpec,
    *,
    seed: int,
    depth: int,
    index: int,
    centre: int | None = None,
    created_us: int = 0,
    id_offset: int = 0,
) -> OrderBook:
    """A deep, deterministic book around ``centre`` ticks (default: the reference price).

    ``depth`` levels per side (fewer when the tick is too coarse for that many levels within
    25% of the price), one to three orders per level, gaps of one to three ticks, sizes
    log-normal around the market's typical order value and growing away from the top.
    ``index`` gives each market its own range of order ids.
    """
    rng = random.Random(f"{seed}:{market.symbol}:book")
    book = OrderBook(market, created_us)
    centre = market.reference_ticks if centre is None else centre
    room = int(centre * _BOOK_SPAN)
    levels = max(1, min(depth, room))
    max_gap = max(1, min(3, room // levels))
    spread = half_spread(market, centre)
    unit_scale = 10**market.base_decimals
    tick = 10.0**-market.counter_decimals
    next_id = id_offset + SYNTHETIC_ID_BASE + index * SYNTHETIC_ID_SPAN + rng.randrange(10**9)
    for side, direction in ((book.bids, -1), (book.asks, +1)):
        price = centre + direction * spread
        for level in range(levels):
            if price <= 0:
                break
            growth = 1.0 + 2.0 * level / levels
            entries = []
            for _ in range(1 + (rng.random() < 0.5) + (rng.random() < 0.2)):
                value = market.typical_order_value * growth * math.exp(rng.gauss(0.0, 1.0))
                amount = max(1, round(value / (price * tick) * unit_scale))
                next_id += rng.randint(1, 4096)
                entries.append(BookEntry(next_id, amount, created_us=created_us))
            side.append_worse(price, entries)
            price += direction * rng.randint(1, max_gap)
    return book
