"""The total timeout, kept for every request of a transport by one timer (``_deadlines``).

Each test holds answers back on a loopback server until the test lets them go, so what
times out is decided by the deadlines alone, never by a race with a sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import aiobitstamp
from aiobitstamp import (
    AiohttpTransport,
    ClientClosedError,
    Request,
    RequestTimeoutError,
    Timeouts,
    _transport,
)
from aiobitstamp._deadlines import SUPPORTED, Deadlines

needs_uncancel = pytest.mark.skipif(not SUPPORTED, reason="Task.uncancel is Python 3.11+")


class HeldAnswers:
    """A server whose ``/slow`` answers wait for ``release`` and ``/fast`` answer at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.arrival = asyncio.Event()
        self.arrived = 0

    async def slow(self, request: web.Request) -> web.Response:
        self.arrived += 1
        self.arrival.set()
        await self.release.wait()
        return web.json_response({"ok": 1})

    async def fast(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": 1})


@pytest.fixture
async def held() -> AsyncIterator[tuple[HeldAnswers, str]]:
    answers = HeldAnswers()
    app = web.Application()
    app.router.add_route("*", "/slow{tail:.*}", answers.slow)
    app.router.add_route("*", "/fast{tail:.*}", answers.fast)
    async with TestServer(app, host="127.0.0.1") as server:
        yield answers, str(server.make_url("/"))
        answers.release.set()


async def held_request(
    transport: AiohttpTransport, answers: HeldAnswers, url: str
) -> asyncio.Task[Any]:
    """A request to /slow, in a task of its own, once the server holds it."""
    task = asyncio.create_task(transport.send(Request("GET", url + "slow", {}), "/slow"))
    await asyncio.wait_for(answers.arrival.wait(), 5)
    return task


def count_timers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every timer the deadlines arm, as the loop is asked for it."""
    armed: list[Any] = []
    original = Deadlines.start

    def start(self: Deadlines, task: Any) -> Any:
        loop = self._loop
        if not getattr(loop, "_counted", False):
            call_at = loop.call_at

            def counted(when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
                if getattr(callback, "__self__", None) is self:
                    armed.append(when)
                return call_at(when, callback, *args, **kwargs)

            loop.call_at = counted  # type: ignore[method-assign]
            loop._counted = True  # type: ignore[attr-defined]
        return original(self, task)

    monkeypatch.setattr(Deadlines, "start", start)
    return armed


@needs_uncancel
async def test_a_request_past_its_deadline_is_a_timeout_and_may_have_executed(
    held: tuple[HeldAnswers, str],
) -> None:
    answers, url = held
    transport = AiohttpTransport(timeouts=Timeouts(total=0.2))
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        with pytest.raises(RequestTimeoutError) as info:
            await transport.send(Request("GET", url + "slow", {}), "/slow")
        took = loop.time() - started
    finally:
        await transport.aclose()
    assert answers.arrived == 1
    assert not info.value.retry_safe
    assert info.value.path == "/slow"
    assert took >= 0.2  # never before the deadline
    # Not cancelled any more: the task that timed out can go on awaiting.
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


@needs_uncancel
async def test_fast_requests_around_a_slow_one_are_untouched(
    held: tuple[HeldAnswers, str],
) -> None:
    _, url = held
    transport = AiohttpTransport(timeouts=Timeouts(total=0.3))
    try:
        slow = asyncio.create_task(transport.send(Request("GET", url + "slow", {}), "/slow"))
        fast = [await transport.send(Request("GET", url + "fast", {}), "/fast") for _ in range(20)]
        with pytest.raises(RequestTimeoutError):
            await slow
        after = await transport.send(Request("GET", url + "fast", {}), "/fast")
    finally:
        await transport.aclose()
    assert [answer.status for answer in fast] == [200] * 20
    assert after.status == 200


@needs_uncancel
async def test_one_timer_serves_many_requests(
    held: tuple[HeldAnswers, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of the module: not a timer per request. 200 requests, 50 of them at
    once, all answered well within the timeout, arm the timer once."""
    armed = count_timers(monkeypatch)
    _, url = held
    transport = AiohttpTransport(timeouts=Timeouts(total=30.0))
    try:
        for _ in range(150):
            await transport.send(Request("GET", url + "fast", {}), "/fast")
        await asyncio.gather(
            *(transport.send(Request("GET", url + "fast", {}), "/fast") for _ in range(50))
        )
    finally:
        await transport.aclose()
    assert len(armed) == 1


@needs_uncancel
async def test_every_one_of_many_slow_requests_times_out(
    held: tuple[HeldAnswers, str],
) -> None:
    """Deadlines one after another: each expiry arms the timer for the next."""
    answers, url = held
    transport = AiohttpTransport(timeouts=Timeouts(total=0.2))

    async def staggered(index: int) -> BaseException | None:
        for _ in range(index):
            await transport.send(Request("GET", url + "fast", {}), "/fast")
        try:
            await transport.send(Request("GET", url + "slow", {}), "/slow")
        except RequestTimeoutError as error:
            return error
        return None

    try:
        results = await asyncio.gather(*(staggered(index) for index in range(5)))
    finally:
        await transport.aclose()
    assert answers.arrived == 5
    assert all(isinstance(result, RequestTimeoutError) for result in results)


@needs_uncancel
@pytest.mark.parametrize("expired_too", [False, True])
async def test_a_callers_own_cancel_stays_a_cancel(
    held: tuple[HeldAnswers, str], expired_too: bool
) -> None:
    """Alone, or at the moment the deadline expires: the deadline must not swallow it."""
    answers, url = held
    transport = AiohttpTransport(timeouts=Timeouts(total=30.0))
    try:
        task = await held_request(transport, answers, url)
        if expired_too:
            deadlines = transport._deadlines
            assert deadlines is not None
            deadlines._running[0].at = 0.0  # due now
            deadlines._expire()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await transport.aclose()


@needs_uncancel
async def test_close_and_an_expiry_together_end_the_call_as_closed(
    held: tuple[HeldAnswers, str],
) -> None:
    """The client closing wins over the deadline: the call says the client was closed."""
    answers, url = held
    transport = AiohttpTransport(timeouts=Timeouts(total=30.0))
    client = aiobitstamp.Client(base_url=url + "slow", transport=transport, rate_limits=None)
    call = asyncio.create_task(
        client._call("ticker", lambda payload: payload, path={"market_symbol": "btcusd"})
    )
    await asyncio.wait_for(answers.arrival.wait(), 5)
    deadlines = transport._deadlines
    assert deadlines is not None
    deadlines._running[0].at = 0.0
    deadlines._expire()  # the deadline cancels the call ...
    await client.aclose()  # ... and so does the close, before the call runs again
    with pytest.raises(ClientClosedError):
        await call


async def test_without_uncancel_aiohttp_keeps_the_total_timeout(
    held: tuple[HeldAnswers, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.10 has no Task.uncancel: the transport hands the total timeout to aiohttp,
    and a request past it is still a RequestTimeoutError."""
    monkeypatch.setattr(_transport, "_DEADLINES_SUPPORTED", False)
    answers, url = held
    transport = AiohttpTransport(timeouts=Timeouts(total=0.2))
    try:
        with pytest.raises(RequestTimeoutError):
            await transport.send(Request("GET", url + "slow", {}), "/slow")
    finally:
        await transport.aclose()
    assert transport._deadlines is None
    assert answers.arrived == 1


@needs_uncancel
async def test_a_read_that_times_out_is_retried_and_the_call_goes_on() -> None:
    """Through the whole client: the deadline's cancel is taken back, so the pipeline's
    retry runs in the same task and the call returns the answer."""
    from aiobitstamp.testing import FakeBitstamp

    async with FakeBitstamp() as fake:
        fake.inject_fault("ticker/btcusd/", status=200, body=b"{}", delay=5.0)
        transport = AiohttpTransport(timeouts=Timeouts(total=0.3))
        async with aiobitstamp.Client(base_url=fake.url, transport=transport) as client:
            ticker = await client.ticker("btcusd")
            assert ticker.last > 0
            task = asyncio.current_task()
            assert task is not None and task.cancelling() == 0
            await asyncio.sleep(0)  # still a task that can wait
