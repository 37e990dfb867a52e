"""The emulator's funding: money moves as the fact sheet and the spec say, every movement is
a ledger row with its type code, the switches give both readings where sources disagree,
and every answer has the spec's field names and types.

The client is the tool here (through a real loopback server); where it matters, what it
saw is compared with the emulator's own state.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from aiobitstamp import (
    AiohttpTransport,
    BadRequestError,
    BitstampError,
    ExchangeError,
    InsufficientFundsError,
    InvalidParameterError,
    Request,
    Response,
)
from aiobitstamp._models import TransactionType
from aiobitstamp._models.funding import WithdrawalCancelOutcome, WithdrawalStatus
from aiobitstamp._models.travel_rule import CorporateInfo, RetailInfo
from aiobitstamp.testing import FakeAccount, FakeBitstamp

from .test_client import KEY
from .test_funding import BANK, BTC_ADDRESS, XRP_ADDRESS, FundingClient, emulator

SPEC = Path(__file__).parent / "data" / "bitstamp-openapi-models-wire.tsv"
BTC_FEE = Decimal("0.00015")


async def ledger_types(client: FundingClient) -> list[tuple[TransactionType, dict[str, Decimal]]]:
    """The account's user transactions, oldest first, as (type, non-zero amounts)."""
    rows = await client.user_transactions(sort="asc")
    return [(row.type, {k: v for k, v in row.amounts.items() if v}) for row in rows]


# -- deposits ----------------------------------------------------------------------------------


async def test_deposit_credits_the_balance_and_is_a_type_0_row() -> None:
    async with emulator({"btc": "0"}) as (exchange, client, account):
        exchange.deposit(account, "btc", "0.75")
        exchange.deposit(KEY, "eth", "2", network="ethereum")
        assert (await client.account_balance("btc")).available == Decimal("0.75")
        assert await ledger_types(client) == [
            (TransactionType.DEPOSIT, {"btc": Decimal("0.75")}),
            (TransactionType.DEPOSIT, {"eth": Decimal("2")}),
        ]
        with pytest.raises(ValueError):
            exchange.deposit(account, "btc", "1", address="bc1qnotmine0000000000000000")


@pytest.mark.parametrize("shape", ["address", "deposits"])
async def test_unconfirmed_bitcoin_waits_then_credits(shape: str) -> None:
    async with emulator({"btc": "0"}) as (exchange, client, account):
        exchange.funding_switches.btc_unconfirmed_shape = shape  # type: ignore[assignment]
        mine = await client.deposit_address("btc")
        assert exchange.deposit(account, "btc", "0.3", confirmations=0) is None
        assert account.balance("btc").total == 0
        waiting = await client.btc_unconfirmed()
        if shape == "deposits":
            assert [(d.amount, d.address) for d in waiting.deposits] == [
                (Decimal("0.3"), mine.address)
            ]
        else:
            assert waiting.address is not None and waiting.address.address == mine.address
        rows = exchange.confirm_deposits(account)
        assert len(rows) == 1 and account.balance("btc").total == Decimal("0.3")
        if shape == "deposits":
            assert (await client.btc_unconfirmed()).deposits == ()


async def test_deposit_addresses_carry_the_tag_their_network_needs() -> None:
    async with emulator() as (_, client, account):
        xrp = await client.deposit_address("xrp", network="xrpl")
        btc = await client.deposit_address("btc")
        iou = await client.ripple_deposit_address()
        assert xrp.destination_tag is not None and xrp.address.startswith("r")
        assert btc.destination_tag is None and btc.memo_id is None
        assert iou.destination_tag == account.user_id
        assert await client.deposit_address("btc") == btc  # the account's address is stable


# -- crypto withdrawals ------------------------------------------------------------------------


