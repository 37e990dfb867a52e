"""Fault switches: lost answers, resets, 5xx, delays and refused connections, each by path,
probability and seed, before or after the exchange acted.

Requests go over a connector that opens a fresh connection for each one, so a dropped or
reset connection never makes aiohttp resend anything.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from aiobitstamp.testing import FakeAccount, FakeBitstamp
from tests.test_testing import Clock, Reply, Signer

KEY, SECRET = "faultkey", "faultsecret"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as client_session:
        yield client_session


@pytest.fixture
async def fake() -> AsyncIterator[FakeBitstamp]:
    async with FakeBitstamp(rate_limits=None, book_depth=50, wall_clock=Clock()) as exchange:
        exchange.add_account(KEY, SECRET, {"usd": "1000000", "btc": "10"})
        yield exchange


@pytest.fixture
def api(fake: FakeBitstamp, session: aiohttp.ClientSession) -> Signer:
    return Signer.of(fake, session, KEY, SECRET)


@pytest.fixture
def account(fake: FakeBitstamp) -> FakeAccount:
    return fake.accounts[KEY]


def resting_buy(fake: FakeBitstamp, client_order_id: str = "") -> dict[str, str]:
    _, bids, _ = fake.book_snapshot("btcusd", 1)
    form = {"amount": "0.001", "price": str(bids[0][0] - 100)}
    if client_order_id:
        form["client_order_id"] = client_order_id
    return form


async def outcome(api: Signer, endpoint: str, form: dict[str, str] | None = None) -> Any:
    """The reply, or what the connection did instead: "dropped" or "reset"."""
    try:
        return await api.post(endpoint, form)
    except aiohttp.ServerDisconnectedError:
        return "dropped"
    except aiohttp.ClientOSError as error:
        assert error.errno == errno.ECONNRESET, error
        return "reset"


async def test_a_lost_answer_after_accept_leaves_the_order_placed(
    fake: FakeBitstamp, api: Signer, account: FakeAccount
) -> None:
    rule = fake.faults.drop_answer_after_accept(path="buy/")
    assert await outcome(api, "buy/btcusd/", resting_buy(fake, "lost-1")) == "dropped"
    (order,) = account.orders.values()
    assert (order.client_order_id, order.status) == ("lost-1", "Open")
    assert rule.served == 1 and fake.stats.faults_served == 1
    # Other paths answer; an order the exchange refuses is answered too (not accepted).
    sell = await outcome(api, "sell/btcusd/", {"amount": "0.001", "price": "70000"})
    assert isinstance(sell, Reply) and sell.status == 200
    refused = await outcome(api, "buy/btcusd/", {"amount": "0.001"})
    assert isinstance(refused, Reply) and refused.json()["response_code"] == "400.006"
    assert rule.served == 1
    rule.cancel()
    assert (await api.post("buy/btcusd/", resting_buy(fake))).status == 200


async def test_probability_and_seed_make_the_pattern_repeatable(
    session: aiohttp.ClientSession,
) -> None:
    patterns = []
    for seed in (5, 5, 6):
        async with FakeBitstamp(rate_limits=None, book_depth=50, wall_clock=Clock()) as fake:
            fake.add_account(KEY, SECRET, {"usd": "1000000"})
            api = Signer.of(fake, session, KEY, SECRET)
            fake.faults.drop_answer_after_accept(probability=0.3, path="buy/", seed=seed)
            pattern = [
                await outcome(api, "buy/btcusd/", resting_buy(fake)) == "dropped" for _ in range(30)
            ]
            assert len(fake.accounts[KEY].orders) == 30  # every order placed, answer or not
            patterns.append(pattern)
    assert patterns[0] == patterns[1]
    assert patterns[0] != patterns[2]
    assert 3 <= sum(patterns[0]) <= 18


@pytest.mark.parametrize("after_executing", [False, True])
async def test_a_reset_connection_before_or_after_executing(
    fake: FakeBitstamp, api: Signer, account: FakeAccount, after_executing: bool
) -> None:
    fake.faults.reset_connection(path="buy/", after_executing=after_executing, times=1)
    assert await outcome(api, "buy/btcusd/", resting_buy(fake)) == "reset"
    assert len(account.orders) == (1 if after_executing else 0)
    reply = await outcome(api, "buy/btcusd/", resting_buy(fake))  # times=1: spent
    assert isinstance(reply, Reply) and reply.status == 200


@pytest.mark.parametrize("after_executing", [False, True])
@pytest.mark.parametrize("html", [False, True])
async def test_server_errors_as_json_or_html(
    fake: FakeBitstamp, api: Signer, account: FakeAccount, html: bool, after_executing: bool
) -> None:
    fake.faults.server_error(status=503, html=html, after_executing=after_executing, times=2)
    reply = await api.post("buy/btcusd/", resting_buy(fake))
    assert reply.status == 503
    if html:
        assert reply.headers["Content-Type"] == "text/html"
        assert b"<h1>503 Service Temporarily Unavailable</h1>" in reply.body
    else:
        assert reply.headers["Content-Type"] == "application/json"
        assert "maintenance" in reply.json()["error"]
    assert len(account.orders) == (1 if after_executing else 0)
    assert (await api.get("ticker/btcusd/")).status == 503  # no path: any request
    assert (await api.get("ticker/btcusd/")).status == 200


async def test_inject_fault_after_executing_replaces_the_answer(
    fake: FakeBitstamp, api: Signer, account: FakeAccount
) -> None:
    fake.inject_fault("buy/", status=502, after_executing=True)
    reply = await api.post("buy/btcusd/", resting_buy(fake))
    assert (reply.status, reply.headers["Content-Type"]) == (502, "text/html")
    assert len(account.orders) == 1


@pytest.mark.parametrize("after_executing", [False, True])
async def test_a_delayed_answer(
    fake: FakeBitstamp, api: Signer, account: FakeAccount, after_executing: bool
) -> None:
    loop = asyncio.get_running_loop()
    fake.faults.delay(0.05, path="buy/", after_executing=after_executing, times=1)
    task = loop.create_task(api.post("buy/btcusd/", resting_buy(fake)))
    started = loop.time()
    reply = await task
    assert reply.status == 200 and loop.time() - started >= 0.05
    assert len(account.orders) == 1


async def test_refused_connections_until_accepted_again(fake: FakeBitstamp, api: Signer) -> None:
    url = fake.url
    await fake.refuse_connections(seconds=600)
    with pytest.raises(aiohttp.ClientConnectorError):
        await api.get("ticker/btcusd/")
    await fake.accept_connections()
    assert fake.url == url
    assert (await api.get("ticker/btcusd/")).status == 200
    await fake.refuse_connections()
    with pytest.raises(aiohttp.ClientConnectorError):
        await api.get("ticker/btcusd/")
    await fake.accept_connections()
    assert (await api.get("ticker/btcusd/")).status == 200


async def test_two_hundred_orders_through_lost_answers_and_resets_are_each_placed_once(
    fake: FakeBitstamp, api: Signer, account: FakeAccount
) -> None:
    dropped = fake.faults.drop_answer_after_accept(probability=0.10, path="buy/", seed=1)
    reset = fake.faults.reset_connection(
        after_executing=True, probability=0.06, path="buy/", seed=2
    )
    seen: dict[str, int] = {"answered": 0, "dropped": 0, "reset": 0}
    for index in range(200):
        result = await outcome(api, "buy/btcusd/", resting_buy(fake, f"once-{index}"))
        if isinstance(result, Reply):
            assert result.status == 200
            seen["answered"] += 1
        else:
            seen[result] += 1
    assert seen["dropped"] == dropped.served and seen["reset"] == reset.served
    assert 8 <= dropped.served <= 35 and 3 <= reset.served <= 25
    ids = [order.client_order_id for order in account.orders.values()]
    assert sorted(ids) == sorted(f"once-{index}" for index in range(200))
    reserved = sum((order.reserved for order in account.orders.values()), start=0)
    assert account.balance("usd").reserved == reserved
