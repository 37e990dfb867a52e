"""Streams: decode and book throughput, and tick-to-order latency, against raw aiohttp.

The emulator's WebSocket endpoint runs in another process and replays one deterministic
feed (trades, or book diffs) as fast as its socket takes it, to one contender at a time:

* **trades/s** decoded: raw aiohttp + orjson (a dict per frame) against aiobitstamp's
  typed ``LiveTrade`` (exact ``Decimal`` price and amount, exact ids, de-duplication by
  id) and ccxt pro's ``watch_trades`` (floats; trades it dropped are counted);
* **diffs/s** applied: raw aiohttp + orjson applying each diff to a dict of strings,
  against aiobitstamp's ``LiveOrderBook`` (exact ``Decimal`` levels, sorted ladder, stale
  and crossed checks; checked equal to the true final book) and ccxt pro's
  ``watch_order_book``;
* **tick-to-order latency**: from a diff leaving the emulator (its microtimestamp is the
  wall clock when sent) through the local book to a limit order entering the client's
  transport, after signing and the client's rate limiter: aiobitstamp's book against raw
  aiohttp with a hand-written book, both sending through the same ``Client.buy_limit``.

The emulator renders the feed's frames once and replays them as a firehose (as fast as the
socket takes them), so every contender always has frames waiting and runs at its own
speed. Throughput is counted in messages per CPU-second of this process
(``time.process_time`` over the span from first to last message). Each round runs every
contender once in a shuffled order; the best round of each is compared (interference on a
shared machine only slows runs down), with the median of per-round ratios beside it.

    python -m benchmarks streams [--rounds 5] [--trades 200000] [--diffs 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import pickle
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import orjson

from aiobitstamp import Client, MockTransport, Response
from aiobitstamp.streams import Backoff, LiveTrade, StreamHub, StreamOptions
from aiobitstamp.streams._book import LiveOrderBook
from aiobitstamp.streams._connection import _RAW_TEXT
from aiobitstamp.testing import FakeBitstamp
from aiobitstamp.testing._feed import BookChanged, MarketFeed, TradePrinted
from aiobitstamp.testing._ws_server import FakeWebSocketServer

TRADES_MARKET = "tradesbench"
DIFFS_MARKET = "diffbench"
LATENCY_MARKET = "latencybench"
NEVER_WAIT = ((10**9, 1.0), (10**9, 600.0))
OPTIONS = StreamOptions(
    ping_interval=None,
    heartbeat_interval=30.0,
    quiet_timeout=60.0,
    buffer_size=10**6,
    backoff=Backoff(initial=0.05, maximum=0.5),
)

try:
    import ccxt.pro as ccxtpro
except ImportError:  # ccxt is a dev extra
    ccxtpro = None


# -- the feed: recorded once from the emulator's living market ---------------------------

Levels = dict[Decimal, Decimal]


@dataclass
class Feed:
    """What the emulator's BTC/USD market printed: its book when recording began, then
    every trade and every book change, renamed to the benchmark's markets."""

    trades: list[TradePrinted]
    book: tuple[Levels, Levels]
    diffs: list[BookChanged]

    @property
    def last_trade_id(self) -> str:
        return str(self.trades[-1].trade_id)


def record_feed(trades: int, diffs: int, seed: int = 3) -> Feed:
    """Run the emulator's matching engine (synthetic makers, takers, sweeps) on a fixed
    clock until it has printed ``trades`` trades and ``diffs`` book changes."""
    start = 1_700_000_000.0
    fake = FakeBitstamp(rate_limits=None, wall_clock=lambda: start, genesis=start, seed=seed)
    _, bids, asks = fake.book_snapshot("btcusd")
    printed: list[TradePrinted] = []
    changes: list[BookChanged] = []

    def record(event: object) -> None:
        if isinstance(event, TradePrinted) and event.market == "btcusd":
            printed.append(dataclasses.replace(event, market=TRADES_MARKET))
        elif isinstance(event, BookChanged) and event.market == "btcusd":
            changes.append(dataclasses.replace(event, market=DIFFS_MARKET))

    fake.feed.subscribe(record)
    fake.message_rate = 50_000
    while len(printed) < trades or len(changes) < diffs:
        fake.advance(1.0)
    return Feed(printed[:trades], (dict(bids), dict(asks)), changes[:diffs])


def replay(book: tuple[Levels, Levels], diffs: list[BookChanged]) -> tuple[Levels, Levels]:
    """The book after ``diffs``."""
    bids, asks = dict(book[0]), dict(book[1])
    for diff in diffs:
        for side, levels in ((bids, diff.bids), (asks, diff.asks)):
            for price, amount in levels:
                if amount:
                    side[price] = amount
                else:
                    side.pop(price, None)
    return bids, asks


