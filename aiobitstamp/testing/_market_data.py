"""The catalogue, and the history of each market before the emulator started.

Everything here is a pure function of ``(seed, market, time)``, so two emulators with the
same seed agree, and overlapping requests (two OHLC pages, two trade windows) agree exactly.

Before a market's *genesis* (the minute the emulator's market starts living, see ``_tape``)
its history is synthetic: prices follow a smooth path around the market's reference price,
a sum of slow waves (month, week, day, hours) plus a small per-minute jitter, about 1% away
from the reference at most. Candles sample that path at their boundaries (a candle's close
is the next candle's open), so charts are continuous at every step, and each minute has one
to four synthetic trades on the public tape. These synthetic candles do not aggregate
exactly across steps, and do not sum the synthetic trades: only history after genesis,
built from real matches, does. The living market starts at genesis from the path's price.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, NamedTuple

from ._numbers import format_decimal, format_units

__all__ = [
    "CURRENCIES",
    "MARKETS",
    "OHLC_STEPS",
    "Candle",
    "Currency",
    "MarketData",
    "MarketSpec",
    "Trade",
]

VOLUME_DECIMALS: Final = 8
OHLC_STEPS: Final = frozenset(
    {60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 259200}
)
# Synthetic trade ids are `second * TID_SCALE + index`; ids of trades after genesis are
# larger (see _engine), so the two sources never collide.
TID_SCALE: Final = 10_000
# Synthetic minutes are immutable, so their trades are cached; a day of every market fits.
_MINUTE_CACHE_SIZE: Final = 20_000


@dataclass(frozen=True, slots=True)
class Currency:
    """A listed currency, as ``currencies/`` describes it."""

    code: str  # lower case, as in balances: "btc"
    name: str
    kind: str  # "crypto" or "fiat"
    symbol: str
    decimals: int  # balance decimals
    network: str | None = None
    withdrawal_minimum: str = "0"
    withdrawal_fee: str = "0"  # in the currency, on its network


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """Static facts of one market: symbols, precision, minimum, reference price."""

    symbol: str  # url symbol: "btcusd"
    base: str
    counter: str
    base_decimals: int
    counter_decimals: int  # as markets/ reports it; the tick the emulator enforces
    legacy_counter_decimals: int  # as the obsolete trading-pairs-info/ reports it
    instant_order_counter_decimals: int
    minimum_order_value: str
    reference_price: str
    description: str
    typical_order_value: float  # in counter currency, for synthetic order sizes
    volume_per_minute: float  # in base currency, for synthetic candles
    market_type: str = "SPOT"
    derivative_fields: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        """Display name: ``"BTC/USD"`` (``"BTC/USD-PERP"`` for perpetuals)."""
        suffix = "-PERP" if self.market_type == "PERPETUAL" else ""
        return f"{self.base.upper()}/{self.counter.upper()}{suffix}"

    @property
    def reference_ticks(self) -> int:
        """The reference price in ticks: the centre of the synthetic book."""
        return int(Decimal(self.reference_price).scaleb(self.counter_decimals))

    @property
    def minimum_value(self) -> Decimal:
        """Minimum order value in counter currency."""
        return Decimal(self.minimum_order_value)


CURRENCIES: Final[tuple[Currency, ...]] = (
    Currency("usd", "U.S. dollar", "fiat", "$", 2),
    Currency("eur", "Euro", "fiat", "\u20ac", 2),
    Currency("btc", "Bitcoin", "crypto", "\u20bf", 8, "bitcoin", "0.0002", "0.00015"),
    Currency("eth", "Ether", "crypto", "\u039e", 8, "ethereum", "0.002", "0.0015"),
    Currency("xrp", "XRP", "crypto", "XRP", 8, "xrpl", "1", "0.02"),
    Currency("ltc", "Litecoin", "crypto", "\u0141", 8, "litecoin", "0.01", "0.001"),
    Currency("usdc", "USD Coin", "crypto", "USDC", 5, "ethereum", "10", "1"),
    Currency("sol", "Solana", "crypto", "SOL", 8, "solana", "0.1", "0.01"),
)

# fmt: off
_SPOT = (
    # symbol, base, counter, base/counter/legacy/instant decimals, minimum value, reference
    # price, description, typical synthetic order value (counter), volume per minute (base)
    MarketSpec("btcusd", "btc", "usd", 8, 0, 2, 2, "10", "60000",
               "Bitcoin / U.S. dollar", 2500, 0.8),
    MarketSpec("btceur", "btc", "eur", 8, 0, 2, 2, "10", "55000",
               "Bitcoin / Euro", 2000, 0.3),
    MarketSpec("ethusd", "eth", "usd", 8, 1, 2, 2, "10", "3000",
               "Ether / U.S. dollar", 1500, 6.0),
    MarketSpec("etheur", "eth", "eur", 8, 1, 2, 2, "10", "2750",
               "Ether / Euro", 1200, 2.0),
    MarketSpec("ethbtc", "eth", "btc", 8, 5, 8, 8, "0.0002", "0.05",
               "Ether / Bitcoin", 0.03, 1.5),
    MarketSpec("xrpusd", "xrp", "usd", 8, 5, 5, 5, "10", "0.5",
               "XRP / U.S. dollar", 800, 9000.0),
    MarketSpec("ltcusd", "ltc", "usd", 8, 2, 2, 2, "10", "80",
               "Litecoin / U.S. dollar", 600, 20.0),
    MarketSpec("usdcusd", "usdc", "usd", 5, 5, 5, 5, "10", "1.00000",
               "USD Coin / U.S. dollar", 5000, 4000.0),
    MarketSpec("solusd", "sol", "usd", 8, 2, 2, 2, "10", "150",
               "Solana / U.S. dollar", 900, 25.0),
)
_PERPETUALS = (
    MarketSpec("btcusd-perp", "btc", "usd", 5, 0, 0, 2, "10", "60000",
               "Bitcoin / U.S. dollar Perpetual", 2500, 0.5, market_type="PERPETUAL",
               derivative_fields=(
                   ("maximum_order_value", "500000.00000000"),
                   ("minimum_order_amount", "0.00001000"),
                   ("maximum_order_amount", "10.00000000"),
                   ("underlying_asset", "Kaiko BTC Benchmark Reference Rate"),
                   ("payoff_type", "Linear"),
                   ("contract_size", "1.00000000"),
                   ("isin", "EZ0FAKEBTCP1"),
               )),
)
# fmt: on
# Perpetuals appear in markets/ only: the emulator neither quotes nor trades them.
MARKETS: Final[tuple[MarketSpec, ...]] = _SPOT + _PERPETUALS

# Waves of the price path: (relative amplitude, period in seconds).
# Kept within about 1% in total so that history stays plausible next to the live book,
# which is centred on the reference price.
_WAVES: Final = (
    (0.005, 30 * 86400),
    (0.0025, 7 * 86400),
    (0.0015, 86400),
    (0.0008, 14400),
    (0.0004, 3600),
)
_MINUTE_JITTER: Final = 0.0003
_CANDLE_WICK: Final = 0.0006  # relative wick size of a one-minute candle
_MASK64: Final = (1 << 64) - 1


def _mix(value: int) -> int:
    """SplitMix64 finaliser: a fast, well-spread deterministic hash of a 64-bit integer."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _unit(value: int) -> float:
    """A uniform float in [0, 1) derived from ``value``."""
    return _mix(value) / 18446744073709551616.0


