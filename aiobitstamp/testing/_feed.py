"""What the emulated market tells its listeners, in the order it happens.

The matching engine publishes one event per change, synchronously, inside the action that
caused it; REST answers and WebSocket channels are both views of these events, so a trade on
the stream is the same trade (same id, price, amount, time) that ``transactions/`` lists,
and the diff feed replays exactly onto the REST snapshot taken at the same microtimestamp.

Ordering guarantees (per market):

* ``microtimestamp`` never decreases, and every ``BookChanged`` has a strictly larger one
  than the previous ``BookChanged``; a REST order-book snapshot carries the microtimestamp
  of the last ``BookChanged`` already applied to it.
* For one engine action (an order arriving, a cancel, an expiry), listeners see the
  ``OrderEvent``s and ``TradePrinted``s of its matches, then one ``BookChanged`` with the
  net change of every touched price level.

Amounts and prices are exact ``Decimal``s at the market's precision. Ids are ints and may
exceed 2**53.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "BookChanged",
    "FeedEvent",
    "Listener",
    "MarketFeed",
    "OrderEvent",
    "OrderEventKind",
    "TradePrinted",
]


class OrderEventKind(enum.Enum):
    """The three events of Bitstamp's ``live_orders_`` and ``private-my_orders_`` channels."""

    CREATED = "order_created"
    CHANGED = "order_changed"
    DELETED = "order_deleted"


@dataclass(frozen=True, slots=True)
class TradePrinted:
    """One match: a taker order against one resting order."""

    market: str  # market symbol, e.g. "btcusd"
    trade_id: int
    price: Decimal
    amount: Decimal
    taker_side: int  # 0 buy, 1 sell (Bitstamp's `type` on public trades)
    microtimestamp: int
    buy_order_id: int
    sell_order_id: int
    # Owners, for the private channels; None for the synthetic participants.
    buy_user_id: int | None
    sell_user_id: int | None
    buy_client_order_id: str | None
    sell_client_order_id: str | None
    buy_fee: Decimal  # fee charged to the buyer's account, counter currency
    sell_fee: Decimal


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A resting order appeared, was partly filled (or replaced), or left the book."""

    kind: OrderEventKind
    market: str
    order_id: int
    side: int  # 0 buy, 1 sell
    price: Decimal
    amount: Decimal  # what remains on the book (0 once deleted after a full fill)
    amount_traded: Decimal  # the size of the fill that caused a change, else 0
    amount_at_create: Decimal
    microtimestamp: int
    user_id: int | None  # None for synthetic participants
    client_order_id: str | None


@dataclass(frozen=True, slots=True)
class BookChanged:
    """The new aggregate amount at every price level an action touched (0 = level gone)."""

    market: str
    microtimestamp: int
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


FeedEvent = TradePrinted | OrderEvent | BookChanged
Listener = Callable[[FeedEvent], None]


class MarketFeed:
    """Fan-out of market events to listeners (the WebSocket server, recorders, tests).

    Listeners are called synchronously and must not raise or block: a WebSocket listener
    puts the event on its own bounded queue.
    """

    __slots__ = ("_listeners",)

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every later event; returns the function that stops it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    @property
    def has_listeners(self) -> bool:
        """Whether anyone listens: the engine builds no event objects for nobody."""
        return bool(self._listeners)

    def publish(self, event: FeedEvent) -> None:
        for listener in tuple(self._listeners):
            listener(event)
