"""Orders: place (limit, market, instant), replace, cancel, look up. Exactly once.

**Exactly-once placement.** Every order carries a ``client_order_id`` (one is generated
when the caller gives none) and every result exposes it. When the outcome of a placement is
unknown (a timeout, a reset, a 5xx, a lost answer), the client does not guess: it looks the
order up by that ``client_order_id`` (``order_status``), polling until ``order_settle_seconds``
have passed since the send (the exchange caches ``open_orders`` for 10 s, and a request
delayed on the way may still arrive), and sends again, with the same ``client_order_id``,
only when the exchange has no such order. Bitstamp no longer refuses a repeated
``client_order_id``, so this lookup is the only guard; it is never skipped.

**Cancels** are repeated after an ambiguous failure until the exchange confirms the order
cancelled or gone; a "not found" on a repeat is checked against ``order_status``, so the
call that cancelled an order never reports it as unknown.
"""

from __future__ import annotations

import asyncio
import enum
import time as _time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from .. import _params as params
from .._exceptions import (
    BitstampError,
    InvalidParameterError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
)
from .._models import (
    CancelAllResult,
    CanceledOrder,
    Market,
    OpenOrder,
    OrderPlaced,
    OrderState,
    OrderStatus,
    Rows,
    Side,
)
from .._models.orders import CancelOutcome, ReplacedOrder
from .._params import Amount
from .._random_ids import random_hex
from .._retry import is_ambiguous
from ._base import ApiBase, rows

__all__ = ["OrderOptions", "OrdersAPI", "TimeInForce"]

_parse_open_orders = rows(OpenOrder)


class TimeInForce(enum.Enum):
    """How long a limit order may rest. Bitstamp allows at most one of these per order."""

    GOOD_TILL_CANCELLED = ""
    IMMEDIATE_OR_CANCEL = "ioc_order"
    FILL_OR_KILL = "fok_order"
    POST_ONLY = "moc_order"  # Bitstamp's "maker or cancel"
    DAILY = "daily_order"  # cancelled at 00:00 UTC
    GOOD_TILL_DATE = "gtd_order"  # with expire_time; also ends at 00:00 UTC


@dataclass(frozen=True, slots=True)
class OrderOptions:
    """The options of a limit order, checked together, in one value.

    >>> OrderOptions.post_only()                          # doctest: +SKIP
    >>> OrderOptions.good_till(datetime(2026, 12, 1, tzinfo=timezone.utc))  # doctest: +SKIP
    >>> OrderOptions(limit_price=Decimal("31000"))        # sell again at 31000 once filled

    ``limit_price`` combines with no time-in-force other than good-till-cancelled
    (Bitstamp's 400.025); ``expire_time`` goes with ``GOOD_TILL_DATE`` and nothing else.
    """

    time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCELLED
    expire_time: datetime | int | None = None
    limit_price: Amount | None = None

    def __post_init__(self) -> None:
        if type(self.time_in_force) is not TimeInForce:
            raise InvalidParameterError(
                f"time_in_force must be a TimeInForce, got {self.time_in_force!r}"
            )
        dated = self.time_in_force is TimeInForce.GOOD_TILL_DATE
        if dated != (self.expire_time is not None):
            raise InvalidParameterError(
                "expire_time goes with TimeInForce.GOOD_TILL_DATE, and that needs one"
            )
        if self.limit_price is not None and self.time_in_force is not (
            TimeInForce.GOOD_TILL_CANCELLED
        ):
            raise InvalidParameterError(
                f"limit_price cannot be combined with {self.time_in_force.name}"
            )

    @classmethod
    def post_only(cls) -> OrderOptions:
        """Rest on the book or be cancelled: never take liquidity."""
        return cls(TimeInForce.POST_ONLY)

    @classmethod
    def immediate_or_cancel(cls) -> OrderOptions:
        return cls(TimeInForce.IMMEDIATE_OR_CANCEL)

    @classmethod
    def fill_or_kill(cls) -> OrderOptions:
        return cls(TimeInForce.FILL_OR_KILL)

    @classmethod
    def daily(cls) -> OrderOptions:
        return cls(TimeInForce.DAILY)

    @classmethod
    def good_till(cls, when: datetime | int) -> OrderOptions:
        """Expire at ``when`` (an aware datetime or unix seconds) or at 00:00 UTC."""
        return cls(TimeInForce.GOOD_TILL_DATE, expire_time=when)

    def form(self, price_decimals: int | None, side: Side, price: Decimal) -> dict[str, str]:
        """The wire fields of these options, checked against the market and the order."""
        fields: dict[str, str] = {}
        # _value_, not .value (a descriptor call) nor a dict keyed by the member (Enum's
        # __hash__ is Python): this is on every order's way.
        flag: str = self.time_in_force._value_
        if flag:
            fields[flag] = "True"
        if self.expire_time is not None:
            expires = params.future_time("expire_time", self.expire_time, now=_time.time())
            fields["expire_time"] = str(expires * 1000)  # Bitstamp wants milliseconds
        if self.limit_price is not None:
            again = params.decimal_value("limit_price", self.limit_price, decimals=price_decimals)
            # Bitstamp's 400.027/028: the follow-up must be on the profitable side.
            if side is Side.BUY and not again > price:
                raise InvalidParameterError("limit_price of a buy must be above its price")
            if side is Side.SELL and not again < price:
                raise InvalidParameterError("limit_price of a sell must be below its price")
            fields["limit_price"] = params.decimal_param(
                "limit_price", again, decimals=price_decimals
            )
        return fields


