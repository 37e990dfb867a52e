"""Typed stream events: what every WebSocket channel delivers, decoded from its frames.

Every event is a frozen, slotted dataclass. Money is :class:`~decimal.Decimal` parsed from
the ``_str`` fields (``price_str``, ``amount_str``) with the models' checked parser (no
``NaN``, no exponent bombs); only a frame without them falls back to the JSON number,
through its shortest ``repr``; ids are exact strings (``id_str`` first, since
trade ids can exceed 2**53); times are integer ``microtimestamp``\\ s with a ``timestamp``
property giving the aware UTC :class:`~datetime.datetime`, converted only when read.

Every event names its ``channel`` (without any ``-{user_id}`` suffix) and its ``pair``.

==============================  ======================  ===================================
channel                         event                   type
==============================  ======================  ===================================
``live_trades_{pair}``          ``trade``               :class:`LiveTrade`
``live_orders_{pair}``          ``order_*``             :class:`LiveOrder`
``order_book_{pair}``           ``data``                :class:`BookSnapshot`
``detail_order_book_{pair}``    ``data``                :class:`BookSnapshot` (order ids)
``diff_order_book_{pair}``      ``data``                :class:`BookDiff`
``private-my_orders_{pair}``    ``order_*``             :class:`MyOrder`
``private-my_trades_{pair}``    ``trade``               :class:`MyTrade`
``private-live_trades_{pair}``  ``self_trade``          :class:`SelfTrade`
any                             (from the client)       :class:`Gap`
==============================  ======================  ===================================

The decoders here are pure: ``decode(channel, event, data)`` returns the event or raises
``ValueError`` (``KeyError``/``TypeError``... wrapped) for a frame that does not have the
documented shape; the connection counts and skips those.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from .._models import PriceLevels, Side
from .._models._wire import decimal as _exact
from .._models._wire import identifier
from ._channels import Channel, ChannelKind

__all__ = [
    "BookDiff",
    "BookSnapshot",
    "Gap",
    "GapReason",
    "LiveOrder",
    "LiveTrade",
    "MyOrder",
    "MyTrade",
    "OrderAction",
    "SelfTrade",
    "StreamEvent",
    "decoder_for",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_BUY, _SELL = Side.BUY, Side.SELL


def _utc(microtimestamp: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microtimestamp)


class OrderAction(enum.Enum):
    """What happened to an order; the value is the frame's ``event``."""

    CREATED = "order_created"
    CHANGED = "order_changed"
    DELETED = "order_deleted"
    REPLACED = "order_replaced"
    STOP_ACTIVE = "stop_active"
    STOP_INACTIVE = "stop_inactive"


_ACTIONS = {action.value: action for action in OrderAction}


