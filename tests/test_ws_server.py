"""The emulator's WebSocket endpoint, spoken to with raw aiohttp: the exchange's protocol,
every channel fed from the market feed, limits, and faults on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
import pytest

from aiobitstamp.testing._feed import OrderEventKind
from aiobitstamp.testing._ws_server import FakeWebSocketServer

from .test_streams_market import ScriptedMarket

TIMEOUT = 5.0


class Peer:
    """A raw WebSocket client: send JSON, receive decoded frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse[Any]) -> None:
        self.ws = ws

    async def send(self, payload: object) -> None:
        await self.ws.send_str(
            payload if isinstance(payload, str) else orjson.dumps(payload).decode()
        )

    async def receive(self) -> Any:
        message = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        return orjson.loads(message.data)

    async def subscribe(self, channel: str, auth: str | None = None) -> Any:
        data = {"channel": channel} if auth is None else {"channel": channel, "auth": auth}
        await self.send({"event": "bts:subscribe", "data": data})
        return await self.receive()


@pytest.fixture
async def market() -> ScriptedMarket:
    return ScriptedMarket()


@pytest.fixture
async def server(market: ScriptedMarket) -> AsyncIterator[FakeWebSocketServer]:
    async with market.server(snapshot_interval=0.02) as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def peer(server: FakeWebSocketServer, session: aiohttp.ClientSession) -> AsyncIterator[Peer]:
    async with session.ws_connect(server.url) as ws:
        yield Peer(ws)


# -- protocol ---------------------------------------------------------------------------


async def test_subscribe_is_acknowledged_with_the_channel(peer: Peer) -> None:
    assert await peer.subscribe("live_trades_btcusd") == {
        "event": "bts:subscription_succeeded",
        "channel": "live_trades_btcusd",
        "data": {},
    }


async def test_heartbeat_is_answered_with_success(peer: Peer) -> None:
    await peer.send({"event": "bts:heartbeat"})
    assert await peer.receive() == {
        "event": "bts:heartbeat",
        "channel": "",
        "data": {"status": "success"},
    }


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("{not json", "Incorrect JSON format."),
        ({"event": "bts:subscribe", "data": {}}, "Bad subscription string."),
        (
            {"event": "bts:dance", "data": {"channel": "live_trades_btcusd"}},
            "Bad subscription string.",
        ),
        (
            {"event": "bts:subscribe", "data": {"channel": "live_trades_BTCUSD"}},
            "Invalid channel provided.",
        ),
        (
            {"event": "bts:subscribe", "data": {"channel": "trades_btcusd"}},
            "Invalid channel provided.",
        ),
    ],
)
async def test_bad_frames_get_bts_error(
    peer: Peer, server: FakeWebSocketServer, frame: object, message: str
) -> None:
    await peer.send(frame)
    assert await peer.receive() == {
        "event": "bts:error",
        "channel": "",
        "data": {"code": None, "message": message},
    }
    assert server.stats.errors_sent[message] == 1
    # The connection survives its mistakes.
    assert (await peer.subscribe("live_trades_btcusd"))["event"] == "bts:subscription_succeeded"


async def test_unknown_lowercase_market_is_acknowledged_and_silent(
    peer: Peer, market: ScriptedMarket
) -> None:
    assert (await peer.subscribe("live_trades_nosuchusd"))["event"] == "bts:subscription_succeeded"
    assert (await peer.subscribe("live_trades_btcusd"))["event"] == "bts:subscription_succeeded"
    market.trade()
    assert (await peer.receive())["channel"] == "live_trades_btcusd"


async def test_unsubscribe_stops_the_channel(peer: Peer, market: ScriptedMarket) -> None:
    await peer.subscribe("live_trades_btcusd")
    await peer.subscribe("diff_order_book_btcusd")
    await peer.send({"event": "bts:unsubscribe", "data": {"channel": "live_trades_btcusd"}})
    assert await peer.receive() == {
        "event": "bts:unsubscription_succeeded",
        "channel": "live_trades_btcusd",
        "data": {},
    }
    market.trade()
    market.change(bids=[("100.00", "1")])
    assert (await peer.receive())["channel"] == "diff_order_book_btcusd"


