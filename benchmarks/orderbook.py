"""Local order book: diff updates applied per second, against a minimal float dict book.

A synthetic ``diff_order_book_`` stream is generated once (seeded): a book of ``--levels``
price levels a side, then messages of a few rows each, most of them touching levels near
the top, as on a live market (updates, deletes with ``"0"``/``"0.00000000"``, new levels).
Every round replays the same stream into a fresh book for each contender, in a shuffled
order, and the figures are medians over rounds, so machine noise moves all contenders alike.

Contenders:

* ``LocalOrderBook``: aiobitstamp's book (exact Decimal, sorted levels, stale and crossed
  checks).
* ``float dict``: the baseline, the least a book can do: two dicts, ``float()`` parsing, no
  ordering, no checks; reading its best bid or ask is ``max()``/``min()`` over a side.
* ``SortedDict``: the same Decimal parsing as ours, levels in ``sortedcontainers.SortedDict``
  (run when that package is installed): is a third-party sorted container worth depending
  on?

Two scenarios: applying diffs only, and applying diffs while reading the best bid and ask
after each one, as a trading loop does. ``ours/it`` is our throughput over the contender's
(the median of per-round ratios): above 1, aiobitstamp is faster.

    python -m benchmarks.orderbook [--rounds 7] [--messages 20000] [--levels 2000]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

import orjson

from aiobitstamp._orderbook import LocalOrderBook

Rows = list[list[str]]
Message = tuple[str, Rows, Rows]


class Book(Protocol):
    def apply_diff(self, microtimestamp: str, bids: Rows, asks: Rows) -> object: ...

    def top(self) -> tuple[object, object]: ...


# --------------------------------------------------------------------------------------------
# The stream


def price_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def amount_text(rng: random.Random) -> str:
    return f"{rng.randint(1, 5 * 10**8) / 10**8:.8f}"


def synthetic_feed(seed: int, levels: int, messages: int) -> tuple[Rows, Rows, list[Message]]:
    """A snapshot (bids, asks) and a stream of diffs that keeps the book uncrossed."""
    rng = random.Random(seed)
    mid = 6_000_000  # cents: 60000.00
    bids: list[int] = []  # descending: best first
    asks: list[int] = []  # ascending: best first
    price = mid - 1
    for _ in range(levels):
        bids.append(price)
        price -= rng.randint(1, 5)
    price = mid + 1
    for _ in range(levels):
        asks.append(price)
        price += rng.randint(1, 5)
    snapshot_bids = [[price_text(p), amount_text(rng)] for p in bids]
    snapshot_asks = [[price_text(p), amount_text(rng)] for p in asks]

    stamp = 1_700_000_000_000_000
    feed: list[Message] = []
    for _ in range(messages):
        stamp += rng.randint(50, 50_000)
        rows: tuple[Rows, Rows] = ([], [])
        for _ in range(1 + min(int(rng.expovariate(0.6)), 9)):
            is_bid = rng.random() < 0.5
            side, other = (bids, asks) if is_bid else (asks, bids)
            near = min(int(rng.expovariate(1 / 8)), len(side) - 1)
            roll = rng.random()
            if len(side) > levels * 1.05:
                roll = 0.6  # too many levels: delete
            elif len(side) < levels * 0.95:
                roll = 0.9  # too few: add
            if roll < 0.55:
                text = amount_text(rng)  # update a level near the top
                chosen = side[near]
            elif roll < 0.75:
                text = rng.choice(("0", "0.00000000", "0.00000"))  # delete it
                chosen = side.pop(near)
            else:
                # A new level anywhere from just inside the spread to a little below the top.
                if is_bid:
                    chosen = rng.randint(side[0] - 60, other[0] - 1)
                else:
                    chosen = rng.randint(other[0] + 1, side[0] + 60)
                if chosen in side[:80]:
                    text = amount_text(rng)
                else:
                    side.append(chosen)
                    side.sort(reverse=is_bid)
                    text = amount_text(rng)
            rows[0 if is_bid else 1].append([price_text(chosen), text])
        feed.append((str(stamp), rows[0], rows[1]))
    return snapshot_bids, snapshot_asks, feed


# --------------------------------------------------------------------------------------------
# The contenders


class Ours:
    __slots__ = ("apply_diff", "book")

    def __init__(self, bids: Rows, asks: Rows) -> None:
        self.book = LocalOrderBook()
        self.book.load_snapshot(bids, asks, "0")
        self.apply_diff = self.book.apply_diff

    def top(self) -> tuple[object, object]:
        return self.book.best_bid(), self.book.best_ask()


class FloatDictBook:
    """The baseline: what a minimal hand-written book does, and nothing more."""

    __slots__ = ("asks", "bids")

    def __init__(self, bids: Rows, asks: Rows) -> None:
        self.bids = {float(p): float(a) for p, a in bids}
        self.asks = {float(p): float(a) for p, a in asks}

    def apply_diff(self, microtimestamp: str, bids: Rows, asks: Rows) -> None:
        for side, rows in ((self.bids, bids), (self.asks, asks)):
            for price, amount in rows:
                quantity = float(amount)
                if quantity:
                    side[float(price)] = quantity
                else:
                    side.pop(float(price), None)

    def top(self) -> tuple[object, object]:
        bid = max(self.bids) if self.bids else None
        ask = min(self.asks) if self.asks else None
        return bid, ask


def sorted_dict_book() -> Callable[[Rows, Rows], Book] | None:
    try:
        from sortedcontainers import SortedDict  # type: ignore[import-untyped]
    except ImportError:
        return None

    class SortedDictBook:
        """Our parsing (interned Decimal prices), sortedcontainers for the ordering."""

        __slots__ = ("asks", "bids", "cache")

        def __init__(self, bids: Rows, asks: Rows) -> None:
            self.cache: dict[str, Decimal] = {}
            self.bids: Any = SortedDict({self.price(p): Decimal(a) for p, a in bids})
            self.asks: Any = SortedDict({self.price(p): Decimal(a) for p, a in asks})

        def price(self, text: str) -> Decimal:
            value = self.cache.get(text)
            if value is None:
                value = self.cache[text] = Decimal(text)
            return value

        def apply_diff(self, microtimestamp: str, bids: Rows, asks: Rows) -> None:
            cache = self.cache
            for side, rows in ((self.bids, bids), (self.asks, asks)):
                for price, amount in rows:
                    level = cache.get(price)
                    if level is None:
                        level = self.price(price)
                    quantity = Decimal(amount)
                    if quantity:
                        side[level] = quantity
                    else:
                        side.pop(level, None)

        def top(self) -> tuple[object, object]:
            bid = self.bids.peekitem(-1) if self.bids else None
            ask = self.asks.peekitem(0) if self.asks else None
            return bid, ask

    return SortedDictBook


# --------------------------------------------------------------------------------------------
# Measuring


def replay(book: Book, feed: Sequence[Message], read_top: bool) -> float:
    """Seconds to apply every message (reading the top after each when ``read_top``)."""
    apply_diff = book.apply_diff
    gc.disable()  # as timeit does: a collection landing in one contender's run is noise
    try:
        start = time.perf_counter()
        if read_top:
            top = book.top
            for stamp, bids, asks in feed:
                apply_diff(stamp, bids, asks)
                top()
        else:
            for stamp, bids, asks in feed:
                apply_diff(stamp, bids, asks)
        return time.perf_counter() - start
    finally:
        gc.enable()


def check_exact(bids: Rows, asks: Rows, feed: Sequence[Message]) -> None:
    """The speed is only worth quoting if the book ends where a plain dict of Decimals does."""
    book = Ours(bids, asks).book
    for stamp, diff_bids, diff_asks in feed:
        book.apply_diff(stamp, diff_bids, diff_asks)
    assert book.state.value == "live" and book.stale_dropped == 0
    expected_bids = {Decimal(p): Decimal(a) for p, a in bids}
    expected_asks = {Decimal(p): Decimal(a) for p, a in asks}
    for _, diff_bids, diff_asks in feed:
        for expected, rows in ((expected_bids, diff_bids), (expected_asks, diff_asks)):
            for price, amount in rows:
                if Decimal(amount):
                    expected[Decimal(price)] = Decimal(amount)
                else:
                    expected.pop(Decimal(price), None)
    assert [(level.price, level.amount) for level in book.bids()] == sorted(
        expected_bids.items(), reverse=True
    )
    assert [(level.price, level.amount) for level in book.asks()] == sorted(expected_asks.items())


def compare(
    contenders: dict[str, Callable[[Rows, Rows], Book]],
    bids: Rows,
    asks: Rows,
    feed: Sequence[Message],
    rounds: int,
    read_top: bool,
) -> dict[str, list[float]]:
    """Seconds per round for each contender; fresh books, shuffled order each round."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    rng = random.Random(1)
    for name in order:  # warm up
        replay(contenders[name](bids, asks), feed[:2000], read_top)
    wire = orjson.dumps(feed)
    for _ in range(rounds):
        rng.shuffle(order)
        for name in order:
            book = contenders[name](bids, asks)
            # Freshly decoded strings, as each frame's are: a string caches its hash, and
            # strings hashed in an earlier round would flatter whoever hashes them.
            fresh = orjson.loads(wire)
            samples[name].append(replay(book, fresh, read_top))
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.orderbook")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--levels", type=int, default=2_000, help="price levels a side")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    bids, asks, feed = synthetic_feed(args.seed, args.levels, args.messages)
    check_exact(bids, asks, feed)
    updates = sum(len(b) + len(a) for _, b, a in feed)
    contenders: dict[str, Callable[[Rows, Rows], Book]] = {
        "LocalOrderBook": Ours,
        "float dict": FloatDictBook,
    }
    sorted_dict = sorted_dict_book()
    if sorted_dict is not None:
        contenders["SortedDict"] = sorted_dict

    print(
        f"diff_order_book replay: {args.levels} levels a side, {len(feed)} messages, "
        f"{updates} level updates ({updates / len(feed):.2f} a message); "
        f"median of {args.rounds} rounds"
    )
    if sorted_dict is None:
        print("(sortedcontainers is not installed: SortedDict not measured)")
    print(f"\n{'scenario':32} {'contender':16} {'updates/s':>12} {'messages/s':>12} {'ours/it':>8}")
    for scenario, read_top in (("apply diffs", False), ("apply + best bid/ask each", True)):
        samples = compare(contenders, bids, asks, feed, args.rounds, read_top)
        ours = samples["LocalOrderBook"]
        for name, seconds in samples.items():
            median = statistics.median(seconds)
            # Throughput ratio per round (paired), then the median: ours / theirs > 1 = faster.
            ratio = statistics.median(b / a for a, b in zip(ours, seconds, strict=True))
            shown = "" if name == "LocalOrderBook" else f"{ratio:8.3f}"
            print(
                f"{scenario:32} {name:16} {updates / median:12,.0f} "
                f"{len(feed) / median:12,.0f} {shown:>8}"
            )


if __name__ == "__main__":
    main()