async def test_withdrawal_reserves_then_settles_amount_and_fee() -> None:
    async with emulator() as (exchange, client, account):
        placed = await client.withdraw("btc", "0.5", BTC_ADDRESS, network="bitcoin")
        balance = account.balance("btc")
        assert (balance.total, balance.reserved) == (Decimal("2"), Decimal("0.5") + BTC_FEE)
        [row] = await client.withdrawal_requests()
        assert (row.id, row.status, row.amount, row.currency) == (
            placed.id,
            WithdrawalStatus.OPEN,
            Decimal("0.5"),
            "BTC",
        )
        assert row.kind == 1 and row.network == "bitcoin" and row.transaction_id is None

        exchange.advance_withdrawal(placed.id, "in_process")
        with pytest.raises(ExchangeError, match="in process"):
            await client.cancel_withdrawal(placed.id)
        assert account.balance("btc").reserved == Decimal("0.5") + BTC_FEE

        exchange.advance_withdrawal(placed.id, "finished", transaction_id="abc123")
        balance = account.balance("btc")
        assert (balance.total, balance.reserved) == (Decimal("2") - Decimal("0.5") - BTC_FEE, 0)
        [row] = await client.withdrawal_requests(withdrawal_id=placed.id)
        assert row.status is WithdrawalStatus.FINISHED and row.transaction_id == "abc123"
        [transaction] = await client.user_transactions()
        assert transaction.type is TransactionType.WITHDRAWAL
        assert transaction.amounts["btc"] == Decimal("-0.5") and transaction.fee == BTC_FEE
        assert row.txid == transaction.id


async def test_cancel_releases_the_reservation_once() -> None:
    async with emulator() as (_exchange, client, account):
        placed = await client.withdraw("btc", "1", BTC_ADDRESS)
        result = await client.cancel_withdrawal(placed.id)
        assert result.id == placed.id and result.amount == Decimal("1")
        assert result.outcome is WithdrawalCancelOutcome.CANCELED
        assert account.balance("btc").available == Decimal("2")
        [row] = await client.withdrawal_requests()
        assert row.status is WithdrawalStatus.CANCELED
        with pytest.raises(ExchangeError, match="No active bank withdrawal"):
            await client.cancel_withdrawal(placed.id)
        assert await ledger_types(client) == []


async def test_a_failed_withdrawal_gives_the_money_back() -> None:
    async with emulator() as (exchange, client, account):
        placed = await client.withdraw("btc", "1", BTC_ADDRESS)
        exchange.advance_withdrawal(placed.id, "failed")
        assert account.balance("btc").available == Decimal("2")
        assert (await client.withdrawal_requests())[0].status is WithdrawalStatus.FAILED
        with pytest.raises(ValueError):
            exchange.advance_withdrawal(placed.id, "finished")


async def test_cancel_whose_answer_was_lost_is_confirmed_by_the_list() -> None:
    async with emulator() as (exchange, client, account):
        placed = await client.withdraw("btc", "1", BTC_ADDRESS)
        exchange.faults.drop_answer_after_accept(path="withdrawal/cancel/", times=1)
        result = await client.cancel_withdrawal(placed.id)
        assert result.outcome is WithdrawalCancelOutcome.CANCELED_BY_RETRY
        assert exchange.stats.paths["/api/v2/withdrawal/cancel/"] == 2
        assert account.balance("btc").available == Decimal("2")


async def test_a_lost_withdrawal_answer_is_never_resent() -> None:
    async with emulator() as (exchange, client, _account):
        exchange.faults.drop_answer_after_accept(path="btc_withdrawal/", times=1)
        with pytest.raises(BitstampError) as raised:
            await client.withdraw("btc", "0.5", BTC_ADDRESS)
        assert not isinstance(raised.value, InvalidParameterError)
        assert exchange.stats.paths["/api/v2/btc_withdrawal/"] == 1
        [row] = await client.withdrawal_requests()  # it was placed, exactly once
        assert row.amount == Decimal("0.5")


@pytest.mark.parametrize("status", [200, 400])
async def test_insufficient_funds_under_both_error_statuses(status: int) -> None:
    async with emulator({"btc": "0.1"}) as (exchange, client, account):
        exchange.funding_switches.error_http_status = status
        with pytest.raises(InsufficientFundsError, match="Check your account balance"):
            await client.withdraw("btc", "0.1", BTC_ADDRESS)  # the fee does not fit
        assert account.balance("btc").reserved == 0


async def test_the_exchange_refuses_an_address_too_short_for_its_network() -> None:
    async with emulator() as (exchange, client, account):
        exchange.funding_switches.error_http_status = 400
        with pytest.raises(BadRequestError, match="at least 26 characters"):
            await client.withdraw("btc", "0.5", "bc1qshort0000000")
        assert account.balance("btc").reserved == 0


async def test_xrp_tag_comes_back_inside_the_address() -> None:
    async with emulator() as (_, client, _account):
        await client.withdraw("xrp", "25", XRP_ADDRESS, destination_tag=42)
        [row] = await client.withdrawal_requests()
        assert row.address == XRP_ADDRESS + "?dt=42" and row.destination_tag == 42


