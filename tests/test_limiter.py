"""The sliding-window limiter, in virtual time: invariant, throughput, lanes, cancellation,
closing, back-off after rate rejections, pacing."""

from __future__ import annotations

import asyncio
import bisect
import math
import random
from collections import deque

import pytest
from aiolimiter import AsyncLimiter

from aiobitstamp import BitstampError, ClientClosedError
from aiobitstamp._limiter import (
    DEFAULT_RATE_LIMITS,
    Backoff,
    BackoffState,
    Lane,
    LimiterHandle,
    SlidingWindowLimiter,
    WindowView,
    pacing_bucket,
    validate_rate_limits,
)

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
        assert dict(limiter.stats).keys() == set(Lane)  # still a mapping of lanes
        assert limiter.stats.effective_limits == ((3, 1.0), (5, 10.0))
        assert limiter.stats.adaptations == 0

    run_virtual(scenario())


def test_headroom_is_zero_while_paused_and_after_close() -> None:
    limiter = SlidingWindowLimiter(((3, 1.0),))

    async def scenario() -> None:
        limiter.pause(2.0)
        assert await limiter.headroom() == (0,)
        await asyncio.sleep(2.0)
        assert await limiter.headroom() == (3,)
        await limiter.aclose()
        assert await limiter.headroom() == (0,)

    run_virtual(scenario())


# -- closing ------------------------------------------------------------------------------


def test_aclose_ends_every_queued_caller_at_once() -> None:
    limiter = SlidingWindowLimiter(((1, 1.0),))

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        sent: list[int] = []

        async def request(i: int) -> None:
            async with limiter.slot(Lane(i % 4)):
                sent.append(i)

        holder = limiter.slot(Lane.PUBLIC)
        await holder.__aenter__()  # the only slot is in flight
        queued = [asyncio.create_task(request(i)) for i in range(50)]
        await asyncio.sleep(0.5)
        closed_at = loop.time()
        await limiter.aclose()
        # (A timeout, in virtual time, so that a limiter that leaves them hanging fails.)
        results = await asyncio.wait_for(asyncio.gather(*queued, return_exceptions=True), 60)
        assert loop.time() == closed_at  # promptly: not one timer had to fire
        assert sent == []
        for result in results:
            assert isinstance(result, ClientClosedError)
            assert isinstance(result, BitstampError) and isinstance(result, RuntimeError)
        assert len({id(result) for result in results}) == 50  # an error object each
        await holder.__aexit__(None, None, None)
        assert limiter.in_flight == 0
        with pytest.raises(ClientClosedError):
            async with limiter.slot(Lane.CANCEL):
                raise AssertionError("admitted by a closed limiter")
        await limiter.aclose()  # idempotent

    run_virtual(scenario())


def test_closing_a_handle_ends_only_its_own_waiters() -> None:
    shared = SlidingWindowLimiter(((1, 1.0),))
    mine, theirs = shared.handle(), shared.handle()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        admitted: list[tuple[str, float]] = []

        async def request(handle_name: str, lane: Lane) -> None:
            handle = mine if handle_name == "mine" else theirs
            async with handle.slot(lane):
                admitted.append((handle_name, loop.time()))

        async with shared.slot(Lane.PUBLIC):
            pass  # the only slot counts until t=1
        ours = [asyncio.create_task(request("mine", Lane.CANCEL)) for _ in range(5)]
        others = [asyncio.create_task(request("theirs", Lane.PUBLIC)) for _ in range(3)]
        await asyncio.sleep(0.5)
        mine.close()
        assert mine.closed and not theirs.closed
        results = await asyncio.wait_for(asyncio.gather(*ours, return_exceptions=True), 60)
        assert loop.time() == 0.5
        assert all(isinstance(result, ClientClosedError) for result in results)
        with pytest.raises(ClientClosedError):
            async with mine.slot(Lane.CANCEL):
                raise AssertionError("admitted through a closed handle")
        await asyncio.gather(*others)
        # The shared limiter went on: the other client's queue, one per second, from t=1.
        assert admitted == [("theirs", 1.0), ("theirs", 2.0), ("theirs", 3.0)]
        assert shared.in_flight == 0
        mine.close()  # idempotent

    run_virtual(scenario())


