"""The stream hub against the emulator's WebSocket endpoint: every channel as typed events,
private channels with the token flow, sharing, unsubscribing, liveness, scale, closing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from aiolimiter import AsyncLimiter

from aiobitstamp import AuthenticationError, ClientClosedError, InvalidParameterError, Side
from aiobitstamp.streams import (
    Backoff,
    BookDiff,
    BookSnapshot,
    LiveOrder,
    LiveTrade,
    MyOrder,
    MyTrade,
    OrderAction,
    SelfTrade,
    StreamEvent,
    StreamHub,
    StreamOptions,
    Subscription,
)
from aiobitstamp.testing._feed import OrderEventKind
from aiobitstamp.testing._ws_server import FakeWebSocketServer

from .test_streams_market import ScriptedMarket

USER = 4848701
TIMEOUT = 5.0


class Tokens:
    """A token provider that asks the scripted exchange for a fresh token each time."""

    def __init__(self, market: ScriptedMarket, user: int = USER) -> None:
        self.market = market
        self.user = user
        self.calls = 0

    async def __call__(self) -> tuple[str, str]:
        self.calls += 1
        return self.market.issue_token(self.user), str(USER)


def fast_options(**overrides: Any) -> StreamOptions:
    settings: dict[str, Any] = {
        "heartbeat_interval": 5.0,
        "quiet_timeout": 10.0,
        "ping_interval": None,
        "subscribe_timeout": 5.0,
        "handover_grace": 0.5,
        "backoff": Backoff(initial=0.02, maximum=0.2),
    }
    settings.update(overrides)
    return StreamOptions(**settings)


def make_hub(server: FakeWebSocketServer, market: ScriptedMarket, **overrides: Any) -> StreamHub:
    return StreamHub(
        server.url,
        token_provider=Tokens(market),
        rest_trades=market.rest_trades,
        rest_book=market.rest_book,
        pacer=AsyncLimiter(1000, 0.1),
        options=fast_options(**overrides),
    )


@contextlib.asynccontextmanager
async def pumping(action: Callable[[], object], every: float = 0.005) -> AsyncIterator[None]:
    """Run the market in the background: ``action()`` every ``every`` seconds."""

    async def run() -> None:
        while True:
            action()
            await asyncio.sleep(every)  # the market's pace, not a synchronisation

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def first_of(subscription: Subscription[Any], kind: type) -> Any:
    """The first event of type ``kind`` (skipping others, such as gaps)."""

    async def find() -> Any:
        async for event in subscription:
            if isinstance(event, kind):
                return event
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(find(), TIMEOUT)


async def take(subscription: Subscription[Any], count: int) -> list[Any]:
    events: list[Any] = []

    async def collect() -> None:
        async for event in subscription:
            events.append(event)
            if len(events) == count:
                return

    await asyncio.wait_for(collect(), TIMEOUT)
    return events


@pytest.fixture
async def market() -> ScriptedMarket:
    return ScriptedMarket()


@pytest.fixture
async def server(market: ScriptedMarket) -> AsyncIterator[FakeWebSocketServer]:
    async with market.server(snapshot_interval=0.02) as running:
        yield running


@pytest.fixture
async def hub(server: FakeWebSocketServer, market: ScriptedMarket) -> AsyncIterator[StreamHub]:
    async with make_hub(server, market) as running:
        yield running


# -- every channel, typed ---------------------------------------------------------------


async def test_live_trades_are_typed_with_exact_decimals_and_ids(
    hub: StreamHub, market: ScriptedMarket
) -> None:
    async with hub.subscribe("live_trades_btcusd") as trades:
        printed = [
            market.trade(price="8302.92", amount="0.14406384", side=1),
            market.trade(trade_id=2**53 + 7, price="0.10", amount="3"),
        ]
        first, second = await take(trades, 2)
    assert isinstance(first, LiveTrade)
    assert first.id == str(printed[0].trade_id)
    assert first.price == Decimal("8302.92") and str(first.amount) == "0.14406384"
    assert first.side is Side.SELL
    assert first.microtimestamp == printed[0].microtimestamp
    assert first.timestamp.tzinfo is not None
    assert first.timestamp.timestamp() == pytest.approx(printed[0].microtimestamp / 1e6)
    assert (first.buy_order_id, first.sell_order_id) == (
        str(printed[0].buy_order_id),
        str(printed[0].sell_order_id),
    )
    assert not first.recovered
    assert (first.channel, first.pair) == ("live_trades_btcusd", "btcusd")
    assert second.id == "9007199254740999"  # from id_str, never through a float
    assert second.price == Decimal("0.10")


async def test_live_orders_are_typed(hub: StreamHub, market: ScriptedMarket) -> None:
    async with hub.subscribe("live_orders_btcusd") as orders:
        created = market.order(OrderEventKind.CREATED, side=1, price="51000.50", amount="0.25")
        market.order(OrderEventKind.CHANGED, side=1, price="51000.50", amount="0.1",
                     order_id=created.order_id)  # fmt: skip
        market.order(OrderEventKind.DELETED, side=1, price="51000.50", order_id=created.order_id)
        events = await take(orders, 3)
    assert all(isinstance(event, LiveOrder) for event in events)
    assert [event.action for event in events] == [
        OrderAction.CREATED,
        OrderAction.CHANGED,
        OrderAction.DELETED,
    ]
    assert {event.id for event in events} == {str(created.order_id)}
    assert events[0].side is Side.SELL and events[0].price == Decimal("51000.50")
    assert events[1].amount == Decimal("0.1") and events[2].amount == 0
    assert events[0].amount_at_create == Decimal("0.25")


async def test_diff_order_book_is_typed_with_numeric_zero(
    hub: StreamHub, market: ScriptedMarket
) -> None:
    async with hub.subscribe("diff_order_book_btcusd") as diffs:
        change = market.change(bids=[("100.00", "1.5")], asks=[("101.00", "0.00000000")])
        (diff,) = await take(diffs, 1)
    assert isinstance(diff, BookDiff)
    assert diff.microtimestamp == change.microtimestamp
    assert diff.bids == ((Decimal("100.00"), Decimal("1.5")),)
    assert diff.asks[0][1] == 0


async def test_order_book_snapshots_are_typed_top_100(
    hub: StreamHub, market: ScriptedMarket
) -> None:
    for level in range(120):
        market.change(bids=[(f"{1000 - level}.00", "1")], asks=[(f"{2000 + level}.00", "2")])
    async with hub.subscribe("order_book_btcusd") as books:
        (book,) = await take(books, 1)
    assert isinstance(book, BookSnapshot)
    assert len(book.bids) == len(book.asks) == 100
    assert book.bids[0].price == Decimal("1000.00") and book.asks[0].amount == Decimal("2")
    assert book.microtimestamp == market.book_micros


async def test_detail_order_book_levels_carry_order_ids(
    hub: StreamHub, market: ScriptedMarket
) -> None:
    created = market.order(OrderEventKind.CREATED, side=0, price="99.00", amount="2")
    market.change(bids=[("99.00", "2")])
    async with hub.subscribe("detail_order_book_btcusd") as books:
        (book,) = await take(books, 1)
    assert isinstance(book, BookSnapshot)
    assert book.bids[0].order_id == str(created.order_id)
    assert book.bids[0].price == Decimal("99.00")


async def test_many_channels_in_one_stream_keep_per_channel_order(
    hub: StreamHub, market: ScriptedMarket
) -> None:
    async with hub.subscribe(
        "live_trades_btcusd", "live_orders_btcusd", "diff_order_book_btcusd"
    ) as stream:
        for _ in range(10):
            market.trade()
            market.order(OrderEventKind.CREATED)
            market.change(bids=[("1.00", "1")])
        events = await take(stream, 30)
    by_kind: dict[type, list[int]] = {}
    for event in events:
        by_kind.setdefault(type(event), []).append(event.microtimestamp)
    assert set(by_kind) == {LiveTrade, LiveOrder, BookDiff}
    assert all(len(times) == 10 and times == sorted(times) for times in by_kind.values())


# -- private channels -------------------------------------------------------------------


async def test_private_channels_with_a_fresh_token(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub:
        async with hub.subscribe(
            "private-my_orders_btcusd", "private-my_trades_btcusd", "private-live_trades_btcusd"
        ) as mine:
            assert server.subscribers(f"private-my_orders_btcusd-{USER}") == 1
            order = market.order(OrderEventKind.CREATED, user_id=USER, price="100.00", amount="1")
            market.trade(buy_user=USER, sell_user=USER, price="100.00", amount="0.5")
            events = await take(mine, 4)
        tokens = hub.token_provider
        assert isinstance(tokens, Tokens) and tokens.calls == 1
    kinds = [type(event) for event in events]
    assert kinds.count(MyOrder) == 1 and kinds.count(MyTrade) == 2 and kinds.count(SelfTrade) == 1
    my_order = next(e for e in events if isinstance(e, MyOrder))
    assert my_order.channel == "private-my_orders_btcusd"  # no user id in the name
    assert my_order.id == str(order.order_id) and my_order.client_order_id == "c-1"
    assert my_order.action is OrderAction.CREATED
    sides = {e.side for e in events if isinstance(e, MyTrade)}
    assert sides == {Side.BUY, Side.SELL}
    fee = next(e.fee for e in events if isinstance(e, MyTrade) and e.side is Side.BUY)
    assert fee == Decimal("0.20")


async def test_a_refused_private_channel_raises_authentication_error(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub:
        hub.token_provider = Tokens(market, user=1234567)  # a token of someone else
        with pytest.raises(AuthenticationError) as refused:
            async with hub.subscribe("live_trades_btcusd", "private-my_orders_btcusd"):
                pass
        assert refused.value.code == "4009"
        # The public channel on the same connection is unharmed.
        async with hub.subscribe("live_trades_btcusd") as trades:
            market.trade()
            assert len(await take(trades, 1)) == 1


async def test_private_channels_without_credentials_fail_clearly(
    server: FakeWebSocketServer,
) -> None:
    async with StreamHub(server.url, options=fast_options()) as hub:
        with pytest.raises(AuthenticationError, match="api_key"):
            async with hub.subscribe("private-my_trades_btcusd"):
                pass


async def test_a_new_token_on_every_connection(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub:
        async with hub.subscribe("private-my_orders_btcusd") as mine:
            server.drop_connections()
            async with pumping(lambda: market.order(OrderEventKind.CREATED, user_id=USER)):
                await first_of(mine, MyOrder)  # delivered again: resubscribed
        tokens = hub.token_provider
        assert isinstance(tokens, Tokens) and tokens.calls == 2
        assert len(market.tokens) == 2


# -- sharing, unsubscribing, closing ----------------------------------------------------


async def test_subscribers_share_one_channel_subscription(
    hub: StreamHub, server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with hub.subscribe("live_trades_btcusd") as first:
        async with hub.subscribe("live_trades_btcusd") as second:
            market.trade()
            (a,) = await take(first, 1)
            (b,) = await take(second, 1)
            assert a is b  # decoded once
        assert server.stats.subscribe_requests["live_trades_btcusd"] == 1
        market.trade()
        assert len(await take(first, 1)) == 1


async def test_unsubscribing_the_last_subscriber_unsubscribes_the_channel(
    hub: StreamHub, server: FakeWebSocketServer
) -> None:
    async with hub.subscribe("live_trades_btcusd"):
        assert server.subscribers("live_trades_btcusd") == 1
    assert hub.channels() == []
    # A later subscription on the same connection is answered after the unsubscribe.
    async with hub.subscribe("live_orders_btcusd"):
        assert server.subscribers("live_trades_btcusd") == 0


async def test_closing_the_hub_ends_every_stream_with_client_closed(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    hub = make_hub(server, market)
    trades = hub.subscribe("live_trades_btcusd")
    await trades.start()
    market.trade()
    received: list[StreamEvent] = []

    async def consume() -> None:
        async for event in trades:
            received.append(event)
            if len(received) == 1:
                await hub.aclose()

    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(consume(), TIMEOUT)
    assert len(received) == 1
    with pytest.raises(ClientClosedError):
        hub.subscribe("live_trades_btcusd")
    assert server.connections == 0 or hub.connections() == []


async def test_bad_channel_names_are_refused_before_sending(hub: StreamHub) -> None:
    for name in ("live_trades_BTCUSD", "trades_btcusd", "live_trades_", 7):
        with pytest.raises(InvalidParameterError):
            hub.subscribe(name)  # type: ignore[arg-type]


async def test_breaking_out_of_a_loop_and_aclose_stop_the_subscription(
    hub: StreamHub, market: ScriptedMarket
) -> None:
    trades = hub.subscribe("live_trades_btcusd")
    await trades.start()
    market.trade()
    async for _ in trades:
        break
    await trades.aclose()
    assert hub.channels() == []
    assert [event async for event in trades] == []


# -- liveness ---------------------------------------------------------------------------


async def test_heartbeats_are_sent_and_answered(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market, heartbeat_interval=0.05, quiet_timeout=5.0) as hub:
        async with hub.subscribe("live_trades_btcusd") as trades, pumping(market.trade, 0.01):
            # Trades keep coming while heartbeats go out between them.
            events = await take(trades, 40)
        assert all(isinstance(event, LiveTrade) for event in events)
        assert hub.stats.heartbeats_sent >= 1
        assert hub.stats.heartbeats_answered >= 1
        assert hub.stats.reconnects == 0


async def test_a_quiet_connection_is_replaced(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market, heartbeat_interval=0.05, quiet_timeout=0.3) as hub:
        async with hub.subscribe("live_trades_btcusd") as trades:
            server.stall(30)  # nothing more from this connection, heartbeat answers included
            async with pumping(market.trade):
                events = await take(trades, 20)  # from the replacement connection
        assert hub.stats.quiet_connections == 1 and hub.stats.reconnects == 1
    assert all(isinstance(event, LiveTrade) for event in events)
    ids = [int(event.id) for event in events]
    assert ids == sorted(set(ids))


# -- scale ------------------------------------------------------------------------------


class CountingPacer:
    def __init__(self) -> None:
        self.admitted = 0

    async def __aenter__(self) -> None:
        self.admitted += 1

    async def __aexit__(self, *exc_info: object) -> None:
        return None


async def test_channels_spread_over_connections_beyond_the_cap(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    pacer = CountingPacer()
    channels = [f"live_trades_m{index:03d}usd" for index in range(120)] + ["live_trades_btcusd"]
    async with (
        StreamHub(server.url, pacer=pacer, options=fast_options(channels_per_connection=50)) as hub,
        hub.subscribe(*channels) as stream,
    ):
        assert len(hub.connections()) == 3 == server.connections
        assert pacer.admitted == 121
        market.trade()
        (trade,) = await take(stream, 1)
        assert trade.channel == "live_trades_btcusd"


async def test_subscriptions_are_paced_not_fired_at_once(
    server: FakeWebSocketServer,
) -> None:
    loop = asyncio.get_running_loop()
    channels = [f"live_trades_p{index:03d}usd" for index in range(60)]
    async with StreamHub(server.url, pacer=AsyncLimiter(10, 0.1), options=fast_options()) as hub:
        started = loop.time()
        async with hub.subscribe(*channels):
            elapsed = loop.time() - started
    # 100 per second after a burst of 10: the last 50 need at least half a second.
    assert elapsed >= 0.45


async def test_channels_per_connection_is_capped_at_the_exchange_limit() -> None:
    with pytest.raises(ValueError):
        StreamOptions(channels_per_connection=1025)
    assert StreamOptions().channels_per_connection <= 1024