class GapReason(enum.Enum):
    """Why a :class:`Gap` was emitted."""

    RECONNECTED = "reconnected"  # the connection dropped; this channel cannot be refilled
    REST_UNREACHABLE = "rest_unreachable"  # the hole is older than transactions/?time=day
    REST_FAILED = "rest_failed"  # the REST refill itself failed


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LiveTrade:
    """A public trade from ``live_trades_{pair}``. ``side`` is the taker's side.

    Trades are the busiest channel, and a trade is read far less often than it is passed
    along, so, like :class:`~aiobitstamp.Ticker`, it keeps the frame's decoded ``wire``
    data and gives each value when read: ``id`` (exact, from ``id_str`` first), ``price``
    and ``amount`` (exact ``Decimal`` from ``price_str``/``amount_str``), ``side``,
    ``microtimestamp``, ``timestamp``, ``buy_order_id``, ``sell_order_id``. A value the
    exchange sent malformed raises :class:`~aiobitstamp.MalformedFieldError` when read.
    Two trades are equal when they are the same trade (channel and id).

    ``recovered`` is True for a trade refilled from REST ``transactions/`` after a dropped
    connection: it then has second resolution and no order ids.
    """

    channel: str
    wire: Mapping[str, Any]  # the frame's ``data``, as decoded: read it, do not change it

    @classmethod
    def of(
        cls,
        channel: str,
        *,
        id: str,
        price: Decimal,
        amount: Decimal,
        side: Side,
        microtimestamp: int,
        buy_order_id: str | None = None,
        sell_order_id: str | None = None,
        recovered: bool = False,
    ) -> LiveTrade:
        """A trade from its values (REST refills, tests)."""
        wire = {
            "id_str": id,
            "price_str": f"{price:f}",
            "amount_str": f"{amount:f}",
            "type": 0 if side is Side.BUY else 1,
            "microtimestamp": str(microtimestamp),
            "buy_order_id": buy_order_id,
            "sell_order_id": sell_order_id,
        }
        if recovered:
            wire["recovered"] = True
        return cls(channel, wire)

    @property
    def recovered(self) -> bool:
        """True for a trade refilled from REST after a dropped connection."""
        return self.wire.get("recovered") is True

    @property
    def pair(self) -> str:
        """The market, e.g. ``"btcusd"``."""
        return self.channel[_TRADES_PREFIX:]

    @property
    def id(self) -> str:
        """The trade id, exactly (``id_str`` when sent: ids may exceed 2**53)."""
        wire = self.wire
        text = wire.get("id_str")
        if text.__class__ is str:
            return text
        value = wire["id"]
        return str(value) if value.__class__ is int else identifier(value)

    @property
    def price(self) -> Decimal:
        """The price, exact, from ``price_str``."""
        text = self.wire.get("price_str")
        if text.__class__ is not str:
            return _money_field(self.wire, text, "price")
        # Prices repeat (a market trades at few distinct prices): parsed once each.
        price = _PRICES.get(text)
        if price is None:
            price = _money_of(self.wire, "price_str", "price")
            if len(_PRICES) >= _PRICE_CACHE_SIZE:
                _PRICES.clear()
            _PRICES[text] = price
        return price

    @property
    def amount(self) -> Decimal:
        """The amount in base currency, exact, from ``amount_str``."""
        text = self.wire.get("amount_str")
        if text.__class__ is str and text.replace(".", "", 1).isdigit() and text.isascii():
            return Decimal(text)
        return _money_field(self.wire, text, "amount")

    @property
    def side(self) -> Side:
        """The taker's side."""
        return _side(self.wire["type"])

    @property
    def microtimestamp(self) -> int:
        """When the trade happened, in microseconds since the epoch."""
        return int(self.wire["microtimestamp"])

    @property
    def timestamp(self) -> datetime:
        """When the trade happened, aware UTC."""
        return _utc(self.microtimestamp)

    @property
    def buy_order_id(self) -> str | None:
        """The buying order's id (``None`` for a recovered trade)."""
        return _optional_id(self.wire.get("buy_order_id"))

    @property
    def sell_order_id(self) -> str | None:
        """The selling order's id (``None`` for a recovered trade)."""
        return _optional_id(self.wire.get("sell_order_id"))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not LiveTrade:
            return NotImplemented
        assert isinstance(other, LiveTrade)
        return self.channel == other.channel and self.id == other.id

    def __hash__(self) -> int:
        return hash((self.channel, self.id))

    def __repr__(self) -> str:
        try:
            values = (
                f"id={self.id!r}, price={self.price!r}, amount={self.amount!r}, "
                f"side={self.side}, microtimestamp={self.microtimestamp}"
            )
        except (LookupError, ValueError, TypeError):
            values = "<malformed>"
        recovered = ", recovered=True" if self.recovered else ""
        return f"LiveTrade(channel={self.channel!r}, {values}{recovered})"


@dataclass(frozen=True, slots=True)
class LiveOrder:
    """An order appearing, changing or leaving the public book (``live_orders_{pair}``).

    ``amount`` is what remains on the book; ``amount_traded`` and ``amount_at_create`` are
    ``None`` when the frame does not carry them.
    """

    channel: str
    pair: str
    action: OrderAction
    id: str
    side: Side
    price: Decimal
    amount: Decimal
    amount_traded: Decimal | None
    amount_at_create: Decimal | None
    microtimestamp: int

    @property
    def timestamp(self) -> datetime:
        """When it happened, aware UTC."""
        return _utc(self.microtimestamp)


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """A top-100 book from ``order_book_{pair}`` or ``detail_order_book_{pair}``.

    ``bids`` (best first) and ``asks`` (best first) are lazy :class:`PriceLevels`: a row
    becomes a ``PriceLevel`` with exact ``Decimal``\\ s when read, so a snapshot that is
    replaced by a newer one before the consumer looks at it costs nothing. On the detail
    channel each level is one order and carries its ``order_id``.
    """

    channel: str
    pair: str
    microtimestamp: int
    bids: PriceLevels
    asks: PriceLevels

    @property
    def timestamp(self) -> datetime:
        """The book's time, aware UTC."""
        return _utc(self.microtimestamp)


