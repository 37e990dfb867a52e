"""The emulator's router is the route table: same verbs, same paths, nothing else.

Every route of ``aiobitstamp._routes.ROUTES`` the emulator has a handler for is served on
the table's verb and path; every other answers 404.001, and the parametrized test below
lists them by name (the routes still waiting for a handler).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import pytest

from aiobitstamp._auth import Credentials, sign_request
from aiobitstamp._routes import ROUTES, Route
from aiobitstamp.testing import FakeBitstamp
from tests.test_testing import Clock, Reply

KEY, SECRET = "routeskey", "routessecret"
NO_SUCH_PATH = {"status": "error", "reason": "Not found.", "response_code": "404.001"}
VALUES = {"market_symbol": "btcusd", "currency": "btc", "contact_uuid": str(uuid.UUID(int=7))}


@pytest.fixture
async def fake() -> AsyncIterator[FakeBitstamp]:
    async with FakeBitstamp(rate_limits=None, book_depth=50, wall_clock=Clock()) as exchange:
        exchange.add_account(KEY, SECRET, {"usd": "1000", "btc": "1"})
        yield exchange


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def send(
    fake: FakeBitstamp, session: aiohttp.ClientSession, method: str, route: Route
) -> Reply:
    path = "/api/v2/" + route.path({k: VALUES[k] for k in route.placeholders})
    headers: dict[str, str] = {}
    if route.signed:
        headers = sign_request(
            Credentials(KEY, SECRET),
            method,
            urlsplit(fake.url).netloc,
            path,
            "",
            b"",
            nonce=str(uuid.uuid4()),
            timestamp_ms=int(fake.server_time() * 1000),
        )
    async with session.request(
        method, fake.url + path, headers=headers, skip_auto_headers=("Content-Type",)
    ) as response:
        return Reply(response.status, response.headers, await response.read())


def test_the_router_registers_the_table_paths_and_verbs(fake: FakeBitstamp) -> None:
    assert fake._runner is not None
    registered = {
        (route.method, route.resource.canonical)
        for route in fake._runner.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    served = fake.served_routes()
    expected = set()
    for name in served:
        route = ROUTES[name]
        verbs = ("GET", "POST") if route.verb_disputed else (route.method,)
        expected |= {(verb, "/api/v2/" + route.template) for verb in verbs}
    assert registered == expected
    # What the emulator itself owns is all served.
    mine = {
        "ticker", "tickers", "ticker_hour", "order_book", "transactions", "ohlc", "markets",
        "trading_pairs_info", "currencies", "eur_usd", "travel_rule_vasps", "funding_rate",
        "funding_rate_history", "account_balances", "account_balance", "trading_fees",
        "trading_fee", "withdrawal_fees", "withdrawal_fee", "my_markets", "websockets_token",
        "user_transactions", "user_transactions_for_market", "revoke_all_api_keys",
        "buy_limit", "sell_limit", "buy_market", "sell_market", "buy_instant", "sell_instant",
        "replace_order", "cancel_order", "cancel_all_orders", "cancel_all_orders_for_market",
        "open_orders", "open_orders_for_market", "order_status", "order_data",
        "account_order_data",
    }  # fmt: skip
    assert mine <= set(served)


@pytest.mark.parametrize("name", sorted(ROUTES))
async def test_every_served_route_answers_on_its_verb_and_path(
    fake: FakeBitstamp, session: aiohttp.ClientSession, name: str
) -> None:
    route = ROUTES[name]
    if name not in fake.served_routes():
        pytest.skip("not served yet: see the test below")
    if name == "revoke_all_api_keys":
        pytest.skip("would revoke the key the other routes use: tested in the orders tests")
    reply = await send(fake, session, route.method, route)
    # Reached its handler: neither the router's "no such path" nor "wrong verb", nor an
    # auth refusal (a handler may still answer 404.001 for what it looked up).
    assert reply.json() != NO_SUCH_PATH
    assert reply.status != 405
    assert not str(reply.json().get("code", "") if reply.status == 403 else "").startswith("API")
    wrong = "POST" if route.method == "GET" else "GET"
    shared = any(r.template == route.template and r.method == wrong for r in ROUTES.values())
    if not route.verb_disputed and not shared:
        other = await send(fake, session, wrong, route)
        assert (other.status, other.json()["response_code"]) == (405, "405.001")


def _unserved() -> list[str]:
    served = set(FakeBitstamp().served_routes())
    return sorted(name for name in ROUTES if name not in served)


@pytest.mark.parametrize("name", _unserved() or ["(every route is served)"])
async def test_routes_without_a_handler_yet_answer_not_found(
    fake: FakeBitstamp, session: aiohttp.ClientSession, name: str
) -> None:
    if name not in ROUTES:
        return
    reply = await send(fake, session, ROUTES[name].method, ROUTES[name])
    assert (reply.status, reply.json()) == (404, NO_SUCH_PATH)


async def test_my_markets_answers_the_verb_the_switch_names(
    fake: FakeBitstamp, session: aiohttp.ClientSession
) -> None:
    route = ROUTES["my_markets"]
    assert route.verb_disputed
    reply = await send(fake, session, "POST", route)
    assert reply.status == 200
    assert {"name": "BTC/USD", "url_symbol": "btcusd"} in reply.json()
    refused = await send(fake, session, "GET", route)
    assert (refused.status, refused.json()["response_code"]) == (405, "405.001")
    fake.switches.my_markets_method = "GET"
    reply = await send(fake, session, "GET", route)  # signed GET, no body
    assert reply.status == 200 and len(reply.json()) == 9
    refused = await send(fake, session, "POST", route)
    assert refused.status == 405


async def test_unknown_paths_and_perpetuals_stay_refused(
    fake: FakeBitstamp, session: aiohttp.ClientSession
) -> None:
    async with session.get(fake.url + "/api/v2/open_order/") as response:
        assert await response.json() == NO_SUCH_PATH
    started = time.perf_counter()
    reply = await send(fake, session, "POST", ROUTES["buy_limit"])
    assert reply.status == 400  # served; the empty form is refused by the endpoint
    assert time.perf_counter() - started < 5
    perp = ROUTES["ticker"].path({"market_symbol": "btcusd-perp"})
    async with session.get(fake.url + "/api/v2/" + perp) as response:
        assert (await response.json())["response_code"] == "404.003"
    funding = ROUTES["funding_rate"].path({"market_symbol": "btcusd-perp"})
    async with session.get(fake.url + "/api/v2/" + funding) as response:
        answer = await response.json()
        assert answer["market"] == "BTC/USD-PERP"
        assert int(answer["next_funding_time"]) - int(answer["timestamp"]) == 8 * 3600
