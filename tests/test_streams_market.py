"""A scripted market for the stream tests: publishes on a MarketFeed exactly what the
emulator's matching engine would (trades, order events, book changes) and answers the
REST questions the stream client asks (transactions by window, the full book), from the
same tape and book. The tests at the bottom check the script itself.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from aiobitstamp import Side
from aiobitstamp.testing._feed import (
    BookChanged,
    MarketFeed,
    OrderEvent,
    OrderEventKind,
    TradePrinted,
)
from aiobitstamp.testing._ws_server import FakeWebSocketServer

ZERO = Decimal(0)
WINDOWS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RestTrade:
    """A ``transactions/`` row as ``Client.transactions`` gives it."""

    id: str
    price: Decimal
    amount: Decimal
    timestamp: datetime
    side: Side


class ScriptedMarket:
    """One market's tape, orders and aggregated book, published as it changes."""

    def __init__(self, market: str = "btcusd", *, first_trade_id: int = 500_000_000) -> None:
        self.market = market
        self.feed = MarketFeed()
        self.tape: list[TradePrinted] = []
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.orders: dict[int, OrderEvent] = {}
        self.book_micros = 0
        self._micros = 0
        self._trade_id = first_trade_id
        self._order_id = 1_400_000_000_000_000
        self.tokens: dict[str, int] = {}
        self.rest_calls: list[str] = []
        self.rest_failures = 0  # the next REST calls that fail

    # -- time and ids -------------------------------------------------------------------

    def now(self) -> int:
        self._micros = max(self._micros + 1, time.time_ns() // 1000)
        return self._micros

    # -- publishing ---------------------------------------------------------------------

    def trade(
        self,
        price: str = "50000.00",
        amount: str = "0.01000000",
        *,
        side: int = 0,
        buy_user: int | None = None,
        sell_user: int | None = None,
        micros: int | None = None,
        trade_id: int | None = None,
    ) -> TradePrinted:
        self._trade_id = trade_id if trade_id is not None else self._trade_id + 1
        printed = TradePrinted(
            market=self.market,
            trade_id=self._trade_id,
            price=Decimal(price),
            amount=Decimal(amount),
            taker_side=side,
            microtimestamp=micros if micros is not None else self.now(),
            buy_order_id=self._trade_id * 2,
            sell_order_id=self._trade_id * 2 + 1,
            buy_user_id=buy_user,
            sell_user_id=sell_user,
            buy_client_order_id="mine-buy" if buy_user is not None else None,
            sell_client_order_id="mine-sell" if sell_user is not None else None,
            buy_fee=Decimal("0.20"),
            sell_fee=Decimal("0.15"),
        )
        self.tape.append(printed)
        self.feed.publish(printed)
        return printed

    def order(
        self,
        kind: OrderEventKind,
        *,
        side: int = 0,
        price: str = "49999.00",
        amount: str = "0.50000000",
        order_id: int | None = None,
        user_id: int | None = None,
    ) -> OrderEvent:
        if order_id is None:
            self._order_id += 1
            order_id = self._order_id
        event = OrderEvent(
            kind=kind,
            market=self.market,
            order_id=order_id,
            side=side,
            price=Decimal(price),
            amount=Decimal(amount) if kind is not OrderEventKind.DELETED else ZERO,
            amount_traded=ZERO,
            amount_at_create=Decimal(amount),
            microtimestamp=self.now(),
            user_id=user_id,
            client_order_id="c-1" if user_id is not None else None,
        )
        if kind is OrderEventKind.DELETED:
            self.orders.pop(order_id, None)
        else:
            self.orders[order_id] = event
        self.feed.publish(event)
        return event

    def change(
        self,
        bids: Iterable[tuple[str, str]] = (),
        asks: Iterable[tuple[str, str]] = (),
    ) -> BookChanged:
        """Set levels (amount 0 removes one) and publish the change."""
        bid_rows = tuple((Decimal(p), Decimal(a)) for p, a in bids)
        ask_rows = tuple((Decimal(p), Decimal(a)) for p, a in asks)
        for side, rows in ((self.bids, bid_rows), (self.asks, ask_rows)):
            for price, amount in rows:
                if amount == 0:
                    side.pop(price, None)
                else:
                    side[price] = amount
        self.book_micros = self.now()
        event = BookChanged(self.market, self.book_micros, bid_rows, ask_rows)
        self.feed.publish(event)
        return event

    # -- what REST and the WebSocket server ask -----------------------------------------

    def book_snapshot(
        self, market: str, depth: int | None = None
    ) -> tuple[int, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        if market != self.market:
            raise KeyError(market)
        bids = sorted(self.bids.items(), reverse=True)
        asks = sorted(self.asks.items())
        if depth is not None:
            bids, asks = bids[:depth], asks[:depth]
        return self.book_micros, bids, asks

    def detail_book(
        self, market: str, depth: int = 100
    ) -> tuple[int, list[tuple[Decimal, Decimal, int]], list[tuple[Decimal, Decimal, int]]]:
        bids = sorted(
            ((o.price, o.amount, o.order_id) for o in self.orders.values() if o.side == 0),
            key=lambda row: (-row[0], row[2]),
        )
        asks = sorted(
            ((o.price, o.amount, o.order_id) for o in self.orders.values() if o.side == 1),
            key=lambda row: (row[0], row[2]),
        )
        return self.book_micros, bids[:depth], asks[:depth]

    async def rest_trades(self, pair: str, window: str) -> list[RestTrade]:
        self.rest_calls.append(window)
        if self.rest_failures:
            self.rest_failures -= 1
            from aiobitstamp import ExchangeUnavailableError

            raise ExchangeUnavailableError("scripted REST failure", status=502)
        since = time.time_ns() // 1000 - WINDOWS[window] * 1_000_000
        rows = [
            RestTrade(
                id=str(t.trade_id),
                price=t.price,
                amount=t.amount,
                timestamp=datetime.fromtimestamp(t.microtimestamp // 1_000_000, timezone.utc),
                side=Side.BUY if t.taker_side == 0 else Side.SELL,
            )
            for t in self.tape
            if t.market == pair and t.microtimestamp >= since
        ]
        return rows[::-1]  # newest first, like the exchange

    async def rest_book(
        self, pair: str
    ) -> tuple[int, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        return self.book_snapshot(pair)

    def issue_token(self, user_id: int) -> str:
        token = f"token{len(self.tokens):04d}{user_id}"
        self.tokens[token] = user_id
        return token

    def check_token(self, token: str) -> int | None:
        return self.tokens.get(token)

    def server(self, **options: object) -> FakeWebSocketServer:
        return FakeWebSocketServer(
            self.feed,
            check_token=self.check_token,
            book_snapshot=self.book_snapshot,
            detail_book=self.detail_book,
            **options,  # type: ignore[arg-type]
        )

    # -- flow ---------------------------------------------------------------------------

    async def pump_trades(self, count: int, *, per_tick: int = 5, stop: asyncio.Event) -> None:
        """Publish up to ``count`` trades, a few per event-loop tick, until ``stop``."""
        rng = random.Random(5)
        for index in range(count):
            if stop.is_set():
                return
            self.trade(price=f"{50000 + rng.randint(-500, 500)}.{index % 100:02d}")
            if index % per_tick == 0:
                await asyncio.sleep(0.001)  # the market's pace, not a synchronisation

    def random_book_change(self, rng: random.Random) -> BookChanged:
        """A random diff that never crosses the book: bids below 50,000, asks above."""
        bids: list[tuple[str, str]] = []
        asks: list[tuple[str, str]] = []
        for _ in range(rng.randint(1, 4)):
            on_bid = rng.random() < 0.5
            price = (
                Decimal(rng.randint(4_900_000, 4_999_999)) / 100
                if on_bid
                else Decimal(rng.randint(5_000_001, 5_100_000)) / 100
            )
            book = self.bids if on_bid else self.asks
            if book and rng.random() < 0.35:
                price = rng.choice(list(book))
                amount = "0" if rng.random() < 0.5 else "0.00000000"
            else:
                amount = f"{Decimal(rng.randint(1, 10**8)) / 10**8:f}"
            (bids if on_bid else asks).append((f"{price:.2f}", amount))
        return self.change(bids, asks)


@pytest.fixture
async def market() -> AsyncIterator[ScriptedMarket]:
    yield ScriptedMarket()


# -- the script itself ------------------------------------------------------------------


async def test_rest_trades_are_the_tape_newest_first(market: ScriptedMarket) -> None:
    first = market.trade()
    second = market.trade()
    rows = await market.rest_trades("btcusd", "minute")
    assert [row.id for row in rows] == [str(second.trade_id), str(first.trade_id)]
    assert rows[0].price == second.price


async def test_book_changes_replay_onto_the_snapshot(market: ScriptedMarket) -> None:
    rng = random.Random(3)
    for _ in range(200):
        market.random_book_change(rng)
    micros, bids, asks = market.book_snapshot("btcusd")
    assert micros == market.book_micros
    assert all(amount > 0 for _, amount in bids + asks)
    assert not bids or not asks or bids[0][0] < asks[0][0]
