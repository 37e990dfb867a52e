"""Everything a market printed since genesis, and the views derived from it.

``genesis`` is the minute the market starts living. From then on every trade comes from a
match in the book, and the tape is the single source of the public trades
(``transactions/``), the candles (``ohlc/``) and the tickers: they cannot disagree.

* A trade is stored once, in compact columns (microsecond time, id, price in ticks, amount
  in base units, taker side, the two order ids); ``trades()`` and ``TradePrinted`` objects
  are built from them on demand.
* As a trade prints, it is added to the bucket of its minute and of its hour
  (``open, high, low, close, volume, value``), so a candle of any step is a fold of a few
  buckets: a one-hour candle is exactly the fold of its sixty one-minute candles.
* A candle with trades opens at its first trade and closes at its last. A candle without
  trades repeats the previous close, with zero volume, as Bitstamp's do.
* A candle that ends before genesis is synthetic (``_market_data``); one that straddles
  genesis folds the synthetic part before genesis with the trades after it.

Tickers fold candles too: ``ticker/`` the 24 one-hour candles up to the current one,
``ticker_hour/`` the 60 one-minute candles up to the current one; ``last`` is the newest
trade. Because takers trade at resting prices, ``last`` was inside the bid-ask when it
printed.
"""

from __future__ import annotations

import bisect
from array import array
from decimal import Decimal
from typing import Final, NamedTuple

from ._feed import TradePrinted
from ._market_data import VOLUME_DECIMALS, Candle, MarketData, MarketSpec, Trade
from ._numbers import format_decimal, format_units

__all__ = ["PrivateSides", "Tape"]

_MINUTE: Final = 60
_HOUR: Final = 3600
_ZERO: Final = Decimal(0)
# Bucket slots.
_OPEN, _HIGH, _LOW, _CLOSE, _VOLUME, _VALUE = range(6)


class PrivateSides(NamedTuple):
    """Who was on each side of a trade that involved an account (None: synthetic)."""

    buy_user_id: int | None
    sell_user_id: int | None
    buy_client_order_id: str | None
    sell_client_order_id: str | None
    buy_fee: Decimal
    sell_fee: Decimal


def _fold(buckets: list[list[int]]) -> list[int] | None:
    """One bucket from several non-empty ones, oldest first."""
    if not buckets:
        return None
    first = buckets[0]
    folded = list(first)
    for bucket in buckets[1:]:
        if bucket[_HIGH] > folded[_HIGH]:
            folded[_HIGH] = bucket[_HIGH]
        if bucket[_LOW] < folded[_LOW]:
            folded[_LOW] = bucket[_LOW]
        folded[_CLOSE] = bucket[_CLOSE]
        folded[_VOLUME] += bucket[_VOLUME]
        folded[_VALUE] += bucket[_VALUE]
    return folded


