"""The client against the emulator over real loopback HTTP: every endpoint, end to end."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from decimal import Decimal

import aiohttp
import orjson
import pytest

from aiobitstamp import (
    AuthenticationError,
    Client,
    ExchangeUnavailableError,
    InsufficientFundsError,
    Lane,
    OrderNotFoundError,
    RetryPolicy,
    Side,
    UnexpectedResponseError,
)
from aiobitstamp.testing import FakeBitstamp

KEY, SECRET = "integrationkey01", "integration-secret"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBitstamp]:
    async with FakeBitstamp() as exchange:
        exchange.add_account(KEY, SECRET, balances={"usd": "100000", "btc": "2"})
        yield exchange


@pytest.fixture
async def client(fake: FakeBitstamp) -> AsyncIterator[Client]:
    async with Client(KEY, SECRET, base_url=fake.url, require_response_signature=True) as c:
        yield c


async def raw_json(fake: FakeBitstamp, path: str) -> object:
    async with aiohttp.ClientSession() as session, session.get(fake.url + path) as answer:
        return orjson.loads(await answer.read())


async def test_public_market_data(client: Client, fake: FakeBitstamp) -> None:
    ticker = await client.ticker("btcusd")
    assert ticker.bid < ticker.ask
    assert ticker.timestamp.tzinfo is not None
    hourly = await client.ticker_hour("btcusd")
    assert isinstance(hourly.last, Decimal)
    tickers = await client.tickers()
    assert "BTC/USD" in {t.pair for t in tickers}
    trades = await client.transactions("btcusd", time="minute")
    assert all(t.side in (Side.BUY, Side.SELL) for t in trades)
    assert [t.timestamp for t in trades] == sorted((t.timestamp for t in trades), reverse=True)
    markets = await client.markets()
    assert "btcusd" in {m.market_symbol for m in markets}
    pairs = await client.trading_pairs_info()
    assert "btcusd" in {p.url_symbol for p in pairs}
    assert await client.currencies()
    rate = await client.eur_usd()
    assert rate.buy > 0 and rate.sell > 0
    vasps = await client.travel_rule_vasps(per_page=40)  # 250 VASPs: seven pages
    assert [v.name for v in vasps] == [f"VASP {i:03d}" for i in range(250)]
    assert fake.stats.paths["/api/v2/travel_rule/vasps/"] == 7


async def test_full_order_book_is_exact(client: Client, fake: FakeBitstamp) -> None:
    book = await client.order_book("btcusd")
    raw = await raw_json(fake, "/api/v2/order_book/btcusd/")
    assert isinstance(raw, dict)
    assert len(book.bids) == len(raw["bids"]) >= 1000
    assert len(book.asks) == len(raw["asks"]) >= 1000
    for side, rows in ((book.bids, raw["bids"]), (book.asks, raw["asks"])):
        for index in (0, 1, len(rows) // 2, -1):
            assert side[index].price == Decimal(rows[index][0])
            assert side[index].amount == Decimal(rows[index][1])
    assert book.best_bid is not None and book.best_ask is not None
    assert book.best_bid.price < book.best_ask.price
    by_order = await client.order_book("btcusd", group=2)
    assert by_order.bids[0].order_id is not None


async def test_ohlc_history_streams_without_gaps_or_repeats(client: Client) -> None:
    step = 60
    start = 1_700_000_040  # on the minute grid
    end = start + step * 2_499  # 2500 candles: three pages
    seen = [c async for c in client.iter_ohlc("btcusd", step, start, end)]
    stamps = [int(c.timestamp.timestamp()) for c in seen]
    assert stamps == list(range(start, end + 1, step))
    again = await client.ohlc("btcusd", step, start=start + step * 1000, limit=5)
    assert again == seen[1000:1005]  # pages agree with a direct request
    window = await client.ohlc(
        "btcusd", step, start=datetime.fromtimestamp(start, tz=timezone.utc), limit=3
    )
    assert [int(c.timestamp.timestamp()) for c in window] == stamps[:3]


async def test_balances_orders_and_cancel(client: Client) -> None:
    balances = {b.currency: b for b in await client.account_balances()}
    assert balances["usd"].available == Decimal("100000")
    book = await client.order_book("btcusd")
    assert book.best_bid is not None
    price = (book.best_bid.price * Decimal("0.9")).quantize(Decimal(1))
    order = await client.buy_limit("btcusd", "0.5", price, client_order_id="it-1")
    assert order.side is Side.BUY
    assert order.amount == Decimal("0.5")
    assert order.client_order_id == "it-1"
    usd = await client.account_balance("usd")
    assert usd.reserved >= price * Decimal("0.5")
    assert usd.available == Decimal("100000") - usd.reserved
    assert [o.id for o in await client.open_orders("btcusd")] == [order.id]
    status = await client.order_status(client_order_id="it-1")
    assert status.id == order.id
    canceled = await client.cancel_order(order.id)
    assert canceled.id == order.id
    assert (await client.account_balance("usd")).available == Decimal("100000")
    assert await client.open_orders() == []
    with pytest.raises(OrderNotFoundError):
        await client.cancel_order(order.id)


async def test_insufficient_funds_maps_to_its_class(client: Client) -> None:
    book = await client.order_book("btcusd")
    assert book.best_bid is not None
    price = (book.best_bid.price * Decimal("0.95")).quantize(Decimal(1))
    with pytest.raises(InsufficientFundsError) as info:
        await client.buy_limit("btcusd", "1000", price)
    assert info.value.code == "400.009"
    assert info.value.path == "/api/v2/buy/btcusd/"


async def test_wrong_secret_is_rejected_with_api0005(fake: FakeBitstamp) -> None:
    async with Client(KEY, "wrong-secret", base_url=fake.url) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.account_balances()
    assert info.value.code == "API0005"
    assert info.value.status == 403
    assert "wrong-secret" not in repr(info.value) + str(info.value)


async def test_skewed_exchange_clock_is_corrected(fake: FakeBitstamp) -> None:
    fake.clock_offset = 600.0
    async with Client(KEY, SECRET, base_url=fake.url) as client:
        await client.account_balances()
        assert 598 <= client.clock_offset <= 602
    assert fake.stats.auth_failures.get("API0017") == 1


async def test_faults_read_as_what_they_are(fake: FakeBitstamp) -> None:
    policy = RetryPolicy(max_attempts=1)
    async with Client(base_url=fake.url, retry=policy, validate_markets=False) as client:
        fake.inject_fault("/api/v2/ticker/btcusd/", status=502)
        with pytest.raises(ExchangeUnavailableError, match="HTTP 502"):
            await client.ticker("btcusd")
        fake.inject_fault(
            "/api/v2/ticker/btcusd/",
            status=200,
            body=b'{"last": "1',
            content_type="application/json",
        )
        with pytest.raises(UnexpectedResponseError, match="HTTP 200"):
            await client.ticker("btcusd")
        assert (await client.ticker("btcusd")).last > 0


async def test_a_read_is_retried_through_a_transient_502(fake: FakeBitstamp) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
    async with Client(base_url=fake.url, retry=policy, validate_markets=False) as client:
        fake.inject_fault("/api/v2/ticker/btcusd/", status=502, times=2)
        assert (await client.ticker("btcusd")).last > 0


def most_in_any_window(arrivals: list[float], seconds: float) -> int:
    """The most arrivals inside any sliding window of `seconds` (arrivals sorted)."""
    return max(
        bisect.bisect_left(arrivals, start + seconds, lo=i) - i for i, start in enumerate(arrivals)
    )


def fill(arrivals: list[float], count: int, seconds: float) -> float:
    """How full the whole windows after the first arrival were, on average: a perfect
    limiter fills each with `count`."""
    first = arrivals[0]
    windows = int((arrivals[-1] - first) // seconds)
    assert windows >= 2, "the run must cover at least two whole windows"
    inside = sum(1 for t in arrivals if t < first + windows * seconds)
    return inside / (count * windows)


async def test_fifty_tasks_never_trip_the_exchange_limit() -> None:
    # Bitstamp's shape, scaled down so thousands of requests take seconds: a burst limit
    # (50 per 0.25 s) inside a tighter sustained one (450 per 3 s), both at once.
    limits = ((50, 0.25), (450, 3.0))
    total = 2000
    async with FakeBitstamp(rate_limits=limits, record_arrivals=True) as fake:
        async with Client(base_url=fake.url, rate_limits=limits, validate_markets=False) as c:
            remaining = iter(range(total))

            async def worker() -> None:
                for _ in remaining:
                    await c.ticker("btcusd")

            await asyncio.gather(*(worker() for _ in range(50)))
            assert c.rate_limit_stats[Lane.PUBLIC].rejected == 0
            assert c.rate_limit_stats[Lane.PUBLIC].sent == total
        assert fake.stats.rate_limited == 0
        arrivals = sorted(fake.arrivals)
    assert len(arrivals) == total
    for count, seconds in limits:
        assert most_in_any_window(arrivals, seconds) <= count
    assert fill(arrivals, 450, 3.0) >= 0.97  # the sustained limit is used to the full