_NO_OPTIONS = OrderOptions()

T = TypeVar("T")


def new_client_order_id() -> str:
    """A fresh id for an order the caller did not name: 32 hex characters, 128 random
    bits (uuid4().hex holds 122 of them and costs several times as much)."""
    return random_hex()


class OrdersAPI(ApiBase):
    """Placing, replacing, cancelling and looking up orders."""

    _order_settle_seconds: float

    # -- placing -----------------------------------------------------------------------

    async def buy_limit(
        self,
        pair: str,
        amount: Amount,
        price: Amount,
        options: OrderOptions | None = None,
        *,
        client_order_id: str | None = None,
    ) -> OrderPlaced:
        """Buy ``amount`` (base currency) at ``price`` or better.

        >>> order = await client.buy_limit("btcusd", "0.01", "30000", OrderOptions.post_only())
        ... # doctest: +SKIP
        >>> order.id, order.client_order_id  # doctest: +SKIP
        """
        return await self._limit_order(
            "buy_limit", Side.BUY, pair, amount, price, options, client_order_id
        )

    async def sell_limit(
        self,
        pair: str,
        amount: Amount,
        price: Amount,
        options: OrderOptions | None = None,
        *,
        client_order_id: str | None = None,
    ) -> OrderPlaced:
        """Sell ``amount`` (base currency) at ``price`` or better. See ``buy_limit``."""
        return await self._limit_order(
            "sell_limit", Side.SELL, pair, amount, price, options, client_order_id
        )

    async def buy_market(
        self, pair: str, amount: Amount, *, client_order_id: str | None = None
    ) -> OrderPlaced:
        """Buy ``amount`` (base currency) at the best prices on the book now."""
        return await self._market_order(Side.BUY, pair, amount, client_order_id)

    async def sell_market(
        self, pair: str, amount: Amount, *, client_order_id: str | None = None
    ) -> OrderPlaced:
        """Sell ``amount`` (base currency) at the best prices on the book now."""
        return await self._market_order(Side.SELL, pair, amount, client_order_id)

    async def buy_instant(
        self, pair: str, amount: Amount, *, client_order_id: str | None = None
    ) -> OrderPlaced:
        """Spend ``amount`` of the counter currency (e.g. USD) on the base currency now."""
        symbol, market = await self._tradable(pair, instant=True)
        decimals = market.instant_order_counter_decimals if market else None
        form = {"amount": params.decimal_param("amount", amount, decimals=decimals)}
        return await self._place("buy_instant", symbol, form, client_order_id, Side.BUY)

    async def sell_instant(
        self,
        pair: str,
        amount: Amount,
        *,
        amount_in_counter: bool = False,
        client_order_id: str | None = None,
    ) -> OrderPlaced:
        """Sell now: ``amount`` of the base currency, or with ``amount_in_counter`` the
        amount of counter currency to receive."""
        symbol, market = await self._tradable(pair, instant=True)
        in_counter = params.boolean("amount_in_counter", amount_in_counter)
        if market is None:
            decimals = None
        elif in_counter:
            decimals = market.instant_order_counter_decimals
        else:
            decimals = market.base_decimals
        form = {"amount": params.decimal_param("amount", amount, decimals=decimals)}
        if in_counter:
            form["amount_in_counter"] = "True"
        return await self._place("sell_instant", symbol, form, client_order_id, Side.SELL)

    async def replace_order(
        self,
        order_id: str | int | None = None,
        *,
        orig_client_order_id: str | None = None,
        pair: str,
        amount: Amount,
        price: Amount,
        client_order_id: str | None = None,
    ) -> ReplacedOrder:
        """Replace an open order with a new amount and price in one step.

        The new order gets ``client_order_id`` (generated when not given). ``pair`` is
        needed to check the new amount and price against the market's decimals.
        """
        _, market = await self._tradable(pair)
        if (order_id is None) == (orig_client_order_id is None):
            raise InvalidParameterError("give exactly one of order_id and orig_client_order_id")
        form: dict[str, str] = {}
        if order_id is not None:
            form["id"] = params.order_id(order_id)
        else:
            form["orig_client_order_id"] = params.client_order_id(orig_client_order_id)
        form["amount"] = params.decimal_param(
            "amount", amount, decimals=market.base_decimals if market else None
        )
        form["price"] = params.decimal_param(
            "price", price, decimals=market.counter_decimals if market else None
        )
        new_id = (
            params.client_order_id(client_order_id)
            if client_order_id is not None
            else new_client_order_id()
        )
        form["client_order_id"] = new_id
        return await self._exactly_once(
            "replace_order",
            new_id,
            form,
            parse=ReplacedOrder.from_wire,
            found=lambda status: ReplacedOrder.from_status(status, form),
        )

    async def _limit_order(
        self,
        route_name: str,
        side: Side,
        pair: str,
        amount: Amount,
        price: Amount,
        options: OrderOptions | None,
        client_order_id: str | None,
    ) -> OrderPlaced:
        """Check a limit order and place it exactly once.

        The checks are written out here, not spread over the helpers the other order kinds
        use: this is a market maker's most frequent call, and each function on its way
        costs several times its own instructions when the network wait has left the
        caches cold (``python -m benchmarks cpu``).
        """
        markets = self._catalogue.loaded
        market = markets.get(pair) if markets is not None and pair.__class__ is str else None
        if market is not None and market.trading_enabled:
            symbol = market.market_symbol  # listed as given (every order but the first)
        else:
            symbol, market = await self._tradable(pair)
        chosen = _NO_OPTIONS if options is None else options
        if type(chosen) is not OrderOptions:
            raise InvalidParameterError(f"options must be an OrderOptions, got {options!r}")
        price_decimals = market.counter_decimals if market else None
        # The checked text is the wire form; its Decimal is the same number.
        amount_text = params.decimal_param(
            "amount", amount, decimals=market.base_decimals if market else None
        )
        price_text = params.decimal_param("price", price, decimals=price_decimals)
        if market is not None:
            # Far above the minimum by float (the usual order), or checked exactly.
            minimum = market.minimum_order_value
            if float(amount_text) * float(price_text) <= _float_floor(minimum):
                value = Decimal(amount_text) * Decimal(price_text)
                if value < minimum:
                    raise _below_minimum(market, value)
        form = {"amount": amount_text, "price": price_text}
        if chosen is not _NO_OPTIONS:
            if chosen.expire_time is None and chosen.limit_price is None:
                flag = chosen.time_in_force._value_  # form() for a bare time in force
                if flag:
                    form[flag] = "True"
            else:
                form.update(chosen.form(price_decimals, side, Decimal(price_text)))
        order_ref = (
            params.client_order_id(client_order_id)
            if client_order_id is not None
            else new_client_order_id()
        )
        form["client_order_id"] = order_ref
        return await self._exactly_once(
            route_name,
            order_ref,
            form,
            path={"market_symbol": symbol},
            parse=OrderPlaced.from_wire,
            found=lambda status: OrderPlaced.from_status(
                status, side=side, amount=Decimal(amount_text), price=Decimal(price_text)
            ),
        )

    async def _market_order(
        self, side: Side, pair: str, amount: Amount, client_order_id: str | None
    ) -> OrderPlaced:
        symbol, market = await self._tradable(pair, instant=True)
        decimals = market.base_decimals if market else None
        amount_value = params.decimal_value("amount", amount, decimals=decimals)
        form = {"amount": format(amount_value, "f")}
        return await self._place(
            f"{side.value}_market", symbol, form, client_order_id, side, amount_value
        )

    async def _tradable(self, pair: object, *, instant: bool = False) -> tuple[str, Market | None]:
        symbol, market = await self._market(pair)
        if market is not None:
            if not market.trading_enabled:
                raise InvalidParameterError(f"trading is disabled on {symbol}")
            if instant and not market.instant_and_market_orders_enabled:
                raise InvalidParameterError(f"market and instant orders are disabled on {symbol}")
        return symbol, market

    def _place(
        self,
        route_name: str,
        symbol: str,
        form: dict[str, str],
        client_order_id: str | None,
        side: Side,
        amount: Decimal | None = None,
        price: Decimal | None = None,
    ) -> Coroutine[Any, Any, OrderPlaced]:
        """Send an order exactly once (see the module docstring): returns the placement
        to await."""
        order_ref = (
            params.client_order_id(client_order_id)
            if client_order_id is not None
            else new_client_order_id()
        )
        form["client_order_id"] = order_ref
        return self._exactly_once(
            route_name,
            order_ref,
            form,
            path={"market_symbol": symbol},
            parse=OrderPlaced.from_wire,
            found=lambda status: OrderPlaced.from_status(
                status, side=side, amount=amount, price=price
            ),
        )

    async def _exactly_once(
        self,
        route_name: str,
        client_order_id: str,
        form: Mapping[str, str],
        *,
        path: Mapping[str, str] | None = None,
        parse: Callable[[Any], T],
        found: Callable[[OrderStatus], T],
    ) -> T:
        """Send a placement; after an ambiguous failure, find it by ``client_order_id``
        and send again only once its absence is sure. The exchange's answer is read with
        ``parse``; an order found by lookup is described by ``found``."""
        sent_at = _time.monotonic()
        try:
            # The first send, as any other call (the pipeline ends it on close).
            return await self._call(route_name, parse, path=path, form=form)
        except BitstampError as error:
            if not is_ambiguous(error):
                raise
            cause = error
        # Outcome unknown: from here it is one operation of several calls and pauses,
        # which close() must end too. The first send stays outside, so an order that
        # succeeds (nearly all) pays for no guard.
        async with self._pipeline.guard():
            attempts = 1
            while True:
                status = await self._look_up(client_order_id, sent_at, cause)
                if status is not None:
                    return found(status)
                if attempts == self._pipeline.max_attempts:
                    raise _confirmed_absent(cause, client_order_id)
                # Confirmed absent after the settle time: sending again cannot duplicate.
                attempts += 1
                sent_at = _time.monotonic()
                try:
                    return await self._call(route_name, parse, path=path, form=form)
                except BitstampError as error:
                    if not is_ambiguous(error):
                        raise
                    cause = error

    async def _look_up(
        self, client_order_id: str, sent_at: float, cause: BitstampError
    ) -> OrderStatus | None:
        """The order placed under ``client_order_id``, or None once its absence is sure."""
        settle_until = sent_at + self._order_settle_seconds
        while True:
            try:
                return await self.order_status(client_order_id=client_order_id)
            except OrderNotFoundError:
                remaining = settle_until - _time.monotonic()
                if remaining <= 0:
                    return None
                await asyncio.sleep(min(remaining, 1.0))
            except BitstampError as error:
                if is_ambiguous(error):
                    raise OrderOutcomeUnknownError(
                        f"the order {client_order_id!r} may or may not have been placed "
                        f"({cause}), and looking it up failed too ({error}); look it up "
                        "by client_order_id before placing it again",
                        client_order_id=client_order_id,
                        method=cause.method,
                        path=cause.path,
                    ) from error
                raise

    # -- cancelling --------------------------------------------------------------------

    async def cancel_order(
        self, order_id: str | int | None = None, *, client_order_id: str | None = None
    ) -> CanceledOrder:
        """Cancel one order by its id or by your ``client_order_id``.

        Cancels jump the rate-limit queue. After an ambiguous failure the cancel is sent
        again; ``outcome`` says whether this call cancelled the order or found it already
        cancelled by an earlier attempt of this call. An order the exchange does not know,
        or that already finished, raises ``OrderNotFoundError``.
        """
        form = _order_ref(order_id, client_order_id)
        # Two calls at most, with no pause between them, each ended by close() on its
        # own: no guard (and its cost) on a market maker's most frequent call.
        try:
            return await self._call("cancel_order", CanceledOrder.from_wire, form=form)
        except OrderNotFoundError as error:
            if (error.attempts or 1) <= 1:
                raise
            # An earlier attempt of this call may have cancelled it; ask.
            if "id" in form:
                status = await self.order_status(form["id"])
            else:
                status = await self.order_status(client_order_id=form["client_order_id"])
            if status.status is not OrderState.CANCELED:
                raise
            return CanceledOrder.from_status(status, outcome=CancelOutcome.CANCELED_BY_RETRY)

    async def cancel_all_orders(self, pair: str | None = None) -> CancelAllResult:
        """Cancel every open order, or every open order of one market."""
        if pair is None:
            return await self._call("cancel_all_orders", CancelAllResult.from_wire)
        symbol, _ = await self._market(pair)
        return await self._call(
            "cancel_all_orders_for_market",
            CancelAllResult.from_wire,
            path={"market_symbol": symbol},
        )

    # -- looking up ----------------------------------------------------------------------

    async def open_orders(self, pair: str | None = None) -> Rows[OpenOrder]:
        """Open orders of every market, or of one. (The exchange caches this for 10 s.)"""
        if pair is None:
            return await self._call("open_orders", _parse_open_orders)
        symbol, _ = await self._market(pair)
        return await self._call(
            "open_orders_for_market", _parse_open_orders, path={"market_symbol": symbol}
        )

    async def order_status(
        self,
        order_id: str | int | None = None,
        *,
        client_order_id: str | None = None,
        omit_transactions: bool = False,
    ) -> OrderStatus:
        """The state of one order and its fills, by id or ``client_order_id``."""
        form = _order_ref(order_id, client_order_id)
        if params.boolean("omit_transactions", omit_transactions):
            form["omit_transactions"] = "True"
        return await self._call("order_status", OrderStatus.from_wire, form=form)


