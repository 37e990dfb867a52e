"""Public market data: tickers, books, trades, candles, the catalogue, reference data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Literal

from .. import _params as params
from .._exceptions import UnexpectedResponseError
from .._models import (
    Candle,
    Currency,
    EurUsdRate,
    Market,
    OrderBook,
    Rows,
    Ticker,
    Trade,
    TradingPairInfo,
    Vasp,
)
from .._models.derivatives import FundingRate, FundingRateHistory
from ._base import ApiBase, rows

__all__ = ["OHLC_PAGE", "OHLC_STEPS", "MarketDataAPI"]

OHLC_STEPS = (60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 259200)
OHLC_PAGE = 1000
_TRADE_WINDOWS = ("minute", "hour", "day")
_parse_markets = rows(Market)
_parse_tickers = rows(Ticker)
_parse_trades = rows(Trade)
_parse_pairs = rows(TradingPairInfo)
_parse_currencies = rows(Currency)


class MarketDataAPI(ApiBase):
    """Public endpoints; they need no keys."""

    async def markets(self) -> Rows[Market]:
        """Every market, spot and perpetual, with its decimals and minimum order value.

        Also refreshes the catalogue this client checks orders against.
        """
        markets = await self._call("markets", _parse_markets)
        self._catalogue.replace(markets)
        return markets

    async def market(self, pair: str) -> Market:
        """One market's catalogue entry, from the catalogue this client loads once."""
        return await self._catalogue.get(params.market_symbol(pair))

    async def ticker(self, pair: str) -> Ticker:
        """The 24-hour ticker of one market, e.g. ``await client.ticker("btcusd")``."""
        symbol, _ = self._listed(pair) or await self._market(pair)  # polled: no extra frame
        return await self._call("ticker", Ticker.from_wire, path={"market_symbol": symbol})

    async def tickers(self) -> Rows[Ticker]:
        """Tickers of every market (each with ``pair`` set, e.g. ``"BTC/USD"``)."""
        return await self._call("tickers", _parse_tickers)

    async def ticker_hour(self, pair: str) -> Ticker:
        """The ticker computed over the last hour."""
        symbol, _ = await self._market(pair)
        return await self._call("ticker_hour", Ticker.from_wire, path={"market_symbol": symbol})

    async def order_book(self, pair: str, group: Literal[0, 1, 2] = 1) -> OrderBook:
        """The full order book. ``group`` 1 aggregates by price (default), 0 does not,
        2 gives one row per order with its id. Levels turn into ``Decimal`` only when read.
        """
        symbol, _ = await self._market(pair)
        grouping = params.one_of("group", group, (0, 1, 2))
        return await self._call(
            "order_book",
            OrderBook.from_wire,
            path={"market_symbol": symbol},
            query=None if grouping == 1 else {"group": grouping},
        )

    async def transactions(
        self, pair: str, time: Literal["minute", "hour", "day"] = "hour"
    ) -> Rows[Trade]:
        """Public trades of the last minute, hour or day, newest first."""
        symbol, _ = await self._market(pair)
        window = params.one_of("time", time, _TRADE_WINDOWS)
        return await self._call(
            "transactions", _parse_trades, path={"market_symbol": symbol}, query={"time": window}
        )

    async def ohlc(
        self,
        pair: str,
        step: int,
        *,
        limit: int = OHLC_PAGE,
        start: datetime | int | None = None,
        end: datetime | int | None = None,
        exclude_current_candle: bool = False,
    ) -> list[Candle]:
        """Up to 1000 candles of ``step`` seconds. See ``iter_ohlc`` for longer ranges.

        Bitstamp documents that when both ``start`` and ``end`` are given, ``end`` wins:
        the answer is the ``limit`` candles ending at ``end``.
        """
        symbol, _ = await self._market(pair)
        query: dict[str, str | int] = {
            "step": params.one_of("step", step, OHLC_STEPS),
            "limit": params.integer("limit", limit, minimum=1, maximum=OHLC_PAGE),
        }
        if start is not None and end is not None:
            first, last = params.time_range("start", start, "end", end)
            query["start"], query["end"] = first, last
        elif start is not None:
            query["start"] = params.unix_seconds("start", start)
        elif end is not None:
            query["end"] = params.unix_seconds("end", end)
        if params.boolean("exclude_current_candle", exclude_current_candle):
            query["exclude_current_candle"] = "true"
        return await self._call(
            "ohlc", Candle.list_from_wire, path={"market_symbol": symbol}, query=query
        )

    async def iter_ohlc(
        self,
        pair: str,
        step: int,
        start: datetime | int,
        end: datetime | int,
    ) -> AsyncIterator[Candle]:
        """Every candle from ``start`` to ``end`` inclusive, in order, paging 1000 at a time.

        >>> async for candle in client.iter_ohlc("btcusd", 60, start, end):  # doctest: +SKIP
        ...     print(candle.timestamp, candle.close)
        >>> closes = [c.close async for c in client.iter_ohlc("btcusd", 3600, start, end)]

        Pages are asked for by ``start`` alone: with both ``start`` and ``end`` Bitstamp
        answers the candles ending at ``end`` (its documented rule), which would skip every
        candle between one page and the next.
        """
        symbol, _ = await self._market(pair)
        cursor, stop = params.time_range("start", start, "end", end)
        params.one_of("step", step, OHLC_STEPS)
        while cursor <= stop:
            page = await self.ohlc(symbol, step, limit=OHLC_PAGE, start=cursor)
            last = cursor - step
            for candle in page:
                at = int(candle.timestamp.timestamp())
                # A page may overlap the previous one; no candle is given twice.
                if at < cursor or at > stop:
                    continue
                yield candle
                last = at
            if last >= cursor:
                cursor = last + step
            elif page and int(page[-1].timestamp.timestamp()) < cursor:
                # Every candle is older than asked for: the exchange did not honour start,
                # and walking on would silently drop the range.
                raise UnexpectedResponseError(
                    f"ohlc answered candles before start={cursor}; refusing to skip them",
                    method="GET",
                    path=f"ohlc/{symbol}/",
                )
            else:
                # An empty stretch (a trading halt) is skipped, never mistaken for the end.
                cursor += step * OHLC_PAGE

    async def trading_pairs_info(self) -> Rows[TradingPairInfo]:
        """The older market catalogue (spot only), kept for callers that rely on it."""
        return await self._call("trading_pairs_info", _parse_pairs)

    async def currencies(self) -> Rows[Currency]:
        """Every listed currency. Also refreshes the index that withdrawals, deposits,
        transfers and earn calls are checked against."""
        listed = await self._call("currencies", _parse_currencies)
        self._currency_index = {row.currency.lower(): row for row in listed if row.currency}
        return listed

    async def eur_usd(self) -> EurUsdRate:
        """The EUR/USD conversion rate Bitstamp uses."""
        return await self._call("eur_usd", EurUsdRate.from_wire)

    async def travel_rule_vasps(self, *, per_page: int = 100) -> list[Vasp]:
        """Every virtual asset service provider known to the travel rule, from all pages."""
        return [vasp async for vasp in self.iter_travel_rule_vasps(per_page=per_page)]

    async def iter_travel_rule_vasps(self, *, per_page: int = 100) -> AsyncIterator[Vasp]:
        """The VASP list, page by page, as it streams in.

        >>> names = [v.name async for v in client.iter_travel_rule_vasps()]  # doctest: +SKIP
        """
        size = params.integer("per_page", per_page, minimum=1, maximum=1000)
        page = 1
        while True:
            found = await self._call(
                "travel_rule_vasps",
                Vasp.list_from_wire,
                query={"page": page, "per_page": size},
            )
            for vasp in found:
                yield vasp
            # A short page is the last one. (Whether the envelope's `count` means VASPs or
            # pages is undocumented, so it is not trusted to end the walk.)
            if len(found) < size:
                return
            page += 1

    async def funding_rate(self, pair: str) -> FundingRate:
        """The current funding rate of a perpetual market, e.g. ``"btcusd-perp"``."""
        symbol, _ = await self._market(pair)
        return await self._call(
            "funding_rate", FundingRate.from_wire, path={"market_symbol": symbol}
        )

    async def funding_rate_history(
        self,
        pair: str,
        *,
        since: datetime | int | None = None,
        until: datetime | int | None = None,
        limit: int | None = None,
    ) -> FundingRateHistory:
        """Past funding rates of a perpetual market."""
        symbol, _ = await self._market(pair)
        query: dict[str, str | int] = {}
        if since is not None and until is not None:
            query["since_timestamp"], query["until_timestamp"] = params.time_range(
                "since", since, "until", until
            )
        elif since is not None:
            query["since_timestamp"] = params.unix_seconds("since", since)
        elif until is not None:
            query["until_timestamp"] = params.unix_seconds("until", until)
        if limit is not None:
            query["limit"] = params.integer("limit", limit, minimum=1, maximum=1000)
        return await self._call(
            "funding_rate_history",
            FundingRateHistory.from_wire,
            path={"market_symbol": symbol},
            query=query or None,
        )