def test_handle_closed_as_its_waiter_is_granted_hands_the_slot_on() -> None:
    class CloseOnGrant(SlidingWindowLimiter):
        doomed_handle: LimiterHandle | None = None

        def _on_timer(self) -> None:
            super()._on_timer()
            if self.doomed_handle is not None:
                self.doomed_handle.close()

    limiter = CloseOnGrant(((1, 1.0),))
    doomed, other = limiter.handle(), limiter.handle()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with limiter.slot(Lane.PUBLIC):
            pass

        async def never() -> None:
            async with doomed.slot(Lane.CANCEL):
                raise AssertionError("a closed client's request must not be sent")

        admitted_at: list[float] = []

        async def survivor() -> None:
            async with other.slot(Lane.PUBLIC):
                admitted_at.append(loop.time())

        victim = asyncio.create_task(never())
        await asyncio.sleep(0)
        limiter.doomed_handle = doomed
        results = await asyncio.gather(victim, survivor(), return_exceptions=True)
        assert isinstance(results[0], ClientClosedError)
        assert admitted_at == [1.0]  # the slot granted to the closed handle passed on unused
        assert limiter.in_flight == 0
        assert limiter.stats[Lane.CANCEL].sent == 0

    run_virtual(scenario())


# -- back-off after a rate rejection ----------------------------------------------------------


def test_retry_after_is_honoured_in_full() -> None:
    limiter = SlidingWindowLimiter(((400, 1.0),))

    async def scenario() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        async with limiter.slot(Lane.PUBLIC):
            pass  # our only request leaves the window at t=1
        pause = await limiter.on_rejection(Lane.PUBLIC, 30.0)
        async with limiter.slot(Lane.CANCEL):
            return pause, loop.time()

    assert run_virtual(scenario()) == (30.0, 30.0)


def test_without_retry_after_the_pause_lasts_until_the_window_frees() -> None:
    limiter = SlidingWindowLimiter(((400, 1.0),))

    async def scenario() -> tuple[float, float]:
        loop = asyncio.get_running_loop()

        async def request() -> None:
            async with limiter.slot(Lane.PUBLIC):
                await asyncio.sleep(0.01)

        await asyncio.gather(*(request() for _ in range(400)))  # answered at t=0.01
        pause = await limiter.on_rejection(Lane.PUBLIC, None)
        async with limiter.slot(Lane.CANCEL):  # every lane waits
            return pause, loop.time()

    pause, admitted = run_virtual(scenario())
    # The oldest of the 400 leaves our window at 0.01 + 1.0: the exchange's by then.
    assert pause == pytest.approx(1.0)
    assert admitted == pytest.approx(1.01)


def test_the_pause_is_never_a_few_milliseconds() -> None:
    limiter = SlidingWindowLimiter(((400, 1.0),))

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        while loop.time() < 2.0:  # a steady stream: the oldest always leaves very soon
            async with limiter.slot(Lane.PUBLIC):
                await asyncio.sleep(0.004)
        return await limiter.on_rejection(Lane.PUBLIC, None)

    assert run_virtual(scenario()) == pytest.approx(0.1)


def view(seconds: float, effective: int, counted: int, frees_at: float | None) -> WindowView:
    return WindowView(effective, seconds, effective, counted, frees_at)


def test_two_rejections_within_the_short_window_lower_the_binding_window() -> None:
    backoff = Backoff()
    windows = [view(1.0, 400, 300, 10.5), view(600.0, 10_000, 4000, 10.2)]
    first = backoff.decide(10.0, windows, BackoffState(), retry_after=None)
    assert not first.adapted and first.effective == (400, 10_000)
    assert first.binding == 0 and first.pause == pytest.approx(0.5)
    assert first.state.last_rejection == 10.0

    later = backoff.decide(11.5, windows, first.state, retry_after=None)
    assert not later.adapted  # 1.5 s apart: not within one short window

    windows = [WindowView(400, 1.0, 400, 300, 10.5, rejected=2), windows[1]]
    second = backoff.decide(10.3, windows, first.state, retry_after=None)
    assert second.adapted
    # 90% of what the exchange took of ours: 300 counted, 2 of them refused.
    assert second.effective == (268, 10_000)
    assert second.state.quiet_until == pytest.approx(10.3 + 1.0)
    assert second.state.round_start == second.state.quiet_until

    # Rejections of requests sent under the old limits do not count again.
    quiet = backoff.decide(10.4, windows, second.state, retry_after=None)
    quieter = backoff.decide(10.5, windows, quiet.state, retry_after=None)
    assert not quiet.adapted and not quieter.adapted


