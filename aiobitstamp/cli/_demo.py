"""``aiobitstamp demo``: market-making on a local emulator (placeholder, being written)."""

from __future__ import annotations

from decimal import Decimal

from ._config import Settings
from ._output import Output
from ._session import connect, embedded_emulator

__all__ = ["demo"]


async def demo(
    output: Output, *, seconds: float, speed: float, pair: str, size: Decimal, seed: int
) -> None:
    """Run the demo."""
    async with embedded_emulator(speed=speed, seed=seed) as (_, settings):
        await _narrate(output, settings, pair)


async def _narrate(output: Output, settings: Settings, pair: str) -> None:
    async with connect(settings) as connection:
        ticker = await connection.client.ticker(pair)
        output.line(f"{pair}: last {ticker.last} bid {ticker.bid} ask {ticker.ask}")
