"""The exchange's market catalogue, loaded once per client and used to check input.

A market symbol is checked for shape first (``_params.market_symbol``) and then, with
``validate_markets``, looked up here: its decimals and minimum order value let bad orders
fail locally instead of at the exchange.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from ._exceptions import UnknownMarketError
from ._models import Market
from ._params import market_symbol

__all__ = ["MarketCatalogue"]


class MarketCatalogue:
    """Markets by symbol, fetched on first need with ``load`` and then kept."""

    __slots__ = ("_load", "_lock", "enabled", "loaded")

    def __init__(self, load: Callable[[], Awaitable[Iterable[Market]]], *, enabled: bool) -> None:
        self._load = load
        self._lock = asyncio.Lock()
        # Markets by symbol once fetched: a plain attribute, read on every call's way.
        self.loaded: dict[str, Market] | None = None
        self.enabled = enabled

    def replace(self, markets: Iterable[Market]) -> None:
        """Keep a freshly fetched catalogue (``Client.markets()`` refreshes it)."""
        self.loaded = {market.market_symbol: market for market in markets}

    async def check(self, pair: object) -> tuple[str, Market | None]:
        """The exact symbol to send and, when checking is on, its catalogue entry."""
        markets = self.loaded
        if markets is not None and pair.__class__ is str:
            # Fast path for every call after the first: a listed symbol is well formed.
            found = markets.get(pair)
            if found is not None:
                return found.market_symbol, found
        symbol = market_symbol(pair)
        if not self.enabled:
            return symbol, None
        return symbol, await self.get(symbol)

    async def get(self, symbol: str) -> Market:
        """The entry for ``symbol`` (already shape-checked); loads the catalogue once."""
        markets = self.loaded
        if markets is None:
            async with self._lock:
                if self.loaded is None:
                    self.replace(await self._load())
                markets = self.loaded
                assert markets is not None
        found = markets.get(symbol)
        if found is None:
            raise UnknownMarketError(
                f"unknown market {symbol!r}; Client.markets() lists the markets Bitstamp offers"
            )
        return found