def test_a_refused_round_moves_the_blame_to_the_longer_window() -> None:
    backoff = Backoff()
    # After an adaptation, the next round: 40 answers, every one of them refused.
    state = BackoffState(quiet_until=20.0, round_start=20.0, round_released=40, round_rejected=39)
    windows = [
        WindowView(400, 1.0, 200, 40, 21.0, rejected=40),
        WindowView(10_000, 600.0, 10_000, 5040, 600.0, rejected=80),
    ]
    decision = backoff.decide(20.1, windows, state, retry_after=None)
    assert decision.binding == 1
    assert decision.pause == pytest.approx(600.0 - 20.1)  # until our oldest leaves it
    assert decision.state.last_rejection == 20.1
    second = backoff.decide(20.11, windows, decision.state, retry_after=None)
    assert second.adapted and second.binding == 1
    assert second.effective == (200, math.floor(0.9 * (5040 - 80)))
    assert second.state.escalation == 1


def test_with_nothing_of_ours_in_the_window_the_pause_is_one_window() -> None:
    decision = Backoff().decide(
        5.0, [view(1.0, 400, 0, None), view(600.0, 10_000, 0, None)], BackoffState(),
        retry_after=None,
    )  # fmt: skip
    assert decision.binding is None and decision.pause == 1.0


def test_lowered_limits_recover_slowly_after_the_pause() -> None:
    limiter = SlidingWindowLimiter(((400, 1.0), (10_000, 600.0)))

    async def scenario() -> list[tuple[int, ...]]:
        async def request() -> None:
            async with limiter.slot(Lane.PUBLIC):
                await asyncio.sleep(0.01)

        await asyncio.gather(*(request() for _ in range(400)))
        await limiter.on_rejection(Lane.PUBLIC, None)
        pause = await limiter.on_rejection(Lane.PUBLIC, None)
        assert limiter.stats.adaptations == 1
        seen = [tuple(count for count, _ in limiter.stats.effective_limits)]
        await asyncio.sleep(pause)  # recovery starts when the pause ends
        for _ in range(12):
            seen.append(tuple(count for count, _ in limiter.stats.effective_limits))
            await asyncio.sleep(1.0)
        await asyncio.sleep(600.0)
        seen.append(tuple(count for count, _ in limiter.stats.effective_limits))
        return seen

    seen = run_virtual(scenario())
    lowered = math.floor(0.9 * (400 - 2))
    assert seen[0] == (lowered, 10_000)
    assert seen[1] == (lowered, 10_000)  # not during the pause
    # 2% of 400 per second without rejections, up to the configured 400.
    assert [one for one, _ in seen[1:13]] == [min(400, lowered + 8 * k) for k in range(12)]
    assert seen[-1] == (400, 10_000)


class Exchange:
    """The exchange as a strict sliding window over arrivals, in virtual time."""

    def __init__(self, limits: tuple[tuple[int, float], ...], *, refusals_count: bool) -> None:
        self.limits = limits
        self.arrivals = [deque[float]() for _ in limits]
        self.refusals_count = refusals_count  # does a refused arrival use up the window?

    def arrive(self, now: float) -> bool:
        accepted = True
        for (count, seconds), arrivals in zip(self.limits, self.arrivals, strict=True):
            while arrivals and arrivals[0] <= now - seconds:
                arrivals.popleft()
            accepted = accepted and len(arrivals) < count
        if accepted or self.refusals_count:
            for arrivals in self.arrivals:
                arrivals.append(now)
        return accepted


def most_allowed(limits: tuple[tuple[int, float], ...], duration: float) -> int:
    """The most arrivals the limits accept in [0, duration]: each as early as allowed."""
    admitted: list[float] = []
    now = 0.0
    while True:
        for count, seconds in limits:
            if len(admitted) >= count:
                now = max(now, admitted[-count] + seconds)
        if now > duration:
            return len(admitted)
        admitted.append(now)


def most_in_any_window(times: list[float], seconds: float) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, start + seconds) - i for i, start in enumerate(ordered)),
        default=0,
    )


async def against(
    limiter: SlidingWindowLimiter, exchange: Exchange, duration: float
) -> tuple[list[float], list[float]]:
    """64 callers with endless demand, 10 ms round trips, no retries: arrival times of the
    requests the exchange accepted and of those it refused."""
    loop = asyncio.get_running_loop()
    accepted: list[float] = []
    refused: list[float] = []

    async def caller() -> None:
        while loop.time() < duration:
            async with limiter.slot(Lane.PUBLIC):
                await asyncio.sleep(0.005)
                arrival = loop.time()
                ok = exchange.arrive(arrival)
                await asyncio.sleep(0.005)
            if ok:
                accepted.append(arrival)
            else:
                refused.append(arrival)
                await limiter.on_rejection(Lane.PUBLIC, None)

    await asyncio.gather(*(caller() for _ in range(64)))
    return accepted, refused