def _confirmed_absent(error: BitstampError, client_order_id: str) -> BitstampError:
    """The last ambiguous error, now known to have placed nothing."""
    error.retry_safe = True
    error.message += (
        f"; the exchange has no order {client_order_id!r} (checked after each attempt), "
        "so nothing was placed"
    )
    return error


# minimum order value -> a float no greater than it by more than float rounding can
# explain, by the Decimal's identity (a reloaded catalogue brings new ones).
_FLOAT_FLOORS: dict[int, tuple[Decimal, float]] = {}


def _float_floor(minimum: Decimal) -> float:
    """A float that a float product of an order's amount and price exceeds only when the
    exact product is not below ``minimum``.

    Each float conversion is within half a unit in the last place (2**-53 relative), so
    the float product is within 3 * 2**-53 of the exact one: a margin of 1e-9 is ample.
    Decimal arithmetic on every order costs microseconds, the decimal module's code being
    cold after the network wait; this costs a dict lookup.
    """
    entry = _FLOAT_FLOORS.get(id(minimum))
    if entry is not None and entry[0] is minimum:
        return entry[1]
    if len(_FLOAT_FLOORS) >= 4096:  # catalogues reloaded for days: start afresh
        _FLOAT_FLOORS.clear()
    floor = float(minimum) * (1 + 1e-9) + 1e-300
    _FLOAT_FLOORS[id(minimum)] = (minimum, floor)  # keeps it alive: its id stays its own
    return floor


def _below_minimum(market: Market, value: Decimal) -> InvalidParameterError:
    return InvalidParameterError(
        f"order value {value} is below {market.market_symbol}'s minimum of "
        f"{market.minimum_order_value} {market.counter_currency}"
    )


def _order_ref(order_id: str | int | None, client_order_id: str | None) -> dict[str, str]:
    if (order_id is None) == (client_order_id is None):
        raise InvalidParameterError("give exactly one of order_id and client_order_id")
    if order_id is not None:
        return {"id": params.order_id(order_id)}
    return {"client_order_id": params.client_order_id(client_order_id)}
