"""Orders are placed exactly once, whatever the network does (issue 7, "exactly-once").

The emulator drops the answer of 10% of accepted orders and resets 5% of connections
before the order reaches the API; 1,000 orders from 50 coroutines must end as exactly 1,000
orders at the exchange, none twice, every one known to the client, balances reconciled.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from aiobitstamp import Client, OrderOptions
from aiobitstamp.testing import FakeBitstamp

KEY, SECRET = "exactlyonce01", "exactly-once-secret"
pytestmark = pytest.mark.slow


async def place_many(client: Client, count: int, workers: int, price: Decimal) -> dict[str, str]:
    """Place ``count`` resting buys; client_order_id -> order id as the client saw it."""
    placed: dict[str, str] = {}
    queue = list(range(count))

    async def worker() -> None:
        while queue:
            index = queue.pop()
            reference = f"eo-{index:05d}"
            order = await client.buy_limit(
                "btcusd", "0.001", price, OrderOptions.post_only(), client_order_id=reference
            )
            assert order.client_order_id == reference
            placed[reference] = order.id

    await asyncio.gather(*(worker() for _ in range(workers)))
    return placed


async def test_a_thousand_orders_through_lost_answers_and_resets_land_exactly_once() -> None:
    async with FakeBitstamp(rate_limits=None) as exchange:
        account = exchange.add_account(KEY, SECRET, balances={"usd": "10000000", "btc": "0"})
        lost = exchange.faults.drop_answer_after_accept(probability=0.10, path="buy/", seed=7)
        reset = exchange.faults.reset_connection(probability=0.05, path="buy/", seed=11)
        # The emulator places an order synchronously when it arrives, so absence is sure
        # within a second; against the exchange, keep the default 10 s.
        async with Client(
            KEY, SECRET, base_url=exchange.url, rate_limits=None, order_settle_seconds=1.0
        ) as client:
            bid = (await client.ticker("btcusd")).bid
            price = (bid * Decimal("0.85")).quantize(Decimal(1))
            placed = await place_many(client, 1000, 50, price)
        assert lost.served >= 50 and reset.served >= 20  # the faults really happened

        orders = [o for o in account.orders.values() if o.client_order_id]
        references = [o.client_order_id for o in orders]
        assert len(orders) == 1000
        assert len(set(references)) == 1000  # none duplicated
        assert set(references) == set(placed)  # every one known to the client ...
        assert {str(o.id) for o in orders} == set(placed.values())  # ... by its real id
        for order in orders:
            assert placed[order.client_order_id or ""] == str(order.id)

        usd = account.balance("usd")
        assert usd.total == Decimal("10000000")  # nothing filled, nothing charged
        assert usd.reserved == sum((o.reserved for o in orders), Decimal(0))
        assert usd.available == usd.total - usd.reserved


async def test_an_order_whose_answer_is_lost_is_found_not_resent() -> None:
    async with FakeBitstamp() as exchange:
        account = exchange.add_account(KEY, SECRET, balances={"usd": "100000"})
        exchange.faults.drop_answer_after_accept(path="buy/", times=1)
        async with Client(KEY, SECRET, base_url=exchange.url) as client:
            bid = (await client.ticker("btcusd")).bid
            order = await client.buy_limit("btcusd", "0.01", (bid * Decimal("0.9")).quantize(1))
        assert order.reconciled
        assert [o.client_order_id for o in account.orders.values()] == [order.client_order_id]
        assert exchange.stats.paths["/api/v2/buy/btcusd/"] == 1


async def test_an_order_that_never_arrived_is_sent_again_once_its_absence_is_sure() -> None:
    async with FakeBitstamp() as exchange:
        account = exchange.add_account(KEY, SECRET, balances={"usd": "100000"})
        exchange.faults.reset_connection(path="buy/", times=1)
        async with Client(KEY, SECRET, base_url=exchange.url, order_settle_seconds=0.5) as c:
            bid = (await c.ticker("btcusd")).bid
            order = await c.buy_limit("btcusd", "0.01", (bid * Decimal("0.9")).quantize(1))
        assert not order.reconciled
        assert len(account.orders) == 1
        assert exchange.stats.paths["/api/v2/buy/btcusd/"] == 2


async def test_an_order_whose_answer_fails_its_signature_is_looked_up_not_lost() -> None:
    """With signatures required, an executed order whose answer cannot be trusted is an
    unknown outcome: found by its client_order_id, never reported as a plain failure."""
    async with FakeBitstamp() as exchange:
        account = exchange.add_account(KEY, SECRET, balances={"usd": "100000"})
        # The exchange executes, then something unsigned answers in its place.
        exchange.inject_fault(
            "buy/btcusd/",
            status=200,
            body=b'{"id": "1", "datetime": "2026-01-01 00:00:00", "type": "0", '
            b'"price": "1", "amount": "1"}',
            content_type="application/json",
            after_executing=True,
        )
        async with Client(
            KEY, SECRET, base_url=exchange.url, require_response_signature=True
        ) as client:
            bid = (await client.ticker("btcusd")).bid
            order = await client.buy_limit("btcusd", "0.01", (bid * Decimal("0.9")).quantize(1))
        assert order.reconciled
        assert [o.client_order_id for o in account.orders.values()] == [order.client_order_id]
        assert order.id == str(next(iter(account.orders.values())).id) != "1"
        assert exchange.stats.paths["/api/v2/buy/btcusd/"] == 1


async def test_an_order_whose_lookup_cannot_be_trusted_either_is_reported_unknown() -> None:
    """Neither the placement's answer nor the lookup's can be trusted: the caller is told the
    outcome is unknown (never 'failed', which would invite a second order)."""
    from aiobitstamp import OrderOutcomeUnknownError

    unsigned = (
        b'{"id": "1", "datetime": "2026-01-01 00:00:00", "type": "0", "price": "1", "amount": "1"}'
    )
    async with FakeBitstamp() as exchange:
        account = exchange.add_account(KEY, SECRET, balances={"usd": "100000"})
        exchange.inject_fault(
            "buy/btcusd/", status=200, body=unsigned, content_type="application/json",
            after_executing=True,
        )  # fmt: skip
        exchange.inject_fault(
            "order_status/", status=200, body=unsigned, content_type="application/json",
            times=10,
        )  # fmt: skip
        async with Client(
            KEY, SECRET, base_url=exchange.url, require_response_signature=True
        ) as client:
            bid = (await client.ticker("btcusd")).bid
            with pytest.raises(OrderOutcomeUnknownError) as raised:
                await client.buy_limit(
                    "btcusd", "0.01", (bid * Decimal("0.9")).quantize(1), client_order_id="u-1"
                )
        assert raised.value.client_order_id == "u-1"
        assert [o.client_order_id for o in account.orders.values()] == ["u-1"]
        assert exchange.stats.paths["/api/v2/buy/btcusd/"] == 1
