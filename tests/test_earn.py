"""Earn: checks before sending, balances moving to earn and back with their ledger rows,
the API5xxx answers raised as bad requests, both readings of the write answer, and a walk
of the history that gives each event once while new ones arrive."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest

from aiobitstamp import (
    AuthenticationError,
    BadRequestError,
    InvalidParameterError,
    Request,
    Response,
    UnexpectedResponseError,
)
from aiobitstamp._models import TransactionType
from aiobitstamp._models.earn import (
    EarnSetting,
    EarnTerm,
    EarnTransactionStatus,
    EarnTransactionType,
    EarnType,
)

from .test_client import json_response
from .test_emulator_funding import ledger_types
from .test_funding import FundingClient, emulator, form_of, mock, unchecked

REFUSALS: list[tuple[str, Callable[[FundingClient], Any], str]] = [
    ("type in lower case", lambda c: c.earn_subscribe("eth", "1", "staking"), "earn_type"),
    ("unknown term", lambda c: c.earn_subscribe("eth", "1", EarnType.STAKING, "FLEX"), "earn_term"),
    ("zero amount", lambda c: c.earn_subscribe("eth", "0", EarnType.STAKING), "greater than zero"),
    (
        "more decimals than eth has",
        lambda c: c.earn_subscribe("eth", "0.000000001", "STAKING"),
        "decimal places",
    ),
    ("upper-case currency", lambda c: c.earn_unsubscribe("ETH", "1", "STAKING"), "currency"),
    ("unlisted currency", lambda c: c.earn_unsubscribe("doge", "1", "STAKING"), "unknown"),
    ("fiat currency", lambda c: c.earn_subscribe("usd", "1", "LENDING"), "fiat"),
    ("unknown setting", lambda c: c.earn_subscription_setting("eth", "STAKING", "IN"), "setting"),
    ("limit 0", lambda c: c.earn_transactions(limit=0), "limit"),
    ("offset too deep", lambda c: c.earn_transactions(offset=200_001), "offset"),
    ("bad quote currency", lambda c: c.earn_transactions(quote_currency="U$D"), "quote_currency"),
    ("page size 0", lambda c: anext(c.iter_earn_transactions(page_size=0)), "page_size"),
]


@pytest.mark.parametrize(
    ("call", "message"), [pytest.param(call, message, id=name) for name, call, message in REFUSALS]
)
async def test_refusals_send_nothing(call: Callable[[FundingClient], Any], message: str) -> None:
    async with emulator() as (exchange, client, account):
        await client.earn_subscriptions()
        await client.deposit_address("btc")  # the currency catalogue is loaded
        before = exchange.stats.requests
        with pytest.raises(InvalidParameterError, match=message):
            await call(client)
        assert exchange.stats.requests == before
        assert account.balance("eth").total == Decimal("10")


async def test_subscribe_unsubscribe_and_rewards_move_the_balance() -> None:
    async with emulator() as (exchange, client, account):
        await client.earn_subscribe("eth", "4", EarnType.STAKING)
        assert account.balance("eth").total == Decimal("6")
        staked = {(s.currency, s.type): s for s in await client.earn_subscriptions()}
        assert staked["ETH", EarnType.STAKING].amount == Decimal("4")
        exchange.earn_reward(account, "eth", "0.05")
        await client.earn_unsubscribe("eth", "1.5", "STAKING", EarnTerm.FLEXIBLE)
        assert account.balance("eth").total == Decimal("6") + Decimal("0.05") + Decimal("1.5")
        staked = {(s.currency, s.type): s for s in await client.earn_subscriptions()}
        assert staked["ETH", EarnType.STAKING].amount == Decimal("2.5")
        assert staked["ETH", EarnType.STAKING].amount_earned == Decimal("0.05")
        assert await ledger_types(client) == [
            (TransactionType.SENT_TO_STAKING, {"eth": Decimal("-4")}),
            (TransactionType.STAKING_REWARD, {"eth": Decimal("0.05")}),
            (TransactionType.STAKED_ASSETS_CREDITED, {"eth": Decimal("1.5")}),
        ]
        history = await client.earn_transactions(currency="eth", quote_currency="usd")
        assert [(e.type, e.amount) for e in history] == [
            (EarnTransactionType.UNSTAKE, Decimal("1.5")),
            (EarnTransactionType.REWARD_RECEIVED, Decimal("0.05")),
            (EarnTransactionType.STAKE, Decimal("4")),
        ]
        assert {e.status for e in history} == {EarnTransactionStatus.COMPLETED}
        assert history[-1].quote_currency == "USD" and history[-1].value is not None


@pytest.mark.parametrize("answer", ["null", "object"])
async def test_writes_return_none_for_both_readings_of_the_answer(answer: str) -> None:
    async with emulator() as (exchange, client, account):
        exchange.funding_switches.earn_write_answer = answer  # type: ignore[assignment]
        assert await client.earn_subscribe("usdc", "100", EarnType.LENDING) is None
        assert await client.earn_subscription_setting("eth", "STAKING", EarnSetting.OPT_IN) is None
        assert account.balance("eth").total == 0  # opting in staked everything
        assert await client.earn_unsubscribe("usdc", "40", "LENDING") is None
        assert account.balance("usdc").total == Decimal("440")


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.earn_subscribe("eth", "0.001", "STAKING"), "API5001"),  # below minimum
        (lambda c: c.earn_subscribe("eth", "11", "STAKING"), "API5002"),  # more than held
        (lambda c: c.earn_subscribe("btc", "0.1", "STAKING"), "API5004"),  # no such product
        (lambda c: c.earn_unsubscribe("eth", "1", "STAKING"), "API5012"),  # nothing staked
        (lambda c: c.earn_subscription_setting("usdc", "LENDING", "OPT_IN"), "API5004"),
        (lambda c: c.earn_subscription_setting("eth", "STAKING", "OPT_OUT"), "API5009"),
        (lambda c: c.earn_subscription_setting("sol", "STAKING", "OPT_IN"), "API5010"),
    ],
)
async def test_earn_codes_are_bad_requests_not_auth_errors(
    call: Callable[[FundingClient], Any], code: str
) -> None:
    async with emulator() as (_, client, account):
        with pytest.raises(BadRequestError) as raised:
            await call(client)
        assert raised.value.code == code and raised.value.status == 400
        assert not isinstance(raised.value, AuthenticationError)
        assert "key 'default'" not in str(raised.value)  # not told to check its key
        assert raised.value.attempts == 1  # classified by the tree, not converted after it
        assert account.balance("eth").total == Decimal("10")


async def test_opting_in_twice_is_refused() -> None:
    async with emulator() as (_, client, _account):
        await client.earn_subscription_setting("eth", EarnType.STAKING, "OPT_IN")
        with pytest.raises(BadRequestError) as raised:
            await client.earn_subscription_setting("eth", EarnType.STAKING, "OPT_IN")
        assert raised.value.code == "API5008"


async def test_wire_form_and_query() -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        if request.method == "GET":
            return json_response([])
        return Response(200, {"Content-Type": "application/json"}, b"null")

    transport = mock(
        {
            "/api/v2/earn/subscribe/": answer,
            "/api/v2/earn/subscriptions/setting/": answer,
            "/api/v2/earn/transactions/": answer,
        }
    )
    async with unchecked(transport) as client:
        await client.earn_subscribe("eth", Decimal("1.25"), EarnType.STAKING, EarnTerm.FIXED)
        await client.earn_subscription_setting("sol", "STAKING", "OPT_OUT")
        await client.earn_transactions(currency="eth", quote_currency="eur", limit=10, offset=5)
    assert form_of(seen[0]) == {
        "currency": "ETH",
        "amount": "1.25",
        "earn_type": "STAKING",
        "earn_term": "FIXED",
    }
    assert form_of(seen[1]) == {"currency": "SOL", "earn_type": "STAKING", "setting": "OPT_OUT"}
    assert seen[2].method == "GET" and seen[2].body == b"" and "X-Auth" in seen[2].headers
    query = dict(parse_qsl(seen[2].url.split("?", 1)[1]))
    assert query == {"currency": "ETH", "quote_currency": "EUR", "limit": "10", "offset": "5"}


@pytest.mark.parametrize(
    "row",
    [
        {"type": "STAKE_MORE", "amount": 1},  # not one of the spec's kinds
        {"type": "STAKE", "amount": "lots"},
        {"datetime": 1.5},
        "STAKE",
    ],
)
async def test_malformed_history_raises_unexpected_response(row: object) -> None:
    transport = mock({"/api/v2/earn/transactions/": lambda r: json_response([row])})
    async with unchecked(transport) as client:
        with pytest.raises(UnexpectedResponseError):
            async for _ in client.iter_earn_transactions():
                pass


async def test_walk_gives_each_event_once_while_rewards_arrive() -> None:
    async with emulator() as (exchange, client, account):
        await client.earn_subscribe("eth", "5", EarnType.STAKING)
        for index in range(12):
            exchange.earn_reward(account, "eth", f"0.00{index + 10}")
        before = {(e.type, e.amount) for e in await client.earn_transactions(limit=1000)}
        assert len(before) == 13
        given: list[tuple[Any, ...]] = []
        arrived = 0
        async for event in client.iter_earn_transactions(page_size=4):
            given.append((event.type, event.amount))
            if len(given) % 4 == 0 and arrived < 6:
                for _ in range(2):  # newest first: these push given events onto the next page
                    arrived += 1
                    exchange.earn_reward(account, "eth", f"0.0{arrived + 50}")
        assert len(given) == len(set(given))
        assert before <= set(given)
        # The walk asked with the filters it was given, page after page.
        assert exchange.stats.paths["/api/v2/earn/transactions/"] >= 4