# -- channels ---------------------------------------------------------------------------


async def test_live_trades_frame_is_the_tape_trade(peer: Peer, market: ScriptedMarket) -> None:
    await peer.subscribe("live_trades_btcusd")
    printed = market.trade(price="8302.92", amount="0.14406384", side=1)
    frame = await peer.receive()
    assert frame["event"] == "trade" and frame["channel"] == "live_trades_btcusd"
    data = frame["data"]
    assert data["id"] == printed.trade_id and "id_str" not in data
    assert (data["price_str"], data["amount_str"]) == ("8302.92", "0.14406384")
    assert (data["price"], data["amount"]) == (8302.92, 0.14406384)
    assert data["type"] == 1
    assert data["microtimestamp"] == str(printed.microtimestamp)
    assert data["timestamp"] == str(printed.microtimestamp // 1_000_000)
    assert (data["buy_order_id"], data["sell_order_id"]) == (
        printed.buy_order_id,
        printed.sell_order_id,
    )


async def test_trade_ids_beyond_2_53_also_come_as_id_str(
    peer: Peer, market: ScriptedMarket
) -> None:
    await peer.subscribe("live_trades_btcusd")
    market.trade(trade_id=2**53 + 7)
    data = (await peer.receive())["data"]
    assert data["id_str"] == str(2**53 + 7)


async def test_live_orders_carry_each_order_event(peer: Peer, market: ScriptedMarket) -> None:
    await peer.subscribe("live_orders_btcusd")
    created = market.order(OrderEventKind.CREATED, side=1, price="51000.50", amount="0.25")
    market.order(OrderEventKind.DELETED, side=1, price="51000.50", order_id=created.order_id)
    first, second = await peer.receive(), await peer.receive()
    assert first["event"] == "order_created" and second["event"] == "order_deleted"
    assert first["data"]["id_str"] == str(created.order_id)
    assert first["data"]["order_type"] == 1
    assert first["data"]["price_str"] == "51000.50"
    assert first["data"]["amount_str"] == "0.25"
    assert first["data"]["microtimestamp"] == str(created.microtimestamp)
    assert second["data"]["amount_str"] == "0"


async def test_diff_order_book_sends_changed_levels_with_zero_deletes(
    peer: Peer, market: ScriptedMarket
) -> None:
    await peer.subscribe("diff_order_book_btcusd")
    change = market.change(bids=[("100.00", "1.5")], asks=[("101.00", "0.00000000")])
    frame = await peer.receive()
    assert frame["event"] == "data"
    assert frame["data"] == {
        "timestamp": str(change.microtimestamp // 1_000_000),
        "microtimestamp": str(change.microtimestamp),
        "bids": [["100.00", "1.5"]],
        "asks": [["101.00", "0.00000000"]],
    }


async def test_detail_order_book_samples_the_top_orders_when_they_moved(
    peer: Peer, market: ScriptedMarket
) -> None:
    await peer.subscribe("detail_order_book_btcusd")
    owed = await peer.receive()  # a new subscriber gets the current top at once
    assert owed["data"]["bids"] == []
    created = market.order(OrderEventKind.CREATED, side=0, price="99.00", amount="2")
    market.change(bids=[("99.00", "2")])
    first = await peer.receive()
    assert first["channel"] == "detail_order_book_btcusd"
    assert first["data"]["bids"] == [["99.00", "2", str(created.order_id)]]
    market.order(OrderEventKind.DELETED, side=0, price="99.00", order_id=created.order_id)
    market.change(bids=[("99.00", "0")])
    second = await peer.receive()
    assert second["data"]["bids"] == []


async def test_order_book_snapshots_are_sampled_top_100(peer: Peer, market: ScriptedMarket) -> None:
    for level in range(150):
        market.change(bids=[(f"{1000 - level}.00", "1")], asks=[(f"{2000 + level}.00", "2")])
    await peer.subscribe("order_book_btcusd")
    frame = await peer.receive()  # owed to a new subscriber on the next sampling tick
    assert frame["event"] == "data" and frame["channel"] == "order_book_btcusd"
    data = frame["data"]
    assert len(data["bids"]) == len(data["asks"]) == 100
    assert data["bids"][0] == ["1000.00", "1"] and data["asks"][0] == ["2000.00", "2"]
    assert data["microtimestamp"] == str(market.book_micros)
    market.change(bids=[("1001.00", "3")])
    frame = await peer.receive()
    assert frame["data"]["bids"][0] == ["1001.00", "3"]


# -- private channels -------------------------------------------------------------------


async def test_private_channels_need_a_token_of_that_user(
    peer: Peer, market: ScriptedMarket, server: FakeWebSocketServer
) -> None:
    token = market.issue_token(4848701)
    unauthorized = {
        "event": "bts:error",
        "channel": "",
        "data": {"code": 4009, "message": "Connection is unauthorized."},
    }
    assert await peer.subscribe("private-my_orders_btcusd-4848701") == unauthorized
    assert await peer.subscribe("private-my_orders_btcusd-4848701", "forged") == unauthorized
    assert await peer.subscribe("private-my_orders_btcusd-1234567", token) == unauthorized
    ok = await peer.subscribe("private-my_orders_btcusd-4848701", token)
    assert ok["event"] == "bts:subscription_succeeded"
    assert server.stats.errors_sent["Connection is unauthorized."] == 3


async def test_private_my_orders_my_trades_and_self_trades(
    peer: Peer, market: ScriptedMarket
) -> None:
    user = 4848701
    token = market.issue_token(user)
    for name in ("my_orders", "my_trades", "live_trades"):
        await peer.subscribe(f"private-{name}_btcusd-{user}", token)
    market.order(OrderEventKind.CREATED, user_id=None)  # someone else's: not sent
    mine = market.order(OrderEventKind.CREATED, user_id=user, price="100.00", amount="1")
    order = await peer.receive()
    assert order["channel"] == f"private-my_orders_btcusd-{user}"
    assert order["event"] == "order_created"
    assert order["data"]["id_str"] == str(mine.order_id)
    assert order["data"]["client_order_id"] == "c-1"
    market.trade(buy_user=user, price="100.00", amount="0.5")
    fill = await peer.receive()
    assert fill["channel"] == f"private-my_trades_btcusd-{user}"
    assert fill["data"]["side"] == "buy"
    assert (fill["data"]["price"], fill["data"]["amount"], fill["data"]["fee"]) == (
        "100.00",
        "0.5",
        "0.20",
    )
    market.trade(buy_user=user, sell_user=user)
    kinds = {(await peer.receive())["event"] for _ in range(3)}  # buy fill, sell fill, notice
    assert kinds == {"trade", "self_trade"}


# -- limits -----------------------------------------------------------------------------


async def test_a_frame_over_512_bytes_closes_with_1009(peer: Peer) -> None:
    await peer.send({"event": "bts:subscribe", "data": {"channel": "live_trades_" + "x" * 600}})
    message = await asyncio.wait_for(peer.ws.receive(), TIMEOUT)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert peer.ws.close_code == 1009


async def test_the_1025th_channel_closes_the_connection(
    session: aiohttp.ClientSession, market: ScriptedMarket
) -> None:
    async with market.server(max_channels=3) as small, session.ws_connect(small.url) as ws:
        peer = Peer(ws)
        for index in range(3):
            assert (await peer.subscribe(f"live_trades_m{index}usd"))["event"].endswith("succeeded")
        await peer.send({"event": "bts:subscribe", "data": {"channel": "live_trades_m3usd"}})
        message = await asyncio.wait_for(ws.receive(), TIMEOUT)
        assert message.type is aiohttp.WSMsgType.CLOSE
    async with FakeWebSocketServer() as default:
        assert default.max_channels == 1024 and default.max_frame_bytes == 512


# -- faults -----------------------------------------------------------------------------


async def test_drop_connections_cuts_every_socket(
    server: FakeWebSocketServer, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(server.url) as first, session.ws_connect(server.url) as second:
        await Peer(first).subscribe("live_trades_btcusd")
        await Peer(second).subscribe("live_trades_btcusd")
        assert server.drop_connections() == 2
        for ws in (first, second):
            message = await asyncio.wait_for(ws.receive(), TIMEOUT)
            assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert server.connections == 0 and server.stats.connections_dropped == 2


async def test_refuse_connections_answers_503_until_accepted_again(
    server: FakeWebSocketServer, session: aiohttp.ClientSession
) -> None:
    server.refuse_connections(60)
    assert server.refusing
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(server.url)
    assert refused.value.status == 503
    server.accept_connections()
    async with session.ws_connect(server.url) as ws:
        assert (await Peer(ws).subscribe("live_trades_btcusd"))["event"].endswith("succeeded")
    assert server.stats.connections_refused == 1


async def test_request_reconnect_is_sent_and_the_connection_stays(
    peer: Peer, server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    await peer.subscribe("live_trades_btcusd")
    assert server.request_reconnect() == 1
    assert await peer.receive() == {
        "event": "bts:request_reconnect",
        "channel": "",
        "data": None,
    }
    market.trade()
    assert (await peer.receive())["event"] == "trade"


async def test_stall_holds_frames_then_sends_them_in_order(
    peer: Peer, server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    await peer.subscribe("live_trades_btcusd")
    loop = asyncio.get_running_loop()
    server.stall(0.4)
    started = loop.time()
    printed = [market.trade() for _ in range(5)]
    received = [(await peer.receive())["data"]["id"] for _ in range(5)]
    assert loop.time() - started >= 0.35
    assert received == [trade.trade_id for trade in printed]


async def test_send_raw_delivers_a_malformed_frame(peer: Peer, server: FakeWebSocketServer) -> None:
    await peer.subscribe("live_trades_btcusd")
    assert server.send_raw('{"event":"trade","channel":') == 1
    message = await asyncio.wait_for(peer.ws.receive(), TIMEOUT)
    assert message.data == '{"event":"trade","channel":'


async def test_protocol_pings_are_sent(
    market: ScriptedMarket, session: aiohttp.ClientSession
) -> None:
    async with (
        market.server(ping_interval=0.05) as pinging,
        session.ws_connect(pinging.url, autoping=False) as ws,
    ):
        message = await asyncio.wait_for(ws.receive(), TIMEOUT)
        assert message.type is aiohttp.WSMsgType.PING


async def test_amounts_are_written_plain_never_with_exponents(
    peer: Peer, market: ScriptedMarket
) -> None:
    await peer.subscribe("diff_order_book_btcusd")
    market.change(bids=[("0.00000100", str(Decimal("1E-8")))])
    data = (await peer.receive())["data"]
    assert data["bids"] == [["0.00000100", "0.00000001"]]


async def test_render_gives_the_frames_subscribers_get_and_replay_sends_them(
    peer: Peer, server: FakeWebSocketServer, market: ScriptedMarket
) -> None:
    await peer.subscribe("live_trades_btcusd")
    printed = [market.trade() for _ in range(3)]
    live = [await peer.receive() for _ in range(3)]
    rendered = server.render(printed)
    assert [orjson.loads(frame) for frame in rendered["live_trades_btcusd"]] == live
    await server.replay("live_trades_btcusd", rendered["live_trades_btcusd"] * 400)
    replayed = [await peer.receive() for _ in range(1200)]
    assert replayed == live * 400
