"""Reconnects that lose nothing: bts:request_reconnect handovers, hard drops, an outage that
refuses reconnects, malformed frames, stalls; gaps where a hole truly cannot be refilled;
and the backpressure promises of lossless and latest-only channels.

Every flow test compares what the consumer received with the market's tape: from the
first trade received to the last, every trade exactly once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from aiobitstamp.streams import (
    BookSnapshot,
    Gap,
    GapReason,
    LiveOrder,
    LiveTrade,
    StreamHub,
    StreamLaggingError,
    Subscription,
)
from aiobitstamp.testing._feed import OrderEventKind
from aiobitstamp.testing._ws_server import FakeWebSocketServer

from .test_streams import TIMEOUT, make_hub, pumping, take
from .test_streams_market import ScriptedMarket

FLOW_TIMEOUT = 30.0


class Collector:
    """Consumes a trade stream in the background, keeping trades and gaps apart."""

    def __init__(self, subscription: Subscription[Any]) -> None:
        self.subscription = subscription
        self.trades: list[LiveTrade] = []
        self.gaps: list[Gap] = []
        self.others: list[Any] = []
        self._waiting: list[tuple[Callable[[], bool], asyncio.Event]] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self.subscription:
            if isinstance(event, LiveTrade):
                self.trades.append(event)
            elif isinstance(event, Gap):
                self.gaps.append(event)
            else:
                self.others.append(event)
            for condition, reached in self._waiting:
                if not reached.is_set() and condition():
                    reached.set()

    async def until(self, condition: Callable[[], bool], timeout: float = FLOW_TIMEOUT) -> None:
        reached = asyncio.Event()
        if condition():
            return
        self._waiting.append((condition, reached))
        done, _ = await asyncio.wait(
            [asyncio.ensure_future(reached.wait()), self.task],
            timeout=timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self.task in done:
            self.task.result()  # raises what ended the stream
            raise AssertionError("the stream ended")
        assert reached.is_set(), f"not reached within {timeout} s"

    async def until_count(self, count: int) -> None:
        await self.until(lambda: len(self.trades) >= count)

    async def until_id(self, trade_id: int) -> None:
        wanted = str(trade_id)
        await self.until(lambda: bool(self.trades) and self.trades[-1].id == wanted)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def assert_lossless(collector: Collector, market: ScriptedMarket) -> None:
    """Every trade of the tape from the first received on, once, in order."""
    received = [trade.id for trade in collector.trades]
    tape = [str(trade.trade_id) for trade in market.tape]
    assert received, "nothing received"
    start = tape.index(received[0])
    missing = sorted(set(tape[start:]) - set(received), key=int)
    assert not missing, f"{len(missing)} trades lost, first {missing[:5]}"
    assert len(received) == len(set(received)), "a trade was delivered twice"
    assert received == tape[start:]


@contextlib.asynccontextmanager
async def trade_flow(
    hub: StreamHub, market: ScriptedMarket
) -> AsyncIterator[tuple[Collector, asyncio.Event]]:
    """A trades subscription being consumed while the market trades continuously."""
    async with hub.subscribe("live_trades_btcusd") as trades:
        collector = Collector(trades)
        stop = asyncio.Event()
        pump = asyncio.create_task(market.pump_trades(10**9, stop=stop))
        try:
            yield collector, stop
        finally:
            stop.set()
            await pump
            await collector.stop()


async def finish(collector: Collector, stop: asyncio.Event, market: ScriptedMarket) -> None:
    """Stop the flow, then wait for one last trade: everything before it has arrived."""
    stop.set()
    await asyncio.sleep(0)
    last = market.trade()
    await collector.until_id(last.trade_id)


@pytest.fixture
async def market() -> ScriptedMarket:
    return ScriptedMarket()


@pytest.fixture
async def server(market: ScriptedMarket) -> AsyncIterator[FakeWebSocketServer]:
    async with market.server(snapshot_interval=0.02) as running:
        yield running


# -- bts:request_reconnect --------------------------------------------------------------


async def test_request_reconnect_moves_without_losing_or_repeating_a_trade(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub:
        async with trade_flow(hub, market) as (collector, stop):
            for round_ in range(1, 4):
                await collector.until_count(400 * round_)
                assert server.request_reconnect() == 1
                handovers = round_

                def moved(done: int = handovers) -> bool:
                    return hub.stats.handovers >= done and len(hub.connections()) == 1

                await collector.until(moved)
            await collector.until_count(1600)
            await finish(collector, stop, market)
        assert hub.stats.reconnect_requests == 3 and hub.stats.handovers == 3
        assert hub.stats.reconnects == 0 and hub.stats.gaps == 0
        assert market.rest_calls == []  # the handover itself lost nothing to refill
        assert server.connections == 1
    assert_lossless(collector, market)
    assert not collector.gaps


async def test_request_reconnect_on_a_quiet_channel_switches_after_the_grace(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market, handover_grace=0.1) as hub:
        async with hub.subscribe("live_trades_btcusd", "live_orders_btcusd") as stream:
            server.request_reconnect()
            async with pumping(market.trade):
                collector = Collector(stream)
                await collector.until(lambda: server.connections == 1 and hub.stats.handovers > 0)
                await collector.until_count(len(collector.trades) + 20)
                await collector.stop()
            assert len(hub.connections()) == 1
        assert hub.stats.gaps == 0


# -- hard drops and outages -------------------------------------------------------------


async def test_hard_drops_lose_nothing_thanks_to_the_rest_refill(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub:
        async with trade_flow(hub, market) as (collector, stop):
            for round_ in range(1, 4):
                await collector.until_count(400 * round_)
                assert server.drop_connections() == 1
            await collector.until_count(1600)
            await finish(collector, stop, market)
        assert hub.stats.reconnects == 3
        assert hub.stats.trades_recovered > 0  # the refill did fill holes
        assert market.rest_calls == ["minute"] * 3
    assert_lossless(collector, market)
    assert not collector.gaps
    assert any(trade.recovered for trade in collector.trades)


async def test_a_one_second_outage_refusing_reconnects_loses_nothing(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    loop = asyncio.get_running_loop()
    async with make_hub(server, market) as hub:
        async with trade_flow(hub, market) as (collector, stop):
            await collector.until_count(300)
            started = loop.time()
            server.outage(1.0)
            count = len(collector.trades)
            await collector.until(lambda: len(collector.trades) > count + 300)
            assert loop.time() - started >= 1.0
            await finish(collector, stop, market)
        assert hub.stats.connect_failures >= 1
        assert server.stats.connections_refused >= 1
        assert hub.stats.trades_recovered > 100  # a second of trading came from REST
    assert_lossless(collector, market)
    assert not collector.gaps


async def test_a_drop_right_after_a_reconnect_request_loses_nothing(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub, trade_flow(hub, market) as (collector, stop):
        await collector.until_count(300)
        server.request_reconnect()
        await collector.until(lambda: hub.stats.reconnect_requests == 1)
        server.drop_connections()
        await collector.until_count(900)
        server.request_reconnect()
        server.drop_connections()
        await collector.until_count(1500)
        await finish(collector, stop, market)
    assert_lossless(collector, market)


async def test_resubscribes_every_channel_on_every_connection_after_a_drop(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    channels = [f"live_trades_r{index:03d}usd" for index in range(60)] + ["live_trades_btcusd"]
    async with make_hub(server, market, channels_per_connection=25) as hub:
        async with hub.subscribe(*channels) as stream:
            assert server.connections == 3
            assert server.drop_connections() == 3
            async with pumping(market.trade):
                collector = Collector(stream)
                await collector.until(
                    lambda: (
                        all(server.subscribers(name) == 1 for name in channels)
                        and len(collector.trades) > 10
                    )
                )
                await collector.stop()
        assert all(server.stats.subscribe_requests[name] == 2 for name in channels)
        assert server.connections == 3 and hub.stats.reconnects == 3


# -- malformed frames and stalls --------------------------------------------------------


async def test_malformed_frames_are_counted_and_skipped(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub:
        async with trade_flow(hub, market) as (collector, stop):
            await collector.until_count(200)
            server.send_raw('{"event":"trade","channel":"live_trades_btc')  # not JSON
            server.send_raw(b'{"event":"trade","channel":"live_trades_btcusd","data":{"id":1}}')
            server.send_raw(b'{"event":"bts:surprise","channel":"","data":{}}')
            server.send_raw(b'["not", "an", "envelope"]')
            await collector.until_count(600)
            await finish(collector, stop, market)
        assert hub.stats.malformed_frames == 3
        assert hub.stats.unknown_frames == 1
        assert hub.stats.reconnects == 0
    assert_lossless(collector, market)


async def test_a_stall_of_a_few_seconds_is_survived_without_loss(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    loop = asyncio.get_running_loop()
    async with make_hub(server, market, heartbeat_interval=0.5, quiet_timeout=10.0) as hub:
        async with trade_flow(hub, market) as (collector, stop):
            await collector.until_count(200)
            server.stall(2.5)
            started, count = loop.time(), len(collector.trades)
            await collector.until(lambda: len(collector.trades) > count + 1000)
            assert loop.time() - started >= 2.0  # the stall did hold the stream
            await finish(collector, stop, market)
        assert hub.stats.reconnects == 0
    assert_lossless(collector, market)


async def test_a_stall_longer_than_the_quiet_timeout_is_replaced_without_loss(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market, heartbeat_interval=0.1, quiet_timeout=0.5) as hub:
        async with trade_flow(hub, market) as (collector, stop):
            await collector.until_count(200)
            server.stall(3.0)
            count = len(collector.trades)
            await collector.until(lambda: len(collector.trades) > count + 500)
            await finish(collector, stop, market)
        assert hub.stats.quiet_connections == 1 and hub.stats.reconnects == 1
        assert hub.stats.trades_recovered > 0
    assert_lossless(collector, market)


# -- gaps where nothing can refill ------------------------------------------------------


async def test_order_channels_get_a_gap_after_a_drop(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub, hub.subscribe("live_orders_btcusd") as orders:
        last = market.order(OrderEventKind.CREATED)
        (first,) = await take(orders, 1)
        server.drop_connections()
        async with pumping(lambda: market.order(OrderEventKind.CREATED)):
            gap, after = await take(orders, 2)
    assert isinstance(first, LiveOrder) and isinstance(after, LiveOrder)
    assert isinstance(gap, Gap) and gap.reason is GapReason.RECONNECTED
    assert gap.channel == "live_orders_btcusd"
    assert gap.since_microtimestamp == last.microtimestamp
    assert hub.stats.gaps == 1


async def test_trades_without_a_rest_source_get_a_gap(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub:
        hub.rest_trades = None
        async with hub.subscribe("live_trades_btcusd") as trades:
            market.trade()
            await take(trades, 1)
            server.drop_connections()
            async with pumping(market.trade):
                gap, after = await take(trades, 2)
    assert isinstance(gap, Gap) and gap.reason is GapReason.RECONNECTED
    assert isinstance(after, LiveTrade)


async def test_a_failing_rest_refill_is_announced_as_a_gap(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    hub = make_hub(server, market, rest_attempts=2)
    async with hub, trade_flow(hub, market) as (collector, stop):
        await collector.until_count(100)
        market.rest_failures = 2
        server.drop_connections()
        await collector.until(lambda: bool(collector.gaps))
        count = len(collector.trades)
        await collector.until_count(count + 100)
        await finish(collector, stop, market)
    (gap,) = collector.gaps
    assert gap.reason is GapReason.REST_FAILED
    ids = [int(trade.id) for trade in collector.trades]
    assert ids == sorted(set(ids))  # still in order and never twice


async def test_a_hole_older_than_rest_reaches_is_announced_as_a_gap(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    class AwayClock:
        """Jumps three days right after the drop is noticed (its first reading)."""

        def __init__(self) -> None:
            self.now, self.armed = 1_000.0, False

        def __call__(self) -> float:
            value = self.now
            if self.armed:
                self.armed, self.now = False, self.now + 3 * 86_400
            return value

    clock = AwayClock()
    async with make_hub(server, market) as hub:
        hub._clock = clock
        async with hub.subscribe("live_trades_btcusd") as trades:
            # Trades of three days ago: beyond transactions/?time=day.
            old = market.trade(micros=market.now() - 3 * 86_400_000_000)
            (seen,) = await take(trades, 1)
            assert seen.id == str(old.trade_id)
            clock.armed = True
            server.drop_connections()
            async with pumping(market.trade):
                gap, after = await take(trades, 2)
    assert isinstance(gap, Gap) and gap.reason is GapReason.REST_UNREACHABLE
    assert gap.since_microtimestamp == old.microtimestamp
    assert gap.until is not None and gap.since is not None and gap.until > gap.since
    assert market.rest_calls[-1] == "day"
    assert isinstance(after, LiveTrade)


# -- backpressure -----------------------------------------------------------------------


async def test_a_consumer_too_far_behind_gets_an_error_after_every_queued_trade(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub:
        fast = hub.subscribe("live_trades_btcusd")
        slow = hub.subscribe("live_trades_btcusd", buffer_size=10)
        await fast.start()
        await slow.start()
        printed = [market.trade() for _ in range(50)]
        await take(fast, 50)  # every trade has been handed to both subscribers now
        assert slow.pending == 10
        received = []
        with pytest.raises(StreamLaggingError) as lagging:
            async for trade in slow:
                assert isinstance(trade, LiveTrade)
                received.append(trade.id)
        assert received == [str(trade.trade_id) for trade in printed[:10]]
        assert lagging.value.channel == "live_trades_btcusd"
        assert lagging.value.capacity == 10
        assert lagging.value.last_microtimestamp == {
            "live_trades_btcusd": printed[9].microtimestamp
        }
        # The fast subscriber is unaffected.
        market.trade()
        assert len(await take(fast, 1)) == 1
        await fast.aclose()


async def test_full_book_snapshots_keep_only_the_latest_for_a_slow_consumer(
    server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    async with make_hub(server, market) as hub:
        fast = hub.subscribe("order_book_btcusd")
        slow = hub.subscribe("order_book_btcusd", "live_trades_btcusd", buffer_size=5)
        await fast.start()
        await slow.start()
        await asyncio.wait_for(fast.__anext__(), TIMEOUT)  # the one owed to new subscribers
        market.trade()
        seen: list[BookSnapshot] = []
        for level in range(6):
            market.change(bids=[(f"{100 + level}.00", "1")])
            snapshot = await asyncio.wait_for(fast.__anext__(), TIMEOUT)
            assert isinstance(snapshot, BookSnapshot)
            seen.append(snapshot)
        assert len({snapshot.microtimestamp for snapshot in seen}) >= 3
        assert slow.pending == 2  # one trade, one (the newest) snapshot
        first, second = slow.get_nowait(), slow.get_nowait()
        assert isinstance(first, BookSnapshot)  # waiting since the first snapshot came
        assert isinstance(second, LiveTrade)
        snapshot = first
        assert snapshot.microtimestamp == seen[-1].microtimestamp
        assert snapshot.bids[0].price == seen[-1].bids[0].price
        assert slow.get_nowait() is None
        await fast.aclose()
        await slow.aclose()
