"""A local Bitstamp exchange for tests, benchmarks, demos and your own trading bots.

``FakeBitstamp`` serves the REST API v2 on 127.0.0.1 over markets that live: a matching
engine per market with price-time priority, and synthetic market makers, takers and
sweeps that move the book, refill it and fill your resting orders, in simulated time that
can run faster than the clock and is deterministic from a seed. The public tape, tickers
and candles are all derived from the matches. Private endpoints check auth v2 strictly,
enforce sliding-window rate limits, and trade with balances, reservations and maker/taker
fees. Fault switches drop, reset, delay or replace answers (before or after the exchange
acted); disputed exchange behaviours are ``Switches``; ``feed`` publishes every change of
every market for stream servers and tests.

Example::

    import aiohttp
    from aiobitstamp.testing import FakeBitstamp

    async def main() -> None:
        async with FakeBitstamp() as fake:
            account = fake.add_account("mykey", "mysecret", {"usd": "10000", "btc": "1"})
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{fake.url}/api/v2/ticker/btcusd/") as response:
                    print(await response.json())
            print(account.balance("usd"))

Point a client at ``fake.url`` as its base URL. From a shell,
``python -m aiobitstamp.testing --port 8765`` runs the same server until Ctrl-C and prints
its URL and credentials first (see ``run_standalone``).
"""

from __future__ import annotations

from ._accounts import PERMISSIONS, Balance, FakeAccount, FakeApiKey
from ._server import FakeBitstamp, FakeStats
from ._standalone import run_standalone
from ._switches import Switches

__all__ = [
    "PERMISSIONS",
    "Balance",
    "FakeAccount",
    "FakeApiKey",
    "FakeBitstamp",
    "FakeStats",
    "Switches",
    "run_standalone",
]