class Tape:
    """The trades of one market since ``genesis`` (Unix seconds, a whole minute)."""

    __slots__ = (
        "_amounts",
        "_buy_ids",
        "_history",
        "_hours",
        "_minutes",
        "_prices",
        "_private",
        "_sell_ids",
        "_sides",
        "_tids",
        "_us",
        "genesis",
        "genesis_price",
        "market",
    )

    def __init__(self, market: MarketSpec, genesis: int, history: MarketData) -> None:
        if genesis % _MINUTE:
            raise ValueError("genesis must be a whole minute")
        self.market = market
        self.genesis = genesis
        self._history = history
        # The synthetic path's price at genesis: the close of pre-genesis history and the
        # centre the living book starts from.
        self.genesis_price = history.path_ticks(market, genesis)
        self._us = array("q")
        self._tids = array("q")
        self._prices = array("q")
        self._amounts = array("q")
        self._sides = bytearray()
        self._buy_ids = array("q")
        self._sell_ids = array("q")
        self._private: dict[int, PrivateSides] = {}
        self._minutes: dict[int, list[int]] = {}
        self._hours: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self._tids)

    # -- recording ----------------------------------------------------------------------

    def record(
        self,
        us: int,
        tid: int,
        price: int,
        amount: int,
        taker_side: int,
        buy_order_id: int,
        sell_order_id: int,
        private: PrivateSides | None = None,
    ) -> None:
        """Print one trade; ``us`` never decreases from one call to the next."""
        if private is not None:
            self._private[len(self._tids)] = private
        self._us.append(us)
        self._tids.append(tid)
        self._prices.append(price)
        self._amounts.append(amount)
        self._sides.append(taker_side)
        self._buy_ids.append(buy_order_id)
        self._sell_ids.append(sell_order_id)
        second = us // 1_000_000
        value = price * amount
        for buckets, key in (
            (self._minutes, second // _MINUTE),
            (self._hours, second // _HOUR),
        ):
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = [price, price, price, price, amount, value]
            else:
                if price > bucket[_HIGH]:
                    bucket[_HIGH] = price
                elif price < bucket[_LOW]:
                    bucket[_LOW] = price
                bucket[_CLOSE] = price
                bucket[_VOLUME] += amount
                bucket[_VALUE] += value

    # -- trades -------------------------------------------------------------------------

    def _trade(self, index: int) -> Trade:
        return Trade(
            self._us[index] / 1e6,
            self._tids[index],
            self._prices[index],
            self._amounts[index],
            self._sides[index],
        )

    def printed(self, index: int) -> TradePrinted:
        """The ``index``-th trade as the feed published it."""
        private = self._private.get(index)
        return TradePrinted(
            market=self.market.symbol,
            trade_id=self._tids[index],
            price=Decimal(self._prices[index]).scaleb(-self.market.counter_decimals),
            amount=Decimal(self._amounts[index]).scaleb(-self.market.base_decimals),
            taker_side=self._sides[index],
            microtimestamp=self._us[index],
            buy_order_id=self._buy_ids[index],
            sell_order_id=self._sell_ids[index],
            buy_user_id=None if private is None else private.buy_user_id,
            sell_user_id=None if private is None else private.sell_user_id,
            buy_client_order_id=None if private is None else private.buy_client_order_id,
            sell_client_order_id=None if private is None else private.sell_client_order_id,
            buy_fee=_ZERO if private is None else private.buy_fee,
            sell_fee=_ZERO if private is None else private.sell_fee,
        )

    def log(self) -> list[TradePrinted]:
        """Every trade since genesis, oldest first."""
        return [self.printed(index) for index in range(len(self._tids))]

    def trades(self, since: float, until: float) -> list[Trade]:
        """Public trades with ``since < time <= until``, newest first (``transactions/``).

        Before genesis they are the synthetic history's; after it, the matches'.
        """
        found: list[Trade] = []
        if since < self.genesis:
            # Synthetic minutes end at genesis: their last trade is before it.
            found = self._history.trades(self.market, since, min(until, self.genesis - 1e-6))
        first = bisect.bisect_right(self._us, int(since * 1e6))
        last = bisect.bisect_right(self._us, int(until * 1e6))
        found.extend(self._trade(index) for index in range(first, last))
        found.reverse()
        return found

    def last_trade(self, now: float) -> Trade:
        """The newest trade at ``now``: the ticker's ``last`` and the 20% band's anchor."""
        index = bisect.bisect_right(self._us, int(now * 1e6)) - 1
        if index >= 0:
            return self._trade(index)
        return self._history.last_trade(self.market, min(now, self.genesis - 1e-6))

    def close_before(self, second: int) -> int:
        """The price of the last trade before ``second`` (at or after genesis)."""
        index = bisect.bisect_left(self._us, second * 1_000_000) - 1
        return self._prices[index] if index >= 0 else self.genesis_price

    # -- candles ------------------------------------------------------------------------

    def candle(self, step: int, timestamp: int) -> Candle:
        """The candle of ``step`` seconds starting at ``timestamp`` (a multiple of ``step``)."""
        end = timestamp + step
        if end <= self.genesis:
            return self._history.candle(self.market, step, timestamp)
        start = max(timestamp, self.genesis)
        if step % _HOUR == 0:
            buckets, width = self._hours, _HOUR
        else:
            buckets, width = self._minutes, _MINUTE
        found = [
            bucket
            for key in range(start // width, -(-end // width))
            if (bucket := buckets.get(key)) is not None
        ]
        if timestamp < self.genesis:
            before = self._history.candle(self.market, self.genesis - timestamp, timestamp)
            found.insert(0, list(before[1:]))
        folded = _fold(found)
        if folded is None:
            close = self.close_before(timestamp)
            return Candle(timestamp, close, close, close, close, 0, 0)
        return Candle(timestamp, *folded)

    def candles(self, step: int, first: int, last: int) -> list[Candle]:
        """Candles with timestamps ``first, first + step, ... <= last`` (both aligned)."""
        return [self.candle(step, timestamp) for timestamp in range(first, last + 1, step)]

    # -- tickers ------------------------------------------------------------------------

    def _window(self, now: float, step: int, count: int) -> tuple[Candle, Candle]:
        """The first candle and the fold of the ``count`` candles of ``step`` up to now."""
        current = int(now) - int(now) % step
        candles = self.candles(step, current - (count - 1) * step, current)
        folded = _fold([list(c[1:]) for c in candles if c.volume])
        if folded is None:
            close = candles[-1].close
            folded = [close, close, close, close, 0, 0]
        return candles[0], Candle(candles[0].timestamp, *folded)

    def _ticker(
        self, now: float, step: int, count: int, bid: int, ask: int
    ) -> tuple[dict[str, str], Candle]:
        decimals = self.market.counter_decimals
        last = self.last_trade(now)
        first, window = self._window(now, step, count)
        high = max(window.high, last.price)
        low = min(window.low, last.price)
        vwap = (2 * window.value + window.volume) // (2 * window.volume) if window.volume else 0
        volume = window.volume * 10 ** (VOLUME_DECIMALS - self.market.base_decimals)
        row = {
            "timestamp": str(int(now)),
            "open": format_units(first.open, decimals),
            "high": format_units(high, decimals),
            "low": format_units(low, decimals),
            "last": format_units(last.price, decimals),
            "volume": format_units(volume, VOLUME_DECIMALS),
            "vwap": format_units(vwap or last.price, decimals),
            "bid": format_units(bid, decimals),
            "ask": format_units(ask, decimals),
            "side": str(last.side),
        }
        return row, first

    def ticker(self, now: float, bid: int, ask: int) -> dict[str, str]:
        """``ticker/{pair}/``: the 24 one-hour candles up to now; bid/ask from the book.

        ``open`` is the first price of the current UTC day and ``open_24`` the open of
        the 24-hour window.
        """
        decimals = self.market.counter_decimals
        row, first = self._ticker(now, _HOUR, 24, bid, ask)
        day = self.candle(86400, int(now) - int(now) % 86400)
        row["open"] = format_units(day.open, decimals)
        change = Decimal(self.last_trade(now).price - first.open) * 100 / Decimal(first.open)
        row["open_24"] = format_units(first.open, decimals)
        row["percent_change_24"] = format_decimal(change, 2)
        row["market_type"] = self.market.market_type
        return row

    def ticker_hour(self, now: float, bid: int, ask: int) -> dict[str, str]:
        """``ticker_hour/{pair}/``: the 60 one-minute candles up to now."""
        row, _ = self._ticker(now, _MINUTE, 60, bid, ask)
        row["market_type"] = self.market.market_type
        return row
