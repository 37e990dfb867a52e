"""RedisLimiter against a real redis-server: invariant, throughput across processes, lanes,
cancellation, dead processes, shared pause.

Time is real here (Redis keeps its own clock), so windows are small and the requests hold
their slots briefly. Every time stamp is ``time.time()``, the clock Redis ``TIME`` reads on
this host, so spans from several processes can be merged and compared.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REQUIRE_REDIS = os.environ.get("AIOBITSTAMP_REQUIRE_REDIS") == "1"

try:
    import redis.asyncio as aioredis
except ImportError:  # the optional extra is not installed
    if REQUIRE_REDIS:
        raise
    pytest.skip("the redis package is not installed", allow_module_level=True)

# After the guard above: without the redis package there is nothing to import.
from aiobitstamp import Client, Limiter, MockTransport, Request, Response  # noqa: E402
from aiobitstamp._exceptions import ClientClosedError, TransportError  # noqa: E402
from aiobitstamp._limiter import Lane, LimiterHandle  # noqa: E402
from aiobitstamp._redis_limiter import RedisLimiter  # noqa: E402

DATA = Path(__file__).parent / "data"

Span = tuple[float, float]  # a request's [admitted, answered), in time.time() seconds


# -- the server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_ping(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"redis-server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass  # not listening yet
        time.sleep(0.01)
    pytest.fail(f"redis-server did not answer PING within 15 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free port, for the whole session."""
    executable = shutil.which("redis-server")
    if executable is None:
        if REQUIRE_REDIS:
            pytest.fail("AIOBITSTAMP_REQUIRE_REDIS=1 but redis-server is not on PATH")
        pytest.skip("redis-server is not on PATH")
    port = _free_port()
    log = tmp_path_factory.mktemp("redis") / "redis.log"
    # No persistence: a scratch server that leaves nothing behind.
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with log.open("wb") as output:
        server = subprocess.Popen(
            [executable, *arguments],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_ping(port, server, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.kill()
        server.wait()


@pytest.fixture
def key(request: pytest.FixtureRequest) -> str:
    """A key of its own for each test, so no test sees another's slots."""
    return f"test:{request.node.name}:{uuid.uuid4().hex[:8]}"


# -- helpers ------------------------------------------------------------------------------


def max_overlap(intervals: list[Span]) -> int:
    """The most half-open intervals [start, end) that cover one instant."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    level = peak = 0
    for _, delta in events:  # at equal times ends (-1) sort first
        level += delta
        peak = max(peak, level)
    return peak


def occupancy(spans: list[Span], seconds: float, start: float, end: float) -> float:
    """The mean number of requests counting in the window over [start, end)."""
    events = sorted(
        [(admitted, 1) for admitted, _ in spans]
        + [(answered + seconds, -1) for _, answered in spans]
    )
    level, area, previous = 0, 0.0, start
    for moment, delta in events:
        overlap = min(moment, end) - max(previous, start)
        if overlap > 0:
            area += level * overlap
        level += delta
        previous = moment
    return area / (end - start)


def held_peak(spans: list[Span], seconds: float) -> int:
    """Most requests ever counting in one window: each counts from admission until
    ``seconds`` after its answer, the span inside which the exchange saw it arrive."""
    return max_overlap([(admitted, answered + seconds) for admitted, answered in spans])


async def timed_request(
    limiter: Limiter | LimiterHandle, lane: Lane, hold: float, spans: list[Span]
) -> None:
    async with limiter.slot(lane):
        admitted = time.time()
        await asyncio.sleep(hold)  # the request on the wire
        answered = time.time()
    spans.append((admitted, answered))


class Watched(RedisLimiter):
    """Lets a test wait, without sleeping, until this process has callers queued."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enqueued = 0
        self.changed = asyncio.Event()
        self.asked = 0  # calls of the acquire script

    async def _request(self, batch: int, want: int) -> tuple[int, float]:
        self.asked += 1
        return await super()._request(batch, want)

    def _enqueue(self, lane: Lane, sequence: int, not_before: float) -> asyncio.Future[str]:
        waiter = super()._enqueue(lane, sequence, not_before)
        self.enqueued += 1
        self.changed.set()
        return waiter

    async def wait_enqueued(self, count: int) -> None:
        async def enqueued() -> None:
            while self.enqueued < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(enqueued(), 5.0)


# -- the invariant ------------------------------------------------------------------------


async def test_instances_on_one_key_never_exceed_the_window(redis_url: str, key: str) -> None:
    count, seconds = 6, 0.25
    limiters = [RedisLimiter(redis_url, key=key, limits=((count, seconds),)) for _ in range(3)]
    rng = random.Random(1)
    spans: list[Span] = []

    async def worker(limiter: RedisLimiter) -> None:
        for _ in range(3):
            await timed_request(limiter, Lane.PUBLIC, rng.uniform(0.0, 0.02), spans)

    try:
        await asyncio.wait_for(
            asyncio.gather(*(worker(limiter) for limiter in limiters for _ in range(4))), 20.0
        )
    finally:
        for limiter in limiters:
            await limiter.aclose()
    assert len(spans) == 36
    # Never more than `count`, and exactly `count`: the three instances did compete.
    assert held_peak(spans, seconds) == count
    assert sum(limiter.stats[Lane.PUBLIC].sent for limiter in limiters) == 36


async def _process_main(
    url: str, key: str, limits: tuple[tuple[int, float], ...], tasks: int, duration: float,
    seed: int, barrier: Any,
) -> tuple[float, list[Span]]:  # fmt: skip
    limiter = RedisLimiter(url, key=key, limits=limits)
    rng = random.Random(seed)
    spans: list[Span] = []
    await limiter.headroom()  # connect before the start line
    await asyncio.to_thread(barrier.wait, 60)
    deadline = time.time() + duration

    async def worker() -> None:
        while time.time() < deadline:
            await timed_request(limiter, Lane.PUBLIC, rng.uniform(0.0, 0.004), spans)

    try:
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(tasks))), duration + 10)
    finally:
        await limiter.aclose()
    return deadline, spans


