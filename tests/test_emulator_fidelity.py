"""Every emulator answer checked against Bitstamp's own spec, field by field.

``tests/data/bitstamp-openapi-models-wire.tsv`` and ``bitstamp-openapi-operations.tsv``
are copied from ``../shared/reference`` (their provenance and caveats are in
``tests/data/bitstamp-openapi-SOURCE.txt``): every model, wire name and type of Bitstamp's
official OpenAPI spec (late 2023), and every operation with its response model.

For each answer: every field must be one the spec's model names (or one the fact sheet
documents beyond it: ``EXTRAS``), and have the spec's type. "Number" fields the spec's own
validator requires as strings (``js_validator_requires_string``) must be numeric strings.
Where the spec and the fact sheet disagree, both readings are accepted and ``SENT`` says
which one the emulator sends -- the test fails if that changes unnoticed.

The six endpoints newer than the spec (``replace_order/``, ``order_data/``,
``account_order_data/``, ...) are checked against the shapes the fact sheet and JKorf's
models give (``NEWER_MODELS``).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aiobitstamp.testing import FakeBitstamp
from tests.test_testing import Clock, Signer

DATA = Path(__file__).parent / "data"
KEY, SECRET = "fidelitykey", "fidelitysecret"


def _load_models() -> dict[str, dict[str, dict[str, str]]]:
    models: dict[str, dict[str, dict[str, str]]] = {}
    with (DATA / "bitstamp-openapi-models-wire.tsv").open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            models.setdefault(row["model"], {})[row["wire_name"]] = row
    return models


def _load_operations() -> dict[tuple[str, str], str]:
    with (DATA / "bitstamp-openapi-operations.tsv").open(newline="") as handle:
        return {
            (row["method"], row["path"]): row["response_model"]
            for row in csv.DictReader(handle, delimiter="\t")
        }


MODELS = _load_models()
OPERATIONS = _load_operations()

# The spec types a oneOf union of the success model and an error per operation; the
# success model is the one an accepted request answers with.
UNIONS = {
    "OpenInstantBuyOrder200Response": "BuySellOrderResponse",
    "GetOrderStatus200Response": "OrderStatusResponse",
    "CancelOrder200Response": "CancelOrderResponse",
    "GetUserTransactions200Response": "[UserTransactionsResponse]",
    "GetOrderBook200Response": "OrderBookResponse",
    "GetOHLCData200Response": "GetOHLCData200Response",
}

# The spec names one object where the fact sheet (section b) and every client read an
# array of them: the emulator sends the array.
ARRAYS = {"transactions/{market_symbol}/", "trading-pairs-info/"}

# Fields the fact sheet documents that the spec's models lack.
EXTRAS: dict[str, dict[str, str]] = {
    # section b: "since 2023-07-05 a side field" is in the spec; market_type as markets/.
    "TickerResponse": {"market_type": "String"},
    "TickerHourResponse": {"market_type": "String"},
    "TickerWithPairResponse": {"market_type": "String"},
    # section c: "newer responses also market" (create), and the rows' ids.
    "BuySellOrderResponse": {},
    # section c: order_status "market"; transactions carry the two currency columns.
    "OrderStatusResponse": {},
}

# (model, wire name): what the emulator sends where the spec and the fact sheet disagree.
SENT = {
    # Spec: String. Fact sheet (i): "columns mix 0 (int), 0.0 and "0.00500000"". Both sent:
    # a zero is 0 on some rows and a string of the currency's decimals on others.
    # (Both placeholders stand for a currency column; the check files them all under the
    # first.)
    ("UserTransactionsResponse", "{from_currency}"): {"string", "number"},
    # Spec: [Fee]. Fact sheet: an object {maker, taker} (newer ccxt); a switch sends a list.
    ("FeeTradingResponse", "fees"): {"object"},
    # Spec: Number. A ccxt comment shows strings; a switch sends strings.
    ("CancelOrderResponse", "amount"): {"number"},
    ("CancelOrderResponse", "price"): {"number"},
    ("Order", "amount"): {"number"},
    ("Order", "price"): {"number"},
}

NEWER_MODELS: dict[str, dict[str, str]] = {
    # Fact sheet c (JK-TRADE, CCXT-PY editOrder comment).
    "ReplaceOrderResponse": {
        "order_id": "Number",
        "order_type": "String",
        "market": "String",
        "amount": "String",
        "price": "String",
        "datetime": "Date",
        "orig_order_id": "Number",
        "orig_client_order_id": "String",
        "status": "String",
    },
    # JKorf's BitstampOrderEvent.
    "OrderEventRow": {
        "event": "String",
        "event_id": "String",
        "order_source": "String",
        "trade_account_id": "Number",
        "market": "String",
        "data": "OrderEventData",
    },
    "OrderEventData": {
        "id": "Number",
        "order_type": "Number",
        "order_subtype": "String",
        "microtimestamp": "String",
        "amount": "String",
        "amount_traded": "String",
        "amount_at_create": "String",
        "price": "String",
        "is_liquidation": "Boolean",
        "trade_account_id": "Number",
        "client_order_id": "String",
    },
}

NUMERIC = re.compile(r"-?\d+(\.\d+)?")


def kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


class Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.seen: set[tuple[str, str]] = set()

    def fields(self, model: str) -> dict[str, tuple[str, bool]]:
        """wire name -> (type, the spec's validator wants a string)."""
        if model in NEWER_MODELS:
            return {name: (type_, False) for name, type_ in NEWER_MODELS[model].items()}
        rows = MODELS[model]
        found = {
            name: (row["type"], row["js_validator_requires_string"] == "yes")
            for name, row in rows.items()
        }
        found.update({name: (type_, False) for name, type_ in EXTRAS.get(model, {}).items()})
        return found

    def check(self, value: Any, type_: str, where: str, *, as_string: bool = False) -> None:
        if type_.startswith("[") and type_.endswith("]"):
            if not isinstance(value, list):
                self.problems.append(f"{where}: expected a list, got {value!r}")
                return
            for index, item in enumerate(value):
                self.check(item, type_[1:-1], f"{where}[{index}]")
            return
        got = kind(value)
        if type_ == "String":
            ok = got == "string"
        elif type_ == "Number":
            if as_string:
                ok = got == "string" and bool(NUMERIC.fullmatch(value))
            else:
                ok = got == "number"
        elif type_ == "Boolean":
            ok = got == "boolean"
        elif type_ == "Date":
            ok = got == "string" and bool(re.match(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d", value))
        else:
            self.model(value, type_, where)
            return
        if not ok:
            self.problems.append(
                f"{where}: {type_}{' as string' if as_string else ''}, got {value!r}"
            )

    def model(self, value: Any, model: str, where: str) -> None:
        if not isinstance(value, dict):
            self.problems.append(f"{where}: expected a {model} object, got {value!r}")
            return
        fields = self.fields(model)
        for name, item in value.items():
            key = name
            if name not in fields:
                key = self.dynamic(model, name, fields)
                if key is None:
                    self.problems.append(f"{where}.{name}: not in {model}")
                    continue
            type_, as_string = fields[key]
            disputed = SENT.get((model, key))
            if disputed is not None:
                self.seen.add((model, key))
                if kind(item) not in disputed and not (
                    kind(item) == "array" and "array" in disputed
                ):
                    self.problems.append(f"{where}.{name}: sent {kind(item)}, said {disputed}")
                if kind(item) == "object" and type_.startswith("["):
                    type_ = type_[1:-1]  # the fact sheet's object instead of the spec's list
                elif kind(item) == "number" and type_ == "String":
                    continue  # a zero sent as 0 (the fact sheet's mixed columns)
            self.check(item, type_, f"{where}.{name}", as_string=as_string)

    @staticmethod
    def dynamic(model: str, name: str, fields: dict[str, tuple[str, bool]]) -> str | None:
        """The placeholder a dynamic key stands for: {currency_pair} is "btc_usd"."""
        if "{currency_pair}" in fields and re.fullmatch(r"[a-z]+_[a-z]+", name):
            return "{currency_pair}"
        if "{from_currency}" in fields and re.fullmatch(r"[a-z]{3,5}", name):
            return "{from_currency}"
        return None


@pytest.fixture
async def signer() -> AsyncIterator[Signer]:
    async with (
        aiohttp.ClientSession() as session,
        FakeBitstamp(rate_limits=None, wall_clock=Clock(), book_depth=200) as fake,
    ):
        fake.add_account(KEY, SECRET, {"usd": "1000000", "btc": "50", "eth": "100"})
        yield Signer.of(fake, session, KEY, SECRET)


def response_model(method: str, path: str) -> str:
    model = OPERATIONS[(method, "/api/v2/" + path)]
    model = UNIONS.get(model, model)
    return f"[{model}]" if path in ARRAYS else model


async def test_every_answer_has_the_spec_fields_and_types(signer: Signer) -> None:
    checker = Checker()

    async def private(template: str, path: str, form: dict[str, str] | None = None) -> Any:
        reply = await signer.post(path, form)
        assert reply.status == 200, (path, reply.body)
        answer = json.loads(reply.body, parse_float=Decimal)
        checker.check(answer, response_model("POST", template), template)
        return answer

    async def public(template: str, path: str) -> Any:
        reply = await signer.get(path)
        assert reply.status == 200, (path, reply.body)
        answer = json.loads(reply.body, parse_float=Decimal)
        checker.check(answer, response_model("GET", template), template)
        return answer

    book = await public("order_book/{market_symbol}/", "order_book/btcusd/")
    bid, ask = Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])
    await public("order_book/{market_symbol}/", "order_book/btcusd/?group=2")
    for template, path in (
        ("ticker/{market_symbol}/", "ticker/btcusd/"),
        ("ticker_hour/{market_symbol}/", "ticker_hour/btcusd/"),
        ("ticker/", "ticker/"),
        ("transactions/{market_symbol}/", "transactions/btcusd/?time=hour"),
        ("ohlc/{market_symbol}/", "ohlc/btcusd/?step=60&limit=5"),
        ("trading-pairs-info/", "trading-pairs-info/"),
        ("eur_usd/", "eur_usd/"),
    ):
        await public(template, path)

    await private("account_balances/", "account_balances/")
    await private("account_balances/{currency}/", "account_balances/btc/")
    await private("fees/trading/", "fees/trading/")
    await private("fees/trading/{market_symbol}/", "fees/trading/btcusd/")
    await private("fees/withdrawal/", "fees/withdrawal/")
    await private("fees/withdrawal/{currency}/", "fees/withdrawal/btc/")
    await private("websockets_token/", "websockets_token/")
    resting = await private(
        "buy/{market_symbol}/",
        "buy/btcusd/",
        {
            "amount": "0.1",
            "price": str(bid - 5),
            "client_order_id": "fid-1",
            "limit_price": str(ask + 50),
        },
    )
    crossing = await private(
        "sell/{market_symbol}/", "sell/btcusd/", {"amount": "0.5", "price": str(bid - 10)}
    )
    await private("buy/market/{market_symbol}/", "buy/market/btcusd/", {"amount": "0.01"})
    await private("sell/market/{market_symbol}/", "sell/market/btcusd/", {"amount": "0.01"})
    await private("buy/instant/{market_symbol}/", "buy/instant/btcusd/", {"amount": "500.00"})
    await private("sell/instant/{market_symbol}/", "sell/instant/btcusd/", {"amount": "0.01"})
    await private(
        "sell/instant/{market_symbol}/",
        "sell/instant/btcusd/",
        {"amount": "300.00", "amount_in_counter": "True"},
    )
    await private("open_orders/", "open_orders/all/")
    await private("open_orders/{market_symbol}/", "open_orders/btcusd/")
    status = await private("order_status/", "order_status/", {"id": crossing["id"]})
    assert status["transactions"], "a status with fills"
    await private("order_status/", "order_status/", {"client_order_id": "fid-1"})
    await private("user_transactions/", "user_transactions/")
    await private("user_transactions/{market_symbol}/", "user_transactions/btcusd/", {"limit": "3"})
    await private("cancel_order/", "cancel_order/", {"id": resting["id"]})
    await private("buy/{market_symbol}/", "buy/btcusd/", {"amount": "0.1", "price": str(bid - 50)})
    await private("buy/{market_symbol}/", "buy/ethusd/", {"amount": "1", "price": "2900"})
    await private("cancel_all_orders/{market_symbol}/", "cancel_all_orders/btcusd/")
    await private("cancel_all_orders/", "cancel_all_orders/")
    my_markets = await signer.post("my_markets/")
    checker.check(json.loads(my_markets.body), "[TradingPair]", "my_markets/")

    # The endpoints newer than the spec, against the fact sheet's shapes.
    placed = await private(
        "buy/{market_symbol}/",
        "buy/btcusd/",
        {"amount": "0.1", "price": str(bid - 60), "client_order_id": "fid-2"},
    )
    replaced = await signer.post(
        "replace_order/",
        {"id": placed["id"], "amount": "0.2", "price": str(bid - 70), "client_order_id": "fid-3"},
    )
    checker.check(json.loads(replaced.body), "ReplaceOrderResponse", "replace_order/")
    events = await signer.post("account_order_data/")
    checker.check(json.loads(events.body), "[OrderEventRow]", "account_order_data/")
    one = await signer.post("order_data/", {"id": placed["id"]})
    checker.check(json.loads(one.body), "[OrderEventRow]", "order_data/")

    assert checker.problems == []
    # Every disputed field was actually sent and checked.
    assert checker.seen == set(SENT)


def test_the_copied_spec_tables_are_the_shared_ones() -> None:
    """The copies in tests/data match ../shared/reference when that is present."""
    shared = Path(__file__).parent.parent.parent / "shared" / "reference"
    if not shared.is_dir():
        pytest.skip("../shared is not beside this clone (CI): the copies stand alone")
    for name in ("bitstamp-openapi-models-wire.tsv", "bitstamp-openapi-operations.tsv"):
        assert (DATA / name).read_bytes() == (shared / name).read_bytes()


@pytest.mark.parametrize(
    ("answer", "model", "problem"),
    [
        (
            {"id": "1", "amount": 1, "price": 2, "type": 0, "market": "BTC/USD"},
            "CancelOrderResponse",
            "id",
        ),
        (
            {"currency": "usd", "total": 1, "available": "1", "reserved": "0"},
            "AccountBalancesResponse",
            "total",
        ),
        ({"currency": "usd", "total": "1", "surprise": "x"}, "AccountBalancesResponse", "surprise"),
        ([{"name": "BTC/USD", "url_symbol": 5}], "[TradingPair]", "url_symbol"),
        (
            {"id": 1, "fee": "0.1", "type": "2", "btc_usd": "60000"},
            "UserTransactionsResponse",
            "btc_usd",
        ),
    ],
)
def test_the_checker_catches_wrong_names_and_types(answer: Any, model: str, problem: str) -> None:
    checker = Checker()
    checker.check(answer, model, "answer")
    assert len(checker.problems) == 1 and problem in checker.problems[0]