@pytest.mark.parametrize("refusals_count", [False, True])
def test_an_exchange_allowing_half_sees_few_rejections(refusals_count: bool) -> None:
    # Another process on the key takes half of both windows: the exchange lets this
    # client have 200 per second and 5,000 per 10 minutes, against the 400 and 10,000 it
    # was configured with. Before the back-off, 49% of its requests were refused.
    exchange_limits = ((200, 1.0), (5_000, 600.0))
    exchange = Exchange(exchange_limits, refusals_count=refusals_count)
    limiter = SlidingWindowLimiter(DEFAULT_RATE_LIMITS)
    duration = 1800.0
    accepted, refused = run_virtual(against(limiter, exchange, duration))

    warm = 60.0
    late_refused = sum(t >= warm for t in refused)
    late_sent = late_refused + sum(t >= warm for t in accepted)
    assert late_refused / late_sent < 0.02
    assert len(refused) / (len(refused) + len(accepted)) < 0.05
    # Refusals never eat more than a tenth of any 10-minute budget (1% once warm).
    assert most_in_any_window(refused, 600.0) <= 500
    assert most_in_any_window([t for t in refused if t >= 600.0], 600.0) <= 50
    # ...and the exchange's allowance is used.
    assert len(accepted) >= 0.85 * most_allowed(exchange_limits, duration)
    assert limiter.stats.adaptations >= 1
    (_, _), (long, _) = limiter.stats.effective_limits
    assert long < 10_000  # it learned the 10-minute budget is smaller


def test_a_lower_short_limit_does_not_cost_the_ten_minute_budget() -> None:
    # Only the 1 s limit is halved: lowering the 10-minute window would be a loss for hours.
    exchange_limits = ((200, 1.0), (10_000, 600.0))
    exchange = Exchange(exchange_limits, refusals_count=True)
    limiter = SlidingWindowLimiter(DEFAULT_RATE_LIMITS)
    accepted, refused = run_virtual(against(limiter, exchange, 1200.0))
    assert len(refused) / (len(refused) + len(accepted)) < 0.02
    assert len(accepted) >= 0.95 * most_allowed(exchange_limits, 1200.0)
    assert limiter.stats.effective_limits[1] == (10_000, 600.0)


def test_backoff_arguments_are_checked() -> None:
    for bad in ({"decrease": 1.0}, {"decrease": 0.0}, {"recovery": 0.0}, {"min_pause": 2.0}):
        with pytest.raises(ValueError):
            Backoff(**bad)


# -- pacing -------------------------------------------------------------------------------


async def admit_backlog(limiter: SlidingWindowLimiter, backlog: int, until: float) -> list[float]:
    """Admission times of a backlog queued at once, each request taking 10 ms."""
    loop = asyncio.get_running_loop()
    admitted: list[float] = []

    async def request() -> None:
        async with limiter.slot(Lane.PUBLIC):
            admitted.append(loop.time())
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(request()) for _ in range(backlog)]
    await asyncio.sleep(until)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert limiter.in_flight == 0
    return admitted


def test_pacing_turns_a_backlog_into_an_even_flow_without_losing_throughput() -> None:
    bursty = run_virtual(admit_backlog(SlidingWindowLimiter(DEFAULT_RATE_LIMITS), 4000, 5.0))
    paced_limiter = SlidingWindowLimiter(DEFAULT_RATE_LIMITS, pacing=True)
    paced = run_virtual(admit_backlog(paced_limiter, 4000, 5.0))
    assert most_in_any_window(bursty, 0.05) == 400  # a window's worth at once
    # A burst of 20 (5% of 400), then one every 2.5 ms.
    assert most_in_any_window(paced, 0.05) <= 20 + 20 + 1
    # The windows still hold...
    assert most_in_any_window(paced, 1.0) <= 400
    # ...and no throughput is lost: as many admitted over 5 s, within a few.
    assert len(paced) >= 0.97 * len(bursty)
    assert paced_limiter.stats[Lane.PUBLIC].sent == len(paced)


def test_pacing_bucket_is_sized_from_the_shortest_window() -> None:
    bucket = pacing_bucket(((10_000, 600.0), (400, 1.0)))
    assert bucket.max_rate == 20
    assert bucket.max_rate / bucket.time_period == pytest.approx(400.0)


