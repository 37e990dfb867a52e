"""Client behaviour over MockTransport: lifecycle, signing on the wire, errors, retries."""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Callable
from decimal import Decimal
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qsl

import orjson
import pytest

from aiobitstamp import (
    Client,
    ClientClosedError,
    Credentials,
    ExchangeUnavailableError,
    InvalidParameterError,
    Lane,
    MissingCredentialsError,
    MockTransport,
    OrderOptions,
    RateLimitError,
    Request,
    RequestRecord,
    RequestTimeoutError,
    Response,
    ResponseSignatureError,
    RetryPolicy,
    SlidingWindowLimiter,
    UnknownMarketError,
)
from aiobitstamp._auth import response_signature, sign_request

from .virtual_time import run_virtual

DATA = Path(__file__).parent / "data"
KEY, SECRET = "testkey123", "test-secret-value-do-not-leak"
CREDENTIALS = Credentials(KEY, SECRET)
BASE = "https://www.bitstamp.net"


def json_response(payload: object, status: int = 200, **headers: str) -> Response:
    return Response(status, {"Content-Type": "application/json", **headers}, orjson.dumps(payload))


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def signed_ok(request: Request, payload: object) -> Response:
    """A private answer signed the way the exchange signs it."""
    body = orjson.dumps(payload)
    signature = response_signature(
        CREDENTIALS,
        request.headers["X-Auth-Nonce"],
        request.headers["X-Auth-Timestamp"],
        "application/json",
        body,
    )
    headers = {"Content-Type": "application/json", "X-Server-Auth-Signature": signature}
    return Response(200, headers, body)


def exchange(routes: dict[str, Callable[[Request], Response]]) -> MockTransport:
    """A MockTransport that routes by path and serves markets/ from the recorded file."""

    def handle(request: Request) -> Response:
        path = request.url.split("?")[0].removeprefix(BASE)
        if path == "/api/v2/markets/":
            return Response(200, {"Content-Type": "application/json"}, fixture("markets.json"))
        return routes[path](request)

    return MockTransport(handle)


def paths(transport: MockTransport) -> list[str]:
    return [r.url.removeprefix(BASE) for r in transport.requests]


async def test_public_ticker_needs_no_keys() -> None:
    transport = exchange(
        {"/api/v2/ticker/btcusd/": lambda r: Response(200, {}, fixture("ticker_btcusd.json"))}
    )
    async with Client(transport=transport) as client:
        ticker = await client.ticker("btcusd")
    assert ticker.last == Decimal("37991")
    assert ticker.bid == Decimal("37990")
    assert "X-Auth" not in transport.requests[-1].headers
    assert transport.requests[-1].method == "GET"


async def test_private_call_without_keys_sends_nothing() -> None:
    transport = exchange({})
    async with Client(transport=transport) as client:
        with pytest.raises(MissingCredentialsError, match="private"):
            await client.account_balances()
    assert transport.requests == []


async def test_signed_empty_post_has_no_content_type_and_verifies() -> None:
    def balances(request: Request) -> Response:
        return signed_ok(request, orjson.loads(fixture("account_balances.json")))

    transport = exchange({"/api/v2/account_balances/": balances})
    async with Client(KEY, SECRET, transport=transport, require_response_signature=True) as c:
        result = await c.account_balances()
    request = transport.requests[-1]
    assert request.method == "POST"
    assert request.body == b""
    assert "Content-Type" not in request.headers
    assert len(request.headers["X-Auth-Nonce"]) == 36
    # The signature on the wire is exactly what the documented formula gives.
    expected = sign_request(
        CREDENTIALS,
        "POST",
        "www.bitstamp.net",
        "/api/v2/account_balances/",
        "",
        b"",
        nonce=request.headers["X-Auth-Nonce"],
        timestamp_ms=int(request.headers["X-Auth-Timestamp"]),
    )
    assert request.headers["X-Auth-Signature"] == expected["X-Auth-Signature"]
    assert abs(int(request.headers["X-Auth-Timestamp"]) / 1000 - time.time()) < 5
    assert all(isinstance(b.total, Decimal) for b in result)


