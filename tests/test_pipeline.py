"""The request pipeline's promises (issue 6): closing is final, every send is counted,
orders are never resent blindly, cancels say what happened, odd setups still work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from yarl import URL

from aiobitstamp import (
    CancelOutcome,
    Client,
    ClientClosedError,
    OrderNotFoundError,
    Request,
    RequestTimeoutError,
    Response,
    RetryPolicy,
    TransportError,
    UnexpectedResponseError,
)
from aiobitstamp._auth import sign_request
from aiobitstamp._client import _signed_host
from aiobitstamp._transport import AiohttpTransport, MockTransport
from aiobitstamp.testing import FakeBitstamp

from .test_client import CREDENTIALS, KEY, SECRET, exchange, fixture, json_response, paths

Handler = Callable[[Request], Response | Awaitable[Response]]

HTML_503 = Response(
    503,
    {"Content-Type": "text/html"},
    b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
)
ORDER = {
    "id": "1234567890123456",
    "datetime": "2026-11-28 10:00:00.000000",
    "type": "0",
    "price": "30000",
    "amount": "0.01000000",
    "client_order_id": "mm-1",
    "market": "BTC/USD",
}


def not_found(request: Request) -> Response:
    return json_response(
        {"status": "error", "reason": "Order not found.", "response_code": "404.002"}, 404
    )


async def yield_to_others(times: int = 20) -> None:
    """Let every ready task run to its next await (no wall-clock waiting)."""
    for _ in range(times):
        await asyncio.sleep(0)


# -- defect 2: aclose() is final ---------------------------------------------------------


async def test_calls_queued_in_the_limiter_end_when_the_client_closes() -> None:
    release = asyncio.Event()

    async def slow(request: Request) -> Response:
        await release.wait()
        return Response(200, {}, fixture("ticker_btcusd.json"))

    transport = exchange({"/api/v2/ticker/btcusd/": slow})  # type: ignore[dict-item]
    client = Client(transport=transport, rate_limits=((1, 3600.0),), validate_markets=False)
    tasks = [asyncio.create_task(client.ticker("btcusd")) for _ in range(50)]
    await yield_to_others()
    sent_before_close = len(transport.requests)
    await client.aclose()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    assert all(isinstance(r, ClientClosedError) for r in results), results
    assert sent_before_close == 1 and len(transport.requests) == 1  # nothing sent after


async def test_a_read_in_flight_is_not_retried_on_a_new_session_after_close() -> None:
    arrived = asyncio.Event()
    hits = 0

    async def hang(request: web.Request) -> web.StreamResponse:
        nonlocal hits
        hits += 1
        arrived.set()
        await asyncio.Event().wait()  # an exchange that never answers
        raise AssertionError("unreachable")

    app = web.Application()
    app.router.add_get("/api/v2/currencies/", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        client = Client(base_url=f"http://127.0.0.1:{runner.addresses[0][1]}")
        task = asyncio.create_task(client.currencies())
        await asyncio.wait_for(arrived.wait(), 5)
        await client.aclose()
        with pytest.raises(ClientClosedError):
            await asyncio.wait_for(task, 5)
        assert hits == 1
        transport = client._transport
        assert isinstance(transport, AiohttpTransport) and transport._session is None
    finally:
        await runner.cleanup()


async def test_new_calls_after_close_fail_at_once_and_name_the_cause() -> None:
    transport = exchange({})
    client = Client(transport=transport)
    await client.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await client.ticker("btcusd")
    assert transport.requests == []


async def test_a_callers_own_cancellation_stays_a_cancellation() -> None:
    release = asyncio.Event()

    async def slow(request: Request) -> Response:
        await release.wait()
        return Response(200, {}, fixture("ticker_btcusd.json"))

    transport = exchange({"/api/v2/ticker/btcusd/": slow})  # type: ignore[dict-item]
    async with Client(transport=transport, validate_markets=False) as client:
        task = asyncio.create_task(client.ticker("btcusd"))
        await yield_to_others()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_an_order_waiting_to_be_reconciled_ends_on_close() -> None:
    def drop(request: Request) -> Response:
        raise TransportError("reset by peer; the request may have executed")

    looked_up = asyncio.Event()

    def lookup(request: Request) -> Response:
        looked_up.set()
        return not_found(request)

    transport = exchange({"/api/v2/buy/btcusd/": drop, "/api/v2/order_status/": lookup})
    client = Client(KEY, SECRET, transport=transport, order_settle_seconds=3600)
    task = asyncio.create_task(client.buy_limit("btcusd", "0.01", "30000"))
    await asyncio.wait_for(looked_up.wait(), 5)
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(task, 5)
    assert paths(transport).count("/api/v2/buy/btcusd/") == 1


# -- defect 4: orders sent more than once ------------------------------------------------


async def test_an_html_503_from_a_proxy_never_resends_an_order() -> None:
    found = {**ORDER, "status": "Open", "amount_remaining": "0.01", "transactions": []}
    transport = exchange(
        {
            "/api/v2/buy/btcusd/": lambda r: HTML_503,
            "/api/v2/order_status/": lambda r: json_response(found),
        }
    )
    async with Client(KEY, SECRET, transport=transport, verify_response_signature=False) as c:
        order = await c.buy_limit("btcusd", "0.01", "30000", client_order_id="mm-1")
    assert paths(transport).count("/api/v2/buy/btcusd/") == 1
    assert order.id == ORDER["id"] and order.client_order_id == "mm-1" and order.reconciled
    lookup = next(r for r in transport.requests if r.url.endswith("/order_status/"))
    assert dict(parse_qsl(lookup.body.decode())) == {"client_order_id": "mm-1"}


async def test_every_order_carries_a_client_order_id_even_when_none_is_given() -> None:
    def accept(request: Request) -> Response:
        sent = dict(parse_qsl(request.body.decode()))
        return json_response({**ORDER, "client_order_id": sent["client_order_id"]})

    transport = exchange({"/api/v2/sell/market/btcusd/": accept})
    async with Client(KEY, SECRET, transport=transport, verify_response_signature=False) as c:
        first = await c.sell_market("btcusd", "0.01")
        second = await c.sell_market("btcusd", "0.01")
    assert first.client_order_id and second.client_order_id
    assert first.client_order_id != second.client_order_id


async def test_aiohttp_does_not_resend_behind_the_limiters_back() -> None:
    # A server that answers the first request on a connection with keep-alive and drops
    # the second: aiohttp would silently send that GET again on a new connection.
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = 0
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            received.append(head.split(b"\r\n")[0])
            if answered:
                writer.close()
                return
            answered += 1
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"
            )
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = AiohttpTransport()
    try:
        url = f"http://127.0.0.1:{port}/api/v2/ticker/"
        assert (await transport.send(Request("GET", url, {}), "ticker/")).status == 200
        with pytest.raises(TransportError):
            await transport.send(Request("GET", url, {}), "ticker/")
        assert len(received) == 2  # one per send we made; none added by aiohttp
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()


# -- defect 5: a cancel reported as "not found" ---------------------------------------------


async def test_a_cancel_whose_answer_was_lost_reports_the_cancel() -> None:
    attempts = iter(["lost", "not found"])

    def cancel(request: Request) -> Response:
        if next(attempts) == "lost":
            raise TransportError("connection reset; the request may have executed")
        return not_found(request)

    status = {"id": ORDER["id"], "status": "Canceled", "market": "BTC/USD", "type": "0",
              "amount_remaining": "0.01", "transactions": []}  # fmt: skip
    transport = exchange(
        {"/api/v2/cancel_order/": cancel, "/api/v2/order_status/": lambda r: json_response(status)}
    )
    policy = RetryPolicy(base_delay=0, max_delay=0)
    async with Client(
        KEY, SECRET, transport=transport, retry=policy, verify_response_signature=False
    ) as client:
        result = await client.cancel_order(ORDER["id"])
    assert result.id == ORDER["id"] and result.outcome is CancelOutcome.CANCELED_BY_RETRY
    assert str(result.amount) == "0.01" and result.price is None  # the answer was lost


async def test_a_cancel_of_an_order_that_filled_meanwhile_still_says_not_found() -> None:
    attempts = iter(["lost", "not found"])

    def cancel(request: Request) -> Response:
        if next(attempts) == "lost":
            raise TransportError("connection reset; the request may have executed")
        return not_found(request)

    status = {"id": ORDER["id"], "status": "Finished", "transactions": []}
    transport = exchange(
        {"/api/v2/cancel_order/": cancel, "/api/v2/order_status/": lambda r: json_response(status)}
    )
    policy = RetryPolicy(base_delay=0, max_delay=0)
    async with Client(
        KEY, SECRET, transport=transport, retry=policy, verify_response_signature=False
    ) as client:
        with pytest.raises(OrderNotFoundError):
            await client.cancel_order(ORDER["id"])


async def test_a_first_not_found_is_reported_without_a_lookup() -> None:
    transport = exchange({"/api/v2/cancel_order/": not_found})
    async with Client(KEY, SECRET, transport=transport) as client:
        with pytest.raises(OrderNotFoundError):
            await client.cancel_order("42")
    assert paths(transport) == ["/api/v2/cancel_order/"]


# -- defect 10: smaller ones ---------------------------------------------------------------


def test_an_ipv6_base_url_signs_the_bracketed_host() -> None:
    assert _signed_host(URL("http://[::1]:8080")) == "[::1]:8080"
    assert _signed_host(URL("https://[2001:db8::1]")) == "[2001:db8::1]"
    assert _signed_host(URL("https://www.bitstamp.net")) == "www.bitstamp.net"


async def test_an_ipv6_client_signs_what_it_sends() -> None:
    seen: list[Request] = []

    def capture(request: Request) -> Response:
        seen.append(request)
        return json_response([])

    transport = MockTransport(capture)
    async with Client(KEY, SECRET, base_url="http://[::1]:8080", transport=transport) as client:
        await client.account_balances()
    request = seen[0]
    expected = sign_request(
        CREDENTIALS,
        "POST",
        "[::1]:8080",
        "/api/v2/account_balances/",
        "",
        b"",
        nonce=request.headers["X-Auth-Nonce"],
        timestamp_ms=int(request.headers["X-Auth-Timestamp"]),
    )
    assert request.headers["X-Auth-Signature"] == expected["X-Auth-Signature"]


async def test_an_oversized_answer_is_refused_not_read_or_retried() -> None:
    hits = 0

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal hits
        hits += 1
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"x" * 1024)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/api/v2/currencies/", huge)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        transport = AiohttpTransport(max_response_bytes=10_000)
        async with Client(base_url=f"http://127.0.0.1:{port}", transport=transport) as client:
            with pytest.raises(UnexpectedResponseError, match="10000-byte limit"):
                await client.currencies()
        assert hits == 1
    finally:
        await runner.cleanup()


async def test_a_timeout_says_how_many_attempts_were_made() -> None:
    def timeout(request: Request) -> Response:
        raise RequestTimeoutError("no complete answer within the timeout")

    transport = exchange({"/api/v2/currencies/": timeout})
    policy = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0)
    async with Client(transport=transport, retry=policy) as client:
        with pytest.raises(RequestTimeoutError, match="after 3 attempts"):
            await client.currencies()


def test_a_client_survives_a_second_event_loop() -> None:
    async def one_call(client: Client, fake_url: str) -> str:
        return str((await client.currencies())[0].currency)

    async def serve_and(body: Callable[[str], Awaitable[str]]) -> str:
        async with FakeBitstamp() as fake:
            return await body(fake.url)

    client_holder: list[Client] = []

    async def first(url: str) -> str:
        client_holder.append(Client(base_url=url))
        return await one_call(client_holder[0], url)

    async def second(url: str) -> str:
        client = client_holder[0]
        client.base_url = url
        client._pipeline._root = url  # the second emulator listens on another port
        try:
            return await one_call(client, url)
        finally:
            await client.aclose()

    assert asyncio.run(serve_and(first))
    assert asyncio.run(serve_and(second))


async def test_the_exact_route_keeps_every_digit_of_json_numbers() -> None:
    payload = (
        b'{"id": 12345678901234567, "amount": 1234567890.12345678,'
        b' "price": 99999999.99999999, "type": 0}'
    )
    answer = Response(200, {"Content-Type": "application/json"}, payload)
    transport = exchange({"/api/v2/cancel_order/": lambda r: answer})
    async with Client(KEY, SECRET, transport=transport, verify_response_signature=False) as c:
        result = await c.cancel_order("12345678901234567")
    assert str(result.amount) == "1234567890.12345678"
    assert str(result.price) == "99999999.99999999"
    assert result.id == "12345678901234567"


@pytest.mark.parametrize(
    "form",
    [
        {"amount": "0.00100000", "price": "50863", "moc_order": "True"},
        {"client_order_id": "abc-1_2.3~x", "id": "123"},
        {"address": "bc1q&evil=1", "memo": "a b+c/d", "name": "Zoë", "empty": ""},
        {"a": "&", "b": "="},  # separators inside values are quoted
        {"only": "%41"},
        {"dots": ".", "dash": "-", "tilde": "~", "under": "_"},  # no letter or digit at all
        {"a": ""},
        {"tab": "a\tb", "newline": "a\nb", "space": "1 2", "plus": "1+2"},
        {"id": "\u0663", "sup": "1\u00b2"},  # digits beyond ASCII
    ],
)
def test_form_body_is_exactly_urlencode(form: dict[str, str]) -> None:
    from urllib.parse import urlencode

    from aiobitstamp._pipeline import form_body

    assert form_body(form) == urlencode(form).encode()
