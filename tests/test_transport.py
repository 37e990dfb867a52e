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
