"""AiohttpTransport over real loopback sockets: errors become aiobitstamp errors."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiobitstamp import AiohttpTransport, Request, RequestTimeoutError, Timeouts, TransportError
from aiobitstamp.testing import FakeBitstamp


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_refused_connection_is_safe_to_retry() -> None:
    transport = AiohttpTransport()
    url = f"http://127.0.0.1:{closed_port()}/api/v2/ticker/btcusd/"
    try:
        with pytest.raises(TransportError, match="could not connect") as info:
            await transport.send(Request("GET", url, {}), "/api/v2/ticker/btcusd/")
    finally:
        await transport.aclose()
    assert info.value.retry_safe  # the exchange never saw it
    assert info.value.path == "/api/v2/ticker/btcusd/"


async def test_timeout_is_a_timeout_error_and_not_safe_to_retry() -> None:
    async with FakeBitstamp() as fake:
        fake.inject_fault("ticker/btcusd/", status=200, body=b"{}", delay=2.0)
        transport = AiohttpTransport(timeouts=Timeouts(total=0.2))
        try:
            with pytest.raises(TimeoutError) as info:
                await transport.send(Request("GET", fake.url + "/api/v2/ticker/btcusd/", {}), "p")
        finally:
            await transport.aclose()
    assert isinstance(info.value, RequestTimeoutError)
    assert not info.value.retry_safe  # it may have executed


async def test_empty_post_goes_out_without_content_type() -> None:
    # aiohttp would add application/octet-stream to an empty POST; Bitstamp answers that
    # with API0020. Look at exactly what arrives on the wire.
    seen: list[tuple[str | None, bytes]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((request.headers.get("Content-Type"), await request.read()))
        return web.json_response([])

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    async with TestServer(app, host="127.0.0.1") as server:
        transport = AiohttpTransport()
        try:
            base = str(server.make_url("/api/v2/account_balances/"))
            await transport.send(Request("POST", base, {}), "p")
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            await transport.send(Request("POST", base, form, b"offset=1"), "p")
        finally:
            await transport.aclose()
    assert seen == [(None, b""), ("application/x-www-form-urlencoded", b"offset=1")]


# -- the connection gate ----------------------------------------------------------------


async def test_gate_admits_up_to_its_size_then_queues_in_order() -> None:
    import asyncio

    from aiobitstamp._transport import _ConnectionGate

    gate = _ConnectionGate(2)
    assert gate.take_now() and gate.take_now()
    assert not gate.take_now()
    order: list[int] = []

    async def wait(index: int) -> None:
        await gate.take()
        order.append(index)

    waiters = [asyncio.create_task(wait(index)) for index in range(3)]
    await asyncio.sleep(0)
    assert order == []
    gate.release()  # handed to the first waiter, not freed
    await asyncio.sleep(0)
    assert order == [0] and not gate.take_now()
    gate.release()
    gate.release()
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]
    assert not gate.take_now()  # three releases went to the three waiters: two hold
    gate.release()
    gate.release()
    assert gate.take_now() and gate.take_now() and not gate.take_now()


async def test_gate_passes_on_a_connection_whose_waiter_was_cancelled() -> None:
    import asyncio

    from aiobitstamp._transport import _ConnectionGate

    gate = _ConnectionGate(1)
    assert gate.take_now()
    cancelled_while_queued = asyncio.create_task(gate.take())
    granted_then_cancelled = asyncio.create_task(gate.take())
    last = asyncio.create_task(gate.take())
    await asyncio.sleep(0)
    cancelled_while_queued.cancel()
    await asyncio.sleep(0)
    gate.release()  # skips the cancelled waiter: granted to the second
    granted_then_cancelled.cancel()  # cancelled before it could run: hands it on
    await asyncio.wait_for(last, 1)
    assert granted_then_cancelled.cancelled() and cancelled_while_queued.cancelled()
    assert not gate.take_now()  # exactly one holder: the last waiter
    gate.release()
    assert gate.take_now()


async def test_requests_beyond_the_pool_wait_before_their_timeout_starts() -> None:
    """A burst twice the pool, each answer taking most of the timeout: none times out,
    because queueing for a connection is not on the request's clock."""
    import asyncio

    async with FakeBitstamp() as fake:
        fake.inject_fault("ticker/btcusd/", status=200, body=b"{}", delay=0.3, times=8)
        transport = AiohttpTransport(timeouts=Timeouts(total=0.5), connection_limit=2)
        url = fake.url + "/api/v2/ticker/btcusd/"
        try:
            answers = await asyncio.gather(
                *(transport.send(Request("GET", url, {}), "p") for _ in range(8))
            )
        finally:
            await transport.aclose()
    assert [answer.status for answer in answers] == [200] * 8
