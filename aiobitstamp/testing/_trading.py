"""The private trading endpoints: read a form, check it, act through the engine, answer.

Validation follows the order Bitstamp's forms report problems in: missing fields, number
format and decimals, the optional flags, the 20% price band, the minimum order value, and
last the balance. An accepted order reserves its funds, takes liquidity from the book at
each level's price (taker fee), and rests with what is left unless it is IOC/FOK or
maker-or-cancel. A resting order is filled by later orders, users' or synthetic, and then
pays the maker fee (``_engine``).

Each public method returns the JSON-ready answer or raises ``ApiError``. Where Bitstamp
sends JSON numbers (cancel answers, order ids in status and transactions, the rate column
of user transactions) they are written digit for digit (``_numbers.json_number``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

from ._accounts import AccountOrderEvent, FakeAccount, LedgerRow, Order
from ._engine import LiveMarket, MatchingEngine, buy_reserve, scale, with_taker_fee
from ._errors import ApiError
from ._market_data import MarketData, MarketSpec
from ._numbers import (
    float_like,
    format_datetime,
    format_decimal,
    format_iso,
    format_units,
    json_number,
    quantize,
    quantize_down,
    units_to_decimal,
)
from ._order_book import BUY, SELL, OrderBook
from ._switches import Switches

__all__ = ["OrderDesk"]

_MAX_CLIENT_ORDER_ID: Final = 180
_FLAGS: Final = ("daily_order", "ioc_order", "fok_order", "moc_order", "gtd_order")
_MISSING_AMOUNT_OR_PRICE: Final = "Missing amount and/or price POST parameters"
_NOT_A_NUMBER: Final = 'Enter a number. Use "." as a decimal point.'
_ORDER_NOT_FOUND: Final = "Order not found."
_US_PER_DAY: Final = 86_400_000_000
# Closed orders are visible to order_status/ for 30 days, then "Order not found".
_VISIBLE_US: Final = 30 * _US_PER_DAY
_FOREVER: Final = 2**62
# Bitstamp's largest documented amount is 92233720368: eleven whole digits.
_MAX_WHOLE_DIGITS: Final = 11
_KIND_NAMES: Final = {"limit": "LIMIT", "market": "MARKET", "instant": "INSTANT"}


def _parse_units(text: str, name: str, decimals: int, code: str) -> int:
    """A positive decimal with at most ``decimals`` places, as integer units.

    Decimal places are counted as written ("59000.00" has two), the way Django's decimal
    validator counts them, so the emulator is at least as strict as the exchange.
    """
    text = text.strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ApiError.field(code, name, _NOT_A_NUMBER) from None
    if "_" in text or not value.is_finite():
        raise ApiError.field(code, name, _NOT_A_NUMBER)
    if value.adjusted() >= _MAX_WHOLE_DIGITS:
        raise ApiError.field(
            code,
            name,
            f"Ensure that there are no more than {_MAX_WHOLE_DIGITS} digits before the decimal"
            " point.",
        )
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > decimals:
        raise ApiError.field(
            code, name, f"Ensure that there are no more than {decimals} decimal places."
        )
    units = int(value.scaleb(decimals))
    if units < 1:
        minimum = format_units(1, decimals)
        raise ApiError.field(
            code, name, f"Ensure this value is greater than or equal to {minimum}."
        )
    return units


def _form_int(
    form: Mapping[str, str],
    name: str,
    default: int,
    code: str,
    message: str,
    *,
    low: int = 0,
    high: int = 2**62,
    empty_allowed: bool = True,
) -> int:
    """An optional non-negative integer field within ``[low, high]``.

    A field sent empty (``offset=``) is refused where Bitstamp refuses it.
    """
    if name not in form:
        return default
    text = form[name].strip()
    if not text:
        if empty_allowed:
            return default
        raise ApiError.general(code, message)
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ApiError.general(code, message)
    return int(text)


def _parse_id(text: str, message: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        raise ApiError.general("400.036", message)
    return int(text)


def _next_midnight(us: int) -> int:
    """Daily and GTD orders are cancelled at 00:00 UTC."""
    return (us // _US_PER_DAY + 1) * _US_PER_DAY


def _minimum_text(market: MarketSpec) -> str:
    text = format(Decimal(market.minimum_order_value), "f")
    return text if "." in text else text + ".0"


def _walk_cost(book: OrderBook, side: int, amount: int) -> int:
    """Ticks x units an order of ``side`` would pay to fill ``amount`` from the top."""
    cost = 0
    for price, level in book.opposite_side(side).levels():
        for entry in level:
            take = min(amount, entry.amount)
            cost += take * price
            amount -= take
            if amount == 0:
                return cost
    return cost


def _walk_value(book: OrderBook, side: int, budget: int, *, reach: bool) -> int:
    """Base units an order of ``side`` takes from the top for a value of ``budget`` ticks x
    units: the most it can afford (``reach=False``), or the least that reaches it."""
    amount = 0
    for price, level in book.opposite_side(side).levels():
        total = sum(entry.amount for entry in level)
        wanted = -(-budget // price) if reach else budget // price
        take = min(total, wanted)
        amount += take
        budget -= take * price
        if take < total or budget <= 0:
            break
    return amount


class OrderDesk:
    """The private trading endpoints of the emulated exchange."""

    def __init__(self, engine: MatchingEngine, switches: Switches) -> None:
        self.engine = engine
        self.market_data: MarketData = engine.market_data
        self.switches = switches
        self._open_orders_cache: dict[tuple[str, str], tuple[int, list[dict[str, str]]]] = {}

    # -- form helpers -------------------------------------------------------------------

    def _flag(self, form: Mapping[str, str], name: str) -> bool:
        """An order flag. Django's reading by default: only "", "false" and "0" are false."""
        value = form.get(name, "")
        if self.switches.strict_booleans:
            if value in ("", "False"):
                return False
            if value == "True":
                return True
            raise ApiError.coded("400.001", {name: ["Must be a valid boolean."]})
        return value.strip().lower() not in ("", "false", "0")

    @staticmethod
    def _client_order_id(form: Mapping[str, str], name: str = "client_order_id") -> str | None:
        value = form.get(name)
        if value is None or value == "":
            return None
        if len(value) > _MAX_CLIENT_ORDER_ID:
            raise ApiError.general("400.008", f"Invalid {name} POST param.")
        return value

    def _now_us(self) -> int:
        return self.engine.now_us

    # -- placing ------------------------------------------------------------------------

    def place_limit(
        self, account: FakeAccount, market: MarketSpec, side: int, form: Mapping[str, str]
    ) -> dict[str, object]:
        """``buy/{pair}/`` and ``sell/{pair}/``."""
        if not form.get("amount", "").strip():
            raise ApiError.general("400.005", _MISSING_AMOUNT_OR_PRICE)
        if not form.get("price", "").strip():
            raise ApiError.general("400.006", _MISSING_AMOUNT_OR_PRICE)
        amount = _parse_units(form["amount"], "amount", market.base_decimals, "400.026")
        price = _parse_units(form["price"], "price", market.counter_decimals, "400.041")
        client_order_id = self._client_order_id(form)
        flags = [name for name in _FLAGS if self._flag(form, name)]
        if len(flags) > 1:
            raise ApiError.general("400.024", "Only one of optional parameters can be set.")
        flag = flags[0] if flags else None
        limit_price = self._limit_price(form, market, side, price, flag)
        now = self._now_us()
        expires = self._expiry(form, flag, now)
        live = self.engine.live(market)
        self._check_price_band(live, side, price, now)
        self._check_minimum(market, units_to_decimal(amount * price, scale(market)))
        currency, need = self._limit_reservation(account, market, side, amount, price)

        us = self.engine.stamp(live)
        order = self.engine.open_order(
            account, live, side, amount, price, us, client_order_id=client_order_id
        )
        order.limit_price = limit_price
        order.expires_us = expires
        account.reserve(order, currency, need)
        book = live.book
        would_take = flag == "moc_order" and book.crosses(side, price)
        cannot_fill = flag == "fok_order" and book.available(side, price, amount) < amount
        if would_take or cannot_fill:
            self.engine.close(order, "Canceled", us)
        else:
            self.engine.execute(order, price, us, rest=flag not in ("ioc_order", "fok_order"))
        self.engine.end_action(live, us)
        return self._created(order)

    def place_market(
        self, account: FakeAccount, market: MarketSpec, side: int, form: Mapping[str, str]
    ) -> dict[str, object]:
        """``buy/market/{pair}/`` and ``sell/market/{pair}/``: fill now against the book."""
        if not form.get("amount", "").strip():
            raise ApiError.general("400.005", "Missing amount POST parameter")
        amount = _parse_units(form["amount"], "amount", market.base_decimals, "400.026")
        client_order_id = self._client_order_id(form)
        return self._fill_now(account, market, side, amount, client_order_id, "market")

    def place_instant(
        self, account: FakeAccount, market: MarketSpec, side: int, form: Mapping[str, str]
    ) -> dict[str, object]:
        """``buy/instant/{pair}/`` and ``sell/instant/{pair}/``.

        A buy's ``amount`` is the counter currency to spend (switch
        ``instant_buy_amount_in_counter``); a sell's is base currency unless
        ``amount_in_counter`` is set, then it is the counter currency to receive. Counter
        amounts have ``instant_order_counter_decimals`` places; the fee comes on top.
        """
        if not form.get("amount", "").strip():
            raise ApiError.general("400.005", "Missing amount POST parameter")
        client_order_id = self._client_order_id(form)
        in_counter = (
            self.switches.instant_buy_amount_in_counter
            if side == BUY
            else self._flag(form, "amount_in_counter")
        )
        if not in_counter:
            amount = _parse_units(form["amount"], "amount", market.base_decimals, "400.026")
            return self._fill_now(account, market, side, amount, client_order_id, "instant")
        decimals = market.instant_order_counter_decimals
        value = _parse_units(form["amount"], "amount", decimals, "400.026")
        self._check_minimum(market, units_to_decimal(value, decimals))
        book = self.engine.live(market).book
        budget = value * 10 ** (scale(market) - decimals)
        amount = _walk_value(book, side, budget, reach=side == SELL)
        if amount == 0:
            self._no_liquidity(market, side)
        return self._fill_now(account, market, side, amount, client_order_id, "instant")

    def _no_liquidity(self, market: MarketSpec, side: int) -> None:
        if side == BUY:
            raise ApiError.general("500.004", "No sell orders for provided market.")
        raise ApiError.general("500.005", f"No buy orders for currency pair {market.symbol}")

    def _fill_now(
        self,
        account: FakeAccount,
        market: MarketSpec,
        side: int,
        amount: int,
        client_order_id: str | None,
        kind: str,
    ) -> dict[str, object]:
        live = self.engine.live(market)
        book = live.book
        fillable = book.available(side, None, amount)
        if fillable == 0:
            self._no_liquidity(market, side)
        if fillable < amount:
            word = "buy" if side == BUY else "sell"
            shown = format_units(fillable, market.base_decimals)
            raise ApiError.general(
                "400.038",
                f"Maximum market {word} amount at the moment is {shown} {market.base.upper()}."
                " Please use limit order instead.",
            )
        cost = units_to_decimal(_walk_cost(book, side, amount), scale(market))
        self._check_minimum(market, cost)
        if side == BUY:
            currency = market.counter
            need = with_taker_fee(account, market, cost)
            available = account.balance(currency).available
            if available < need:
                affordable = units_to_decimal(amount, market.base_decimals) * available / need
                shown = f"{quantize_down(affordable, market.base_decimals):f}"
                raise ApiError.general(
                    "400.009",
                    f"You can only buy {shown} {market.base.upper()}."
                    " Check your account balance for details.",
                )
        else:
            currency = market.base
            need = units_to_decimal(amount, market.base_decimals)
            available = account.balance(currency).available
            if available < need:
                raise ApiError.general(
                    "400.009",
                    f"You can only sell {available} {market.base.upper()}."
                    " Check your account balance for details.",
                )
        us = self.engine.stamp(live)
        order = self.engine.open_order(
            account, live, side, amount, 0, us, client_order_id=client_order_id, kind=kind
        )
        account.reserve(order, currency, need)
        self.engine.execute(order, None, us, rest=False)
        self.engine.end_action(live, us)
        # The answer's price is the average fill price, rounded half up to the tick.
        filled_value = sum(f.price * f.amount for f in order.fills)
        order.price = (2 * filled_value + amount) // (2 * amount)
        return self._created(order)

    def _limit_price(
        self, form: Mapping[str, str], market: MarketSpec, side: int, price: int, flag: str | None
    ) -> int | None:
        text = form.get("limit_price", "").strip()
        if not text:
            return None
        if flag is not None:
            raise ApiError.general("400.025", f"Both limit_price and {flag} cannot be set.")
        limit_price = _parse_units(text, "limit_price", market.counter_decimals, "400.041")
        if side == BUY and limit_price <= price:
            raise ApiError.general(
                "400.027", "Sell if executed price must be higher than buy price."
            )
        if side == SELL and limit_price >= price:
            raise ApiError.general(
                "400.028", "Buy if executed price must be lower than sell price."
            )
        return limit_price

    @staticmethod
    def _expiry(form: Mapping[str, str], flag: str | None, now: int) -> int | None:
        text = form.get("expire_time", "").strip()
        if flag == "gtd_order":
            if not text:
                raise ApiError.general(
                    "400.022", "POST parameter(s) is missing from request: expire_time."
                )
            if not (text.isascii() and text.isdigit()):
                raise ApiError.general("400.023", "POST parameter(s) is malformed: expire_time.")
            expire = int(text) * 1000  # expire_time is in milliseconds
            if expire <= now:
                raise ApiError.general("400.032", "'expire_time' must be set in future date.")
            return min(expire, _next_midnight(now))
        if text:
            raise ApiError.general("400.033", "'expire_time' must be None.")
        if flag == "daily_order":
            return _next_midnight(now)
        return None

    @staticmethod
    def _check_price_band(live: LiveMarket, side: int, price: int, now: int) -> None:
        last = live.tape.last_trade(now / 1e6).price
        # Integer forms of price > 1.2 * last and price < 0.8 * last.
        if side == BUY and price * 5 > last * 6:
            raise ApiError.general("400.021", "Price is more than 20% above market price.")
        if side == SELL and price * 5 < last * 4:
            raise ApiError.general("400.021", "Price is more than 20% below market price.")

    @staticmethod
    def _check_minimum(market: MarketSpec, value: Decimal) -> None:
        if value < market.minimum_value:
            raise ApiError.general(
                "400.020",
                f"Minimum order size is {_minimum_text(market)} {market.counter.upper()}.",
            )

    @staticmethod
    def _limit_reservation(
        account: FakeAccount,
        market: MarketSpec,
        side: int,
        amount: int,
        price: int,
        *,
        freed: Decimal = Decimal(0),
    ) -> tuple[str, Decimal]:
        """What a limit order must reserve, or 400.009 when the account cannot cover it
        (``freed``: what a replaced order gives back in that currency)."""
        if side == BUY:
            currency = market.counter
            need = buy_reserve(account, market, amount, price)
            available = account.balance(currency).available + freed
            if available < need:
                code = currency.upper()
                raise ApiError.general(
                    "400.009",
                    f"You need {need} {code} to open that order. You have only {available} {code}"
                    " available. Check your account balance for details.",
                )
            return currency, need
        currency = market.base
        need = quantize(units_to_decimal(amount, market.base_decimals), account.decimals(currency))
        available = account.balance(currency).available + freed
        if available < need:
            raise ApiError.general(
                "400.009",
                f"You have only {available} {currency.upper()} available."
                " Check your account balance for details.",
            )
        return currency, need

    # -- replace ------------------------------------------------------------------------

    def replace_order(self, account: FakeAccount, form: Mapping[str, str]) -> dict[str, object]:
        """``replace_order/``: cancel an open order and place its replacement, atomically.

        The original is named by ``id`` or ``orig_client_order_id``, and ``client_order_id``
        is then the new order's (JKorf's reading); with neither, ``client_order_id`` names
        the original (ccxt's ``edit_order``). The replacement keeps the side and market.
        """
        new_client_id = self._client_order_id(form)
        if form.get("id", "").strip():
            original = account.orders.get(_parse_id(form["id"], "Invalid id POST param."))
        else:
            wanted = self._client_order_id(form, "orig_client_order_id")
            if wanted is None:
                wanted, new_client_id = new_client_id, None
            if wanted is None:
                raise ApiError.general("400.035", "Missing id POST param.")
            matching = [o for o in account.open_orders() if o.client_order_id == wanted]
            original = matching[-1] if matching else None
        if original is None or not original.is_open or original.entry is None:
            raise ApiError.coded("404.002", _ORDER_NOT_FOUND)
        market, side = original.market, original.side
        if not form.get("amount", "").strip():
            raise ApiError.general("400.005", _MISSING_AMOUNT_OR_PRICE)
        if not form.get("price", "").strip():
            raise ApiError.general("400.006", _MISSING_AMOUNT_OR_PRICE)
        amount = _parse_units(form["amount"], "amount", market.base_decimals, "400.026")
        price = _parse_units(form["price"], "price", market.counter_decimals, "400.041")
        now = self._now_us()
        live = self.engine.live(market)
        self._check_price_band(live, side, price, now)
        self._check_minimum(market, units_to_decimal(amount * price, scale(market)))
        currency, need = self._limit_reservation(
            account, market, side, amount, price, freed=original.reserved
        )
        us = self.engine.stamp(live)
        self.engine.close(original, "Canceled", us)
        order = self.engine.open_order(
            account, live, side, amount, price, us, client_order_id=new_client_id
        )
        account.reserve(order, currency, need)
        self.engine.execute(order, price, us, rest=True)
        self.engine.end_action(live, us)
        payload: dict[str, object] = {
            "order_id": order.id,
            "order_type": str(side),
            "market": market.name,
            "amount": format_units(order.amount, market.base_decimals),
            "price": format_units(order.price, market.counter_decimals),
            "datetime": format_iso(order.created_us),
            "orig_order_id": original.id,
        }
        if original.client_order_id is not None:
            payload["orig_client_order_id"] = original.client_order_id
        payload["status"] = order.status
        return payload

    # -- queries and cancels ------------------------------------------------------------

    def _find(self, account: FakeAccount, form: Mapping[str, str], message: str) -> Order:
        """The order named by ``id`` or ``client_order_id`` (the newest with that id)."""
        text = form.get("id", "")
        if text.strip():
            order = account.orders.get(_parse_id(text, message))
        elif form.get("client_order_id"):
            wanted = form["client_order_id"]
            matching = [o for o in account.orders.values() if o.client_order_id == wanted]
            order = matching[-1] if matching else None
        else:
            raise ApiError.general("400.035", "Missing id POST param.")
        if order is None:
            raise ApiError.coded("404.002", _ORDER_NOT_FOUND)
        return order

    def _number(self, units: int, decimals: int) -> object:
        text = format_units(units, decimals)
        return text if self.switches.cancel_numbers_as_strings else json_number(text)

    def _cancelled(self, order: Order) -> dict[str, object]:
        m = order.market
        return {
            "id": order.id,
            "amount": self._number(order.remaining, m.base_decimals),
            "price": self._number(order.price, m.counter_decimals),
            "type": order.side,
            "market": m.name,
        }

    def cancel_order(self, account: FakeAccount, form: Mapping[str, str]) -> dict[str, object]:
        """``cancel_order/``: by ``id`` or ``client_order_id``; answers without a status."""
        if not form.get("id", "").strip() and form.get("client_order_id"):
            # Duplicated client ids are allowed: cancel the newest one still open.
            wanted = form["client_order_id"]
            open_ones = [o for o in account.open_orders() if o.client_order_id == wanted]
            if not open_ones:
                raise ApiError.coded("404.002", _ORDER_NOT_FOUND)
            order = open_ones[-1]
        else:
            order = self._find(account, form, "Invalid id POST param.")
        if not order.is_open:
            raise ApiError.coded("404.002", _ORDER_NOT_FOUND)
        live = self.engine.live(order.market)
        us = self.engine.stamp(live)
        self.engine.close(order, "Canceled", us)
        self.engine.end_action(live, us)
        return self._cancelled(order)

    def cancel_all(self, account: FakeAccount, market: MarketSpec | None) -> dict[str, object]:
        """``cancel_all_orders/[{pair}/]``: one action per market."""
        cancelled = []
        by_market: dict[str, list[Order]] = {}
        for order in account.open_orders(market):
            by_market.setdefault(order.market.symbol, []).append(order)
        for orders in by_market.values():
            live = self.engine.live(orders[0].market)
            us = self.engine.stamp(live)
            for order in orders:
                self.engine.close(order, "Canceled", us)
                row = self._cancelled(order)
                row["currency_pair"] = order.market.name
                row["market"] = row.pop("market")
                cancelled.append(row)
            self.engine.end_action(live, us)
        return {"canceled": cancelled, "success": True}

    def open_orders(
        self, account: FakeAccount, market: MarketSpec | None, key: str
    ) -> list[dict[str, str]]:
        """``open_orders/``, ``open_orders/all/`` (with ``currency_pair``) and per market.

        The answer is cached ``switches.open_orders_cache_seconds`` per account and
        ``key`` (the path), as the doc says the exchange does.
        """
        now = self._now_us()
        cache_key = (account.api_key, key)
        cached = self._open_orders_cache.get(cache_key)
        if cached is not None and now < cached[0]:
            return cached[1]
        rows = []
        extra = self.switches.open_orders_spot_fields
        for order in account.open_orders(market):
            m = order.market
            row = {
                "id": str(order.id),
                "datetime": format_datetime(order.created_us, micro=False),
                "type": str(order.side),
                "price": format_units(order.price, m.counter_decimals),
                "amount": format_units(order.remaining, m.base_decimals),
            }
            if extra:
                row["amount_at_create"] = format_units(order.amount, m.base_decimals)
            if market is None:
                row["currency_pair"] = m.name
            if extra:
                row["market"] = m.name
            if order.client_order_id is not None:
                row["client_order_id"] = order.client_order_id
            if order.limit_price is not None:
                row["limit_price"] = format_units(order.limit_price, m.counter_decimals)
            rows.append(row)
        seconds = self.switches.open_orders_cache_seconds
        if seconds > 0:
            self._open_orders_cache[cache_key] = (now + int(seconds * 1e6), rows)
        return rows

    def order_status(self, account: FakeAccount, form: Mapping[str, str]) -> dict[str, object]:
        """``order_status/``: status, remaining amount and the order's fills.

        A closed order is visible for 30 days, then "Order not found".
        """
        order = self._find(account, form, "Invalid order id")
        if order.closed_us is not None and order.closed_us + _VISIBLE_US < self._now_us():
            raise ApiError.coded("404.002", _ORDER_NOT_FOUND)
        m = order.market
        payload: dict[str, object] = {
            "id": order.id,
            "datetime": format_datetime(order.created_us, micro=False),
            "type": str(order.side),
            "status": order.status,
            "market": m.name,
            "amount_remaining": format_units(order.remaining, m.base_decimals),
        }
        if order.client_order_id is not None:
            payload["client_order_id"] = order.client_order_id
        if not self._flag(form, "omit_transactions"):
            both = m.base_decimals + m.counter_decimals
            payload["transactions"] = [
                {
                    "tid": fill.tid,
                    "price": format_decimal(units_to_decimal(fill.price, m.counter_decimals), 8),
                    m.base: format_units(fill.amount, m.base_decimals),
                    m.counter: format_decimal(units_to_decimal(fill.price * fill.amount, both), 8),
                    "fee": f"{fill.fee:f}",
                    "datetime": format_datetime(fill.us, micro=True),
                    "type": 2,
                }
                for fill in order.fills
            ]
        return payload

    # -- order history ------------------------------------------------------------------

    @staticmethod
    def _order_event_row(event: AccountOrderEvent) -> dict[str, object]:
        order = event.order
        m = order.market
        data: dict[str, object] = {
            "id": order.id,
            "order_type": order.side,
            "order_subtype": _KIND_NAMES[order.kind],
            "microtimestamp": str(event.us),
            "amount": format_units(event.amount, m.base_decimals),
            "amount_traded": format_units(event.amount_traded, m.base_decimals),
            "amount_at_create": format_units(order.amount, m.base_decimals),
            "price": format_units(order.price, m.counter_decimals),
            "is_liquidation": False,
            "trade_account_id": 0,
        }
        if order.client_order_id is not None:
            data["client_order_id"] = order.client_order_id
        return {
            "event": event.kind,
            "event_id": str(event.event_id),
            "order_source": "orderbook",
            "trade_account_id": 0,
            "market": m.name,
            "data": data,
        }

    def account_order_data(
        self, account: FakeAccount, form: Mapping[str, str]
    ) -> list[dict[str, object]]:
        """``account_order_data/``: the account's order events, oldest first.

        ``order_source`` ("orderbook"; "stop_order" has none here), ``market`` (a market
        symbol), ``since_id`` and ``until_id`` (event ids, both inclusive) narrow it.
        """
        source = form.get("order_source", "orderbook") or "orderbook"
        if source not in ("orderbook", "stop_order"):
            raise ApiError.coded("400.001", {"order_source": ["Not a valid choice."]})
        symbol = form.get("market", "").strip().lower()
        market = None
        if symbol:
            market = self.market_data.markets.get(symbol)
            if market is None:
                raise ApiError.coded("404.007", "Market not found.")
        since = _form_int(form, "since_id", 0, "400.007", "Invalid since_id.")
        until = _form_int(form, "until_id", _FOREVER, "400.007", "Invalid until_id.")
        if source == "stop_order":
            return []
        return [
            self._order_event_row(event)
            for event in account.order_events
            if since <= event.event_id <= until and (market is None or event.order.market is market)
        ]

    def order_data(self, account: FakeAccount, form: Mapping[str, str]) -> list[dict[str, object]]:
        """``order_data/``: the events of one order, by ``id`` or ``client_order_id``.

        The shape is ``account_order_data/``'s (this endpoint's own is unconfirmed).
        """
        order = self._find(account, form, "Invalid id POST param.")
        return [
            self._order_event_row(event) for event in account.order_events if event.order is order
        ]

    # -- user transactions --------------------------------------------------------------

    def user_transactions(
        self, account: FakeAccount, market: MarketSpec | None, form: Mapping[str, str]
    ) -> list[dict[str, object]]:
        """``user_transactions/[{pair}/]``: the account's ledger, paged and sorted."""
        offset = _form_int(
            form, "offset", 0, "400.010", "Invalid offset.", high=200_000, empty_allowed=False
        )
        limit = _form_int(form, "limit", 100, "400.011", "Invalid limit.", low=1, high=1000)
        sort = form.get("sort") or "desc"
        if sort not in ("asc", "desc"):
            raise ApiError.general("400.012", "Invalid sort parameter.")
        since = _form_int(form, "since_timestamp", 0, "400.013", "Invalid since_timestamp.")
        until = _form_int(form, "until_timestamp", _FOREVER, "400.034", "Invalid until_timestamp.")
        since_id = _form_int(form, "since_id", 0, "400.007", "Invalid since_id.")
        until_id = _FOREVER
        if self.switches.user_transactions_until_id:
            until_id = _form_int(form, "until_id", _FOREVER, "400.007", "Invalid until_id.")
        if form.get("since_id"):
            limit = 1000  # as documented: since_id forces the limit to 1000
        since_us, until_us = since * 1_000_000, min(until, _FOREVER // 10**6) * 1_000_000
        rows = [
            row
            for row in account.ledger
            if (market is None or row.market is market)
            and since_us <= row.us <= until_us
            and since_id <= row.id <= until_id
        ]
        if sort == "desc":
            rows.reverse()
        return [self._user_transaction(account, row) for row in rows[offset : offset + limit]]

    def _user_transaction(self, account: FakeAccount, row: LedgerRow) -> dict[str, object]:
        """One row with every currency column. A zero is ``0`` on some rows and a string of
        the currency's decimals on others (a bit of a hash of the row id picks), as
        Bitstamp's vary."""
        payload: dict[str, object] = {
            "id": row.id,
            "datetime": format_datetime(row.us, micro=True),
            "type": str(row.type),
            "fee": f"{row.fee:f}",
        }
        number_zero = (row.id * 0x9E3779B1 >> 20) & 1 == 0
        for code, currency in self.market_data.currencies.items():
            amount = row.amounts.get(code)
            if amount:
                payload[code] = format_decimal(amount, account.decimals(code))
            elif number_zero:
                payload[code] = 0
            else:
                payload[code] = format_units(0, currency.decimals)
        m = row.market
        if m is not None and row.price is not None:
            rate = float_like(row.price, m.counter_decimals)
            payload[f"{m.base}_{m.counter}"] = json_number(rate)
        if row.order_id is not None:
            payload["order_id"] = row.order_id
        if row.self_trade_order_id is not None:
            payload["self_trade"] = True
            payload["self_trade_order_id"] = row.self_trade_order_id
        return payload

    # -- answers ------------------------------------------------------------------------

    @staticmethod
    def _created(order: Order) -> dict[str, object]:
        m = order.market
        payload: dict[str, object] = {
            "id": str(order.id),
            "datetime": format_datetime(order.created_us, micro=True),
            "type": str(order.side),
            "price": format_units(order.price, m.counter_decimals),
            "amount": format_units(order.amount, m.base_decimals),
        }
        if order.client_order_id is not None:
            payload["client_order_id"] = order.client_order_id
        payload["market"] = m.name
        return payload