def _process_worker(
    url: str, key: str, limits: tuple[tuple[int, float], ...], tasks: int, duration: float,
    seed: int, barrier: Any, results: Any,
) -> None:  # fmt: skip
    results.put(asyncio.run(_process_main(url, key, limits, tasks, duration, seed, barrier)))


def test_four_processes_share_one_limit(redis_url: str, key: str) -> None:
    count, seconds = 8, 0.25
    limits = ((count, seconds),)
    processes, duration = 4, 4.0
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=_process_worker,
            args=(redis_url, key, limits, 6, duration, seed, barrier, results),
        )
        for seed in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        reports: list[tuple[float, list[Span]]] = [results.get(timeout=60) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    assert all(worker.exitcode == 0 for worker in workers)
    spans = [span for _, process_spans in reports for span in process_spans]
    assert all(process_spans for _, process_spans in reports)  # every process took part

    assert held_peak(spans, seconds) == count

    # Throughput after the first window, while every process still had demand: with
    # slots cycling every `seconds` plus a few milliseconds, at least 97% of the limit.
    first = min(admitted for admitted, _ in spans)
    start, end = first + seconds, min(deadline for deadline, _ in reports)
    sent = sum(1 for admitted, _ in spans if start <= admitted < end)
    allowed = count / seconds * (end - start)
    assert sent >= 0.97 * allowed, f"{sent} sent of {allowed:.1f} allowed"
    assert sent <= allowed + count
    # Measured without the rounding of whole windows: how full the window was kept.
    # A freed slot stays idle only for a round trip to Redis, so this is about 0.99.
    assert occupancy(spans, seconds, start, end) >= 0.97 * count


async def test_every_window_binds_at_once(redis_url: str, key: str) -> None:
    limits = ((3, 0.2), (5, 1.0))
    limiters = [RedisLimiter(redis_url, key=key, limits=limits) for _ in range(2)]
    spans: list[Span] = []
    try:
        assert await limiters[0].headroom() == (3, 5)
        await asyncio.wait_for(
            asyncio.gather(
                *(timed_request(limiter, Lane.PUBLIC, 0.0, spans) for limiter in limiters * 5)
            ),
            10.0,
        )
        assert (await limiters[1].headroom())[1] == 0  # the long window is full
    finally:
        for limiter in limiters:
            await limiter.aclose()
    assert len(spans) == 10
    for count, seconds in limits:
        assert held_peak(spans, seconds) == count
    # 3 at once, 2 more a short window later, the rest only when the long window frees.
    admitted = sorted(start for start, _ in spans)
    assert admitted[5] - admitted[0] >= 1.0


async def test_a_waiter_asks_again_only_when_room_can_appear(redis_url: str, key: str) -> None:
    limits = ((1, 0.3),)
    limiter = Watched(redis_url, key=key, limits=limits)
    other = RedisLimiter(redis_url, key=key, limits=limits)
    try:
        spans: list[Span] = []
        # The slot is counted for 0.3 s after its answer; a waiter is told exactly when,
        # sleeps, and asks once more: two calls, where polling every 50 ms would make six.
        await timed_request(limiter, Lane.PUBLIC, 0.0, spans)
        limiter.asked = 0
        await asyncio.wait_for(timed_request(limiter, Lane.PUBLIC, 0.0, spans), 3.0)
        assert spans[1][0] >= spans[0][1] + 0.3
        assert limiter.asked <= 3

        # Now the slot is in flight in another process: it cannot free up before 0.3 s
        # from now, so that is the first hint (not the 60 s lease); the next is exact.
        limiter.asked = 0
        async with other.slot(Lane.PUBLIC):
            waiter = asyncio.create_task(timed_request(limiter, Lane.PUBLIC, 0.0, spans))
            await asyncio.sleep(0.2)  # the other process's request on the wire
            answered = time.time()
        await asyncio.wait_for(waiter, 3.0)
        assert spans[2][0] >= answered + 0.3
        assert limiter.asked <= 4
    finally:
        await limiter.aclose()
        await other.aclose()


# -- lanes and cancellation -----------------------------------------------------------------


async def test_cancel_lane_jumps_a_public_backlog(redis_url: str, key: str) -> None:
    limiter = RedisLimiter(redis_url, key=key, limits=((3, 0.2),))
    order: list[str] = []
    urgent: list[asyncio.Task[None]] = []

    async def request(lane: Lane, name: str) -> None:
        async with limiter.slot(lane):
            order.append(name)
            if len(order) == 4:
                # The first admission out of the queue: the rest of the backlog (refused
                # at once) has waited a whole window already. Urgent work arrives now.
                urgent.extend(
                    asyncio.create_task(request(lane, name))
                    for lane, name in [
                        (Lane.PRIVATE_READ, "read"),
                        (Lane.CANCEL, "cancel"),
                        (Lane.PLACE, "place"),
                    ]
                )

    try:
        backlog = (request(Lane.PUBLIC, f"public{i:02}") for i in range(12))
        await asyncio.wait_for(asyncio.gather(*backlog), 10.0)
        await asyncio.wait_for(asyncio.gather(*urgent), 10.0)
    finally:
        await limiter.aclose()
    first_urgent = order.index("cancel")
    assert order[first_urgent : first_urgent + 3] == ["cancel", "place", "read"]
    # At most one more window of the backlog went before them, and six queued earlier
    # went after them.
    assert first_urgent <= 6
    assert len(order[first_urgent + 3 :]) >= 6
    queued = [name for name in order[3:] if name.startswith("public")]
    assert queued == sorted(queued)  # first come, first served within the lane


async def test_cancelled_waiter_takes_no_slot(redis_url: str, key: str) -> None:
    limiter = Watched(redis_url, key=key, limits=((1, 0.3),), lease=30.0)
    try:
        async with limiter.slot(Lane.PUBLIC):
            pass
        released = time.time()  # the only slot counts until about released + 0.3
        # If it ever got a slot it would hold it (never released) for the 30 s lease.
        doomed = asyncio.create_task(limiter.slot(Lane.PUBLIC).__aenter__())
        await limiter.wait_enqueued(1)
        spans: list[Span] = []
        survivor = asyncio.create_task(timed_request(limiter, Lane.PUBLIC, 0.0, spans))
        await limiter.wait_enqueued(2)
        doomed.cancel()
        await asyncio.wait_for(survivor, 5.0)
        assert doomed.cancelled()
        assert spans[0][0] - released < 0.3 + 0.2  # the next window, not the lease
        assert limiter.in_flight == 0
        assert limiter.stats[Lane.PUBLIC].sent == 2
    finally:
        await limiter.aclose()


class HoldingProxy:
    """A TCP proxy in front of Redis that can hold back its replies: the way to cancel a
    caller after Redis ran its script but before the caller heard the answer."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.holding = False
        self.reply_held = asyncio.Event()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        server_reader, server = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [client, server]

        async def pump(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, replies: bool
        ) -> None:
            while data := await reader.read(65536):
                if replies and self.holding:
                    self.reply_held.set()  # dropped: the caller never hears it
                    continue
                writer.write(data)
            writer.close()

        await asyncio.gather(
            pump(client_reader, server, replies=False),
            pump(server_reader, client, replies=True),
            return_exceptions=True,
        )

    async def aclose(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in self._writers), return_exceptions=True)
        await self._server.wait_closed()


async def test_caller_cancelled_after_redis_granted_takes_no_slot(redis_url: str, key: str) -> None:
    limits = ((3, 5.0),)
    warm = RedisLimiter(redis_url, key=key + ":warm-up", limits=limits)
    async with warm.slot(Lane.PUBLIC):  # loads the scripts into Redis
        pass
    await warm.aclose()
    proxy = HoldingProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    limiter = RedisLimiter(await proxy.start(), key=key, limits=limits)
    try:
        await limiter.headroom()  # a pooled connection through the proxy
        proxy.holding = True
        doomed = asyncio.create_task(limiter.slot(Lane.PUBLIC).__aenter__())
        # Redis granted the slot; the answer is withheld.
        await asyncio.wait_for(proxy.reply_held.wait(), 5.0)
        doomed.cancel()
        await asyncio.gather(doomed, return_exceptions=True)
        assert doomed.cancelled()
        proxy.holding = False
        await limiter.aclose()  # waits until the slot is given back
    finally:
        await limiter.aclose()
        await proxy.aclose()
    witness = RedisLimiter(redis_url, key=key, limits=limits)
    try:
        assert await witness.headroom() == (3,)
    finally:
        await witness.aclose()
    assert limiter.stats[Lane.PUBLIC].sent == 0


async def test_slot_granted_to_a_cancelled_waiter_passes_on(redis_url: str, key: str) -> None:
    class CancelOnGrant(Watched):
        """Cancels the victim in the same step that grants it a slot."""

        victim: asyncio.Task[None] | None = None

        def _grant(self, member: str) -> bool:
            granted = super()._grant(member)
            if self.victim is not None:
                self.victim.cancel()
                self.victim = None
            return granted

    limiter = CancelOnGrant(redis_url, key=key, limits=((1, 0.3),), lease=30.0)

    async def victim() -> None:
        async with limiter.slot(Lane.PUBLIC):
            raise AssertionError("a cancelled waiter must never run its request")

    try:
        async with limiter.slot(Lane.PUBLIC):
            pass
        released = time.time()
        limiter.victim = asyncio.create_task(victim())
        victim_task = limiter.victim
        await limiter.wait_enqueued(1)
        spans: list[Span] = []
        other = asyncio.create_task(timed_request(limiter, Lane.PUBLIC, 0.0, spans))
        await limiter.wait_enqueued(2)
        results = await asyncio.wait_for(
            asyncio.gather(victim_task, other, return_exceptions=True), 5.0
        )
        assert isinstance(results[0], asyncio.CancelledError)
        assert spans[0][0] - released < 0.3 + 0.2  # handed on at once, not after the lease
        assert limiter.in_flight == 0
    finally:
        await limiter.aclose()


# -- processes that die, and pauses ---------------------------------------------------------


async def test_dead_process_holds_slots_only_until_the_lease_ends(redis_url: str, key: str) -> None:
    limits = ((2, 5.0),)
    started = time.time()
    dead = RedisLimiter(redis_url, key=key, limits=limits, lease=0.4)
    for _ in range(2):
        await dead.slot(Lane.PUBLIC).__aenter__()  # admitted, never answered
    await dead.aclose()
    del dead  # the process is gone; nothing will ever release its slots
    alive = RedisLimiter(redis_url, key=key, limits=limits)
    try:
        assert await alive.headroom() == (0,)
        spans: list[Span] = []
        await asyncio.wait_for(timed_request(alive, Lane.CANCEL, 0.0, spans), 3.0)
    finally:
        await alive.aclose()
    waited = spans[0][0] - started
    assert 0.4 <= waited < 0.4 + 0.5  # the lease, not the 5 s window


async def test_pause_stops_this_process_at_once(redis_url: str, key: str) -> None:
    limiter = RedisLimiter(redis_url, key=key, limits=((100, 1.0),))
    try:
        paused_at = time.time()
        limiter.pause(0.3)
        spans: list[Span] = []
        await asyncio.wait_for(timed_request(limiter, Lane.CANCEL, 0.0, spans), 3.0)
    finally:
        await limiter.aclose()
    assert 0.3 <= spans[0][0] - paused_at < 0.3 + 0.2


async def test_pause_from_one_instance_blocks_another(redis_url: str, key: str) -> None:
    limits = ((100, 1.0),)
    rejected = RedisLimiter(redis_url, key=key, limits=limits)
    other = RedisLimiter(redis_url, key=key, limits=limits)
    try:
        await other.headroom()
        paused_at = time.time()
        rejected.pause(0.4)  # synchronous, as the client calls it on 400.002
        await rejected.aclose()  # finishes writing the pause to Redis
        spans: list[Span] = []
        await asyncio.wait_for(timed_request(other, Lane.CANCEL, 0.0, spans), 3.0)
    finally:
        await other.aclose()
    # Woken when the pause ends, by the hint from Redis, not by polling.
    assert 0.4 <= spans[0][0] - paused_at < 0.4 + 0.2


# -- the API --------------------------------------------------------------------------------


async def test_headroom_stats_and_rejections(redis_url: str, key: str) -> None:
    limiter = RedisLimiter(redis_url, key=key, limits=((3, 5.0), (5, 60.0)))
    try:
        assert limiter.limits == ((3, 5.0), (5, 60.0))
        async with limiter.slot(Lane.PLACE):
            assert await limiter.headroom() == (2, 4)
            assert limiter.in_flight == 1
        async with limiter.slot(Lane.PLACE):
            pass
        assert await limiter.headroom() == (1, 3)
        limiter.record_rejection(Lane.PLACE)
        assert limiter.stats[Lane.PLACE].sent == 2
        assert limiter.stats[Lane.PLACE].rejected == 1
        assert limiter.stats[Lane.PUBLIC].sent == 0
        assert limiter.stats.effective_limits == ((3, 5.0), (5, 60.0))
        assert limiter.stats.adaptations == 0
    finally:
        await limiter.aclose()


async def test_client_sends_through_the_shared_limit(redis_url: str, key: str) -> None:
    payload = (DATA / "tickers_all.json").read_bytes()

    def exchange(request: Request) -> Response:
        return Response(200, {"Content-Type": "application/json"}, payload)

    limiter: Limiter = RedisLimiter(redis_url, key=key, limits=((5, 5.0),))
    try:
        async with Client(limiter=limiter, transport=MockTransport(exchange)) as client:
            assert client.limiter is limiter
            assert await client.tickers()
            assert client.rate_limit_stats[Lane.PUBLIC].sent == 1
        # The client leaves a limiter it was given open: others may share it.
        assert await limiter.headroom() == (4,)
    finally:
        await limiter.aclose()
    witness = RedisLimiter(redis_url, key=key, limits=((5, 5.0),))
    try:
        assert await witness.headroom() == (4,)
    finally:
        await witness.aclose()


async def test_closes_only_a_client_it_created(redis_url: str, key: str) -> None:
    shared = aioredis.Redis.from_url(redis_url)
    try:
        limiter = RedisLimiter(shared, key=key, limits=((5, 1.0),))
        async with limiter.slot(Lane.PUBLIC):
            pass
        await limiter.aclose()
        await limiter.aclose()  # idempotent
        assert await shared.ping()  # still ours, still open
        with pytest.raises(ClientClosedError, match="closed"):
            await limiter.slot(Lane.PUBLIC).__aenter__()
    finally:
        await shared.aclose()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"key": ""}, "key"),
        ({"key": "k", "lease": 0}, "lease"),
        ({"key": "k", "limits": ()}, "rate limit"),
    ],
)
def test_bad_arguments_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedisLimiter("redis://127.0.0.1:1", **arguments)


async def test_unreachable_redis_fails_the_request_instead_of_admitting_it() -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{_free_port()}/0", key="nowhere")
    try:
        with pytest.raises(TransportError, match="Redis") as info:
            async with limiter.slot(Lane.CANCEL):
                raise AssertionError("admitted without asking Redis")
        assert isinstance(info.value.__cause__, aioredis.ConnectionError)
        assert info.value.retry_safe  # nothing was sent to the exchange
        assert limiter.in_flight == 0
    finally:
        await limiter.aclose()


# -- closing ------------------------------------------------------------------------------


async def test_aclose_ends_queued_callers_with_client_closed_error(
    redis_url: str, key: str
) -> None:
    limiter = Watched(redis_url, key=key, limits=((1, 5.0),))
    holder = limiter.slot(Lane.PUBLIC)
    await holder.__aenter__()  # the only slot, for five seconds at least
    queued = [asyncio.create_task(limiter.slot(Lane(i % 4)).__aenter__()) for i in range(10)]
    await limiter.wait_enqueued(10)
    started = time.monotonic()
    await limiter.aclose()
    results = await asyncio.wait_for(asyncio.gather(*queued, return_exceptions=True), 5.0)
    assert time.monotonic() - started < 1.0
    assert all(type(result) is ClientClosedError for result in results), results
    with pytest.raises(ClientClosedError):
        await limiter.slot(Lane.CANCEL).__aenter__()
    await holder.__aexit__(None, None, None)  # closed Redis client: the lease frees it
    assert limiter.in_flight == 0
    assert await limiter.headroom() == (0,)  # a closed limiter admits nothing


async def test_closing_a_handle_ends_only_its_own_waiters(redis_url: str, key: str) -> None:
    limiter = Watched(redis_url, key=key, limits=((1, 0.3),))
    mine, theirs = limiter.handle(), limiter.handle()
    spans: list[Span] = []
    try:
        async with limiter.slot(Lane.PUBLIC):
            pass
        ours = [asyncio.create_task(mine.slot(Lane.CANCEL).__aenter__()) for _ in range(3)]
        others = [
            asyncio.create_task(timed_request(theirs, Lane.PUBLIC, 0.0, spans)) for _ in range(2)
        ]
        await limiter.wait_enqueued(5)
        mine.close()
        results = await asyncio.wait_for(asyncio.gather(*ours, return_exceptions=True), 1.0)
        assert all(type(result) is ClientClosedError for result in results), results
        with pytest.raises(ClientClosedError):
            await mine.slot(Lane.CANCEL).__aenter__()
        await asyncio.wait_for(asyncio.gather(*others), 5.0)
        assert len(spans) == 2  # the other client's calls went on through the shared limit
        assert limiter.in_flight == 0
    finally:
        await limiter.aclose()


async def test_redis_failing_under_queued_callers_stays_in_the_error_tree(
    redis_url: str, key: str
) -> None:
    proxy = HoldingProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    limiter = Watched(await proxy.start(), key=key, limits=((1, 0.5),))
    try:
        async with limiter.slot(Lane.PUBLIC):
            pass
        queued = [asyncio.create_task(limiter.slot(Lane.PUBLIC).__aenter__()) for _ in range(3)]
        await limiter.wait_enqueued(3)
        await proxy.aclose()  # Redis is gone before the window frees
        results = await asyncio.wait_for(asyncio.gather(*queued, return_exceptions=True), 10.0)
        for result in results:
            assert isinstance(result, TransportError), result
            assert isinstance(result.__cause__, aioredis.ConnectionError)
            assert result.retry_safe
        with pytest.raises(TransportError):
            await limiter.headroom()
        # A rejection still pauses this process, without raising for Redis.
        assert await limiter.on_rejection(Lane.PUBLIC, None) == pytest.approx(0.5, abs=0.05)
    finally:
        await limiter.aclose()


# -- back-off shared through Redis ---------------------------------------------------------


async def test_a_rejection_pauses_and_lowers_the_limit_for_every_process(
    redis_url: str, key: str
) -> None:
    limits = ((10, 0.5),)
    rejected = RedisLimiter(redis_url, key=key, limits=limits)
    other = RedisLimiter(redis_url, key=key, limits=limits)
    try:
        for index in range(10):
            async with rejected.slot(Lane.PUBLIC):
                pass
            if index == 0:
                oldest = time.time()  # counts until oldest + 0.5
        released = time.time()
        first = await rejected.on_rejection(Lane.PUBLIC, None)
        # Until the oldest of the ten leaves the window (not a few milliseconds).
        assert first == pytest.approx(oldest + 0.5 - released, abs=0.05)
        await rejected.on_rejection(Lane.PUBLIC, None)
        assert rejected.stats.adaptations == 1
        # 90% of what the exchange took: ten counted, two of them refused.
        assert rejected.stats.effective_limits == ((7, 0.5),)
        assert await other.headroom() == (0,)  # paused for every process
        spans: list[Span] = []
        await asyncio.wait_for(timed_request(other, Lane.CANCEL, 0.0, spans), 3.0)
        assert spans[0][0] >= oldest + 0.5
        assert other.stats.effective_limits[0][0] in (7, 8)  # learned from Redis
        assert other.stats.adaptations == 1
        # Once the ten have left, the lowered count holds for everyone (one slot is
        # other's own request; a recovery step of 1 may have come since the pause ended).
        await asyncio.sleep(max(0.0, released + 0.55 - time.time()))
        assert (await other.headroom())[0] in (6, 7)
    finally:
        await rejected.aclose()
        await other.aclose()


async def test_retry_after_is_shared_in_full(redis_url: str, key: str) -> None:
    limits = ((100, 1.0),)
    rejected = RedisLimiter(redis_url, key=key, limits=limits)
    other = RedisLimiter(redis_url, key=key, limits=limits)
    try:
        await other.headroom()
        told = time.time()
        assert await rejected.on_rejection(Lane.PUBLIC, 0.6) == pytest.approx(0.6, abs=0.05)
        spans: list[Span] = []
        await asyncio.wait_for(timed_request(other, Lane.CANCEL, 0.0, spans), 3.0)
    finally:
        await rejected.aclose()
        await other.aclose()
    assert 0.6 <= spans[0][0] - told < 0.6 + 0.2


async def test_simultaneous_rejections_in_several_processes_adapt_once(
    redis_url: str, key: str
) -> None:
    limits = ((20, 1.0),)
    limiters = [RedisLimiter(redis_url, key=key, limits=limits) for _ in range(4)]
    try:
        for _ in range(20):
            async with limiters[0].slot(Lane.PUBLIC):
                pass
        # Four processes told at once: their decisions must not overwrite one another.
        await asyncio.gather(*(limiter.on_rejection(Lane.PUBLIC, None) for limiter in limiters))
        witness = limiters[0]
        await asyncio.sleep(1.0)
        async with witness.slot(Lane.PUBLIC):
            pass
        assert witness.stats.adaptations == 1
        assert witness.stats.effective_limits[0][0] < 20
    finally:
        for limiter in limiters:
            await limiter.aclose()


# -- four processes, one key, against the emulator --------------------------------------

_CLIENT_PROCESS = """
import asyncio, sys
import aiobitstamp
from aiobitstamp._redis_limiter import RedisLimiter

async def main(url, redis_url, key, quota):
    limiter = RedisLimiter(redis_url, key=key, limits=((50, 0.25), (450, 3.0)))
    retry = aiobitstamp.RetryPolicy(max_attempts=1)  # a rejection must surface, not hide
    rejected = 0
    async with aiobitstamp.Client(base_url=url, limiter=limiter, retry=retry,
                                  validate_markets=False) as client:
        remaining = iter(range(quota))

        async def worker():
            nonlocal rejected
            for _ in remaining:
                try:
                    await client.ticker("btcusd")
                except aiobitstamp.RateLimitError:
                    rejected += 1

        await asyncio.gather(*(worker() for _ in range(13)))
    await limiter.aclose()
    print(rejected)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


async def test_four_client_processes_share_the_exchange_limit(redis_url: str, key: str) -> None:
    from aiobitstamp.testing import FakeBitstamp

    from .test_integration import fill, most_in_any_window

    limits = ((50, 0.25), (450, 3.0))
    quota = 500  # per process: 2000 requests in all
    async with FakeBitstamp(rate_limits=limits, record_arrivals=True) as fake:
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _CLIENT_PROCESS,
                fake.url,
                redis_url,
                key,
                str(quota),
                stdout=subprocess.PIPE,
            )
            for _ in range(4)
        ]
        outputs = [await process.communicate() for process in processes]
        assert [process.returncode for process in processes] == [0, 0, 0, 0]
        assert [int(out.decode()) for out, _ in outputs] == [0, 0, 0, 0]
        assert fake.stats.rate_limited == 0
        arrivals = sorted(fake.arrivals)
    assert len(arrivals) == 4 * quota
    for count, seconds in limits:
        assert most_in_any_window(arrivals, seconds) <= count
    assert fill(arrivals, 450, 3.0) >= 0.97
