"""The stream hub: every channel any subscriber wants, spread over as few connections as
allowed, kept alive and recovered without loss.

Channels and connections
    Each channel is subscribed once, whatever the number of subscribers, and its frames are
    decoded once and handed to every subscriber synchronously. Channels fill a connection
    up to ``channels_per_connection`` (the exchange allows 1,024); more open another one.
    Every connection is watched by a supervisor task of its *slot*, which replaces it when
    it ends. Subscriptions go out through one pacer (an ``aiolimiter.AsyncLimiter``), so
    resubscribing hundreds of channels after a reconnect is never one burst.

Reconnecting after a hard drop
    The slot reconnects with capped exponential backoff and jitter and resubscribes every
    channel (private ones with a fresh token). As each channel is acknowledged on the new
    connection:

    * trades are refilled from REST ``transactions/`` by trade id: live trades are held
      while the REST page (the shortest of minute/hour/day covering the hole, a longer
      one when it does not reach back to the last trade delivered) is fetched, then the
      REST trades newer than the last one delivered go out (marked ``recovered``), then
      the held ones, then the live stream, each skipping any trade id already delivered
      until the first newer one (ids grow along a stream): nothing twice, nothing out of
      order. A hole older than ``time=day`` reaches, or a REST refill that fails, is
      announced by a :class:`Gap`.
    * other lossless channels (order events, book diffs, private channels) cannot be
      refilled: subscribers get a :class:`Gap` first (the local order book resyncs on it).
    * full-book snapshot channels heal themselves with the next snapshot.

Moving on ``bts:request_reconnect``
    A successor connection is opened and subscribed *before* the old one is closed. While
    both deliver a channel, the old one stays the source and the successor's frames are
    held; as soon as one frame (byte for byte) has arrived on both, the streams are joined
    there: the held frames after it are delivered, the successor becomes the source, and
    whatever the old one had already delivered beyond that point is skipped. Nothing is
    lost or repeated, for every channel kind. A channel that stays quiet is switched after
    ``handover_grace``; then the old connection is closed. Should the old one die first,
    its channels are recovered as after a hard drop, starting from the successor's held
    frames.

Malformed frames (not JSON, no envelope, a payload that does not decode, a trade lacking a
field) are counted in ``stats`` and skipped. A trade's values are parsed when read (see
:class:`LiveTrade`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import aiohttp
from aiolimiter import AsyncLimiter

from .._exceptions import BitstampError, ClientClosedError
from ._backoff import Backoff
from ._channels import Channel, ChannelKind, Delivery
from ._connection import Connection, EndReason, OpenFailedError, Pacer, TokenProvider
from ._events import Gap, GapReason, LiveTrade, StreamEvent, decoder_for, recovered_trade
from ._subscription import Subscription

__all__ = [
    "ChannelState",
    "FrameSink",
    "RestBook",
    "RestTrades",
    "Sink",
    "StreamHub",
    "StreamOptions",
    "StreamStats",
    "TradeRow",
]

# What a decoder raises on a frame without the documented shape.
_PARSE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError)
_TRADE_WINDOWS = (("minute", 60.0), ("hour", 3600.0), ("day", 86400.0))
# Slack when choosing a REST window: clocks differ and a request takes time.
_WINDOW_MARGIN = 10.0


class TradeRow(Protocol):
    """A REST ``transactions/`` row, as ``Client.transactions`` gives it."""

    @property
    def id(self) -> str: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def side(self) -> Any: ...


RestTrades = Callable[[str, str], Awaitable[Sequence[TradeRow]]]
"""``(pair, "minute" | "hour" | "day")`` -> the public trades of that window."""

RestBook = Callable[[str], Awaitable[tuple[int, Sequence[Any], Sequence[Any]]]]
"""``pair`` -> ``(microtimestamp, bids, asks)`` of the REST order book: rows
``[price, amount]`` (strings or Decimals), best first."""


class Sink(Protocol):
    """A subscriber as the hub sees it: fed synchronously, told when the stream ends."""

    def deliver(self, event: StreamEvent) -> None: ...

    def fail(self, error: BaseException) -> None: ...


class FrameSink(Sink, Protocol):
    """A subscriber fed each data frame's ``(event, data)`` as decoded JSON (and gaps)."""

    def deliver_frame(self, event: str, data: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Tuning of the stream client; the defaults suit the real exchange.

    * ``heartbeat_interval``: seconds between ``bts:heartbeat`` frames.
    * ``quiet_timeout``: a connection that received nothing (heartbeat answers included)
      for this long is replaced.
    * ``ping_interval``: WebSocket protocol pings (``None``: off).
    * ``connect_timeout``, ``close_timeout``: opening and closing a socket.
    * ``subscribe_timeout``: an unanswered subscription makes the connection quiet.
    * ``channels_per_connection``: at most this many channels per socket (<= 1,024).
    * ``buffer_size``: lossless events a subscriber may have waiting (see ``_buffers``).
    * ``handover_grace``: how long both connections run on ``bts:request_reconnect`` when
      a channel is quiet.
    * ``token_reuse``: seconds a websockets token is reused on one connection (tokens
      live 60 s and are needed only to subscribe).
    * ``backoff``: reconnect delays. ``rest_attempts``: tries of a REST refill.
    * ``join_limit``: frames held per channel during a handover before switching anyway.
    """

    heartbeat_interval: float = 20.0
    quiet_timeout: float = 45.0
    ping_interval: float | None = 30.0
    connect_timeout: float = 10.0
    close_timeout: float = 2.0
    subscribe_timeout: float = 15.0
    channels_per_connection: int = 1000
    buffer_size: int = 10_000
    handover_grace: float = 3.0
    token_reuse: float = 45.0
    backoff: Backoff = field(default_factory=Backoff)
    rest_attempts: int = 3
    join_limit: int = 100_000

    def __post_init__(self) -> None:
        if not 1 <= self.channels_per_connection <= 1024:
            raise ValueError("channels_per_connection must be from 1 to 1024")
        if self.buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        if self.heartbeat_interval <= 0 or self.quiet_timeout <= 0:
            raise ValueError("heartbeat_interval and quiet_timeout must be positive")
        if self.rest_attempts < 1:
            raise ValueError("rest_attempts must be at least 1")


@dataclass
class StreamStats:
    """Counters of what the hub did; read them any time."""

    connections_opened: int = 0
    connect_failures: int = 0
    reconnects: int = 0  # connections replaced after a drop or silence
    handovers: int = 0  # bts:request_reconnect moves completed
    reconnect_requests: int = 0
    quiet_connections: int = 0
    subscriptions_sent: int = 0
    tokens_fetched: int = 0
    heartbeats_sent: int = 0
    heartbeats_answered: int = 0
    malformed_frames: int = 0  # not JSON, no envelope, or a payload that did not decode
    unknown_frames: int = 0  # a control event we do not know
    stray_frames: int = 0  # data from a connection that no longer owns the channel
    duplicates_dropped: int = 0  # trades already delivered
    trades_recovered: int = 0  # from REST after a drop
    gaps: int = 0


def _trade_id(event: object) -> int | None:
    """A trade's id as an int, or ``None`` when the exchange sent it malformed."""
    try:
        return int(event.id)  # type: ignore[attr-defined]
    except _PARSE_ERRORS:
        return None


def _micros_of(event: object) -> int | None:
    """An event's microtimestamp, or ``None`` (none, or sent malformed)."""
    try:
        micros: int | None = getattr(event, "microtimestamp", None)
    except _PARSE_ERRORS:
        return None
    return micros


class _Join:
    """Two connections delivering one channel during a handover."""

    __slots__ = ("buffer", "keys", "new", "old", "seen")

    def __init__(self, old: Connection, new: Connection) -> None:
        self.old = old
        self.new = new
        self.buffer: list[tuple[str, Any, bytes]] = []  # the successor's frames, held
        self.keys: dict[bytes, int] = {}  # frame -> index in buffer
        self.seen: set[bytes] = set()  # frames the old connection delivered meanwhile


class ChannelState:
    """One subscribed channel: its subscribers, source connection and recovery state."""

    __slots__ = (
        "_dedupe_below",
        "_holding",
        "_join",
        "_owner",
        "channel",
        "decode",
        "decoding",
        "direct",
        "error",
        "frame_sinks",
        "hole_since",
        "last_event",
        "last_raw",
        "lost",
        "ready",
        "refill",
        "sinks",
        "slot",
        "subscribed_at",
        "subscribed_wall",
        "trades",
        "typed_sinks",
    )

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.decode = decoder_for(channel)
        self.trades = channel.kind is ChannelKind.LIVE_TRADES
        self.sinks: tuple[Sink, ...] = ()  # everyone: gaps and failures go to all
        self.typed_sinks: tuple[Sink, ...] = ()  # typed events
        self.frame_sinks: tuple[FrameSink, ...] = ()  # raw (event, data) frames
        self.decoding = self.trades
        self.slot: _Slot | None = None
        # The connection whose frames go straight to the subscribers: the owner, while
        # nothing is being joined, refilled or de-duplicated. Set by the first such frame
        # (on_frame), cleared by any change of those four: the hot path asks one question.
        self.direct: Connection | None = None
        self._owner: Connection | None = None  # whose frames are delivered
        self._join: _Join | None = None
        self._holding: list[StreamEvent] | None = None  # trades held during a REST refill
        self.refill: asyncio.Task[None] | None = None
        # The last event delivered (its id and time are read only when recovering), and,
        # after a REST refill, the newest trade id delivered: live trades up to it are
        # duplicates, until the first newer one.
        self.last_event: StreamEvent | None = None
        self.last_raw: bytes | None = None  # the last frame delivered, as received
        self._dedupe_below: int | None = None
        self.hole_since: float | None = None  # hub clock: the source was last heard then
        self.lost = False  # the source ended: recover on the next take-over
        self.subscribed_at: float | None = None  # hub clock at the first acknowledgement
        self.subscribed_wall: float | None = None  # and the wall clock
        self.ready = asyncio.Event()
        self.error: BitstampError | None = None

    def __repr__(self) -> str:
        return f"<ChannelState {self.channel.name} owner={self.owner!r}>"

    @property
    def owner(self) -> Connection | None:
        """The connection whose frames are delivered."""
        return self._owner

    @owner.setter
    def owner(self, connection: Connection | None) -> None:
        self._owner = connection
        self.direct = None

    @property
    def join(self) -> _Join | None:
        """The handover under way, if any."""
        return self._join

    @join.setter
    def join(self, join: _Join | None) -> None:
        self._join = join
        self.direct = None

    @property
    def holding(self) -> list[StreamEvent] | None:
        """Live trades held while a REST refill runs."""
        return self._holding

    @holding.setter
    def holding(self, held: list[StreamEvent] | None) -> None:
        self._holding = held
        self.direct = None

    @property
    def dedupe_below(self) -> int | None:
        """After a REST refill, the newest trade id delivered: live trades up to it are
        duplicates, until the first newer one."""
        return self._dedupe_below

    @dedupe_below.setter
    def dedupe_below(self, trade_id: int | None) -> None:
        self._dedupe_below = trade_id
        self.direct = None

    @property
    def last_trade_id(self) -> int | None:
        """Id of the last trade delivered (trade channels)."""
        event = self.last_event
        return _trade_id(event) if isinstance(event, LiveTrade) else None

    @property
    def last_micro(self) -> int | None:
        """Microtimestamp of the last event delivered, when it had one."""
        try:
            return getattr(self.last_event, "microtimestamp", None)
        except _PARSE_ERRORS:  # a trade whose time the exchange sent malformed
            return None


class StreamHub:
    """Subscriptions to Bitstamp's WebSocket API v2, shared, kept alive and recovered.

    The hub is independent of :class:`~aiobitstamp.Client`; the client builds one lazily
    from its own methods. Arguments:

    * ``ws_url``: ``wss://ws.bitstamp.net``, or an emulator's ``FakeBitstamp.ws_url``.
    * ``session_factory``: makes the ``aiohttp.ClientSession`` the hub owns and closes.
    * ``token_provider``: ``async () -> (token, user_id)``, a fresh websockets token; needed
      for private channels, called on every connection that has one.
    * ``rest_trades``: ``async (pair, window) -> rows`` of REST ``transactions/``; without
      it a dropped trade stream gets a :class:`Gap` instead of a refill.
    * ``rest_book``: ``async (pair) -> (microtimestamp, bids, asks)``, for local books.
    * ``pacer``: admits subscription frames; by default 100 per second in bursts of 20.
    * ``options``: :class:`StreamOptions`.
    * ``clock``: seconds, monotonic; measures how old a hole is (REST reaches back a day).

    >>> async with StreamHub("wss://ws.bitstamp.net") as hub:  # doctest: +SKIP
    ...     async for event in hub.subscribe("live_trades_btcusd", "live_orders_btcusd"):
    ...         print(event)
    """

    def __init__(
        self,
        ws_url: str,
        *,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
        token_provider: TokenProvider | None = None,
        rest_trades: RestTrades | None = None,
        rest_book: RestBook | None = None,
        pacer: Pacer | None = None,
        options: StreamOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not ws_url.startswith(("ws://", "wss://")):
            raise ValueError(f"ws_url must be a ws:// or wss:// URL, got {ws_url!r}")
        self.ws_url = ws_url
        self.options = options or StreamOptions()
        self.rest_trades = rest_trades
        self.rest_book = rest_book
        self.token_provider = token_provider
        self.stats = StreamStats()
        self._clock = clock
        self._session_factory = session_factory or aiohttp.ClientSession
        self._session: aiohttp.ClientSession | None = None
        self._pacer: Pacer = pacer if pacer is not None else AsyncLimiter(20, 0.2)
        self._states: dict[str, ChannelState] = {}
        self._slots: list[_Slot] = []
        self._serials = itertools.count(1)
        self._closed = False

    async def __aenter__(self) -> StreamHub:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` was called."""
        return self._closed

    def connections(self) -> list[Connection]:
        """The connections open now (successors during a handover included)."""
        found = []
        for slot in self._slots:
            for connection in (slot.current, slot.successor):
                if connection is not None and connection.usable:
                    found.append(connection)
        return found

    def channels(self) -> list[str]:
        """Every channel subscribed (or being subscribed) now."""
        return list(self._states)

    # -- subscribing --------------------------------------------------------------------

    def subscribe(
        self, *channels: str | Channel, buffer_size: int | None = None
    ) -> Subscription[StreamEvent]:
        """A :class:`~._subscription.Subscription` to ``channels``: iterate it with
        ``async for``; ``async with`` (or ``await sub.start()``) waits until every
        channel is acknowledged. Its buffer holds ``buffer_size`` lossless events
        (``options.buffer_size`` by default)."""
        if self._closed:
            raise ClientClosedError("this stream hub was closed (its client was closed)")
        return Subscription(self, channels, buffer_size or self.options.buffer_size)

    def attach(
        self, sink: Sink, channels: Iterable[Channel], *, frames: bool = False
    ) -> list[ChannelState]:
        """Feed ``sink`` every event of ``channels`` from now on (subscribing as needed).

        With ``frames``, ``sink`` (a :class:`FrameSink`) gets each frame's ``(event,
        data)`` as decoded JSON instead of a typed event: a local order book applies the
        wire rows directly. Gaps still come through ``deliver``. Not for trade channels,
        whose de-duplication works on typed trades. Must be called with the loop running.
        """
        if self._closed:
            raise ClientClosedError("this stream hub was closed (its client was closed)")
        states = []
        for channel in channels:
            state = self._states.get(channel.name)
            if state is None:
                state = ChannelState(channel)
                self._states[channel.name] = state
                self._slot_with_room().add(state)
            if sink not in state.sinks:
                if frames:
                    if state.trades:
                        raise ValueError("trade channels deliver typed trades only")
                    state.frame_sinks = (*state.frame_sinks, sink)  # type: ignore[arg-type]
                else:
                    state.typed_sinks = (*state.typed_sinks, sink)
                state.sinks = (*state.sinks, sink)
                state.decoding = bool(state.typed_sinks) or state.trades
            states.append(state)
        return states

    def detach(self, sink: Sink, channels: Iterable[Channel]) -> None:
        """Stop feeding ``sink``; a channel nobody wants any more is unsubscribed."""
        for channel in channels:
            state = self._states.get(channel.name)
            if state is None:
                continue
            state.sinks = tuple(s for s in state.sinks if s is not sink)
            state.typed_sinks = tuple(s for s in state.typed_sinks if s is not sink)
            state.frame_sinks = tuple(s for s in state.frame_sinks if s is not sink)
            state.decoding = bool(state.typed_sinks) or state.trades
            if not state.sinks:
                self._drop_state(state)

    async def wait_ready(self, states: Iterable[ChannelState]) -> None:
        """Wait until each channel was acknowledged once; raise the refusal of any."""
        for state in states:
            await state.ready.wait()
            if state.error is not None:
                raise state.error
            if self._closed:
                raise ClientClosedError("this stream hub was closed (its client was closed)")

    def _slot_with_room(self) -> _Slot:
        cap = self.options.channels_per_connection
        for slot in self._slots:
            if len(slot.states) < cap and not slot.stopping:
                return slot
        slot = _Slot(self)
        self._slots.append(slot)
        return slot

    def _drop_state(self, state: ChannelState) -> None:
        if self._states.get(state.channel.name) is state:
            del self._states[state.channel.name]
        if state.refill is not None:
            state.refill.cancel()
        slot = state.slot
        if slot is not None:
            slot.remove(state)
            if not slot.states and slot in self._slots:
                self._slots.remove(slot)

    # -- lifecycle ----------------------------------------------------------------------

    async def session(self) -> aiohttp.ClientSession:
        """The hub's HTTP session, made on first use."""
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    def new_connection(self, on_change: Callable[[Connection], None]) -> Connection:
        """A connection reporting to this hub (not yet open)."""
        assert self._session is not None
        return Connection(
            self,
            self.ws_url,
            self._session,
            self.options,
            self._pacer,
            self.token_provider,
            next(self._serials),
            on_change,
        )

    async def aclose(self) -> None:
        """Close every connection; every stream then ends with ``ClientClosedError``.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        error = ClientClosedError("the stream was closed because its client was closed")
        slots, self._slots = self._slots, []
        for slot in slots:
            await slot.stop()
        for state in list(self._states.values()):
            if state.refill is not None:
                state.refill.cancel()
            for sink in state.sinks:
                sink.fail(error)
            state.ready.set()
        self._states.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- what connections report (ConnectionOwner) --------------------------------------

    def on_frame(
        self, connection: Connection, state: ChannelState, event: str, data: Any, raw: bytes
    ) -> None:
        """A data frame of ``state``'s channel arrived on ``connection``."""
        if state.direct is connection:
            # The usual case, inline: the source, nothing being joined or recovered.
            state.last_raw = raw
            for frame_sink in state.frame_sinks:
                frame_sink.deliver_frame(event, data)
            if state.decoding:
                try:
                    decoded = state.decode(event, data)
                except _PARSE_ERRORS:
                    self.stats.malformed_frames += 1
                    return
                state.last_event = decoded
                for sink in state.typed_sinks:
                    sink.deliver(decoded)
            return
        if state.owner is connection and state.join is None:
            if state.holding is None and state.dedupe_below is None:
                state.direct = connection  # from the next frame on, the path above
            self._decode_accept(state, event, data, raw)
            return
        self._on_frame_aside(connection, state, event, data, raw)

    def _accept(self, state: ChannelState, event: StreamEvent) -> None:
        if state.trades:
            if state.holding is not None:
                state.holding.append(event)
                return
            floor = state.dedupe_below
            if floor is not None:
                trade_id = _trade_id(event)
                if trade_id is None:
                    self.stats.malformed_frames += 1
                    return
                if trade_id <= floor:
                    self.stats.duplicates_dropped += 1
                    return
                state.dedupe_below = None  # ids only grow from here
        state.last_event = event
        for sink in state.typed_sinks:
            sink.deliver(event)

    def _decode_accept(self, state: ChannelState, event: str, data: Any, raw: bytes) -> None:
        state.last_raw = raw
        for frame_sink in state.frame_sinks:
            frame_sink.deliver_frame(event, data)
        if not state.decoding:
            return
        try:
            decoded = state.decode(event, data)
        except _PARSE_ERRORS:
            self.stats.malformed_frames += 1
            return
        self._accept(state, decoded)

    def _on_frame_aside(
        self, connection: Connection, state: ChannelState, event: str, data: Any, raw: bytes
    ) -> None:
        join = state.join
        if join is None:
            self.stats.stray_frames += 1
            return
        if connection is join.new and state.owner is connection:
            # Joined, but the old connection was ahead: skip what it delivered already.
            if raw in join.seen:
                self.stats.duplicates_dropped += 1
                return
            state.join = None
            self._decode_accept(state, event, data, raw)
            return
        if connection is join.new:
            if raw in join.seen:
                # The old connection delivered this frame already, and so everything held
                # before it: join the streams here.
                self.finish_join(state, join, len(join.buffer))
                return
            join.keys[raw] = len(join.buffer)
            join.buffer.append((event, data, raw))
            if len(join.buffer) > self.options.join_limit:
                self.finish_join(state, join, 0)
            return
        if connection is join.old and state.owner is connection:
            self._decode_accept(state, event, data, raw)
            index = join.keys.get(raw)
            if index is not None:
                self.finish_join(state, join, index + 1)
            else:
                join.seen.add(raw)
                if len(join.seen) > self.options.join_limit:
                    self.finish_join(state, join, 0)
            return
        self.stats.stray_frames += 1

    def finish_join(self, state: ChannelState, join: _Join, start: int) -> None:
        """Make the successor the source, delivering its held frames from ``start`` on.

        Frames the old connection delivered are skipped, here and in what the successor
        sends next, until the first one it did not: the old connection may have been
        ahead of the point where the streams met."""
        state.owner = join.new
        seen = join.seen
        tail = True
        for event, data, raw in join.buffer[start:]:
            if tail and raw in seen:
                self.stats.duplicates_dropped += 1
                continue
            tail = False
            self._decode_accept(state, event, data, raw)
        join.buffer.clear()
        join.keys.clear()
        state.join = join if tail and seen else None
        if state.slot is not None:
            state.slot.wake.set()
        if state.slot is not None:
            state.slot.wake.set()

    def on_subscribed(self, connection: Connection, state: ChannelState) -> None:
        """``connection`` got ``bts:subscription_succeeded`` for ``state``'s channel."""
        owner = state.owner
        if state.join is not None and state.join.new is owner:
            state.join = None  # the tail of an earlier handover: over
        if owner is None:
            self._take_over(state, connection, ())
        elif owner is not connection and state.join is None:
            # The successor of a handover (or of a source that just ended and is about
            # to be recovered): hold its frames until the streams are joined. The frame
            # the old connection delivered last may already be in the successor's stream
            # (sent after the server took its subscription, read before its answer).
            join = state.join = _Join(owner, connection)
            if state.last_raw is not None:
                join.seen.add(state.last_raw)
        if state.slot is not None:
            state.slot.wake.set()

    def on_refused(self, connection: Connection, state: ChannelState, error: BitstampError) -> None:
        """The exchange (or the token provider) refused ``state``'s channel."""
        state.error = error
        sinks = state.sinks
        state.sinks = state.typed_sinks = state.frame_sinks = ()
        for sink in sinks:
            sink.fail(error)
        state.ready.set()
        self._drop_state(state)

    # -- recovery -----------------------------------------------------------------------

    def _take_over(
        self,
        state: ChannelState,
        connection: Connection,
        held: Sequence[tuple[str, Any, bytes]],
    ) -> None:
        """``connection`` becomes the source of ``state``; recover what its predecessor
        may have lost, then deliver ``held`` frames."""
        state.owner = connection
        state.join = None
        if state.subscribed_at is None:
            state.subscribed_at = self._clock()
            state.subscribed_wall = time.time()
            state.ready.set()
        lost, state.lost = state.lost, False
        if not lost:
            for event, data, raw in held:
                self._decode_accept(state, event, data, raw)
            return
        kind = state.channel.kind
        if state.trades and self.rest_trades is not None:
            if state.holding is None:
                state.holding = []
            for event, data, raw in held:
                self._decode_accept(state, event, data, raw)  # goes to holding
            if state.refill is not None:
                state.refill.cancel()
            state.refill = asyncio.get_running_loop().create_task(self._refill(state))
            return
        if kind.delivery is Delivery.LOSSLESS:
            self._gap(state, GapReason.RECONNECTED, state.last_micro, None)
        for event, data, raw in held:
            self._decode_accept(state, event, data, raw)

    def _gap(
        self, state: ChannelState, reason: GapReason, since: int | None, until: int | None
    ) -> None:
        self.stats.gaps += 1
        gap = Gap(state.channel.name, state.channel.pair, reason, since, until)
        for sink in state.sinks:
            sink.deliver(gap)

    def connection_lost(self, connection: Connection, states: Iterable[ChannelState]) -> None:
        """``connection`` ended: its channels lose their source; a channel whose
        successor already delivers it is recovered from there at once."""
        for state in states:
            join = state.join
            if state.owner is connection:
                state.owner = None
                state.lost = True
                heard = connection.last_heard(self._clock)
                if state.hole_since is None or heard < state.hole_since:
                    state.hole_since = heard
                state.join = None
                if join is not None and join.new.usable:
                    held = [frame for frame in join.buffer if frame[2] not in join.seen]
                    self._take_over(state, join.new, held)
            elif join is not None and join.new is connection:
                state.join = None  # the successor died; the old connection goes on

    async def _refill(self, state: ChannelState) -> None:
        """Deliver the trades a dropped connection missed, from REST, then the held ones.

        The hole is bridged when a REST page reaches back to a trade already delivered (its
        id at or below the last one): that proves nothing in between is missing. The
        shortest window covering the hole's age is asked first, and a longer one when the
        page does not reach back. Without such an overlap (a quiet market) the hole is
        taken as bridged when its age, on our clock, is within the window; otherwise a
        :class:`Gap` says where trades may be missing.
        """
        assert self.rest_trades is not None
        channel = state.channel
        last_id, last_micro = state.last_trade_id, state.last_micro
        # The hole's age on our own clock (the exchange's may be skewed): from when the
        # lost connection was last heard from. Trades older than that were delivered.
        since = state.hole_since if state.hole_since is not None else state.subscribed_at
        elapsed = self._clock() - (since or 0.0) + _WINDOW_MARGIN
        windows = [w for w in _TRADE_WINDOWS if w[1] >= elapsed] or [_TRADE_WINDOWS[-1]]
        gap: tuple[GapReason, int | None] | None = None
        recovered: list[tuple[int, TradeRow]] = []
        for window, span in windows:
            rows = await self._rest_page(channel.pair, window)
            if rows is None:
                gap = (GapReason.REST_FAILED, None)
                break
            recovered, overlap = self._newer_than(state, rows)
            if last_id is None or overlap:
                break
            if window == windows[-1][0] and elapsed > span:
                first = recovered_trade(channel, recovered[0][1]) if recovered else None
                gap = (GapReason.REST_UNREACHABLE, first.microtimestamp if first else None)
        held, state.holding = state.holding or [], None
        state.refill = None
        state.hole_since = None
        if gap is not None:
            until = gap[1]
            if until is None and held:
                until = _micros_of(held[0])
            self._gap(state, gap[0], last_micro, until)
        newest = last_id
        for trade_id, row in recovered:
            trade = recovered_trade(channel, row)
            state.last_event = trade
            newest = trade_id
            self.stats.trades_recovered += 1
            for sink in state.typed_sinks:
                sink.deliver(trade)
        state.dedupe_below = newest
        for event in held:
            self._accept(state, event)

    async def _rest_page(self, pair: str, window: str) -> Sequence[TradeRow] | None:
        """One ``transactions/`` page, retried; ``None`` when every attempt failed."""
        assert self.rest_trades is not None
        attempts = self.options.rest_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await self.rest_trades(pair, window)
            except BitstampError:
                if attempt == attempts:
                    return None
                await asyncio.sleep(self.options.backoff.delay(attempt))  # retry pacing
        return None

    @staticmethod
    def _newer_than(
        state: ChannelState, rows: Sequence[TradeRow]
    ) -> tuple[list[tuple[int, TradeRow]], bool]:
        """The rows after the last trade delivered, oldest first, and whether the page
        reached back to it (or before)."""
        last_id = state.last_trade_id
        floor = int(state.subscribed_wall or 0.0)
        overlap = False
        newer: list[tuple[int, TradeRow]] = []
        for row in rows:
            trade_id = int(row.id)
            if last_id is not None:
                if trade_id <= last_id:
                    overlap = True
                    continue
            elif row.timestamp.timestamp() < floor:
                continue  # nothing delivered yet: only what came after subscribing
            newer.append((trade_id, row))
        newer.sort(key=lambda pair: pair[0])
        return newer, overlap


class _Slot:
    """A logical connection: a set of channels and the supervisor that keeps a socket
    subscribed to them, replacing it after drops and moving it on request."""

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub
        self.states: dict[str, ChannelState] = {}
        self.current: Connection | None = None
        self.successor: Connection | None = None
        self.wake = asyncio.Event()
        self.stopping = False
        self._task: asyncio.Task[None] | None = None

    def add(self, state: ChannelState) -> None:
        self.states[state.channel.name] = state
        state.slot = self
        for connection in (self.current, self.successor):
            if connection is not None and connection.usable:
                connection.want(state)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._supervise())

    def remove(self, state: ChannelState) -> None:
        self.states.pop(state.channel.name, None)
        state.slot = None
        state.join = None
        for connection in (self.current, self.successor):
            if connection is not None:
                connection.unwant(state)
        if not self.states:
            self.stopping = True
            self.wake.set()

    def _changed(self, connection: Connection) -> None:
        self.wake.set()

    async def stop(self) -> None:
        self.stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_all()

    async def _close_all(self) -> None:
        for connection in (self.current, self.successor):
            if connection is not None:
                await connection.close(EndReason.CLOSED)
        self.current = self.successor = None

    async def _supervise(self) -> None:
        hub = self.hub
        await hub.session()
        try:
            while not self.stopping:
                current = self.current
                if current is None or not current.usable:
                    if current is not None:
                        hub.connection_lost(current, list(self.states.values()))
                        await current.close(current.end_reason or EndReason.DROPPED)
                        self.current = None
                        hub.stats.reconnects += 1
                    self.current = await self._open(alive=None)
                    continue
                if current.reconnect_requested:
                    await self._hand_over(current)
                    continue
                self.wake.clear()
                await self.wake.wait()
        finally:
            if self.stopping:
                await self._close_all()

    async def _open(self, alive: Connection | None) -> Connection | None:
        """Open a connection wanting every channel, retrying with backoff; with ``alive``
        given, give up (``None``) as soon as that connection ends."""
        hub, attempt = self.hub, 0
        while not self.stopping:
            connection = hub.new_connection(self._changed)
            try:
                await connection.open()
            except OpenFailedError:
                hub.stats.connect_failures += 1
            else:
                for state in list(self.states.values()):
                    connection.want(state)
                return connection
            attempt += 1
            delay = hub.options.backoff.delay(attempt)
            if alive is None:
                await asyncio.sleep(delay)  # the backoff itself
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(alive.ended.wait(), delay)
            if not alive.usable:
                return None
        return None

    async def _wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            remaining = deadline - loop.time()
            if remaining <= 0 or self.stopping:
                return False
            self.wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), remaining)
        return True

    async def _hand_over(self, old: Connection) -> None:
        hub = self.hub
        old.reconnect_requested = False  # one move per request
        new = await self._open(alive=old)
        if new is None:
            return  # the old connection ended first: recovered as after a drop
        self.successor = new
        options = hub.options
        await self._wait_until(
            lambda: new.fully_subscribed or not new.usable or not old.usable,
            options.subscribe_timeout,
        )
        if not new.usable:
            self.successor = None
            hub.connection_lost(new, list(self.states.values()))
            await new.close(EndReason.DROPPED)
            old.reconnect_requested = True  # try again, through the backoff of _open
            return
        if old.usable:

            def joined() -> bool:
                return not old.usable or all(s.owner is not old for s in self.states.values())

            await self._wait_until(joined, options.handover_grace)
        if not old.usable:
            # It ended before the streams met: recover from the successor's held frames.
            hub.connection_lost(old, list(self.states.values()))
        for state in list(self.states.values()):
            if state.owner is old:
                join = state.join
                if join is not None and join.new is new:
                    hub.finish_join(state, join, 0)
                elif state in new.acked:
                    state.owner = new
                else:
                    state.owner = None
                    state.lost = True
        self.current, self.successor = new, None
        hub.stats.handovers += 1
        await old.close(EndReason.REPLACED)
        # Channels the successor has not acknowledged get their source on its answer.
