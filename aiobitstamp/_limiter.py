"""Client-side rate limiting for Bitstamp's limits, with priority lanes.

Bitstamp allows 400 requests per second and 10,000 per 10 minutes, both at once, counted
as arrivals at the exchange. The client cannot see arrivals: a request delayed between the
limiter and the wire may land in the same window as a later one. So a slot is held from
the moment a request is admitted until ``seconds`` after its answer arrives; then, whatever
the jitter, no window of ``seconds`` at the exchange can see more than ``count`` of ours.

Why not ``aiolimiter.AsyncLimiter``: a leaky bucket of ``count`` per ``seconds`` admits a
full bucket and then drains continuously, so a sliding window can see up to twice
``count``; it also cannot hold a slot for the life of a request, nor order waiters by
priority. ``SlidingWindowLimiter`` keeps aiolimiter's shape instead: one small class, time
from the event loop, waiters as futures in a heap, a single ``loop.call_at`` timer, no
background task, and a waiter that is cancelled gives up its place without using a slot.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "Lane",
    "LaneStats",
    "Limiter",
    "RateLimits",
    "SlidingWindowLimiter",
    "validate_rate_limits",
]

RateLimits = Sequence[tuple[int, float]]

DEFAULT_RATE_LIMITS: tuple[tuple[int, float], ...] = ((400, 1.0), (10_000, 600.0))


class Lane(enum.IntEnum):
    """Request priority, highest first: a cancel never waits behind market data."""

    CANCEL = 0
    PLACE = 1
    PRIVATE_READ = 2
    PUBLIC = 3


@dataclass(slots=True)
class LaneStats:
    """Counters for one lane, readable while the client runs."""

    sent: int = 0
    waited_seconds: float = 0.0
    rejected: int = 0  # answered 400.002 / 429 by the exchange


class Slot(Protocol):
    """Admission for one request; the async context spans the request's life."""

    async def __aenter__(self) -> None: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Limiter(Protocol):
    """What the client needs from a limiter (in-process or shared through Redis)."""

    @property
    def limits(self) -> tuple[tuple[int, float], ...]: ...

    @property
    def stats(self) -> Mapping[Lane, LaneStats]: ...

    def slot(self, lane: Lane) -> Slot:
        """``async with limiter.slot(lane): send`` — waits for room, then holds it."""
        ...

    def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` (the exchange said we went too fast)."""
        ...

    def record_rejection(self, lane: Lane) -> None: ...

    async def headroom(self) -> tuple[int, ...]:
        """Requests each window would admit right now."""
        ...

    async def aclose(self) -> None: ...


def validate_rate_limits(limits: RateLimits) -> tuple[tuple[int, float], ...]:
    """Check and normalise ``((count, seconds), ...)``."""
    normalised: list[tuple[int, float]] = []
    for pair in limits:
        count, seconds = pair
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"rate limit count must be a positive int, got {count!r}")
        if not float(seconds) > 0:
            raise ValueError(f"rate limit window must be positive seconds, got {seconds!r}")
        normalised.append((count, float(seconds)))
    if not normalised:
        raise ValueError("give at least one (count, seconds) rate limit, or None for no limit")
    return tuple(normalised)


class _Window:
    """One (count, seconds) limit: the release times of finished requests."""

    __slots__ = ("count", "releases", "seconds")

    def __init__(self, count: int, seconds: float) -> None:
        self.count = count
        self.seconds = seconds
        # Release times are appended as requests finish, so they are non-decreasing.
        self.releases: deque[float] = deque()

    def held(self, now: float) -> int:
        releases = self.releases
        while releases and releases[0] <= now:
            releases.popleft()
        return len(releases)


class SlidingWindowLimiter:
    """In-process limiter enforcing every (count, seconds) window at once.

    Invariant: at any instant, for each window, requests in flight plus requests whose
    answer arrived less than ``seconds`` ago number at most ``count``. Waiters are served
    by lane, then first come, first served.
    """

    __slots__ = (
        "_in_flight",
        "_lane_slots",
        "_paused_until",
        "_sequence",
        "_stats",
        "_timer",
        "_timer_when",
        "_waiters",
        "_windows",
        "limits",
    )

    def __init__(self, limits: RateLimits = DEFAULT_RATE_LIMITS) -> None:
        self.limits = validate_rate_limits(limits)
        self._windows = tuple(_Window(count, seconds) for count, seconds in self.limits)
        self._in_flight = 0
        self._paused_until = 0.0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._stats = {lane: LaneStats() for lane in Lane}
        # One reusable slot object per lane: nothing is allocated per request.
        self._lane_slots = {lane: _SlidingSlot(self, lane) for lane in Lane}

    @property
    def stats(self) -> Mapping[Lane, LaneStats]:
        return self._stats

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def headroom(self) -> tuple[int, ...]:
        """Requests each window would admit right now. (A coroutine only to match
        ``RedisLimiter``, whose books live elsewhere.)"""
        now = asyncio.get_running_loop().time()
        return tuple(
            max(0, window.count - self._in_flight - window.held(now)) for window in self._windows
        )

    def slot(self, lane: Lane) -> _SlidingSlot:
        return self._lane_slots[lane]

    def pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        self._schedule(loop)

    def record_rejection(self, lane: Lane) -> None:
        self._stats[lane].rejected += 1

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- admission ------------------------------------------------------------------

    def _has_room(self, now: float) -> bool:
        if now < self._paused_until:
            return False
        in_flight = self._in_flight
        # A plain loop, not all(...): this runs on every request and a generator costs.
        for window in self._windows:  # noqa: SIM110
            if in_flight + window.held(now) >= window.count:
                return False
        return True

    def _try_acquire(self, lane: Lane) -> bool:
        """Take a slot at once if nobody is queued and every window has room."""
        if self._waiters or not self._has_room(asyncio.get_running_loop().time()):
            return False
        self._in_flight += 1
        self._stats[lane].sent += 1
        return True

    async def _acquire(self, lane: Lane) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        waiter: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (lane, next(self._sequence), waiter))
        self._schedule(loop)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Granted, but cancelled before it could run: hand the slot on unused.
                self._in_flight -= 1
                self._admit(loop)
            raise
        stats = self._stats[lane]
        stats.sent += 1
        stats.waited_seconds += loop.time() - now

    def _release(self) -> None:
        loop = asyncio.get_running_loop()
        release_at = loop.time()
        self._in_flight -= 1
        for window in self._windows:
            window.releases.append(release_at + window.seconds)
        if self._waiters:
            self._schedule(loop)

    def _admit(self, loop: asyncio.AbstractEventLoop, now: float | None = None) -> None:
        """Grant slots to waiters in priority order while there is room."""
        now = loop.time() if now is None else now
        waiters = self._waiters
        while waiters:
            waiter = waiters[0][2]
            if waiter.done():  # cancelled while queued
                heapq.heappop(waiters)
                continue
            if not self._has_room(now):
                break
            heapq.heappop(waiters)
            self._in_flight += 1
            waiter.set_result(None)
        self._schedule(loop, now)

    def _next_room_at(self, now: float) -> float | None:
        """When every window will have room again, if finished requests alone decide it."""
        when = self._paused_until if now < self._paused_until else now
        for window in self._windows:
            excess = self._in_flight + window.held(now) - window.count
            if excess < 0:
                continue
            # The window frees up when its (excess+1)-th oldest release passes; if that
            # many have not finished yet, only a release can help, and it reschedules.
            if excess >= len(window.releases):
                return None
            when = max(when, window.releases[excess])
        return when

    def _schedule(self, loop: asyncio.AbstractEventLoop, now: float | None = None) -> None:
        if not self._waiters:
            return
        now = loop.time() if now is None else now
        when = self._next_room_at(now)
        if when is None:
            return
        if self._timer is not None:
            if self._timer_when == when:
                return
            self._timer.cancel()
        self._timer_when = when
        self._timer = loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        # call_at may fire up to one clock-resolution early; the deadline is what counts.
        self._admit(loop, max(loop.time(), self._timer_when))


class _SlidingSlot:
    __slots__ = ("_lane", "_limiter")

    def __init__(self, limiter: SlidingWindowLimiter, lane: Lane) -> None:
        self._limiter = limiter
        self._lane = lane

    async def __aenter__(self) -> None:
        # Fast path without suspending: most requests find room.
        if not self._limiter._try_acquire(self._lane):
            await self._limiter._acquire(self._lane)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Held until `seconds` after the answer (or failure): the request may have
        # reached the exchange even if we never saw a reply.
        self._limiter._release()
