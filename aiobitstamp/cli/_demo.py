"""``aiobitstamp demo``: a small market maker on a local emulator, live, then a summary.

Offline and self-contained: the embedded emulator runs a living market (``run_market``)
at ``speed`` times the clock; one funded account trades on it. The strategy:

* a local order book (``client.local_order_book``: REST snapshot plus diffs) gives the
  best bid and ask; we quote one tick inside them (never crossing), ``size`` each side,
  leaning against our inventory;
* fills arrive on our private trades stream (``client.my_trades``) when the emulator's
  takers hit our quotes; each fill moves position, cash and fees;
* a quote that the market left behind is cancelled and placed again. When the limiter is
  busy (less than ``_BUSY`` requests of headroom in its tightest window) we only cancel:
  stale quotes come off first, new ones wait. The demo's client has a deliberately tight
  limit (``_DEMO_LIMITS``) so this happens.

A terminal shows a live table (rich ``Live``); a pipe gets one line per fill and a status
line every few seconds; ``--json`` gets the summary only, as one object.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from rich.live import Live
from rich.table import Table as RichTable

from .._exceptions import BitstampError, OrderNotFoundError
from .._models import Side
from ..streams import Gap, MyTrade
from ._output import Output
from ._session import EMULATOR_BALANCES, StreamingClient, connect, embedded_emulator

__all__ = ["demo"]

_DEMO_LIMITS = ((8, 1.0), (400, 60.0))  # tighter than Bitstamp's, so the limiter shows
_BUSY = 3  # headroom below which we only cancel
_STATUS_EVERY = 2.0  # seconds between status lines when piped


@dataclass
class _Quote:
    id: str
    side: Side
    price: Decimal
    remaining: Decimal


@dataclass
class _Book:
    """What the market maker knows and did."""

    start_base: Decimal
    start_counter: Decimal
    base: Decimal
    counter: Decimal
    placed: int = 0
    cancelled: int = 0
    rejected: int = 0
    cancel_only: int = 0
    fills: int = 0
    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    mid: Decimal | None = None
    quotes: dict[str, _Quote] = field(default_factory=dict)
    recent: list[str] = field(default_factory=list)

    def pnl(self) -> Decimal | None:
        """Cash change plus inventory change marked at the mid."""
        if self.mid is None:
            return None
        return (self.counter - self.start_counter) + (self.base - self.start_base) * self.mid


class _MarketMaker:
    def __init__(self, client: StreamingClient, pair: str, size: Decimal, output: Output) -> None:
        self.client = client
        self.pair = pair
        self.size = size
        self.output = output
        self.book = _Book(
            start_base=Decimal(EMULATOR_BALANCES["btc"]),
            start_counter=Decimal(EMULATOR_BALANCES["usd"]),
            base=Decimal(EMULATOR_BALANCES["btc"]),
            counter=Decimal(EMULATOR_BALANCES["usd"]),
        )
        self.tick = Decimal(1)
        self.headroom: tuple[int, ...] = ()

    async def run(self, seconds: float) -> None:
        market = await self.client.market(self.pair)
        self.tick = Decimal(1).scaleb(-market.counter_decimals)
        base_code, counter_code = market.base_currency.lower(), market.counter_currency.lower()
        balances = {b.currency: b for b in await self.client.account_balances()}
        self.book.base = self.book.start_base = balances[base_code].total
        self.book.counter = self.book.start_counter = balances[counter_code].total
        fills = self.client.my_trades(self.pair)
        async with self.client.local_order_book(self.pair) as local, fills:
            listener = asyncio.get_running_loop().create_task(self._fills(fills))
            try:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    with contextlib.suppress(asyncio.TimeoutError):
                        # Requote on every book change, and at least twice a second.
                        await asyncio.wait_for(local.updated(), 0.5)
                    await self._requote(local)
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
                await self._cancel_all()

    async def _fills(self, fills: Any) -> None:
        async for event in fills:
            if isinstance(event, Gap) or not isinstance(event, MyTrade):
                continue
            book = self.book
            value = event.price * event.amount
            fee = event.fee or Decimal(0)
            book.fills += 1
            book.fees += fee
            if event.side is Side.BUY:
                book.base += event.amount
                book.counter -= value + fee
                book.bought += event.amount
            else:
                book.base -= event.amount
                book.counter += value - fee
                book.sold += event.amount
            quote = book.quotes.get(event.order_id)
            if quote is not None:
                quote.remaining -= event.amount
                if quote.remaining <= 0:
                    del book.quotes[event.order_id]
            line = f"fill {event.side.value} {event.amount} @ {event.price} (fee {fee})"
            book.recent = [*book.recent[-4:], line]
            if not self.output.terminal and not self.output.json:
                self.output.line(line)

    async def _requote(self, local: Any) -> None:
        best_bid, best_ask = local.best_bid(), local.best_ask()
        if best_bid is None or best_ask is None:
            return
        book, tick = self.book, self.tick
        book.mid = (best_bid.price + best_ask.price) / 2
        # Lean against inventory: long moves both quotes down, short moves them up.
        lean = ((book.base - book.start_base) / self.size).to_integral_value() * tick
        bid = min(best_bid.price + tick, best_ask.price - tick) - lean
        ask = max(best_ask.price - tick, best_bid.price + tick) - lean
        bid = bid.quantize(tick, rounding=ROUND_FLOOR)
        ask = ask.quantize(tick, rounding=ROUND_CEILING)
        if bid >= best_ask.price:
            bid = best_ask.price - tick
        if ask <= best_bid.price:
            ask = best_bid.price + tick
        limiter = self.client.limiter
        self.headroom = await limiter.headroom() if limiter is not None else ()
        busy = bool(self.headroom) and min(self.headroom) < _BUSY
        held_back = False
        for side, target in ((Side.BUY, bid), (Side.SELL, ask)):
            stale = [
                q for q in book.quotes.values() if q.side is side and abs(q.price - target) > tick
            ]
            for quote in stale:  # cancels first, whatever the limiter says
                await self._cancel(quote)
            if any(q.side is side for q in book.quotes.values()):
                continue
            if busy:
                held_back = True  # a new quote waits until the limiter has room
                continue
            await self._place(side, target)
        book.cancel_only += held_back

    async def _place(self, side: Side, price: Decimal) -> None:
        place = self.client.buy_limit if side is Side.BUY else self.client.sell_limit
        try:
            order = await place(self.pair, self.size, price)
        except BitstampError:
            self.book.rejected += 1
            return
        self.book.placed += 1
        self.book.quotes[order.id] = _Quote(order.id, side, price, self.size)

    async def _cancel(self, quote: _Quote) -> None:
        self.book.quotes.pop(quote.id, None)
        try:
            await self.client.cancel_order(quote.id)
        except OrderNotFoundError:
            return  # filled meanwhile: the fill arrives on the stream
        except BitstampError:
            self.book.rejected += 1
            return
        self.book.cancelled += 1

    async def _cancel_all(self) -> None:
        for quote in list(self.book.quotes.values()):
            await self._cancel(quote)

    # -- showing -------------------------------------------------------------------------

    def requests(self) -> tuple[int, float, int]:
        stats = self.client.rate_limit_stats
        return (
            sum(lane.sent for lane in stats.values()),
            sum(lane.waited_seconds for lane in stats.values()),
            sum(lane.rejected for lane in stats.values()),
        )

    def status(self) -> list[tuple[str, Any]]:
        book = self.book
        quotes = sorted(book.quotes.values(), key=lambda q: q.side.value)
        sent, waited, rejected = self.requests()
        pnl = book.pnl()
        return [
            ("mid", None if book.mid is None else book.mid.quantize(self.tick)),
            ("our quotes", " / ".join(f"{q.side.value} {q.price}" for q in quotes) or "-"),
            ("position", f"{book.base - book.start_base:+f}"),
            ("P&L (marked at mid)", None if pnl is None else pnl.quantize(Decimal("0.01"))),
            ("orders placed / cancelled", f"{book.placed} / {book.cancelled}"),
            ("fills", book.fills),
            ("requests sent", f"{sent} (waited {waited:.1f} s, refused {rejected})"),
            ("limiter headroom", " / ".join(str(room) for room in self.headroom) or "-"),
            ("quotes held back (limiter busy)", book.cancel_only),
        ]


def _table(maker: _MarketMaker, left: float) -> RichTable:
    table = RichTable(title=f"market making {maker.pair} · {left:4.1f} s left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in maker.status():
        table.add_row(name, "-" if value is None else str(value))
    for line in maker.book.recent:
        table.add_row("", line, style="dim")
    return table


async def demo(
    output: Output, *, seconds: float, speed: float, pair: str, size: Decimal, seed: int
) -> None:
    """The ``demo`` command."""
    started = time.monotonic()
    async with embedded_emulator(speed=speed, message_rate=20.0, seed=seed) as (_, settings):
        output.note(
            f"emulator running at {speed:g}x on {settings.base_url}; "
            f"market making {pair} for {seconds:g} s"
        )
        async with connect(settings, rate_limits=_DEMO_LIMITS) as connection:
            maker = _MarketMaker(connection.client, pair, size, output)
            await _show_while(maker, output, seconds)
            summary = _summary(maker, time.monotonic() - started)
    if output.json:
        output.json_document(dict(summary))
    else:
        output.record(summary, title="demo summary")


async def _show_while(maker: _MarketMaker, output: Output, seconds: float) -> None:
    task = asyncio.get_running_loop().create_task(maker.run(seconds))
    deadline = time.monotonic() + seconds
    if output.json:
        await task
        return
    if output.terminal:
        with Live(_table(maker, seconds), console=output.console, refresh_per_second=8) as live:
            while not task.done():
                await asyncio.wait({task}, timeout=0.25)  # the view's refresh period
                live.update(_table(maker, max(0.0, deadline - time.monotonic())))
        await task
        return
    while not task.done():
        await asyncio.wait({task}, timeout=_STATUS_EVERY)  # a status line's period
        if not task.done():
            fields = dict(maker.status())
            output.line(
                f"status: mid {fields['mid']} position {fields['position']} "
                f"P&L {fields['P&L (marked at mid)']} fills {fields['fills']} "
                f"requests {fields['requests sent']}"
            )
    await task


def _summary(maker: _MarketMaker, elapsed: float) -> list[tuple[str, Any]]:
    book = maker.book
    sent, waited, rejected = maker.requests()
    pnl = book.pnl()
    return [
        ("pair", maker.pair),
        ("seconds", round(elapsed, 1)),
        ("orders placed", book.placed),
        ("orders cancelled", book.cancelled),
        ("orders refused", book.rejected),
        ("fills", book.fills),
        ("bought", book.bought),
        ("sold", book.sold),
        ("fees paid", book.fees),
        ("position change", book.base - book.start_base),
        ("P&L marked at mid", None if pnl is None else pnl.quantize(Decimal("0.01"))),
        ("requests sent", sent),
        ("seconds waited for the limiter", round(waited, 2)),
        ("requests refused for rate", rejected),
        ("quotes held back (limiter busy)", book.cancel_only),
        ("limiter headroom at the end", " / ".join(str(room) for room in maker.headroom)),
    ]
