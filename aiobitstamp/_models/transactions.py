"""The account's history: user transactions, crypto deposits and withdrawals, order events.

These answers carry JSON numbers as well as strings (``"usd": 0``, ``"btc": "0.00500000"``,
``"eth": 0.0``); the client decodes them with every non-integer number as an exact
``Decimal`` and every integer as an ``int``, and the models keep each value exactly as sent:
``Decimal("0.00500000")`` keeps its eight places, ``0.0`` stays ``Decimal("0.0")``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from . import _wire as wire
from .orders import Side

__all__ = [
    "CryptoTransaction",
    "CryptoTransactionKind",
    "CryptoTransactions",
    "OrderEvent",
    "OrderEventType",
    "OrderSource",
    "TransactionType",
    "UserTransaction",
]


class _OpenEnum(enum.Enum):
    """An enum that keeps a value it does not know instead of failing on it.

    ``Kind(99)`` for an unlisted code gives a member named ``UNKNOWN_99`` whose ``value`` is
    99; asking again gives the same member, so ``is`` and ``==`` work. ``known`` tells the
    listed members from these. Which values are acceptable at all is ``_accepts``.
    """

    @classmethod
    def _accepts(cls, value: object) -> bool:
        return False

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not cls._accepts(value):
            return None
        member = object.__new__(cls)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return cls._value2member_map_.setdefault(value, member)

    @property
    def known(self) -> bool:
        """False for a value the exchange sent that this version does not list."""
        return self._name_ in type(self).__members__


class TransactionType(_OpenEnum):
    """The ``type`` of a ``user_transactions/`` row. A code not listed here is kept as a
    member named ``UNKNOWN_<code>`` (``known`` is False), so a new kind never breaks a walk.

    >>> TransactionType.from_wire("2")
    <TransactionType.MARKET_TRADE: 2>
    >>> TransactionType.from_wire(99).known
    False
    """

    DEPOSIT = 0
    WITHDRAWAL = 1
    MARKET_TRADE = 2
    SUB_ACCOUNT_TRANSFER = 14
    STAKED_ASSETS_CREDITED = 25
    SENT_TO_STAKING = 26
    STAKING_REWARD = 27
    REFERRAL_REWARD = 32
    SETTLEMENT_TRANSFER = 33
    INTER_ACCOUNT_TRANSFER = 35

    @classmethod
    def _accepts(cls, value: object) -> bool:
        return value.__class__ is int and 0 <= value < 1 << 31

    @classmethod
    def from_wire(cls, value: Any) -> TransactionType:
        """An int or a string of ASCII digits (the spec says string, servers send both)."""
        if value.__class__ is str and _DIGITS.fullmatch(value):
            value = int(value)
        if value.__class__ is not int or not cls._accepts(value):
            wire.malformed(cls, "expected a transaction code (a small non-negative integer)")
        return cls(value)


class OrderEventType(_OpenEnum):
    """What happened to an order in ``order_data/`` and ``account_order_data/`` (the same
    names as the WebSocket order channels). An unlisted name is kept as ``UNKNOWN_<name>``."""

    CREATED = "order_created"
    CHANGED = "order_changed"
    DELETED = "order_deleted"
    REPLACED = "order_replaced"
    STOP_ACTIVE = "stop_active"
    STOP_INACTIVE = "stop_inactive"

    @classmethod
    def _accepts(cls, value: object) -> bool:
        return value.__class__ is str and _EVENT_NAME.fullmatch(value) is not None


class OrderSource(enum.Enum):
    """Which orders ``order_data/`` and ``account_order_data/`` report."""

    ORDERBOOK = "orderbook"  # orders on the book
    STOP_ORDER = "stop_order"  # stop orders, before they trigger


class CryptoTransactionKind(enum.Enum):
    """Which list of the ``crypto-transactions/`` answer a row came from."""

    DEPOSIT = "deposits"
    WITHDRAWAL = "withdrawals"
    RIPPLE_IOU = "ripple_iou_transactions"


_DIGITS = re.compile(r"[0-9]{1,20}")
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# A plain decimal number as text: ASCII digits, an optional sign, point and exponent.
# (Decimal() alone would also take " 1", "1_000", "NaN" and "Infinity".)
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?")
_CURRENCY_KEY = re.compile(r"[a-z0-9]{2,10}")
_RATE_KEY = re.compile(r"([a-z0-9]{2,10})_([a-z0-9]{2,10})")
# Keys of a user_transactions row that are never a currency column or a rate, whatever
# their value. margin_mode and leverage_rate are sent on derivatives rows.
_ROW_FIELDS = frozenset(
    {
        "id",
        "datetime",
        "type",
        "fee",
        "order_id",
        "self_trade",
        "self_trade_order_id",
        "client_order_id",
        "market",
        "currency_pair",
        "status",
        "reason",
        "margin_mode",
        "leverage_rate",
    }
)
_MAX_NUMBER_TEXT = 100


def _amount(value: Any) -> Decimal | None:
    """The exact Decimal of a JSON number or a plain numeric string; None for anything else
    (null, booleans, words), which is then not a currency column."""
    cls = value.__class__
    if cls is Decimal or cls is int or cls is float:
        # wire.decimal refuses floats (already rounded) and absurd magnitudes, whose
        # arithmetic would overflow later in the caller's code.
        return wire.decimal(value)
    if cls is str and len(value) <= _MAX_NUMBER_TEXT and _NUMBER_TEXT.fullmatch(value):
        return wire.decimal(value)
    return None


def _flag(value: Any) -> bool:
    if value is None or value is False or value is True:
        return value is True
    if value.__class__ is str and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError("self_trade: expected a boolean")


def _numeric_id(value: Any) -> str:
    text = wire.identifier(value)
    if not _DIGITS.fullmatch(text):
        raise ValueError("id: expected 1-20 ASCII digits")
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class UserTransaction:
    """One ``user_transactions/`` row: a deposit, a withdrawal, a trade, a transfer, ...

    Every per-currency column is in ``amounts`` (currency code -> signed ``Decimal``),
    exactly as sent, zeros included: ``"usd": 0``, ``"eur": 0.0`` and
    ``"btc": "0.00500000"`` give ``Decimal("0")``, ``Decimal("0.0")`` and
    ``Decimal("0.00500000")``. A trade also carries its rate under ``{base}_{quote}``
    (``"btc_usd": 37500.5``); it is in ``rates`` under that key, and names the market.

    For a trade (``type`` ``MARKET_TRADE``): ``market`` is ``"btcusd"``, ``rate`` the price,
    ``base_amount`` and ``counter_amount`` the two sides of the exchange, and ``side`` comes
    from the sign of the base column (negative: you sold). ``fee`` is in the counter
    currency. ``raw`` keeps the row as decoded, for fields this model does not name.
    """

    id: str
    type: TransactionType
    timestamp: datetime
    fee: Decimal | None = None
    order_id: str | None = None
    self_trade: bool = False
    self_trade_order_id: str | None = None
    amounts: Mapping[str, Decimal] = field(default_factory=wire.empty_mapping, hash=False)
    rates: Mapping[str, Decimal] = field(default_factory=wire.empty_mapping, hash=False)
    raw: Mapping[str, Any] = field(
        default_factory=wire.empty_mapping, hash=False, compare=False, repr=False
    )

    @property
    def is_trade(self) -> bool:
        """True for a market trade (type 2)."""
        return self.type is TransactionType.MARKET_TRADE

    @property
    def _pair(self) -> tuple[str, str] | None:
        if len(self.rates) != 1:
            return None
        base, _, counter = next(iter(self.rates)).partition("_")
        return base, counter

    @property
    def base_currency(self) -> str | None:
        """``"btc"`` for a ``btc_usd`` trade; None when the row names no market."""
        pair = self._pair
        return pair[0] if pair else None

    @property
    def counter_currency(self) -> str | None:
        """``"usd"`` for a ``btc_usd`` trade; None when the row names no market."""
        pair = self._pair
        return pair[1] if pair else None

    @property
    def market(self) -> str | None:
        """The market symbol (``"btcusd"``) from the row's ``{base}_{quote}`` key."""
        pair = self._pair
        return pair[0] + pair[1] if pair else None

    @property
    def rate(self) -> Decimal | None:
        """The trade's price, in counter currency per unit of base currency."""
        return next(iter(self.rates.values())) if len(self.rates) == 1 else None

    @property
    def base_amount(self) -> Decimal | None:
        """The signed base-currency column of a trade (negative when you sold)."""
        pair = self._pair
        return self.amounts.get(pair[0]) if pair else None

    @property
    def counter_amount(self) -> Decimal | None:
        """The signed counter-currency column of a trade (negative when you bought)."""
        pair = self._pair
        return self.amounts.get(pair[1]) if pair else None

    @property
    def side(self) -> Side | None:
        """BUY or SELL for a trade, from the sign of its base column; None otherwise."""
        base = self.base_amount if self.is_trade else None
        if not base:
            return None
        return Side.SELL if base < 0 else Side.BUY

    @classmethod
    def from_wire(cls, obj: Any) -> UserTransaction:
        """Parse one row, sorting its keys into fields, currency columns and rates."""
        try:
            if obj.__class__ is not dict:
                raise TypeError("expected a JSON object")
            numbers: dict[str, Decimal] = {}
            for key, value in obj.items():
                if key in _ROW_FIELDS:
                    continue
                number = _amount(value)
                if number is not None:
                    numbers[key] = number
            amounts = {k: v for k, v in numbers.items() if _CURRENCY_KEY.fullmatch(k)}
            rates = {}
            for key, value in numbers.items():
                match = _RATE_KEY.fullmatch(key)
                # A rate names two currencies of the row; other numeric keys with an
                # underscore are left in raw rather than mistaken for a market.
                if match and match[1] in amounts and match[2] in amounts:
                    rates[key] = value
            get = obj.get
            return cls(
                id=_numeric_id(obj["id"]),
                type=TransactionType.from_wire(obj["type"]),
                timestamp=wire.utc_datetime(obj["datetime"]),
                fee=wire.optional_decimal(get("fee")),
                order_id=wire.optional_identifier(get("order_id")),
                self_trade=_flag(get("self_trade")),
                self_trade_order_id=wire.optional_identifier(get("self_trade_order_id")),
                amounts=MappingProxyType(amounts),
                rates=MappingProxyType(rates),
                raw=wire.frozen_raw(obj),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


def _instant(value: Any) -> datetime:
    """A crypto transaction's ``datetime``: unix seconds (int, exact decimal or digit
    string) or a private-API date string."""
    if value.__class__ is Decimal:
        micros = value.scaleb(6)
        if micros != micros.to_integral_value():
            raise ValueError("datetime: finer than a microsecond")
        return wire.unix_micros(int(micros))
    return wire.utc_datetime(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class CryptoTransaction:
    """A crypto deposit, withdrawal or Ripple IOU transaction (``crypto-transactions/``).

    ``kind`` says which. ``id``, ``status`` (``"PENDING"``/``"COMPLETED"``) and
    ``pending_reason`` are sent for deposits only; ``destination_address`` is the wire's
    ``destinationAddress``.
    """

    kind: CryptoTransactionKind
    currency: str
    amount: Decimal
    timestamp: datetime
    network: str | None = None
    txid: str | None = None
    destination_address: str | None = None
    id: str | None = None
    status: str | None = None
    pending_reason: str | None = None
    raw: Mapping[str, Any] = field(
        default_factory=wire.empty_mapping, hash=False, compare=False, repr=False
    )

    @property
    def identity(self) -> tuple[object, ...]:
        """What tells this row from every other: its kind and ``id`` when it has one, else
        all of its documented fields."""
        if self.id is not None:
            return (self.kind, self.id)
        return (
            self.kind,
            self.txid,
            self.currency,
            self.network,
            self.destination_address,
            self.amount,
            self.timestamp,
        )

    @classmethod
    def from_wire(cls, obj: Any, kind: CryptoTransactionKind) -> CryptoTransaction:
        """Parse one row of the list ``kind``."""
        try:
            if obj.__class__ is not dict:
                raise TypeError("expected a JSON object")
            currency = obj["currency"]
            if currency.__class__ is not str:
                raise TypeError("currency: expected a string")
            get = obj.get
            return cls(
                kind=kind,
                currency=currency,
                amount=wire.decimal(obj["amount"]),
                timestamp=_instant(obj["datetime"]),
                network=wire.optional_text(get("network")),
                txid=wire.optional_text(get("txid")),
                destination_address=wire.optional_text(get("destinationAddress")),
                id=wire.optional_identifier(get("id")),
                status=wire.optional_text(get("status")),
                pending_reason=wire.optional_text(get("pending_reason")),
                raw=wire.frozen_raw(obj),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class CryptoTransactions:
    """One ``crypto-transactions/`` page: deposits, withdrawals and (with ``include_ious``)
    Ripple IOU transactions, each list in the exchange's order. ``rows`` is all three."""

    deposits: tuple[CryptoTransaction, ...] = ()
    withdrawals: tuple[CryptoTransaction, ...] = ()
    ripple_iou_transactions: tuple[CryptoTransaction, ...] = ()

    @property
    def rows(self) -> tuple[CryptoTransaction, ...]:
        """Deposits, then withdrawals, then Ripple IOU transactions."""
        return self.deposits + self.withdrawals + self.ripple_iou_transactions

    @classmethod
    def from_wire(cls, obj: Any) -> CryptoTransactions:
        """Parse ``{deposits: [...], withdrawals: [...], ripple_iou_transactions: [...]}``;
        a missing list is empty."""
        try:
            if obj.__class__ is not dict:
                raise TypeError("expected a JSON object")
            lists = {}
            for kind in CryptoTransactionKind:
                rows = obj.get(kind.value)
                if rows is None:
                    rows = []
                if rows.__class__ is not list:
                    raise TypeError(f"{kind.value}: expected a list")
                lists[kind] = tuple(CryptoTransaction.from_wire(row, kind) for row in rows)
            return cls(
                deposits=lists[CryptoTransactionKind.DEPOSIT],
                withdrawals=lists[CryptoTransactionKind.WITHDRAWAL],
                ripple_iou_transactions=lists[CryptoTransactionKind.RIPPLE_IOU],
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


def _preferred(data: Mapping[str, Any], exact: str, number: str) -> Any:
    """The ``*_str`` twin of a number when present (it is exact), else the number."""
    value = data.get(exact)
    return data[number] if value is None or value == "" else value


def _event_time(data: Mapping[str, Any]) -> datetime:
    micros = data.get("microtimestamp")
    if micros is not None and micros != "":
        return wire.unix_micros(micros)
    return wire.utc_datetime(data["datetime"])


def _optional_bool(value: Any) -> bool:
    if value is None or value is False or value is True:
        return value is True
    raise TypeError("expected a boolean")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent:
    """One order event from ``order_data/`` or ``account_order_data/``: an order created,
    changed (partly filled), deleted (filled or cancelled), replaced, or a stop order
    (de)activated.

    ``amount`` is what remains on the book after the event, ``amount_traded`` what traded in
    it, ``amount_at_create`` the order's original size. Exact ``*_str`` twins are preferred
    over the JSON numbers. ``event_id`` orders the events; ``raw`` keeps the whole event.
    """

    event: OrderEventType
    order_id: str
    side: Side
    price: Decimal
    amount: Decimal
    timestamp: datetime
    event_id: str | None = None
    order_source: str | None = None
    trade_account_id: str | None = None
    amount_traded: Decimal | None = None
    amount_at_create: Decimal | None = None
    client_order_id: str | None = None
    order_subtype: str | None = None
    stop_price: Decimal | None = None
    is_liquidation: bool = False
    raw: Mapping[str, Any] = field(
        default_factory=wire.empty_mapping, hash=False, compare=False, repr=False
    )

    @classmethod
    def from_wire(cls, obj: Any) -> OrderEvent:
        """Parse ``{event, event_id, order_source, trade_account_id, data: {...}}``."""
        try:
            if obj.__class__ is not dict:
                raise TypeError("expected a JSON object")
            data = obj["data"]
            if data.__class__ is not dict:
                raise TypeError("data: expected a JSON object")
            event = obj["event"]
            if not OrderEventType._accepts(event):
                raise ValueError("event: expected an event name like 'order_created'")
            get = data.get
            subtype = get("order_subtype")
            account = obj.get("trade_account_id", get("trade_account_id"))
            return cls(
                event=OrderEventType(event),
                order_id=wire.identifier(_preferred(data, "id_str", "id")),
                side=Side.from_wire(data["order_type"]),
                price=wire.decimal(_preferred(data, "price_str", "price")),
                amount=wire.decimal(_preferred(data, "amount_str", "amount")),
                timestamp=_event_time(data),
                event_id=wire.optional_identifier(obj.get("event_id")),
                order_source=wire.optional_text(obj.get("order_source")),
                trade_account_id=wire.optional_identifier(account),
                amount_traded=wire.optional_decimal(get("amount_traded")),
                amount_at_create=wire.optional_decimal(get("amount_at_create")),
                client_order_id=wire.optional_identifier(get("client_order_id")),
                order_subtype=None if subtype is None else str(subtype),
                stop_price=wire.optional_decimal(get("stop_price")),
                is_liquidation=_optional_bool(get("is_liquidation")),
                raw=wire.frozen_raw(obj),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)
