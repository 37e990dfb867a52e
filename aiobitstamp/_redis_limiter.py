"""One rate limit shared by every process and host that uses the same API key, kept in Redis.

``SlidingWindowLimiter`` counts only its own process. ``RedisLimiter`` keeps the same books
in Redis instead, so N processes on one key together stay within Bitstamp's limits:

    >>> limiter = RedisLimiter("redis://localhost:6379/0", key="bitstamp:main")  # doctest: +SKIP
    >>> async with Client(api_key, api_secret, limiter=limiter) as client:  # doctest: +SKIP
    ...     ...

The books are one sorted set per (count, seconds) window; a member is one slot, scored by
the moment it stops counting. An atomic Lua script reads Redis ``TIME`` (so hosts with skewed
clocks agree), drops members whose time has passed, and admits a request only if every window
holds fewer than ``count`` members and no shared pause is on. An admitted slot is scored
``now + lease`` while the request is in flight; when the answer arrives it is rescored to
``now + seconds``. So a slot is held from admission until ``seconds`` after the answer, as in
``SlidingWindowLimiter``, and a process that dies mid-request frees its slots when the lease
ends. **The lease must exceed the request timeout** (``Timeouts.total``, 10 s by default; the
lease defaults to 60 s): a request still in flight when its lease ends no longer counts.

A refused caller is told the earliest moment every window could have room, and sleeps until
then (on the event loop's clock) instead of polling. Within one process waiters queue by
lane, then first come, first served; only the head of that queue asks Redis.

Needs the ``redis`` package (``pip install aiobitstamp[redis]``) and Redis 5 or later.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ._exceptions import TransportError
from ._limiter import DEFAULT_RATE_LIMITS, Lane, LaneStats, RateLimits, validate_rate_limits

__all__ = ["RedisLimiter"]

_log = logging.getLogger("aiobitstamp.limiter")

# Most slots one call may ask for on behalf of the waiters of one process.
_MAX_BATCH = 64

# Scores travel as strings: Redis turns a Lua number in a reply into an integer.
_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
"""

# The expiry follows the latest score, so idle books vanish and busy ones never do.
_EXPIRE = """
local function expire_after_last(key, now)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIRE', key, math.ceil((tonumber(last[2]) - now) * 1000) + 1000)
  end
end
"""

_ACQUIRE = (
    _NOW
    + _EXPIRE
    + """
-- KEYS: one sorted set per window, then the pause key, then this call's void marker.
-- ARGV: lease, want, member prefix, then (count, seconds) for each window.
-- Reply: {granted, '0'}, or {0, seconds until every window could have room}.
local windows = #KEYS - 2
if redis.call('EXISTS', KEYS[windows + 2]) == 1 then
  return {-1, '0'}  -- the caller gave up before this call ran
end
local ready = tonumber(redis.call('GET', KEYS[windows + 1]) or '0')
local room = tonumber(ARGV[2])
for i = 1, windows do
  local key = KEYS[i]
  local count = tonumber(ARGV[2 + 2 * i])
  local seconds = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local held = redis.call('ZCARD', key)
  if count - held < room then
    room = count - held
  end
  if held >= count then
    -- Room comes when the (held - count + 1)-th earliest member expires. A member still
    -- in flight (scored by its lease) can be released no earlier than now, and would
    -- then count until now + seconds: that bound is the earliest it can free up.
    local nth = redis.call('ZRANGE', key, held - count, held - count, 'WITHSCORES')
    local frees = math.min(tonumber(nth[2]), now + seconds)
    if frees > ready then
      ready = frees
    end
  end
end
if ready > now or room < 1 then
  return {0, string.format('%.6f', math.max(ready - now, 0))}
end
local lease_ends = now + tonumber(ARGV[1])
for i = 1, windows do
  for j = 0, room - 1 do
    redis.call('ZADD', KEYS[i], lease_ends, ARGV[3] .. j)
  end
  expire_after_last(KEYS[i], now)
end
return {room, '0'}
"""
)

_RELEASE = (
    _NOW
    + _EXPIRE
    + """
-- KEYS: one sorted set per window. ARGV: member, then the seconds of each window.
-- A plain ZADD, not XX: a request that outlived its lease was dropped from the books but
-- still reached the exchange, so it counts again for `seconds` after its answer.
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now + tonumber(ARGV[1 + i]), ARGV[1])
  expire_after_last(KEYS[i], now)
end
return 1
"""
)

