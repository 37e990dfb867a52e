"""The one-shot commands: ask the exchange, show the answer. Each takes the command's
client and output; the wiring (options, keys, errors) is ``_app``'s."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from .._models import Side
from ._output import Output, Table
from ._session import StreamingClient

__all__ = ["balance", "book", "fees", "orders", "ticker", "trades"]

_BAR_WIDTH = 30


def _side_style(side: object) -> str | None:
    if side is Side.BUY or side == "buy":
        return "green"
    if side is Side.SELL or side == "sell":
        return "red"
    return None


async def ticker(client: StreamingClient, output: Output, pairs: Sequence[str]) -> None:
    """One market's ticker as a record; several (or every market's) as a table."""
    names = (
        "last", "bid", "ask", "high", "low", "open", "vwap", "volume", "percent_change_24",
        "timestamp",
    )  # fmt: skip
    if len(pairs) == 1:
        quote = await client.ticker(pairs[0])
        fields: list[tuple[str, Any]] = [("pair", pairs[0])]
        fields += [(name, getattr(quote, name)) for name in names]
        output.record(fields, title=f"{pairs[0]} ticker")
        return
    if pairs:
        rows = [(pair, await client.ticker(pair)) for pair in pairs]
    else:
        every = await client.tickers()
        rows = [((quote.pair or "").replace("/", "").lower(), quote) for quote in every]
    table = Table(
        columns=("pair", *names),
        rows=[(pair, *(getattr(quote, name) for name in names)) for pair, quote in rows],
        justify=("left", *["right"] * (len(names) - 1), "left"),
    )
    output.table(table)


async def book(client: StreamingClient, output: Output, pair: str, top: int) -> None:
    """The best ``top`` levels each side: a depth ladder with cumulative bars."""
    snapshot = await client.order_book(pair)
    asks = list(snapshot.asks[:top])
    bids = list(snapshot.bids[:top])
    if output.json:
        output.json_document(
            {
                "pair": pair,
                "microtimestamp": snapshot.microtimestamp,
                "bids": [[level.price, level.amount] for level in bids],
                "asks": [[level.price, level.amount] for level in asks],
            }
        )
        return
    rows: list[tuple[str, Decimal, Decimal, Decimal]] = []
    total = Decimal(0)
    ask_rows = []
    for level in asks:
        total += level.amount
        ask_rows.append(("ask", level.price, level.amount, total))
    total = Decimal(0)
    bid_rows = []
    for level in bids:
        total += level.amount
        bid_rows.append(("bid", level.price, level.amount, total))
    rows = [*reversed(ask_rows), *bid_rows]  # asks above bids, best prices meet
    deepest = max((row[3] for row in rows), default=Decimal(0)) or Decimal(1)
    if not output.terminal:
        output.table(Table(columns=("side", "price", "amount", "cumulative"), rows=rows))
        return
    spread = snapshot.spread
    laddered = [(*row, "█" * max(1, int(_BAR_WIDTH * row[3] / deepest))) for row in rows]
    title = f"{pair} order book, top {top}" + (f" · spread {spread}" if spread is not None else "")
    output.table(
        Table(
            columns=("side", "price", "amount", "cumulative", "depth"),
            rows=laddered,
            title=title,
            justify=("left", "right", "right", "right", "left"),
            style=lambda column, row: "red" if row[0] == "ask" else "green",
        )
    )


async def trades(
    client: StreamingClient,
    output: Output,
    pair: str,
    window: Literal["minute", "hour", "day"],
    limit: int | None,
) -> None:
    """Public trades of the last minute, hour or day, newest first."""
    rows = list(await client.transactions(pair, time=window))
    if limit is not None:
        rows = rows[:limit]
    output.table(
        Table(
            columns=("time", "id", "side", "price", "amount"),
            rows=[(t.timestamp, t.id, t.side, t.price, t.amount) for t in rows],
            title=f"{pair} trades, last {window}",
            justify=("left", "right", "left", "right", "right"),
            style=lambda column, row: _side_style(row[2]) if column == 2 else None,
        )
    )


async def balance(
    client: StreamingClient, output: Output, currencies: Sequence[str], show_all: bool
) -> None:
    """Balances: the named currencies, or every one held (every one with ``show_all``)."""
    if currencies:
        found = [await client.account_balance(code) for code in currencies]
    else:
        found = [row for row in await client.account_balances() if show_all or row.total]
    output.table(
        Table(
            columns=("currency", "total", "available", "reserved"),
            rows=[(b.currency, b.total, b.available, b.reserved) for b in found],
            title="balances",
            justify=("left", "right", "right", "right"),
        )
    )


async def orders(client: StreamingClient, output: Output, pair: str | None) -> None:
    """Open orders, of one market or every market."""
    found = await client.open_orders(pair)
    output.table(
        Table(
            columns=("id", "market", "side", "price", "amount", "created", "client_order_id"),
            rows=[
                (o.id, o.market or pair, o.side, o.price, o.amount, o.created_at, o.client_order_id)
                for o in found
            ],
            title="open orders",
            justify=("right", "left", "left", "right", "right", "left", "left"),
            style=lambda column, row: _side_style(row[2]) if column == 2 else None,
        )
    )


async def fees(client: StreamingClient, output: Output, pair: str | None) -> None:
    """Maker and taker fees (percent) of every market, or of one."""
    found = [await client.trading_fee(pair)] if pair else list(await client.trading_fees())
    output.table(
        Table(
            columns=("market", "maker", "taker"),
            rows=[(fee.market, fee.maker, fee.taker) for fee in found],
            title="trading fees (%)",
            justify=("left", "right", "right"),
        )
    )


def iso(moment: datetime) -> str:
    """``2024-01-31T12:00:00Z``."""
    return moment.isoformat().replace("+00:00", "Z")
