"""The emulator's trading: balances, reservations, matching, cancels, order status, errors.

Expected numbers are recomputed here from a book snapshot with the emulator's rules: fills
at each resting order's price, taker 0.4% / maker 0.3%, and rounding to the currency's
decimals applied to running totals (a fill's fee is the change of the rounded total fee).
A wrong fill price, fee or reservation fails a test.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import pytest

from aiobitstamp.testing import FakeAccount, FakeBitstamp
from tests.test_testing import NOW, Clock, Reply, Signer

D = Decimal
CENT = D("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeBitstamp]:
    async with FakeBitstamp(rate_limits=None, wall_clock=clock, book_depth=300) as exchange:
        exchange.add_account("alice", "alicesecret", {"usd": "10000", "btc": "1"})
        exchange.add_account("bob", "bobsecret", {"usd": "10000", "btc": "1"})
        yield exchange


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def alice(fake: FakeBitstamp, session: aiohttp.ClientSession) -> Signer:
    return Signer.of(fake, session, "alice", "alicesecret")


@pytest.fixture
def bob(fake: FakeBitstamp, session: aiohttp.ClientSession) -> Signer:
    return Signer.of(fake, session, "bob", "bobsecret")


@pytest.fixture
def account(fake: FakeBitstamp) -> FakeAccount:
    return fake.accounts["alice"]


async def ok(api: Signer, endpoint: str, form: dict[str, str] | None = None) -> Any:
    reply = await api.post(endpoint, form)
    assert reply.status == 200, reply.body
    return reply.json()


async def book(api: Signer, group: int = 1, pair: str = "btcusd") -> dict[str, Any]:
    reply = await api.get(f"order_book/{pair}/?group={group}")
    assert reply.status == 200
    result: dict[str, Any] = reply.json()
    return result


def exact(reply: Reply) -> Any:
    """The answer with every JSON number decoded exactly."""
    assert reply.status == 200, reply.body
    return json.loads(reply.body, parse_float=Decimal)


def usd(account: FakeAccount) -> tuple[str, str, str]:
    balance = account.balance("usd")
    return str(balance.total), str(balance.available), str(balance.reserved)


# -- balances and resting orders ---------------------------------------------------------


async def test_balances_list_every_currency_with_its_decimals(alice: Signer) -> None:
    rows = await ok(alice, "account_balances/")
    by_currency = {row["currency"]: row for row in rows}
    assert by_currency["usd"] == {
        "currency": "usd",
        "total": "10000.00",
        "available": "10000.00",
        "reserved": "0.00",
    }
    assert by_currency["btc"]["total"] == "1.00000000"
    assert by_currency["usdc"]["total"] == "0.00000"
    assert await ok(alice, "account_balances/btc/") == by_currency["btc"]
    reply = await alice.post("account_balances/doge/")
    assert (reply.status, reply.json()["response_code"]) == (404, "404.006")


async def test_resting_buy_reserves_funds_and_is_visible_everywhere(
    alice: Signer, account: FakeAccount
) -> None:
    created = await ok(
        alice, "buy/btcusd/", {"amount": "0.01", "price": "59000", "client_order_id": "bot-1"}
    )
    assert list(created) == [
        "id",
        "datetime",
        "type",
        "price",
        "amount",
        "client_order_id",
        "market",
    ]
    assert re.fullmatch(r"[1-9]\d{15}", created["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", created["datetime"])
    assert (created["type"], created["price"], created["amount"]) == ("0", "59000", "0.01000000")
    assert (created["client_order_id"], created["market"]) == ("bot-1", "BTC/USD")
    # 0.01 * 59000 = 590.00, plus the 0.4% taker fee the order might pay: 592.36 reserved.
    assert usd(account) == ("10000.00", "9407.64", "592.36")
    assert (await ok(alice, "account_balances/usd/"))["available"] == "9407.64"

    everywhere = await ok(alice, "open_orders/all/")
    assert everywhere == [
        {
            "id": created["id"],
            "datetime": created["datetime"][:19],
            "type": "0",
            "price": "59000",
            "amount": "0.01000000",
            "amount_at_create": "0.01000000",
            "currency_pair": "BTC/USD",
            "market": "BTC/USD",
            "client_order_id": "bot-1",
        }
    ]
    assert await ok(alice, "open_orders/") == everywhere
    per_market = await ok(alice, "open_orders/btcusd/")
    assert "currency_pair" not in per_market[0]
    assert await ok(alice, "open_orders/ethusd/") == []
    assert ["59000", "0.01000000", created["id"]] in (await book(alice, 2))["bids"]

    status = await ok(alice, "order_status/", {"id": created["id"]})
    assert status == {
        "id": int(created["id"]),
        "datetime": created["datetime"][:19],
        "type": "0",
        "status": "Open",
        "market": "BTC/USD",
        "amount_remaining": "0.01000000",
        "client_order_id": "bot-1",
        "transactions": [],
    }
    assert await ok(alice, "order_status/", {"client_order_id": "bot-1"}) == status
    short = await ok(alice, "order_status/", {"id": created["id"], "omit_transactions": "True"})
    assert "transactions" not in short


async def test_cancel_releases_funds_and_leaves_the_book(
    alice: Signer, account: FakeAccount
) -> None:
    created = await ok(alice, "buy/btcusd/", {"amount": "0.01", "price": "59000"})
    reply = await alice.post("cancel_order/", {"id": created["id"]})
    # No status field; amount and price are JSON numbers, written digit for digit.
    assert reply.body == (
        b'{"id":%s,"amount":0.01000000,"price":59000,"type":0,"market":"BTC/USD"}'
        % created["id"].encode()
    )
    assert usd(account) == ("10000.00", "10000.00", "0.00")
    assert all(row[2] != created["id"] for row in (await book(alice, 2))["bids"])
    assert (await ok(alice, "order_status/", {"id": created["id"]}))["status"] == "Canceled"
    reply = await alice.post("cancel_order/", {"id": created["id"]})
    assert (reply.status, reply.json()) == (
        404,
        {"status": "error", "reason": "Order not found.", "response_code": "404.002"},
    )


async def test_cancel_by_client_order_id_and_malformed_ids(alice: Signer, bob: Signer) -> None:
    await ok(alice, "sell/btcusd/", {"amount": "0.1", "price": "61000", "client_order_id": "c7"})
    assert (await bob.post("cancel_order/", {"client_order_id": "c7"})).status == 404  # not his
    assert (await ok(alice, "cancel_order/", {"client_order_id": "c7"}))["type"] == 1
    reply = await alice.post("cancel_order/", {"id": "12ab"})
    assert reply.json() == {
        "status": "error",
        "reason": {"__all__": ["Invalid id POST param."]},
        "response_code": "400.036",
    }
    assert (await alice.post("cancel_order/")).json()["response_code"] == "400.035"
    assert (await alice.post("order_status/", {"id": "1"})).json()["response_code"] == "404.002"


async def test_cancel_all_orders_everywhere_or_per_market(
    alice: Signer, account: FakeAccount
) -> None:
    await ok(alice, "buy/btcusd/", {"amount": "0.01", "price": "59000"})
    await ok(alice, "sell/btcusd/", {"amount": "0.01", "price": "61000"})
    await ok(alice, "buy/ethusd/", {"amount": "0.1", "price": "2900.5"})
    answer = exact(await alice.post("cancel_all_orders/btcusd/"))
    assert answer["success"] is True
    assert [(row["type"], row["price"], row["amount"]) for row in answer["canceled"]] == [
        (0, 59000, D("0.01000000")),
        (1, 61000, D("0.01000000")),
    ]
    assert set(answer["canceled"][0]) == {
        "id",
        "amount",
        "price",
        "type",
        "currency_pair",
        "market",
    }
    assert len(await ok(alice, "open_orders/all/")) == 1
    assert len((await ok(alice, "cancel_all_orders/"))["canceled"]) == 1
    assert usd(account) == ("10000.00", "10000.00", "0.00")
    assert account.balance("btc").reserved == 0


# -- matching ----------------------------------------------------------------------------


async def test_crossing_buy_walks_the_book_at_each_level_price(
    alice: Signer, account: FakeAccount
) -> None:
    account.set_balance("usd", "100000")
    asks = (await book(alice, 0))["asks"]  # one row per resting order, best first
    taken = [(D(p), D(a)) for p, a in asks[:3]]
    fourth_price, fourth_amount = D(asks[3][0]), D(asks[3][1])
    partial = (fourth_amount / 2).quantize(D("1e-8"))
    taken.append((fourth_price, partial))
    amount = sum(a for _, a in taken)
    created = await ok(alice, "buy/btcusd/", {"amount": f"{amount:f}", "price": asks[3][0]})

    value = sum((p * a for p, a in taken), D(0))
    assert account.balance("usd").total == D(100000) - cents(value) - cents(value * D("0.004"))
    assert account.balance("usd").reserved == 0
    assert account.balance("btc").total == 1 + amount

    status = await ok(alice, "order_status/", {"id": created["id"]})
    assert (status["status"], status["amount_remaining"]) == ("Finished", "0.00000000")
    fills = status["transactions"]
    assert [(D(f["price"]), D(f["btc"])) for f in fills] == taken
    assert [D(f["usd"]) for f in fills] == [p * a for p, a in taken]
    running = [sum(p * a for p, a in taken[: i + 1]) for i in range(len(taken))]
    fee_totals = [D(0)] + [cents(v * D("0.004")) for v in running]
    assert [D(f["fee"]) for f in fills] == [b - a for a, b in itertools.pairwise(fee_totals)]
    assert all(f["type"] == 2 and isinstance(f["tid"], int) for f in fills)
    assert re.fullmatch(r"\d+\.\d{8}", fills[0]["price"])

    after = (await book(alice, 0))["asks"]
    assert after[0] == [asks[3][0], f"{fourth_amount - partial:f}"]
    assert after[1:] == asks[4:]
    tape = (await alice.get("transactions/btcusd/?time=minute")).json()
    ours = [row for row in tape if int(row["tid"]) in {f["tid"] for f in fills}]
    assert len(ours) == 4 and all(row["type"] == "0" for row in ours)
    assert (await alice.get("ticker/btcusd/")).json()["last"] == asks[3][0]


async def test_partially_crossing_buy_rests_the_rest_at_its_price(
    alice: Signer, account: FakeAccount
) -> None:
    price, level = (await book(alice))["asks"][0]
    amount = D(level) + D("0.05")
    created = await ok(alice, "buy/btcusd/", {"amount": f"{amount:f}", "price": price})
    top = await book(alice)
    assert top["bids"][0] == [price, "0.05000000"]  # the rest is now the best bid
    assert D(top["asks"][0][0]) > D(price)
    orders = await ok(alice, "open_orders/btcusd/")
    assert [(o["id"], o["amount"], o["amount_at_create"]) for o in orders] == [
        (created["id"], "0.05000000", f"{amount:.8f}")
    ]
    traded, rest = D(level) * D(price), D("0.05") * D(price)
    # The rest's value on top of what was traded, plus its fee at the taker rate.
    expected = cents(traded + rest) - cents(traded) + cents(rest * D("0.004"))
    assert account.balance("usd").reserved == expected


async def test_ioc_fok_and_moc_orders(alice: Signer, account: FakeAccount) -> None:
    account.set_balance("usd", "100000")
    price, level = (await book(alice))["asks"][0]
    more = f"{D(level) + D('0.05'):f}"
    ioc = await ok(alice, "buy/btcusd/", {"amount": more, "price": price, "ioc_order": "True"})
    status = await ok(alice, "order_status/", {"id": ioc["id"]})
    assert (status["status"], status["amount_remaining"]) == ("Canceled", "0.05000000")
    assert len(status["transactions"]) >= 1
    assert await ok(alice, "open_orders/all/") == []
    assert account.balance("usd").reserved == 0

    before = await book(alice, 2)
    balances = usd(account)
    price, level = before["asks"][0][:2]
    too_much = f"{D(level) + D('0.05'):f}"
    fok = await ok(alice, "buy/btcusd/", {"amount": too_much, "price": price, "fok_order": "1"})
    status = await ok(alice, "order_status/", {"id": fok["id"]})
    assert (status["status"], status["transactions"]) == ("Canceled", [])
    assert (await book(alice, 2))["asks"] == before["asks"]
    assert usd(account) == balances
    fok = await ok(alice, "buy/btcusd/", {"amount": level, "price": price, "fok_order": "true"})
    assert (await ok(alice, "order_status/", {"id": fok["id"]}))["status"] == "Finished"

    best_ask = (await book(alice))["asks"][0][0]
    moc = await ok(alice, "buy/btcusd/", {"amount": "0.01", "price": best_ask, "moc_order": "on"})
    assert (await ok(alice, "order_status/", {"id": moc["id"]}))["status"] == "Canceled"
    below = str(int(best_ask) - 1)
    moc = await ok(alice, "buy/btcusd/", {"amount": "0.01", "price": below, "moc_order": "True"})
    assert (await ok(alice, "order_status/", {"id": moc["id"]}))["status"] == "Open"
    flagged_false = await ok(
        alice, "buy/btcusd/", {"amount": "0.01", "price": "59000", "ioc_order": "False"}
    )
    assert (await ok(alice, "order_status/", {"id": flagged_false["id"]}))["status"] == "Open"


async def test_maker_fill_settles_both_accounts_at_their_fees(
    alice: Signer, bob: Signer, fake: FakeBitstamp
) -> None:
    best_ask = int((await book(alice))["asks"][0][0])
    inside = str(best_ask - 1)  # inside the spread: alice becomes the only order at this price
    maker = await ok(alice, "sell/btcusd/", {"amount": "0.01", "price": inside})
    taker = await ok(bob, "buy/btcusd/", {"amount": "0.01", "price": inside})
    value = D("0.01") * D(inside)
    alice_account, bob_account = fake.accounts["alice"], fake.accounts["bob"]
    assert alice_account.balance("usd").total == 10000 + cents(value) - cents(value * D("0.003"))
    assert alice_account.balance("btc").total == D("0.99")
    assert bob_account.balance("usd").total == 10000 - cents(value) - cents(value * D("0.004"))
    assert bob_account.balance("btc").total == D("1.01")
    maker_status = await ok(alice, "order_status/", {"id": maker["id"]})
    taker_status = await ok(bob, "order_status/", {"id": taker["id"]})
    assert maker_status["status"] == taker_status["status"] == "Finished"
    assert maker_status["transactions"][0]["tid"] == taker_status["transactions"][0]["tid"]
    assert (await book(alice))["asks"][0][0] == str(best_ask)


async def test_an_exactly_affordable_sweep_never_overdraws(
    alice: Signer, account: FakeAccount
) -> None:
    asks = (await book(alice, 0))["asks"][:40]
    amount = sum(D(a) for _, a in asks)
    limit = asks[-1][0]
    at_limit = amount * D(limit)
    need = cents(at_limit) + cents(at_limit * D("0.004"))
    account.set_balance("usd", need - CENT)
    reply = await alice.post("buy/btcusd/", {"amount": f"{amount:f}", "price": limit})
    assert reply.json()["reason"]["__all__"][0].startswith(f"You need {need} USD")
    account.set_balance("usd", need)
    await ok(alice, "buy/btcusd/", {"amount": f"{amount:f}", "price": limit})
    value = sum((D(p) * D(a) for p, a in asks), D(0))
    balance = account.balance("usd")
    assert balance.reserved == 0 and balance.available >= 0
    assert balance.total == need - cents(value) - cents(value * D("0.004"))
    assert account.balance("btc").total == 1 + amount


async def test_user_transactions_list_fills_with_signed_currency_columns(
    alice: Signer, bob: Signer
) -> None:
    inside = str(int((await book(alice))["asks"][0][0]) - 1)
    sold = await ok(alice, "sell/btcusd/", {"amount": "0.01", "price": inside})
    await ok(bob, "buy/btcusd/", {"amount": "0.01", "price": inside})
    rows = await ok(alice, "user_transactions/")
    assert len(rows) == 1
    row = rows[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", row.pop("datetime"))
    value = D("0.01") * D(inside)
    # Every currency has a column; a zero is 0 on some rows, a string on others.
    as_number = row["eth"] == 0 and not isinstance(row["eth"], str)
    zero: dict[str, object] = {
        code: 0 if as_number else zeros
        for code, zeros in (
            ("eur", "0.00"), ("eth", "0.00000000"), ("xrp", "0.00000000"),
            ("ltc", "0.00000000"), ("usdc", "0.00000"), ("sol", "0.00000000"),
        )
    }  # fmt: skip
    assert row == {
        "id": row["id"],
        "type": "2",
        "fee": str(cents(value * D("0.003"))),
        "btc": "-0.01000000",
        "usd": str(cents(value)),
        **zero,
        "btc_usd": float(inside),
        "order_id": int(sold["id"]),
    }
    # A self trade: alice's buy takes alice's own resting sell.
    own_sell = await ok(alice, "sell/btcusd/", {"amount": "0.01", "price": inside})
    own_buy = await ok(alice, "buy/btcusd/", {"amount": "0.01", "price": inside})
    newest = await ok(alice, "user_transactions/btcusd/", {"limit": "2"})
    assert {r["order_id"]: r["self_trade_order_id"] for r in newest} == {
        int(own_buy["id"]): int(own_sell["id"]),
        int(own_sell["id"]): int(own_buy["id"]),
    }
    assert all(r["self_trade"] is True for r in newest)
    everything = await ok(alice, "user_transactions/", {"sort": "asc"})
    assert everything[0]["id"] == row["id"] and len(everything) == 3
    assert await ok(alice, "user_transactions/", {"offset": "1", "limit": "1"}) == [everything[1]]
    assert await ok(alice, "user_transactions/ethusd/") == []
    reply = await alice.post("user_transactions/", {"limit": "1001"})
    assert reply.json() == {
        "status": "error",
        "reason": {"__all__": ["Invalid limit."]},
        "response_code": "400.011",
    }


async def test_market_orders_fill_now_against_the_book(alice: Signer, account: FakeAccount) -> None:
    bids = (await book(alice, 0))["bids"]
    first_price, first_amount = D(bids[0][0]), D(bids[0][1])
    amount = first_amount + D("0.001")
    sold = await ok(alice, "sell/market/btcusd/", {"amount": f"{amount:f}"})
    second_price = D(bids[1][0])
    fills = [(first_price, first_amount), (second_price, D("0.001"))]
    value = sum((p * a for p, a in fills), D(0))
    assert account.balance("usd").total == 10000 + cents(value) - cents(value * D("0.004"))
    assert account.balance("btc").total == 1 - amount
    average = sum(p * a for p, a in fills) / amount
    assert sold["price"] == str(average.quantize(D(1), rounding=ROUND_HALF_UP))
    status = await ok(alice, "order_status/", {"id": sold["id"]})
    assert (status["status"], len(status["transactions"])) == ("Finished", 2)

    reply = await alice.post("buy/market/btcusd/", {"amount": "1"})
    assert reply.status == 400
    assert reply.json()["response_code"] == "400.009"
    assert reply.json()["reason"]["__all__"][0].startswith("You can only buy 0.")
    reply = await alice.post("sell/market/btcusd/", {"amount": "5000"})
    assert reply.json()["response_code"] == "400.038"
    assert "Maximum market sell amount at the moment is" in reply.json()["reason"]["__all__"][0]


async def test_gtd_and_daily_orders_expire_on_the_exchange_clock(
    alice: Signer, account: FakeAccount, clock: Clock
) -> None:
    expire_ms = str(int((NOW + 60) * 1000))
    gtd = await ok(
        alice,
        "buy/btcusd/",
        {"amount": "0.01", "price": "59000", "gtd_order": "True", "expire_time": expire_ms},
    )
    daily = await ok(
        alice, "buy/btcusd/", {"amount": "0.01", "price": "59001", "daily_order": "True"}
    )
    clock.now = NOW + 59
    assert len(await ok(alice, "open_orders/all/")) == 2
    clock.now = NOW + 60
    assert (await ok(alice, "order_status/", {"id": gtd["id"]}))["status"] == "Expired"
    assert (await ok(alice, "order_status/", {"id": daily["id"]}))["status"] == "Open"
    midnight = (int(NOW) // 86400 + 1) * 86400
    clock.now = midnight
    assert (await ok(alice, "order_status/", {"id": daily["id"]}))["status"] == "Expired"
    assert usd(account) == ("10000.00", "10000.00", "0.00")


async def test_filled_limit_price_order_places_the_opposite_order(
    alice: Signer, account: FakeAccount
) -> None:
    price = (await book(alice))["asks"][0][0]
    target = str(int(price) + 500)
    await ok(alice, "buy/btcusd/", {"amount": "0.001", "price": price, "limit_price": target})
    follow_up = await ok(alice, "open_orders/all/")
    assert [(o["type"], o["price"], o["amount"]) for o in follow_up] == [
        ("1", target, "0.00100000")
    ]
    assert account.balance("btc").reserved == D("0.001")


# -- validation --------------------------------------------------------------------------


def general(code: str, message: str) -> dict[str, Any]:
    return {"status": "error", "reason": {"__all__": [message]}, "response_code": code}


def field(code: str, name: str, message: str) -> dict[str, Any]:
    return {"status": "error", "reason": {name: [message], "__all__": [""]}, "response_code": code}


MISSING = "Missing amount and/or price POST parameters"
INVALID_ORDERS = [
    ("buy/btcusd/", {"price": "59000"}, 400, general("400.005", MISSING)),
    ("buy/btcusd/", {"amount": "0.01"}, 400, general("400.006", MISSING)),
    (
        "buy/btcusd/",
        {"amount": "0.123456789", "price": "59000"},
        400,
        field("400.026", "amount", "Ensure that there are no more than 8 decimal places."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.01", "price": "59000.00"},
        400,
        field("400.041", "price", "Ensure that there are no more than 0 decimal places."),
    ),
    (
        "buy/ethusd/",
        {"amount": "0.01", "price": "2900.55"},
        400,
        field("400.041", "price", "Ensure that there are no more than 1 decimal places."),
    ),
    (
        "buy/btcusd/",
        {"amount": "1,5", "price": "59000"},
        400,
        field("400.026", "amount", 'Enter a number. Use "." as a decimal point.'),
    ),
    (
        "buy/btcusd/",
        {"amount": "0", "price": "59000"},
        400,
        field("400.026", "amount", "Ensure this value is greater than or equal to 0.00000001."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.0001", "price": "59000"},
        400,
        general("400.020", "Minimum order size is 10.0 USD."),
    ),
    (
        "buy/ethbtc/",
        {"amount": "0.001", "price": "0.05"},
        400,
        general("400.020", "Minimum order size is 0.0002 BTC."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.01", "price": "80000"},
        400,
        general("400.021", "Price is more than 20% above market price."),
    ),
    (
        "sell/btcusd/",
        {"amount": "0.01", "price": "40000"},
        400,
        general("400.021", "Price is more than 20% below market price."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.01", "price": "59000", "ioc_order": "True", "fok_order": "True"},
        400,
        general("400.024", "Only one of optional parameters can be set."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.01", "price": "59000", "limit_price": "61000", "daily_order": "True"},
        400,
        general("400.025", "Both limit_price and daily_order cannot be set."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.01", "price": "59000", "limit_price": "58000"},
        400,
        general("400.027", "Sell if executed price must be higher than buy price."),
    ),
    (
        "sell/btcusd/",
        {"amount": "0.01", "price": "61000", "limit_price": "62000"},
        400,
        general("400.028", "Buy if executed price must be lower than sell price."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.01", "price": "59000", "gtd_order": "True"},
        400,
        general("400.022", "POST parameter(s) is missing from request: expire_time."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.01", "price": "59000", "expire_time": "1700000060000"},
        400,
        general("400.033", "'expire_time' must be None."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.01", "price": "59000", "gtd_order": "1", "expire_time": "1699999999000"},
        400,
        general("400.032", "'expire_time' must be set in future date."),
    ),
    (
        "buy/btcusd/",
        {"amount": "0.01", "price": "59000", "client_order_id": "x" * 181},
        400,
        general("400.008", "Invalid client_order_id POST param."),
    ),
    (
        "buy/btcusd/",
        {"amount": "1", "price": "59000"},
        400,
        general(
            "400.009",
            "You need 59236.00 USD to open that order. You have only 10000.00 USD available."
            " Check your account balance for details.",
        ),
    ),
    (
        "sell/btcusd/",
        {"amount": "2", "price": "61000"},
        400,
        general(
            "400.009",
            "You have only 1.00000000 BTC available. Check your account balance for details.",
        ),
    ),
    (
        "buy/btcusd-perp/",
        {"amount": "0.01", "price": "59000"},
        404,
        {
            "status": "error",
            "reason": "Currency pair not found for corresponding request.",
            "response_code": "404.003",
        },
    ),
]


@pytest.mark.parametrize(("endpoint", "form", "status", "body"), INVALID_ORDERS)
async def test_invalid_orders_get_the_exchange_error_shapes(
    alice: Signer,
    account: FakeAccount,
    endpoint: str,
    form: dict[str, str],
    status: int,
    body: dict[str, Any],
) -> None:
    reply = await alice.post(endpoint, form)
    assert (reply.status, reply.json()) == (status, body)
    assert not account.orders
    assert usd(account) == ("10000.00", "10000.00", "0.00")
    assert account.balance("btc").reserved == 0


# -- other private endpoints -------------------------------------------------------------


async def test_websockets_token_and_trading_fees(alice: Signer, account: FakeAccount) -> None:
    token = await ok(alice, "websockets_token/")
    assert set(token) == {"token", "user_id", "valid_sec"}
    assert re.fullmatch(r"[A-Za-z0-9]{32}", token["token"])
    assert (token["user_id"], token["valid_sec"]) == (account.user_id, 60)
    assert token["token"] in account.websocket_tokens
    fees = await ok(alice, "fees/trading/btcusd/")
    assert fees == {  # one market: an object, not a list
        "currency_pair": "btcusd",
        "market": "btcusd",
        "fees": {"maker": "0.30000", "taker": "0.40000"},
    }
    everything = await ok(alice, "fees/trading/")
    assert len(everything) == 9 and everything[0] == fees