async def test_order_body_is_signed_byte_for_byte() -> None:
    seen: list[Request] = []

    def buy(request: Request) -> Response:
        seen.append(request)
        return signed_ok(request, orjson.loads(fixture("order_placed_buy_limit.json")))

    transport = exchange({"/api/v2/buy/btcusd/": buy})
    async with Client(KEY, SECRET, transport=transport) as client:
        placed = await client.buy_limit(
            "btcusd", Decimal("0.01000000"), "37500", client_order_id="my-bot-0001"
        )
    request = seen[0]
    assert dict(parse_qsl(request.body.decode())) == {
        "amount": "0.01000000",
        "price": "37500",
        "client_order_id": "my-bot-0001",
    }
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    expected = sign_request(
        CREDENTIALS,
        "POST",
        "www.bitstamp.net",
        "/api/v2/buy/btcusd/",
        "",
        request.body,
        nonce=request.headers["X-Auth-Nonce"],
        timestamp_ms=int(request.headers["X-Auth-Timestamp"]),
    )
    assert request.headers["X-Auth-Signature"] == expected["X-Auth-Signature"]
    assert placed.id == "1713462436651008"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"amount": 0.01, "price": "37500"}, "floats are inexact"),
        ({"amount": "0.000000001", "price": "37500"}, "more than 8 decimal places"),
        ({"amount": "0.01", "price": "37500.5"}, "more than 0 decimal places"),
        ({"amount": "NaN", "price": "37500"}, "finite"),
        ({"amount": "-1", "price": "37500"}, "greater than zero"),
        ({"amount": "0.0001", "price": "37500"}, "below btcusd's minimum"),
        ({"amount": "0.01", "price": "37500", "options": "post_only"}, "must be an OrderOptions"),
        (
            {"amount": "0.01", "price": "37500", "options": OrderOptions(limit_price="3")},
            "limit_price of a buy must be above",
        ),
    ],
)
async def test_bad_orders_never_leave(kwargs: dict[str, object], fragment: str) -> None:
    transport = exchange({})
    async with Client(KEY, SECRET, transport=transport) as client:
        with pytest.raises(InvalidParameterError, match=fragment):
            await client.buy_limit("btcusd", **kwargs)  # type: ignore[arg-type]
    assert "/api/v2/buy/btcusd/" not in paths(transport)


async def test_missing_price_is_a_type_error_before_sending() -> None:
    async with Client(KEY, SECRET, transport=exchange({})) as client:
        with pytest.raises(TypeError):
            await client.buy_limit("btcusd", "0.01")  # type: ignore[call-arg]


async def test_unknown_pair_is_refused_before_sending() -> None:
    transport = exchange({})
    async with Client(transport=transport) as client:
        with pytest.raises(UnknownMarketError, match="btcxyz"):
            await client.ticker("btcxyz")
        with pytest.raises(InvalidParameterError):
            await client.ticker("BTC/USD")
    assert paths(transport) == ["/api/v2/markets/"]  # the catalogue, loaded once


async def test_markets_are_loaded_once_for_many_concurrent_calls() -> None:
    transport = exchange(
        {"/api/v2/ticker/btcusd/": lambda r: Response(200, {}, fixture("ticker_btcusd.json"))}
    )
    async with Client(transport=transport) as client:
        await asyncio.gather(*(client.ticker("btcusd") for _ in range(20)))
    assert paths(transport).count("/api/v2/markets/") == 1


async def test_closed_client_refuses_reuse() -> None:
    client = Client(transport=exchange({}))
    async with client:
        pass
    with pytest.raises(ClientClosedError, match="closed"):
        await client.ticker("btcusd")
    with pytest.raises(ClientClosedError):
        async with client:
            pass
    await client.aclose()  # idempotent


async def test_unclosed_client_warns() -> None:
    client = Client(transport=exchange({}))
    await client.__aenter__()
    with pytest.warns(ResourceWarning, match="unclosed"):
        del client
        gc.collect()


def test_repr_hides_secret() -> None:
    client = Client(KEY, SECRET, transport=exchange({}))
    assert SECRET not in repr(client)
    assert KEY not in repr(client)  # only a prefix of the key is shown
    assert "test" in repr(client)


async def test_response_signature_mismatch_is_refused() -> None:
    def tampered(request: Request) -> Response:
        good = signed_ok(
            request, [{"currency": "usd", "total": "1", "available": "1", "reserved": "0"}]
        )
        return Response(good.status, good.headers, good.body.replace(b'"1"', b'"9"', 1))

    routes = {"/api/v2/account_balances/": tampered}
    async with Client(KEY, SECRET, transport=exchange(routes), verify_response_signature=True) as c:
        with pytest.raises(ResponseSignatureError):
            await c.account_balances()
    # Off by default, as the fact sheet recommends.
    async with Client(KEY, SECRET, transport=exchange(routes)) as c:
        assert (await c.account_balances())[0].total == Decimal("9")


