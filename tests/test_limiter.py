"""The sliding-window limiter, in virtual time: invariant, throughput, lanes, cancellation."""

from __future__ import annotations

import asyncio
import random

import pytest

from aiobitstamp._limiter import Lane, SlidingWindowLimiter, validate_rate_limits

from .virtual_time import run_virtual


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most half-open intervals [start, end) that cover one instant."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    # At equal times, ends (-1) sort first: a slot freed at t may be reused at t.
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak


async def drive(
    limiter: SlidingWindowLimiter, tasks: int, per_task: int, rng: random.Random
) -> list[tuple[float, float]]:
    """Run requests with random latencies; return each one's [admitted, answered) span."""
    loop = asyncio.get_running_loop()
    spans: list[tuple[float, float]] = []

    async def worker() -> None:
        for _ in range(per_task):
            async with limiter.slot(Lane.PUBLIC):
                admitted = loop.time()
                await asyncio.sleep(rng.uniform(0.0, 0.02))
                answered = loop.time()
            spans.append((admitted, answered))

    await asyncio.gather(*(worker() for _ in range(tasks)))
    return spans


def test_no_window_ever_sees_more_than_its_count() -> None:
    limits = ((40, 1.0), (600, 60.0))
    limiter = SlidingWindowLimiter(limits)
    spans = run_virtual(drive(limiter, tasks=50, per_task=40, rng=random.Random(7)))
    assert len(spans) == 2000
    for count, seconds in limits:
        # A request occupies its window from admission until `seconds` after its answer:
        # whatever the network did in between, the exchange saw it inside that span.
        held = [(admitted, answered + seconds) for admitted, answered in spans]
        assert max_overlap(held) <= count
        # Plain arrival counting (admission times) obeys the limit too.
        starts = sorted(admitted for admitted, _ in spans)
        assert max_overlap([(t, t + seconds) for t in starts]) <= count


def test_sustained_throughput_uses_the_tightest_limit() -> None:
    limits = ((40, 1.0), (600, 60.0))
    limiter = SlidingWindowLimiter(limits)
    rng = random.Random(3)

    async def scenario() -> tuple[float, int]:
        loop = asyncio.get_running_loop()
        count = 0

        async def worker() -> None:
            nonlocal count
            while loop.time() < 240.0:
                async with limiter.slot(Lane.PUBLIC):
                    await asyncio.sleep(rng.uniform(0.0, 0.002))
                count += 1

        await asyncio.gather(*(worker() for _ in range(50)))
        return loop.time(), count

    elapsed, count = run_virtual(scenario())
    # 600 per 60 s is tighter than 40 per s: 10 per second sustained.
    allowed = 600 / 60.0 * elapsed
    assert count / allowed >= 0.97
    assert count <= allowed + 600


def test_cancel_lane_jumps_a_public_backlog() -> None:
    limiter = SlidingWindowLimiter(((10, 1.0),))

    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        order: list[str] = []

        async def request(lane: Lane, name: str) -> None:
            async with limiter.slot(lane):
                order.append(name)

        backlog = [asyncio.create_task(request(Lane.PUBLIC, f"p{i}")) for i in range(5000)]
        await asyncio.sleep(0)  # let the backlog queue up (the first 10 go straight out)
        assert order[:10] == [f"p{i}" for i in range(10)]
        queued_at = loop.time()
        cancel = asyncio.create_task(request(Lane.CANCEL, "cancel"))
        place = asyncio.create_task(request(Lane.PLACE, "place"))
        read = asyncio.create_task(request(Lane.PRIVATE_READ, "read"))
        await cancel
        # The cancel went out in the very next free slot: one window after the first burst.
        assert loop.time() - queued_at <= 1.0
        await asyncio.gather(place, read)
        for task in backlog:
            task.cancel()
        await asyncio.gather(*backlog, return_exceptions=True)
        return order

    order = run_virtual(scenario())
    assert order[10:13] == ["cancel", "place", "read"]


