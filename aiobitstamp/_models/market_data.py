"""Public market data: tickers, order books, trades, candles and the reference catalogues."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, overload

from . import _wire as wire
from ._wire import MalformedFieldError, Rows
from .orders import Side

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
_decimal, _text, _unix_seconds = wire.decimal, wire.text, wire.unix_seconds

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
    aware ``datetime``, when it is read. ``from_wire`` checks that it is given an object with
    every required field; a value of the wrong type or spelling raises
    :class:`~aiobitstamp.MalformedFieldError` naming the field when it is read. ``repr()``
    never raises: a malformed value shows as ``<malformed>``.
    """

    wire: Mapping[str, Any]

    @classmethod
    def from_wire(cls, obj: Any) -> Ticker:
        """Wrap one ticker object after checking its required fields are present."""
        if obj.__class__ is not dict:
            wire.malformed(cls, f"expected an object, got {wire.describe(obj)}")
        if not obj.keys() >= _TICKER_REQUIRED:
            wire.malformed(cls, "missing", field=min(_TICKER_REQUIRED.difference(obj)))
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
    open_24 = _LazyField(_decimal, optional=True)
    percent_change_24 = _LazyField(_decimal, optional=True)
    side = _LazyField(Side.from_wire, optional=True)
    pair = _LazyField(_text, optional=True)
    market_type = _LazyField(_text, optional=True)

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
        shown = []
        for name in ("pair", "timestamp", "last", "bid", "ask", "volume"):
            try:
                value = repr(getattr(self, name))
            except MalformedFieldError:
                value = "<malformed>"
            shown.append(f"{name}={value}")
        return f"Ticker({', '.join(shown)})"


@dataclass(frozen=True, slots=True)
class PriceLevel:
    """One order-book row: ``[price, amount]``, or ``[price, amount, order_id]`` when the
    book lists single orders (``group=2``, WebSocket ``detail_order_book``)."""

    price: Decimal
    amount: Decimal
    order_id: str | None = None

    @classmethod
    def from_wire(cls, row: Any) -> PriceLevel:
        """Parse one row: a list of 2 or 3 values (a string is not a row, even of 2)."""
        if row.__class__ is not list or not 2 <= len(row) <= 3:
            raise MalformedFieldError(
                f"expected [price, amount] or [price, amount, order_id], got {wire.describe(row)}",
                model="PriceLevel",
            )
        name = "price"
        try:
            price = _decimal(row[0])
            name = "amount"
            amount = _decimal(row[1])
            if len(row) == 2:
                return cls(price, amount)
            name = "order_id"
            return cls(price, amount, wire.identifier(row[2]))
        except MalformedFieldError as exc:
            raise exc.within("PriceLevel", name) from None


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
        return super().__getitem__(index)

    def __repr__(self) -> str:
        return f"PriceLevels({wire._rows_summary(self, 'levels')})"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderBook:
    """``order_book/{pair}/`` (also the shape of WebSocket ``order_book_*`` data).

    ``bids`` are best (highest) first and ``asks`` best (lowest) first, as sent. Both are
    lazy :class:`PriceLevels`; ``from_wire`` does no per-level work. ``microtimestamp`` is
    the exact book time and the nonce to compare with WebSocket diffs.
    """

    timestamp: datetime
    microtimestamp: datetime
    # Lazy views are not hashable; equal books have equal times, which hash alone.
    bids: PriceLevels = field(hash=False)
    asks: PriceLevels = field(hash=False)

    @classmethod
    def from_wire(cls, obj: Any) -> OrderBook:
        """Wrap a decoded book without touching its rows (each is checked when read)."""
        fields = wire.Fields(cls, obj)
        return cls(
            timestamp=fields.required("timestamp", wire.unix_seconds),
            microtimestamp=fields.required("microtimestamp", wire.unix_micros),
            bids=fields.required("bids", PriceLevels),
            asks=fields.required("asks", PriceLevels),
        )

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
        fields = wire.Fields(cls, obj)
        return cls(
            id=fields.required("tid", wire.identifier),
            timestamp=fields.required("date", wire.unix_seconds),
            price=fields.required("price", wire.decimal),
            amount=fields.required("amount", wire.decimal),
            side=fields.required("type", Side.from_wire),
        )


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
        fields = wire.Fields(cls, obj)
        return cls(
            timestamp=fields.required("timestamp", wire.unix_seconds),
            open=fields.required("open", wire.decimal),
            high=fields.required("high", wire.decimal),
            low=fields.required("low", wire.decimal),
            close=fields.required("close", wire.decimal),
            volume=fields.required("volume", wire.decimal),
        )

    @classmethod
    def list_from_wire(cls, obj: Any) -> list[Candle]:
        """Parse the whole ``ohlc/`` answer ``{"data": {"pair": ..., "ohlc": [...]}}``."""
        data = wire.Fields(cls, obj).object("data")
        return list(data.required("ohlc", wire.tuple_of(cls.from_wire)))


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
        fields = wire.Fields(cls, obj)
        return cls(
            name=fields.required("name", wire.text),
            market_symbol=fields.required("market_symbol", wire.identifier),
            base_currency=fields.required("base_currency", wire.currency_code),
            counter_currency=fields.required("counter_currency", wire.currency_code),
            base_decimals=fields.required("base_decimals", wire.integer),
            counter_decimals=fields.required("counter_decimals", wire.integer),
            instant_order_counter_decimals=fields.required(
                "instant_order_counter_decimals", wire.integer
            ),
            minimum_order_value=fields.required("minimum_order_value", wire.decimal),
            trading_enabled=fields.required("trading", wire.enabled),
            instant_and_market_orders_enabled=fields.required(
                "instant_and_market_orders", wire.enabled
            ),
            description=fields.optional("description", wire.text) or "",
            market_type=fields.optional("market_type", wire.text) or "SPOT",
            maximum_order_value=fields.optional("maximum_order_value", wire.decimal),
            minimum_order_amount=fields.optional("minimum_order_amount", wire.decimal),
            maximum_order_amount=fields.optional("maximum_order_amount", wire.decimal),
            underlying_asset=fields.optional("underlying_asset", wire.text),
            payoff_type=fields.optional("payoff_type", wire.text),
            contract_size=fields.optional("contract_size", wire.decimal),
            isin=fields.optional("isin", wire.text),
        )


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
        fields = wire.Fields(cls, obj)
        name = fields.required("name", wire.text)
        value, currency = fields.required("minimum_order", _minimum_order)
        return cls(
            name=name,
            url_symbol=fields.required("url_symbol", wire.identifier),
            base_decimals=fields.required("base_decimals", wire.integer),
            counter_decimals=fields.required("counter_decimals", wire.integer),
            instant_order_counter_decimals=fields.optional(
                "instant_order_counter_decimals", wire.integer
            ),
            minimum_order_value=value,
            minimum_order_currency=currency or name.partition("/")[2],
            trading_enabled=fields.required("trading", wire.enabled),
            instant_and_market_orders_enabled=fields.required(
                "instant_and_market_orders", wire.enabled
            ),
            description=fields.optional("description", wire.text) or "",
        )