def rows(levels: Levels, reverse: bool) -> list[list[str]]:
    return [
        [f"{price:f}", f"{amount:f}"] for price, amount in sorted(levels.items(), reverse=reverse)
    ]


# -- the emulator side --------------------------------------------------------------------


async def serve(loaded: Feed, latency_rate: float, latency_count: int) -> None:
    feed = MarketFeed()
    server = FakeWebSocketServer(feed, ping_interval=None, max_outbox=10**8)
    # The emulator's own frames for the recorded feed, rendered once: the replay is then a
    # firehose no consumer can outrun, so what is measured is the consumer.
    rendered = server.render([*loaded.trades, *loaded.diffs])
    tasks: set[asyncio.Task[None]] = set()

    async def replay(channel: str) -> None:
        await server.replay(channel, rendered[channel])

    async def ticks() -> None:
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        rng = random.Random(3)
        for index in range(latency_count):
            await asyncio.sleep(max(0.0, started + index / latency_rate - loop.time()))
            price = Decimal(49_000 + rng.randint(0, 999))
            feed.publish(
                BookChanged(LATENCY_MARKET, time.time_ns() // 1000, ((price, Decimal("0.5")),), ())
            )

    def start(market: str) -> None:
        work = {
            TRADES_MARKET: lambda: replay("live_trades_" + TRADES_MARKET),
            DIFFS_MARKET: lambda: replay("diff_order_book_" + DIFFS_MARKET),
            LATENCY_MARKET: ticks,
        }.get(market)
        if work is not None:
            task = asyncio.get_running_loop().create_task(work())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    server.on_subscribe = start
    await server.start()
    print(server.url, flush=True)
    await asyncio.Event().wait()


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Span:
    """CPU and wall time from the first message to the last."""

    messages: int = 0
    cpu0: float = 0.0
    wall0: float = 0.0
    cpu: float = 0.0
    wall: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def first(self) -> None:
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()

    def last(self) -> None:
        self.cpu = time.process_time() - self.cpu0
        self.wall = time.perf_counter() - self.wall0

    @property
    def per_cpu_second(self) -> float:
        return self.messages / self.cpu if self.cpu else float("inf")

    @property
    def per_wall_second(self) -> float:
        return self.messages / self.wall if self.wall else float("inf")


async def raw_subscribe(session: aiohttp.ClientSession, url: str, channel: str) -> Any:
    # As aiobitstamp does: text frames as bytes, straight into orjson (aiohttp >= 3.13).
    extra: dict[str, Any] = {"decode_text": False} if _RAW_TEXT else {}
    ws = await session.ws_connect(url, compress=0, **extra)
    await ws.send_str(
        orjson.dumps({"event": "bts:subscribe", "data": {"channel": channel}}).decode()
    )
    return ws


async def trades_raw(url: str, count: int, _: Any) -> Span:
    span = Span()
    async with aiohttp.ClientSession() as session:
        ws = await raw_subscribe(session, url, "live_trades_" + TRADES_MARKET)
        loads = orjson.loads
        touched = 0
        async for message in ws:
            frame = loads(message.data)
            if frame["event"] == "trade":
                if span.messages == 0:
                    span.first()
                data = frame["data"]
                touched += len(data["price_str"]) + len(data["amount_str"]) + data["id"] % 2
                span.messages += 1
                if span.messages == count:
                    break
        span.last()
        await ws.close()
    return span


async def trades_aiobitstamp(url: str, count: int, _: Any) -> Span:
    """Typed trades, reading each one's id, and price and amount as exact Decimals (read,
    not summed: the raw contender reads its strings and does no arithmetic either)."""
    span = Span()
    hub = StreamHub(url, options=OPTIONS)
    async with hub, hub.subscribe("live_trades_" + TRADES_MARKET) as trades:
        async for trade in trades:
            if span.messages == 0:
                span.first()
            assert isinstance(trade, LiveTrade)
            trade_id, price, amount = trade.id, trade.price, trade.amount
            span.messages += 1
            if span.messages == count:
                break
        span.last()
    span.extra["check"] = (trade_id, price, amount)
    return span


async def trades_aiobitstamp_unread(url: str, count: int, _: Any) -> Span:
    """Typed trades passed along without reading their values (parsed when read)."""
    span = Span()
    hub = StreamHub(url, options=OPTIONS)
    async with hub, hub.subscribe("live_trades_" + TRADES_MARKET) as trades:
        async for trade in trades:
            if span.messages == 0:
                span.first()
            assert trade.__class__ is LiveTrade
            span.messages += 1
            if span.messages == count:
                break
        span.last()
    return span


def ccxt_market(market_id: str, symbol: str) -> dict[str, Any]:
    base, quote = symbol.split("/")
    unlimited = {"min": None, "max": None}
    return {
        "id": market_id, "symbol": symbol, "base": base, "quote": quote,
        "baseId": base.lower(), "quoteId": quote.lower(), "type": "spot", "spot": True,
        "active": True, "precision": {"amount": 1e-8, "price": 0.01},
        "limits": {"amount": unlimited, "price": unlimited, "cost": unlimited},
    }  # fmt: skip


async def trades_ccxt(url: str, count: int, feed: Feed) -> Span:
    assert ccxtpro is not None
    span = Span()
    exchange = ccxtpro.bitstamp({"urls": {"api": {"ws": url}}})
    exchange.set_markets([ccxt_market(TRADES_MARKET, "TB/USD")])
    last_id = feed.last_trade_id
    try:
        while True:
            trades = await exchange.watch_trades("TB/USD")
            if span.messages == 0:
                span.first()
            span.messages += len(trades)
            if trades[-1]["id"] == last_id:
                break
        span.last()
    finally:
        await exchange.close()
    span.extra["lost"] = count - span.messages
    span.messages = count  # every trade went through its parser, kept or not
    return span


async def diffs_raw(url: str, count: int, feed: Feed) -> Span:
    span = Span()
    book = feed.book
    bids = {f"{price:f}": f"{amount:f}" for price, amount in book[0].items()}
    asks = {f"{price:f}": f"{amount:f}" for price, amount in book[1].items()}
    async with aiohttp.ClientSession() as session:
        ws = await raw_subscribe(session, url, "diff_order_book_" + DIFFS_MARKET)
        loads = orjson.loads
        async for message in ws:
            frame = loads(message.data)
            if frame["event"] != "data":
                continue
            if span.messages == 0:
                span.first()
            data = frame["data"]
            for side, levels in ((bids, data["bids"]), (asks, data["asks"])):
                for price, amount in levels:
                    if float(amount) == 0:
                        side.pop(price, None)
                    else:
                        side[price] = amount
            span.messages += 1
            if span.messages == count:
                break
        span.last()
        await ws.close()
    return span


async def diffs_aiobitstamp(url: str, count: int, feed: Feed) -> Span:
    span = Span()
    first = feed.diffs[0].microtimestamp - 1
    snapshot = (first, rows(feed.book[0], True), rows(feed.book[1], False))

    async def rest_book(pair: str) -> tuple[int, list[Any], list[Any]]:
        return snapshot

    done = asyncio.Event()
    replayed = -1  # diffs applied before the span: buffered, replayed over the snapshot

    def applied(live: LiveOrderBook) -> None:
        # Counted as the raw contender counts, one increment per diff. The first call
        # ends the initial sync, which replayed the diffs buffered meanwhile: the span
        # starts there.
        nonlocal replayed
        if replayed < 0:
            replayed = live.diffs_applied
            span.first()
            if replayed >= count:  # never in practice: the snapshot comes at once
                span.last()
                done.set()
            return
        span.messages += 1
        if replayed + span.messages >= count:
            span.last()
            done.set()

    async with StreamHub(url, options=OPTIONS, rest_book=rest_book) as hub:
        live = LiveOrderBook(hub, DIFFS_MARKET, rest_snapshot=rest_book)
        live.on_update = applied
        async with live:
            await done.wait()
            span.extra["book"] = live
            span.extra["best"] = (live.best_bid(), live.best_ask())
            span.extra["levels"] = (live.bids(), live.asks())
    return span


async def diffs_ccxt(url: str, count: int, feed: Feed) -> Span:
    assert ccxtpro is not None
    span = Span()
    diffs = feed.diffs
    # ccxt caches 6 diffs, then asks REST for a snapshot it requires to be at least as new
    # as the first cached one: give it the book as it stands after the sixth diff.
    bids, asks = replay(feed.book, diffs[:6])
    snapshot = {
        "bids": [[float(p), float(a)] for p, a in sorted(bids.items(), reverse=True)],
        "asks": [[float(p), float(a)] for p, a in sorted(asks.items())],
        "nonce": diffs[5].microtimestamp,
        "timestamp": diffs[5].microtimestamp // 1000,
        "datetime": None,
        "symbol": "DB/USD",
    }

    class Bitstamp(ccxtpro.bitstamp):  # type: ignore[misc]
        async def fetch_rest_order_book_safe(self, *args: Any, **kwargs: Any) -> Any:
            return self.order_book(snapshot)

    exchange = Bitstamp({"urls": {"api": {"ws": url}}})
    exchange.set_markets([ccxt_market(DIFFS_MARKET, "DB/USD")])
    last = diffs[-1].microtimestamp
    # ccxt may handle many frames before it first resolves: time from the subscription.
    span.first()
    try:
        while True:
            order_book = await exchange.watch_order_book("DB/USD")
            if order_book["nonce"] >= last:
                break
        span.last()
    finally:
        await exchange.close()
    span.messages = count
    return span


# -- tick to order -----------------------------------------------------------------------


def order_client(latencies: list[int]) -> Client:
    """A client whose transport answers every order at once and notes its latency: now
    minus the tick's microtimestamp, which travels as the order's ``client_order_id``."""
    answer = orjson.dumps({
        "id": "1234567890123456", "datetime": "2024-01-01 00:00:00.000000", "type": "0",
        "price": "49000", "amount": "0.01000000", "market": "BTC/USD",
    })  # fmt: skip

    def send(request: Any) -> Response:
        now = time.time_ns() // 1000
        form = dict(urllib.parse.parse_qsl(request.body.decode()))
        latencies.append(now - int(form["client_order_id"]))
        return Response(200, {"Content-Type": "application/json"}, answer)

    return Client(
        "benchkey0001", "bench-secret", transport=MockTransport(send),
        rate_limits=NEVER_WAIT, validate_markets=False, verify_response_signature=False,
    )  # fmt: skip


async def latency_aiobitstamp(url: str, count: int, _: Any) -> Span:
    latencies: list[int] = []
    ticks = 0
    span = Span()
    tasks: set[asyncio.Task[Any]] = set()

    async def rest_book(pair: str) -> tuple[int, list[Any], list[Any]]:
        return 0, [], []

    async with order_client(latencies) as client, StreamHub(url, options=OPTIONS) as hub:
        live = LiveOrderBook(hub, LATENCY_MARKET, rest_snapshot=rest_book)
        done = asyncio.Event()

        def quote(book: LiveOrderBook) -> None:
            nonlocal ticks
            best, micros = book.best_bid(), book.microtimestamp
            if best is None or not micros:
                return
            ticks += 1
            order = client.buy_limit("btcusd", "0.01", best.price, client_order_id=str(micros))
            task = asyncio.ensure_future(order)
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if ticks >= count:
                done.set()

        async with live:
            live.on_update = quote
            await done.wait()
            while tasks:
                await asyncio.gather(*tasks)
    span.extra["latencies"] = latencies
    return span


async def latency_raw(url: str, count: int, _: Any) -> Span:
    latencies: list[int] = []
    ticks = 0
    span = Span()
    tasks: set[asyncio.Task[Any]] = set()
    ladder: list[Decimal] = []  # bid prices, ascending: best last
    amounts: dict[Decimal, Decimal] = {}
    async with order_client(latencies) as client, aiohttp.ClientSession() as session:
        ws = await raw_subscribe(session, url, "diff_order_book_" + LATENCY_MARKET)
        async for message in ws:
            frame = orjson.loads(message.data)
            if frame["event"] != "data":
                continue
            data = frame["data"]
            for price_text, amount_text in data["bids"]:
                price, amount = Decimal(price_text), Decimal(amount_text)
                if amount:
                    if price not in amounts:
                        bisect.insort(ladder, price)
                    amounts[price] = amount
                elif amounts.pop(price, None) is not None:
                    del ladder[bisect.bisect_left(ladder, price)]
            ticks += 1
            order = client.buy_limit(
                "btcusd", "0.01", ladder[-1], client_order_id=data["microtimestamp"]
            )
            task = asyncio.ensure_future(order)
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if ticks >= count:
                break
        while tasks:
            await asyncio.gather(*tasks)
        await ws.close()
    span.extra["latencies"] = latencies
    return span


# -- the run -----------------------------------------------------------------------------


Contender = Callable[[str, int, Any], Awaitable[Span]]


def percentile(values: list[int], share: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))])


