"""One rate limit shared by every process and host that uses the same API key, kept in Redis.

``SlidingWindowLimiter`` counts only its own process. ``RedisLimiter`` keeps the same books
in Redis instead, so N processes on one key together stay within Bitstamp's limits:

    >>> limiter = RedisLimiter("redis://localhost:6379/0", key="bitstamp:main")  # doctest: +SKIP
    >>> async with Client(api_key, api_secret, limiter=limiter) as client:  # doctest: +SKIP
    ...     ...

The books are one sorted set per (count, seconds) window; a member is one slot, scored by
the moment it stops counting. An atomic Lua script reads Redis ``TIME`` (so hosts with skewed
clocks agree), drops members whose time has passed, and admits a request only if every window
holds fewer than its effective count and no shared pause is on. An admitted slot is scored
``now + lease`` while the request is in flight; when the answer arrives it is rescored to
``now + seconds``. So a slot is held from admission until ``seconds`` after the answer, as in
``SlidingWindowLimiter``, and a process that dies mid-request frees its slots when the lease
ends. **The lease must exceed the request timeout** (``Timeouts.total``, 10 s by default; the
lease defaults to 60 s): a request still in flight when its lease ends no longer counts.

A refused caller is told the earliest moment every window could have room, and sleeps until
then (on the event loop's clock) instead of polling. Within one process waiters queue by
lane, then first come, first served; only the head of that queue asks Redis.

Rate rejections follow the policy of ``aiobitstamp._limiter`` (``Backoff``), decided once for
all processes: ``on_rejection`` reads the shared books, decides in Python, and writes the
pause, the lowered limits and the policy's memory back only if no other process changed
them in between (a version check; it reads again if one did). Every process then admits
against the same lowered limits and the same pause.

Errors stay in aiobitstamp's tree: a closed limiter raises ``ClientClosedError``; Redis
unreachable raises ``TransportError`` (``retry_safe``: nothing was sent) from ``slot()`` and
``headroom()``. ``on_rejection`` never raises for Redis: it pauses this process on its own
and logs. Needs the ``redis`` package (``pip install aiobitstamp[redis]``) and Redis 5 or
later.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import uuid
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ._exceptions import ClientClosedError, TransportError
from ._limiter import (
    _LIMITER_CLOSED,
    DEFAULT_RATE_LIMITS,
    Backoff,
    BackoffState,
    Lane,
    LaneStats,
    LimiterHandle,
    LimiterStats,
    RateLimits,
    Slot,
    WindowView,
    _Handle,
    validate_rate_limits,
)

__all__ = ["RedisLimiter"]

_log = logging.getLogger("aiobitstamp.limiter")

# Most slots one call may ask for on behalf of the waiters of one process.
_MAX_BATCH = 64

# Times a rejection's decision is read again when another process wrote in between.
_DECIDE_ATTEMPTS = 8

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

# The counts in force: each window's configured count, or the lowered base recovering by
# `step` per period of `seconds` since `since` (Backoff.recovered, in Lua).
_EFFECTIVE = """
local function effective(adapt, now, first, windows)
  local fields = {'since', 'n'}
  for i = 1, windows do
    fields[#fields + 1] = ARGV[first + 4 * (i - 1) + 3]
  end
  local stored = redis.call('HMGET', adapt, unpack(fields))
  local since = tonumber(stored[1] or '')
  local counts = {}
  for i = 1, windows do
    local count = tonumber(ARGV[first + 4 * (i - 1)])
    local seconds = tonumber(ARGV[first + 4 * (i - 1) + 1])
    local step = tonumber(ARGV[first + 4 * (i - 1) + 2])
    local base = tonumber(stored[2 + i] or '')
    if since and base and base < count then
      local periods = math.max(0, math.floor((now - since) / seconds))
      count = math.min(count, base + step * periods)
    end
    counts[i] = count
  end
  return counts, tonumber(stored[2] or '0')
end
"""

_ACQUIRE = (
    _NOW
    + _EXPIRE
    + _EFFECTIVE
    + """
-- KEYS: one sorted set per window, then the pause key, this call's void marker, the
-- back-off hash. ARGV: lease, want, member prefix, then (count, seconds, step, base field)
-- for each window. Reply: {granted, seconds to wait, adaptations, effective counts...}.
local windows = #KEYS - 3
local counts, adaptations = effective(KEYS[windows + 3], now, 4, windows)
local reply_tail = {tostring(adaptations)}
for i = 1, windows do
  reply_tail[#reply_tail + 1] = tostring(counts[i])
end
local function reply(granted, wait)
  return {granted, wait, unpack(reply_tail)}
end
if redis.call('EXISTS', KEYS[windows + 2]) == 1 then
  return reply(-1, '0')  -- the caller gave up before this call ran
end
local ready = tonumber(redis.call('GET', KEYS[windows + 1]) or '0')
local room = tonumber(ARGV[2])
for i = 1, windows do
  local key = KEYS[i]
  local count = counts[i]
  local seconds = tonumber(ARGV[4 + 4 * (i - 1) + 1])
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
  return reply(0, string.format('%.6f', math.max(ready - now, 0)))
end
local lease_ends = now + tonumber(ARGV[1])
for i = 1, windows do
  for j = 0, room - 1 do
    redis.call('ZADD', KEYS[i], lease_ends, ARGV[3] .. j)
  end
  expire_after_last(KEYS[i], now)
end
return reply(room, '0')
"""
)

_RELEASE = (
    _NOW
    + _EXPIRE
    + """
-- KEYS: one sorted set per window, then the back-off hash. ARGV: member, then the seconds
-- of each window. A plain ZADD, not XX: a request that outlived its lease was dropped from
-- the books but still reached the exchange, so it counts again for `seconds` after its
-- answer.
local windows = #KEYS - 1
for i = 1, windows do
  redis.call('ZADD', KEYS[i], now + tonumber(ARGV[1 + i]), ARGV[1])
  expire_after_last(KEYS[i], now)
end
-- Answers in the back-off's current round (see BackoffState).
local round_start = tonumber(redis.call('HGET', KEYS[windows + 1], 'rs') or '')
if round_start and now >= round_start then
  redis.call('HINCRBY', KEYS[windows + 1], 'rr', 1)
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
    + _EFFECTIVE
    + """
-- KEYS: one sorted set per window, the pause key, the back-off hash.
-- ARGV: (count, seconds, step, base field) for each window.
local windows = #KEYS - 2
local counts = effective(KEYS[windows + 2], now, 1, windows)
local paused = tonumber(redis.call('GET', KEYS[windows + 1]) or '0') > now
local room = {}
for i = 1, windows do
  local held = redis.call('ZCOUNT', KEYS[i], '(' .. string.format('%.17g', now), '+inf')
  room[i] = paused and 0 or math.max(0, counts[i] - held)
end
return room
"""
)

_BOOKS = (
    _NOW
    + """
-- What Backoff.decide needs, read at once. KEYS: one sorted set per window, the pause key,
-- the back-off hash, the rejection log. ARGV: (seconds, base field) for each window.
-- Reply: now, pause end, version, since, last, quiet, escalation, round start, round
-- answers, round rejections, then (base, counted, frees at, rejected) for each window.
local windows = #KEYS - 3
local adapt = KEYS[windows + 2]
local reply = {string.format('%.6f', now), redis.call('GET', KEYS[windows + 1]) or '0'}
local state = redis.call('HMGET', adapt, 'v', 'since', 'last', 'quiet', 'esc', 'rs', 'rr', 'rj')
for i = 1, 8 do
  reply[#reply + 1] = state[i] or ''
end
local after = '(' .. string.format('%.17g', now)
for i = 1, windows do
  local seconds = tonumber(ARGV[2 * i - 1])
  local counted = redis.call('ZCOUNT', KEYS[i], after, '+inf')
  local frees = ''
  local first = redis.call('ZRANGEBYSCORE', KEYS[i], after, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if first[2] then
    -- In flight (scored by its lease), it counts until at least now + seconds.
    frees = string.format('%.6f', math.min(tonumber(first[2]), now + seconds))
  end
  local since = '(' .. string.format('%.17g', now - seconds)
  local rejected = redis.call('ZCOUNT', KEYS[windows + 3], since, '+inf')
  reply[#reply + 1] = redis.call('HGET', adapt, ARGV[2 * i]) or ''
  reply[#reply + 1] = tostring(counted)
  reply[#reply + 1] = frees
  reply[#reply + 1] = tostring(rejected)
end
return reply
"""
)

_DECIDED = (
    _NOW
    + """
-- Write a decision, if no other process wrote since it was read. KEYS: the pause key, the
-- back-off hash, the rejection log. ARGV: version read, pause end, since, last, quiet,
-- escalation, round start, reset round answers (1/0), round rejections, adapted (1/0),
-- hash lifetime ms, rejection member, rejection time, log lifetime s, then (base field,
-- base) pairs. Reply: {1, pause left, adaptations}, or {0} to read again.
local adapt = KEYS[2]
if (redis.call('HGET', adapt, 'v') or '') ~= ARGV[1] then
  return {0}
end
redis.call('HINCRBY', adapt, 'v', 1)
redis.call('HSET', adapt, 'since', ARGV[3], 'last', ARGV[4], 'quiet', ARGV[5],
  'esc', ARGV[6], 'rs', ARGV[7], 'rj', ARGV[9])
if ARGV[8] == '1' then
  redis.call('HSET', adapt, 'rr', 0)
end
if ARGV[10] == '1' then
  redis.call('HINCRBY', adapt, 'n', 1)
end
for i = 15, #ARGV, 2 do
  redis.call('HSET', adapt, ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', adapt, ARGV[11])
local log = KEYS[3]
local at = tonumber(ARGV[13])
redis.call('ZADD', log, at, ARGV[12])
redis.call('ZREMRANGEBYSCORE', log, '-inf', at - tonumber(ARGV[14]))
redis.call('PEXPIRE', log, math.ceil(tonumber(ARGV[14]) * 1000) + 1000)
local ends = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[2]))
if ends > now then
  redis.call('SET', KEYS[1], string.format('%.6f', ends), 'PX', math.ceil((ends - now) * 1000) + 1)
end
return {1, string.format('%.6f', math.max(ends - now, 0)), redis.call('HGET', adapt, 'n') or '0'}
"""
)


def _number(text: bytes | str, default: float) -> float:
    return float(text) if text not in (b"", "") else default


class RedisLimiter:
    """A limiter whose windows live in Redis, shared by every process using ``key``.

    ``redis`` is a URL (the limiter then owns its client and closes it in ``aclose()``) or
    a ``redis.asyncio.Redis`` you own. Every limiter with the same ``key`` on the same Redis
    shares the same windows, pause and back-off; give each API key its own ``key``.
    ``lease`` is how long an admitted request counts if its process never reports the
    answer (it died); it must be longer than the client's request timeout. ``backoff`` is
    the reaction to rate rejections; use the same in every process.

    Invariant, across all processes: for each ``(count, seconds)`` window, requests in
    flight plus requests answered less than ``seconds`` ago number at most its effective
    count. Lanes order the waiters of one process; across processes the first to ask is
    served.

    >>> limiter = RedisLimiter("redis://localhost", key="bitstamp:main")  # doctest: +SKIP
    >>> client = Client(api_key, api_secret, limiter=limiter)  # doctest: +SKIP
    """

    __slots__ = (
        "_acquire_script",
        "_adapt_key",
        "_adaptations",
        "_background",
        "_backoff",
        "_base_fields",
        "_batches",
        "_books_script",
        "_closed",
        "_counts",
        "_decided_script",
        "_driver",
        "_effective",
        "_give_back_script",
        "_headroom_script",
        "_in_flight",
        "_instance",
        "_lease",
        "_limits",
        "_own",
        "_owns_client",
        "_pause_key",
        "_pause_script",
        "_paused_until",
        "_prefix",
        "_queued",
        "_redis",
        "_redis_closed",
        "_rejection_key",
        "_rejections",
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
        backoff: Backoff | None = None,
    ) -> None:
        if not key:
            raise ValueError("key must name the shared limit, e.g. the API key's label")
        if not float(lease) > 0:
            raise ValueError(f"lease must be positive seconds, got {lease!r}")
        self._limits = validate_rate_limits(limits)
        self._backoff = backoff or Backoff()
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
        self._adapt_key = f"{self._prefix}:backoff"
        self._rejection_key = f"{self._prefix}:rejections"
        self._base_fields = [f"b:{seconds!r}" for _, seconds in self._limits]
        self._counts = [count for count, _ in self._limits]
        self._seconds = [seconds for _, seconds in self._limits]
        self._window_args: list[int | float | str] = []
        for (count, seconds), field in zip(self._limits, self._base_fields, strict=True):
            self._window_args += [count, seconds, self._backoff.step(count), field]
        self._lease = float(lease)
        self._instance = uuid.uuid4().hex
        self._acquire_script = self._redis.register_script(_ACQUIRE)
        self._release_script = self._redis.register_script(_RELEASE)
        self._give_back_script = self._redis.register_script(_GIVE_BACK)
        self._pause_script = self._redis.register_script(_PAUSE)
        self._headroom_script = self._redis.register_script(_HEADROOM)
        self._books_script = self._redis.register_script(_BOOKS)
        self._decided_script = self._redis.register_script(_DECIDED)
        self._waiters: list[tuple[int, int, asyncio.Future[str]]] = []
        self._queued = 0  # waiters neither granted nor cancelled nor failed
        self._sequence = itertools.count()
        self._batches = itertools.count()
        self._rejections = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._paused_until = 0.0
        self._in_flight = 0
        self._closed = False
        self._redis_closed = False  # from here on, a call would open a connection we leak
        self._stats = {lane: LaneStats() for lane in Lane}
        # The shared back-off as this process last saw it (for stats).
        self._effective = tuple(self._counts)
        self._adaptations = 0
        self._own = _Handle(self, self._make_slot, reusable=False)

    # -- the Limiter protocol --------------------------------------------------------

    @property
    def limits(self) -> tuple[tuple[int, float], ...]:
        """The configured ``(count, seconds)`` windows."""
        return self._limits

    @property
    def stats(self) -> LimiterStats:
        """Per-lane counters of this process; the effective limits and the number of
        adaptations shared by all processes, as of this process's last call to Redis."""
        return LimiterStats(
            self._stats,
            tuple(zip(self._effective, self._seconds, strict=True)),
            self._adaptations,
        )

    @property
    def in_flight(self) -> int:
        """Slots this process holds for requests not yet answered."""
        return self._in_flight

    def slot(self, lane: Lane) -> Slot:
        """``async with limiter.slot(lane): send`` — waits for room, then holds it."""
        return _RedisSlot(self, self._own, lane)

    def handle(self) -> LimiterHandle:
        """A handle whose ``close()`` ends only its own waiters (see ``LimiterHandle``)."""
        return _Handle(self, self._make_slot, reusable=False)

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
        """Count a rejection without reacting to it. Superseded by ``on_rejection``."""
        self._stats[lane].rejected += 1

    async def on_rejection(self, lane: Lane, retry_after: float | None) -> float:
        """Count the rejection and apply the back-off policy for every process sharing the
        key (see the module docstring). Returns the seconds until admissions resume.

        This process stops at once, before Redis answers. If Redis cannot be reached, it
        pauses on its own (``retry_after``, or one shortest window) and logs a warning;
        this method never raises for Redis.
        """
        loop = asyncio.get_running_loop()
        self._stats[lane].rejected += 1
        if self._closed:
            return 0.0  # nothing will be admitted again; nothing to wait for
        shortest = min(self._seconds)
        first = retry_after if retry_after is not None else self._backoff.min_pause * shortest
        self._paused_until = max(self._paused_until, loop.time() + first)
        try:
            pause = await self._decide(retry_after)
        except RedisError as error:
            pause = retry_after if retry_after is not None else shortest
            _log.warning("could not share a rate rejection through Redis: %s", error)
        self._paused_until = max(self._paused_until, loop.time() + pause)
        return max(0.0, self._paused_until - loop.time())

    async def headroom(self) -> tuple[int, ...]:
        """For each window, how many more requests it has room for now, counting every
        process: its effective count minus the requests counting in it; all zeros while a
        pause is in force or after ``aclose()``. Raises ``TransportError`` if Redis cannot
        be reached."""
        if self._closed:
            return tuple(0 for _ in self._limits)
        try:
            reply = await self._headroom_script(
                keys=[*self._window_keys, self._pause_key, self._adapt_key],
                args=self._window_args,
            )
        except RedisError as error:
            raise _unreachable(error) from error
        return tuple(int(room) for room in reply)

    async def aclose(self) -> None:
        """Close for good: waiters and later callers get ``ClientClosedError``; finish
        pending writes to Redis; close the Redis client if this limiter made it.

        Slots still held are not released here if the Redis client is closed: like those
        of a process that died, they count until their lease ends. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        if self._driver is not None:
            self._driver.cancel()
            await asyncio.gather(self._driver, return_exceptions=True)
        self._fail_waiters(lambda: ClientClosedError(_LIMITER_CLOSED))
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

    # -- handles ------------------------------------------------------------------------

    def _make_slot(self, handle: _Handle, lane: Lane) -> Slot:
        return _RedisSlot(self, handle, lane)

    def _close_handle(self, handle: _Handle) -> None:
        self._queued -= handle.fail_waiters()
        if not self._queued:
            self._kick()  # the driver can stop now

    # -- admission ------------------------------------------------------------------

    def _closed_error(self, handle: _Handle) -> ClientClosedError:
        return handle.error() if handle.closed else ClientClosedError(_LIMITER_CLOSED)

    async def _acquire(self, lane: Lane, handle: _Handle) -> str:
        if self._closed or handle.closed:
            raise self._closed_error(handle)
        loop = asyncio.get_running_loop()
        started = loop.time()
        sequence = next(self._sequence)
        not_before = 0.0
        # Fast path: no one of ours is waiting, so one script call and no task.
        if not self._queued and started >= self._paused_until:
            batch = next(self._batches)
            try:
                granted, delay = await self._request(batch, 1)
            except TransportError:
                if self._closed or handle.closed:
                    raise self._closed_error(handle) from None
                raise
            if granted:
                member = self._member(batch, 0)
                if self._closed or handle.closed:
                    # Closed while Redis granted: nothing may be sent now.
                    self._spawn(self._give_back([member], void=False))
                    raise self._closed_error(handle)
                self._admitted(lane, started)
                return member
            not_before = loop.time() + delay
        waiter = self._enqueue(lane, sequence, not_before)
        handle.waiters.add(waiter)
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
        finally:
            handle.waiters.discard(waiter)
        if self._closed or handle.closed:
            # Granted, then closed before it could run: nothing may be sent now.
            self._hand_on(member)
            raise self._closed_error(handle)
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
            cause = error.__cause__ if isinstance(error, TransportError) else error
            self._fail_waiters(lambda: _unreachable(cause))
        finally:
            self._driver = None

    async def _request(self, batch: int, want: int) -> tuple[int, float]:
        """Ask for ``want`` slots; return how many were granted, or how long to wait."""
        prefix = f"{self._instance}:{batch}:"
        try:
            reply = await self._acquire_script(
                keys=[*self._window_keys, self._pause_key, self._void_key(batch), self._adapt_key],
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
                raise _unreachable(exc) from exc
            raise
        granted, wait, adaptations, *effective = reply
        self._adaptations = int(adaptations)
        self._effective = tuple(int(count) for count in effective)
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
        if self._closed or not self._grant(member):
            self._spawn(self._give_back([member], void=False))

    def _fail_waiters(self, make_error: Callable[[], BaseException]) -> None:
        """End every waiter with an error of its own (a shared exception object would
        collect every waiter's traceback)."""
        for _, _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(make_error())
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
            await self._release_script(
                keys=[*self._window_keys, self._adapt_key], args=[member, *self._seconds]
            )
        except RedisError as error:
            # The request is done; failing it now would lose its answer. The slot keeps
            # counting until its lease ends, which errs on the safe side.
            _log.warning("could not release a slot; its lease frees it: %s", error)

    async def _share_pause(self, seconds: float) -> None:
        try:
            await self._pause_script(keys=[self._pause_key], args=[seconds])
        except RedisError as error:
            _log.warning("could not share a pause of %ss through Redis: %s", seconds, error)

    # -- the shared back-off -----------------------------------------------------------

    async def _decide(self, retry_after: float | None) -> float:
        """Decide a rejection for every process: read the books, decide, write back if
        nobody else wrote in between. Returns the pause left, in seconds."""
        keys = [*self._window_keys, self._pause_key, self._adapt_key, self._rejection_key]
        books_args: list[float | str] = []
        for seconds, field in zip(self._seconds, self._base_fields, strict=True):
            books_args += [seconds, field]
        member = f"{self._instance}:{next(self._rejections)}"
        longest = max(self._seconds)
        for _ in range(_DECIDE_ATTEMPTS):
            reply = [
                item.decode() if isinstance(item, bytes) else str(item)
                for item in await self._books_script(keys=keys, args=books_args)
            ]
            now, paused_until = float(reply[0]), float(reply[1])
            version, since, last, quiet, escalation, round_start, answers, refused = reply[2:10]
            views = []
            effective = []
            for index, (count, seconds) in enumerate(self._limits):
                base, counted, frees, rejected = reply[10 + 4 * index : 14 + 4 * index]
                in_force = self._backoff.recovered(
                    limit=count,
                    seconds=seconds,
                    base=int(_number(base, count)),
                    since=_number(since, 0.0),
                    now=now,
                )
                effective.append(in_force)
                views.append(
                    WindowView(
                        limit=count,
                        seconds=seconds,
                        effective=in_force,
                        counted=int(counted),
                        frees_at=float(frees) if frees else None,
                        rejected=int(rejected) + 1,  # this one, logged when written
                    )
                )
            state = BackoffState(
                last_rejection=float(last) if last else None,
                quiet_until=_number(quiet, -math.inf),
                escalation=int(_number(escalation, 0)),
                round_start=_number(round_start, math.inf),
                round_released=int(_number(answers, 0)),
                round_rejected=int(_number(refused, 0)),
            )
            decision = self._backoff.decide(now, views, state, retry_after=retry_after)
            new = decision.state
            pause_ends = max(paused_until, now + decision.pause)
            # Recovery time needed by the slowest window, from the end of the pause.
            recovering = max(
                math.ceil((count - lowered) / self._backoff.step(count)) * seconds
                for (count, seconds), lowered in zip(self._limits, decision.effective, strict=True)
            )
            keep_until = max(pause_ends + recovering, new.quiet_until + longest, now + longest)
            pairs: list[str | int] = []
            for field, lowered in zip(self._base_fields, decision.effective, strict=True):
                pairs += [field, lowered]
            written = await self._decided_script(
                keys=[self._pause_key, self._adapt_key, self._rejection_key],
                args=[
                    version,
                    f"{pause_ends:.6f}",
                    f"{max(now, pause_ends):.6f}",
                    "" if new.last_rejection is None else f"{new.last_rejection:.6f}",
                    _finite(new.quiet_until),
                    new.escalation,
                    _finite(new.round_start),
                    int(new.round_start != state.round_start),
                    new.round_rejected,
                    int(decision.adapted),
                    math.ceil((keep_until - now) * 1000) + 1000,
                    member,
                    f"{now:.6f}",
                    longest,
                    *pairs,
                ],
            )
            if int(written[0]):
                self._adaptations = int(written[2])
                self._effective = decision.effective
                return float(written[1])
        # Others kept writing: at least share a pause, as the policy's floor.
        pause = retry_after if retry_after is not None else min(self._seconds)
        await self._share_pause(pause)
        return pause

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


def _finite(moment: float) -> str:
    """A time for Redis; the policy's infinities are stored as the empty string."""
    return f"{moment:.6f}" if math.isfinite(moment) else ""


def _unreachable(error: BaseException | None) -> TransportError:
    """One error tree: the request was never sent, so it is safe to retry."""
    failure = TransportError(
        f"the shared rate limit in Redis could not be reached: {error}", retry_safe=True
    )
    failure.__cause__ = error
    return failure


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _RedisSlot:
    __slots__ = ("_handle", "_lane", "_limiter", "_member")

    def __init__(self, limiter: RedisLimiter, handle: _Handle, lane: Lane) -> None:
        self._limiter = limiter
        self._handle = handle
        self._lane = lane
        self._member = ""

    def enter_now(self, loop: asyncio.AbstractEventLoop) -> bool:
        return False  # admission is a round trip to Redis

    def exit_now(self, loop: asyncio.AbstractEventLoop) -> None:
        raise RuntimeError("enter_now() never admits through Redis; use async with")

    async def __aenter__(self) -> None:
        self._member = await self._limiter._acquire(self._lane, self._handle)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Held until `seconds` after the answer (or failure): the request may have
        # reached the exchange even if we never saw a reply.
        await self._limiter._release(self._member)
