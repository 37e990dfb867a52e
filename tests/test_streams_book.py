"""The live order book's wiring against a scripted market: it loads the REST snapshot,
applies diffs, and resyncs when it must (a crossed book, an out-of-order diff, a frame it
cannot parse, a reconnect, on demand), ending equal to the true book every time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from aiobitstamp import ClientClosedError
from aiobitstamp.streams import LiveOrderBook, StreamHub
from aiobitstamp.testing._feed import BookChanged
from aiobitstamp.testing._ws_server import FakeWebSocketServer

from .test_streams import TIMEOUT, make_hub
from .test_streams_market import ScriptedMarket


@pytest.fixture
async def market() -> ScriptedMarket:
    scripted = ScriptedMarket()
    rng = random.Random(4)
    for _ in range(300):
        scripted.random_book_change(rng)
    return scripted


@pytest.fixture
async def server(market: ScriptedMarket) -> AsyncIterator[FakeWebSocketServer]:
    async with market.server(snapshot_interval=0.02) as running:
        yield running


@pytest.fixture
async def hub(server: FakeWebSocketServer, market: ScriptedMarket) -> AsyncIterator[StreamHub]:
    async with make_hub(server, market) as running:
        yield running


def book_of(hub: StreamHub, market: ScriptedMarket, **options: object) -> LiveOrderBook:
    return LiveOrderBook(hub, "btcusd", rest_snapshot=market.rest_book, **options)  # type: ignore[arg-type]


async def settled(book: LiveOrderBook, market: ScriptedMarket) -> None:
    """Wait until the book is live at the market's last change, then compare them all."""

    async def reach() -> None:
        while not (book.synced and book.microtimestamp == market.book_micros):
            await book.updated()

    await asyncio.wait_for(reach(), TIMEOUT)
    _, bids, asks = market.book_snapshot("btcusd")
    assert [(level.price, level.amount) for level in book.bids()] == bids
    assert [(level.price, level.amount) for level in book.asks()] == asks


async def test_the_book_loads_then_follows_diffs(hub: StreamHub, market: ScriptedMarket) -> None:
    async with book_of(hub, market) as book:
        assert book.synced and book.resyncs == 1
        rng = random.Random(9)
        for _ in range(500):
            market.random_book_change(rng)
        await settled(book, market)
        assert book.diffs_applied >= 500
        best_bid, best_ask = book.best_bid(), book.best_ask()
        assert best_bid is not None and best_ask is not None
        assert best_bid.price < best_ask.price
        assert book.bids(3) == book.bids()[:3]


async def test_a_crossing_diff_makes_the_book_resync(
    hub: StreamHub, market: ScriptedMarket
) -> None:
    async with book_of(hub, market) as book:
        ask = book.best_ask()
        assert ask is not None
        # A diff the true book never had (a corrupt feed): a bid above the best ask.
        market.feed.publish(BookChanged("btcusd", market.now(), ((ask.price + 1, ask.amount),), ()))
        market.change(bids=[("100.00", "1")])  # the true book moves on
        await settled(book, market)
        assert book.resync_reasons["crossed"] == 1


async def test_an_out_of_order_diff_makes_the_book_resync(
    hub: StreamHub, market: ScriptedMarket
) -> None:
    async with book_of(hub, market) as book:
        market.change(bids=[("101.00", "1")])
        stale = market.book_micros - 1  # newer than the snapshot, older than the book
        await settled(book, market)
        market.feed.publish(BookChanged("btcusd", stale, (), ()))
        market.change(bids=[("102.00", "2")])
        await settled(book, market)
        assert book.resync_reasons["stale"] == 1


async def test_an_unparsable_diff_makes_the_book_resync(
    hub: StreamHub, server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with book_of(hub, market) as book:
        server.send_raw(
            b'{"event":"data","channel":"diff_order_book_btcusd","data":'
            b'{"microtimestamp":"9999999999999999","bids":[["1"]],"asks":[]}}'
        )
        market.change(asks=[("60000.00", "1")])
        await settled(book, market)
        assert book.malformed == 1 and book.resync_reasons["malformed"] == 1


async def test_a_dropped_connection_makes_the_book_resync(
    hub: StreamHub, server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    rng = random.Random(2)
    async with book_of(hub, market) as book:
        for _ in range(3):
            server.drop_connections()
            for _ in range(50):  # changes the book never sees as diffs
                market.random_book_change(rng)
            await settled(book, market)
        assert book.resync_reasons["reconnected"] == 3


async def test_resync_on_demand_and_close(hub: StreamHub, market: ScriptedMarket) -> None:
    book = await book_of(hub, market)
    await book.resync()
    assert book.resync_reasons["requested"] == 1 and book.synced
    await book.aclose()
    assert book.closed and hub.channels() == []
    with pytest.raises(ClientClosedError):
        await book.updated()


async def test_closing_the_hub_fails_the_books_waiters(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    hub = make_hub(server, market)
    book = await book_of(hub, market)
    waiting = asyncio.ensure_future(book.updated())
    await asyncio.sleep(0)  # let it start waiting
    await hub.aclose()
    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(waiting, TIMEOUT)
    assert book.closed