def _minimum_order(value: Any) -> tuple[Decimal, str]:
    """``"20.0 USD"`` -> ``(Decimal("20.0"), "USD")``; ``"10"`` -> ``(Decimal("10"), "")``."""
    number, _, currency = wire.text(value).strip().partition(" ")
    currency = currency.strip()
    return wire.decimal(number), wire.currency_code(currency) if currency else ""


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
    # The networks are kept as decoded (objects of an unconfirmed shape): not hashable.
    networks: tuple[Any, ...] = field(default=(), hash=False)
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> Currency:
        """Parse one ``currencies/`` row; unknown fields stay in ``raw``."""
        fields = wire.Fields(cls, obj)
        return cls(
            currency=fields.optional("currency", wire.currency_code),
            name=fields.optional("name", wire.text),
            symbol=fields.optional("symbol", wire.text),
            currency_type=fields.optional("type", wire.text),
            decimals=fields.optional("decimals", wire.integer),
            logo=fields.optional("logo", wire.text),
            available_supply=fields.optional("available_supply", wire.decimal),
            deposit_enabled=fields.optional("deposit", wire.enabled),
            withdrawal_enabled=fields.optional("withdrawal", wire.enabled),
            networks=tuple(fields.optional("networks", wire.array) or ()),
            raw=fields.raw(),
        )


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
        fields = wire.Fields(cls, obj)
        return cls(
            buy=fields.required("buy", wire.decimal),
            sell=fields.required("sell", wire.decimal),
            raw=fields.raw(),
        )


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
        fields = wire.Fields(cls, obj)
        return cls(
            uuid=fields.required("uuid", wire.identifier),
            name=fields.required("name", wire.text),
            raw=fields.raw(),
        )

    @classmethod
    def list_from_wire(cls, obj: Any) -> list[Vasp]:
        """Parse the ``travel_rule/vasps/`` answer: ``{"data": [...], ...}`` or a list."""
        rows = _vasp_rows(obj) if obj.__class__ is list else None
        if rows is None:
            rows = wire.Fields(cls, obj).required("data", _vasp_rows)
        return list(rows)


def _vasp_rows(value: Any) -> tuple[Vasp, ...]:
    return wire.tuple_of(Vasp.from_wire)(value)