async def test_missing_response_signature_only_fails_when_required() -> None:
    payload = [{"currency": "usd", "total": "1", "available": "1", "reserved": "0"}]
    routes = {"/api/v2/account_balances/": lambda r: json_response(payload)}
    async with Client(KEY, SECRET, transport=exchange(routes)) as client:
        assert (await client.account_balances())[0].total == Decimal("1")
    strict = Client(KEY, SECRET, transport=exchange(routes), require_response_signature=True)
    async with strict:
        with pytest.raises(ResponseSignatureError, match="required"):
            await strict.account_balances()


def test_rate_limit_rejections_are_retried_after_retry_after() -> None:
    answers = iter(
        [
            json_response(
                {
                    "status": "error",
                    "reason": "Request rejected due to exceeded rate limit.",
                    "response_code": "400.002",
                },
                status=400,
                **{"Retry-After": "2"},
            ),
            Response(200, {}, fixture("ticker_btcusd.json")),
        ]
    )
    records: list[RequestRecord] = []

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        transport = exchange({"/api/v2/ticker/btcusd/": lambda r: next(answers)})
        client = Client(transport=transport, validate_markets=False, on_request=records.append)
        async with client:
            start = loop.time()
            ticker = await client.ticker("btcusd")
            assert ticker.last == Decimal("37991")
            stats = client.rate_limit_stats[Lane.PUBLIC]
            assert stats.rejected == 1 and stats.sent == 2
            return loop.time() - start

    waited = run_virtual(scenario())
    assert waited >= 2.0  # the exchange's Retry-After was honoured before resending
    assert [r.status for r in records] == [400, 200]
    assert isinstance(records[0].error, RateLimitError)


def test_rate_limit_error_after_retries_are_exhausted() -> None:
    def always_429(request: Request) -> Response:
        return Response(429, {"Retry-After": "1"}, b"Too Many Requests")

    async def scenario() -> RateLimitError:
        client = Client(
            transport=exchange({"/api/v2/ticker/btcusd/": always_429}),
            validate_markets=False,
            retry=RetryPolicy(max_attempts=3),
        )
        async with client:
            with pytest.raises(RateLimitError) as info:
                await client.ticker("btcusd")
        return info.value

    error = run_virtual(scenario())
    assert error.retry_after == 1.0 or error.retry_after is None
    assert error.status == 429


async def test_clock_skew_is_measured_corrected_and_retried_once() -> None:
    server_ahead = 1000.0
    calls: list[int] = []

    def balances(request: Request) -> Response:
        calls.append(int(request.headers["X-Auth-Timestamp"]))
        server_now = time.time() + server_ahead
        if abs(int(request.headers["X-Auth-Timestamp"]) / 1000 - server_now) > 150:
            return json_response(
                {
                    "status": "error",
                    "reason": "X-Auth-Timestamp header is out of boundaries",
                    "code": "API0017",
                },
                status=403,
                Date=formatdate(server_now, usegmt=True),
            )
        return signed_ok(request, [])

    transport = exchange({"/api/v2/account_balances/": balances})
    async with Client(KEY, SECRET, transport=transport) as client:
        assert await client.account_balances() == []
        assert 998 <= client.clock_offset <= 1002
        await client.account_balances()  # later requests use the corrected clock
    assert len(calls) == 3
    assert abs(calls[1] / 1000 - (time.time() + server_ahead)) < 5


async def test_html_502_names_the_status() -> None:
    def bad_gateway(request: Request) -> Response:
        return Response(502, {"Content-Type": "text/html"}, b"<html><h1>502 Bad Gateway</h1>")

    transport = exchange({"/api/v2/ticker/btcusd/": bad_gateway})
    async with Client(transport=transport, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ExchangeUnavailableError, match="HTTP 502") as info:
            await client.ticker("btcusd")
    assert info.value.path == "/api/v2/ticker/btcusd/"
    assert info.value.method == "GET"


async def test_reads_are_retried_after_a_timeout_but_orders_are_looked_up_first() -> None:
    def timeout(request: Request) -> Response:
        raise RequestTimeoutError("timed out", method=request.method, path="x")

    def not_found(request: Request) -> Response:
        return json_response(
            {"status": "error", "reason": "Order not found.", "response_code": "404.002"}, 404
        )

    flaky = iter([timeout, lambda r: Response(200, {}, fixture("ticker_btcusd.json"))])
    transport = exchange(
        {
            "/api/v2/ticker/btcusd/": lambda r: next(flaky)(r),
            "/api/v2/sell/btcusd/": timeout,
            "/api/v2/order_status/": not_found,
        }
    )
    policy = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, rng=random.Random(1))
    async with Client(
        KEY, SECRET, transport=transport, retry=policy, order_settle_seconds=0
    ) as client:
        assert (await client.ticker("btcusd")).last == Decimal("37991")
        with pytest.raises(RequestTimeoutError, match="so nothing was placed") as caught:
            await client.sell_limit("btcusd", "0.01", "40000", client_order_id="mine-1")
    assert caught.value.retry_safe
    sent = paths(transport)
    # Each send was followed by a lookup that proved the order absent before the next.
    assert sent.count("/api/v2/sell/btcusd/") == 3
    order = [p for p in sent if p in ("/api/v2/sell/btcusd/", "/api/v2/order_status/")]
    assert order == ["/api/v2/sell/btcusd/", "/api/v2/order_status/"] * 3
    ids = {
        dict(parse_qsl(r.body.decode()))["client_order_id"]
        for r in transport.requests
        if r.url.endswith("/sell/btcusd/")
    }
    assert ids == {"mine-1"}  # every resend carries the same client_order_id


