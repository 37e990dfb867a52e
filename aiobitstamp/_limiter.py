"""Client-side rate limiting for Bitstamp's limits: priority lanes, back-off, pacing.

**The windows.** Bitstamp allows 400 requests per second and 10,000 per 10 minutes, both at
once, counted as arrivals at the exchange. The client cannot see arrivals: a request delayed
between the limiter and the wire may land in the same window as a later one. So a slot is
held from the moment a request is admitted until ``seconds`` after its answer arrives; then,
whatever the jitter, no window of ``seconds`` at the exchange can see more than ``count`` of
ours.

**Back-off after a rate rejection** (``await limiter.on_rejection(lane, retry_after)``, which
returns the pause it applied; the pause holds every lane of every caller sharing the limiter):

(a) A ``Retry-After`` from the exchange is honoured in full: the pause is exactly that long.
(b) Without one, the limiter assumes the exchange's window is full and pauses until it
    frees: until the oldest of our requests counted in the *binding window* leaves it,
    computed from the recorded release times (up to 1 s for the 1 s window; up to 10
    minutes for the 10-minute one). The binding window is the shortest one holding any of
    our requests; but if, after an adaptation, every request of the next round is refused
    too, that window had emptied and still nothing got through, so the next longer window
    binds. The pause is never shorter than ``Backoff.min_pause`` of the shortest window
    (0.1 s on Bitstamp); with nothing of ours in any window, it is one shortest window.
(c) It adapts: a second rejection within one shortest window of the previous lowers the
    binding window's effective count to ``Backoff.decrease`` (90%) of what the exchange
    took of ours in it (our requests counted there that were not refused), never below 1.
    Rejections then do not count again until that pause is over and one shortest window
    has passed (they were sent under the old limits); a new round starts. Each window
    regains ``Backoff.recovery`` (2%) of its configured count per period of its own length
    without a rejection, counted from the end of the last pause, up to the configured
    count. ``stats.effective_limits`` and ``stats.adaptations`` show where it stands.

Halving the limits instead, as TCP halves its window, cost a quarter of the throughput at a
lowered 1 s limit and halved the 10-minute budget for hours (it recovers 2% per 10
minutes); cutting to just under what the exchange took keeps 88-98% of its allowance in the
scenarios of ``tests/test_limiter.py`` with under 2% of requests refused after warm-up.

**Pacing.** The windows let a backlog of thousands go out as one burst of ``count`` at the
start of each window. ``pacing=True`` puts an ``aiolimiter.AsyncLimiter`` token bucket behind
the lane queue, sized from the shortest window (its rate, a burst of 5% of its count), so the
backlog leaves as an even flow. The windows still guarantee the limits; the bucket only
spreads admissions, and because it sits behind the lane queue a cancel still goes first.

**Closing.** ``await limiter.aclose()`` is final: every caller waiting in ``slot()`` ends at
once with ``ClientClosedError``, and so does every later ``slot()``. A client that shares a
limiter it does not own takes a ``limiter.handle()`` instead: ``handle.close()`` ends only
that handle's waiters, and the limiter stays open for the others.

Why not ``aiolimiter.AsyncLimiter`` for the limits themselves: a leaky bucket of ``count``
per ``seconds`` admits a full bucket and then drains continuously, so a sliding window can
see up to twice ``count``; it also cannot hold a slot for the life of a request, nor order
waiters by priority. ``SlidingWindowLimiter`` keeps aiolimiter's shape instead: one small
class, time from the event loop, waiters as futures in a heap, a single ``loop.call_at``
timer, no background task, and a waiter that is cancelled gives up its place without using
a slot.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import enum
import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Protocol

from aiolimiter import AsyncLimiter

from ._exceptions import ClientClosedError

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "Backoff",
    "Lane",
    "LaneStats",
    "Limiter",
    "LimiterHandle",
    "LimiterStats",
    "RateLimits",
    "SlidingWindowLimiter",
    "pacing_bucket",
    "validate_rate_limits",
]

RateLimits = Sequence[tuple[int, float]]

DEFAULT_RATE_LIMITS: tuple[tuple[int, float], ...] = ((400, 1.0), (10_000, 600.0))

_CLIENT_CLOSED = "the client was closed; its queued requests were not sent"
_LIMITER_CLOSED = "the rate limiter was closed; create a new one"


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


class LimiterStats(Mapping[Lane, LaneStats]):
    """Per-lane counters (``stats[Lane.PUBLIC].sent``) and the state of the back-off.

    ``effective_limits`` are the ``(count, seconds)`` windows in force now: the configured
    limits, lowered after repeated rejections and recovering slowly. ``adaptations`` counts
    the times they were lowered.
    """

    __slots__ = ("_lanes", "adaptations", "effective_limits")

    def __init__(
        self,
        lanes: Mapping[Lane, LaneStats],
        effective_limits: tuple[tuple[int, float], ...],
        adaptations: int,
    ) -> None:
        self._lanes = lanes
        self.effective_limits = effective_limits
        self.adaptations = adaptations

    def __getitem__(self, lane: Lane) -> LaneStats:
        return self._lanes[lane]

    def __iter__(self) -> Iterator[Lane]:
        return iter(self._lanes)

    def __len__(self) -> int:
        return len(self._lanes)

    def __repr__(self) -> str:
        return (
            f"LimiterStats(effective_limits={self.effective_limits!r}, "
            f"adaptations={self.adaptations}, lanes={dict(self._lanes)!r})"
        )


class Slot(Protocol):
    """Admission for one request; the async context spans the request's life.

    ``enter_now(loop)`` is the same admission without a coroutine, for the request path:
    it takes the slot when that needs no waiting and returns True (then ``exit_now(loop)``
    gives it back), or returns False and takes nothing (then use ``async with``). A limiter
    whose admission always needs I/O (Redis) just returns False. ``loop`` is the running
    loop, which the caller already holds: asking asyncio for it costs a ``getpid()``
    system call on Python 3.11, on every request.
    """

    def enter_now(self, loop: asyncio.AbstractEventLoop) -> bool: ...

    def exit_now(self, loop: asyncio.AbstractEventLoop) -> None: ...

    async def __aenter__(self) -> None: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class LimiterHandle(Protocol):
    """One client's own way into a limiter that others may share.

    Requests admitted through a handle share the limiter's windows, pause and back-off
    with everyone else; only closing is the handle's own::

        handle = limiter.handle()
        async with handle.slot(Lane.PUBLIC):
            ...  # send
        handle.close()  # this client's queued requests end with ClientClosedError now
    """

    @property
    def closed(self) -> bool: ...

    def slot(self, lane: Lane) -> Slot:
        """``async with handle.slot(lane): send``, as ``Limiter.slot``."""
        ...

    def close(self, reason: str = _CLIENT_CLOSED) -> None:
        """End this handle's waiters at once with ``ClientClosedError(reason)``, and make
        every later ``slot()`` of this handle raise it. Slots already held stay held until
        their request ends. Idempotent; the limiter stays open."""
        ...


class Limiter(Protocol):
    """What the client needs from a limiter (in-process or shared through Redis).

    On a rate rejection (400.002 or HTTP 429)::

        pause = await limiter.on_rejection(lane, error.retry_after)

    On close: ``handle.close()`` for the client's own handle, and ``await limiter.aclose()``
    only if the client created the limiter.
    """

    @property
    def limits(self) -> tuple[tuple[int, float], ...]:
        """The configured ``(count, seconds)`` windows."""
        ...

    @property
    def stats(self) -> LimiterStats: ...

    def slot(self, lane: Lane) -> Slot:
        """``async with limiter.slot(lane): send`` — waits for room, then holds it.

        Raises ``ClientClosedError`` once the limiter is closed, also in callers that were
        already waiting."""
        ...

    def handle(self) -> LimiterHandle:
        """A handle of one's own into this limiter: see ``LimiterHandle``."""
        ...

    async def on_rejection(self, lane: Lane, retry_after: float | None) -> float:
        """The exchange refused a request of ``lane`` for rate: count it, pause every lane
        (honouring ``retry_after`` seconds in full when the exchange sent it), adapt the
        limits after repeated rejections. Returns the seconds until admissions resume."""
        ...

    def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds``. (On a rejection, call ``on_rejection`` instead.)"""
        ...

    def record_rejection(self, lane: Lane) -> None:
        """Count a rejection without reacting to it. Superseded by ``on_rejection``."""
        ...

    async def headroom(self) -> tuple[int, ...]:
        """For each window, how many more requests it has room for now: its effective
        count minus the requests counting in it (in flight, or answered less than
        ``seconds`` ago); all zeros while a pause is in force or after ``aclose()``."""
        ...

    async def aclose(self) -> None:
        """Close for good: waiters and later callers get ``ClientClosedError``."""
        ...


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


def pacing_bucket(limits: RateLimits) -> AsyncLimiter:
    """The token bucket ``pacing=True`` builds: the shortest window's rate, with a burst of
    5% of its count (at least 1), so a backlog leaves evenly instead of all at once."""
    count, seconds = min(validate_rate_limits(limits), key=lambda pair: pair[1])
    burst = max(1, math.ceil(count / 20))
    return AsyncLimiter(burst, burst * seconds / count)


# -- the back-off policy --------------------------------------------------------------------


def periods_between(since: float, now: float, seconds: float) -> int:
    """Whole periods of ``seconds`` from ``since`` to ``now``: the largest ``k >= 0`` with
    ``since + k * seconds <= now``, exact in the floating point the timers use."""
    periods = max(0, math.floor((now - since) / seconds))
    while since + (periods + 1) * seconds <= now:
        periods += 1
    while periods and since + periods * seconds > now:
        periods -= 1
    return periods


@dataclass(frozen=True, slots=True)
class WindowView:
    """One window as the back-off policy sees it at the moment of a rejection."""

    limit: int  # configured count
    seconds: float
    effective: int  # count in force now
    counted: int  # our requests counting in it now
    frees_at: float | None  # when the oldest of them stops counting; None if none
    rejected: int = 0  # rejections of ours within the last ``seconds``


@dataclass(frozen=True, slots=True)
class BackoffState:
    """What the back-off remembers between rejections (kept by the limiter, or in Redis)."""

    last_rejection: float | None = None  # a rejection that a second one would pair with
    quiet_until: float = -math.inf  # rejections before this do not count towards adapting
    escalation: int = 0  # windows exonerated by the previous adaptation (see decide)
    # The round: from the end of the last adaptation's quiet time, requests answered and
    # rejections counted. Before any adaptation there is no round (round_start = inf).
    round_start: float = math.inf
    round_released: int = 0
    round_rejected: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do about one rejection (see ``Backoff.decide``)."""

    pause: float  # seconds from now
    effective: tuple[int, ...]  # the counts in force from now on
    adapted: bool  # a window's count was lowered
    binding: int | None  # index of the window taken to bind; None if none is in play
    state: BackoffState


