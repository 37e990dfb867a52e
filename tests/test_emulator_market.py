"""The emulated market lives: synthetic flow fills resting orders, refills the book, and
everything public (tape, tickers, candles, book, feed) is one consistent story.

Time is simulated: the wall clock is frozen (``Clock``) and ``FakeBitstamp.advance`` runs
the market forward instantly. Expected values are recomputed here from the trade log and
the feed, never read back from the code under test's own aggregates.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import pytest

from aiobitstamp.testing import FakeBitstamp
from aiobitstamp.testing._feed import (
    BookChanged,
    FeedEvent,
    OrderEvent,
    OrderEventKind,
    TradePrinted,
)
from tests.test_testing import NOW, Clock, Signer

D = Decimal
KEY, SECRET = "marketkey", "marketsecret"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def emulator(clock: Clock, **options: Any) -> FakeBitstamp:
    options.setdefault("book_depth", 300)
    return FakeBitstamp(rate_limits=None, wall_clock=clock, **options)


async def ok(api: Signer, endpoint: str, form: dict[str, str] | None = None) -> Any:
    reply = await api.post(endpoint, form)
    assert reply.status == 200, reply.body
    return json.loads(reply.body, parse_float=Decimal)


async def public(api: Signer, endpoint: str) -> Any:
    reply = await api.get(endpoint)
    assert reply.status == 200, reply.body
    return reply.json()


# -- resting orders are filled ------------------------------------------------------------


@pytest.mark.parametrize(("side", "seed"), [("buy", 1), ("sell", 4), ("buy", 9)])
async def test_a_resting_order_at_the_touch_is_filled_partly_then_fully_within_an_hour(
    session: aiohttp.ClientSession, side: str, seed: int
) -> None:
    clock = Clock()
    async with emulator(clock, seed=seed) as fake:
        fake.add_account(KEY, SECRET, {"usd": "100000", "btc": "10"})
        api = Signer.of(fake, session, KEY, SECRET)
        book = await public(api, "order_book/btcusd/")
        price = book["bids"][0][0] if side == "buy" else book["asks"][0][0]
        amount = D("0.2")  # several takers' worth: it fills in pieces
        created = await ok(api, f"{side}/btcusd/", {"amount": str(amount), "price": price})
        remaining = []
        for _ in range(60):
            fake.advance(60)
            status = await ok(api, "order_status/", {"id": created["id"]})
            remaining.append(D(status["amount_remaining"]))
            if status["status"] == "Finished":
                break
        assert status["status"] == "Finished", remaining  # within one simulated hour
        assert any(0 < left < amount for left in remaining) or len(status["transactions"]) > 1
        fills = status["transactions"]
        assert sum(D(f["btc"]) for f in fills) == amount
        # Every fill at the order's own price, as maker (0.3%, rounded on running totals).
        assert {D(f["price"]) for f in fills} == {D(price)}
        value = amount * D(price)
        fee_total = (value * D("0.003")).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        assert sum(D(f["fee"]) for f in fills) == fee_total
        # The synthetic side of each fill is on the public tape with the same id.
        tape = {t.trade_id: t for t in fake.trade_log("btcusd")}
        for fill in fills:
            trade = tape[fill["tid"]]
            assert (trade.price, trade.amount) == (D(price), D(fill["btc"]))
            assert trade.taker_side == (1 if side == "buy" else 0)


async def test_a_sweep_is_refilled_by_the_makers(session: aiohttp.ClientSession) -> None:
    clock = Clock()
    async with emulator(clock, seed=3) as fake:
        fake.add_account(KEY, SECRET, {"usd": "10000000"})
        api = Signer.of(fake, session, KEY, SECRET)
        fake.advance(600)
        _, _, asks = fake.book_snapshot("btcusd", 15)
        swept = sum(amount for _, amount in asks)
        await ok(api, "buy/market/btcusd/", {"amount": f"{swept:f}"})
        _, bids_after, asks_after = fake.book_snapshot("btcusd", 1)
        assert asks_after[0][0] > asks[14][0]  # fifteen levels gone
        gap = asks_after[0][0] - bids_after[0][0]
        fake.advance(60)
        _, bids_later, asks_later = fake.book_snapshot("btcusd", 1)
        assert asks_later[0][0] < asks_after[0][0]  # new asks inside the hole
        assert asks_later[0][0] - bids_later[0][0] < gap


# -- the feed, the book and the trades agree ----------------------------------------------


class Replay:
    """A book rebuilt from the feed alone: L3 from order events, L2 from book diffs."""

    def __init__(self, fake: FakeBitstamp, market: str) -> None:
        self.orders = {
            o.order_id: (o.side, o.price, o.amount) for o in fake.open_market_orders(market)
        }
        micro, bids, asks = fake.book_snapshot(market)
        self.levels = [dict(bids), dict(asks)]
        self.micro = micro
        self.last_change = micro
        self.trades: list[TradePrinted] = []
        self.problems: list[str] = []
        self.changes = 0

    def best(self, side: int) -> Decimal | None:
        prices = [price for s, price, _ in self.orders.values() if s == side]
        if not prices:
            return None
        return max(prices) if side == 0 else min(prices)

    def __call__(self, event: FeedEvent) -> None:
        if event.microtimestamp < self.micro:
            self.problems.append(f"time went back: {event}")
        self.micro = event.microtimestamp
        if isinstance(event, TradePrinted):
            # Takers trade at resting prices: the trade is at the touch when it prints.
            resting = 1 if event.taker_side == 0 else 0
            if event.price != self.best(resting):
                self.problems.append(f"trade off the touch: {event}")
            self.trades.append(event)
        elif isinstance(event, OrderEvent):
            if event.kind is OrderEventKind.DELETED:
                self.orders.pop(event.order_id)
            else:
                self.orders[event.order_id] = (event.side, event.price, event.amount)
        else:
            assert isinstance(event, BookChanged)
            if event.microtimestamp <= self.last_change:
                self.problems.append(f"diff not after the previous one: {event}")
            self.last_change = event.microtimestamp
            for side, rows in ((0, event.bids), (1, event.asks)):
                for price, amount in rows:
                    if amount:
                        self.levels[side][price] = amount
                    else:
                        self.levels[side].pop(price, None)
            bid, ask = max(self.levels[0]), min(self.levels[1])
            if bid >= ask:
                self.problems.append(f"crossed book {bid} >= {ask} at {event.microtimestamp}")
            self.changes += 1
            if self.changes % 200 == 0 and self.aggregated() != self.levels:
                self.problems.append(f"L2 and L3 disagree after {event.microtimestamp}")

    def aggregated(self) -> list[dict[Decimal, Decimal]]:
        levels: list[dict[Decimal, Decimal]] = [{}, {}]
        for side, price, amount in self.orders.values():
            levels[side][price] = levels[side].get(price, D(0)) + amount
        return levels


async def test_the_feed_replays_onto_the_book_which_never_crosses(
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    async with emulator(clock, seed=5, message_rate=4) as fake:
        fake.add_account(KEY, SECRET, {"usd": "1000000", "btc": "20"})
        api = Signer.of(fake, session, KEY, SECRET)
        replay = Replay(fake, "btcusd")
        fake.feed.subscribe(replay)
        for minute in range(60):
            fake.advance(60)
            _, bids, asks = fake.book_snapshot("btcusd", 1)
            if minute % 6 == 0:  # a user joins the flow: resting, crossing, sweeping
                await ok(api, "buy/btcusd/", {"amount": "0.05", "price": str(bids[0][0])})
                await ok(api, "sell/btcusd/", {"amount": "0.05", "price": str(asks[0][0])})
                await ok(api, "buy/btcusd/", {"amount": "0.3", "price": str(asks[0][0] + 20)})
                await ok(api, "sell/market/btcusd/", {"amount": "0.4"})
        assert replay.problems == []
        assert replay.aggregated() == replay.levels
        micro, bids, asks = fake.book_snapshot("btcusd")
        assert (replay.last_change, replay.levels) == (micro, [dict(bids), dict(asks)])
        resting = {
            o.order_id: (o.side, o.price, o.amount) for o in fake.open_market_orders("btcusd")
        }
        assert replay.orders == resting
        assert len(replay.trades) > 400
        assert [t.trade_id for t in replay.trades] == [
            t.trade_id for t in fake.trade_log("btcusd")[-len(replay.trades) :]
        ]
        ours = [t for t in replay.trades if t.buy_user_id or t.sell_user_id]
        assert ours and all(t.buy_fee or t.sell_fee for t in ours)


async def test_a_day_of_trades_agrees_with_tape_tickers_and_candles(
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    async with emulator(clock, seed=2) as fake:
        api = Signer.of(fake, session, "unused", "unused")
        fake.advance(86400)
        now = int(fake.market_time())
        log = fake.trade_log("btcusd")
        day = [t for t in log if t.microtimestamp > (now - 86400) * 10**6]
        assert len(day) > 5000

        tape = await public(api, "transactions/btcusd/?time=day")
        assert [
            (int(r["tid"]), D(r["price"]), D(r["amount"]), int(r["type"]), int(r["date"]))
            for r in tape
        ] == [
            (t.trade_id, t.price, t.amount, t.taker_side, t.microtimestamp // 10**6)
            for t in reversed(day)
        ]

        current_hour = now - now % 3600
        hours = (await public(api, "ohlc/btcusd/?step=3600&limit=24"))["data"]["ohlc"]
        assert [int(c["timestamp"]) for c in hours] == list(
            range(current_hour - 23 * 3600, current_hour + 1, 3600)
        )
        minutes: list[dict[str, str]] = []
        start = current_hour - 23 * 3600
        while start <= now:
            page = await public(api, f"ohlc/btcusd/?step=60&limit=1000&start={start}")
            minutes.extend(page["data"]["ohlc"])
            start = int(minutes[-1]["timestamp"]) + 60
        assert len(minutes) == 23 * 60 + (now - current_hour) // 60 + 1

        def candle_of(trades: list[TradePrinted], previous_close: Decimal) -> tuple[Any, ...]:
            if not trades:
                return (previous_close,) * 4 + (D(0),)
            prices = [t.price for t in trades]
            volume = sum((t.amount for t in trades), D(0))
            return (prices[0], max(prices), min(prices), prices[-1], volume)

        def row(candle: dict[str, str]) -> tuple[Any, ...]:
            return tuple(D(candle[k]) for k in ("open", "high", "low", "close", "volume"))

        by_minute: dict[int, list[TradePrinted]] = {}
        for trade in log:
            by_minute.setdefault(trade.microtimestamp // 60_000_000 * 60, []).append(trade)
        first = int(minutes[0]["timestamp"]) * 10**6
        close = [t.price for t in log if t.microtimestamp < first][-1]
        for candle in minutes:
            stamp = int(candle["timestamp"])
            inside = by_minute.get(stamp, [])
            assert row(candle) == candle_of(inside, close), stamp
            close = inside[-1].price if inside else close
        # A one-hour candle is exactly the fold of its sixty one-minute candles.
        for index, hour in enumerate(hours):
            parts = [row(m) for m in minutes[index * 60 : index * 60 + 60] if D(m["volume"])]
            assert parts, hour
            folded = (
                parts[0][0],
                max(p[1] for p in parts),
                min(p[2] for p in parts),
                parts[-1][3],
                sum(p[4] for p in parts),
            )
            assert row(hour) == folded

        ticker = await public(api, "ticker/btcusd/")
        window = [t for t in log if t.microtimestamp >= (current_hour - 23 * 3600) * 10**6]
        volume = sum((t.amount for t in window), D(0))
        value = sum((t.amount * t.price for t in window), D(0))
        assert D(ticker["volume"]) == volume
        assert D(ticker["high"]) == max(t.price for t in window)
        assert D(ticker["low"]) == min(t.price for t in window)
        assert D(ticker["vwap"]) == (value / volume).quantize(D(1), rounding=ROUND_HALF_UP)
        assert D(ticker["last"]) == log[-1].price and ticker["side"] == str(log[-1].taker_side)
        assert D(ticker["open_24"]) == window[0].price
        assert ticker["timestamp"] == str(now)

        hourly = await public(api, "ticker_hour/btcusd/")
        first_minute = now - now % 60 - 59 * 60
        window = [t for t in log if t.microtimestamp >= first_minute * 10**6]
        assert D(hourly["volume"]) == sum((t.amount for t in window), D(0))
        assert D(hourly["high"]) == max(t.price for t in window)
        assert D(hourly["low"]) == min(t.price for t in window)
        assert hourly["last"] == ticker["last"]


async def test_balances_reconcile_to_the_last_unit_with_fees(
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    start = {"usd": D("250000.00"), "btc": D("4.00000000")}
    async with emulator(clock, seed=7, message_rate=4) as fake:
        account = fake.add_account(KEY, SECRET, {k: str(v) for k, v in start.items()})
        api = Signer.of(fake, session, KEY, SECRET)
        for round_ in range(40):
            _, bids, asks = fake.book_snapshot("btcusd", 1)
            await ok(api, "buy/btcusd/", {"amount": "0.01234567", "price": str(bids[0][0])})
            await ok(api, "sell/btcusd/", {"amount": "0.00987654", "price": str(asks[0][0])})
            if round_ % 5 == 0:
                await ok(api, "buy/market/btcusd/", {"amount": "0.00333333"})
                await ok(api, "sell/instant/btcusd/", {"amount": "0.00271828"})
            fake.advance(180)
        await ok(api, "cancel_all_orders/")
        rows = []
        for offset in range(0, 10_000, 1000):
            page = await ok(api, "user_transactions/", {"offset": str(offset), "limit": "1000"})
            rows.extend(page)
            if len(page) < 1000:
                break
        assert len(rows) > 100
        assert len(rows) == len({(r["id"], r["order_id"]) for r in rows})

        def amount(value: object) -> Decimal:
            return D(value) if isinstance(value, str) else D(str(value))

        for currency in ("usd", "btc"):
            moved = sum((amount(r[currency]) for r in rows), D(0))
            fees = sum((D(r["fee"]) for r in rows), D(0)) if currency == "usd" else D(0)
            balance = account.balance(currency)
            assert balance.total == start[currency] + moved - fees
            assert (balance.reserved, balance.available) == (0, balance.total)
            answer = await ok(api, f"account_balances/{currency}/")
            assert D(answer["total"]) == balance.total


async def test_the_market_is_deterministic_from_its_seed(session: aiohttp.ClientSession) -> None:
    runs = []
    for seed in (11, 11, 12):
        async with emulator(Clock(), seed=seed) as fake:
            fake.add_account(KEY, SECRET, {"usd": "100000", "btc": "1"})
            api = Signer.of(fake, session, KEY, SECRET)
            fake.advance(900)
            _, bids, _ = fake.book_snapshot("btcusd", 1)
            order = await ok(api, "buy/btcusd/", {"amount": "0.1", "price": str(bids[0][0])})
            fake.advance(1800)
            status = await ok(api, "order_status/", {"id": order["id"]})
            log = [
                (t.trade_id, t.price, t.amount, t.taker_side, t.microtimestamp)
                for t in fake.trade_log("btcusd")
            ]
            runs.append((log, fake.book_snapshot("btcusd"), status))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


# -- time and pace ------------------------------------------------------------------------


async def test_speed_runs_simulated_time_faster_than_the_wall_clock(
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    async with emulator(clock, speed=60.0) as fake:
        api = Signer.of(fake, session, "unused", "unused")
        clock.now += 60  # one wall minute is a simulated hour
        assert fake.market_time() == NOW + 3600
        ticker = await public(api, "ticker/btcusd/")
        assert ticker["timestamp"] == str(int(NOW) + 3600)
        trades = fake.trade_log("btcusd")
        assert trades and trades[-1].microtimestamp > (NOW + 3000) * 10**6
        # The exchange's own clock (auth, Date) keeps wall time.
        assert fake.server_time() == NOW + 60
        fake.speed = 1.0  # the time reached is kept; only the pace changes
        clock.now += 10
        assert fake.market_time() == NOW + 3610
        fake.advance(50)
        assert fake.market_time() == NOW + 3660


async def test_message_rate_sets_how_busy_the_market_is() -> None:
    counts = []
    for rate in (1.0, 10.0, 0.0):
        fake = emulator(Clock(), message_rate=rate)
        fake.book_snapshot("btcusd")  # alive from here
        events: list[FeedEvent] = []
        fake.feed.subscribe(events.append)
        fake.advance(3600)
        counts.append(len(events))
    one, ten, frozen = counts
    assert 0.6 * 3600 < one < 1.6 * 3600
    assert 6 * 3600 < ten < 16 * 3600
    assert frozen == 0


async def test_run_market_keeps_the_feed_flowing_without_requests() -> None:
    # The real wall clock, sped up: one wall second is a simulated hour.
    async with FakeBitstamp(rate_limits=None, book_depth=100, speed=3600.0) as fake:
        fake.book_snapshot("ethusd")
        arrived = asyncio.Event()
        seen: list[FeedEvent] = []

        def listen(event: FeedEvent) -> None:
            seen.append(event)
            if len(seen) >= 50:
                arrived.set()

        fake.feed.subscribe(listen)
        task = fake.run_market(message_rate=20.0)
        assert fake.run_market() is task  # one task, however many callers
        await asyncio.wait_for(arrived.wait(), timeout=30)
        await fake.stop_market()
        assert task.done()
        stopped_at = len(seen)
        await asyncio.sleep(0)  # nothing runs the market any more
        assert len(seen) == stopped_at
        assert {event.market for event in seen} == {"ethusd"}


async def test_history_before_genesis_is_synthetic_and_after_it_comes_from_matches(
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    async with emulator(clock, seed=6) as fake:
        api = Signer.of(fake, session, "unused", "unused")
        genesis = fake.genesis
        assert genesis == int(NOW) // 60 * 60
        fake.advance(7200)
        minutes = await public(api, f"ohlc/btcusd/?step=60&limit=20&start={genesis - 600}")
        candles = {int(c["timestamp"]): c for c in minutes["data"]["ohlc"]}
        log = fake.trade_log("btcusd")
        assert log[0].microtimestamp >= genesis * 10**6
        for stamp, candle in candles.items():
            inside = [t for t in log if stamp * 10**6 <= t.microtimestamp < (stamp + 60) * 10**6]
            if stamp < genesis:
                assert not inside and D(candle["volume"]) > 0  # synthetic history
            else:
                assert D(candle["volume"]) == sum((t.amount for t in inside), D(0))
