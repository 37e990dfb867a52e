"""The client's streams against the whole emulator (FakeBitstamp: REST and WebSocket views
of one living market): trades compared with the emulator's trade log across drops,
outages and reconnect requests; private channels with real websockets tokens; local order
books compared with the emulator's true book."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from aiobitstamp import Client, ClientClosedError, MissingCredentialsError, Side
from aiobitstamp._orderbook import LocalOrderBook
from aiobitstamp.streams import (
    Backoff,
    LiveOrderBook,
    MyOrder,
    MyTrade,
    OrderAction,
    StreamOptions,
)
from aiobitstamp.testing import FakeBitstamp
from aiobitstamp.testing._feed import BookChanged

from .test_streams_reconnect import Collector

KEY, SECRET = "streamkey01", "stream-secret-01"
TIMEOUT = 30.0


StreamingClient = Client  # the streams are Client methods (the StreamsAPI mixin)


def options(**overrides: Any) -> StreamOptions:
    settings: dict[str, Any] = {
        "heartbeat_interval": 2.0,
        "quiet_timeout": 10.0,
        "ping_interval": None,
        "handover_grace": 0.5,
        "backoff": Backoff(initial=0.02, maximum=0.25),
    }
    settings.update(overrides)
    return StreamOptions(**settings)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBitstamp]:
    async with FakeBitstamp(rate_limits=None) as running:
        running.add_account(KEY, SECRET, {"usd": "1000000", "btc": "100"})
        # Wake the market now, at its quiet default pace: it lives from genesis (up to a
        # minute ago), and tests raise the pace only for what follows.
        running.book_snapshot("btcusd", 1)
        yield running


@pytest.fixture
async def client(fake: FakeBitstamp) -> AsyncIterator[StreamingClient]:
    running = StreamingClient(KEY, SECRET, base_url=fake.url, ws_url=fake.ws_url)
    async with running:
        running.configure_streams(options=options())
        yield running


async def freeze(fake: FakeBitstamp) -> None:
    """Stop the synthetic market: nothing more is printed or changed."""
    fake.message_rate = 0
    await fake.stop_market()


# -- trades against the trade log -------------------------------------------------------


async def test_trades_match_the_trade_log_across_drops_outages_and_moves(
    fake: FakeBitstamp, client: StreamingClient
) -> None:
    fake.message_rate = 2000
    stats = client.stream_hub.stats
    async with client.trades("btcusd") as trades:
        collector = Collector(trades)

        async def then_more(condition: Any, more: int = 100) -> None:
            await collector.until(condition)
            await collector.until_count(len(collector.trades) + more)

        await collector.until_count(100)
        fake.ws.request_reconnect()
        await then_more(lambda: stats.handovers == 1)
        fake.ws.drop_connections()
        await then_more(lambda: stats.reconnects == 1)
        fake.ws.outage(1.0)  # drops, then refuses reconnects for a second
        await then_more(lambda: stats.reconnects == 2)
        fake.ws.request_reconnect()
        await then_more(lambda: stats.handovers == 2)
        await freeze(fake)
        last = fake.trade_log("btcusd")[-1]
        await collector.until_id(last.trade_id)
        await collector.stop()
    log = [str(trade.trade_id) for trade in fake.trade_log("btcusd")]
    received = [trade.id for trade in collector.trades]
    start = log.index(received[0])
    assert received == log[start:], "lost or repeated trades"
    assert not collector.gaps
    assert stats.handovers == 2 and stats.reconnects == 2
    assert stats.trades_recovered > 0 and stats.connect_failures >= 1
    by_id = {str(t.trade_id): t for t in fake.trade_log("btcusd")}
    for trade in collector.trades[:50]:
        printed = by_id[trade.id]
        assert (trade.price, trade.amount) == (printed.price, printed.amount)
        assert trade.side is (Side.BUY if printed.taker_side == 0 else Side.SELL)


async def test_closing_the_client_ends_streams_with_client_closed(fake: FakeBitstamp) -> None:
    client = StreamingClient(base_url=fake.url, ws_url=fake.ws_url)
    fake.message_rate = 200
    trades = client.trades("btcusd")
    await trades.start()

    async def consume() -> None:
        async for _ in trades:
            await client.aclose()

    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(consume(), TIMEOUT)
    with pytest.raises(ClientClosedError):
        client.trades("btcusd")
    await freeze(fake)


# -- private channels -------------------------------------------------------------------


async def test_my_orders_and_my_trades_with_the_token_flow(
    fake: FakeBitstamp, client: StreamingClient
) -> None:
    await freeze(fake)

    async def first_of(kind: type, stream: Any) -> Any:
        async def find() -> Any:
            async for event in stream:
                if isinstance(event, kind):
                    return event
            raise AssertionError("stream ended")

        return await asyncio.wait_for(find(), TIMEOUT)

    async with client.my_orders("btcusd") as orders, client.my_trades("btcusd") as fills:
        _, bids, asks = fake.book_snapshot("btcusd", 1)
        resting = await client.buy_limit(
            "btcusd", "0.001", bids[0][0] - 100, client_order_id="stream-rest-1"
        )
        created = await first_of(MyOrder, orders)
        await client.cancel_order(resting.id)
        deleted = await first_of(MyOrder, orders)
        taker = await client.buy_limit("btcusd", "0.001", asks[0][0])
        fill = await first_of(MyTrade, fills)
    assert (created.id, created.action) == (resting.id, OrderAction.CREATED)
    assert created.client_order_id == "stream-rest-1"
    assert created.price == bids[0][0] - 100 and created.side is Side.BUY
    assert (deleted.id, deleted.action) == (resting.id, OrderAction.DELETED)
    assert fill.order_id == taker.id and fill.side is Side.BUY
    assert fill.price == asks[0][0] and fill.amount == Decimal("0.001")
    assert fill.fee is not None and fill.fee > 0
    assert client.stream_hub.stats.tokens_fetched == 1  # one connection, one token


async def test_private_channels_without_keys_fail_with_missing_credentials(
    fake: FakeBitstamp,
) -> None:
    async with StreamingClient(base_url=fake.url, ws_url=fake.ws_url) as anonymous:
        anonymous.configure_streams(options=options())
        with pytest.raises(MissingCredentialsError):
            async with anonymous.my_orders("btcusd"):
                pass
    await freeze(fake)


# -- local order books ------------------------------------------------------------------


Snapshot = tuple[int, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]


async def caught_up(book: LiveOrderBook, fake: FakeBitstamp) -> Snapshot:
    """The emulator's true book now (full depth), once the local book has reached it.

    Call after :func:`freeze`: with no market task the emulator moves only when asked
    (resting makers' cancels still fall due), so this snapshot stays the newest while the
    local book catches up."""
    snapshot = fake.book_snapshot("btcusd")

    async def reach() -> None:
        while not (book.synced and book.microtimestamp == snapshot[0]):
            await book.updated()

    try:
        await asyncio.wait_for(reach(), TIMEOUT)
    except asyncio.TimeoutError:
        raise AssertionError(
            f"the book did not reach {snapshot[0]}: {book!r} at {book.microtimestamp}, "
            f"resyncs {book.resync_reasons}"
        ) from None
    return snapshot


def assert_same_book(book: LiveOrderBook, snapshot: Snapshot) -> None:
    micros, bids, asks = snapshot
    assert book.microtimestamp == micros
    assert [(level.price, level.amount) for level in book.bids()] == list(bids)
    assert [(level.price, level.amount) for level in book.asks()] == list(asks)


async def test_local_order_book_follows_the_true_book(
    fake: FakeBitstamp, client: StreamingClient
) -> None:
    fake.message_rate = 500
    async with client.local_order_book("btcusd") as book:
        assert book.synced
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is not None and ask is not None and bid.price < ask.price
        assert len(book.bids(10)) == 10 and len(book.asks(3)) == 3
        for _ in range(50):
            await asyncio.wait_for(book.updated(), TIMEOUT)
        await freeze(fake)
        assert_same_book(book, await caught_up(book, fake))
        assert book.diffs_applied >= 50


async def test_local_order_book_is_awaitable_and_resyncs_on_demand(
    fake: FakeBitstamp, client: StreamingClient
) -> None:
    await freeze(fake)
    book = await client.local_order_book("btcusd")
    try:
        before = book.resyncs
        await book.resync()
        assert book.resyncs == before + 1 and book.resync_reasons["requested"] == 1
        assert_same_book(book, await caught_up(book, fake))
    finally:
        await book.aclose()
    with pytest.raises(ClientClosedError):
        await book.updated()


async def test_local_order_book_audit_against_order_book_snapshots(
    fake: FakeBitstamp, client: StreamingClient
) -> None:
    fake.message_rate = 200
    async with client.local_order_book("btcusd", audit=True) as book:

        async def audited() -> None:
            while book.audits < 3:
                await book.updated()

        await asyncio.wait_for(audited(), TIMEOUT)
        assert book.audit_failures == 0
        # Corrupt the book behind its back, with a level the exchange cannot have (a
        # half tick, deep in the top 100, so no diff heals it): the next audit must see it.
        deep = book.bids(60)[-1].price + Decimal("0.5")
        pure = book.book
        assert isinstance(pure, LocalOrderBook)
        pure.apply_diff(book.microtimestamp or 0, [[deep, "1.5"]], [])

        async def resynced() -> None:
            while not book.resync_reasons["audit"]:
                await book.updated()

        await asyncio.wait_for(resynced(), TIMEOUT)
        assert book.audit_failures >= 1
        await freeze(fake)
        assert_same_book(book, await caught_up(book, fake))


async def test_l3_local_order_book_from_live_orders(
    fake: FakeBitstamp, client: StreamingClient
) -> None:
    fake.message_rate = 300
    async with client.local_order_book("btcusd", l3=True) as book:
        for _ in range(30):
            await asyncio.wait_for(book.updated(), TIMEOUT)
        await freeze(fake)
        resting = fake.open_market_orders("btcusd")

        async def settled() -> None:
            while {o.id for o in _orders_of(book)} != {str(o.order_id) for o in resting}:
                await book.updated()

        await asyncio.wait_for(settled(), TIMEOUT)
        best = book.best_bid()
        assert best is not None
        orders = book.orders_at(best.price)
        assert sum(order.amount for order in orders) == best.amount


def _orders_of(book: LiveOrderBook) -> list[Any]:
    found = []
    for level in book.bids() + book.asks():
        found.extend(book.orders_at(level.price))
    return found


async def test_after_100000_random_updates_with_faults_the_book_is_the_true_book(
    fake: FakeBitstamp, client: StreamingClient
) -> None:
    # The test drives the market itself (advance), a slice at a time, so that it runs as
    # fast as the machine allows however loaded, and every slice is delivered before the
    # next: a book that lags is waited for, never outrun.
    fake.ws.run_market = False
    diffs, last_change = 0, 0

    def count(event: object) -> None:
        nonlocal diffs, last_change
        if isinstance(event, BookChanged) and event.market == "btcusd":
            diffs += 1
            last_change = event.microtimestamp

    stop_counting = fake.feed.subscribe(count)
    rng = random.Random(8)
    fake.message_rate = 20_000
    async with client.local_order_book("btcusd") as book:
        await fake.stop_market()
        faults = 0

        async def reach(target: int) -> None:
            while not (book.synced and (book.microtimestamp or 0) >= target):
                await book.updated()

        while diffs < 100_000:
            fake.advance(0.05)  # about 350 diffs, published now
            if diffs > (faults + 1) * 10_000:
                faults += 1
                if rng.random() < 0.5:
                    fake.ws.drop_connections()
                else:
                    fake.ws.request_reconnect()
            await asyncio.wait_for(reach(last_change), TIMEOUT)
        snapshot = await caught_up(book, fake)
        assert_same_book(book, snapshot)
        assert faults >= 9
        stats = client.stream_hub.stats
        # The last fault may still be under way when the book has caught up.
        assert stats.reconnects + stats.handovers >= faults - 1
        assert stats.reconnects >= 2 and stats.handovers >= 2
        assert book.resync_reasons["reconnected"] == stats.reconnects
        assert book.resync_reasons.get("crossed", 0) == 0
    stop_counting()
    assert diffs >= 100_000