async def run(url: str, args: argparse.Namespace, feed: Feed) -> None:
    scenarios: list[tuple[str, int, Any, dict[str, Contender]]] = [
        ("trades", args.trades, feed, {"raw aiohttp+orjson": trades_raw,
                                       "aiobitstamp": trades_aiobitstamp,
                                       "aiobitstamp unread": trades_aiobitstamp_unread}),
        ("diffs", args.diffs, feed, {"raw aiohttp+orjson": diffs_raw,
                                     "aiobitstamp": diffs_aiobitstamp}),
    ]  # fmt: skip
    if ccxtpro is not None:
        scenarios[0][3]["ccxt pro"] = trades_ccxt
        scenarios[1][3]["ccxt pro"] = diffs_ccxt
    final_bids, final_asks = replay(feed.book, feed.diffs)
    truth = sorted(final_bids.items(), reverse=True), sorted(final_asks.items())
    for name, count, extra, contenders in scenarios:
        results: dict[str, list[Span]] = {key: [] for key in contenders}
        for _ in range(args.rounds):
            order = list(contenders)
            random.shuffle(order)
            for key in order:
                span = await contenders[key](url, count, extra)
                results[key].append(span)
                if name == "trades" and key == "aiobitstamp":
                    # The last trade read is the feed's, to the last digit.
                    printed = feed.trades[count - 1]
                    expected = (str(printed.trade_id), printed.price, printed.amount)
                    assert span.extra["check"] == expected, "trades differ"
                if name == "diffs" and key == "aiobitstamp":
                    bids, asks = span.extra["levels"]
                    assert [(lv.price, lv.amount) for lv in bids] == truth[0], "book differs"
                    assert [(lv.price, lv.amount) for lv in asks] == truth[1], "book differs"
        report(name, count, results)
    latency: dict[str, list[int]] = {"raw aiohttp + hand-written book": [], "aiobitstamp": []}
    for _ in range(args.rounds):
        for key, contender in (
            ("raw aiohttp + hand-written book", latency_raw),
            ("aiobitstamp", latency_aiobitstamp),
        ):
            span = await contender(url, args.ticks, None)
            latency[key].extend(span.extra["latencies"][20:])  # after warm-up
    print(f"\ntick-to-order latency, µs (diff sent -> order at the transport), {args.ticks} "
          f"ticks x {args.rounds} rounds:")  # fmt: skip
    base = latency["raw aiohttp + hand-written book"]
    for key, values in latency.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(
            f"  {key:34s} p50 {p50:8.0f}  p99 {p99:8.0f}   "
            f"(x{p50 / percentile(base, 0.5):.2f} / x{p99 / percentile(base, 0.99):.2f} raw)"
        )


