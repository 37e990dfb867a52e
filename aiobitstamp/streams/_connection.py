"""One WebSocket connection to the exchange: open, subscribe (paced), read, keep alive.

A connection knows nothing of subscribers or recovery. It reports to its owner (the hub)
through :class:`ConnectionOwner`: each data frame of a subscribed channel, each
acknowledgement or refusal of a subscription, a ``bts:request_reconnect``, and its end.

Liveness, three ways:

* aiohttp sends protocol pings every ``ping_interval`` and closes the socket when no pong
  comes back;
* every ``heartbeat_interval`` a ``bts:heartbeat`` goes out, which the exchange answers
  even when every channel is quiet;
* when no frame at all arrived for ``quiet_timeout`` (heartbeat answers included), or a
  subscription stays unanswered for ``subscribe_timeout``, the connection ends itself as
  ``QUIET`` and the owner replaces it.

The owner is told of a ``bts:request_reconnect`` and of the end through ``on_change``.
A frame that is not JSON, or JSON without the envelope, is counted and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import orjson

from .._exceptions import (
    AuthenticationError,
    BadRequestError,
    BitstampError,
    ExchangeUnavailableError,
    TransportError,
)

if TYPE_CHECKING:
    from ._hub import ChannelState, StreamOptions, StreamStats

__all__ = ["Connection", "ConnectionOwner", "EndReason", "OpenFailedError", "Pacer"]

_HEARTBEAT = '{"event":"bts:heartbeat"}'
# aiohttp >= 3.13 can hand text frames over as bytes, skipping a UTF-8 decode that orjson
# does not need.
_RAW_TEXT = "decode_text" in inspect.signature(aiohttp.ClientSession.ws_connect).parameters
_TEXT, _CLOSING_TYPES = (
    aiohttp.WSMsgType.TEXT,
    frozenset(
        {
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
        }
    ),
)

TokenProvider = Callable[[], Awaitable[tuple[str, str]]]
# Control events that name a channel (the others come with channel ""); a data frame of a
# subscribed channel is anything else.
_CONTROL_EVENTS = frozenset(
    {"bts:subscription_succeeded", "bts:unsubscription_succeeded", "bts:error"}
)


class Pacer(Protocol):
    """Admits one subscription frame per ``async with`` (an ``aiolimiter.AsyncLimiter``)."""

    async def __aenter__(self) -> None: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class EndReason(enum.Enum):
    """Why a connection ended."""

    DROPPED = "dropped"  # the socket closed or failed under us
    QUIET = "quiet"  # nothing arrived for quiet_timeout, or a subscription went unanswered
    REPLACED = "replaced"  # a successor took over after bts:request_reconnect
    CLOSED = "closed"  # we closed it: the hub closed, or no channel was left on it


class OpenFailedError(TransportError):
    """The WebSocket could not be opened (refused, HTTP error, timeout)."""


class ConnectionOwner(Protocol):
    """What a connection reports to."""

    stats: StreamStats

    def on_frame(
        self, connection: Connection, state: ChannelState, event: str, data: Any, raw: bytes
    ) -> None: ...

    def on_subscribed(self, connection: Connection, state: ChannelState) -> None: ...

    def on_refused(
        self, connection: Connection, state: ChannelState, error: BitstampError
    ) -> None: ...


class Connection:
    """One socket and the channels wanted on it."""

    def __init__(
        self,
        owner: ConnectionOwner,
        url: str,
        session: aiohttp.ClientSession,
        options: StreamOptions,
        pacer: Pacer,
        token_provider: TokenProvider | None,
        serial: int,
        on_change: Callable[[Connection], None],
    ) -> None:
        self.owner = owner
        self._on_change = on_change
        self.url = url
        self.serial = serial
        self._session = session
        self._options = options
        self._pacer = pacer
        self._token_provider = token_provider
        self._ws: aiohttp.ClientWebSocketResponse[Any] | None = None
        self.routes: dict[str, ChannelState] = {}  # wire channel -> state
        self.wire_names: dict[ChannelState, str] = {}  # subscribed or being subscribed
        self._to_send: deque[ChannelState] = deque()
        self._send_ready = asyncio.Event()
        self._unanswered: deque[tuple[ChannelState, float]] = deque()  # in send order
        self.acked: set[ChannelState] = set()
        self._token: tuple[str, str] | None = None
        self._token_at = 0.0
        self.frames = 0
        self._heard_at: float | None = None  # loop time of the keep-alive tick that last saw frames
        self._opened_at = 0.0
        self.reconnect_requested = False
        self.end_reason: EndReason | None = None
        self.ended = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def __repr__(self) -> str:
        state = self.end_reason.value if self.end_reason else "open"
        return f"<Connection #{self.serial} {state} channels={len(self.wire_names)}>"

    @property
    def usable(self) -> bool:
        """True while the connection may take subscriptions."""
        return self.end_reason is None

    @property
    def fully_subscribed(self) -> bool:
        """True when every wanted channel has been answered."""
        return not self._to_send and not self._unanswered

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect; raises :class:`OpenFailedError` when the exchange cannot be reached."""
        options = self._options
        kwargs: dict[str, Any] = {
            "heartbeat": options.ping_interval,
            "autoping": True,
            "compress": 0,
            "timeout": aiohttp.ClientWSTimeout(ws_receive=None, ws_close=options.close_timeout),
        }
        if _RAW_TEXT:
            kwargs["decode_text"] = False
        try:
            connecting: Awaitable[aiohttp.ClientWebSocketResponse[Any]]
            connecting = self._session.ws_connect(self.url, **kwargs)
            self._ws = await asyncio.wait_for(connecting, options.connect_timeout)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise OpenFailedError(
                f"could not open {self.url}: {type(exc).__name__}: {exc}", retry_safe=True
            ) from None
        self.owner.stats.connections_opened += 1
        loop = asyncio.get_running_loop()
        self._opened_at = loop.time()
        self._tasks = [
            loop.create_task(self._read()),
            loop.create_task(self._subscribe_wanted()),
            loop.create_task(self._keep_alive()),
        ]

    async def close(self, reason: EndReason = EndReason.CLOSED) -> None:
        """End the connection (idempotent) and wait for its tasks."""
        self._end(reason)
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                await ws.close()

    def _end(self, reason: EndReason) -> None:
        if self.end_reason is not None:
            return
        self.end_reason = reason
        self.ended.set()
        self._on_change(self)

    def last_heard(self, clock: Callable[[], float]) -> float:
        """When (on ``clock``) a frame last arrived, give or take one keep-alive tick:
        what arrived later than this may be lost."""
        loop = asyncio.get_running_loop()
        heard = self._heard_at if self._heard_at is not None else self._opened_at
        tick = min(self._options.heartbeat_interval, self._options.quiet_timeout / 2)
        return clock() - (loop.time() - heard) - tick

    # -- subscriptions ------------------------------------------------------------------

    def want(self, state: ChannelState) -> None:
        """Subscribe ``state``'s channel (queued behind the pacer)."""
        if state in self.wire_names or not self.usable:
            return
        self.wire_names[state] = ""  # named once the token (for private channels) is known
        self._to_send.append(state)
        self._send_ready.set()

    def unwant(self, state: ChannelState) -> None:
        """Stop receiving ``state``'s channel; the exchange is told if it was subscribed."""
        wire = self.wire_names.pop(state, None)
        self.acked.discard(state)
        with contextlib.suppress(ValueError):
            self._to_send.remove(state)
        if wire:
            self.routes.pop(wire, None)
            ws = self._ws
            if ws is not None and not ws.closed and self.usable:
                frame = orjson.dumps({"event": "bts:unsubscribe", "data": {"channel": wire}})
                asyncio.get_running_loop().create_task(self._send_quietly(frame))

    async def _send_quietly(self, frame: bytes) -> None:
        ws = self._ws
        if ws is None:
            return
        with contextlib.suppress(aiohttp.ClientError, OSError, RuntimeError):
            await ws.send_str(frame.decode())

    async def _token_for(self) -> tuple[str, str]:
        # A fresh token for every connection, and again if pacing made this one old.
        loop = asyncio.get_running_loop()
        if self._token is None or loop.time() - self._token_at > self._options.token_reuse:
            if self._token_provider is None:
                raise AuthenticationError(
                    "private channels need a token: create the client with api_key and api_secret"
                )
            self._token = await self._token_provider()
            self._token_at = loop.time()
            self.owner.stats.tokens_fetched += 1
        return self._token

    async def _subscribe_wanted(self) -> None:
        ws = self._ws
        assert ws is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._to_send:
                self._send_ready.clear()
                await self._send_ready.wait()
                continue
            state = self._to_send[0]
            data: dict[str, str] = {}
            user_id: str | None = None
            if state.channel.kind.private:
                try:
                    token, user_id = await self._token_for()
                except BitstampError as error:
                    if _connection_trouble(error):
                        self._end(EndReason.DROPPED)
                        return
                    self._to_send.popleft()
                    self.wire_names.pop(state, None)
                    self.owner.on_refused(self, state, error)
                    continue
                data["auth"] = token
            async with self._pacer:
                pass
            if not self._to_send or self._to_send[0] is not state:
                continue  # unwanted while we waited
            self._to_send.popleft()
            wire = state.channel.wire_name(user_id)
            data = {"channel": wire, **data}
            self.wire_names[state] = wire
            self.routes[wire] = state
            self._unanswered.append((state, loop.time()))
            try:
                await ws.send_str(orjson.dumps({"event": "bts:subscribe", "data": data}).decode())
            except (aiohttp.ClientError, OSError, RuntimeError):
                self._end(EndReason.DROPPED)
                return
            self.owner.stats.subscriptions_sent += 1

    def _answered(self, state: ChannelState) -> None:
        for index, (waiting, _) in enumerate(self._unanswered):
            if waiting is state:
                del self._unanswered[index]
                return

    # -- reading ------------------------------------------------------------------------

    async def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        routes = self.routes
        owner = self.owner
        on_frame = owner.on_frame
        stats = owner.stats
        loads = orjson.loads
        receive = ws.receive
        try:
            while True:
                message = await receive()
                if message.type is not _TEXT:
                    if message.type in _CLOSING_TYPES:
                        break
                    continue  # binary, ping, pong: nothing for us
                self.frames += 1
                raw = message.data
                try:
                    frame = loads(raw)
                    event = frame["event"]
                    channel = frame["channel"]
                except (orjson.JSONDecodeError, TypeError, KeyError, IndexError):
                    stats.malformed_frames += 1
                    continue
                state = routes.get(channel)
                if state is not None and event not in _CONTROL_EVENTS:
                    on_frame(self, state, event, frame.get("data"), raw)
                else:
                    self._control(event, channel, frame)
        except (aiohttp.ClientError, OSError, RuntimeError):
            pass
        finally:
            self._end(EndReason.DROPPED)

    def _control(self, event: Any, channel: Any, frame: Any) -> None:
        stats = self.owner.stats
        if event == "bts:subscription_succeeded":
            state = self.routes.get(channel)
            if state is not None:
                self._answered(state)
                self.acked.add(state)
                self.owner.on_subscribed(self, state)
        elif event == "bts:heartbeat":
            stats.heartbeats_answered += 1
        elif event == "bts:request_reconnect":
            stats.reconnect_requests += 1
            self.reconnect_requested = True
            self._on_change(self)
        elif event == "bts:error":
            self._refusal(channel, frame.get("data"))
        elif event in ("bts:unsubscription_succeeded", "bts:connection_established"):
            pass
        else:
            stats.unknown_frames += 1

    def _refusal(self, channel: Any, data: Any) -> None:
        # Answers come in the order subscriptions were sent; an error frame names no
        # channel, so it belongs to the oldest subscription still unanswered.
        state = self.routes.get(channel) if channel else None
        if state is None:
            if not self._unanswered:
                self.owner.stats.unknown_frames += 1
                return
            state = self._unanswered[0][0]
        self._answered(state)
        message = data.get("message") if isinstance(data, dict) else None
        code = data.get("code") if isinstance(data, dict) else None
        text = f"the exchange refused {state.channel.name}: {message or 'no reason given'}"
        error: BitstampError
        if code == 4009:
            error = AuthenticationError(text, code="4009", reason=message)
        else:
            error = BadRequestError(text, code=None if code is None else str(code), reason=message)
        wire = self.wire_names.pop(state, None)
        if wire:
            self.routes.pop(wire, None)
        self.owner.on_refused(self, state, error)

    # -- liveness -----------------------------------------------------------------------

    async def _keep_alive(self) -> None:
        ws = self._ws
        assert ws is not None
        options = self._options
        loop = asyncio.get_running_loop()
        interval = min(options.heartbeat_interval, options.quiet_timeout / 2)
        seen, quiet_since = self.frames, loop.time()
        while True:
            await asyncio.sleep(interval)  # the heartbeat period itself
            now = loop.time()
            if self.frames != seen:
                seen, quiet_since = self.frames, now
                self._heard_at = now
            elif now - quiet_since >= options.quiet_timeout:
                self.owner.stats.quiet_connections += 1
                self._end(EndReason.QUIET)
                return
            if self._unanswered and now - self._unanswered[0][1] >= options.subscribe_timeout:
                self.owner.stats.quiet_connections += 1
                self._end(EndReason.QUIET)
                return
            try:
                await ws.send_str(_HEARTBEAT)
            except (aiohttp.ClientError, OSError, RuntimeError):
                self._end(EndReason.DROPPED)
                return
            self.owner.stats.heartbeats_sent += 1


def _connection_trouble(error: BitstampError) -> bool:
    """A token request that failed on the way (worth a new connection) rather than a
    refusal (which a new connection would only repeat)."""
    return isinstance(error, TransportError | ExchangeUnavailableError) or error.retry_safe