@pytest.mark.parametrize("as_text", [False, True])
async def test_withdrawal_status_as_number_or_text(as_text: bool) -> None:
    async with emulator() as (exchange, client, _):
        exchange.funding_switches.withdrawal_status_as_text = as_text
        placed = await client.withdraw("btc", "0.5", BTC_ADDRESS)
        exchange.advance_withdrawal(placed.id, "in_process")
        [row] = await client.withdrawal_requests()
        assert row.status is WithdrawalStatus.IN_PROCESS
        assert isinstance(row.raw["status"], str) is as_text


async def test_ripple_iou_withdrawal_reserves_the_iou_currency() -> None:
    async with emulator() as (_, client, account):
        placed = await client.withdraw_ripple_iou("usd", "100", XRP_ADDRESS)
        assert account.balance("usd").reserved == Decimal("100")
        [row] = await client.withdrawal_requests()
        assert row.id == placed.id and row.kind is None and row.network == "xrpl"


@pytest.mark.parametrize("oldest_first", [False, True])
async def test_walk_gives_every_withdrawal_once_while_new_ones_arrive(oldest_first: bool) -> None:
    async with emulator({"btc": "100"}) as (exchange, client, _):
        exchange.funding_switches.withdrawal_requests_oldest_first = oldest_first
        before = {(await client.withdraw("btc", "0.01", BTC_ADDRESS)).id for _ in range(23)}
        added: set[str] = set()
        given: list[str] = []
        async for row in client.iter_withdrawal_requests(page_size=5):
            given.append(row.id)
            if len(given) % 5 == 0:  # a page is done; two more arrive before the next
                for _ in range(2):
                    added.add((await client.withdraw("btc", "0.01", BTC_ADDRESS)).id)
        assert len(given) == len(set(given))  # nothing twice
        assert before <= set(given)  # nothing that was there is missed
        if oldest_first:
            assert added <= set(given)  # appended at the end, so reached too


# -- bank withdrawals --------------------------------------------------------------------------


async def test_bank_withdrawal_lifecycle() -> None:
    async with emulator() as (_exchange, client, account):
        placed = await client.withdraw_bank("250.5", "eur", **BANK)
        assert account.balance("eur").reserved == Decimal("250.5")
        status = await client.bank_withdrawal_status(placed.id)
        assert status.state is WithdrawalStatus.OPEN
        [row] = await client.withdrawal_requests()
        assert row.kind == 0 and row.currency == "EUR"
        canceled = await client.cancel_withdrawal(placed.id)
        assert canceled.kind == "sepa" and canceled.account_currency == "EUR"
        assert account.balance("eur").reserved == 0
        assert (await client.bank_withdrawal_status(placed.id)).state is WithdrawalStatus.CANCELED


async def test_bank_withdrawal_when_the_exchange_reads_quantity() -> None:
    async with emulator() as (exchange, client, account):
        exchange.funding_switches.bank_amount_field = "quantity"
        with pytest.raises(ExchangeError, match="quantity: This field is required"):
            await client.withdraw_bank("100", "eur", **BANK)
        assert account.balance("eur").reserved == 0
        assert exchange.stats.paths["/api/v2/withdrawal/open/"] == 1


async def test_bank_calls_are_for_the_main_account_only() -> None:
    async with emulator() as (exchange, _client, account):
        exchange.add_sub_account(account, "subkey1", "subsecret1", {"eur": "100"})
        async with FundingClient(
            "subkey1", "subsecret1", base_url=exchange.url, rate_limits=None
        ) as sub:
            with pytest.raises(ExchangeError, match="sub account API keys is not supported"):
                await sub.withdraw_bank("10", "eur", **BANK)


# -- sub-accounts ------------------------------------------------------------------------------