def test_fifo_within_a_lane() -> None:
    limiter = SlidingWindowLimiter(((2, 1.0),))

    async def scenario() -> list[int]:
        order: list[int] = []

        async def request(i: int) -> None:
            async with limiter.slot(Lane.PRIVATE_READ):
                order.append(i)

        await asyncio.gather(*(request(i) for i in range(9)))
        return order

    assert run_virtual(scenario()) == list(range(9))


def test_cancelled_waiter_gives_up_its_place_and_no_slot() -> None:
    limiter = SlidingWindowLimiter(((1, 1.0),))

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with limiter.slot(Lane.PUBLIC):
            pass  # holds the only slot until t=1
        doomed = asyncio.create_task(limiter.slot(Lane.PUBLIC).__aenter__())
        admitted_at: list[float] = []

        async def patient() -> None:
            async with limiter.slot(Lane.PUBLIC):
                admitted_at.append(loop.time())

        survivor = asyncio.create_task(patient())
        await asyncio.sleep(0.5)
        doomed.cancel()
        await survivor
        assert admitted_at == [1.0]  # took the slot the cancelled waiter would have had
        assert limiter.in_flight == 0
        assert limiter.stats[Lane.PUBLIC].sent == 2

    run_virtual(scenario())


def test_waiter_cancelled_after_being_granted_hands_the_slot_on() -> None:
    class CancelOnGrant(SlidingWindowLimiter):
        """Cancels a task in the same callback that grants it a slot: the race where a
        waiter is woken and cancelled before it runs."""

        victim: asyncio.Task[None] | None = None

        def _on_timer(self) -> None:
            super()._on_timer()
            if self.victim is not None:
                self.victim.cancel()
                self.victim = None

    limiter = CancelOnGrant(((1, 1.0),))

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with limiter.slot(Lane.PUBLIC):
            pass  # the only slot is held until t=1

        async def first() -> None:
            async with limiter.slot(Lane.PUBLIC):
                raise AssertionError("a cancelled waiter must never run its request")

        admitted_at: list[float] = []

        async def second() -> None:
            async with limiter.slot(Lane.PUBLIC):
                admitted_at.append(loop.time())

        victim = asyncio.create_task(first())
        await asyncio.sleep(0)
        limiter.victim = victim
        other = asyncio.create_task(second())
        results = await asyncio.gather(victim, other, return_exceptions=True)
        assert isinstance(results[0], asyncio.CancelledError)
        assert admitted_at == [1.0]  # the granted slot passed on at once, unused
        assert limiter.in_flight == 0

    run_virtual(scenario())


def test_pause_holds_every_lane() -> None:
    limiter = SlidingWindowLimiter(((100, 1.0),))

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        limiter.pause(2.5)
        async with limiter.slot(Lane.CANCEL):
            return loop.time()

    assert run_virtual(scenario()) == 2.5


def test_headroom_and_stats() -> None:
    limiter = SlidingWindowLimiter(((3, 1.0), (5, 10.0)))

    async def scenario() -> None:
        assert await limiter.headroom() == (3, 5)
        async with limiter.slot(Lane.PUBLIC):
            assert await limiter.headroom() == (2, 4)
        async with limiter.slot(Lane.PUBLIC):
            pass
        assert await limiter.headroom() == (1, 3)
        await asyncio.sleep(1.0)
        assert await limiter.headroom() == (3, 3)
        limiter.record_rejection(Lane.PUBLIC)
        assert limiter.stats[Lane.PUBLIC].sent == 2
        assert limiter.stats[Lane.PUBLIC].rejected == 1

    run_virtual(scenario())


@pytest.mark.parametrize(
    "bad", [(), ((0, 1.0),), ((10, 0),), ((10, -1.0),), ((True, 1.0),), ((1.5, 1.0),)]
)
def test_invalid_limits_refused(bad: tuple[tuple[int, float], ...]) -> None:
    with pytest.raises(ValueError):
        validate_rate_limits(bad)
