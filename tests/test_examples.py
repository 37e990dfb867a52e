"""The web-backend example: started as a process against the emulator, queried over HTTP,
stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp

from aiobitstamp.testing import FakeBitstamp

EXAMPLE = Path(__file__).parent.parent / "examples" / "aiohttp_service.py"
_GUARD = 60.0  # failure guard only


async def test_aiohttp_service_serves_ticker_and_book_from_live_books() -> None:
    async with FakeBitstamp() as exchange:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLE), "--port", "0", "--pair", "btcusd", "--pair", "ethusd",
            "--base-url", exchange.url, "--ws-url", exchange.ws_url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        try:
            line = (await asyncio.wait_for(process.stdout.readline(), _GUARD)).decode()
            assert line.startswith("serving on http://127.0.0.1:"), line
            url = line.split()[-1]
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{url}/health") as response:
                    assert await response.json() == {"btcusd": True, "ethusd": True}
                async with session.get(f"{url}/ticker/btcusd") as response:
                    assert response.status == 200
                    quote = await response.json()
                assert Decimal(quote["bid"]) < Decimal(quote["ask"])
                assert Decimal(quote["spread"]) == Decimal(quote["ask"]) - Decimal(quote["bid"])
                async with session.get(f"{url}/book/ethusd?depth=5") as response:
                    book = await response.json()
                assert len(book["bids"]) == len(book["asks"]) == 5
                assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0])
                async with session.get(f"{url}/book/ethusd?depth=0") as response:
                    assert response.status == 400
                async with session.get(f"{url}/ticker/ltcusd") as response:
                    assert response.status == 404
                # One client serves many requests at once.
                answers = await asyncio.gather(
                    *(session.get(f"{url}/ticker/btcusd") for _ in range(20))
                )
                assert {answer.status for answer in answers} == {200}
                for answer in answers:
                    answer.release()
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), _GUARD)
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err