async def test_lanes_reach_the_hook() -> None:
    records: list[RequestRecord] = []

    def ok(request: Request) -> Response:
        if "cancel_order" in request.url:
            payload: object = {"id": "5", "amount": "0.01", "price": "37500", "type": 0}
        else:
            payload = []
        return signed_ok(request, payload)

    routes = {"/api/v2/cancel_order/": ok, "/api/v2/open_orders/": ok}
    async with Client(KEY, SECRET, transport=exchange(routes), on_request=records.append) as c:
        await c.cancel_order(5)
        await c.open_orders()
    assert [(r.path, r.lane) for r in records] == [
        ("/api/v2/cancel_order/", Lane.CANCEL),
        ("/api/v2/open_orders/", Lane.PRIVATE_READ),
    ]


def documented_ohlc(
    available: list[int], *, end_wins: bool = True
) -> Callable[[Request], Response]:
    """An ohlc/ endpoint following Bitstamp's rule: with both start and end, end wins
    (the limit candles ending at end); ``end_wins=False`` is the other reading."""

    def ohlc(request: Request) -> Response:
        query = dict(parse_qsl(request.url.split("?", 1)[1]))
        limit = int(query["limit"])
        start, end = query.get("start"), query.get("end")
        if end is not None and (end_wins or start is None):
            rows = [t for t in available if t <= int(end)][-limit:]
        elif start is not None:
            rows = [t for t in available if t >= int(start)]
            rows = [t for t in rows if end is None or t <= int(end)][:limit]
        else:
            rows = available[-limit:]
        candles = [
            {"timestamp": str(t), "open": "1", "high": "2", "low": "0.5", "close": "1.5",
             "volume": "3"}
            for t in rows
        ]  # fmt: skip
        return json_response({"data": {"pair": "BTC/USD", "ohlc": candles}})

    return ohlc


@pytest.mark.parametrize("end_wins", [True, False])
async def test_iter_ohlc_walks_a_gap_without_losing_what_follows(end_wins: bool) -> None:
    # Candles exist for [0, 600) and again from 500_000 on: a long halt in between. The
    # walker must cross the empty pages and go on, never yield twice, never stop early.
    step, halt_end = 60, 500_040
    available = [t for t in range(0, 600, step)] + list(range(halt_end, halt_end + 600, step))
    transport = exchange({"/api/v2/ohlc/btcusd/": documented_ohlc(available, end_wins=end_wins)})
    async with Client(transport=transport) as client:
        seen = [
            int(c.timestamp.timestamp())
            async for c in client.iter_ohlc("btcusd", step, 0, halt_end + 600 - step)
        ]
    assert seen == available
    assert len(paths(transport)) < 20  # pages of 1000 candles, not one request per candle


@pytest.mark.parametrize("end_wins", [True, False])
async def test_iter_ohlc_returns_every_candle_of_a_long_range(end_wins: bool) -> None:
    # Defect 1 of issue 6: 2,500 one-minute candles came back as 1,000 from an exchange
    # that follows the documented "end wins" rule.
    step = 60
    available = list(range(1_700_000_000, 1_700_000_000 + 3000 * step, step))
    transport = exchange({"/api/v2/ohlc/btcusd/": documented_ohlc(available, end_wins=end_wins)})
    first, last = available[100], available[100 + 2499]
    async with Client(transport=transport) as client:
        seen = [
            int(c.timestamp.timestamp())
            async for c in client.iter_ohlc("btcusd", step, first, last)
        ]
    assert seen == available[100:2600]


