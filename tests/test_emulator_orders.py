"""Trading and account endpoints beyond the basics: instant orders, replace, order history,
user transactions' paging and columns, caches, visibility, ids past 2**53, switches.

Numbers are decoded exactly (``parse_float=Decimal``); expected values are recomputed from
the book snapshot taken before each action.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import pytest

from aiobitstamp.testing import FakeAccount, FakeBitstamp, Switches
from tests.test_testing import NOW, Clock, Reply, Signer

D = Decimal
KEY, SECRET = "orderskey", "orderssecret"


def exact(reply: Reply) -> Any:
    return json.loads(reply.body, parse_float=Decimal)


async def ok(api: Signer, endpoint: str, form: dict[str, str] | None = None) -> Any:
    reply = await api.post(endpoint, form)
    assert reply.status == 200, reply.body
    return exact(reply)


def error(reply: Reply) -> tuple[int, str, object]:
    body = reply.json()
    return reply.status, body["response_code"], body["reason"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def switches() -> Switches:
    return Switches()


@pytest.fixture
async def fake(clock: Clock, switches: Switches) -> AsyncIterator[FakeBitstamp]:
    # A frozen market (message_rate 0): only users move it, so expectations are exact.
    async with FakeBitstamp(
        rate_limits=None, wall_clock=clock, book_depth=200, message_rate=0, switches=switches
    ) as exchange:
        exchange.add_account(KEY, SECRET, {"usd": "100000", "btc": "5"})
        yield exchange


@pytest.fixture
async def api(fake: FakeBitstamp) -> AsyncIterator[Signer]:
    async with aiohttp.ClientSession() as session:
        yield Signer.of(fake, session, KEY, SECRET)


@pytest.fixture
def account(fake: FakeBitstamp) -> FakeAccount:
    return fake.accounts[KEY]


def levels(fake: FakeBitstamp, side: int) -> list[tuple[Decimal, Decimal]]:
    _, bids, asks = fake.book_snapshot("btcusd", 50)
    return bids if side == 0 else asks


def walk_value(rows: list[tuple[Decimal, Decimal]], budget: Decimal) -> tuple[Decimal, Decimal]:
    """(base amount, value) an instant buy of ``budget`` takes: whole units it can afford."""
    amount = value = D(0)
    for price, size in rows:
        affordable = ((budget - value) / price).quantize(D("1e-8"), rounding="ROUND_DOWN")
        take = min(size, affordable)
        amount += take
        value += take * price
        if take < size:
            break
    return amount, value


# -- instant orders -----------------------------------------------------------------------


async def test_instant_buy_spends_a_counter_amount_and_pays_the_fee_on_top(
    fake: FakeBitstamp, api: Signer, account: FakeAccount
) -> None:
    amount, value = walk_value(levels(fake, 1), D("2500.00"))
    created = await ok(api, "buy/instant/btcusd/", {"amount": "2500.00"})
    assert D(created["amount"]) == amount
    fee = (value * D("0.004")).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    spent = value.quantize(D("0.01"), rounding=ROUND_HALF_UP) + fee
    assert account.balance("usd").total == D(100000) - spent
    assert account.balance("btc").total == D(5) + amount
    assert D("2499") < value <= D("2500.00")  # all it can afford, in whole units
    refused = await api.post("buy/instant/btcusd/", {"amount": "2500.001"})
    assert error(refused)[1] == "400.026"  # instant_order_counter_decimals: 2
    status = await ok(api, "order_status/", {"id": created["id"]})
    assert status["status"] == "Finished"


async def test_instant_buy_in_base_currency_behind_the_switch(
    fake: FakeBitstamp, api: Signer, account: FakeAccount, switches: Switches
) -> None:
    switches.instant_buy_amount_in_counter = False
    created = await ok(api, "buy/instant/btcusd/", {"amount": "0.03"})
    assert D(created["amount"]) == D("0.03")
    assert account.balance("btc").total == D("5.03")


async def test_instant_sell_in_base_or_for_a_counter_amount(
    fake: FakeBitstamp, api: Signer, account: FakeAccount
) -> None:
    sold = await ok(api, "sell/instant/btcusd/", {"amount": "0.02"})
    assert D(sold["amount"]) == D("0.02") and sold["type"] == "1"
    bids = levels(fake, 0)
    best, size = bids[0]
    wanted = (best * size / 2).quantize(D("0.01"))  # inside the first level
    base = (wanted / best).quantize(D("1e-8"), rounding="ROUND_UP")  # the least that reaches
    before = account.balance("btc").total
    received = await ok(
        api, "sell/instant/btcusd/", {"amount": str(wanted), "amount_in_counter": "True"}
    )
    assert D(received["amount"]) == base
    assert before - account.balance("btc").total == base
    assert base * best >= wanted > (base - D("1e-8")) * best


# -- replace ------------------------------------------------------------------------------


async def test_replace_order_by_id_cancels_and_places_atomically(
    fake: FakeBitstamp, api: Signer, account: FakeAccount
) -> None:
    bid = levels(fake, 0)[0][0]
    original = await ok(
        api, "buy/btcusd/", {"amount": "0.1", "price": str(bid - 100), "client_order_id": "a"}
    )
    reply = await api.post(
        "replace_order/",
        {"id": original["id"], "amount": "0.2", "price": str(bid - 90), "client_order_id": "b"},
    )
    answer = exact(reply)
    assert list(answer) == [
        "order_id", "order_type", "market", "amount", "price", "datetime", "orig_order_id",
        "orig_client_order_id", "status",
    ]  # fmt: skip
    assert answer["orig_order_id"] == int(original["id"])
    assert answer["orig_client_order_id"] == "a"
    assert (answer["order_type"], answer["amount"], answer["price"]) == (
        "0",
        "0.20000000",
        str(bid - 90),
    )
    assert answer["status"] == "Open"
    assert answer["datetime"].endswith("Z") and "T" in answer["datetime"]
    assert b'"order_id":%d' % answer["order_id"] in reply.body  # a JSON number
    gone = await ok(api, "order_status/", {"id": original["id"]})
    assert gone["status"] == "Canceled"
    new = await ok(api, "order_status/", {"id": str(answer["order_id"])})
    assert (new["status"], new["client_order_id"]) == ("Open", "b")
    reserved = ((bid - 90) * D("0.2") * D("1.004")).quantize(D("0.01"))
    assert account.balance("usd").reserved == reserved
    book = fake.detail_book("btcusd", None)[1]
    assert [row[2] for row in book if row[2] in (int(original["id"]), answer["order_id"])] == [
        answer["order_id"]
    ]


async def test_replace_order_by_client_order_id_both_readings(
    fake: FakeBitstamp, api: Signer
) -> None:
    bid = levels(fake, 0)[0][0]
    form = {"amount": "0.1", "price": str(bid - 100), "client_order_id": "orig"}
    await ok(api, "buy/btcusd/", form)
    # JKorf: orig_client_order_id names the original, client_order_id the new one.
    jk = await ok(
        api,
        "replace_order/",
        {"orig_client_order_id": "orig", "client_order_id": "next", "amount": "0.1",
         "price": str(bid - 99)},
    )  # fmt: skip
    assert jk["orig_client_order_id"] == "orig"
    # ccxt's edit_order: client_order_id alone names the original.
    ccxt = await ok(
        api, "replace_order/", {"client_order_id": "next", "amount": "0.1", "price": str(bid - 98)}
    )
    assert ccxt["orig_order_id"] == jk["order_id"] and ccxt["orig_client_order_id"] == "next"
    missing = await api.post("replace_order/", {"amount": "0.1", "price": "50000"})
    assert error(missing)[:2] == (400, "400.035")
    closed = await api.post(
        "replace_order/", {"id": str(jk["order_id"]), "amount": "0.1", "price": "50000"}
    )
    assert error(closed) == (404, "404.002", "Order not found.")


# -- order history ------------------------------------------------------------------------


async def test_account_order_data_and_order_data_list_each_change(
    fake: FakeBitstamp, api: Signer
) -> None:
    ask, level = levels(fake, 1)[0]
    sells = [size for price, size, _ in fake.detail_book("btcusd", 10)[2] if price == ask]
    rest = await ok(api, "buy/btcusd/", {"amount": "0.1", "price": "55000"})
    amount = level + D("0.01")  # takes the whole level, one fill per order, then rests
    crossing = await ok(api, "buy/btcusd/", {"amount": str(amount), "price": str(ask)})
    await ok(api, "cancel_order/", {"id": rest["id"]})
    events = await ok(api, "account_order_data/")
    fills = len(sells)
    assert [(e["event"], e["data"]["id"]) for e in events] == [
        ("order_created", int(rest["id"])),
        ("order_created", int(crossing["id"])),
        *[("order_changed", int(crossing["id"]))] * fills,
        ("order_deleted", int(rest["id"])),
    ]
    changes = [e["data"] for e in events[2 : 2 + fills]]
    assert [D(c["amount_traded"]) for c in changes] == sells
    assert D(changes[-1]["amount"]) == D("0.01")
    assert D(events[1]["data"]["amount_at_create"]) == amount
    assert [int(e["event_id"]) for e in events] == list(range(1, len(events) + 1))
    assert {e["order_source"] for e in events} == {"orderbook"}
    since = await ok(api, "account_order_data/", {"since_id": "2", "until_id": "3"})
    assert since == events[1:3]
    assert await ok(api, "account_order_data/", {"market": "ethusd"}) == []
    assert await ok(api, "account_order_data/", {"order_source": "stop_order"}) == []
    one = await ok(api, "order_data/", {"id": crossing["id"]})
    assert one == events[1 : 2 + fills]


# -- user transactions --------------------------------------------------------------------


async def trade_a_few(fake: FakeBitstamp, api: Signer, count: int) -> None:
    for _ in range(count):
        await ok(api, "buy/market/btcusd/", {"amount": "0.001"})
        await ok(api, "sell/market/btcusd/", {"amount": "0.001"})


async def test_user_transactions_paging_and_refusals(
    fake: FakeBitstamp, api: Signer, clock: Clock
) -> None:
    await trade_a_few(fake, api, 3)
    clock.now += 100
    await trade_a_few(fake, api, 2)
    rows = await ok(api, "user_transactions/", {"limit": "1000"})
    times = [r["datetime"] for r in rows]
    assert len(rows) >= 10 and times == sorted(times, reverse=True)
    ascending = await ok(api, "user_transactions/", {"sort": "asc", "limit": "1000"})
    assert ascending == rows[::-1]
    assert await ok(api, "user_transactions/", {"offset": "2", "limit": "3"}) == rows[2:5]
    late = await ok(api, "user_transactions/", {"since_timestamp": str(int(NOW) + 50)})
    assert late == [r for r in rows if r["datetime"] >= "2023-11-14 22:14:"]
    early = await ok(api, "user_transactions/", {"until_timestamp": str(int(NOW) + 50)})
    assert late + early == rows
    from_id = await ok(api, "user_transactions/", {"since_id": str(rows[3]["id"]), "limit": "1"})
    assert from_id == [r for r in rows if r["id"] >= rows[3]["id"]]  # limit forced to 1000
    assert await ok(api, "user_transactions/ethusd/") == []
    for form, code, reason in [
        ({"offset": ""}, "400.010", "Invalid offset."),
        ({"offset": "200001"}, "400.010", "Invalid offset."),
        ({"limit": "0"}, "400.011", "Invalid limit."),
        ({"limit": "1001"}, "400.011", "Invalid limit."),
        ({"sort": "up"}, "400.012", "Invalid sort parameter."),
        ({"since_timestamp": "yesterday"}, "400.013", "Invalid since_timestamp."),
    ]:
        assert error(await api.post("user_transactions/", form)) == (
            400,
            code,
            {"__all__": [reason]},
        )
    assert await ok(api, "user_transactions/", {"offset": "200000"}) == []


async def test_user_transactions_rows_carry_every_currency_column(
    fake: FakeBitstamp, api: Signer
) -> None:
    await trade_a_few(fake, api, 3)
    rows = await ok(api, "user_transactions/")
    currencies = {"usd", "eur", "btc", "eth", "xrp", "ltc", "usdc", "sol"}
    for row in rows:
        assert currencies <= set(row)
        assert isinstance(row["btc_usd"], Decimal) and row["type"] == "2"
        spellings = {repr(row[code]) for code in currencies - {"usd", "btc"}}
        assert spellings in ({"0"}, {"'0.00'", "'0.00000000'", "'0.00000'"})
        assert isinstance(row["fee"], str) and len(row["fee"].split(".")[1]) == 2  # USD cents
        assert (D(row["btc"]) > 0) == (D(row["usd"]) < 0)  # the side is the sign
    assert {type(row["eth"]) for row in rows} == {int, str}  # both spellings of zero appear


async def test_until_id_is_honoured_only_behind_its_switch(
    fake: FakeBitstamp, api: Signer, switches: Switches
) -> None:
    await trade_a_few(fake, api, 2)
    rows = await ok(api, "user_transactions/")
    cut = str(rows[1]["id"])
    assert await ok(api, "user_transactions/", {"until_id": cut}) == rows
    switches.user_transactions_until_id = True
    assert await ok(api, "user_transactions/", {"until_id": cut}) == rows[1:]


# -- caches, visibility, ids ---------------------------------------------------------------


async def test_open_orders_are_cached_ten_seconds_per_path(
    fake: FakeBitstamp, api: Signer, clock: Clock, switches: Switches
) -> None:
    first = await ok(api, "buy/btcusd/", {"amount": "0.01", "price": "55000"})
    assert [o["id"] for o in await ok(api, "open_orders/all/")] == [first["id"]]
    second = await ok(api, "buy/btcusd/", {"amount": "0.01", "price": "55001"})
    assert [o["id"] for o in await ok(api, "open_orders/all/")] == [first["id"]]  # cached
    fresh = await ok(api, "open_orders/btcusd/")  # another path: its own cache
    assert [o["id"] for o in fresh] == [first["id"], second["id"]]
    clock.now += 10
    assert len(await ok(api, "open_orders/all/")) == 2
    switches.open_orders_cache_seconds = 0
    await ok(api, "cancel_order/", {"id": first["id"]})
    assert [o["id"] for o in await ok(api, "open_orders/btcusd/")] == [second["id"]]


async def test_closed_orders_are_visible_thirty_days(
    fake: FakeBitstamp, api: Signer, clock: Clock
) -> None:
    order = await ok(api, "buy/btcusd/", {"amount": "0.01", "price": "55000"})
    await ok(api, "cancel_order/", {"id": order["id"]})
    fake.advance(30 * 86400)
    assert (await ok(api, "order_status/", {"id": order["id"]}))["status"] == "Canceled"
    fake.advance(1)
    reply = await api.post("order_status/", {"id": order["id"]})
    assert error(reply) == (404, "404.002", "Order not found.")


async def test_ids_past_2_53_behind_the_switch(clock: Clock) -> None:
    async with (
        FakeBitstamp(
            rate_limits=None, wall_clock=clock, book_depth=50, switches=Switches(high_ids=True)
        ) as fake,
        aiohttp.ClientSession() as session,
    ):
        fake.add_account(KEY, SECRET, {"usd": "100000"})
        api = Signer.of(fake, session, KEY, SECRET)
        created = await ok(api, "buy/market/btcusd/", {"amount": "0.01"})
        assert int(created["id"]) > 2**53  # a string in the create answer
        status = await api.post("order_status/", {"id": created["id"]})
        decoded = exact(status)
        assert decoded["id"] == int(created["id"])  # a JSON number, every digit
        assert all(fill["tid"] > 2**53 for fill in decoded["transactions"])
        rows = await ok(api, "user_transactions/")
        assert rows[0]["order_id"] == int(created["id"]) and rows[0]["id"] > 2**53
        assert all(row[2] > 2**53 for row in fake.detail_book("btcusd", 10)[1])
        assert float(decoded["id"]) != decoded["id"]  # a double could not hold it


# -- switches and small endpoints ---------------------------------------------------------


async def test_order_flags_read_as_django_or_strictly(
    fake: FakeBitstamp, api: Signer, switches: Switches
) -> None:
    best_ask = levels(fake, 1)[0][0]
    moc = {"amount": "0.01", "price": str(best_ask), "moc_order": "true"}
    assert (await ok(api, "order_status/", {"id": (await ok(api, "buy/btcusd/", moc))["id"]}))[
        "status"
    ] == "Canceled"
    switches.strict_booleans = True
    reply = await api.post("buy/btcusd/", moc)
    assert error(reply) == (400, "400.001", {"moc_order": ["Must be a valid boolean."]})
    moc["moc_order"] = "True"
    assert (await api.post("buy/btcusd/", moc)).status == 200


async def test_cancel_numbers_as_strings_behind_the_switch(
    fake: FakeBitstamp, api: Signer, switches: Switches
) -> None:
    switches.cancel_numbers_as_strings = True
    order = await ok(api, "buy/btcusd/", {"amount": "0.01", "price": "55000"})
    reply = await api.post("cancel_order/", {"id": order["id"]})
    assert reply.json()["amount"] == "0.01000000" and reply.json()["price"] == "55000"
    assert reply.json()["id"] == int(order["id"]) and reply.json()["type"] == 0


async def test_fees_and_markets_of_the_account(
    fake: FakeBitstamp, api: Signer, switches: Switches
) -> None:
    withdrawal = await ok(api, "fees/withdrawal/")
    assert {"currency": "btc", "fee": "0.00015000", "network": "bitcoin"} in withdrawal
    assert {row["currency"] for row in withdrawal} == {"btc", "eth", "xrp", "ltc", "usdc", "sol"}
    assert await ok(api, "fees/withdrawal/eth/") == {
        "currency": "eth",
        "fee": "0.00150000",
        "network": "ethereum",
    }
    assert (await ok(api, "fees/withdrawal/btc/", {"network": "bitcoin"}))["fee"] == "0.00015000"
    assert error(await api.post("fees/withdrawal/btc/", {"network": "ethereum"}))[1] == "400.001"
    assert error(await api.post("fees/withdrawal/usd/"))[:2] == (404, "404.006")
    switches.trading_fees_as_list = True
    fee = await ok(api, "fees/trading/ethusd/")
    assert fee["fees"] == [{"maker": "0.30000", "taker": "0.40000"}]
    markets = await ok(api, "my_markets/")
    assert markets[0] == {"name": "BTC/USD", "url_symbol": "btcusd"} and len(markets) == 9


async def test_websocket_tokens_are_checked_for_the_stream_server(
    fake: FakeBitstamp, api: Signer, account: FakeAccount
) -> None:
    token = await ok(api, "websockets_token/")
    assert fake.check_ws_token(token["token"]) == account.user_id == token["user_id"]
    assert fake.check_ws_token("x" * 32) is None
    fake.clock_offset = 59.0
    assert fake.check_ws_token(token["token"]) == account.user_id
    fake.clock_offset = 60.0  # valid_sec: 60 of the exchange's clock
    assert fake.check_ws_token(token["token"]) is None


async def test_revoke_all_api_keys_is_a_kill_switch(fake: FakeBitstamp, api: Signer) -> None:
    token = await ok(api, "websockets_token/")
    assert await ok(api, "revoke_all_api_keys/") == {"revoked_api_keys": [KEY]}
    reply = await api.post("account_balances/")
    assert (reply.status, reply.json()["code"]) == (403, "API0001")
    assert fake.check_ws_token(token["token"]) is None