def test_a_cancel_still_jumps_a_paced_backlog() -> None:
    limiter = SlidingWindowLimiter(DEFAULT_RATE_LIMITS, pacing=True)

    async def scenario() -> tuple[list[str], float]:
        loop = asyncio.get_running_loop()
        order: list[str] = []

        async def request(lane: Lane, name: str) -> None:
            async with limiter.slot(lane):
                order.append(name)

        backlog = [asyncio.create_task(request(Lane.PUBLIC, "public")) for _ in range(4000)]
        await asyncio.sleep(0.5)
        queued_at, ahead = loop.time(), len(order)
        await request(Lane.CANCEL, "cancel")
        waited = loop.time() - queued_at
        for task in backlog:
            task.cancel()
        await asyncio.gather(*backlog, return_exceptions=True)
        return order[ahead:], waited

    after, waited = run_virtual(scenario())
    # Only a request granted at the very instant the cancel arrived may go before it.
    assert after.index("cancel") <= 1
    assert waited <= 1 / 400 + 1e-9  # the next token


def test_cancelled_while_waiting_for_a_token_takes_no_slot() -> None:
    bucket = AsyncLimiter(1, 1.0)  # one token a second, shared with someone else

    class TokenThief(SlidingWindowLimiter):
        """Someone else takes the token in the very callback that grants our waiter its
        slot, so the waiter has to wait in the bucket."""

        steal = False

        def _on_timer(self) -> None:
            super()._on_timer()
            if self.steal:
                self.steal = False
                taking = bucket.acquire()
                with pytest.raises(StopIteration):
                    taking.send(None)  # there is capacity: it completes at once

    limiter = TokenThief(((1, 1.0),), pacing=bucket)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with limiter.slot(Lane.PUBLIC):
            pass  # took the bucket's token; the only slot counts until t=1
        limiter.steal = True
        doomed = asyncio.create_task(limiter.slot(Lane.PUBLIC).__aenter__())
        await asyncio.sleep(1.5)
        assert limiter.in_flight == 1  # granted its window slot at t=1, waiting for a token
        doomed.cancel()
        await asyncio.gather(doomed, return_exceptions=True)
        assert limiter.in_flight == 0
        assert limiter.stats[Lane.PUBLIC].sent == 1
        admitted_at: list[float] = []

        async def request() -> None:
            async with limiter.slot(Lane.PUBLIC):
                admitted_at.append(loop.time())

        # A slot lost to the cancelled waiter would block the only slot for good.
        await asyncio.wait_for(request(), 10.0)
        # The next token comes at t=2; the limiter, which cannot see the bucket's level,
        # looks again one token interval after it found none (t=1.5).
        assert 2.0 <= admitted_at[0] <= 2.5
        assert limiter.in_flight == 0

    run_virtual(scenario())


@pytest.mark.parametrize(
    "bad", [(), ((0, 1.0),), ((10, 0),), ((10, -1.0),), ((True, 1.0),), ((1.5, 1.0),)]
)
def test_invalid_limits_refused(bad: tuple[tuple[int, float], ...]) -> None:
    with pytest.raises(ValueError):
        validate_rate_limits(bad)


def test_admission_without_a_coroutine_keeps_every_rule_of_the_async_one() -> None:
    """enter_now() is the pipeline's fast path: it admits only what `async with` would
    admit at once, takes nothing when it says no, and its releases count in the windows."""
    limiter = SlidingWindowLimiter(((3, 1.0), (5, 10.0)))
    paced = SlidingWindowLimiter(((3, 1.0),), pacing=True)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        slot = limiter.slot(Lane.PUBLIC)
        assert [slot.enter_now(loop) for _ in range(4)] == [True, True, True, False]
        assert limiter.in_flight == 3
        for _ in range(3):
            slot.exit_now(loop)
        assert not slot.enter_now(loop)  # the answers count in the 1 s window for 1 s
        # A waiter queued meanwhile keeps its place: no one jumps it without a coroutine.
        waiter = asyncio.create_task(slot.__aenter__())
        await asyncio.sleep(0)
        await asyncio.sleep(1.0)
        await waiter  # admitted first, once the 1 s window frees
        assert limiter.in_flight == 1
        assert slot.enter_now(loop)  # then room: 2 in flight, 3 answered in the 10 s window
        assert not slot.enter_now(loop)  # the 10 s window is full: 3 + 2 = 5
        await slot.__aexit__(None, None, None)
        slot.exit_now(loop)
        # Nothing more until the first answers leave the 10 s window.
        start = loop.time()
        admitted = 0
        while loop.time() - start < 8.5:
            if slot.enter_now(loop):
                admitted += 1
                slot.exit_now(loop)
            await asyncio.sleep(0.5)
        assert admitted == 0 and limiter.stats[Lane.PUBLIC].sent == 5
        await asyncio.sleep(1.0)
        assert slot.enter_now(loop)  # t > 10 s: the first three answers have left it
        assert paced.slot(Lane.PUBLIC).enter_now(loop) is False  # a token is awaited
        assert paced.in_flight == 0

    run_virtual(scenario())