_GIVE_BACK = """
-- KEYS: one sorted set per window, then a void marker. ARGV: marker lifetime in ms
-- (0 for none), then the members to remove. The marker stops an acquire call that is
-- still on its way (sent before its caller gave up) from granting anything.
local windows = #KEYS - 1
for i = 1, windows do
  redis.call('ZREM', KEYS[i], unpack(ARGV, 2))
end
if tonumber(ARGV[1]) > 0 then
  redis.call('SET', KEYS[windows + 1], '1', 'PX', ARGV[1])
end
return 1
"""

_PAUSE = (
    _NOW
    + """
-- KEYS[1]: the pause key, holding the Redis time until which nothing is admitted.
-- ARGV[1]: seconds. A pause only ever extends the one in force.
local ends = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.6f', ends), 'PX', math.ceil((ends - now) * 1000) + 1)
return string.format('%.6f', ends - now)
"""
)

_HEADROOM = (
    _NOW
    + """
-- KEYS: one sorted set per window. ARGV: the count of each window.
local room = {}
for i = 1, #KEYS do
  local held = redis.call('ZCOUNT', KEYS[i], '(' .. string.format('%.17g', now), '+inf')
  room[i] = math.max(0, tonumber(ARGV[i]) - held)
end
return room
"""
)


class RedisLimiter:
    """A limiter whose windows live in Redis, shared by every process using ``key``.

    ``redis`` is a URL (the limiter then owns its client and closes it in ``aclose()``) or
    a ``redis.asyncio.Redis`` you own. Every limiter with the same ``key`` on the same Redis
    shares the same windows; give each API key its own ``key``. ``lease`` is how long an
    admitted request counts if its process never reports the answer (it died); it must be
    longer than the client's request timeout.

    Invariant, across all processes: for each ``(count, seconds)`` window, requests in
    flight plus requests answered less than ``seconds`` ago number at most ``count``. Lanes
    order the waiters of one process; across processes the first to ask is served.

    >>> limiter = RedisLimiter("redis://localhost", key="bitstamp:main")  # doctest: +SKIP
    >>> client = Client(api_key, api_secret, limiter=limiter)  # doctest: +SKIP
    """

    __slots__ = (
        "_acquire_script",
        "_background",
        "_batches",
        "_closed",
        "_counts",
        "_driver",
        "_give_back_script",
        "_headroom_script",
        "_in_flight",
        "_instance",
        "_lease",
        "_limits",
        "_owns_client",
        "_pause_key",
        "_pause_script",
        "_paused_until",
        "_prefix",
        "_queued",
        "_redis",
        "_redis_closed",
        "_release_script",
        "_seconds",
        "_sequence",
        "_stats",
        "_waiters",
        "_wakeup",
        "_window_args",
        "_window_keys",
    )

    def __init__(
        self,
        redis: str | Redis,
        *,
        key: str,
        limits: RateLimits = DEFAULT_RATE_LIMITS,
        lease: float = 60.0,
    ) -> None:
        if not key:
            raise ValueError("key must name the shared limit, e.g. the API key's label")
        if not float(lease) > 0:
            raise ValueError(f"lease must be positive seconds, got {lease!r}")
        self._limits = validate_rate_limits(limits)
        if isinstance(redis, str):
            self._redis: Redis = Redis.from_url(redis)
            self._owns_client = True
        else:
            self._redis = redis
            self._owns_client = False
        # One hash tag for every key, so the scripts also run on Redis Cluster.
        self._prefix = f"aiobitstamp:{{{key}}}"
        # Keyed by window length: limiters configured with different counts for the same
        # length still share one book, each enforcing its own count.
        self._window_keys = [f"{self._prefix}:window:{seconds!r}" for _, seconds in self._limits]
        self._pause_key = f"{self._prefix}:pause"
        self._counts = [count for count, _ in self._limits]
        self._seconds = [seconds for _, seconds in self._limits]
        self._window_args: list[int | float] = []
        for count, seconds in self._limits:
            self._window_args += [count, seconds]
        self._lease = float(lease)
        self._instance = uuid.uuid4().hex
        self._acquire_script = self._redis.register_script(_ACQUIRE)
        self._release_script = self._redis.register_script(_RELEASE)
        self._give_back_script = self._redis.register_script(_GIVE_BACK)
        self._pause_script = self._redis.register_script(_PAUSE)
        self._headroom_script = self._redis.register_script(_HEADROOM)
        self._waiters: list[tuple[int, int, asyncio.Future[str]]] = []
        self._queued = 0  # waiters neither granted nor cancelled
        self._sequence = itertools.count()
        self._batches = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._paused_until = 0.0
        self._in_flight = 0
        self._closed = False
        self._redis_closed = False  # from here on, a call would open a connection we leak
        self._stats = {lane: LaneStats() for lane in Lane}

    # -- the Limiter protocol --------------------------------------------------------

    @property
    def limits(self) -> tuple[tuple[int, float], ...]:
        """The ``(count, seconds)`` windows this limiter enforces."""
        return self._limits

    @property
    def stats(self) -> Mapping[Lane, LaneStats]:
        """Per-lane counters of this process: sent, seconds waited, rejected."""
        return self._stats

    @property
    def in_flight(self) -> int:
        """Slots this process holds for requests not yet answered."""
        return self._in_flight

    def slot(self, lane: Lane) -> _RedisSlot:
        """``async with limiter.slot(lane): send`` — waits for room, then holds it."""
        return _RedisSlot(self, lane)

    def pause(self, seconds: float) -> None:
        """Admit nothing, in any process sharing the key, for ``seconds``.

        Callable from synchronous code: this process stops at once (the caller may be
        about to retry), and the pause is written to Redis by a task scheduled here, so the
        other processes see it one round trip later.
        """
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        if not self._closed:
            self._spawn(self._share_pause(seconds))

    def record_rejection(self, lane: Lane) -> None:
        """Count a request of ``lane`` that the exchange refused for going too fast."""
        self._stats[lane].rejected += 1

    async def headroom(self) -> tuple[int, ...]:
        """Requests each window would admit right now, counting every process."""
        reply = await self._headroom_script(keys=self._window_keys, args=self._counts)
        return tuple(int(room) for room in reply)

    async def aclose(self) -> None:
        """Stop waiting, finish pending writes to Redis, close the client if we made it.

        Callers still waiting get ``RuntimeError``. Slots still held are not released
        here: like those of a process that died, they count until their lease ends.
        Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        if self._driver is not None:
            self._driver.cancel()
            await asyncio.gather(self._driver, return_exceptions=True)
        self._fail_waiters(RuntimeError("the RedisLimiter was closed"))
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._owns_client:
            self._redis_closed = True
            await self._redis.aclose()

    def __repr__(self) -> str:
        return (
            f"RedisLimiter(key={self._prefix!r}, limits={self._limits!r}, "
            f"lease={self._lease!r}, in_flight={self._in_flight})"
        )

    # -- admission ------------------------------------------------------------------

    async def _acquire(self, lane: Lane) -> str:
        if self._closed:
            raise RuntimeError("the RedisLimiter was closed")
        loop = asyncio.get_running_loop()
        started = loop.time()
        sequence = next(self._sequence)
        not_before = 0.0
        # Fast path: no one of ours is waiting, so one script call and no task.
        if not self._queued and started >= self._paused_until:
            batch = next(self._batches)
            granted, delay = await self._request(batch, 1)
            if granted:
                self._admitted(lane, started)
                return self._member(batch, 0)
            not_before = loop.time() + delay
        waiter = self._enqueue(lane, sequence, not_before)
        try:
            member = await waiter
        except asyncio.CancelledError:
            if not waiter.cancelled():
                if waiter.exception() is None:
                    # Granted, then cancelled before it could run: pass the slot on.
                    self._hand_on(waiter.result())
            else:
                self._queued -= 1
                if not self._queued:
                    self._kick()  # the driver can stop now
            raise
        self._admitted(lane, started)
        return member

    def _enqueue(self, lane: Lane, sequence: int, not_before: float) -> asyncio.Future[str]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        heapq.heappush(self._waiters, (lane, sequence, waiter))
        self._queued += 1
        if self._driver is None:
            # Asking Redis is I/O, which a loop.call_at timer (SlidingWindowLimiter's
            # way) cannot await. A task does it for the queue, so a caller that is
            # cancelled never interrupts a call that may have granted it a slot. It ends
            # as soon as the queue is empty: an idle limiter leaves nothing running.
            self._driver = loop.create_task(self._drive(not_before))
        return waiter

    def _admitted(self, lane: Lane, started: float) -> None:
        self._in_flight += 1
        stats = self._stats[lane]
        stats.sent += 1
        stats.waited_seconds += asyncio.get_running_loop().time() - started

    async def _drive(self, not_before: float) -> None:
        """Ask Redis for slots for the head of the queue until the queue is empty."""
        loop = asyncio.get_running_loop()
        try:
            while self._queued:
                wake_at = max(not_before, self._paused_until)
                if wake_at > loop.time():
                    await self._sleep_until(wake_at)
                    not_before = 0.0
                    continue
                want = min(self._queued, _MAX_BATCH)
                batch = next(self._batches)
                granted, delay = await self._request(batch, want)
                not_before = 0.0 if granted else loop.time() + delay
                members = [self._member(batch, index) for index in range(granted)]
                while members and self._grant(members[0]):
                    members.pop(0)
                if members:  # waiters were cancelled during the call
                    await self._give_back(members, void=False)
        except asyncio.CancelledError:
            raise  # aclose() cancels us and fails the waiters itself
        except Exception as error:
            # Redis is unreachable or refused the script: every waiter gets the error
            # rather than waiting for an answer that will not come.
            self._fail_waiters(error)
        finally:
            self._driver = None

    async def _request(self, batch: int, want: int) -> tuple[int, float]:
        """Ask for ``want`` slots; return how many were granted, or how long to wait."""
        prefix = f"{self._instance}:{batch}:"
        try:
            granted, wait = await self._acquire_script(
                keys=[*self._window_keys, self._pause_key, self._void_key(batch)],
                args=[self._lease, want, prefix, *self._window_args],
            )
        except BaseException as exc:
            # Cancelled, or the connection failed, after the call may have reached Redis:
            # it may yet grant. Remove whatever it granted and void it in case it has not
            # run yet, so a caller that gave up holds no slot.
            members = [prefix + str(index) for index in range(want)]
            self._spawn(self._give_back(members, void=True, batch=batch))
            if isinstance(exc, RedisError):
                # One error tree: the request was never sent, so it is safe to retry.
                raise TransportError(
                    f"the shared rate limit in Redis could not be reached: {exc}",
                    retry_safe=True,
                ) from exc
            raise
        return max(int(granted), 0), float(wait)

    def _grant(self, member: str) -> bool:
        """Hand ``member`` to the first live waiter in lane order; False if none is left."""
        waiters = self._waiters
        while waiters:
            _, _, waiter = heapq.heappop(waiters)
            if not waiter.done():
                waiter.set_result(member)
                self._queued -= 1
                return True
        return False

    def _hand_on(self, member: str) -> None:
        if not self._grant(member):
            self._spawn(self._give_back([member], void=False))

    def _fail_waiters(self, error: BaseException) -> None:
        for _, _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(error)
        self._waiters.clear()
        self._queued = 0

    async def _give_back(self, members: Sequence[str], *, void: bool, batch: int = -1) -> None:
        void_ms = math.ceil(self._lease * 1000) if void else 0
        try:
            await self._give_back_script(
                keys=[*self._window_keys, self._void_key(batch)], args=[void_ms, *members]
            )
        except RedisError as error:
            _log.warning(
                "could not give back %d slots; their lease frees them: %s", len(members), error
            )
        else:
            self._kick()  # room appeared without any window expiring

    async def _release(self, member: str) -> None:
        self._in_flight -= 1
        if self._redis_closed:
            return  # the lease frees it, as for a process that died
        try:
            await self._release_script(keys=self._window_keys, args=[member, *self._seconds])
        except RedisError as error:
            # The request is done; failing it now would lose its answer. The slot keeps
            # counting until its lease ends, which errs on the safe side.
            _log.warning("could not release a slot; its lease frees it: %s", error)

    async def _share_pause(self, seconds: float) -> None:
        try:
            await self._pause_script(keys=[self._pause_key], args=[seconds])
        except RedisError as error:
            _log.warning("could not share a pause of %ss through Redis: %s", seconds, error)

    # -- helpers --------------------------------------------------------------------

    def _member(self, batch: int, index: int) -> str:
        return f"{self._instance}:{batch}:{index}"

    def _void_key(self, batch: int) -> str:
        return f"{self._prefix}:void:{self._instance}:{batch}"

    async def _sleep_until(self, when: float) -> None:
        loop = asyncio.get_running_loop()
        wakeup: asyncio.Future[None] = loop.create_future()
        self._wakeup = wakeup
        timer = loop.call_at(when, _resolve, wakeup)
        try:
            await wakeup
        finally:
            timer.cancel()
            self._wakeup = None

    def _kick(self) -> None:
        """Wake the driver early: the queue emptied, or slots were given back."""
        if self._wakeup is not None:
            _resolve(self._wakeup)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        if self._redis_closed:
            coroutine.close()  # too late to tell Redis; leases and pauses end by themselves
            return
        # Kept until done, so the task is not garbage-collected and aclose() can wait.
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _RedisSlot:
    __slots__ = ("_lane", "_limiter", "_member")

    def __init__(self, limiter: RedisLimiter, lane: Lane) -> None:
        self._limiter = limiter
        self._lane = lane
        self._member = ""

    async def __aenter__(self) -> None:
        self._member = await self._limiter._acquire(self._lane)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Held until `seconds` after the answer (or failure): the request may have
        # reached the exchange even if we never saw a reply.
        await self._limiter._release(self._member)