@dataclass(frozen=True, slots=True)
class Backoff:
    """How a limiter reacts when the exchange refuses a request for rate.

    A pure policy (no clock, no I/O), so the in-process and the Redis limiter decide alike
    and it can be tested alone. The module docstring states the policy in full.

    >>> Backoff().recovered(limit=400, seconds=1.0, base=200, since=0.0, now=3.5)
    224
    """

    decrease: float = 0.9  # share of what the exchange took that the binding window keeps
    recovery: float = 0.02  # share of the configured count regained per quiet window period
    min_pause: float = 0.1  # shortest pause without Retry-After, in shortest windows

    def __post_init__(self) -> None:
        if not 0 < self.decrease < 1:
            raise ValueError(f"decrease must be in (0, 1), got {self.decrease!r}")
        if not 0 < self.recovery <= 1:
            raise ValueError(f"recovery must be in (0, 1], got {self.recovery!r}")
        if not 0 <= self.min_pause <= 1:
            raise ValueError(f"min_pause must be in [0, 1], got {self.min_pause!r}")

    def step(self, limit: int) -> int:
        """Requests a window regains per period without rejections."""
        return max(1, round(limit * self.recovery))

    def recovered(self, *, limit: int, seconds: float, base: int, since: float, now: float) -> int:
        """The count in force at ``now`` for a window lowered to ``base``, recovering from
        ``since``."""
        if base >= limit:
            return limit
        return min(limit, base + self.step(limit) * periods_between(since, now, seconds))

    def decide(
        self,
        now: float,
        windows: Sequence[WindowView],
        state: BackoffState,
        *,
        retry_after: float | None,
    ) -> Decision:
        """The pause, the effective counts and the new state after a rejection at ``now``.

        The binding window is the shortest one holding any of our requests. But when the
        last adaptation lowered it and every request answered since its quiet time ended was
        refused, that window had emptied and still nothing got through: the binding window
        is the next longer one holding our requests (one further for each such round in a
        row).
        """
        shortest = min(window.seconds for window in windows)
        counts = now >= state.quiet_until
        in_round = counts and now >= state.round_start
        round_rejected = state.round_rejected + in_round
        refused_all = round_rejected >= 2 and state.round_released <= round_rejected
        level = state.escalation + 1 if refused_all else 0
        holding = sorted(
            (index for index, window in enumerate(windows) if window.counted),
            key=lambda index: windows[index].seconds,
        )
        binding = holding[min(level, len(holding) - 1)] if holding else None

        if retry_after is not None:
            pause = max(0.0, retry_after)
        elif binding is None:
            # Nothing of ours counts in any window: others filled the exchange's, and
            # the shortest empties within its span.
            pause = shortest
        else:
            frees_at = windows[binding].frees_at
            assert frees_at is not None  # it holds at least one of ours
            pause = max(frees_at - now, self.min_pause * shortest)

        effective = [window.effective for window in windows]
        adapted = False
        new_state = replace(state, round_rejected=round_rejected)
        if counts:
            last = state.last_rejection
            if last is not None and now - last <= shortest and binding is not None:
                window = windows[binding]
                # A share of what the exchange took: the requests of ours the window holds
                # that were not refused (a longer window found to bind may hold far less
                # than its count), so the cut lands just under the exchange's limit.
                taken = min(window.effective, window.counted - window.rejected)
                lowered = max(1, math.floor(taken * self.decrease))
                if lowered < window.effective:
                    effective[binding] = lowered
                    adapted = True
                # Rejections of requests sent under the old limits do not count again; a
                # new round starts when they are all in.
                quiet_until = now + max(pause, shortest)
                new_state = BackoffState(
                    last_rejection=None,
                    quiet_until=quiet_until,
                    escalation=level,
                    round_start=quiet_until,
                )
            else:
                new_state = replace(new_state, last_rejection=now)
        return Decision(pause, tuple(effective), adapted, binding, new_state)