Levels = tuple[tuple[Decimal, Decimal], ...]


@dataclass(frozen=True, slots=True)
class BookDiff:
    """Changed price levels from ``diff_order_book_{pair}``: ``(price, amount)`` pairs,
    amount zero (``"0"`` or ``"0.00000000"``) meaning the level is gone."""

    channel: str
    pair: str
    microtimestamp: int
    bids: Levels
    asks: Levels

    @property
    def timestamp(self) -> datetime:
        """The diff's time, aware UTC."""
        return _utc(self.microtimestamp)


@dataclass(frozen=True, slots=True)
class MyOrder:
    """One of your orders changed (``private-my_orders_{pair}``)."""

    channel: str
    pair: str
    action: OrderAction
    id: str
    client_order_id: str | None
    side: Side
    price: Decimal
    amount: Decimal
    amount_traded: Decimal | None
    amount_at_create: Decimal | None
    microtimestamp: int
    trade_account_id: str | None

    @property
    def timestamp(self) -> datetime:
        """When it happened, aware UTC."""
        return _utc(self.microtimestamp)


@dataclass(frozen=True, slots=True)
class MyTrade:
    """One of your orders traded (``private-my_trades_{pair}``); ``fee`` in the counter
    currency, ``None`` when the frame has none."""

    channel: str
    pair: str
    id: str
    order_id: str
    client_order_id: str | None
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal | None
    microtimestamp: int
    trade_account_id: str | None

    @property
    def timestamp(self) -> datetime:
        """When it happened, aware UTC."""
        return _utc(self.microtimestamp)


@dataclass(frozen=True, slots=True)
class SelfTrade:
    """A self-trade notice from ``private-live_trades_{pair}``. Its fields are not
    documented, so the payload is kept whole in ``data``."""

    channel: str
    pair: str
    id: str | None
    microtimestamp: int | None
    data: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Gap:
    """Events of ``channel`` may be missing between ``since`` and ``until``.

    Emitted instead of silence when a hole cannot be refilled: public order events after a
    dropped connection (the exchange has no REST for them), private channels, and trades
    older than REST ``transactions/?time=day`` reaches. ``since_microtimestamp`` is the last
    event delivered before the hole (``None`` if none was), ``until_microtimestamp`` the
    first one known after it (``None`` if not known yet).
    """

    channel: str
    pair: str
    reason: GapReason
    since_microtimestamp: int | None = None
    until_microtimestamp: int | None = None

    @property
    def since(self) -> datetime | None:
        """Start of the hole, aware UTC, when known."""
        return None if self.since_microtimestamp is None else _utc(self.since_microtimestamp)

    @property
    def until(self) -> datetime | None:
        """End of the hole, aware UTC, when known."""
        return None if self.until_microtimestamp is None else _utc(self.until_microtimestamp)


StreamEvent = LiveTrade | LiveOrder | BookSnapshot | BookDiff | MyOrder | MyTrade | SelfTrade | Gap
Decoder = Callable[[str, Any], StreamEvent]


# -- fast construction --------------------------------------------------------------------
# A frozen dataclass's __init__ sets every field through object.__setattr__; on the hot
# channels (trades, orders, diffs) the slot descriptors' own setters are about three
# times faster, which is most of the cost of a typed event over a raw dict.


def _slot_setters(cls: type) -> tuple[Callable[[object, object], None], ...]:
    fields: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    return tuple(getattr(cls, name).__set__ for name in fields)


_new = object.__new__
_lt_channel, _lt_wire = _slot_setters(LiveTrade)
_TRADES_PREFIX = len("live_trades_")
_bd_channel, _bd_pair, _bd_micro, _bd_bids, _bd_asks = _slot_setters(BookDiff)


