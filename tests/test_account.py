"""Account endpoints: fees, the account's markets, the kill switch, order events, crypto
transactions (one page and the whole history); every refusal sends nothing. The last tests
run against the emulator."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest

from aiobitstamp import (
    BadRequestError,
    BitstampError,
    Client,
    InvalidParameterError,
    MockTransport,
    NotFoundError,
    Request,
    Response,
    RetryPolicy,
    Side,
    UnexpectedResponseError,
)
from aiobitstamp._api import account as account_api
from aiobitstamp._models import (
    CryptoTransaction,
    CryptoTransactionKind,
    OrderEventType,
    OrderSource,
    RevokedApiKeys,
    TradingFee,
)

from .test_client import BASE, KEY, SECRET, exchange, json_response

UTC = timezone.utc
JSON = {"Content-Type": "application/json"}


def raw(body: bytes) -> Callable[[Request], Response]:
    """Answer with exactly these bytes (JSON numbers as the exchange writes them)."""
    return lambda request: Response(200, JSON, body)


def form_of(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def requests_to(transport: MockTransport, path: str) -> list[Request]:
    return [r for r in transport.requests if r.url.split("?")[0] == BASE + path]


@asynccontextmanager
async def client_for(transport: MockTransport, **options: Any) -> AsyncIterator[Client]:
    async with Client(KEY, SECRET, transport=transport, rate_limits=None, **options) as client:
        yield client


# ---------------------------------------------------------------------------- fees

TRADING_FEES = b"""[
 {"currency_pair": "btcusd", "market": "btcusd", "fees": {"maker": "0.15000", "taker": "0.16000"}},
 {"currency_pair": "ethusd", "fees": [{"maker": "0.30000", "taker": 0.4}]}
]"""


async def test_trading_fees_are_percent_to_the_exchanges_precision() -> None:
    transport = exchange({"/api/v2/fees/trading/": raw(TRADING_FEES)})
    async with client_for(transport) as client:
        btc, eth = await client.trading_fees()
    assert (btc.market, str(btc.maker), str(btc.taker)) == ("btcusd", "0.15000", "0.16000")
    assert btc.maker_rate == Decimal("0.0015") and btc.taker_rate == Decimal("0.0016")
    # The older shape: fees as a one-element list, market only under currency_pair.
    assert (eth.market, eth.maker, eth.taker) == ("ethusd", Decimal("0.3"), Decimal("0.4"))
    [request] = requests_to(transport, "/api/v2/fees/trading/")
    assert request.method == "POST" and request.body == b""


@pytest.mark.parametrize(
    "answer",
    [
        {"currency_pair": "btcusd", "market": "btcusd", "fees": {"maker": "0.1", "taker": "0.2"}},
        [{"market": "btcusd", "fees": {"maker": "0.1", "taker": "0.2"}}],  # older servers
    ],
)
async def test_trading_fee_of_one_market_is_an_object(answer: object) -> None:
    transport = exchange({"/api/v2/fees/trading/btcusd/": lambda r: json_response(answer)})
    async with client_for(transport) as client:
        fee = await client.trading_fee("btcusd")
    assert fee == TradingFee(market="btcusd", maker=Decimal("0.1"), taker=Decimal("0.2"))


@pytest.mark.parametrize(
    "answer",
    [
        {"market": "ethusd", "fees": {"maker": "0.1", "taker": "0.2"}},  # another market
        [
            {"market": "btcusd", "fees": {"maker": "0.1", "taker": "0.2"}},
            {"market": "ethusd", "fees": {"maker": "0.1", "taker": "0.2"}},
        ],
        {"market": "btcusd", "fees": {"maker": "0.1"}},
        {"market": "btcusd", "fees": [{"maker": "0.1", "taker": "x"}]},
        {"market": "btcusd", "fees": []},
    ],
)
async def test_a_wrong_trading_fee_answer_is_unexpected(answer: object) -> None:
    transport = exchange({"/api/v2/fees/trading/btcusd/": lambda r: json_response(answer)})
    async with client_for(transport) as client:
        with pytest.raises(UnexpectedResponseError):
            await client.trading_fee("btcusd")


async def test_withdrawal_fees_per_network() -> None:
    body = b"""[{"currency": "btc", "fee": "0.00015000", "network": "bitcoin"},
                {"currency": "usdc", "fee": 2.5, "network": "ethereum"},
                {"currency": "xrp", "fee": "0.25"}]"""
    transport = exchange({"/api/v2/fees/withdrawal/": raw(body)})
    async with client_for(transport) as client:
        btc, usdc, xrp = await client.withdrawal_fees()
    assert (btc.currency, str(btc.fee), btc.network) == ("btc", "0.00015000", "bitcoin")
    assert (usdc.fee, usdc.network) == (Decimal("2.5"), "ethereum")
    assert xrp.network is None


async def test_withdrawal_fee_of_one_currency_and_network() -> None:
    answer = {"currency": "eth", "fee": "0.00200000", "network": "ethereum"}
    listed = [{"currency": "ETH", "name": "Ether", "type": "crypto", "decimals": 8}]
    transport = exchange(
        {
            "/api/v2/fees/withdrawal/eth/": lambda r: json_response(answer),
            "/api/v2/currencies/": lambda r: json_response(listed),
        }
    )
    async with client_for(transport) as client:
        fee = await client.withdrawal_fee("eth", network="ethereum")
        await client.withdrawal_fee("eth")
    first, second = requests_to(transport, "/api/v2/fees/withdrawal/eth/")
    assert form_of(first) == {"network": "ethereum"}
    assert second.body == b""
    assert (fee.currency, str(fee.fee), fee.network) == ("eth", "0.00200000", "ethereum")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("ETH",), "currency"),
        (("e/th",), "currency"),
        ((5,), "currency"),
        (("eth", "Ethereum"), "network"),
        (("eth", "eth ereum"), "network"),
        (("eth", ""), "network"),
    ],
)
async def test_bad_withdrawal_fee_arguments_send_nothing(
    args: tuple[Any, ...], fragment: str
) -> None:
    transport = exchange({})
    async with client_for(transport) as client:
        with pytest.raises(InvalidParameterError, match=fragment):
            await client.withdrawal_fee(*args)
    assert transport.requests == []


async def test_a_bad_pair_for_trading_fee_sends_nothing() -> None:
    transport = exchange({})
    async with client_for(transport) as client:
        with pytest.raises(InvalidParameterError, match="market symbol"):
            await client.trading_fee("BTC/USD")
    assert transport.requests == []


# ---------------------------------------------------------------------------- markets, keys


@pytest.mark.parametrize("verb", ["POST", "GET"])
async def test_my_markets_uses_the_configured_verb(verb: str) -> None:
    answer = [
        {"name": "BTC/USD", "url_symbol": "btcusd"},
        {"name": "ETH/EUR", "market_symbol": "etheur"},
    ]
    transport = exchange({"/api/v2/my_markets/": lambda r: json_response(answer)})
    async with client_for(transport, my_markets_method=verb) as client:
        markets = list(await client.my_markets())
    assert [(m.name, m.market_symbol) for m in markets] == [
        ("BTC/USD", "btcusd"),
        ("ETH/EUR", "etheur"),
    ]
    [request] = requests_to(transport, "/api/v2/my_markets/")
    assert request.method == verb
    assert "X-Auth-Signature" in request.headers


async def test_the_kill_switch_revokes_and_says_how_many() -> None:
    answer = {"revoked_api_keys": ["key-one-abc", "key-two-def"]}
    transport = exchange({"/api/v2/revoke_all_api_keys/": lambda r: json_response(answer)})
    async with client_for(transport) as client:
        revoked = await client.revoke_all_api_keys()
    assert revoked == RevokedApiKeys(api_keys=("key-one-abc", "key-two-def"))
    assert revoked.count == 2
    assert repr(revoked) == "RevokedApiKeys(count=2)"  # the keys themselves stay out of logs
    [request] = requests_to(transport, "/api/v2/revoke_all_api_keys/")
    assert request.method == "POST" and request.body == b""


async def test_the_kill_switch_is_sent_again_after_an_ambiguous_failure() -> None:
    answers = iter(
        [
            Response(502, {"Content-Type": "text/html"}, b"<html>Bad gateway</html>"),
            json_response({"revoked_api_keys": ["key-one-abc"]}),
        ]
    )
    transport = exchange({"/api/v2/revoke_all_api_keys/": lambda r: next(answers)})
    policy = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
    async with client_for(transport, retry=policy) as client:
        revoked = await client.revoke_all_api_keys()
    assert revoked.count == 1
    assert len(requests_to(transport, "/api/v2/revoke_all_api_keys/")) == 2


@pytest.mark.parametrize("answer", [{"revoked_api_keys": "key"}, {}, {"revoked_api_keys": [1]}])
async def test_a_wrong_kill_switch_answer_is_unexpected(answer: object) -> None:
    transport = exchange({"/api/v2/revoke_all_api_keys/": lambda r: json_response(answer)})
    async with client_for(transport) as client:
        with pytest.raises(UnexpectedResponseError):
            await client.revoke_all_api_keys()


# ---------------------------------------------------------------------------- order events

ORDER_EVENTS = b"""[
 {"event": "order_created", "event_id": "88001", "order_source": "orderbook",
  "trade_account_id": 0,
  "data": {"id": 1463471322288128, "id_str": "1463471322288128", "order_type": 1,
           "order_subtype": 0, "datetime": "1646127778", "microtimestamp": "1646127777950123",
           "amount": 0.05, "amount_str": "0.05000000", "amount_traded": "0",
           "amount_at_create": "0.05000000", "price": 77400, "price_str": "7.74E+4",
           "is_liquidation": false, "client_order_id": "bot-7"}},
 {"event": "order_expired", "event_id": 88002, "order_source": "orderbook",
  "data": {"id": 9223372036854775809, "order_type": 0, "datetime": "1646127779",
           "amount": 0.01, "price": 123456789.12345678}}
]"""


@pytest.mark.parametrize(
    ("method", "path"),
    [("order_data", "/api/v2/order_data/"), ("account_order_data", "/api/v2/account_order_data/")],
)
async def test_order_events_are_typed(method: str, path: str) -> None:
    transport = exchange({path: raw(ORDER_EVENTS)})
    async with client_for(transport) as client:
        created, odd = await getattr(client, method)(
            "btcusd", order_source=OrderSource.STOP_ORDER, since_id=88000, until_id="88100"
        )
    [request] = requests_to(transport, path)
    assert form_of(request) == {
        "order_source": "stop_order",
        "since_id": "88000",
        "until_id": "88100",
        "market": "btcusd",
    }
    assert created.event is OrderEventType.CREATED
    assert (created.order_id, created.side, created.client_order_id) == (
        "1463471322288128",
        Side.SELL,
        "bot-7",
    )
    # The exact *_str twins win over the JSON numbers.
    assert str(created.amount) == "0.05000000"
    assert created.price == Decimal("77400")
    assert created.amount_traded == 0 and created.amount_at_create == Decimal("0.05")
    assert created.timestamp == datetime(2022, 3, 1, 9, 42, 57, 950123, tzinfo=UTC)
    assert (created.event_id, created.trade_account_id, created.order_subtype) == (
        "88001",
        "0",
        "0",
    )
    assert created.is_liquidation is False
    # An event this version does not list is kept, with exact numbers and a big id.
    assert odd.event.value == "order_expired" and not odd.event.known
    assert odd.event is OrderEventType("order_expired")
    assert odd.order_id == "9223372036854775809"
    assert odd.price == Decimal("123456789.12345678")
    assert odd.side is Side.BUY
    assert odd.timestamp == datetime(2022, 3, 1, 9, 42, 59, tzinfo=UTC)


async def test_order_events_default_to_the_book() -> None:
    transport = exchange({"/api/v2/account_order_data/": lambda r: json_response([])})
    async with client_for(transport) as client:
        assert list(await client.account_order_data("btcusd")) == []
    [request] = requests_to(transport, "/api/v2/account_order_data/")
    assert form_of(request) == {"order_source": "orderbook", "market": "btcusd"}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"order_source": "book"}, "order_source must be one of"),
        ({"order_source": None}, "order_source must be one of"),
        ({"since_id": "a b"}, "since_id"),
        ({"since_id": -1}, "since_id"),
        ({"until_id": "5;6"}, "until_id"),
        ({"since_id": 10, "until_id": 9}, "must not be below since_id"),
        ({"pair": "BTC-USD"}, "market symbol"),
    ],
)
async def test_bad_order_event_arguments_send_nothing(
    kwargs: dict[str, Any], fragment: str
) -> None:
    transport = exchange({})
    pair = kwargs.pop("pair", "btcusd")
    async with client_for(transport) as client:
        for method in (client.order_data, client.account_order_data):
            with pytest.raises(InvalidParameterError, match=fragment):
                await method(pair, **kwargs)
    assert transport.requests == []


@pytest.mark.parametrize(
    "event",
    [
        {"event": "order_created", "data": {"id": 1, "order_type": 2, "price": "1", "amount": "1",
                                            "datetime": "1"}},
        {"event": "order_created", "data": {"id": 1, "order_type": 0, "price": "x",
                                            "amount": "1", "datetime": "1"}},
        {"event": "Order Created!", "data": {"id": 1, "order_type": 0, "price": "1",
                                             "amount": "1", "datetime": "1"}},
        {"event": "order_created", "data": "gone"},
        {"event": "order_created"},
    ],
)  # fmt: skip
async def test_a_malformed_order_event_is_refused(event: dict[str, Any]) -> None:
    from aiobitstamp._models import OrderEvent

    with pytest.raises(ValueError, match="OrderEvent"):
        OrderEvent.from_wire(event)


# ---------------------------------------------------------------------------- crypto

CRYPTO_PAGE = b"""{
 "deposits": [{"id": 911, "network": "bitcoin", "currency": "btc", "txid": "aa11",
               "amount": 0.50000000, "datetime": 1700000000, "status": "COMPLETED",
               "destinationAddress": "bc1qexampleaddress"}],
 "withdrawals": [{"currency": "eth", "network": "ethereum", "destinationAddress": "0xabc",
                  "txid": "bb22", "amount": "1.25000000", "datetime": 1700000100.5}],
 "ripple_iou_transactions": [{"currency": "usd", "network": "xrpl", "txid": "cc33",
                              "amount": 10, "datetime": "1700000200"}]
}"""


async def test_crypto_transactions_are_typed_deposits_and_withdrawals() -> None:
    transport = exchange({"/api/v2/crypto-transactions/": raw(CRYPTO_PAGE)})
    async with client_for(transport) as client:
        page = await client.crypto_transactions(limit=50, offset=100, include_ious=True)
    [request] = requests_to(transport, "/api/v2/crypto-transactions/")
    assert form_of(request) == {"limit": "50", "offset": "100", "include_ious": "True"}
    [deposit], [withdrawal], [iou] = (
        page.deposits,
        page.withdrawals,
        page.ripple_iou_transactions,
    )
    assert page.rows == (deposit, withdrawal, iou)
    assert deposit.kind is CryptoTransactionKind.DEPOSIT
    assert (deposit.id, deposit.status, deposit.txid) == ("911", "COMPLETED", "aa11")
    assert str(deposit.amount) == "0.50000000"  # a JSON number, every digit kept
    assert deposit.destination_address == "bc1qexampleaddress"
    assert deposit.timestamp == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert withdrawal.kind is CryptoTransactionKind.WITHDRAWAL and withdrawal.id is None
    assert withdrawal.timestamp == datetime(2023, 11, 14, 22, 15, 0, 500000, tzinfo=UTC)
    assert (withdrawal.network, str(withdrawal.amount)) == ("ethereum", "1.25000000")
    assert iou.kind is CryptoTransactionKind.RIPPLE_IOU and iou.amount == 10


async def test_crypto_transactions_send_nothing_extra_and_read_missing_lists_as_empty() -> None:
    transport = exchange({"/api/v2/crypto-transactions/": raw(b'{"deposits": []}')})
    async with client_for(transport) as client:
        page = await client.crypto_transactions()
    assert requests_to(transport, "/api/v2/crypto-transactions/")[0].body == b""
    assert page.rows == ()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": 200_001}, "offset"),
        ({"offset": -1}, "offset"),
        ({"include_ious": "yes"}, "include_ious"),
    ],
)
async def test_bad_crypto_arguments_send_nothing(kwargs: dict[str, Any], fragment: str) -> None:
    transport = exchange({})
    async with client_for(transport) as client:
        with pytest.raises(InvalidParameterError, match=fragment):
            await client.crypto_transactions(**kwargs)
        with pytest.raises(InvalidParameterError, match="include_ious"):
            async for _ in client.iter_crypto_transactions(include_ious=1):  # type: ignore[arg-type]
                pass
    assert transport.requests == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"deposits": {"id": 1}}',
        b'{"withdrawals": [{"currency": "eth", "amount": "1", "datetime": "soon"}]}',
        b'{"deposits": [{"currency": "btc", "datetime": 1700000000}]}',
        b'{"deposits": [{"currency": "btc", "amount": 1, "datetime": 1.0000001}]}',
        b"[]",
    ],
)
async def test_a_wrong_crypto_answer_is_unexpected(body: bytes) -> None:
    transport = exchange({"/api/v2/crypto-transactions/": raw(body)})
    async with client_for(transport) as client:
        with pytest.raises(UnexpectedResponseError):
            await client.crypto_transactions()


@dataclass
class CryptoLedger:
    """A fake ``crypto-transactions/``: three lists, newest first, each paged by the same
    offset and limit; it can add rows at the top after every page, or cap its pages."""

    cap: int | None = None
    arrivals: int = 0  # deposits and withdrawals added after each page
    max_offset: int = 200_000
    deposits: list[dict[str, Any]] = field(default_factory=list)
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    ious: list[dict[str, Any]] = field(default_factory=list)
    forms: list[dict[str, str]] = field(default_factory=list)
    existing: list[set[str]] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, deposits: int = 0, withdrawals: int = 0, ious: int = 0) -> None:
        for _ in range(deposits):
            n = next(self.counter)
            self.deposits.insert(
                0,
                {"id": n, "currency": "btc", "network": "bitcoin", "txid": f"d{n}",
                 "amount": "0.1", "datetime": 1_700_000_000 + n, "status": "COMPLETED"},
            )  # fmt: skip
        for _ in range(withdrawals):
            n = next(self.counter)
            self.withdrawals.insert(
                0,
                {"currency": "eth", "network": "ethereum", "txid": f"w{n}",
                 "destinationAddress": "0xabc", "amount": "1", "datetime": 1_700_000_000 + n},
            )  # fmt: skip
        for _ in range(ious):
            n = next(self.counter)
            self.ious.insert(
                0,
                {"currency": "usd", "txid": f"i{n}", "amount": "5",
                 "datetime": 1_700_000_000 + n},
            )  # fmt: skip

    def txids(self) -> set[str]:
        return {row["txid"] for row in self.deposits + self.withdrawals + self.ious}

    def handle(self, request: Request) -> Response:
        form = form_of(request)
        self.forms.append(form)
        assert len(self.forms) <= 300, "the walk does not end"
        self.existing.append(self.txids())
        offset, limit = int(form.get("offset", "0")), int(form.get("limit", "100"))
        if offset > self.max_offset:
            body = {"status": "error", "reason": "Invalid offset.", "response_code": "400.010"}
            return json_response(body, 400)
        if self.cap is not None:
            limit = min(limit, self.cap)
        answer = {
            "deposits": self.deposits[offset : offset + limit],
            "withdrawals": self.withdrawals[offset : offset + limit],
        }
        if form.get("include_ious") == "True":
            answer["ripple_iou_transactions"] = self.ious[offset : offset + limit]
        self.add(deposits=self.arrivals, withdrawals=self.arrivals)
        return Response(200, JSON, orjson.dumps(answer))


async def crypto_walk(ledger: CryptoLedger, **kwargs: Any) -> list[CryptoTransaction]:
    transport = exchange({"/api/v2/crypto-transactions/": ledger.handle})
    async with client_for(transport) as client:
        return [row async for row in client.iter_crypto_transactions(**kwargs)]


def txids(rows: list[CryptoTransaction]) -> list[str | None]:
    return [row.txid for row in rows]


async def test_every_crypto_row_once_while_new_ones_push_the_pages() -> None:
    ledger = CryptoLedger(arrivals=4)
    ledger.add(deposits=2_300, withdrawals=1_100, ious=50)
    rows = await crypto_walk(ledger, include_ious=True)
    got = txids(rows)
    assert len(got) == len(set(got))  # nothing twice, though every page repeated some
    assert set(ledger.existing[0]) <= set(got)  # nothing that was there is missed
    assert [r.txid for r in rows if r.kind is CryptoTransactionKind.RIPPLE_IOU] == [
        f"i{n}" for n in range(3_450, 3_400, -1)
    ]
    assert all(form["limit"] == "1000" for form in ledger.forms)


async def test_short_crypto_pages_are_not_taken_for_the_end() -> None:
    ledger = CryptoLedger(cap=250)
    ledger.add(deposits=900, withdrawals=600)
    rows = await crypto_walk(ledger)
    assert sorted(txids(rows), key=str) == sorted(ledger.txids())
    assert "include_ious" not in ledger.forms[0]


async def test_crypto_walk_of_an_empty_account_asks_once() -> None:
    ledger = CryptoLedger()
    assert await crypto_walk(ledger) == []
    assert len(ledger.forms) == 1


async def test_crypto_walk_says_so_past_the_deepest_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(account_api, "MAX_OFFSET", 2_000)
    ledger = CryptoLedger(max_offset=2_000)
    ledger.add(deposits=3_500)
    seen: list[CryptoTransaction] = []
    transport = exchange({"/api/v2/crypto-transactions/": ledger.handle})
    async with client_for(transport) as client:
        with pytest.raises(BitstampError, match="offset 2000"):
            async for row in client.iter_crypto_transactions():
                seen.append(row)
    assert len(seen) == 3_000 == len(set(txids(seen)))
    # ... but a walk whose last page was short there has simply reached the end.
    ledger = CryptoLedger(max_offset=2_000)
    ledger.add(deposits=2_400)
    assert len(await crypto_walk(ledger)) == 2_400


# ---------------------------------------------------------------------------- emulator

EMULATOR_KEY, EMULATOR_SECRET = "accountkey01", "account-secret"


@pytest.fixture
async def emulated() -> AsyncIterator[Client]:
    from aiobitstamp.testing import FakeBitstamp

    async with FakeBitstamp(rate_limits=None) as fake:
        fake.add_account(EMULATOR_KEY, EMULATOR_SECRET, {"usd": "100000", "btc": "2"})
        async with Client(EMULATOR_KEY, EMULATOR_SECRET, base_url=fake.url) as client:
            yield client


async def test_the_emulator_reports_trading_fees(emulated: Client) -> None:
    fees = {fee.market: fee for fee in await emulated.trading_fees()}
    assert "btcusd" in fees
    one = await emulated.trading_fee("btcusd")
    assert one == fees["btcusd"]
    assert 0 <= one.maker <= one.taker < 1  # percent


async def test_the_emulator_reports_withdrawal_fees(emulated: Client) -> None:
    fees = list(await emulated.withdrawal_fees())
    assert fees and all(fee.fee >= 0 for fee in fees)


async def test_the_emulator_reports_a_withdrawal_fee(emulated: Client) -> None:
    fee = await emulated.withdrawal_fee("btc", network="bitcoin")
    assert fee.currency == "btc" and fee.fee >= 0


async def test_the_emulator_lists_my_markets(emulated: Client) -> None:
    markets = {market.market_symbol for market in await emulated.my_markets()}
    assert "btcusd" in markets


async def test_the_emulator_revokes_every_key(emulated: Client) -> None:
    revoked = await emulated.revoke_all_api_keys()
    assert revoked.api_keys == (EMULATOR_KEY,)
    with pytest.raises(BitstampError):
        await emulated.account_balances()


@pytest.mark.xfail(
    raises=(NotFoundError, BadRequestError),
    reason="the emulator does not serve POST /api/v2/order_data/ as a market's public order "
    "events: at HEAD it answers 404; the rebuilt one wants one order's id (400.035), while "
    "Bitstamp's 2026-02-16 changelog describes the public order events of a market",
    strict=False,
)
async def test_the_emulator_reports_public_order_events(emulated: Client) -> None:
    events = list(await emulated.order_data("btcusd"))
    assert all(event.order_id for event in events)


async def test_the_emulator_reports_my_order_events(emulated: Client) -> None:
    placed = await emulated.buy_limit("btcusd", "0.001", "20000")
    await emulated.cancel_order(placed.id)
    events = [e for e in await emulated.account_order_data("btcusd") if e.order_id == placed.id]
    assert [e.event for e in events] == [OrderEventType.CREATED, OrderEventType.DELETED]


async def test_the_emulator_reports_crypto_transactions(emulated: Client) -> None:
    page = await emulated.crypto_transactions(include_ious=True)
    walked = [row async for row in emulated.iter_crypto_transactions(include_ious=True)]
    assert len(walked) == len(page.rows) == len({row.identity for row in walked})