# -- handles ---------------------------------------------------------------------------------


class _HandleOwner(Protocol):
    def _close_handle(self, handle: _Handle) -> None: ...


class _Handle:
    """The concrete ``LimiterHandle`` of both limiters: its slots, waiters and close."""

    __slots__ = ("_make_slot", "_owner", "reason", "slots", "waiters")

    def __init__(
        self,
        owner: _HandleOwner,
        make_slot: Callable[[_Handle, Lane], Slot],
        *,
        reusable: bool,
    ) -> None:
        self._owner = owner
        self._make_slot = make_slot
        self.reason: str | None = None
        # Futures of this handle's callers still queued in the limiter.
        self.waiters: set[asyncio.Future[Any]] = set()
        # Reusable slots (no state per request): one per lane, nothing allocated per call.
        self.slots = {lane: make_slot(self, lane) for lane in Lane} if reusable else None

    @property
    def closed(self) -> bool:
        return self.reason is not None

    def slot(self, lane: Lane) -> Slot:
        if self.slots is not None:
            return self.slots[lane]
        return self._make_slot(self, lane)

    def close(self, reason: str = _CLIENT_CLOSED) -> None:
        if self.reason is not None:
            return
        self.reason = reason
        self._owner._close_handle(self)

    def error(self) -> ClientClosedError:
        return ClientClosedError(self.reason or _CLIENT_CLOSED)

    def fail_waiters(self) -> int:
        """End every queued caller of this handle with a ``ClientClosedError`` of its own;
        return how many were still waiting."""
        failed = 0
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(self.error())
                failed += 1
        self.waiters.clear()
        return failed

    def __repr__(self) -> str:
        return f"<limiter handle {'closed' if self.closed else 'open'}>"


