"""A subscription as its consumer sees it: an async iterator of typed events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from .._exceptions import ClientClosedError
from ._buffers import EventBuffer
from ._channels import Channel, channel_of
from ._events import StreamEvent

if TYPE_CHECKING:
    from ._hub import ChannelState, StreamHub

__all__ = ["Subscription"]

E = TypeVar("E", bound=StreamEvent, covariant=True)


class _Ended(Exception):
    """Marks a subscription its consumer closed: iteration simply stops."""


class Subscription(Generic[E]):
    """Typed events of one or more channels, in order per channel.

    Iterate it directly (it subscribes on the first ``__anext__``), or enter it to wait
    until every channel is acknowledged first::

        async with client.stream("live_trades_btcusd", "diff_order_book_btcusd") as events:
            async for event in events:
                ...

    Backpressure: events wait in a bounded buffer (``buffer_size`` lossless events; one
    full-book snapshot per channel, the newest). When a consumer falls ``buffer_size``
    events behind, it gets every event received so far and then
    :class:`~aiobitstamp.streams.StreamLaggingError`. When the client closes, iteration
    ends with :class:`~aiobitstamp.ClientClosedError`. A hole that cannot be refilled
    arrives as a :class:`~aiobitstamp.streams.Gap` event, in place.

    ``aclose()`` (or leaving ``async with``) unsubscribes; iteration then stops.
    """

    def __init__(self, hub: StreamHub, channels: Iterable[str | Channel], buffer_size: int) -> None:
        parsed: list[Channel] = []
        for name in channels:
            channel = channel_of(name)
            if channel not in parsed:
                parsed.append(channel)
        if not parsed:
            raise ValueError("subscribe to at least one channel")
        self._hub = hub
        self._channels: Sequence[Channel] = tuple(parsed)
        self._buffer = EventBuffer(buffer_size)
        self._attached = False
        self._closed = False
        self._states: list[ChannelState] = []

    @property
    def channels(self) -> tuple[str, ...]:
        """The channel names (private ones without the user id suffix)."""
        return tuple(channel.name for channel in self._channels)

    @property
    def pending(self) -> int:
        """Events waiting to be read."""
        return len(self._buffer)

    def _attach(self) -> None:
        if self._closed:
            raise ClientClosedError("this subscription was closed")
        if not self._attached:
            self._states = self._hub.attach(self._buffer, self._channels)
            self._attached = True

    async def start(self) -> Subscription[E]:
        """Subscribe and wait until every channel is acknowledged by the exchange.

        Raises the exchange's refusal (``AuthenticationError`` for a private channel
        whose token it rejected, ``BadRequestError`` for an invalid channel)."""
        self._attach()
        await self._hub.wait_ready(self._states)
        return self

    async def __aenter__(self) -> Subscription[E]:
        try:
            return await self.start()
        except BaseException:
            await self.aclose()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Subscription[E]:
        return self

    async def __anext__(self) -> E:
        buffer = self._buffer
        if not self._attached:
            if self._closed:
                raise StopAsyncIteration
            self._attach()
        elif self._closed:
            raise StopAsyncIteration
        try:
            event = buffer.get_nowait()
            if event is None:
                event = await buffer.get()
        except _Ended:
            raise StopAsyncIteration from None
        return event  # type: ignore[return-value]

    def get_nowait(self) -> E | None:
        """The next waiting event, or ``None`` (for consumers that batch)."""
        if self._closed:
            return None
        try:
            return self._buffer.get_nowait()  # type: ignore[return-value]
        except _Ended:
            return None

    async def aclose(self) -> None:
        """Unsubscribe (idempotent); iteration stops after this."""
        if self._closed:
            return
        self._closed = True
        if self._attached:
            self._attached = False
            if not self._hub.closed:
                self._hub.detach(self._buffer, self._channels)
        self._buffer.fail(_Ended())

    def __del__(self) -> None:
        # An iterator abandoned by a 'break' without aclose(): stop feeding it.
        hub = getattr(self, "_hub", None)
        if getattr(self, "_attached", False) and hub is not None and not hub.closed:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return
            hub.detach(self._buffer, self._channels)