def _gaussish(value: int) -> float:
    """Roughly standard normal: the centred sum of three uniforms, scaled to unit variance."""
    return (_unit(value) + _unit(value + 1) + _unit(value + 2) - 1.5) * 2.0


# How many VASPs travel_rule/vasps/ lists, across its pages.
_VASP_COUNT = 250


class Candle(NamedTuple):
    """One OHLC candle: prices in ticks, ``volume`` in base units, ``value`` (the sum of
    price times amount, for the VWAP) in ticks times base units."""

    timestamp: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int


class Trade(NamedTuple):
    """One public trade: ``side`` is the taker's (0 buy, 1 sell)."""

    time: float
    tid: int
    price: int
    amount: int
    side: int


class _PricePath:
    """The deterministic price of one market at any second."""

    __slots__ = ("_reference", "_salt", "_tick", "_waves")

    def __init__(self, market: MarketSpec, seed: int) -> None:
        rng = random.Random(f"{seed}:{market.symbol}:path")
        self._reference = float(market.reference_price)
        self._tick = 10.0**-market.counter_decimals
        self._waves = tuple(
            (amplitude, 2.0 * math.pi / period, rng.uniform(0.0, 2.0 * math.pi))
            for amplitude, period in _WAVES
        )
        self._salt = rng.getrandbits(64)

    @property
    def salt(self) -> int:
        return self._salt

    def price(self, time: float) -> float:
        drift = sum(amp * math.sin(omega * time + phase) for amp, omega, phase in self._waves)
        drift += _MINUTE_JITTER * (2.0 * _unit(self._salt ^ int(time // 60)) - 1.0)
        return self._reference * math.exp(drift)

    def ticks(self, time: float) -> int:
        return max(1, round(self.price(time) / self._tick))


class MarketData:
    """Public market data of the emulated exchange, deterministic from ``seed``."""

    def __init__(self, seed: int) -> None:
        self.markets: dict[str, MarketSpec] = {m.symbol: m for m in _SPOT}
        self.currencies: dict[str, Currency] = {c.code: c for c in CURRENCIES}
        self._paths = {m.symbol: _PricePath(m, seed) for m in _SPOT}
        self._minute_cache: dict[tuple[str, int], list[Trade]] = {}

    # -- static catalogue ---------------------------------------------------------------

    @staticmethod
    def markets_payload() -> list[dict[str, object]]:
        """``markets/``: the newer catalogue, perpetuals included."""
        rows: list[dict[str, object]] = []
        for m in MARKETS:
            row: dict[str, object] = {
                "name": m.name,
                "market_symbol": m.symbol,
                "base_currency": m.base.upper(),
                "base_decimals": m.base_decimals,
                "counter_currency": m.counter.upper(),
                "counter_decimals": m.counter_decimals,
                "minimum_order_value": m.minimum_order_value,
            }
            row.update(m.derivative_fields[:3])
            row.update(
                {
                    "trading": "Enabled",
                    "instant_order_counter_decimals": m.instant_order_counter_decimals,
                    "instant_and_market_orders": "Enabled",
                    "description": m.description,
                    "market_type": m.market_type,
                }
            )
            row.update(m.derivative_fields[3:])
            rows.append(row)
        return rows

    def trading_pairs_payload(self) -> list[dict[str, object]]:
        """``trading-pairs-info/``: the obsolete catalogue, spot only, older precision."""
        rows: list[dict[str, object]] = []
        for m in self.markets.values():
            counter = self.currencies[m.counter]
            minimum = Decimal(m.minimum_order_value)
            shown = f"{minimum:.1f}" if counter.kind == "fiat" else format_decimal(minimum, 8)
            rows.append(
                {
                    "name": m.name,
                    "url_symbol": m.symbol,
                    "base_decimals": m.base_decimals,
                    "counter_decimals": m.legacy_counter_decimals,
                    "instant_order_counter_decimals": m.instant_order_counter_decimals,
                    "minimum_order": f"{shown} {m.counter.upper()}",
                    "trading": "Enabled",
                    "instant_and_market_orders": "Enabled",
                    "description": m.description,
                }
            )
        return rows

    def currencies_payload(self) -> list[dict[str, object]]:
        """``currencies/``: listed currencies with their networks."""
        rows: list[dict[str, object]] = []
        for c in self.currencies.values():
            row: dict[str, object] = {
                "name": c.name,
                "currency": c.code.upper(),
                "type": c.kind,
                "symbol": c.symbol,
                "decimals": c.decimals,
                "logo": f"https://assets.bitstamp.net/static/webapp/images/currencies/{c.code}.svg",
                "available_supply": "",
                "deposit": "Enabled",
                "withdrawal": "Enabled",
                "networks": [],
            }
            if c.network is not None:
                row["networks"] = [
                    {
                        "network": c.network,
                        "withdrawal_minimum_amount": c.withdrawal_minimum,
                        "withdrawal_decimals": c.decimals,
                        "deposit": "Enabled",
                        "withdrawal": "Enabled",
                    }
                ]
            rows.append(row)
        return rows

    def eur_usd_payload(self) -> dict[str, str]:
        """``eur_usd/``: buy and sell rates around the BTC/USD : BTC/EUR reference ratio."""
        ratio = Decimal(self.markets["btcusd"].reference_price) / Decimal(
            self.markets["btceur"].reference_price
        )
        return {
            "buy": format_decimal(ratio * Decimal("1.002"), 4),
            "sell": format_decimal(ratio * Decimal("0.998"), 4),
        }

    @staticmethod
    def vasps_payload(page: int, per_page: int) -> dict[str, object]:
        """``travel_rule/vasps/``: one page of a fixed list of 250 VASPs.

        The list is long enough that a client has to page through it; ``count`` is the
        number of VASPs on all pages, ``size`` the page size asked for.
        """
        start = (page - 1) * per_page
        rows = [
            {
                "uuid": str(uuid.UUID(int=0x5A5B_0000 + index, version=4)),
                "name": f"VASP {index:03d}",
            }
            for index in range(start, min(start + per_page, _VASP_COUNT))
        ]
        return {"data": rows, "pagination": {"page": page, "size": per_page, "count": _VASP_COUNT}}

    # -- history ------------------------------------------------------------------------

    def path_ticks(self, market: MarketSpec, time: float) -> int:
        """The synthetic path's price of ``market`` at ``time``, in ticks."""
        return self._paths[market.symbol].ticks(time)

    def path_price(self, market: MarketSpec, time: float) -> float:
        """The synthetic path's price at ``time`` in ticks, unrounded (the flow's anchor)."""
        path = self._paths[market.symbol]
        return path.price(time) * 10.0**market.counter_decimals

    def candle(self, market: MarketSpec, step: int, timestamp: int) -> Candle:
        """The synthetic candle of ``step`` seconds starting at ``timestamp``.

        ``step`` need not be one of ``OHLC_STEPS``: the part of a candle before genesis is a
        synthetic candle of that shorter length.
        """
        path = self._paths[market.symbol]
        open_ = path.ticks(timestamp)
        close = path.ticks(timestamp + step)
        key = path.salt ^ _mix(step * 1_000_003 + timestamp)
        wick = _CANDLE_WICK * math.sqrt(step / 60.0)
        high = max(open_, close)
        low = min(open_, close)
        high += round(high * wick * _unit(key))
        low = max(1, low - round(low * wick * _unit(key + 7)))
        volume = market.volume_per_minute * (step / 60.0) * (0.4 + 1.2 * _unit(key + 13))
        units = max(1, round(volume * 10**market.base_decimals))
        value = (open_ + high + low + close) * units // 4
        return Candle(timestamp, open_, high, low, close, units, value)

    def candle_payload(self, market: MarketSpec, candle: Candle) -> dict[str, str]:
        """One OHLC row as ``ohlc/`` sends it (volume with 8 decimals, as Bitstamp's)."""
        decimals = market.counter_decimals
        volume = candle.volume * 10 ** (VOLUME_DECIMALS - market.base_decimals)
        return {
            "high": format_units(candle.high, decimals),
            "timestamp": str(candle.timestamp),
            "volume": format_units(volume, VOLUME_DECIMALS),
            "low": format_units(candle.low, decimals),
            "close": format_units(candle.close, decimals),
            "open": format_units(candle.open, decimals),
        }

    def _minute_trades(self, market: MarketSpec, minute: int) -> list[Trade]:
        """The synthetic trades of one minute, oldest first (one to four of them)."""
        key = (market.symbol, minute)
        trades = self._minute_cache.get(key)
        if trades is None:
            if len(self._minute_cache) >= _MINUTE_CACHE_SIZE:
                self._minute_cache.clear()
            trades = self._minute_cache[key] = self._generate_minute(market, minute)
        return trades

    def _generate_minute(self, market: MarketSpec, minute: int) -> list[Trade]:
        path = self._paths[market.symbol]
        key = _mix(path.salt ^ (minute * 0x2545F4914F6CDD1D))
        count = 1 + key % 4
        seconds = sorted(_mix(key + i) % 60 for i in range(count))
        scale = 10**market.base_decimals
        trades = []
        for index, second in enumerate(seconds):
            time = minute * 60 + second
            draw = key + 101 * (index + 1)
            price = max(1, path.ticks(time) + _mix(draw) % 3 - 1)
            value = market.typical_order_value * 0.3 * math.exp(_gaussish(draw + 3))
            base_price = price / 10**market.counter_decimals
            amount = max(1, round(value / base_price * scale))
            side = _mix(draw + 5) & 1
            trades.append(Trade(float(time), time * TID_SCALE + index, price, amount, side))
        return trades

    def trades(self, market: MarketSpec, since: float, until: float) -> list[Trade]:
        """Synthetic trades with ``since < time <= until``, oldest first."""
        return [
            trade
            for minute in range(int(since // 60), int(until // 60) + 1)
            for trade in self._minute_trades(market, minute)
            if since < trade.time <= until
        ]

    def last_trade(self, market: MarketSpec, now: float) -> Trade:
        """The newest synthetic trade at or before ``now``."""
        minute = int(now // 60)
        candidates = [t for t in self._minute_trades(market, minute) if t.time <= now]
        if not candidates:
            # Every minute has at least one trade, so the previous minute always has one.
            candidates = self._minute_trades(market, minute - 1)
        return candidates[-1]

    def trade_payload(self, market: MarketSpec, trade: Trade) -> dict[str, str]:
        """One row of ``transactions/{pair}/``."""
        return {
            "date": str(int(trade.time)),
            "tid": str(trade.tid),
            "amount": format_units(trade.amount, market.base_decimals),
            "type": str(trade.side),
            "price": format_units(trade.price, market.counter_decimals),
        }