def report(name: str, count: int, results: dict[str, list[Span]]) -> None:
    """Best and median over rounds. On a shared machine interference only ever slows a
    run down, so each contender's best round is the estimate of what it costs, and the
    ratio compares bests; the median ratio of rounds (each contender against the raw run
    of its own round) is printed beside it."""
    rounds = len(results["raw aiohttp+orjson"])
    unit = "trades" if name == "trades" else "diffs applied"
    print(f"\n{unit} per CPU-second, {count} messages, best (median) of {rounds} rounds:")
    base = results["raw aiohttp+orjson"]
    best_base = max(span.per_cpu_second for span in base)
    for key, spans in results.items():
        best = max(span.per_cpu_second for span in spans)
        median = statistics.median(span.per_cpu_second for span in spans)
        paired = statistics.median(
            s.per_cpu_second / b.per_cpu_second for s, b in zip(spans, base, strict=True)
        )
        note = ""
        lost = [span.extra["lost"] for span in spans if "lost" in span.extra]
        if lost:
            note = f"  lost {statistics.median(lost):.0f} of {count} silently"
        print(
            f"  {key:20s} {best:9.0f} ({median:9.0f})   x{best / best_base:.2f} raw "
            f"(paired median x{paired:.2f}){note}"
        )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks streams")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--trades", type=int, default=200_000)
    parser.add_argument("--diffs", type=int, default=200_000)
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--tick-rate", type=float, default=500.0)
    parser.add_argument("--serve", metavar="FEED", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        with open(args.serve, "rb") as recorded:
            loaded: Feed = pickle.load(recorded)
        asyncio.run(serve(loaded, args.tick_rate, args.ticks))
        return
    started = time.perf_counter()
    feed = record_feed(args.trades, args.diffs)
    print(
        f"recorded the emulator's BTC/USD: {len(feed.trades)} trades, {len(feed.diffs)} book "
        f"changes, {len(feed.book[0])}+{len(feed.book[1])} levels "
        f"({time.perf_counter() - started:.0f} s)"
    )
    with tempfile.NamedTemporaryFile(suffix=".feed") as stored:
        pickle.dump(feed, stored)
        stored.flush()
        command = [
            sys.executable, "-m", "benchmarks.streams", "--serve", stored.name,
            "--ticks", str(args.ticks), "--tick-rate", str(args.tick_rate),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            if not url.startswith("ws://"):
                raise RuntimeError(f"emulator did not start: {url!r}")
            asyncio.run(run(url, args, feed))
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1:])