async def test_market_lookup_and_lazy_rows() -> None:
    rows = [
        {"currency": "usd", "total": "10.50", "available": "10.00", "reserved": "0.50"},
        {"currency": "btc", "total": "1", "available": "1", "reserved": "0"},
    ]
    routes = {"/api/v2/account_balances/": lambda r: signed_ok(r, rows)}
    async with Client(KEY, SECRET, transport=exchange(routes)) as client:
        market = await client.market("btcusd")
        assert market.base_decimals == 8 and market.counter_currency == "USD"
        with pytest.raises(UnknownMarketError):
            await client.market("zzzusd")
        balances = await client.account_balances()
    assert len(balances) == 2
    assert balances[0].reserved == Decimal("0.50")
    assert [b.currency for b in balances[1:]] == ["btc"]
    assert balances == [balances[0], balances[1]]  # compares equal to a plain list
    assert balances.raw_rows is not None and balances.raw_rows[1]["currency"] == "btc"


def test_a_rate_rejection_slows_the_whole_client_even_without_retry() -> None:
    answers = iter(
        [
            json_response(
                {"status": "error", "reason": "Request rejected due to exceeded rate limit.",
                 "response_code": "400.002"},
                status=400,
                **{"Retry-After": "3"},
            ),
            Response(200, {}, fixture("ticker_btcusd.json")),
        ]
    )  # fmt: skip

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        transport = exchange({"/api/v2/ticker/btcusd/": lambda r: next(answers)})
        policy = RetryPolicy(max_attempts=1)
        async with Client(transport=transport, validate_markets=False, retry=policy) as client:
            with pytest.raises(RateLimitError):
                await client.ticker("btcusd")
            start = loop.time()
            await client.ticker("btcusd")  # a different caller: held back by the pause
            return loop.time() - start

    assert run_virtual(scenario()) >= 3.0


async def test_a_shared_limiter_outlives_each_client() -> None:
    closed: list[str] = []

    class Recording(SlidingWindowLimiter):
        async def aclose(self) -> None:
            closed.append("closed")
            await super().aclose()

    shared = Recording(((5, 1.0),))
    for _ in range(2):
        async with Client(transport=exchange({}), limiter=shared):
            pass
    assert closed == []  # the caller's limiter is the caller's to close


def test_blank_credentials_are_refused() -> None:
    with pytest.raises(ValueError):
        Client("key", "")
    with pytest.raises(ValueError, match="both"):
        Client("key", None)


# -- the minimum order value, checked by float first and exactly near the edge ------------


@pytest.mark.parametrize(
    ("amount", "price", "placed"),
    [
        ("0.001", "10000", True),  # exactly the minimum: allowed
        ("0.00099999", "10000", False),  # a unit below it
        ("0.001", "9999", False),
        ("0.00100001", "10000", True),
        ("0.00200000", "5000", True),  # exactly again, spelled otherwise
        ("0.00199999", "5000", False),
    ],
)
async def test_orders_at_the_minimum_edge_are_judged_exactly(
    amount: str, price: str, placed: bool
) -> None:
    """btcusd's minimum order value is 10 USD in the recorded catalogue."""
    answer = Response(200, {}, fixture("order_placed_buy_limit.json"))
    transport = exchange({"/api/v2/buy/btcusd/": lambda r: answer})
    async with Client(KEY, SECRET, transport=transport, verify_response_signature=False) as c:
        if placed:
            await c.buy_limit("btcusd", amount, price)
        else:
            with pytest.raises(InvalidParameterError, match="below btcusd's minimum of 10"):
                await c.buy_limit("btcusd", amount, price)
    assert ("/api/v2/buy/btcusd/" in paths(transport)) is placed


def test_the_float_floor_never_lets_an_order_below_the_minimum_pass() -> None:
    """Random and adversarial amounts and prices: whenever the float product clears the
    floor, the exact product is at least the minimum."""
    import random

    from aiobitstamp._api.orders import _float_floor

    rng = random.Random(7)
    minimums = [Decimal(text) for text in ("10", "25", "0.0001", "1E-8", "12.345678", "0")]
    checked = 0
    for minimum in minimums:
        floor = _float_floor(minimum)
        assert _float_floor(minimum) == floor
        for _ in range(4000):
            places = rng.randint(0, 8)
            amount = Decimal(rng.randint(1, 10**10)).scaleb(-places)
            price_places = rng.randint(0, 8)
            # Prices around minimum / amount, so many products fall near the edge.
            target = (minimum / amount) if minimum else Decimal(1)
            price = (target * Decimal(1 + rng.uniform(-1e-6, 1e-6))).quantize(
                Decimal(1).scaleb(-price_places)
            )
            if price <= 0:
                continue
            a, p = format(amount, "f"), format(price, "f")
            if float(a) * float(p) > floor:
                assert Decimal(a) * Decimal(p) >= minimum, (a, p, minimum)
                checked += 1
    assert checked > 1000
