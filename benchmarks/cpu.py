"""Client CPU per request: aiobitstamp against raw aiohttp + orjson, and against ccxt.

The emulator runs in another process, so ``time.process_time()`` here counts only the
client's work. Every round measures each contender back to back in a shuffled order, and
the figures are medians over rounds, so a noisy neighbour on a shared machine moves all
contenders alike. Ratios above 1 mean aiobitstamp spends more CPU than the baseline.

    python -m benchmarks cpu [--rounds 15] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import random
import ssl
import statistics
import tempfile
import time
import timeit
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson

import aiobitstamp
from aiobitstamp._models import OrderBook, OrderPlaced
from aiobitstamp._random_ids import random_hex

from ._emulator import KEY, SECRET, standalone_emulator

# Limits so high they never make anyone wait, so the limiter's bookkeeping is measured
# without pacing (the default 10,000 per 10 minutes would stall a long benchmark).
NEVER_WAIT = ((10**9, 1.0), (10**9, 600.0))

Step = Callable[[], Awaitable[object]]


async def cpu_per_call(step: Step, calls: int, concurrency: int = 1) -> float:
    """Median-friendly unit: CPU microseconds per call over ``calls`` calls, made by
    ``concurrency`` coroutines at once (each making its share one after another)."""

    async def caller(count: int) -> None:
        for _ in range(count):
            await step()

    shares = [calls // concurrency + (i < calls % concurrency) for i in range(concurrency)]
    start = time.process_time()
    if concurrency == 1:
        await caller(calls)
    else:
        await asyncio.gather(*(caller(share) for share in shares))
    return (time.process_time() - start) / calls * 1e6


async def compare(
    contenders: dict[str, Step], rounds: int, calls: int, concurrency: int = 1
) -> dict[str, float]:
    """Median CPU per call of each contender, and the median of per-round ratios to the
    first contender (pairing within a round cancels most of the machine's drift)."""
    for step in contenders.values():  # warm up: connections, caches, market catalogue
        for _ in range(20):
            await step()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    rng = random.Random(0)
    for _ in range(rounds):
        rng.shuffle(order)
        for name in order:
            samples[name].append(await cpu_per_call(contenders[name], calls, concurrency))
    first, *others = contenders
    result = {name: statistics.median(values) for name, values in samples.items()}
    for name in others:
        ratios = [a / b for a, b in zip(samples[first], samples[name], strict=True)]
        result[f"{first}/{name}"] = statistics.median(ratios)
    return result


def raw_signed_post(session: aiohttp.ClientSession, base: str, host: str) -> Step:
    """The baseline for a signed POST: the documented formula by hand, aiohttp, orjson."""
    secret = SECRET.encode()
    path = "/api/v2/account_balances/"

    async def step() -> object:
        nonce = str(uuid.uuid4())
        timestamp = str(int(time.time() * 1000))
        message = f"BITSTAMP {KEY}POST{host}{path}{nonce}{timestamp}v2".encode()
        headers = {
            "X-Auth": f"BITSTAMP {KEY}",
            "X-Auth-Signature": hmac.new(secret, message, hashlib.sha256).hexdigest(),
            "X-Auth-Nonce": nonce,
            "X-Auth-Timestamp": timestamp,
            "X-Auth-Version": "v2",
        }
        async with session.post(
            base + path, headers=headers, skip_auto_headers=("Content-Type",)
        ) as answer:
            return orjson.loads(await answer.read())

    return step


def raw_signed_order(session: aiohttp.ClientSession, base: str, host: str, price: Decimal) -> Step:
    """The baseline for an order: a minimal signer by hand, aiohttp, orjson."""
    secret = SECRET.encode()
    path = "/api/v2/buy/btcusd/"
    body = f"amount=0.00100000&price={price}&moc_order=True"
    content_type = "application/x-www-form-urlencoded"

    async def step() -> object:
        nonce = str(uuid.uuid4())
        timestamp = str(int(time.time() * 1000))
        message = f"BITSTAMP {KEY}POST{host}{path}{content_type}{nonce}{timestamp}v2{body}".encode()
        headers = {
            "X-Auth": f"BITSTAMP {KEY}",
            "X-Auth-Signature": hmac.new(secret, message, hashlib.sha256).hexdigest(),
            "X-Auth-Nonce": nonce,
            "X-Auth-Timestamp": timestamp,
            "X-Auth-Version": "v2",
            "Content-Type": content_type,
        }
        async with session.post(base + path, data=body, headers=headers) as answer:
            return orjson.loads(await answer.read())

    return step


def raw_get(session: aiohttp.ClientSession, url: str) -> Step:
    async def step() -> object:
        async with session.get(url) as answer:
            return orjson.loads(await answer.read())

    return step


async def ours_vs_raw(url: str, rounds: int, calls: int) -> list[tuple[str, float, float, float]]:
    host = url.removeprefix("http://")
    rows = []
    async with (
        aiohttp.ClientSession() as session,
        aiobitstamp.Client(KEY, SECRET, base_url=url, rate_limits=NEVER_WAIT) as client,
    ):
        scenarios: dict[str, dict[str, Step]] = {
            "public GET (ticker)": {
                "ours": lambda: client.ticker("btcusd"),
                "raw": raw_get(session, url + "/api/v2/ticker/btcusd/"),
            },
            "signed POST (account_balances)": {
                "ours": client.account_balances,
                "raw": raw_signed_post(session, url, host),
            },
            "full order book fetch + parse": {
                "ours": lambda: client.order_book("btcusd"),
                "raw": raw_get(session, url + "/api/v2/order_book/btcusd/"),
            },
        }
        # Resting post-only buys well under the market: they never fill, so every round
        # places the same kind of order (ours also carries a generated client_order_id and
        # its exactly-once guard, and decodes the answer digit-exact).
        bid = (await client.ticker("btcusd")).bid
        price = (bid * Decimal("0.85")).quantize(Decimal(1))
        options = aiobitstamp.OrderOptions.post_only()
        scenarios["signed order (buy_limit)"] = {
            "ours": lambda: client.buy_limit("btcusd", "0.001", price, options),
            "raw": raw_signed_order(session, url, host, price),
        }
        for name, contenders in scenarios.items():
            result = await compare(contenders, rounds, calls if "book" not in name else calls // 4)
            rows.append((name, result["ours"], result["raw"], result["ours/raw"]))
        # Many coroutines sharing one client, as in a web backend: one limiter, one pool.
        for name in ("public GET (ticker)", "signed POST (account_balances)"):
            result = await compare(scenarios[name], rounds, calls * 4, concurrency=32)
            rows.append((f"{name} x32", result["ours"], result["raw"], result["ours/raw"]))
        await check_book_is_exact(client, session, url)
    return rows


async def order_layers(url: str, rounds: int, calls: int) -> list[tuple[str, float, float]]:
    """A signed order taken apart, each layer a contender in the same rounds as raw: what
    the pipeline (limiter, signer, transport) costs with the answer left a dict, what the
    ``OrderPlaced`` model adds, and what the order checks and exactly-once add on top."""
    host = url.removeprefix("http://")
    async with (
        aiohttp.ClientSession() as session,
        aiobitstamp.Client(KEY, SECRET, base_url=url, rate_limits=NEVER_WAIT) as client,
    ):
        bid = (await client.ticker("btcusd")).bid
        price = (bid * Decimal("0.85")).quantize(Decimal(1))
        options = aiobitstamp.OrderOptions.post_only()

        price_text = str(price)

        def sent_as_is(parse: Callable[[Any], object]) -> Step:
            # The same wire form buy_limit sends, with no checks in front of the pipeline
            # (and the same source of client_order_ids).
            def step() -> Awaitable[object]:
                form = {
                    "amount": "0.001",
                    "price": price_text,
                    "moc_order": "True",
                    "client_order_id": random_hex(),
                }
                return client._call("buy_limit", parse, path={"market_symbol": "btcusd"}, form=form)

            return step

        contenders: dict[str, Step] = {
            "raw": raw_signed_order(session, url, host, price),
            "pipeline, answer as a dict": sent_as_is(lambda answer: answer),
            "+ OrderPlaced model": sent_as_is(OrderPlaced.from_wire),
            "+ order checks, exactly-once (buy_limit)": lambda: client.buy_limit(
                "btcusd", "0.001", price, options
            ),
        }
        result = await compare(contenders, rounds, calls)
    return [(name, result[name], 1 / result[f"raw/{name}"]) for name in contenders if name != "raw"]


async def check_book_is_exact(
    client: aiobitstamp.Client, session: aiohttp.ClientSession, url: str
) -> None:
    """The speed is only worth quoting if every level is the exact value sent."""
    book = await client.order_book("btcusd")
    async with session.get(url + "/api/v2/order_book/btcusd/") as answer:
        raw = orjson.loads(await answer.read())
    for levels, rows in ((book.bids, raw["bids"]), (book.asks, raw["asks"])):
        assert len(levels) == len(rows)
        for level, row in zip(levels, rows, strict=True):
            assert level.price == Decimal(row[0]) and level.amount == Decimal(row[1])


async def book_parse_only(url: str) -> tuple[float, float, float, int]:
    """``orjson.loads`` + ``OrderBook.from_wire`` against ``orjson.loads`` of the same bytes."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url + "/api/v2/order_book/btcusd/") as answer,
    ):
        body = await answer.read()
    levels = len(orjson.loads(body)["bids"])
    loads = min(timeit.repeat(lambda: orjson.loads(body), number=50, repeat=15)) / 50
    ours = (
        min(timeit.repeat(lambda: OrderBook.from_wire(orjson.loads(body)), number=50, repeat=15))
        / 50
    )
    every_level = (
        min(
            timeit.repeat(
                lambda: [lv.price for lv in OrderBook.from_wire(orjson.loads(body)).bids],
                number=5,
                repeat=5,
            )
        )
        / 5
    )
    return loads * 1e6, ours * 1e6, every_level * 1e6, levels


def held_bytes(build: Callable[[], object]) -> int:
    """Bytes still held by what ``build`` returns (the decode's transient peak is the same
    for everyone: it is orjson's)."""
    tracemalloc.start()
    try:
        kept = build()
        held, _ = tracemalloc.get_traced_memory()
        del kept
        return held
    finally:
        tracemalloc.stop()


async def book_memory(url: str) -> tuple[int, int, int]:
    """Memory of the full book: raw orjson, our OrderBook, and every level materialised."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url + "/api/v2/order_book/btcusd/") as answer,
    ):
        body = await answer.read()
    raw = held_bytes(lambda: orjson.loads(body))
    ours = held_bytes(lambda: OrderBook.from_wire(orjson.loads(body)))

    def every_level() -> object:
        book = OrderBook.from_wire(orjson.loads(body))
        return book, list(book.bids), list(book.asks)

    return raw, ours, held_bytes(every_level)


async def ours_vs_ccxt(
    url: str, ca_file: Path, rounds: int, calls: int
) -> list[tuple[str, float, float, float]]:
    import ccxt.async_support as ccxt_async

    context = ssl.create_default_context(cafile=str(ca_file))
    exchange = ccxt_async.bitstamp(
        {"apiKey": KEY, "secret": SECRET, "cafile": str(ca_file), "enableRateLimit": False}
    )
    exchange.urls["api"] = {"public": f"{url}/api", "private": f"{url}/api"}
    rows = []
    transport = aiobitstamp.AiohttpTransport(ssl_context=context)
    try:
        async with aiobitstamp.Client(
            KEY, SECRET, base_url=url, rate_limits=NEVER_WAIT, transport=transport
        ) as client:
            await exchange.load_markets()
            scenarios: dict[str, dict[str, Step]] = {
                "public GET (ticker)": {
                    "ours": lambda: client.ticker("btcusd"),
                    "ccxt": lambda: exchange.fetch_ticker("BTC/USD"),
                },
                "signed POST (account_balances)": {
                    "ours": client.account_balances,
                    "ccxt": exchange.fetch_balance,
                },
                "full order book fetch + parse": {
                    "ours": lambda: client.order_book("btcusd"),
                    "ccxt": lambda: exchange.fetch_order_book("BTC/USD"),
                },
            }
            for name, contenders in scenarios.items():
                n = calls if "book" not in name else calls // 4
                result = await compare(contenders, rounds, n)
                rows.append((name, result["ours"], result["ccxt"], result["ours/ccxt"]))
    finally:
        await exchange.close()
    return rows


def tls_files(directory: Path) -> tuple[Path, Path, Path]:
    import trustme

    authority = trustme.CA()
    server = authority.issue_cert("127.0.0.1")
    cert, key, ca = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    server.cert_chain_pems[0].write_to_path(str(cert))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    server.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    return cert, key, ca


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks cpu")
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--requests", type=int, default=100, help="calls per round")
    parser.add_argument("--no-ccxt", action="store_true")
    parser.add_argument(
        "--layers", action="store_true", help="only a signed order, taken apart layer by layer"
    )
    args = parser.parse_args(argv)
    if args.layers:
        with standalone_emulator("--no-rate-limit", "--balance", "usd=100000000") as url:
            layers = asyncio.run(order_layers(url, args.rounds, args.requests))
        print(f"signed order by layer, median of {args.rounds} rounds of {args.requests} calls")
        print(f"{'layer':44} {'µs':>8} {'ratio to raw':>13}")
        for name, cpu, ratio in layers:
            print(f"{name:44} {cpu:8.1f} {ratio:13.3f}")
        return

    print(
        f"client CPU per call, median of {args.rounds} rounds of {args.requests} calls "
        "(µs; ratio = median of per-round ratios; lower is better)"
    )
    with standalone_emulator("--no-rate-limit") as url:
        rows = asyncio.run(ours_vs_raw(url, args.rounds, args.requests))
        loads, parse, every_level, levels = asyncio.run(book_parse_only(url))
        raw_bytes, book_bytes, all_levels_bytes = asyncio.run(book_memory(url))
    print(f"\n{'scenario':38} {'aiobitstamp':>12} {'aiohttp+orjson':>15} {'ratio':>7}")
    for name, ours, raw, ratio in rows:
        print(f"{name:38} {ours:12.1f} {raw:15.1f} {ratio:7.3f}")
    print(
        f"\norder book parse only ({levels} levels a side): orjson.loads {loads:.0f} µs, "
        f"loads + OrderBook.from_wire {parse:.0f} µs, ratio {parse / loads:.3f}; "
        f"reading every bid as Decimal adds {every_level - parse:.0f} µs"
    )
    print(
        f"order book memory held (tracemalloc): orjson.loads {raw_bytes / 1e6:.2f} MB, "
        f"OrderBook {book_bytes / 1e6:.2f} MB (ratio {book_bytes / raw_bytes:.3f}); "
        f"every level read into PriceLevel objects {all_levels_bytes / 1e6:.2f} MB"
    )
    if args.no_ccxt:
        return
    with tempfile.TemporaryDirectory() as tmp:
        cert, key, ca = tls_files(Path(tmp))
        extra = ("--no-rate-limit", "--certfile", str(cert), "--keyfile", str(key))
        with standalone_emulator(*extra) as url:
            rows = asyncio.run(ours_vs_ccxt(url, ca, args.rounds, args.requests))
    print("\nover HTTPS (ccxt signs only https URLs correctly)")
    print(f"{'scenario':34} {'aiobitstamp':>12} {'ccxt':>15} {'ratio':>7}")
    for name, ours, ccxt_cpu, ratio in rows:
        print(f"{name:34} {ours:12.1f} {ccxt_cpu:15.1f} {ratio:7.3f}")


if __name__ == "__main__":
    main()
