"""The emulator's WebSocket endpoint: Bitstamp's WebSocket API v2 on its own loopback port.

Like ``wss://ws.bitstamp.net`` beside ``www.bitstamp.net``, it is a separate aiohttp app
and port; ``FakeBitstamp`` starts and stops it and gives its address as ``ws_url``. Every
channel is a view of the market's :class:`~._feed.MarketFeed`, so the trade on
``live_trades_`` is the trade (same id) that ``transactions/`` lists:

=============================  ============================================================
channel                        fed by
=============================  ============================================================
``live_trades_X``              each ``TradePrinted`` (``trade``)
``live_orders_X``              each ``OrderEvent`` (``order_created/changed/deleted``)
``diff_order_book_X``          each ``BookChanged`` (changed levels, amount 0 = gone)
``detail_order_book_X``        every ``snapshot_interval`` seconds when orders moved: the
                               top 100 orders
``order_book_X``               every ``snapshot_interval`` seconds when the book changed:
                               the top 100 levels
``private-my_orders_X-{uid}``  the ``OrderEvent``\\ s of that user's orders
``private-my_trades_X-{uid}``  the ``TradePrinted``\\ s where that user bought or sold
``private-live_trades_X-{uid}`` ``self_trade`` when the user was on both sides
=============================  ============================================================

The protocol is the exchange's (see the fact sheet, section g): one channel per
``bts:subscribe`` frame, answered by ``bts:subscription_succeeded`` (or ``bts:error``:
"Incorrect JSON format.", "Bad subscription string.", "Invalid channel provided.", and
code 4009 "Connection is unauthorized." for a private channel whose ``auth`` token is not
valid for that user id); ``bts:heartbeat`` is answered with ``{"status": "success"}``;
``bts:unsubscribe`` with ``bts:unsubscription_succeeded``. Unknown lower-case markets are
acknowledged and stay silent. A client frame over 512 bytes closes the connection with
1009; a 1,025th channel on one connection closes it. The server sends protocol pings
every ``ping_interval`` seconds.

Faults on demand: :meth:`drop_connections`, :meth:`refuse_connections` (for a while),
:meth:`request_reconnect`, :meth:`stall` (hold every outgoing frame for a while, then send
them all), :meth:`send_raw` (e.g. a malformed frame).

Each connection has its own queue of outgoing frames, filled synchronously by the feed
listener and drained by one writer task; a frame is encoded once per channel and shared by
every subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import orjson
from aiohttp import WSMsgType, web

from ._feed import BookChanged, FeedEvent, MarketFeed, OrderEvent, TradePrinted

__all__ = ["FakeWebSocketServer", "WebSocketStats", "start_websocket_endpoint"]

logger = logging.getLogger("aiobitstamp.testing")

MAX_CHANNELS: Final = 1024
MAX_FRAME_BYTES: Final = 512
SNAPSHOT_DEPTH: Final = 100
_UNSAFE_INTEGER: Final = 2**53

_PUBLIC_PREFIXES: Final = (
    "live_trades_",
    "live_orders_",
    "order_book_",
    "detail_order_book_",
    "diff_order_book_",
)
_PRIVATE_PREFIXES: Final = ("private-my_orders_", "private-my_trades_", "private-live_trades_")
_MARKET: Final = re.compile(r"[a-z0-9]+(?:-perp)?")
_PRIVATE_MARKET: Final = re.compile(r"([a-z0-9]+(?:-perp)?)-([0-9]+)")

Level = Sequence[Any]  # (price, amount) or (price, amount, order_id)
BookView = tuple[int, Sequence[Level], Sequence[Level]]
BookSource = Callable[[str, int], BookView]
TokenCheck = Callable[[str], "int | str | None"]


_REPLAY_HIGH_WATER: Final = 4 * 1024 * 1024


class _Everyone(dict[str, "set[_Peer]"]):
    """While rendering, every channel counts as subscribed."""

    def __contains__(self, key: object) -> bool:
        return True


def _text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked WebSocket text frame (server to client)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def _market_of(channel: str) -> str:
    """The market symbol a (valid) channel name is about."""
    for prefix in _PRIVATE_PREFIXES:
        if channel.startswith(prefix):
            return channel[len(prefix) :].rpartition("-")[0]
    for prefix in _PUBLIC_PREFIXES:
        if channel.startswith(prefix):
            return channel[len(prefix) :]
    return channel


def _frame(event: str, channel: str, data: object) -> bytes:
    return orjson.dumps({"event": event, "channel": channel, "data": data})


def _text(value: Any) -> str:
    """A Decimal (or already a string, or an id) as the exchange writes it: plain, never
    with an exponent."""
    if value.__class__ is str:
        return value
    if value.__class__ is int:
        return str(value)
    return f"{value:f}"


_HEARTBEAT_REPLY: Final = _frame("bts:heartbeat", "", {"status": "success"})
_REQUEST_RECONNECT: Final = _frame("bts:request_reconnect", "", None)


def _error(message: str, code: int | None = None) -> bytes:
    return _frame("bts:error", "", {"code": code, "message": message})


_BAD_JSON: Final = _error("Incorrect JSON format.")
_BAD_SUBSCRIPTION: Final = _error("Bad subscription string.")
_BAD_CHANNEL: Final = _error("Invalid channel provided.")
_UNAUTHORIZED: Final = _error("Connection is unauthorized.", 4009)


@dataclass
class WebSocketStats:
    """What the WebSocket endpoint saw and sent; ``reset()`` between phases of a test."""

    connections_opened: int = 0
    connections_refused: int = 0
    connections_dropped: int = 0
    slow_consumers_cut: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    errors_sent: Counter[str] = field(default_factory=Counter)
    subscribe_requests: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        """Zero every counter."""
        self.connections_opened = self.connections_refused = self.connections_dropped = 0
        self.slow_consumers_cut = 0
        self.frames_sent = self.frames_received = 0
        self.errors_sent.clear()
        self.subscribe_requests.clear()


class _Peer:
    """One client connection: its channels and its queue of outgoing frames."""

    __slots__ = (
        "channels",
        "closing",
        "outbox",
        "request",
        "resume",
        "stall_handle",
        "wake",
        "ws",
    )

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        self.request = request
        self.ws = ws
        self.channels: set[str] = set()
        self.outbox: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.resume = asyncio.Event()  # cleared while stalled
        self.resume.set()
        self.stall_handle: asyncio.TimerHandle | None = None
        self.closing = False

    def send(self, frame: bytes) -> None:
        self.outbox.append(frame)
        self.wake.set()


class FakeWebSocketServer:
    """Bitstamp's WebSocket API v2 on ``host:port`` (port 0 picks a free one).

    ``feed`` is the market to stream. ``check_token(token)`` answers the user id a
    websockets token was issued to, or ``None``; ``book_snapshot(market, depth)`` and
    ``detail_book(market, depth)`` answer ``(microtimestamp, bids, asks)`` best first,
    with ``(price, amount)`` and ``(price, amount, order_id)`` rows: without them the
    ``order_book_`` and ``detail_order_book_`` channels stay silent.
    ``on_subscribe(market)`` is called after each subscription is acknowledged
    (``FakeBitstamp`` wakes that market and, unless ``run_market`` is set False, runs the
    markets in the background there, so the feed flows).

    A connection whose unsent frames exceed ``max_outbox`` (a client that cannot keep up)
    is cut, as the exchange would; ``stats.slow_consumers_cut`` counts them.

    Use it as an async context manager or with :meth:`start` / :meth:`close`; ``url``
    is ``ws://127.0.0.1:<port>``.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        feed: MarketFeed | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        check_token: TokenCheck | None = None,
        book_snapshot: BookSource | None = None,
        detail_book: BookSource | None = None,
        snapshot_interval: float = 0.1,
        ping_interval: float | None = 54.0,
        max_channels: int = MAX_CHANNELS,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        max_outbox: int = 200_000,
        on_subscribe: Callable[[str], object] | None = None,
    ) -> None:
        if snapshot_interval <= 0:
            raise ValueError("snapshot_interval must be positive")
        self.feed = feed if feed is not None else MarketFeed()
        self.host = host
        self.port = port
        self.check_token = check_token
        self.book_snapshot = book_snapshot
        self.detail_book = detail_book
        self.snapshot_interval = snapshot_interval
        self.ping_interval = ping_interval
        self.max_channels = max_channels
        self.max_frame_bytes = max_frame_bytes
        self.on_subscribe = on_subscribe
        self.max_outbox = max_outbox
        # Read by FakeBitstamp's hook: whether a subscription starts the background market
        # (False: the test drives it with advance()).
        self.run_market = True
        self.stats = WebSocketStats()
        self._peers: set[_Peer] = set()
        self._subscribers: dict[str, set[_Peer]] = {}
        self._new_snapshot_subscribers: set[str] = set()  # order_book_ channels owed one
        self._book_changed: set[str] = set()  # markets whose book moved since the last sample
        self._orders_moved: set[str] = set()  # markets whose orders moved since the last sample
        self._refuse_until = 0.0
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._unsubscribe_feed: Callable[[], None] | None = None
        self._sampler: asyncio.Task[None] | None = None
        self._capture: dict[str, list[bytes]] | None = None  # render() collects here

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> FakeWebSocketServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start serving; ``url`` is valid afterwards."""
        if self._runner is not None:
            raise RuntimeError("FakeWebSocketServer is already running")
        app = web.Application()
        app.router.add_get("/", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"ws://{host}:{port}"
        self._unsubscribe_feed = self.feed.subscribe(self._on_market_event)
        self._sampler = asyncio.create_task(self._sample_books())

    async def close(self) -> None:
        """Close every connection and stop serving. Safe to call more than once."""
        runner, self._runner = self._runner, None
        if self._unsubscribe_feed is not None:
            self._unsubscribe_feed()
            self._unsubscribe_feed = None
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        for peer in list(self._peers):
            self._abort(peer)
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>``: the client's ``ws_url``."""
        if self._url is None or self._runner is None:
            raise RuntimeError("FakeWebSocketServer is not running: use 'async with' or start()")
        return self._url

    @property
    def connections(self) -> int:
        """Connections open now."""
        return len(self._peers)

    @property
    def backlog(self) -> int:
        """Frames waiting to be sent on the busiest connection (a replay paces itself on
        it)."""
        return max((len(peer.outbox) for peer in self._peers), default=0)

    def subscribers(self, channel: str) -> int:
        """How many connections are subscribed to ``channel`` (wire name) now."""
        return len(self._subscribers.get(channel, ()))

    # -- faults -------------------------------------------------------------------------

    def drop_connections(self) -> int:
        """Cut every open connection at the TCP level, without a close frame (a hard
        drop, as when a load balancer dies). Returns how many were cut."""
        peers = list(self._peers)
        for peer in peers:
            self._abort(peer)
        self.stats.connections_dropped += len(peers)
        return len(peers)

    def refuse_connections(self, seconds: float) -> None:
        """Answer every WebSocket upgrade with HTTP 503 for the next ``seconds``."""
        loop = asyncio.get_running_loop()
        self._refuse_until = max(self._refuse_until, loop.time() + seconds)

    def accept_connections(self) -> None:
        """End a refusal started by :meth:`refuse_connections` now."""
        self._refuse_until = 0.0

    @property
    def refusing(self) -> bool:
        """True while new connections are refused."""
        return asyncio.get_running_loop().time() < self._refuse_until

    def outage(self, seconds: float) -> int:
        """Drop every connection and refuse new ones for ``seconds``."""
        self.refuse_connections(seconds)
        return self.drop_connections()

    def request_reconnect(self) -> int:
        """Send ``bts:request_reconnect`` on every connection; they stay open (the client
        is expected to move within seconds). Returns how many were asked."""
        for peer in self._peers:
            peer.send(_REQUEST_RECONNECT)
        return len(self._peers)

    def stall(self, seconds: float) -> None:
        """Stop sending on every open connection for ``seconds``; frames produced
        meanwhile wait and go out afterwards, in order (a stalled route, not a loss)."""
        loop = asyncio.get_running_loop()
        for peer in self._peers:
            peer.resume.clear()
            if peer.stall_handle is not None:
                peer.stall_handle.cancel()
            peer.stall_handle = loop.call_later(seconds, peer.resume.set)

    def send_raw(self, frame: bytes | str) -> int:
        """Send ``frame`` as a text frame on every connection, e.g. a malformed one."""
        payload = frame.encode() if isinstance(frame, str) else frame
        for peer in self._peers:
            peer.send(payload)
        return len(self._peers)

    # -- benchmarks ---------------------------------------------------------------------

    def render(self, events: Iterable[FeedEvent]) -> dict[str, list[bytes]]:
        """The frames each channel would carry for ``events``, as this server writes them,
        whoever is subscribed (a benchmark renders a feed once, then replays it).
        Sampled channels (``order_book_``, ``detail_order_book_``) are not rendered."""
        captured: dict[str, list[bytes]] = {}
        subscribers, self._subscribers = self._subscribers, _Everyone()
        self._capture = captured
        try:
            for event in events:
                self._on_market_event(event)
        finally:
            self._subscribers, self._capture = subscribers, None
        return captured

    async def replay(self, channel: str, frames: Sequence[bytes], *, chunk: int = 500) -> None:
        """Write pre-rendered ``frames`` to every connection subscribed to ``channel`` as
        fast as their sockets take them: a firehose that no consumer can outrun, so a
        benchmark measures the consumer. Frames already queued go first."""
        peers = list(self._subscribers.get(channel, ()))
        while any(peer.outbox for peer in peers):  # noqa: ASYNC110 - the writers' pace
            await asyncio.sleep(0.001)
        transports = [peer.request.transport for peer in peers]
        for start in range(0, len(frames), chunk):
            blob = b"".join(_text_frame(frame) for frame in frames[start : start + chunk])
            live = [t for t in transports if t is not None and not t.is_closing()]
            if not live:
                return
            for transport in live:
                transport.write(blob)
            while any(t.get_write_buffer_size() > _REPLAY_HIGH_WATER for t in live):  # noqa: ASYNC110
                await asyncio.sleep(0.0005)  # the socket's pace

    # -- connections --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        if loop.time() < self._refuse_until:
            self.stats.connections_refused += 1
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse(
            heartbeat=self.ping_interval, max_msg_size=self.max_frame_bytes, compress=False
        )
        await ws.prepare(request)
        peer = _Peer(request, ws)
        self._peers.add(peer)
        self.stats.connections_opened += 1
        writer = asyncio.create_task(self._write(peer))
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self.stats.frames_received += 1
                    await self._on_client_frame(peer, message.data)
                elif message.type is WSMsgType.BINARY:
                    peer.send(_BAD_JSON)
                if peer.closing:
                    break
        finally:
            self._forget(peer)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if not ws.closed:
                await ws.close()
        return ws

    async def _write(self, peer: _Peer) -> None:
        ws, outbox = peer.ws, peer.outbox
        stats = self.stats
        try:
            while True:
                if not outbox:
                    peer.wake.clear()
                    await peer.wake.wait()
                    continue
                if not peer.resume.is_set():
                    await peer.resume.wait()
                    continue
                frame = outbox.popleft()
                await ws.send_frame(frame, WSMsgType.TEXT)
                stats.frames_sent += 1
        except (ConnectionError, RuntimeError):
            # The peer went away mid-send; the reading side cleans up.
            self._abort(peer)

    def _abort(self, peer: _Peer) -> None:
        self._forget(peer)
        transport = peer.request.transport
        if transport is not None:
            transport.abort()

    def _forget(self, peer: _Peer) -> None:
        if peer not in self._peers:
            return
        self._peers.discard(peer)
        if peer.stall_handle is not None:
            peer.stall_handle.cancel()
        for channel in peer.channels:
            subscribers = self._subscribers.get(channel)
            if subscribers is not None:
                subscribers.discard(peer)
                if not subscribers:
                    del self._subscribers[channel]
        peer.channels.clear()

    async def _on_client_frame(self, peer: _Peer, text: str) -> None:
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._send_error(peer, _BAD_JSON, "Incorrect JSON format.")
            return
        event = request.get("event") if isinstance(request, dict) else None
        if event == "bts:heartbeat":
            peer.send(_HEARTBEAT_REPLY)
            return
        data = request.get("data") if isinstance(request, dict) else None
        channel = data.get("channel") if isinstance(data, dict) else None
        if event not in ("bts:subscribe", "bts:unsubscribe") or not isinstance(channel, str):
            self._send_error(peer, _BAD_SUBSCRIPTION, "Bad subscription string.")
            return
        assert isinstance(data, dict)
        if event == "bts:unsubscribe":
            self._unsubscribe(peer, channel)
            peer.send(_frame("bts:unsubscription_succeeded", channel, {}))
            return
        self.stats.subscribe_requests[channel] += 1
        verdict = self._check_channel(channel, data.get("auth"))
        if verdict is not None:
            self._send_error(peer, verdict, orjson.loads(verdict)["data"]["message"])
            return
        if channel not in peer.channels:
            if len(peer.channels) >= self.max_channels:
                # The exchange says nothing: the connection just ends.
                peer.closing = True
                await peer.ws.close(code=1008)
                return
            peer.channels.add(channel)
            self._subscribers.setdefault(channel, set()).add(peer)
            if channel.startswith(("order_book_", "detail_order_book_")):
                self._new_snapshot_subscribers.add(channel)
        peer.send(_frame("bts:subscription_succeeded", channel, {}))
        if self.on_subscribe is not None:
            # After the acknowledgement: whatever the hook makes happen follows it.
            self.on_subscribe(_market_of(channel))

    def _send_error(self, peer: _Peer, frame: bytes, message: str) -> None:
        self.stats.errors_sent[message] += 1
        peer.send(frame)

    def _check_channel(self, channel: str, auth: object) -> bytes | None:
        """None when ``channel`` may be subscribed, else the error frame to answer."""
        for prefix in _PUBLIC_PREFIXES:
            if channel.startswith(prefix):
                market = channel[len(prefix) :]
                return None if _MARKET.fullmatch(market) else _BAD_CHANNEL
        for prefix in _PRIVATE_PREFIXES:
            if channel.startswith(prefix):
                found = _PRIVATE_MARKET.fullmatch(channel[len(prefix) :])
                if found is None:
                    return _BAD_CHANNEL
                if not isinstance(auth, str) or self.check_token is None:
                    return _UNAUTHORIZED
                owner = self.check_token(auth)
                if owner is None or str(owner) != found.group(2):
                    return _UNAUTHORIZED
                return None
        return _BAD_CHANNEL

    def _unsubscribe(self, peer: _Peer, channel: str) -> None:
        peer.channels.discard(channel)
        subscribers = self._subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard(peer)
            if not subscribers:
                del self._subscribers[channel]

    # -- the market, as frames ----------------------------------------------------------

    def _publish(self, channel: str, frame: bytes) -> None:
        if self._capture is not None:
            self._capture.setdefault(channel, []).append(frame)
            return
        peers = self._subscribers.get(channel)
        if not peers:
            return
        limit = self.max_outbox
        too_slow: list[_Peer] = []
        for peer in peers:
            if len(peer.outbox) < limit:
                peer.send(frame)
            else:
                too_slow.append(peer)
        for peer in too_slow:
            self.stats.slow_consumers_cut += 1
            self._abort(peer)

    def _on_market_event(self, event: FeedEvent) -> None:
        # A feed listener must not raise: an emulator bug is logged, the market goes on.
        try:
            if isinstance(event, TradePrinted):
                self._on_trade(event)
            elif isinstance(event, OrderEvent):
                self._on_order(event)
            elif isinstance(event, BookChanged):
                self._on_book(event)
        except Exception:  # the listener boundary: never break the publisher
            logger.exception("WebSocket endpoint failed on %r", event)

    def _on_trade(self, trade: TradePrinted) -> None:
        market, subscribers = trade.market, self._subscribers
        micros = trade.microtimestamp
        public = "live_trades_" + market
        if public in subscribers:
            data: dict[str, Any] = {
                "id": trade.trade_id,
                "timestamp": str(micros // 1_000_000),
                "amount": float(trade.amount),
                "amount_str": _text(trade.amount),
                "price": float(trade.price),
                "price_str": _text(trade.price),
                "type": trade.taker_side,
                "microtimestamp": str(micros),
                "buy_order_id": trade.buy_order_id,
                "sell_order_id": trade.sell_order_id,
            }
            if trade.trade_id >= _UNSAFE_INTEGER:
                data["id_str"] = str(trade.trade_id)
            self._publish(public, _frame("trade", public, data))
        for user, order_id, client_order_id, fee, side in (
            (trade.buy_user_id, trade.buy_order_id, trade.buy_client_order_id, trade.buy_fee, 0),
            (
                trade.sell_user_id,
                trade.sell_order_id,
                trade.sell_client_order_id,
                trade.sell_fee,
                1,
            ),
        ):
            if user is None:
                continue
            channel = f"private-my_trades_{market}-{user}"
            if channel in subscribers:
                mine = {
                    "id": trade.trade_id,
                    "order_id": order_id,
                    "client_order_id": client_order_id,
                    "amount": _text(trade.amount),
                    "price": _text(trade.price),
                    "fee": _text(fee),
                    "side": "buy" if side == 0 else "sell",
                    "microtimestamp": str(micros),
                    "trade_account_id": 0,
                }
                self._publish(channel, _frame("trade", channel, mine))
        if trade.buy_user_id is not None and trade.buy_user_id == trade.sell_user_id:
            channel = f"private-live_trades_{market}-{trade.buy_user_id}"
            if channel in subscribers:
                notice = {
                    "id": trade.trade_id,
                    "amount": _text(trade.amount),
                    "price": _text(trade.price),
                    "buy_order_id": trade.buy_order_id,
                    "sell_order_id": trade.sell_order_id,
                    "microtimestamp": str(micros),
                }
                self._publish(channel, _frame("self_trade", channel, notice))

    def _order_data(self, order: OrderEvent) -> dict[str, Any]:
        return {
            "id": order.order_id,
            "id_str": str(order.order_id),
            "order_type": order.side,
            "datetime": str(order.microtimestamp // 1_000_000),
            "microtimestamp": str(order.microtimestamp),
            "amount": float(order.amount),
            "amount_str": _text(order.amount),
            "amount_traded": _text(order.amount_traded),
            "amount_at_create": _text(order.amount_at_create),
            "price": float(order.price),
            "price_str": _text(order.price),
        }

    def _on_order(self, order: OrderEvent) -> None:
        market, subscribers = order.market, self._subscribers
        self._orders_moved.add(market)
        public = "live_orders_" + market
        data: dict[str, Any] | None = None
        if public in subscribers:
            data = self._order_data(order)
            self._publish(public, _frame(order.kind.value, public, data))
        if order.user_id is not None:
            channel = f"private-my_orders_{market}-{order.user_id}"
            if channel in subscribers:
                mine = dict(data) if data is not None else self._order_data(order)
                mine["client_order_id"] = order.client_order_id
                mine["trade_account_id"] = 0
                self._publish(channel, _frame(order.kind.value, channel, mine))

    def _on_book(self, change: BookChanged) -> None:
        market, subscribers = change.market, self._subscribers
        self._book_changed.add(market)
        channel = "diff_order_book_" + market
        if channel in subscribers:
            data = {
                "timestamp": str(change.microtimestamp // 1_000_000),
                "microtimestamp": str(change.microtimestamp),
                "bids": [[_text(price), _text(amount)] for price, amount in change.bids],
                "asks": [[_text(price), _text(amount)] for price, amount in change.asks],
            }
            self._publish(channel, _frame("data", channel, data))

    @staticmethod
    def _book_frame(channel: str, view: BookView) -> bytes:
        micros, bids, asks = view
        data = {
            "timestamp": str(micros // 1_000_000),
            "microtimestamp": str(micros),
            "bids": [[_text(value) for value in row] for row in bids],
            "asks": [[_text(value) for value in row] for row in asks],
        }
        return _frame("data", channel, data)

    async def _sample_books(self) -> None:
        # order_book_ and detail_order_book_ are sampled channels: every interval, a fresh
        # top 100 of each market whose book (or orders) moved, and of each channel that has
        # a new subscriber. Sampling here, outside the feed listener, keeps the books'
        # sources free to run the market while they answer.
        while True:
            await asyncio.sleep(self.snapshot_interval)  # the channels' sampling period
            changed, self._book_changed = self._book_changed, set()
            moved, self._orders_moved = self._orders_moved, set()
            owed, self._new_snapshot_subscribers = self._new_snapshot_subscribers, set()
            for prefix, source, dirty in (
                ("order_book_", self.book_snapshot, changed),
                ("detail_order_book_", self.detail_book, moved),
            ):
                if source is None:
                    continue
                for channel in [c for c in self._subscribers if c.startswith(prefix)]:
                    market = channel[len(prefix) :]
                    if market not in dirty and channel not in owed:
                        continue
                    try:
                        view = source(market, SNAPSHOT_DEPTH)
                    except (LookupError, ValueError):
                        continue  # an unknown market: acknowledged, silent
                    self._publish(channel, self._book_frame(channel, view))


class _Exchange(Protocol):
    """What the endpoint needs from ``FakeBitstamp``."""

    host: str

    @property
    def feed(self) -> MarketFeed: ...

    def check_ws_token(self, token: str) -> int | None: ...

    def book_snapshot(self, market: str, depth: int | None = None) -> BookView: ...

    def detail_book(self, market: str, depth: int | None = 100) -> BookView: ...

    def run_market(self) -> object: ...


async def start_websocket_endpoint(exchange: _Exchange) -> FakeWebSocketServer:
    """Start the WebSocket endpoint of ``exchange`` (a ``FakeBitstamp``) on its host.

    A subscription wakes its market (markets live from the first time anything needs
    them) and keeps the markets running, so every channel flows without REST calls.
    """

    def wake(market: str) -> None:
        if server.run_market:
            exchange.run_market()
        with contextlib.suppress(LookupError, ValueError):
            exchange.book_snapshot(market, 1)  # unknown markets stay silent

    server = FakeWebSocketServer(
        exchange.feed,
        host=exchange.host,
        check_token=exchange.check_ws_token,
        book_snapshot=exchange.book_snapshot,
        detail_book=exchange.detail_book,
        on_subscribe=wake,
    )
    await server.start()
    return server
