"""Orders: placing, listing, inspecting and canceling them, and the ``Side`` of a trade."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from . import _wire as wire

__all__ = [
    "CancelAllResult",
    "CancelOutcome",
    "CanceledOrder",
    "OpenOrder",
    "OrderFill",
    "OrderPlaced",
    "OrderState",
    "OrderStatus",
    "ReplacedOrder",
    "Side",
]


class CancelOutcome(enum.Enum):
    """How a cancel ended."""

    CANCELED = "canceled"  # the exchange answered that it cancelled the order
    # An earlier attempt of the same call cancelled it; its answer was lost, and
    # order_status confirmed the order cancelled.
    CANCELED_BY_RETRY = "canceled_by_retry"


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
        """Parse ``0``/``1`` (int or string); ``"buy"``/``"sell"`` are accepted too.

        Anything else (``2``, ``True``, ``1.0``, ``"BUY"``) raises
        :class:`~aiobitstamp.MalformedFieldError`.
        """
        # The class test comes first: True == 1 and 1.0 == 1 would find SELL in the table,
        # and a list cannot be looked up at all.
        cls_ = value.__class__
        side = _SIDE_BY_WIRE.get(value) if cls_ is int or cls_ is str else None
        if side is None:
            raise wire.MalformedFieldError(
                f"unknown side: expected 0 (buy) or 1 (sell), got {wire.describe(value)}",
                model="Side",
            )
        return side


_SIDE_BY_WIRE: dict[Any, Side] = {
    0: Side.BUY,
    "0": Side.BUY,
    "buy": Side.BUY,
    1: Side.SELL,
    "1": Side.SELL,
    "sell": Side.SELL,
}


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

    @classmethod
    def from_wire(cls, value: Any) -> OrderState:
        """Parse the exact wire string (``"Open"``, ``"Cancel pending"``, ...)."""
        state = _STATE_BY_WIRE.get(value) if value.__class__ is str else None
        if state is None:
            raise wire.MalformedFieldError(
                f"unknown order status: got {wire.describe(value)}", model="OrderState"
            )
        return state


_STATE_BY_WIRE = {state.value: state for state in OrderState}


def _optional_text(value: Any) -> str | None:
    """``Fields.optional(name, wire.text)`` of a value already taken from the object."""
    return None if value is None or value == "" else wire.text(value)


def _market_of(fields: wire.Fields) -> str | None:
    # "market" is the current name; "currency_pair" the deprecated one still sent alongside.
    return fields.optional("market", wire.text) or fields.optional("currency_pair", wire.text)


@wire.defer(price=Decimal, amount=Decimal, created_at=wire.bitstamp_datetime)
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced:
    """The answer to a limit, market or instant buy/sell.

    ``created_at`` is the wire's ``datetime``; ``market`` (``"BTC/USD"``) comes from
    ``market`` or, in older answers, ``currency_pair``; ``client_order_id`` is ``None``
    unless one was sent. ``price``, ``amount`` and ``created_at`` are checked with the
    answer and converted when first read (a placement is usually read for its ids alone).
    """

    id: str
    created_at: datetime
    side: Side
    price: Decimal
    amount: Decimal
    client_order_id: str | None = None
    market: str | None = None
    # True when the answer was lost and the order was found by its client_order_id; then
    # price and amount are the ones sent (a market order's price is its fills' average).
    reconciled: bool = False

    @classmethod
    def from_status(
        cls,
        status: OrderStatus,
        *,
        side: Side,
        amount: Decimal | None,
        price: Decimal | None,
    ) -> OrderPlaced:
        """The placement an ``order_status`` lookup found after an ambiguous failure."""
        fills = status.transactions
        if price is None:
            traded = sum((f.base_amount for f in fills if f.base_amount is not None), Decimal(0))
            value = sum(
                (f.price * f.base_amount for f in fills if f.base_amount is not None),
                Decimal(0),
            )
            price = value / traded if traded else Decimal(0)
        if amount is None:
            traded = sum((f.base_amount for f in fills if f.base_amount is not None), Decimal(0))
            amount = traded + (status.amount_remaining or Decimal(0))
        return cls(
            id=status.id,
            created_at=status.created_at or datetime.now(wire.UTC),
            side=status.side or side,
            price=price,
            amount=amount,
            client_order_id=status.client_order_id,
            market=status.market,
            reconciled=True,
        )

    @classmethod
    def from_wire(cls, obj: Any) -> OrderPlaced:
        """Parse ``{id, datetime, type, price, amount, client_order_id?, market?}``."""
        if obj.__class__ is dict and cls is OrderPlaced:
            # The usual answer, read with the same primitives but without the per-field
            # bookkeeping (this is on every order's path); anything amiss is read again
            # below, which names the field at fault.
            try:
                return _build_order_placed(
                    wire.identifier(obj["id"]),
                    wire.utc_datetime_later(obj["datetime"]),
                    Side.from_wire(obj["type"]),
                    wire.decimal_later(obj["price"]),
                    wire.decimal_later(obj["amount"]),
                    _optional_text(obj.get("client_order_id")),
                    _optional_text(obj.get("market")) or _optional_text(obj.get("currency_pair")),
                    False,
                )
            except (KeyError, wire.MalformedFieldError):
                pass
        fields = wire.Fields(cls, obj)
        return cls(
            id=fields.required("id", wire.identifier),
            created_at=fields.required("datetime", wire.utc_datetime),
            side=fields.required("type", Side.from_wire),
            price=fields.required("price", wire.decimal),
            amount=fields.required("amount", wire.decimal),
            client_order_id=fields.optional("client_order_id", wire.text),
            market=_market_of(fields),
        )


_build_order_placed = wire.positional_constructor(OrderPlaced)


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
        fields = wire.Fields(cls, obj)
        return cls(
            id=fields.required("id", wire.identifier),
            created_at=fields.required("datetime", wire.utc_datetime),
            side=fields.required("type", Side.from_wire),
            price=fields.required("price", wire.decimal),
            amount=fields.required("amount", wire.decimal),
            amount_at_create=fields.optional("amount_at_create", wire.decimal),
            limit_price=fields.optional("limit_price", wire.decimal),
            market=_market_of(fields),
            client_order_id=fields.optional("client_order_id", wire.text),
        )


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
    amounts: Mapping[str, Decimal] = field(default_factory=wire.empty_mapping, hash=False)

    @classmethod
    def from_wire(cls, obj: Any, market: str | None = None) -> OrderFill:
        """Parse one fill; ``market`` (``"BTC/USD"``) names the base and counter keys."""
        fields = wire.Fields(cls, obj)
        amounts: dict[str, Decimal] = {}
        for key in obj:
            # Currency columns are the keys made of letters only ("btc", "usd"); the rate
            # column ("btc_usd") and the named fields are not amounts.
            if key not in _FILL_FIELDS and key.isascii() and key.isalpha():
                amount = fields.optional(key, wire.decimal)
                if amount is not None:
                    amounts[key.lower()] = amount
        base, counter = _market_currencies(market)
        return cls(
            id=fields.required("tid", wire.identifier),
            timestamp=fields.required("datetime", wire.utc_datetime),
            price=fields.required("price", wire.decimal),
            fee=fields.required("fee", wire.decimal),
            base_amount=amounts.get(base) if base else None,
            counter_amount=amounts.get(counter) if counter else None,
            transaction_type=fields.optional("type", wire.integer),
            amounts=MappingProxyType(amounts),
        )


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
        fields = wire.Fields(cls, obj)
        market = _market_of(fields)

        def fill(row: Any) -> OrderFill:
            return OrderFill.from_wire(row, market)

        return cls(
            id=fields.required("id", wire.identifier),
            status=fields.required("status", OrderState.from_wire),
            created_at=fields.optional("datetime", wire.utc_datetime),
            side=fields.optional("type", Side.from_wire),
            market=market,
            amount_remaining=fields.optional("amount_remaining", wire.decimal),
            client_order_id=fields.optional("client_order_id", wire.text),
            transactions=fields.optional("transactions", wire.tuple_of(fill)) or (),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CanceledOrder:
    """The ``cancel_order/`` answer, and each entry of ``cancel_all_orders/``.

    These answers carry JSON numbers, not strings: decode them with
    :func:`~aiobitstamp._json.loads_exact` and they are kept exactly (a ``float`` is refused).
    """

    id: str
    # None only when the answer was lost and the cancel was confirmed by order_status.
    price: Decimal | None
    amount: Decimal
    side: Side | None
    market: str | None = None
    outcome: CancelOutcome = field(default_factory=lambda: CancelOutcome.CANCELED)

    @classmethod
    def from_status(cls, status: OrderStatus, *, outcome: CancelOutcome) -> CanceledOrder:
        """A cancel confirmed by ``order_status`` after its own answer was lost."""
        return cls(
            id=status.id,
            price=None,
            amount=status.amount_remaining if status.amount_remaining is not None else Decimal(0),
            side=status.side,
            market=status.market,
            outcome=outcome,
        )

    @classmethod
    def from_wire(cls, obj: Any) -> CanceledOrder:
        """Parse ``{id, amount, price, type, market?/currency_pair?}``."""
        fields = wire.Fields(cls, obj)
        return cls(
            id=fields.required("id", wire.identifier),
            price=fields.required("price", wire.decimal),
            amount=fields.required("amount", wire.decimal),
            side=fields.required("type", Side.from_wire),
            market=_market_of(fields),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelAllResult:
    """The ``cancel_all_orders/`` answer. ``success`` is false when some order could not be
    canceled; ``canceled`` lists those that were."""

    canceled: tuple[CanceledOrder, ...]
    success: bool

    @classmethod
    def from_wire(cls, obj: Any) -> CancelAllResult:
        """Parse ``{canceled: [...], success: true}``."""
        fields = wire.Fields(cls, obj)
        return cls(
            canceled=fields.required("canceled", wire.tuple_of(CanceledOrder.from_wire)),
            success=fields.required("success", wire.boolean),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplacedOrder:
    """The ``replace_order/`` answer: the new order that took the old one's place."""

    id: str
    side: Side | None
    market: str | None
    amount: Decimal
    price: Decimal
    created_at: datetime | None
    orig_order_id: str | None
    orig_client_order_id: str | None
    client_order_id: str | None
    status: OrderState | None
    reconciled: bool = False

    @classmethod
    def from_wire(cls, obj: Any) -> ReplacedOrder:
        """Parse ``{order_id, order_type, market, amount, price, datetime, orig_order_id,
        orig_client_order_id, status}`` (the fact sheet, section c)."""
        fields = wire.Fields(cls, obj)
        return cls(
            id=fields.required("order_id", wire.identifier),
            side=fields.optional("order_type", Side.from_wire),
            market=_market_of(fields),
            amount=fields.required("amount", wire.decimal),
            price=fields.required("price", wire.decimal),
            created_at=fields.optional("datetime", wire.utc_datetime),
            orig_order_id=fields.optional("orig_order_id", wire.identifier),
            orig_client_order_id=fields.optional("orig_client_order_id", wire.text),
            client_order_id=fields.optional("client_order_id", wire.text),
            status=fields.optional("status", OrderState.from_wire),
        )

    @classmethod
    def from_status(cls, status: OrderStatus, form: Mapping[str, str]) -> ReplacedOrder:
        """The replacement an ``order_status`` lookup found after an ambiguous failure."""
        return cls(
            id=status.id,
            side=status.side,
            market=status.market,
            amount=Decimal(form["amount"]),
            price=Decimal(form["price"]),
            created_at=status.created_at,
            orig_order_id=form.get("id"),
            orig_client_order_id=form.get("orig_client_order_id"),
            client_order_id=status.client_order_id,
            status=status.status,
            reconciled=True,
        )
