"""Typed, immutable views of Bitstamp's JSON answers.

Every model is a frozen, slotted dataclass with a ``from_wire(obj)`` classmethod that takes
the decoded JSON (as ``orjson.loads`` returns it) and never does I/O. The rules:

* Prices, amounts, fees, rates and volumes are :class:`~decimal.Decimal`, parsed from the
  wire string. When a value arrives as a JSON number (cancel responses, WebSocket frames,
  ``user_transactions``), an ``int`` converts exactly and a ``float`` converts through its
  shortest ``repr``, so ``0.1`` becomes ``Decimal("0.1")``, not the binary expansion.
* Ids are ``str``: order ids are 16 digits and some trade ids exceed 2**53, so they must never
  pass through a float. A float id is rejected.
* Times are timezone-aware UTC :class:`~datetime.datetime` objects. Unix-second strings,
  microsecond strings (converted with integer arithmetic, so no microsecond is lost) and the
  private ``"YYYY-MM-DD HH:MM:SS[.ffffff]"`` form (which is UTC without saying so) are read.
* A payload that lacks a required field, or carries one that cannot be parsed, raises
  :class:`ValueError` naming the model and the field. The message never echoes the payload,
  which can hold credentials.

:class:`OrderBook` is built for the full REST book (thousands of levels per side): it keeps
the lists ``orjson`` produced and converts a row to a :class:`PriceLevel` only when that row
is read, so building it costs next to nothing beyond the JSON decode.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Generic, NoReturn, TypeVar, overload

__all__ = [
    "Balance",
    "CancelAllResult",
    "CanceledOrder",
    "Candle",
    "Currency",
    "EurUsdRate",
    "Market",
    "OpenOrder",
    "OrderBook",
    "OrderFill",
    "OrderPlaced",
    "OrderState",
    "OrderStatus",
    "PriceLevel",
    "PriceLevels",
    "Rows",
    "Side",
    "Ticker",
    "Trade",
    "TradingPairInfo",
    "Vasp",
    "WebSocketToken",
]

T = TypeVar("T")

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
# Formats tried when datetime.fromisoformat refuses a private timestamp: Python 3.10 only
# accepts 3 or 6 fractional digits there, Bitstamp is not known to pad consistently.
_FALLBACK_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


# --------------------------------------------------------------------------------------------
# Field parsers. Small and branch-light: Ticker and order-book rows go through them often.


def _malformed(model: type[Any], exc: Exception) -> NoReturn:
    """Re-raise a parsing failure as one ValueError that names the model and the field."""
    if isinstance(exc, KeyError):
        detail = f"missing required field {exc.args[0]!r}"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    raise ValueError(f"malformed {model.__name__} payload: {detail}") from exc


# What a from_wire can raise on bad input: a missing key, a wrong container type, an
# unparsable number (decimal.InvalidOperation is an ArithmeticError), a bad enum value.
_PARSE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError)


def _dec(value: Any) -> Decimal:
    cls = value.__class__
    if cls is str or cls is int:
        return Decimal(value)
    if cls is float:
        # repr() is the shortest string that round-trips: 0.1 -> "0.1", exactly as sent.
        return Decimal(repr(value))
    if cls is Decimal:
        return value  # type: ignore[no-any-return]
    raise TypeError(f"expected a decimal string or number, got {value!r}")


def _opt_dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return _dec(value)


def _id(value: Any) -> str:
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int:
        return str(value)
    raise TypeError(f"expected an id as a string or integer, got {value!r}")


def _opt_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _id(value)


def _unix(value: Any) -> datetime:
    """Unix seconds (string or int) to an aware UTC datetime."""
    return datetime.fromtimestamp(int(value), tz=_UTC)


def _micro(value: Any) -> datetime:
    """Unix microseconds (string or int) to an aware UTC datetime, exactly."""
    return _EPOCH + timedelta(microseconds=int(value))


def _datetime(value: Any) -> datetime:
    """A private-API datetime: ``"2019-01-31 21:23:36"``, with ``.ffffff``, ISO with ``Z``,
    or unix seconds. Naive forms are UTC."""
    if value.__class__ is int:
        return _unix(value)
    if value.__class__ is not str:
        raise TypeError(f"expected a datetime string, got {value!r}")
    text: str = value
    if text.isdigit():
        return _unix(text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _strptime(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=_UTC)
    return parsed.astimezone(_UTC)


def _strptime(text: str) -> datetime:
    for fmt in _FALLBACK_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"unrecognised datetime {text!r}")


def _opt_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return _datetime(value)


def _enabled(value: Any) -> bool:
    """``"Enabled"``/``"Disabled"`` (any case) or a JSON boolean. Anything else is not
    enabled, as in ccxt: an unknown status must not let orders through."""
    if value is True or value is False:
        return value
    return isinstance(value, str) and value.lower() == "enabled"


def _opt_enabled(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return _enabled(value)


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _opt_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _frozen_raw(obj: Any) -> Mapping[str, Any]:
    return MappingProxyType(dict(obj))


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


# --------------------------------------------------------------------------------------------
# Enums


class Side(enum.Enum):
    """Buy or sell. The wire sends ``0``/``"0"`` for buy and ``1``/``"1"`` for sell.

    For public trades and the ticker this is the taker's side.

    >>> Side.from_wire("1")
    <Side.SELL: 'sell'>
    """

    BUY = "buy"
    SELL = "sell"

    @classmethod
    def from_wire(cls, value: Any) -> Side:
        """Parse ``0``/``1`` (int or string); ``"buy"``/``"sell"`` are accepted too."""
        side = _SIDE_BY_WIRE.get(value) if value.__class__ is not bool else None
        if side is None:
            raise ValueError(f"unknown side {value!r}; expected 0 (buy) or 1 (sell)")
        return side


_SIDE_BY_WIRE: dict[Any, Side] = {
    0: Side.BUY,
    "0": Side.BUY,
    "buy": Side.BUY,
    1: Side.SELL,
    "1": Side.SELL,
    "sell": Side.SELL,
}


def _opt_side(value: Any) -> Side | None:
    if value is None or value == "":
        return None
    return Side.from_wire(value)


class OrderState(enum.Enum):
    """The ``status`` of ``order_status/``; values are the exact wire strings."""

    OPEN = "Open"
    FINISHED = "Finished"
    EXPIRED = "Expired"
    CANCELED = "Canceled"
    IN_QUEUE = "In Queue"
    CANCEL_PENDING = "Cancel pending"

    @property
    def is_final(self) -> bool:
        """True when the order can no longer trade (finished, expired or canceled)."""
        return self in (OrderState.FINISHED, OrderState.EXPIRED, OrderState.CANCELED)


# --------------------------------------------------------------------------------------------
# Public market data


V = TypeVar("V")


class _WireField(Generic[V]):
    """A value read from the model's ``wire`` mapping when accessed, parsed by ``parse``.

    A bad value raises the model's usual ``ValueError`` naming the field, at read time.
    """

    __slots__ = ("_name", "_optional", "_parse")

    def __init__(self, parse: Callable[[Any], V], *, optional: bool = False) -> None:
        self._parse = parse
        self._optional = optional
        self._name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> _WireField[V]: ...

    @overload
    def __get__(self, instance: object, owner: type[Any]) -> V: ...

    def __get__(self, instance: object | None, owner: type[Any]) -> V | _WireField[V]:
        if instance is None:
            return self
        wire: Mapping[str, Any] = instance.wire  # type: ignore[attr-defined]
        try:
            return self._parse(wire.get(self._name) if self._optional else wire[self._name])
        except _PARSE_ERRORS as exc:
            _malformed(owner, ValueError(f"field {self._name!r}: {exc}"))


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
            _malformed(cls, TypeError(f"expected an object, got {type(obj).__name__}"))
        if not obj.keys() >= _TICKER_REQUIRED:
            _malformed(cls, KeyError(min(_TICKER_REQUIRED.difference(obj))))
        return cls(MappingProxyType(obj))

    timestamp = _WireField(_unix)
    open = _WireField(_dec)
    high = _WireField(_dec)
    low = _WireField(_dec)
    last = _WireField(_dec)
    bid = _WireField(_dec)
    ask = _WireField(_dec)
    vwap = _WireField(_dec)
    volume = _WireField(_dec)
    open_24 = _WireField(_opt_dec, optional=True)
    percent_change_24 = _WireField(_opt_dec, optional=True)
    side = _WireField(_opt_side, optional=True)

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
                return cls(_dec(row[0]), _dec(row[1]), _id(row[2]))
            return cls(_dec(row[0]), _dec(row[1]))
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


_level = PriceLevel.from_wire


class Rows(Sequence[T]):
    """A read-only, lazy sequence of models over a JSON array as decoded.

    Nothing is converted up front: a row becomes a model (with ``Decimal`` values) only
    when it is indexed or iterated, so holding thousands of rows is free and reading the
    first few costs a few conversions. Slicing returns another lazy view. Every list
    endpoint of the client answers with one; ``list(rows)`` materialises it.

    The underlying list is shared with the decoded payload, not copied (:attr:`raw_rows`);
    mutate neither.
    """

    __slots__ = ("_parse", "_rows")
    __hash__ = None  # type: ignore[assignment]  # equal views may hold different strings

    def __init__(self, rows: list[Any], parse: Callable[[Any], T]) -> None:
        if not isinstance(rows, list):
            raise TypeError(f"expected a JSON array, got {type(rows).__name__}")
        self._rows = rows
        self._parse = parse

    @property
    def raw_rows(self) -> list[Any]:
        """The wire rows, for callers that want to stay unparsed."""
        return self._rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Rows[T]: ...

    def __getitem__(self, index: int | slice) -> T | Rows[T]:
        if isinstance(index, slice):
            return self._view(self._rows[index])
        return self._parse(self._rows[index])

    def _view(self, rows: list[Any]) -> Rows[T]:
        return Rows(rows, self._parse)

    def __iter__(self) -> Iterator[T]:
        return map(self._parse, self._rows)

    def __reversed__(self) -> Iterator[T]:
        return map(self._parse, reversed(self._rows))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows):
            if self._rows is other._rows or self._rows == other._rows:
                return True
        elif not isinstance(other, (list, tuple)):
            return NotImplemented
        # Same numbers may be spelled differently ("1.0" vs "1.00"): compare as models.
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __repr__(self) -> str:
        if not self._rows:
            return f"{type(self).__name__}(0 rows)"
        return f"{type(self).__name__}({len(self._rows)} rows, first={self[0]!r})"


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
                timestamp=_unix(obj["timestamp"]),
                microtimestamp=_micro(obj["microtimestamp"]),
                bids=PriceLevels(obj["bids"]),
                asks=PriceLevels(obj["asks"]),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)

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
                id=_id(obj["tid"]),
                timestamp=_unix(obj["date"]),
                price=_dec(obj["price"]),
                amount=_dec(obj["amount"]),
                side=Side.from_wire(obj["type"]),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


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
                timestamp=_unix(obj["timestamp"]),
                open=_dec(obj["open"]),
                high=_dec(obj["high"]),
                low=_dec(obj["low"]),
                close=_dec(obj["close"]),
                volume=_dec(obj["volume"]),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)

    @classmethod
    def list_from_wire(cls, obj: Any) -> list[Candle]:
        """Parse the whole ``ohlc/`` answer ``{"data": {"pair": ..., "ohlc": [...]}}``."""
        try:
            rows = obj["data"]["ohlc"]
            if not isinstance(rows, list):
                raise TypeError(f"'ohlc' must be a list, got {type(rows).__name__}")
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)
        return [cls.from_wire(row) for row in rows]


# --------------------------------------------------------------------------------------------
# Reference data


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
                minimum_order_value=_dec(obj["minimum_order_value"]),
                trading_enabled=_enabled(obj["trading"]),
                instant_and_market_orders_enabled=_enabled(obj["instant_and_market_orders"]),
                description=get("description") or "",
                market_type=get("market_type") or "SPOT",
                maximum_order_value=_opt_dec(get("maximum_order_value")),
                minimum_order_amount=_opt_dec(get("minimum_order_amount")),
                maximum_order_amount=_opt_dec(get("maximum_order_amount")),
                underlying_asset=_opt_str(get("underlying_asset")),
                payoff_type=_opt_str(get("payoff_type")),
                contract_size=_opt_dec(get("contract_size")),
                isin=_opt_str(get("isin")),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


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
                instant_order_counter_decimals=_opt_int(get("instant_order_counter_decimals")),
                minimum_order_value=_dec(value),
                minimum_order_currency=currency.strip() or name.partition("/")[2],
                trading_enabled=_enabled(obj["trading"]),
                instant_and_market_orders_enabled=_enabled(obj["instant_and_market_orders"]),
                description=get("description") or "",
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


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
    raw: Mapping[str, Any] = field(default_factory=_empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> Currency:
        """Parse one ``currencies/`` row; unknown fields stay in ``raw``."""
        try:
            get = obj.get
            networks = get("networks")
            return cls(
                currency=_opt_str(get("currency")),
                name=_opt_str(get("name")),
                symbol=_opt_str(get("symbol")),
                currency_type=_opt_str(get("type")),
                decimals=_opt_int(get("decimals")),
                logo=_opt_str(get("logo")),
                available_supply=_opt_dec(get("available_supply")),
                deposit_enabled=_opt_enabled(get("deposit")),
                withdrawal_enabled=_opt_enabled(get("withdrawal")),
                networks=tuple(networks) if isinstance(networks, list) else (),
                raw=_frozen_raw(obj),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class EurUsdRate:
    """``eur_usd/``: Bitstamp's own EUR/USD conversion rates (field names unconfirmed;
    the whole answer is kept in ``raw``, left out of ``==`` and ``repr``)."""

    buy: Decimal
    sell: Decimal
    raw: Mapping[str, Any] = field(default_factory=_empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> EurUsdRate:
        """Parse ``{"buy": "1.0812", "sell": "1.0735", ...}``."""
        try:
            return cls(buy=_dec(obj["buy"]), sell=_dec(obj["sell"]), raw=_frozen_raw(obj))
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


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
    raw: Mapping[str, Any] = field(default_factory=_empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> Vasp:
        """Parse ``{"uuid": ..., "name": ...}``."""
        try:
            return cls(uuid=_id(obj["uuid"]), name=obj["name"], raw=_frozen_raw(obj))
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)

    @classmethod
    def list_from_wire(cls, obj: Any) -> list[Vasp]:
        """Parse the ``travel_rule/vasps/`` answer: ``{"data": [...], ...}`` or a list."""
        try:
            rows = obj if isinstance(obj, list) else obj["data"]
            if not isinstance(rows, list):
                raise TypeError(f"'data' must be a list, got {type(rows).__name__}")
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)
        return [cls.from_wire(row) for row in rows]


# --------------------------------------------------------------------------------------------
# Account and orders


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    """One ``account_balances/`` row, or the whole ``account_balances/{currency}/`` answer.
    ``currency`` is lower case as sent (``"usd"``); ``total = available + reserved``."""

    currency: str
    total: Decimal
    available: Decimal
    reserved: Decimal

    @classmethod
    def from_wire(cls, obj: Any) -> Balance:
        """Parse ``{currency, total, available, reserved}``."""
        try:
            return cls(
                currency=obj["currency"],
                total=_dec(obj["total"]),
                available=_dec(obj["available"]),
                reserved=_dec(obj["reserved"]),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


def _market_of(obj: Any) -> str | None:
    # "market" is the current name; "currency_pair" the deprecated one still sent alongside.
    return _opt_str(obj.get("market") or obj.get("currency_pair"))


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced:
    """The answer to a limit, market or instant buy/sell.

    ``created_at`` is the wire's ``datetime``; ``market`` (``"BTC/USD"``) comes from
    ``market`` or, in older answers, ``currency_pair``; ``client_order_id`` is ``None``
    unless one was sent.
    """

    id: str
    created_at: datetime
    side: Side
    price: Decimal
    amount: Decimal
    client_order_id: str | None = None
    market: str | None = None

    @classmethod
    def from_wire(cls, obj: Any) -> OrderPlaced:
        """Parse ``{id, datetime, type, price, amount, client_order_id?, market?}``."""
        try:
            return cls(
                id=_id(obj["id"]),
                created_at=_datetime(obj["datetime"]),
                side=Side.from_wire(obj["type"]),
                price=_dec(obj["price"]),
                amount=_dec(obj["amount"]),
                client_order_id=_opt_id(obj.get("client_order_id")),
                market=_market_of(obj),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenOrder:
    """An ``open_orders/`` row. ``amount`` is what remains; ``amount_at_create`` the
    original size; ``limit_price`` only when the order was placed with one."""

    id: str
    created_at: datetime
    side: Side
    price: Decimal
    amount: Decimal
    amount_at_create: Decimal | None = None
    limit_price: Decimal | None = None
    market: str | None = None
    client_order_id: str | None = None

    @classmethod
    def from_wire(cls, obj: Any) -> OpenOrder:
        """Parse one open order."""
        try:
            get = obj.get
            return cls(
                id=_id(obj["id"]),
                created_at=_datetime(obj["datetime"]),
                side=Side.from_wire(obj["type"]),
                price=_dec(obj["price"]),
                amount=_dec(obj["amount"]),
                amount_at_create=_opt_dec(get("amount_at_create")),
                limit_price=_opt_dec(get("limit_price")),
                market=_market_of(obj),
                client_order_id=_opt_id(get("client_order_id")),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


# Keys of an order_status transaction that are not per-currency amounts.
_FILL_FIELDS = frozenset({"tid", "price", "fee", "datetime", "type"})


def _market_currencies(market: str | None) -> tuple[str | None, str | None]:
    """``"BTC/USD"`` -> ``("btc", "usd")``; ``"BTC/USD-PERP"`` -> ``("btc", "usd")``."""
    if not market:
        return None, None
    base, sep, counter = market.lower().partition("/")
    if not sep:
        return None, None
    return base, counter.partition("-")[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFill:
    """One fill in ``order_status/``'s ``transactions``.

    The wire carries the amounts under currency-named keys (``"btc": "0.1"``,
    ``"usd": "5900.00"``). All of them are in ``amounts`` (lower-case code -> Decimal); when
    the order's market is known, ``base_amount`` and ``counter_amount`` pick the two out.
    ``transaction_type`` is the wire ``type`` (2 = market trade).
    """

    id: str
    timestamp: datetime
    price: Decimal
    fee: Decimal
    base_amount: Decimal | None = None
    counter_amount: Decimal | None = None
    transaction_type: int | None = None
    amounts: Mapping[str, Decimal] = field(default_factory=_empty_mapping, hash=False)

    @classmethod
    def from_wire(cls, obj: Any, market: str | None = None) -> OrderFill:
        """Parse one fill; ``market`` (``"BTC/USD"``) names the base and counter keys."""
        try:
            amounts = {
                key.lower(): _dec(value)
                for key, value in obj.items()
                if key not in _FILL_FIELDS and key.isalpha() and value is not None
            }
            base, counter = _market_currencies(market)
            return cls(
                id=_id(obj["tid"]),
                timestamp=_datetime(obj["datetime"]),
                price=_dec(obj["price"]),
                fee=_dec(obj["fee"]),
                base_amount=amounts.get(base) if base else None,
                counter_amount=amounts.get(counter) if counter else None,
                transaction_type=_opt_int(obj.get("type")),
                amounts=MappingProxyType(amounts),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatus:
    """The ``order_status/`` answer.

    ``created_at`` and ``side`` were added to this endpoint on 2023-08-31 and are ``None``
    when absent; ``transactions`` is empty with ``omit_transactions``.
    """

    id: str
    status: OrderState
    created_at: datetime | None = None
    side: Side | None = None
    market: str | None = None
    amount_remaining: Decimal | None = None
    client_order_id: str | None = None
    transactions: tuple[OrderFill, ...] = ()

    @classmethod
    def from_wire(cls, obj: Any) -> OrderStatus:
        """Parse the order and its fills."""
        try:
            get = obj.get
            market = _market_of(obj)
            fills = get("transactions") or ()
            return cls(
                id=_id(obj["id"]),
                status=OrderState(obj["status"]),
                created_at=_opt_datetime(get("datetime")),
                side=_opt_side(get("type")),
                market=market,
                amount_remaining=_opt_dec(get("amount_remaining")),
                client_order_id=_opt_id(get("client_order_id")),
                transactions=tuple(OrderFill.from_wire(fill, market) for fill in fills),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class CanceledOrder:
    """The ``cancel_order/`` answer, and each entry of ``cancel_all_orders/``.

    These answers carry JSON numbers, not strings; they are converted exactly.
    """

    id: str
    price: Decimal
    amount: Decimal
    side: Side
    market: str | None = None

    @classmethod
    def from_wire(cls, obj: Any) -> CanceledOrder:
        """Parse ``{id, amount, price, type, market?/currency_pair?}``."""
        try:
            return cls(
                id=_id(obj["id"]),
                price=_dec(obj["price"]),
                amount=_dec(obj["amount"]),
                side=Side.from_wire(obj["type"]),
                market=_market_of(obj),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelAllResult:
    """The ``cancel_all_orders/`` answer. ``success`` is false when some order could not be
    canceled; ``canceled`` lists those that were."""

    canceled: tuple[CanceledOrder, ...]
    success: bool

    @classmethod
    def from_wire(cls, obj: Any) -> CancelAllResult:
        """Parse ``{canceled: [...], success: true}``."""
        try:
            return cls(
                canceled=tuple(map(CanceledOrder.from_wire, obj["canceled"])),
                success=obj["success"] is True,
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSocketToken:
    """``websockets_token/``: a short-lived credential for private WebSocket channels.

    The token is a secret, so it is left out of ``repr`` (``field(repr=False)``). Subscribe
    to ``private-<channel>-{user_id}`` with it within ``valid_sec`` seconds (60).

    >>> WebSocketToken(token="s3cr3t", user_id="4848701", valid_sec=60)
    WebSocketToken(user_id='4848701', valid_sec=60)
    """

    token: str = field(repr=False)
    user_id: str
    valid_sec: int

    @classmethod
    def from_wire(cls, obj: Any) -> WebSocketToken:
        """Parse ``{token, user_id, valid_sec}``."""
        try:
            return cls(
                token=obj["token"],
                user_id=_id(obj["user_id"]),
                valid_sec=int(obj["valid_sec"]),
            )
        except _PARSE_ERRORS as exc:
            _malformed(cls, exc)
