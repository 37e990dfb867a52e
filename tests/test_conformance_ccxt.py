"""Conformance: ccxt's Bitstamp client, which the real exchange accepts, against the emulator.

ccxt signs ``url.replace('https://', '')``, so it must talk HTTPS to sign the host and
path the way the exchange sees them: the emulator serves TLS with a test CA (trustme) for
this test. If ccxt authenticates and a wrong secret is refused with API0005, the emulator
checks signatures the way the exchange does, and our own client passing the same emulator
signs the way the exchange checks.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

import aiobitstamp
from aiobitstamp.testing import FakeBitstamp

ccxt_async = pytest.importorskip("ccxt.async_support")
trustme = pytest.importorskip("trustme")

KEY = "ccxtconformancekey01"
SECRET = "ccxt-conformance-secret"


@pytest.fixture
async def tls_exchange(tmp_path: Path) -> AsyncIterator[tuple[FakeBitstamp, Path]]:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    async with FakeBitstamp(ssl_context=server_context) as fake:
        fake.add_account(KEY, SECRET, balances={"usd": "1234.56", "btc": "0.5"})
        assert fake.url.startswith("https://127.0.0.1:")
        yield fake, ca_file


def ccxt_client(fake: FakeBitstamp, ca_file: Path, secret: str) -> object:
    exchange = ccxt_async.bitstamp({"apiKey": KEY, "secret": secret, "cafile": str(ca_file)})
    exchange.urls["api"] = {"public": f"{fake.url}/api", "private": f"{fake.url}/api"}
    return exchange


async def test_ccxt_authenticates_and_fetches_balances(
    tls_exchange: tuple[FakeBitstamp, Path],
) -> None:
    fake, ca_file = tls_exchange
    exchange = ccxt_client(fake, ca_file, SECRET)
    try:
        balance = await exchange.fetch_balance()  # type: ignore[attr-defined]
    finally:
        await exchange.close()  # type: ignore[attr-defined]
    assert balance["USD"]["total"] == pytest.approx(1234.56)
    assert balance["BTC"]["free"] == pytest.approx(0.5)


async def test_ccxt_with_a_wrong_secret_gets_api0005(
    tls_exchange: tuple[FakeBitstamp, Path],
) -> None:
    fake, ca_file = tls_exchange
    exchange = ccxt_client(fake, ca_file, "not-the-secret")
    try:
        with pytest.raises(ccxt_async.AuthenticationError) as info:
            await exchange.fetch_balance()  # type: ignore[attr-defined]
    finally:
        await exchange.close()  # type: ignore[attr-defined]
    # ccxt turns API0005 into its own sub-account hint; the emulator saw exactly that code.
    assert "invalid signature" in str(info.value).lower()
    assert fake.stats.auth_failures == {"API0005": 1}


async def test_our_client_passes_the_same_emulator(
    tls_exchange: tuple[FakeBitstamp, Path],
) -> None:
    fake, ca_file = tls_exchange
    client_context = ssl.create_default_context(cafile=str(ca_file))
    transport = aiobitstamp.AiohttpTransport(ssl_context=client_context)
    async with aiobitstamp.Client(KEY, SECRET, base_url=fake.url, transport=transport) as client:
        balances = {b.currency: b for b in await client.account_balances()}
    assert balances["usd"].total == Decimal("1234.56")
    assert balances["btc"].available == Decimal("0.5")

    transport = aiobitstamp.AiohttpTransport(ssl_context=client_context)
    wrong = aiobitstamp.Client(KEY, "not-the-secret", base_url=fake.url, transport=transport)
    async with wrong:
        with pytest.raises(aiobitstamp.AuthenticationError) as info:
            await wrong.account_balances()
    assert info.value.code == "API0005"
    assert "not-the-secret" not in str(info.value)
