"""ccxt's Bitstamp client, as an outside user would run it, against the living emulator.

ccxt is written against the real exchange; every unified method below must run without
error and see a market that lives: a resting order that the synthetic flow fills, a
replaced order, cancels, trades and balances that agree. ccxt signs the host from an
https URL, so the emulator serves TLS with a test CA (trustme).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from aiobitstamp.testing import FakeBitstamp
from tests.test_testing import Clock

ccxt_async = pytest.importorskip("ccxt.async_support")
trustme = pytest.importorskip("trustme")

KEY, SECRET = "ccxtemulatorkey", "ccxt-emulator-secret"


@pytest.fixture
async def exchange(tmp_path: Path) -> AsyncIterator[tuple[FakeBitstamp, Any]]:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    # Frozen at the real time: ccxt signs with its own clock; the market moves by advance().
    clock = Clock(time.time())
    async with FakeBitstamp(
        ssl_context=server_context, rate_limits=None, wall_clock=clock, book_depth=300
    ) as fake:
        fake.add_account(KEY, SECRET, {"usd": "100000", "btc": "2"})
        client = ccxt_async.bitstamp({"apiKey": KEY, "secret": SECRET, "cafile": str(ca_file)})
        client.urls["api"] = {"public": f"{fake.url}/api", "private": f"{fake.url}/api"}
        try:
            yield fake, client
        finally:
            await client.close()


async def test_ccxt_unified_market_data(exchange: tuple[FakeBitstamp, Any]) -> None:
    _, client = exchange
    markets = await client.load_markets()
    assert markets["BTC/USD"]["id"] == "btcusd"
    ticker = await client.fetch_ticker("BTC/USD")
    book = await client.fetch_order_book("BTC/USD")
    assert book["bids"][0][0] == ticker["bid"] and book["asks"][0][0] == ticker["ask"]
    tickers = await client.fetch_tickers()
    assert "ETH/USD" in tickers
    trades = await client.fetch_trades("BTC/USD")
    assert trades and trades[-1]["price"] == ticker["last"]
    candles = await client.fetch_ohlcv("BTC/USD", "1h", limit=24)
    assert len(candles) == 24
    currencies = await client.fetch_currencies()
    assert "BTC" in currencies


async def test_ccxt_unified_trading_on_a_living_market(
    exchange: tuple[FakeBitstamp, Any],
) -> None:
    fake, client = exchange
    await client.load_markets()
    book = await client.fetch_order_book("BTC/USD")
    bid = book["bids"][0][0]
    resting = await client.create_order(
        "BTC/USD", "limit", "buy", 0.05, bid, {"clientOrderId": "ccxt-1"}
    )
    assert resting["clientOrderId"] == "ccxt-1"
    open_orders = await client.fetch_open_orders("BTC/USD")
    assert [o["id"] for o in open_orders] == [resting["id"]]
    edited = await client.edit_order(resting["id"], "BTC/USD", "limit", "buy", 0.06, bid)
    assert edited["id"] != resting["id"]
    fake.advance(3600)  # the synthetic flow fills it at the touch
    fetched = await client.fetch_order(edited["id"], "BTC/USD")
    assert fetched["status"] == "closed" and fetched["filled"] == pytest.approx(0.06)
    market = await client.create_order("BTC/USD", "market", "sell", 0.01)
    assert market["side"] == "sell"
    instant = await client.create_order("BTC/USD", "instant", "sell", 0.01)
    assert instant["id"]
    far = await client.create_order("BTC/USD", "limit", "sell", 0.01, bid * 1.1)
    cancelled = await client.cancel_order(far["id"], "BTC/USD")
    assert cancelled["id"] == far["id"]
    await client.create_order("BTC/USD", "limit", "buy", 0.01, bid * 0.9)
    await client.cancel_all_orders("BTC/USD")
    trades = await client.fetch_my_trades("BTC/USD")
    assert len(trades) >= 3 and all(t["fee"]["currency"] == "USD" for t in trades)
    balance = await client.fetch_balance()
    account = fake.accounts[KEY]
    assert balance["BTC"]["total"] == pytest.approx(float(account.balance("btc").total))
    assert balance["USD"]["used"] == 0
    fees = await client.fetch_trading_fees()
    # Bitstamp sends percent strings ("0.30000"); ccxt passes them through unscaled.
    assert fees["BTC/USD"]["maker"] == pytest.approx(0.3)
    withdraw_fees = await client.fetch_deposit_withdraw_fees()
    assert withdraw_fees["BTC"]["withdraw"]["fee"] == pytest.approx(0.00015)


async def test_ccxt_deposit_address_and_withdraw(exchange: tuple[FakeBitstamp, Any]) -> None:
    fake, client = exchange
    address = await client.fetch_deposit_address("BTC")
    assert address["address"]
    withdrawal = await client.withdraw("BTC", 0.01, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
    assert withdrawal["id"]
    assert fake.accounts[KEY].balance("btc").reserved > 0  # reserved until it settles
