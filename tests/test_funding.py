"""Funding client: deposit addresses, withdrawals, transfers, instant convert.

Every refusal is checked against the emulator with its request counter: nothing reaches the
exchange. Wire forms and answer shapes are checked with a MockTransport, against the
fact sheet and the spec (not against the emulator, which shares no code with the client).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest

from aiobitstamp import (
    Client,
    InvalidParameterError,
    MockTransport,
    Request,
    Response,
    UnexpectedResponseError,
)
from aiobitstamp._api import funding as funding_api
from aiobitstamp._api.earn import EarnAPI
from aiobitstamp._api.funding import FundingAPI
from aiobitstamp._api.travel_rule import TravelRuleAPI
from aiobitstamp._models.funding import (
    BankWithdrawalStatus,
    UnconfirmedBtc,
    WithdrawalCancelOutcome,
    WithdrawalRequest,
    WithdrawalStatus,
)
from aiobitstamp.testing import FakeAccount, FakeBitstamp

from .test_client import BASE, KEY, SECRET, json_response

# Until Client inherits the funding, earn and travel-rule mixins, tests use this subclass.
if (
    issubclass(Client, FundingAPI)
    and issubclass(Client, EarnAPI)
    and issubclass(Client, TravelRuleAPI)
):
    FundingClient = Client
else:

    class FundingClient(Client, FundingAPI, EarnAPI, TravelRuleAPI):  # type: ignore[no-redef]
        pass


BTC_ADDRESS = "bc1q" + "a" * 38
XRP_ADDRESS = "rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY"
IBAN = "SI56263300012039086"
BIC = "LJBASI2X"
START = {"btc": "2", "usd": "5000", "eur": "3000", "eth": "10", "xrp": "1000", "usdc": "500"}


@asynccontextmanager
async def emulator(
    balances: dict[str, str] | None = None, **client_options: Any
) -> AsyncIterator[tuple[FakeBitstamp, FundingClient, FakeAccount]]:
    """A running emulator, an account on it, and a client of that account."""
    async with FakeBitstamp(rate_limits=None, book_depth=200, message_rate=0) as exchange:
        account = exchange.add_account(KEY, SECRET, START if balances is None else balances)
        async with FundingClient(
            KEY, SECRET, base_url=exchange.url, rate_limits=None, **client_options
        ) as client:
            yield exchange, client, account


async def warm(client: FundingClient) -> None:
    """Load the catalogues a withdrawal is checked against (currencies, withdrawal fees)."""
    await client.deposit_address("btc", network="bitcoin")


def form_of(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def mock(answers: dict[str, Callable[[Request], Response]]) -> MockTransport:
    def handle(request: Request) -> Response:
        return answers[request.url.split("?")[0].removeprefix(BASE)](request)

    return MockTransport(handle)


def unchecked(transport: MockTransport) -> FundingClient:
    """A client that does not load catalogues: only the shape checks run."""
    return FundingClient(
        KEY,
        SECRET,
        transport=transport,
        rate_limits=None,
        validate_markets=False,
        verify_response_signature=False,
    )


# -- refusals: nothing is sent -------------------------------------------------------------

WITHDRAW_REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("upper-case currency", {"currency": "BTC"}, "currency"),
    ("ripple names the IOU endpoint", {"currency": "ripple"}, "ripple"),
    ("zero amount", {"amount": "0"}, "greater than zero"),
    ("negative amount", {"amount": "-1"}, "greater than zero"),
    ("float amount", {"amount": 0.1}, "float"),
    ("more decimals than btc has", {"amount": "0.000000001"}, "decimal places"),
    ("not a number", {"amount": "1e"}, "not a number"),
    ("short address", {"address": "bc1q"}, "address"),
    ("address with a space", {"address": "bc1q aaaaaaaaaaaaaaaa"}, "address"),
    ("tag inside the address", {"address": XRP_ADDRESS + "?dt=12", "currency": "xrp"}, "?dt="),
    ("destination tag on btc", {"destination_tag": 5}, "destination_tag applies only"),
    ("memo on btc", {"memo_id": "memo"}, "memo_id applies only"),
    ("transfer id on btc", {"transfer_id": 7}, "transfer_id applies only"),
    ("network in upper case", {"network": "Bitcoin"}, "network"),
    ("network the currency is not on", {"network": "ethereum"}, "not one of 'btc'"),
    ("third party without contact", {"contact_thirdparty": True}, "contact_uuid is required"),
    ("contact uuid not a uuid", {"contact_uuid": "ana"}, "contact_uuid"),
    ("vasp uuid not a uuid", {"vasp_uuid": "12345"}, "vasp_uuid"),
    ("third party flag not a bool", {"contact_thirdparty": "yes"}, "True or False"),
    ("currency not listed", {"currency": "doge"}, "unknown currency"),
    ("fiat currency", {"currency": "usd"}, "fiat"),
    ("below the network's minimum", {"amount": "0.0001"}, "minimum"),
    (
        "xrp tag out of range",
        {"currency": "xrp", "address": XRP_ADDRESS, "destination_tag": 2**32},
        "4294967295",
    ),
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [pytest.param(changes, message, id=name) for name, changes, message in WITHDRAW_REFUSALS],
)
async def test_withdraw_refusals_send_nothing(changes: dict[str, Any], message: str) -> None:
    async with emulator() as (exchange, client, account):
        await warm(client)
        before = exchange.stats.requests
        arguments: dict[str, Any] = {"currency": "btc", "amount": "0.01", "address": BTC_ADDRESS}
        arguments.update(changes)
        currency, amount, address = (arguments.pop(k) for k in ("currency", "amount", "address"))
        with pytest.raises(InvalidParameterError, match=message.replace("?", r"\?")):
            await client.withdraw(currency, amount, address, **arguments)
        assert exchange.stats.requests == before
        assert account.balance("btc").reserved == 0


BANK = {
    "name": "Ana Novak",
    "iban": IBAN,
    "bic": BIC,
    "address": "Presernova 1",
    "postal_code": "1000",
    "city": "Ljubljana",
    "country": "SI",
    "type": "sepa",
}

BANK_REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("iban with spaces", {"iban": "SI56 2633 0001 2039 086"}, "iban"),
    ("bic too short", {"bic": "LJBA"}, "bic"),
    ("country in lower case", {"country": "si"}, "country"),
    ("unknown type", {"type": "swift"}, "type"),
    ("bank field on sepa", {"bank_name": "NLB"}, "international"),
    ("payout currency on sepa", {"currency": "usd"}, "international"),
    ("name with a newline", {"name": "Ana\nNovak"}, "printable"),
    ("three decimals of eur", {"amount": "10.001"}, "decimal places"),
    ("account currency not usd/eur/gbp", {"account_currency": "chf"}, "account_currency"),
    ("crypto balance", {"account_currency": "btc"}, "account_currency"),
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [pytest.param(changes, message, id=name) for name, changes, message in BANK_REFUSALS],
)
async def test_bank_withdrawal_refusals_send_nothing(changes: dict[str, Any], message: str) -> None:
    async with emulator() as (exchange, client, account):
        await warm(client)
        before = exchange.stats.requests
        arguments: dict[str, Any] = {**BANK, "amount": "10", "account_currency": "eur"}
        arguments.update(changes)
        amount, balance = arguments.pop("amount"), arguments.pop("account_currency")
        with pytest.raises(InvalidParameterError, match=message):
            await client.withdraw_bank(amount, balance, **arguments)
        assert exchange.stats.requests == before
        assert account.balance("eur").reserved == 0


OTHER_REFUSALS: list[tuple[str, Callable[[FundingClient], Any], str]] = [
    ("deposit on a foreign network", lambda c: c.deposit_address("btc", "ethereum"), "network"),
    ("deposit of ripple", lambda c: c.deposit_address("ripple"), "ripple"),
    ("deposit of fiat", lambda c: c.deposit_address("usd"), "fiat"),
    ("deposit of an unlisted coin", lambda c: c.deposit_address("doge"), "unknown currency"),
    ("iou in gbp", lambda c: c.withdraw_ripple_iou("gbp", "1", XRP_ADDRESS), "currency"),
    (
        "iou amount decimals",
        lambda c: c.withdraw_ripple_iou("usd", "1.001", XRP_ADDRESS),
        "decimal places",
    ),
    ("iou short address", lambda c: c.withdraw_ripple_iou("usd", "1", "r1"), "address"),
    ("status of a non-id", lambda c: c.bank_withdrawal_status("12a"), "withdrawal_id"),
    ("cancel of id 0", lambda c: c.cancel_withdrawal(0), "withdrawal_id"),
    ("limit 0", lambda c: c.withdrawal_requests(limit=0), "limit"),
    ("offset above 200000", lambda c: c.withdrawal_requests(offset=200_001), "offset"),
    ("timedelta too large", lambda c: c.withdrawal_requests(timedelta=50_000_001), "timedelta"),
    (
        "timedelta of a fraction",
        lambda c: c.withdrawal_requests(timedelta=dt.timedelta(seconds=1.5)),
        "whole seconds",
    ),
    ("history of a non-id", lambda c: c.withdrawal_requests(withdrawal_id="x"), "withdrawal_id"),
    ("page size 0", lambda c: anext(c.iter_withdrawal_requests(page_size=0)), "page_size"),
    ("transfer decimals", lambda c: c.transfer_from_main("btc", "0.000000001", 7), "decimal"),
    ("transfer to sub 0", lambda c: c.transfer_from_main("btc", "1", 0), "sub_account"),
    ("transfer to a named sub", lambda c: c.transfer_from_main("btc", "1", "bob"), "sub_account"),
    ("transfer without sub", lambda c: c.transfer_from_main("btc", "1", None), "sub_account"),
    ("transfer of an unlisted coin", lambda c: c.transfer_to_main("doge", "1"), "unknown"),
    ("convert address too short", lambda c: c.instant_convert_address("abc"), "address"),
    ("convert into crypto", lambda c: c.new_instant_convert_address("eth"), "fiat"),
    (
        "convert address format",
        lambda c: c.new_instant_convert_address("usd", "P2PKH"),
        "address_format",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"),
    [pytest.param(call, message, id=name) for name, call, message in OTHER_REFUSALS],
)
async def test_other_funding_refusals_send_nothing(
    call: Callable[[FundingClient], Any], message: str
) -> None:
    async with emulator() as (exchange, client, _):
        await warm(client)
        before = exchange.stats.requests
        with pytest.raises(InvalidParameterError, match=message):
            await call(client)
        assert exchange.stats.requests == before


async def test_shape_refusals_come_before_any_catalogue_load() -> None:
    async with emulator() as (exchange, client, _):
        with pytest.raises(InvalidParameterError):
            await client.withdraw("btc", "-1", BTC_ADDRESS)
        with pytest.raises(InvalidParameterError):
            await client.withdraw_bank("10", "eur", **{**BANK, "iban": "x"})
        assert exchange.stats.requests == 0


# -- what goes on the wire -----------------------------------------------------------------


async def test_withdraw_sends_the_documented_fields() -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return json_response({"id": 123456789})

    transport = mock(
        {
            "/api/v2/xrp_withdrawal/": answer,
            "/api/v2/xlm_withdrawal/": answer,
            "/api/v2/cspr_withdrawal/": answer,
        }
    )
    contact, vasp = uuid.uuid4(), uuid.uuid4()
    async with unchecked(transport) as client:
        placed = await client.withdraw(
            "xrp",
            Decimal("25.5"),
            XRP_ADDRESS,
            network="xrpl",
            destination_tag=42,
            contact_thirdparty=True,
            contact_uuid=contact,
            vasp_uuid=str(vasp).upper(),
        )
        await client.withdraw("xlm", "3", "G" + "A" * 55, memo_id=987654321)
        await client.withdraw("cspr", "3", "01" + "a" * 64, transfer_id=77)
    assert placed.id == "123456789"
    assert form_of(seen[0]) == {
        "amount": "25.5",
        "address": XRP_ADDRESS,
        "network": "xrpl",
        "destination_tag": "42",
        "contact_thirdparty": "True",
        "contact_uuid": str(contact),
        "vasp_uuid": str(vasp),
    }
    assert seen[0].method == "POST"
    assert form_of(seen[1])["memo_id"] == "987654321"
    assert form_of(seen[2])["transfer_id"] == "77"


async def test_transfers_send_upper_case_currency_and_camel_case_sub_account() -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return json_response({"status": "ok"})

    transport = mock({"/api/v2/transfer-to-main/": answer, "/api/v2/transfer-from-main/": answer})
    async with unchecked(transport) as client:
        assert await client.transfer_from_main("usdc", "12.5", 1234567) is None
        await client.transfer_to_main("btc", "1")
        await client.transfer_to_main("btc", "1", sub_account="1234567")
    assert form_of(seen[0]) == {"currency": "USDC", "subAccount": "1234567", "amount": "12.5"}
    assert form_of(seen[1]) == {"currency": "BTC", "amount": "1"}
    assert form_of(seen[2])["subAccount"] == "1234567"


async def test_a_transfer_answer_other_than_ok_is_unexpected() -> None:
    transport = mock({"/api/v2/transfer-to-main/": lambda r: json_response({"status": "done"})})
    async with unchecked(transport) as client:
        with pytest.raises(UnexpectedResponseError):
            await client.transfer_to_main("btc", "1")


async def test_bank_withdrawal_sends_amount_and_international_fields() -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return json_response({"withdrawal_id": 55})

    transport = mock({"/api/v2/withdrawal/open/": answer})
    async with unchecked(transport) as client:
        placed = await client.withdraw_bank(
            "100.50",
            "usd",
            **{**BANK, "type": "international"},
            currency="chf",
            bank_name="Bank",
            bank_country="CH",
            comment="rent",
        )
    assert placed.id == "55"
    form = form_of(seen[0])
    assert form["amount"] == "100.50" and "quantity" not in form
    assert form["account_currency"] == "USD" and form["currency"] == "CHF"
    assert form["type"] == "international" and form["bank_country"] == "CH"
    assert form["comment"] == "rent"


async def test_withdrawal_history_sends_limit_with_offset() -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return json_response([])

    transport = mock({"/api/v2/withdrawal-requests/": answer})
    async with unchecked(transport) as client:
        await client.withdrawal_requests(limit=5)
        await client.withdrawal_requests(offset=10)
        await client.withdrawal_requests(timedelta=dt.timedelta(hours=1), withdrawal_id=9)
        await client.withdrawal_requests()
    assert form_of(seen[0]) == {"limit": "5", "offset": "0"}
    assert form_of(seen[1]) == {"limit": "100", "offset": "10"}
    assert form_of(seen[2]) == {"timedelta": "3600", "id": "9"}
    assert seen[3].body == b""


async def test_walk_widens_the_window_by_the_time_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(funding_api, "_monotonic", lambda: clock[0])
    forms: list[dict[str, str]] = []

    def answer(request: Request) -> Response:
        forms.append(form_of(request))
        clock[0] += 4.2  # each page takes a while
        offset = int(forms[-1]["offset"])
        rows = [
            {"id": n, "amount": "1", "status": 2, "datetime": "2024-01-01 00:00:00"}
            for n in range(offset, min(offset + 2, 5))
        ]
        return json_response(rows)

    transport = mock({"/api/v2/withdrawal-requests/": answer})
    async with unchecked(transport) as client:
        ids = [row.id async for row in client.iter_withdrawal_requests(timedelta=600, page_size=2)]
    assert ids == ["0", "1", "2", "3", "4"]
    assert [f["timedelta"] for f in forms] == ["600", "605", "609"]
    assert [f["offset"] for f in forms] == ["0", "2", "4"]


# -- answers ----------------------------------------------------------------------------------


def test_withdrawal_row_reads_numbers_strings_and_the_tag_in_the_address() -> None:
    row = WithdrawalRequest.from_wire(
        {
            "id": 2**60,
            "datetime": "2022-01-31 16:07:32",
            "type": 14,
            "currency": "XRP",
            "amount": "20.00000000",
            "status": "3",
            "address": "rDsbeomae4FXwgQTJp9Rs64Qg9vDiTCdBv?dt=1234",
            "transaction_id": "ABCD",
            "txid": 987,
            "network": "xrpl",
        }
    )
    assert row.id == str(2**60) and row.status is WithdrawalStatus.CANCELED
    assert row.destination_tag == 1234 and row.kind == 14 and row.txid == "987"
    assert row.amount == Decimal("20") and row.created_at == dt.datetime(
        2022, 1, 31, 16, 7, 32, tzinfo=dt.timezone.utc
    )
    assert WithdrawalStatus.from_wire(11) is WithdrawalStatus.REVERSED
    assert WithdrawalStatus.REVERSED.is_final and not WithdrawalStatus.IN_PROCESS.is_final


@pytest.mark.parametrize(
    "payload",
    [
        {"id": 1, "amount": "1"},  # no status
        {"id": 1.5, "amount": "1", "status": 0},  # a float id
        {"id": 1, "amount": "x", "status": 0},
        {"id": 1, "amount": "1", "status": 7},  # no such status
        {"id": 1, "amount": "1", "status": True},
        [1, 2],
    ],
)
async def test_malformed_withdrawal_rows_raise_unexpected_response(payload: object) -> None:
    transport = mock({"/api/v2/withdrawal-requests/": lambda r: json_response([payload])})
    async with unchecked(transport) as client:
        with pytest.raises(UnexpectedResponseError):
            async for _ in client.iter_withdrawal_requests():
                pass


@pytest.mark.parametrize(
    ("payload", "deposits", "address"),
    [
        ({"address": "bc1qxyz", "destination_tag": None}, 0, "bc1qxyz"),  # the spec's model
        ([{"amount": "0.5", "address": "bc1qxyz", "confirmations": 1}], 1, None),  # the name's
        ({"deposits": [{"amount": "0.5"}]}, 1, None),
        ({}, 0, None),
    ],
)
def test_btc_unconfirmed_reads_both_shapes(
    payload: object, deposits: int, address: str | None
) -> None:
    found = UnconfirmedBtc.from_wire(payload)
    assert len(found.deposits) == deposits
    assert (found.address.address if found.address else None) == address


def test_bank_status_text_maps_to_a_state() -> None:
    assert BankWithdrawalStatus.from_wire({"status": "In process"}).state is (
        WithdrawalStatus.IN_PROCESS
    )
    assert BankWithdrawalStatus.from_wire({"status": 2}).state is WithdrawalStatus.FINISHED
    assert BankWithdrawalStatus.from_wire({"status": "Pending review"}).state is None


async def test_deposit_address_reads_tag_and_memo_as_sent() -> None:
    transport = mock(
        {
            "/api/v2/xrp_address/": lambda r: json_response(
                {"address": XRP_ADDRESS, "destination_tag": "89"}
            ),
            "/api/v2/xlm_address/": lambda r: json_response({"address": "GABC", "memo_id": 1234}),
            "/api/v2/btc_address/": lambda r: json_response({"address": 5}),
        }
    )
    async with unchecked(transport) as client:
        xrp = await client.deposit_address("xrp", network="xrpl")
        xlm = await client.deposit_address("xlm")
        with pytest.raises(UnexpectedResponseError):
            await client.deposit_address("btc")
    assert xrp.destination_tag == 89 and xrp.memo_id is None
    assert xlm.memo_id == "1234"
    assert form_of(transport.requests[0]) == {"network": "xrpl"}
    assert transport.requests[1].body == b""


async def test_convert_info_accepts_an_object_or_a_list() -> None:
    entry = {
        "address": "bc1qconvert0000",
        "currency_pair": "BTC/USD",
        "transactions": [
            {
                "order_id": 1,
                "count": 1,
                "trades": [{"btc_amount": "0.1", "exchange_rate": "60000.00", "fees": "24.00"}],
            }
        ],
    }
    answers = iter([entry, [entry, {**entry, "address": "bc1qother00000"}], [entry, entry]])
    transport = mock(
        {"/api/v2/instant_convert_address/info/": lambda r: json_response(next(answers))}
    )
    async with unchecked(transport) as client:
        first = await client.instant_convert_address("bc1qconvert0000")
        second = await client.instant_convert_address("bc1qconvert0000")
        with pytest.raises(UnexpectedResponseError):
            await client.instant_convert_address("bc1qconvert0000")
    assert first == second
    assert first.transactions[0].trades[0].exchange_rate == Decimal("60000.00")
    assert first.transactions[0].order_id == "1"


async def test_new_convert_address_sends_upper_case_currency_and_returns_the_address() -> None:
    transport = mock(
        {"/api/v2/instant_convert_address/new/": lambda r: json_response({"address": "3Abc"})}
    )
    async with unchecked(transport) as client:
        assert await client.new_instant_convert_address("eur", "BECH32") == "3Abc"
    assert form_of(transport.requests[0]) == {
        "liquidation_currency": "EUR",
        "address_format": "BECH32",
    }


async def test_cancel_that_an_earlier_attempt_did_is_reported_so() -> None:
    calls: list[str] = []

    def cancel(request: Request) -> Response:
        calls.append("cancel")
        if len(calls) == 1:
            return Response(502, {"Content-Type": "text/html"}, b"<html>502</html>")
        return json_response(
            {"status": "error", "reason": "No active bank withdrawal with id=7 found."}
        )

    def history(request: Request) -> Response:
        calls.append("history")
        assert form_of(request) == {"id": "7"}
        return json_response([{"id": 7, "amount": "1.5", "currency": "BTC", "status": 3}])

    transport = mock(
        {"/api/v2/withdrawal/cancel/": cancel, "/api/v2/withdrawal-requests/": history}
    )
    async with unchecked(transport) as client:
        result = await client.cancel_withdrawal(7)
    assert calls == ["cancel", "cancel", "history"]
    assert result.outcome is WithdrawalCancelOutcome.CANCELED_BY_RETRY
    assert result.amount == Decimal("1.5")


async def test_a_first_cancel_refusal_is_not_looked_up() -> None:
    transport = mock(
        {
            "/api/v2/withdrawal/cancel/": lambda r: json_response(
                {"status": "error", "reason": "Cannot cancel a withdrawal in process (id=7)."}
            )
        }
    )
    async with unchecked(transport) as client:
        with pytest.raises(Exception, match="in process"):
            await client.cancel_withdrawal(7)
    assert len(transport.requests) == 1


async def test_withdraw_is_never_resent_after_an_ambiguous_failure() -> None:
    transport = mock(
        {"/api/v2/btc_withdrawal/": lambda r: Response(502, {"Content-Type": "text/html"}, b"<h1>")}
    )
    async with unchecked(transport) as client:
        with pytest.raises(Exception) as raised:
            await client.withdraw("btc", "0.1", BTC_ADDRESS)
    assert len(transport.requests) == 1
    assert not isinstance(raised.value, InvalidParameterError)


# -- the catalogues a withdrawal is checked against ----------------------------------------

CURRENCIES = [
    {
        "currency": "BTC",
        "type": "crypto",
        "decimals": 8,
        "deposit": "Enabled",
        "withdrawal": "Enabled",
        "networks": [
            {"network": "bitcoin", "withdrawal": "Disabled"},
            {"network": "lightning", "withdrawal_minimum_amount": "0.001"},
        ],
    },
    {
        "currency": "LTC",
        "type": "crypto",
        "decimals": 8,
        "deposit": "Disabled",
        "withdrawal": "Disabled",
        "networks": [],
    },
    {"currency": "USDT", "type": "crypto", "decimals": 6, "networks": []},
]


def catalogue_exchange(fees: Callable[[Request], Response]) -> MockTransport:
    return mock(
        {
            "/api/v2/currencies/": lambda r: json_response(CURRENCIES),
            "/api/v2/fees/withdrawal/": fees,
            "/api/v2/usdt_withdrawal/": lambda r: json_response({"id": 1}),
            "/api/v2/btc_withdrawal/": lambda r: json_response({"id": 2}),
        }
    )


def checked(transport: MockTransport) -> FundingClient:
    return FundingClient(
        KEY, SECRET, transport=transport, rate_limits=None, verify_response_signature=False
    )


async def test_disabled_currencies_and_networks_are_refused_before_sending() -> None:
    transport = catalogue_exchange(lambda r: json_response([]))
    async with checked(transport) as client:
        with pytest.raises(InvalidParameterError, match="withdrawals of 'ltc' are disabled"):
            await client.withdraw("ltc", "1", BTC_ADDRESS)
        with pytest.raises(InvalidParameterError, match="deposits of 'ltc' are disabled"):
            await client.deposit_address("ltc")
        with pytest.raises(InvalidParameterError, match="on 'bitcoin' are disabled"):
            await client.withdraw("btc", "1", BTC_ADDRESS, network="bitcoin")
        with pytest.raises(InvalidParameterError, match=r"minimum of 0\.001"):
            await client.withdraw("btc", "0.0005", BTC_ADDRESS, network="lightning")
        with pytest.raises(InvalidParameterError, match="6 decimal places"):
            await client.withdraw("usdt", "1.0000001", BTC_ADDRESS)
        await client.withdraw("btc", "0.002", BTC_ADDRESS, network="lightning")
    sent = [r.url.removeprefix(BASE) for r in transport.requests]
    assert sent.count("/api/v2/currencies/") == 1  # loaded once, kept
    assert sent.count("/api/v2/fees/withdrawal/") == 1
    assert sent[-1] == "/api/v2/btc_withdrawal/" and sent.count("/api/v2/btc_withdrawal/") == 1


async def test_networks_come_from_the_fee_list_when_the_key_may_read_it() -> None:
    fees = [
        {"currency": "usdt", "fee": "1.0", "network": "ethereum"},
        {"currency": "usdt", "fee": "0.5", "network": "tron"},
    ]
    transport = catalogue_exchange(lambda r: json_response(fees))
    async with checked(transport) as client:
        with pytest.raises(InvalidParameterError, match="ethereum, tron"):
            await client.withdraw("usdt", "5", BTC_ADDRESS, network="solana")
        await client.withdraw("usdt", "5", BTC_ADDRESS, network="tron")
    assert form_of(transport.requests[-1])["network"] == "tron"


async def test_without_permission_for_the_fee_list_the_catalogue_networks_are_used() -> None:
    refused = {"status": "error", "reason": "No permission found", "code": "API0003"}
    transport = catalogue_exchange(lambda r: json_response(refused, 403))
    async with checked(transport) as client:
        with pytest.raises(InvalidParameterError, match="bitcoin, lightning"):
            await client.withdraw("btc", "1", BTC_ADDRESS, network="ethereum")
        with pytest.raises(InvalidParameterError, match="bitcoin, lightning"):
            await client.withdraw("btc", "1", BTC_ADDRESS, network="ethereum")
    sent = [r.url.removeprefix(BASE) for r in transport.requests]
    assert sent.count("/api/v2/fees/withdrawal/") == 1  # the refusal is remembered
    assert "/api/v2/btc_withdrawal/" not in sent
