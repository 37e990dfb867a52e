"""A local Bitstamp exchange for tests, benchmarks, demos and your own trading bots.

``FakeBitstamp`` serves the REST API v2 on 127.0.0.1: public market data from deterministic
synthetic markets (deep books, trades, candles, tickers), and private endpoints with strict
auth v2 checks, sliding-window rate limits, balances, limit and market orders that fill
against the book, cancels and order status. Faults (an HTML 502 page, truncated JSON, a
maintenance answer) can be injected, the exchange clock can be skewed, and every response
carries the headers the real exchange sends (``Date``, ``X-Server-Auth-Signature``).

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

from ._accounts import PERMISSIONS, Balance, FakeAccount
from ._server import FakeBitstamp, FakeStats
from ._standalone import run_standalone

__all__ = [
    "PERMISSIONS",
    "Balance",
    "FakeAccount",
    "FakeBitstamp",
    "FakeStats",
    "run_standalone",
]