# -- the in-process limiter -------------------------------------------------------------------


class _Window:
    """One (count, seconds) limit: the release times of finished requests."""

    __slots__ = ("base", "count", "limit", "releases", "seconds", "step")

    def __init__(self, limit: int, seconds: float, step: int) -> None:
        self.limit = limit  # configured
        self.count = limit  # in force now
        self.base = limit  # in force since the last rejection; recovery starts from it
        self.step = step
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
    answer arrived less than ``seconds`` ago number at most its effective count (the
    configured ``count``, or less after repeated rejections). Waiters are served by lane,
    then first come, first served.

    ``pacing``: ``True`` for a token bucket sized from the limits (``pacing_bucket``), or
    an ``aiolimiter.AsyncLimiter`` of your own, to spread a backlog evenly; ``backoff``:
    the reaction to rate rejections (``Backoff``).

    >>> limiter = SlidingWindowLimiter(DEFAULT_RATE_LIMITS, pacing=True)
    >>> async def fetch() -> None:  # doctest: +SKIP
    ...     async with limiter.slot(Lane.PUBLIC):
    ...         ...  # send the request
    """

    __slots__ = (
        "_adaptations",
        "_backoff",
        "_backoff_state",
        "_closed",
        "_in_flight",
        "_lane_slots",
        "_own",
        "_paced_pending",
        "_pacing",
        "_pacing_interval",
        "_paused_until",
        "_recover_at",
        "_rejections",
        "_round_released",
        "_round_start",
        "_sequence",
        "_since",
        "_stats",
        "_timer",
        "_timer_when",
        "_waiters",
        "_windows",
        "limits",
    )

    def __init__(
        self,
        limits: RateLimits = DEFAULT_RATE_LIMITS,
        *,
        pacing: AsyncLimiter | bool = False,
        backoff: Backoff | None = None,
    ) -> None:
        self.limits = validate_rate_limits(limits)
        self._backoff = backoff or Backoff()
        self._windows = tuple(
            _Window(count, seconds, self._backoff.step(count)) for count, seconds in self.limits
        )
        self._in_flight = 0
        self._paused_until = 0.0
        self._closed = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._stats = {lane: LaneStats() for lane in Lane}
        # Back-off: the policy's memory, when recovery counts from, when its next step is
        # due, and the requests answered in the current round (counted here, on release).
        self._backoff_state = BackoffState()
        self._since = 0.0
        self._recover_at = math.inf
        self._round_start = math.inf
        self._round_released = 0
        self._adaptations = 0
        self._rejections: list[float] = []  # times of recent rejections, oldest first
        self._pacing: AsyncLimiter | None = (
            pacing_bucket(self.limits) if pacing is True else pacing or None
        )
        # Slots granted whose token is not taken yet: the bucket must hold one for each.
        self._paced_pending = 0
        self._pacing_interval = (
            self._pacing.time_period / self._pacing.max_rate if self._pacing else 0.0
        )
        self._own = _Handle(self, self._make_slot, reusable=True)
        assert self._own.slots is not None
        self._lane_slots = self._own.slots

    # -- the Limiter protocol ------------------------------------------------------------

    @property
    def stats(self) -> LimiterStats:
        """Per-lane counters, the effective limits and the number of adaptations."""
        # Without a running loop: the limits as of the last admission.
        with contextlib.suppress(RuntimeError):
            self._refresh(asyncio.get_running_loop().time())
        return LimiterStats(
            self._stats,
            tuple((window.count, window.seconds) for window in self._windows),
            self._adaptations,
        )

    @property
    def in_flight(self) -> int:
        """Slots held by requests not yet answered."""
        return self._in_flight

    @property
    def pacing(self) -> AsyncLimiter | None:
        """The token bucket spreading admissions, if any."""
        return self._pacing

    def slot(self, lane: Lane) -> Slot:
        """``async with limiter.slot(lane): send`` — waits for room, then holds it."""
        return self._lane_slots[lane]

    def handle(self) -> LimiterHandle:
        """A handle whose ``close()`` ends only its own waiters (see ``LimiterHandle``)."""
        return _Handle(self, self._make_slot, reusable=True)

    async def headroom(self) -> tuple[int, ...]:
        """For each window, how many more requests it has room for now (see
        ``Limiter.headroom``). A coroutine only to match ``RedisLimiter``."""
        now = asyncio.get_running_loop().time()
        if now < self._paused_until:
            return tuple(0 for _ in self._windows)
        self._refresh(now)
        return tuple(
            max(0, window.count - self._in_flight - window.held(now)) for window in self._windows
        )

    def pause(self, seconds: float) -> None:
        """Admit nothing, in any lane, for ``seconds``."""
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        self._schedule(loop)

    def record_rejection(self, lane: Lane) -> None:
        """Count a rejection without reacting to it. Superseded by ``on_rejection``."""
        self._stats[lane].rejected += 1

    async def on_rejection(self, lane: Lane, retry_after: float | None) -> float:
        """Count the rejection, pause every lane and adapt, as the module docstring says.
        Returns the seconds until admissions resume. Never suspends."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._stats[lane].rejected += 1
        if self._closed:
            return 0.0  # nothing will be admitted again; nothing to wait for
        self._refresh(now)
        rejections = self._rejections
        rejections.append(now)
        longest = max(window.seconds for window in self._windows)
        del rejections[: bisect.bisect_right(rejections, now - longest)]
        views = []
        for window in self._windows:
            counted = self._in_flight + window.held(now)
            if window.releases:
                frees_at: float | None = window.releases[0]
            else:
                # All in flight: none can stop counting before a whole window from now.
                frees_at = now + window.seconds if counted else None
            rejected = len(rejections) - bisect.bisect_right(rejections, now - window.seconds)
            views.append(
                WindowView(window.limit, window.seconds, window.count, counted, frees_at, rejected)
            )
        state = replace(self._backoff_state, round_released=self._round_released)
        decision = self._backoff.decide(now, views, state, retry_after=retry_after)
        self._backoff_state = decision.state
        if decision.state.round_start != self._round_start:
            self._round_start = decision.state.round_start
            self._round_released = 0
        if decision.adapted:
            self._adaptations += 1
        self._paused_until = max(self._paused_until, now + decision.pause)
        # Recovery counts from the end of the pause after the last rejection: a limit is
        # given back only for time spent sending without being refused.
        self._since = since = max(now, self._paused_until)
        self._recover_at = math.inf
        for window, count in zip(self._windows, decision.effective, strict=True):
            window.base = window.count = count
            if count < window.limit:
                self._recover_at = min(self._recover_at, since + window.seconds)
        self._schedule(loop, now)
        return max(0.0, self._paused_until - now)

    async def aclose(self) -> None:
        """Close for good: every waiter, and every later caller, gets ``ClientClosedError``.
        Slots still held are released as their requests end. Idempotent."""
        if self._closed:
            return
        self._closed = True
        # No room ever again, so the fast path needs no check of its own.
        self._paused_until = math.inf
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for _, _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(ClientClosedError(_LIMITER_CLOSED))
        self._waiters.clear()

    def __repr__(self) -> str:
        return (
            f"SlidingWindowLimiter(limits={self.limits!r}, in_flight={self._in_flight}, "
            f"waiting={len(self._waiters)}, pacing={self._pacing is not None})"
        )

    # -- handles ----------------------------------------------------------------------------

    def _make_slot(self, handle: _Handle, lane: Lane) -> Slot:
        return _SlidingSlot(self, handle, lane)

    def _close_handle(self, handle: _Handle) -> None:
        loop = next((waiter.get_loop() for waiter in handle.waiters), None)
        if handle.fail_waiters() and loop is not None and not loop.is_closed():
            # Their entries at the head of the heap must not hold back the fast path.
            loop.call_soon(self._wake)

    def _wake(self) -> None:
        if self._waiters and not self._closed:
            self._admit(asyncio.get_running_loop())

    # -- admission --------------------------------------------------------------------------

    def _refresh(self, now: float) -> None:
        """Apply the recovery steps due by ``now`` to the effective counts."""
        if now < self._recover_at:
            return
        backoff = self._backoff
        since = self._since
        self._recover_at = math.inf
        for window in self._windows:
            if window.base >= window.limit:
                continue
            window.count = backoff.recovered(
                limit=window.limit, seconds=window.seconds, base=window.base, since=since, now=now
            )
            if window.count < window.limit:
                periods = periods_between(since, now, window.seconds) + 1
                self._recover_at = min(self._recover_at, since + periods * window.seconds)

    def _has_room(self, now: float) -> bool:
        if now < self._paused_until:
            return False
        if now >= self._recover_at:
            self._refresh(now)
        in_flight = self._in_flight
        # A plain loop, not all(...), and held() spelled out: this runs on every request.
        for window in self._windows:
            releases = window.releases
            while releases and releases[0] <= now:
                releases.popleft()
            if in_flight + len(releases) >= window.count:
                return False
        pacing = self._pacing
        return pacing is None or pacing.has_capacity(self._paced_pending + 1)

    def _take(self) -> None:
        self._in_flight += 1
        if self._pacing is not None:
            self._paced_pending += 1

    def _untake(self, loop: asyncio.AbstractEventLoop, *, token: bool) -> None:
        """Give back a slot that was granted but never used: it counts in no window."""
        self._in_flight -= 1
        if token and self._pacing is not None:
            self._paced_pending -= 1
        if self._waiters:
            self._admit(loop)

    def _try_acquire(self) -> bool:
        """Take a slot at once if nobody is queued and every window has room."""
        if self._waiters or not self._has_room(asyncio.get_running_loop().time()):
            return False
        self._take()
        return True

    async def _acquire(self, lane: Lane, handle: _Handle) -> None:
        if self._closed:
            raise ClientClosedError(_LIMITER_CLOSED)
        if handle.closed:
            raise handle.error()
        loop = asyncio.get_running_loop()
        now = loop.time()
        waiter: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (lane, next(self._sequence), waiter))
        handle.waiters.add(waiter)
        self._schedule(loop)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Granted, but cancelled before it could run: hand the slot on unused.
                self._untake(loop, token=True)
            raise
        finally:
            handle.waiters.discard(waiter)
        if self._closed or handle.closed:
            # Granted, then closed before it could run: nothing may be sent now.
            self._untake(loop, token=True)
            raise handle.error() if handle.closed else ClientClosedError(_LIMITER_CLOSED)
        if self._pacing is not None:
            await self._take_token(handle)
        stats = self._stats[lane]
        stats.sent += 1
        stats.waited_seconds += loop.time() - now

    async def _take_token(self, handle: _Handle) -> None:
        """Take the token reserved for a granted slot. It is normally there at once; it may
        have to be waited for only when the bucket is shared with someone else."""
        assert self._pacing is not None
        try:
            await self._pacing.acquire()
        except BaseException:
            # Cancelled while waiting in the bucket: the slot was never used.
            self._untake(asyncio.get_running_loop(), token=True)
            raise
        self._paced_pending -= 1
        if self._closed or handle.closed:
            self._untake(asyncio.get_running_loop(), token=False)
            raise handle.error() if handle.closed else ClientClosedError(_LIMITER_CLOSED)

    def _release(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is None:
            loop = asyncio.get_running_loop()
        release_at = loop.time()
        self._in_flight -= 1
        if release_at >= self._round_start:
            self._round_released += 1
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
            if waiter.done():  # cancelled, or its handle closed, while queued
                heapq.heappop(waiters)
                continue
            if not self._has_room(now):
                break
            heapq.heappop(waiters)
            self._take()
            waiter.set_result(None)
        self._schedule(loop, now)

    def _next_room_at(self, now: float) -> float | None:
        """When every window (and the bucket) could have room again; None when only a
        release can tell."""
        when = self._paused_until if now < self._paused_until else now
        for window in self._windows:
            excess = self._in_flight + window.held(now) - window.count
            if excess < 0:
                continue
            # The window frees up when its (excess+1)-th oldest release passes; if that
            # many have not finished yet, only a release can help, and it reschedules.
            # A recovery step may make room sooner.
            frees = window.releases[excess] if excess < len(window.releases) else math.inf
            frees = min(frees, self._recover_at)
            if frees == math.inf:
                return None
            when = max(when, frees)
        pacing = self._pacing
        if pacing is not None and not pacing.has_capacity(self._paced_pending + 1):
            # The bucket drips one token per interval; its level is its own business.
            when = max(when, now + self._pacing_interval)
        return when

    def _schedule(self, loop: asyncio.AbstractEventLoop, now: float | None = None) -> None:
        if not self._waiters or self._closed:
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
    __slots__ = ("_handle", "_lane", "_limiter")

    def __init__(self, limiter: SlidingWindowLimiter, handle: _Handle, lane: Lane) -> None:
        self._limiter = limiter
        self._handle = handle
        self._lane = lane

    def enter_now(self, loop: asyncio.AbstractEventLoop) -> bool:
        limiter = self._limiter
        # Most requests find room; a pacing bucket's token is taken by awaiting it.
        if (
            self._handle.reason is not None
            or limiter._pacing is not None
            or limiter._waiters
            or not limiter._has_room(loop.time())
        ):
            return False
        limiter._in_flight += 1  # _take() without a bucket
        limiter._stats[self._lane].sent += 1
        return True

    def exit_now(self, loop: asyncio.AbstractEventLoop) -> None:
        self._limiter._release(loop)

    async def __aenter__(self) -> None:
        limiter = self._limiter
        # Fast path without suspending: most requests find room.
        if self._handle.reason is None and limiter._try_acquire():
            if limiter._pacing is not None:
                await limiter._take_token(self._handle)
            limiter._stats[self._lane].sent += 1
        else:
            await limiter._acquire(self._lane, self._handle)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Held until `seconds` after the answer (or failure): the request may have
        # reached the exchange even if we never saw a reply.
        self._limiter._release()
