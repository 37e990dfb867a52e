"""Public market data: tickers, order books, trades, candles and the reference catalogues."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, overload

from . import _wire as wire
from ._wire import Rows
from .orders import Side, _opt_side

__all__ = [
    "Candle",
    "Currency",
    "EurUsdRate",
    "Market",
    "OrderBook",
    "PriceLevel",
    "PriceLevels",
    "Ticker",
    "Trade",
    "TradingPairInfo",
    "Vasp",
]


# Ticker has a field named ``wire``, which hides the module inside its class body.
_LazyField = wire.LazyField
_decimal, _optional_decimal, _unix_seconds = wire.decimal, wire.optional_decimal, wire.unix_seconds

_TICKER_REQUIRED = frozenset(
    ("timestamp", "open", "high", "low", "last", "bid", "ask", "vwap", "volume")
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Ticker:
    """``ticker/{pair}/``, ``ticker_hour/{pair}/`` and each row of ``ticker/``.

    ``volume`` is in the base currency; ``vwap`` and prices in the counter currency. ``pair``
    (``"BTC/USD"``) is only present in the all-markets array. ``open_24``,
    ``percent_change_24``, ``side`` (the last trade's taker side, added 2023-07-05) and
    ``market_type`` are ``None`` when absent or ``null``.

    A ticker is polled far more often than all of its ten numbers are read, so it keeps the
    decoded object (``wire``, read-only) and gives each value, as an exact ``Decimal`` or an
    aware ``datetime``, when it is read. ``from_wire`` checks that every required field is
    present; a value that is not a number raises a ``ValueError`` naming the field when read.
    """

    wire: Mapping[str, Any]

    @classmethod
    def from_wire(cls, obj: Any) -> Ticker:
        """Wrap one ticker object after checking its required fields are present."""
        if obj.__class__ is not dict:
            wire.malformed(cls, TypeError(f"expected an object, got {type(obj).__name__}"))
        if not obj.keys() >= _TICKER_REQUIRED:
            wire.malformed(cls, KeyError(min(_TICKER_REQUIRED.difference(obj))))
        return cls(MappingProxyType(obj))

    timestamp = _LazyField(_unix_seconds)
    open = _LazyField(_decimal)
    high = _LazyField(_decimal)
    low = _LazyField(_decimal)
    last = _LazyField(_decimal)
    bid = _LazyField(_decimal)
    ask = _LazyField(_decimal)
    vwap = _LazyField(_decimal)
    volume = _LazyField(_decimal)
    open_24 = _LazyField(_optional_decimal, optional=True)
    percent_change_24 = _LazyField(_optional_decimal, optional=True)
    side = _LazyField(_opt_side, optional=True)

    @property
    def pair(self) -> str | None:
        pair = self.wire.get("pair")
        return pair if isinstance(pair, str) else None

    @property
    def market_type(self) -> str | None:
        market_type = self.wire.get("market_type")
        return market_type if isinstance(market_type, str) else None

    def _values(self) -> tuple[object, ...]:
        return (
            self.pair, self.timestamp, self.open, self.high, self.low, self.last, self.bid,
            self.ask, self.vwap, self.volume, self.open_24, self.percent_change_24, self.side,
            self.market_type,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ticker):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (
            f"Ticker(pair={self.pair!r}, timestamp={self.timestamp!r}, last={self.last!r}, "
            f"bid={self.bid!r}, ask={self.ask!r}, volume={self.volume!r})"
        )


@dataclass(frozen=True, slots=True)
class PriceLevel:
    """One order-book row: ``[price, amount]``, or ``[price, amount, order_id]`` when the
    book lists single orders (``group=2``, WebSocket ``detail_order_book``)."""

    price: Decimal
    amount: Decimal
    order_id: str | None = None

    @classmethod
    def from_wire(cls, row: Any) -> PriceLevel:
        """Parse one row (a list of 2 or 3 strings)."""
        try:
            if len(row) > 2:
                return cls(wire.decimal(row[0]), wire.decimal(row[1]), wire.identifier(row[2]))
            return cls(wire.decimal(row[0]), wire.decimal(row[1]))
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


_level = PriceLevel.from_wire


class PriceLevels(Rows[PriceLevel]):
    """One side of an order book: a lazy :class:`Rows` of :class:`PriceLevel`.

    >>> levels = PriceLevels([["8732.02", "0.5"], ["8731.99", "1.25"]])
    >>> levels[0].price
    Decimal('8732.02')
    >>> len(levels[1:])
    1
    """

    __slots__ = ()

    def __init__(self, rows: list[Any]) -> None:
        super().__init__(rows, _level)

    def _view(self, rows: list[Any]) -> PriceLevels:
        return PriceLevels(rows)

    @overload
    def __getitem__(self, index: int) -> PriceLevel: ...

    @overload
    def __getitem__(self, index: slice) -> PriceLevels: ...

    def __getitem__(self, index: int | slice) -> PriceLevel | PriceLevels:
        if isinstance(index, slice):
            return PriceLevels(self._rows[index])
        return _level(self._rows[index])

    def __repr__(self) -> str:
        if not self._rows:
            return "PriceLevels(0 levels)"
        return f"PriceLevels({len(self._rows)} levels, first={self[0]!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderBook:
    """``order_book/{pair}/`` (also the shape of WebSocket ``order_book_*`` data).

    ``bids`` are best (highest) first and ``asks`` best (lowest) first, as sent. Both are
    lazy :class:`PriceLevels`; ``from_wire`` does no per-level work. ``microtimestamp`` is
    the exact book time and the nonce to compare with WebSocket diffs.
    """

    timestamp: datetime
    microtimestamp: datetime
    bids: PriceLevels
    asks: PriceLevels

    @classmethod
    def from_wire(cls, obj: Any) -> OrderBook:
        """Wrap a decoded book without touching its rows."""
        try:
            return cls(
                timestamp=wire.unix_seconds(obj["timestamp"]),
                microtimestamp=wire.unix_micros(obj["microtimestamp"]),
                bids=PriceLevels(obj["bids"]),
                asks=PriceLevels(obj["asks"]),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)

    @property
    def best_bid(self) -> PriceLevel | None:
        """The highest bid, or ``None`` when there are no bids."""
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> PriceLevel | None:
        """The lowest ask, or ``None`` when there are no asks."""
        return self.asks[0] if self.asks else None

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, or ``None`` when either side is empty."""
        if not self.bids or not self.asks:
            return None
        return self.asks[0].price - self.bids[0].price


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """A public trade (``transactions/{pair}/`` row). ``side`` is the taker's side."""

    id: str
    timestamp: datetime
    price: Decimal
    amount: Decimal
    side: Side

    @classmethod
    def from_wire(cls, obj: Any) -> Trade:
        """Parse ``{date, tid, price, amount, type}``."""
        try:
            return cls(
                id=wire.identifier(obj["tid"]),
                timestamp=wire.unix_seconds(obj["date"]),
                price=wire.decimal(obj["price"]),
                amount=wire.decimal(obj["amount"]),
                side=Side.from_wire(obj["type"]),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class Candle:
    """One OHLC candle; ``timestamp`` is the candle's start, ``volume`` in base currency.

    ``ohlc/{pair}/`` answers ``{"data": {"pair": "BTC/USD", "ohlc": [...]}}``; the caller
    already knows the pair, so :meth:`list_from_wire` returns just the candles, oldest first.
    """

    timestamp: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @classmethod
    def from_wire(cls, obj: Any) -> Candle:
        """Parse one element of ``data.ohlc``."""
        try:
            return cls(
                timestamp=wire.unix_seconds(obj["timestamp"]),
                open=wire.decimal(obj["open"]),
                high=wire.decimal(obj["high"]),
                low=wire.decimal(obj["low"]),
                close=wire.decimal(obj["close"]),
                volume=wire.decimal(obj["volume"]),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)

    @classmethod
    def list_from_wire(cls, obj: Any) -> list[Candle]:
        """Parse the whole ``ohlc/`` answer ``{"data": {"pair": ..., "ohlc": [...]}}``."""
        try:
            rows = obj["data"]["ohlc"]
            if not isinstance(rows, list):
                raise TypeError(f"'ohlc' must be a list, got {type(rows).__name__}")
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)
        return [cls.from_wire(row) for row in rows]


@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    """A ``markets/`` row: spot markets and, with the optional fields set, perpetuals.

    ``base_decimals`` is the amount precision, ``counter_decimals`` the price precision,
    ``minimum_order_value`` is in the counter currency.
    """

    name: str
    market_symbol: str
    base_currency: str
    counter_currency: str
    base_decimals: int
    counter_decimals: int
    instant_order_counter_decimals: int
    minimum_order_value: Decimal
    trading_enabled: bool
    instant_and_market_orders_enabled: bool
    description: str
    market_type: str
    maximum_order_value: Decimal | None = None
    minimum_order_amount: Decimal | None = None
    maximum_order_amount: Decimal | None = None
    underlying_asset: str | None = None
    payoff_type: str | None = None
    contract_size: Decimal | None = None
    isin: str | None = None

    @classmethod
    def from_wire(cls, obj: Any) -> Market:
        """Parse one ``markets/`` row. A row without ``market_type`` is taken as spot."""
        try:
            get = obj.get
            return cls(
                name=obj["name"],
                market_symbol=obj["market_symbol"],
                base_currency=obj["base_currency"],
                counter_currency=obj["counter_currency"],
                base_decimals=int(obj["base_decimals"]),
                counter_decimals=int(obj["counter_decimals"]),
                instant_order_counter_decimals=int(obj["instant_order_counter_decimals"]),
                minimum_order_value=wire.decimal(obj["minimum_order_value"]),
                trading_enabled=wire.enabled(obj["trading"]),
                instant_and_market_orders_enabled=wire.enabled(obj["instant_and_market_orders"]),
                description=get("description") or "",
                market_type=get("market_type") or "SPOT",
                maximum_order_value=wire.optional_decimal(get("maximum_order_value")),
                minimum_order_amount=wire.optional_decimal(get("minimum_order_amount")),
                maximum_order_amount=wire.optional_decimal(get("maximum_order_amount")),
                underlying_asset=wire.optional_text(get("underlying_asset")),
                payoff_type=wire.optional_text(get("payoff_type")),
                contract_size=wire.optional_decimal(get("contract_size")),
                isin=wire.optional_text(get("isin")),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingPairInfo:
    """A ``trading-pairs-info/`` row (the older market catalogue).

    The wire's ``minimum_order`` (``"20.0 USD"``) is split into ``minimum_order_value``
    and ``minimum_order_currency``; when the currency is missing it is taken from the
    counter side of ``name``. ``instant_order_counter_decimals`` is absent in old answers.
    """

    name: str
    url_symbol: str
    base_decimals: int
    counter_decimals: int
    instant_order_counter_decimals: int | None
    minimum_order_value: Decimal
    minimum_order_currency: str
    trading_enabled: bool
    instant_and_market_orders_enabled: bool
    description: str

    @classmethod
    def from_wire(cls, obj: Any) -> TradingPairInfo:
        """Parse one ``trading-pairs-info/`` row."""
        try:
            get = obj.get
            name: str = obj["name"]
            value, _, currency = obj["minimum_order"].strip().partition(" ")
            return cls(
                name=name,
                url_symbol=obj["url_symbol"],
                base_decimals=int(obj["base_decimals"]),
                counter_decimals=int(obj["counter_decimals"]),
                instant_order_counter_decimals=wire.optional_integer(
                    get("instant_order_counter_decimals")
                ),
                minimum_order_value=wire.decimal(value),
                minimum_order_currency=currency.strip() or name.partition("/")[2],
                trading_enabled=wire.enabled(obj["trading"]),
                instant_and_market_orders_enabled=wire.enabled(obj["instant_and_market_orders"]),
                description=get("description") or "",
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class Currency:
    """A ``currencies/`` row. The field list is unconfirmed, so every field is optional and
    the whole row is kept in ``raw`` (left out of ``==``, ``hash`` and ``repr``).

    ``currency`` is the code (``"BTC"``), ``currency_type`` is ``"crypto"`` or ``"fiat"``,
    ``deposit_enabled``/``withdrawal_enabled`` come from ``"Enabled"``/``"Disabled"``.
    """

    currency: str | None = None
    name: str | None = None
    symbol: str | None = None
    currency_type: str | None = None
    decimals: int | None = None
    logo: str | None = None
    available_supply: Decimal | None = None
    deposit_enabled: bool | None = None
    withdrawal_enabled: bool | None = None
    networks: tuple[Any, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> Currency:
        """Parse one ``currencies/`` row; unknown fields stay in ``raw``."""
        try:
            get = obj.get
            networks = get("networks")
            return cls(
                currency=wire.optional_text(get("currency")),
                name=wire.optional_text(get("name")),
                symbol=wire.optional_text(get("symbol")),
                currency_type=wire.optional_text(get("type")),
                decimals=wire.optional_integer(get("decimals")),
                logo=wire.optional_text(get("logo")),
                available_supply=wire.optional_decimal(get("available_supply")),
                deposit_enabled=wire.optional_enabled(get("deposit")),
                withdrawal_enabled=wire.optional_enabled(get("withdrawal")),
                networks=tuple(networks) if isinstance(networks, list) else (),
                raw=wire.frozen_raw(obj),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class EurUsdRate:
    """``eur_usd/``: Bitstamp's own EUR/USD conversion rates (field names unconfirmed;
    the whole answer is kept in ``raw``, left out of ``==`` and ``repr``)."""

    buy: Decimal
    sell: Decimal
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> EurUsdRate:
        """Parse ``{"buy": "1.0812", "sell": "1.0735", ...}``."""
        try:
            return cls(
                buy=wire.decimal(obj["buy"]),
                sell=wire.decimal(obj["sell"]),
                raw=wire.frozen_raw(obj),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class Vasp:
    """A Virtual Asset Service Provider from ``travel_rule/vasps/`` (needed for travel-rule
    withdrawals). Shape unconfirmed beyond ``uuid`` and ``name``; the row is kept in ``raw``.

    Bitstamp's generated spec describes the answer as a page, ``{"data": [vasp, ...],
    "pagination": {"page", "size", "count"}}`` (``page``/``per_page`` query parameters);
    :meth:`list_from_wire` accepts that envelope or a bare list.
    """

    uuid: str
    name: str
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> Vasp:
        """Parse ``{"uuid": ..., "name": ...}``."""
        try:
            return cls(
                uuid=wire.identifier(obj["uuid"]), name=obj["name"], raw=wire.frozen_raw(obj)
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)

    @classmethod
    def list_from_wire(cls, obj: Any) -> list[Vasp]:
        """Parse the ``travel_rule/vasps/`` answer: ``{"data": [...], ...}`` or a list."""
        try:
            rows = obj if isinstance(obj, list) else obj["data"]
            if not isinstance(rows, list):
                raise TypeError(f"'data' must be a list, got {type(rows).__name__}")
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)
        return [cls.from_wire(row) for row in rows]