def decimal(value: Any) -> Decimal:
    """Money from a frame: a decimal string (or exact number) through the models' checked
    parser; a JSON float, only when a frame lacks its ``*_str`` twin, through its
    shortest ``repr`` (exact for the 15 significant digits a float keeps)."""
    if value.__class__ is float:
        return _exact(repr(value))
    return _exact(value)


def _number(data: Any, name: str, text_name: str) -> Decimal:
    # The *_str form is exact; the JSON number is the fallback.
    text = data.get(text_name)
    if text.__class__ is str:
        return _exact(text)
    return decimal(data[name])


_TRADE_FIELDS = frozenset({"id", "type", "microtimestamp", "price", "amount"})
# The same trade carried by its exact texts alone (the float twins left out, as a
# recording keeps it): values are read from the ``_str`` fields first anyway.
_TRADE_TEXT_FIELDS = frozenset({"id_str", "type", "microtimestamp", "price_str", "amount_str"})


def _has_trade_texts(data: dict[str, Any]) -> bool:
    return data.keys() >= _TRADE_TEXT_FIELDS


# Trade prices already parsed (checked), by their exact text; cleared when full.
_PRICES: dict[str, Decimal] = {}
_PRICE_CACHE_SIZE = 4096


def _money_of(data: Any, text_name: str, name: str) -> Decimal:
    """A money field of a frame, exact: the ``*_str`` text when sent (a plain decimal
    goes straight to ``Decimal``; anything else through the checked parser)."""
    text = data.get(text_name)
    if text.__class__ is str and text.replace(".", "", 1).isdigit() and text.isascii():
        return Decimal(text)
    return _money_field(data, text, name)


def _money_field(data: Any, text: Any, name: str) -> Decimal:
    """The slow path of a money field: the ``*_str`` text through the checked parser, or
    the JSON number when the frame has no text."""
    if text.__class__ is str:
        return _exact(text)
    return decimal(data[name])


def _optional_number(data: Any, name: str) -> Decimal | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    return decimal(value)


def _exact_id(data: Any) -> str:
    text = data.get("id_str")
    if text.__class__ is str:
        return text
    return identifier(data["id"])


def _optional_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return identifier(value)


def _micros(data: Any) -> int:
    value = data.get("microtimestamp")
    if value is not None:
        return int(value)
    seconds = data.get("datetime", data.get("timestamp"))
    return int(seconds) * 1_000_000


def _side(value: Any) -> Side:
    if value == 0:
        return _BUY
    if value == 1:
        return _SELL
    return Side.from_wire(value)


def _levels(rows: Any) -> Levels:
    return tuple([(_exact(row[0]), _exact(row[1])) for row in rows])


# -- decoders, one per channel kind -------------------------------------------------------


def live_trade(channel: Channel) -> Decoder:
    """Decoder of ``live_trades_{pair}`` frames: the busiest channel, so a frame with every
    field a trade needs is kept as it is, each value parsed (and checked) when read."""
    name = channel.name
    required = _TRADE_FIELDS

    def decode(event: str, data: Any) -> StreamEvent:
        if (
            event != "trade"
            or data.__class__ is not dict
            or not (data.keys() >= required or _has_trade_texts(data))
        ):
            raise ValueError(f"not a trade frame on {name}")
        trade = _new(LiveTrade)
        _lt_channel(trade, name)
        _lt_wire(trade, data)
        return trade

    return decode


def live_order(channel: Channel) -> Decoder:
    """Decoder of ``live_orders_{pair}`` frames."""
    name, pair = channel.name, channel.pair

    def decode(event: str, data: Any) -> StreamEvent:
        return LiveOrder(
            name,
            pair,
            _ACTIONS[event],
            _exact_id(data),
            _side(data["order_type"]),
            _number(data, "price", "price_str"),
            _number(data, "amount", "amount_str"),
            _optional_number(data, "amount_traded"),
            _optional_number(data, "amount_at_create"),
            _micros(data),
        )

    return decode