async def test_transfers_between_main_and_sub_accounts() -> None:
    async with emulator() as (exchange, client, main):
        sub = exchange.add_sub_account(main, "subkey1", "subsecret1", {"btc": "0"})
        await client.transfer_from_main("btc", "0.5", sub.user_id)
        assert (main.balance("btc").total, sub.balance("btc").total) == (
            Decimal("1.5"),
            Decimal("0.5"),
        )
        async with FundingClient(
            "subkey1", "subsecret1", base_url=exchange.url, rate_limits=None
        ) as sub_client:
            await sub_client.transfer_to_main("btc", "0.2")  # the sub's own key: no id needed
            assert await ledger_types(sub_client) == [
                (TransactionType.SUB_ACCOUNT_TRANSFER, {"btc": Decimal("0.5")}),
                (TransactionType.SUB_ACCOUNT_TRANSFER, {"btc": Decimal("-0.2")}),
            ]
            with pytest.raises(ExchangeError):
                await sub_client.transfer_from_main("btc", "0.1", main.user_id)
        await client.transfer_to_main("btc", "0.3", sub_account=sub.user_id)
        assert (main.balance("btc").total, sub.balance("btc").total) == (Decimal("2"), Decimal("0"))
        assert await ledger_types(client) == [
            (TransactionType.SUB_ACCOUNT_TRANSFER, {"btc": Decimal("-0.5")}),
            (TransactionType.SUB_ACCOUNT_TRANSFER, {"btc": Decimal("0.2")}),
            (TransactionType.SUB_ACCOUNT_TRANSFER, {"btc": Decimal("0.3")}),
        ]
        with pytest.raises(ExchangeError, match='identifier "999" does not exist'):
            await client.transfer_from_main("btc", "0.1", 999)
        with pytest.raises(InsufficientFundsError):
            await client.transfer_from_main("btc", "5", sub.user_id)


# -- instant convert ---------------------------------------------------------------------------


async def test_bitcoin_sent_to_a_convert_address_is_sold_at_once() -> None:
    async with emulator({"btc": "0", "usd": "0"}) as (exchange, client, account):
        address = await client.new_instant_convert_address("usd")
        exchange.deposit(account, "btc", "0.1", address=address)
        assert account.balance("btc").total == 0
        assert account.balance("usd").total > 0
        info = await client.instant_convert_address(address)
        assert info.address == address and info.currency_pair == "BTC/USD"
        [conversion] = info.transactions
        assert conversion.count == len(conversion.trades) >= 1
        assert sum(t.btc_amount for t in conversion.trades if t.btc_amount) == Decimal("0.1")
        kinds = [kind for kind, _ in await ledger_types(client)]
        assert kinds[0] is TransactionType.DEPOSIT
        assert set(kinds[1:]) == {TransactionType.MARKET_TRADE}
        with pytest.raises(ExchangeError, match="Address not found"):
            await client.instant_convert_address(BTC_ADDRESS)


# -- every answer in the spec's shape ----------------------------------------------------------


def spec_models() -> dict[str, dict[str, tuple[str, str]]]:
    models: dict[str, dict[str, tuple[str, str]]] = {}
    with SPEC.open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            models.setdefault(row["model"], {})[row["wire_name"]] = (
                row["type"],
                row["enum_values"],
            )
    return models


def check(models: dict[str, dict[str, tuple[str, str]]], model: str, value: Any) -> None:
    fields = models[model]
    assert isinstance(value, dict), f"{model}: {value!r}"
    for name, item in value.items():
        assert name in fields, f"{model} has no field {name!r}"
        kind, choices = fields[name]
        if item is None:
            continue
        if kind == "Number":
            assert type(item) in (int, float), f"{model}.{name} must be a number: {item!r}"
        elif kind in ("String", "Date"):
            assert type(item) is str, f"{model}.{name} must be a string: {item!r}"
        elif kind == "Boolean":
            assert type(item) is bool
        elif kind.startswith("["):
            assert isinstance(item, list)
            for element in item:
                check(models, kind.strip("[]"), element)
        else:
            check(models, kind, item)
        if choices:
            assert item in choices.split("|"), f"{model}.{name}: {item!r} not in the enum"


class Recording:
    """A transport that keeps every answer's JSON by path."""

    def __init__(self) -> None:
        self.inner = AiohttpTransport()
        self.answers: dict[str, list[Any]] = {}

    async def send(self, request: Request, path: str) -> Response:
        response = await self.inner.send(request, path)
        if response.status == 200 and response.body:
            self.answers.setdefault(path.removeprefix("/api/v2/"), []).append(
                orjson.loads(response.body)
            )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@asynccontextmanager
async def recorded() -> AsyncIterator[tuple[FakeBitstamp, FundingClient, FakeAccount, Recording]]:
    recording = Recording()
    async with emulator(transport=recording) as (exchange, client, account):
        yield exchange, client, account, recording


