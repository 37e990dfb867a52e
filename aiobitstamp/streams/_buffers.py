"""The bounded buffer between the connection that receives events and a consumer that
iterates them, with the backpressure policy the streams promise.

* **Lossless** events (trades, orders, diffs, private channels, gaps) are queued in order,
  at most ``capacity`` of them. The one that would exceed it is not queued: the buffer
  stops taking events, the consumer gets every event queued so far and then
  :class:`StreamLaggingError`, which says where its stream stopped. Nothing is dropped
  silently and a slow consumer can never make memory grow without bound.
* **Latest-only** events (full-book snapshots from ``order_book_`` and
  ``detail_order_book_``) never count against ``capacity``: a channel holds at most one
  waiting snapshot, replaced in place by a newer one. The consumer sees it at the position
  of the first snapshot it replaced, with the newest content.

Delivery is synchronous and never blocks the connection: one ``deque.append`` and, when
the consumer is waiting, one future resolved. Reading is ``await buffer.get()``, which
does not suspend while events are queued.
"""

from __future__ import annotations

import asyncio
from collections import deque

from ._errors import StreamLaggingError
from ._events import BookSnapshot, StreamEvent

__all__ = ["EventBuffer"]


class _Pending:
    """Stands in the queue for the newest snapshot of one channel."""

    __slots__ = ("channel",)

    def __init__(self, channel: str) -> None:
        self.channel = channel


class EventBuffer:
    """One subscriber's bounded queue; see the module docstring for the policy."""

    __slots__ = (
        "_capacity",
        "_error",
        "_latest",
        "_lossless",
        "_queue",
        "_room",
        "_stopped",
        "_waiter",
    )

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("buffer capacity must be at least 1")
        self._capacity = capacity
        self._room = capacity  # -1 once stopped, so the usual case is one comparison
        self._queue: deque[StreamEvent | _Pending] = deque()
        self._lossless = 0  # lossless events in _queue
        self._latest: dict[str, BookSnapshot] = {}
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._stopped = False  # no more events accepted (overflowed or failed)

    @property
    def capacity(self) -> int:
        """Lossless events that may wait at most."""
        return self._capacity

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def stopped(self) -> bool:
        """True once the buffer overflowed or failed: it takes no more events."""
        return self._stopped

    def deliver(self, event: StreamEvent) -> None:
        """Queue ``event`` (called by the hub, synchronously)."""
        if self._lossless < self._room and event.__class__ is not BookSnapshot:
            self._queue.append(event)  # the usual case: a lossless event, room for it
            self._lossless += 1
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        if self._stopped:
            return
        if event.__class__ is BookSnapshot:
            snapshot: BookSnapshot = event
            channel = snapshot.channel
            if channel not in self._latest:
                self._queue.append(_Pending(channel))
            self._latest[channel] = snapshot
        else:
            if self._lossless >= self._capacity:
                self._overflow(event)
                return
            self._queue.append(event)
            self._lossless += 1
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def fail(self, error: BaseException) -> None:
        """End the stream with ``error`` once the queued events are consumed."""
        if self._error is None:
            self._error = error
        self._stopped = True
        self._room = -1
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _overflow(self, event: StreamEvent) -> None:
        last: dict[str, int] = {}
        for queued in reversed(self._queue):
            micros = getattr(queued, "microtimestamp", None)
            channel = getattr(queued, "channel", None)
            if micros is not None and channel is not None and channel not in last:
                last[channel] = micros
        self.fail(
            StreamLaggingError(
                f"the consumer of {event.channel} fell {self._capacity} events behind; the "
                "stream stopped before dropping any (raise buffer_size, or consume faster)",
                channel=event.channel,
                capacity=self._capacity,
                last_microtimestamp=last,
            )
        )

    def get_nowait(self) -> StreamEvent | None:
        """The next queued event, or ``None`` when none waits (raises once failed)."""
        queue = self._queue
        if queue:
            item = queue.popleft()
            if item.__class__ is _Pending:
                return self._latest.pop(item.channel)
            self._lossless -= 1
            return item  # type: ignore[return-value]
        if self._error is not None:
            raise self._error
        return None

    async def get(self) -> StreamEvent:
        """The next event, waiting for one; raises the stream's error once drained."""
        while True:
            event = self.get_nowait()
            if event is not None:
                return event
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None

    @property
    def error(self) -> BaseException | None:
        """The error the stream ends with, once set."""
        return self._error
