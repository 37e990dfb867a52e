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


@dataclass(frozen=True, slots=True)
class LiveTrade:
    """A public trade from ``live_trades_{pair}``. ``side`` is the taker's side.

    ``recovered`` is True for a trade refilled from REST ``transactions/`` after a dropped
    connection: it then has second resolution and no order ids.
    """

    channel: str
    pair: str
    id: str
    price: Decimal
    amount: Decimal
    side: Side
    microtimestamp: int
    buy_order_id: str | None
    sell_order_id: str | None
    recovered: bool = False

    @property
    def timestamp(self) -> datetime:
        """When the trade happened, aware UTC."""
        return _utc(self.microtimestamp)


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
(
    _lt_channel,
    _lt_pair,
    _lt_id,
    _lt_price,
    _lt_amount,
    _lt_side,
    _lt_micro,
    _lt_buy,
    _lt_sell,
    _lt_recovered,
) = _slot_setters(LiveTrade)
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
    """Decoder of ``live_trades_{pair}`` frames."""
    name, pair = channel.name, channel.pair
    dec = Decimal

    # The hottest function of the package: inline fast paths for what the exchange sends
    # (plain decimal strings, int ids); anything else goes through the checked parsers.
    def decode(event: str, data: Any) -> StreamEvent:
        if event != "trade":
            raise ValueError(f"unexpected event {event!r} on {name}")
        get = data.get
        price = get("price_str")
        amount = get("amount_str")
        trade_id = get("id_str")
        kind = data["type"]
        buy = get("buy_order_id")
        sell = get("sell_order_id")
        trade = _new(LiveTrade)
        _lt_channel(trade, name)
        _lt_pair(trade, pair)
        if trade_id.__class__ is not str:
            trade_id = data["id"]
            trade_id = str(trade_id) if trade_id.__class__ is int else identifier(trade_id)
        _lt_id(trade, trade_id)
        _lt_price(
            trade,
            dec(price)
            if price.__class__ is str and price.replace(".", "", 1).isdigit() and price.isascii()
            else _money_field(data, price, "price"),
        )
        _lt_amount(
            trade,
            dec(amount)
            if amount.__class__ is str and amount.replace(".", "", 1).isdigit() and amount.isascii()
            else _money_field(data, amount, "amount"),
        )
        _lt_side(trade, _BUY if kind == 0 else _SELL if kind == 1 else Side.from_wire(kind))
        _lt_micro(trade, int(data["microtimestamp"]))
        _lt_buy(trade, str(buy) if buy.__class__ is int else _optional_id(buy))
        _lt_sell(trade, str(sell) if sell.__class__ is int else _optional_id(sell))
        _lt_recovered(trade, False)
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
    micros = (when - _EPOCH) // timedelta(microseconds=1)
    return LiveTrade(
        channel.name,
        channel.pair,
        str(row.id),
        row.price,
        row.amount,
        row.side,
        micros,
        None,
        None,
        True,
    )