def book_snapshot(channel: Channel) -> Decoder:
    """Decoder of ``order_book_{pair}`` and ``detail_order_book_{pair}`` frames."""
    name, pair = channel.name, channel.pair

    def decode(event: str, data: Any) -> StreamEvent:
        if event != "data":
            raise ValueError(f"unexpected event {event!r} on {name}")
        bids, asks = data["bids"], data["asks"]
        if bids.__class__ is not list or asks.__class__ is not list:
            raise TypeError("bids and asks must be arrays")
        return BookSnapshot(name, pair, _micros(data), PriceLevels(bids), PriceLevels(asks))

    return decode


def book_diff(channel: Channel) -> Decoder:
    """Decoder of ``diff_order_book_{pair}`` frames."""
    name, pair = channel.name, channel.pair

    def decode(event: str, data: Any) -> StreamEvent:
        if event != "data":
            raise ValueError(f"unexpected event {event!r} on {name}")
        diff = _new(BookDiff)
        _bd_channel(diff, name)
        _bd_pair(diff, pair)
        _bd_micro(diff, int(data["microtimestamp"]))
        _bd_bids(diff, _levels(data["bids"]))
        _bd_asks(diff, _levels(data["asks"]))
        return diff

    return decode


def my_order(channel: Channel) -> Decoder:
    """Decoder of ``private-my_orders_{pair}`` frames."""
    name, pair = channel.name, channel.pair

    def decode(event: str, data: Any) -> StreamEvent:
        return MyOrder(
            name,
            pair,
            _ACTIONS[event],
            _exact_id(data),
            _optional_id(data.get("client_order_id")),
            _side(data["order_type"]),
            _number(data, "price", "price_str"),
            _number(data, "amount", "amount_str"),
            _optional_number(data, "amount_traded"),
            _optional_number(data, "amount_at_create"),
            _micros(data),
            _optional_id(data.get("trade_account_id")),
        )

    return decode


def my_trade(channel: Channel) -> Decoder:
    """Decoder of ``private-my_trades_{pair}`` frames."""
    name, pair = channel.name, channel.pair

    def decode(event: str, data: Any) -> StreamEvent:
        if event != "trade":
            raise ValueError(f"unexpected event {event!r} on {name}")
        return MyTrade(
            name,
            pair,
            _exact_id(data),
            identifier(data["order_id"]),
            _optional_id(data.get("client_order_id")),
            _side(data["side"]),
            _number(data, "price", "price_str"),
            _number(data, "amount", "amount_str"),
            _optional_number(data, "fee"),
            _micros(data),
            _optional_id(data.get("trade_account_id")),
        )

    return decode


def self_trade(channel: Channel) -> Decoder:
    """Decoder of ``private-live_trades_{pair}`` frames."""
    name, pair = channel.name, channel.pair

    def decode(event: str, data: Any) -> StreamEvent:
        if event != "self_trade" or not isinstance(data, dict):
            raise ValueError(f"unexpected event {event!r} on {name}")
        found = data.get("id_str", data.get("id"))
        micros = data.get("microtimestamp")
        return SelfTrade(
            name, pair, _optional_id(found), None if micros is None else int(micros), data
        )

    return decode


_DECODERS: dict[ChannelKind, Callable[[Channel], Decoder]] = {
    ChannelKind.LIVE_TRADES: live_trade,
    ChannelKind.LIVE_ORDERS: live_order,
    ChannelKind.ORDER_BOOK: book_snapshot,
    ChannelKind.DETAIL_ORDER_BOOK: book_snapshot,
    ChannelKind.DIFF_ORDER_BOOK: book_diff,
    ChannelKind.MY_ORDERS: my_order,
    ChannelKind.MY_TRADES: my_trade,
    ChannelKind.MY_SELF_TRADES: self_trade,
}


def decoder_for(channel: Channel) -> Decoder:
    """The function turning ``(event, data)`` of ``channel``'s frames into typed events."""
    return _DECODERS[channel.kind](channel)


def recovered_trade(channel: Channel, row: Any) -> LiveTrade:
    """A :class:`LiveTrade` from a REST ``transactions/`` row (``.id``, ``.price``,
    ``.amount``, ``.timestamp``, ``.side``), marked ``recovered``."""
    when: datetime = row.timestamp
    return LiveTrade.of(
        channel.name,
        id=str(row.id),
        price=row.price,
        amount=row.amount,
        side=row.side,
        microtimestamp=(when - _EPOCH) // timedelta(microseconds=1),
        recovered=True,
    )