async def test_every_funding_answer_has_the_spec_field_names_and_types() -> None:
    models = spec_models()
    async with recorded() as (exchange, client, account, recording):
        sub = exchange.add_sub_account(account, "subkey1", "subsecret1")
        await client.deposit_address("xrp")
        await client.deposit_address("btc")
        await client.ripple_deposit_address()
        await client.btc_unconfirmed()
        crypto = await client.withdraw("xrp", "30", XRP_ADDRESS, destination_tag=7)
        exchange.advance_withdrawal(crypto.id, "finished")
        await client.withdraw_ripple_iou("eur", "5", XRP_ADDRESS)
        bank = await client.withdraw_bank("10", "eur", **BANK)
        await client.bank_withdrawal_status(bank.id)
        await client.withdrawal_requests()
        await client.cancel_withdrawal(bank.id)
        await client.transfer_from_main("btc", "0.1", sub.user_id)
        await client.transfer_to_main("btc", "0.1", sub.user_id)
        address = await client.new_instant_convert_address("usd")
        exchange.deposit(account, "btc", "0.05", address=address)
        await client.instant_convert_address(address)
        await client.earn_subscribe("eth", "1", "STAKING")
        exchange.earn_reward(account, "eth", "0.01")
        await client.earn_subscriptions()
        await client.earn_transactions()
        await client.create_travel_rule_contact(
            "Ana", retail_info=RetailInfo(first_name="Ana", country="SI")
        )
        await client.create_travel_rule_contact(
            "Firm", corporate_info=CorporateInfo(company_name="Firm")
        )
        await client.travel_rule_contacts()
        answers = recording.answers
    shapes = {
        "xrp_address/": "DepositAddressResponse",
        "btc_address/": "DepositAddressResponse",
        "ripple_address/": "RippleIOUDepositAddressResponse",
        "btc_unconfirmed/": "DepositAddressResponse",
        "xrp_withdrawal/": "CryptoWithdrawalResponse",
        "ripple_withdrawal/": "RippleIOUWithdrawalResponse",
        "withdrawal/open/": "OpenBankWithdrawalResponse",
        "withdrawal/status/": "BankWithdrawalStatusResponse",
        "withdrawal-requests/": "WithdrawalRequestsResponse",
        "withdrawal/cancel/": "CancelBankWithdrawalResponse",
        "transfer-from-main/": "TransferToFromMainResponse",
        "transfer-to-main/": "TransferToFromMainResponse",
        "instant_convert_address/new/": "NewInstantConvertAddressResponse",
        "instant_convert_address/info/": "InstantConvertAddressInfoResponse",
        "earn/subscriptions/": "EarnSubscriptionsSchema",
        "earn/transactions/": "EarnTransactionSchema",
        "travel_rule/contacts/": "ContactSchema",
    }
    for path, model in shapes.items():
        assert path in answers, f"no answer recorded for {path}"
        for answer in answers[path]:
            for item in answer if isinstance(answer, list) else [answer]:
                check(models, model, item)


@pytest.mark.parametrize("window", [None, 3600])
async def test_default_window_of_the_withdrawal_list(window: int | None) -> None:
    async with emulator() as (exchange, client, _):
        exchange.funding_switches.withdrawal_requests_default_window = window
        placed = await client.withdraw("btc", "0.5", BTC_ADDRESS)
        exchange.advance(7200)  # two hours of exchange time pass
        found = [row.id for row in await client.withdrawal_requests()]
        assert found == ([] if window else [placed.id])
        # An explicit timedelta always wins over the default.
        assert [r.id for r in await client.withdrawal_requests(timedelta=10_800)] == [placed.id]


async def test_crypto_transactions_list_deposits_and_withdrawals_as_the_spec_shapes_them() -> None:
    from aiobitstamp import Client
    from aiobitstamp.testing import FakeBitstamp

    async with FakeBitstamp() as fake:
        fake.add_account("cryptotx01", "crypto-tx-secret", balances={"btc": "1"})
        fake.deposit("cryptotx01", "btc", "0.5")
        async with Client("cryptotx01", "crypto-tx-secret", base_url=fake.url) as client:
            await client.withdraw("btc", "0.1", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
            listed = await client.crypto_transactions()
            walked = [row async for row in client.iter_crypto_transactions()]
    assert [str(d.amount) for d in listed.deposits] == ["0.50000000"]
    assert [str(w.amount) for w in listed.withdrawals] == ["0.10000000"]
    assert listed.withdrawals[0].destination_address == "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    assert len(walked) == 2
