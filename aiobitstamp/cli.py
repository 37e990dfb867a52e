"""The command line: ``aiobitstamp demo`` and ``aiobitstamp emulator``.

``demo`` starts the embedded emulator, opens an account, and walks through what a
trading script does: market data, balances, placing and cancelling an order.
``emulator`` runs the emulator standalone so you can point your own bot at it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from decimal import Decimal

from ._client import Client
from .testing import FakeBitstamp, run_standalone

__all__ = ["main"]

DEMO_KEY = "demokey0123456789"
DEMO_SECRET = "demo-secret-not-for-real-use"


async def demo(pair: str = "btcusd") -> None:
    """Run one trading session against a fresh local emulator and narrate it."""
    async with FakeBitstamp() as exchange:
        exchange.add_account(DEMO_KEY, DEMO_SECRET, balances={"usd": "25000", "btc": "0.5"})
        print(f"emulator listening on {exchange.url}; account opened with 25000 USD, 0.5 BTC")
        async with Client(DEMO_KEY, DEMO_SECRET, base_url=exchange.url) as client:
            ticker = await client.ticker(pair)
            print(f"{pair} ticker: last {ticker.last}  bid {ticker.bid}  ask {ticker.ask}")

            book = await client.order_book(pair)
            bid, ask = book.best_bid, book.best_ask
            print(f"order book: {len(book.bids)} bids, {len(book.asks)} asks")
            if bid is not None and ask is not None:
                print(
                    f"  best bid {bid.amount} @ {bid.price}   best ask {ask.amount} @ {ask.price}"
                )
                print(f"  spread {book.spread}")

            for balance in await client.account_balances():
                if balance.total:
                    print(f"balance {balance.currency}: {balance.available} available")

            # A resting buy 5% under the best bid, rounded to the market's tick.
            market = await client.market(pair)
            tick = Decimal(1).scaleb(-market.counter_decimals)
            reference = bid.price if bid is not None else ticker.last
            price = (reference * Decimal("0.95")).quantize(tick)
            order = await client.buy_limit(pair, Decimal("0.01"), price, client_order_id="demo-1")
            print(f"placed buy {order.amount} {pair} @ {order.price}: order id {order.id}")

            usd = await client.account_balance("usd")
            print(f"usd while the order rests: {usd.available} available, {usd.reserved} reserved")

            open_orders = await client.open_orders(pair)
            print(f"open orders on {pair}: {[o.id for o in open_orders]}")

            canceled = await client.cancel_order(order.id)
            print(f"cancelled order {canceled.id} ({canceled.amount} @ {canceled.price})")

            usd = await client.account_balance("usd")
            print(f"usd after cancel: {usd.available} available, {usd.reserved} reserved")

            stats = client.rate_limit_stats
            sent = sum(lane.sent for lane in stats.values())
            print(
                f"requests sent: {sent}; rejected for rate: "
                f"{sum(lane.rejected for lane in stats.values())}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiobitstamp", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="a trading session on the embedded emulator")
    demo_parser.add_argument("--pair", default="btcusd")
    commands.add_parser(
        "emulator",
        help="run the Bitstamp emulator standalone (see 'aiobitstamp emulator -- --help')",
        add_help=False,
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "emulator":
        return run_standalone(list(rest))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    asyncio.run(demo(args.pair))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
