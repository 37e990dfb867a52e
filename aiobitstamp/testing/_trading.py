"""Orders on the emulated exchange: validation, reservation, matching, cancel, status.

Validation follows the order Bitstamp's forms report problems in: missing fields, number
format and decimals, the optional flags, the 20% price band, the minimum order value, and
last the balance. An accepted order reserves its funds, takes liquidity from the book at
each level's price (taker fee), and rests with what is left unless it is IOC/FOK or
maker-or-cancel. A resting client order is matched like any other book entry when a later
order crosses it, and then pays the maker fee.

Settlement rounds running totals: a fill's counter amount is the change of the rounded
total traded value, and its fee the change of the rounded fee on the total traded in that
role. A buy reserves exactly the most it can spend (value and taker fee at its limit
price), so fills can never overdraw an account.

Each public method returns the JSON-ready answer or raises ``ApiError``.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

from ._accounts import FakeAccount, Fill, Order
from ._errors import ApiError
from ._market_data import MarketData, MarketSpec
from ._numbers import (
    format_datetime,
    format_decimal,
    format_units,
    quantize,
    quantize_down,
    units_to_decimal,
)
from ._order_book import BUY, SELL, BookEntry, Match, OrderBook, build_synthetic_book

__all__ = ["MAKER_FEE", "TAKER_FEE", "TradingEngine"]

TAKER_FEE: Final = Decimal("0.004")
MAKER_FEE: Final = Decimal("0.003")
# Client order ids start above every synthetic id (see _order_book) and stay below 2**53.
_CLIENT_ID_BASE: Final = 1_600_000_000_000_000
_MAX_CLIENT_ORDER_ID: Final = 180
_FLAGS: Final = ("daily_order", "ioc_order", "fok_order", "moc_order", "gtd_order")
_MISSING_AMOUNT_OR_PRICE: Final = "Missing amount and/or price POST parameters"
_NOT_A_NUMBER: Final = 'Enter a number. Use "." as a decimal point.'
_ORDER_NOT_FOUND: Final = "Order not found."
_SECONDS_PER_DAY: Final = 86400
_FOREVER: Final = 2**63
# Bitstamp's largest documented amount is 92233720368: eleven whole digits.
_MAX_WHOLE_DIGITS: Final = 11


def _is_true(value: str) -> bool:
    """Form booleans the way Django reads them: only "", "false" and "0" are false."""
    return value.strip().lower() not in ("", "false", "0")


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
    high: int = 2**63,
) -> int:
    """An optional non-negative integer field within ``[low, high]``."""
    text = form.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ApiError.general(code, message)
    return int(text)


def _parse_id(text: str, message: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        raise ApiError.general("400.036", message)
    return int(text)


def _next_midnight(now: float) -> float:
    """Daily and GTD orders are cancelled at 00:00 UTC."""
    return (int(now) // _SECONDS_PER_DAY + 1) * _SECONDS_PER_DAY


def _minimum_text(market: MarketSpec) -> str:
    text = format(Decimal(market.minimum_order_value), "f")
    return text if "." in text else text + ".0"


class TradingEngine:
    """Books, orders and settlement of the whole emulated exchange."""

    def __init__(
        self, market_data: MarketData, *, seed: int, book_depth: int, clock: Callable[[], float]
    ) -> None:
        self.market_data = market_data
        self._seed = seed
        self._depth = book_depth
        self._clock = clock
        self._books: dict[str, OrderBook] = {}
        self._id_rng = random.Random(f"{seed}:order-ids")
        self._next_id = _CLIENT_ID_BASE + self._id_rng.randrange(10**12)
        self._expiries: list[tuple[float, int, Order]] = []

    # -- books --------------------------------------------------------------------------

    def book(self, market: MarketSpec) -> OrderBook:
        """The live book of ``market``, built on first use (startup stays fast)."""
        book = self._books.get(market.symbol)
        if book is None:
            index = list(self.market_data.markets).index(market.symbol)
            book = build_synthetic_book(market, seed=self._seed, depth=self._depth, index=index)
            self._books[market.symbol] = book
        return book

    def built_book(self, market: MarketSpec) -> OrderBook | None:
        """The book of ``market`` if anything has needed it yet, else None."""
        return self._books.get(market.symbol)

    def expire_due(self) -> None:
        """Expire daily and GTD orders whose time has come (called before each request)."""
        now = self._clock()
        while self._expiries and self._expiries[0][0] <= now:
            _, _, order = heapq.heappop(self._expiries)
            if order.is_open:
                self._close(order, "Expired")

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
        flags = [name for name in _FLAGS if _is_true(form.get(name, ""))]
        if len(flags) > 1:
            raise ApiError.general("400.024", "Only one of optional parameters can be set.")
        flag = flags[0] if flags else None
        limit_price = self._limit_price(form, market, side, price, flag)
        now = self._clock()
        expires_at = self._expiry(form, flag, now)
        self._check_price_band(market, side, price, now)
        self._check_minimum(market, units_to_decimal(amount * price, self._scale(market)))
        currency, need = self._limit_reservation(account, market, side, amount, price)

        order = self._open(account, market, side, amount, price, now, client_order_id)
        order.limit_price = limit_price
        order.expires_at = expires_at
        account.reserve(order, currency, need)
        book = self.book(market)
        would_take = flag == "moc_order" and book.crosses(side, price)
        cannot_fill = flag == "fok_order" and book.available(side, price, amount) < amount
        if would_take or cannot_fill:
            self._close(order, "Canceled")
        else:
            self._take(order, book, price)
            if order.remaining == 0:
                self._finish(order)
            elif flag in ("ioc_order", "fok_order"):
                self._close(order, "Canceled")
            else:
                self._rest(order, book)
        return self._created(order)

    def place_market(
        self, account: FakeAccount, market: MarketSpec, side: int, form: Mapping[str, str]
    ) -> dict[str, object]:
        """``buy/market/{pair}/`` and ``sell/market/{pair}/``: fill now against the book."""
        if not form.get("amount", "").strip():
            raise ApiError.general("400.005", "Missing amount POST parameter")
        amount = _parse_units(form["amount"], "amount", market.base_decimals, "400.026")
        client_order_id = self._client_order_id(form)
        book = self.book(market)
        fillable = book.available(side, None, amount)
        if fillable == 0:
            if side == BUY:
                raise ApiError.general("500.004", "No sell orders for provided market.")
            raise ApiError.general("500.005", f"No buy orders for currency pair {market.symbol}")
        if fillable < amount:
            word = "buy" if side == BUY else "sell"
            shown = format_units(fillable, market.base_decimals)
            raise ApiError.general(
                "400.038",
                f"Maximum market {word} amount at the moment is {shown} {market.base.upper()}."
                " Please use limit order instead.",
            )
        cost = units_to_decimal(self._walk_cost(book, side, amount), self._scale(market))
        self._check_minimum(market, cost)
        if side == BUY:
            currency = market.counter
            need = self._with_fee(account, market, cost)
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
        now = self._clock()
        order = self._open(account, market, side, amount, 0, now, client_order_id)
        account.reserve(order, currency, need)
        self._take(order, book, None)
        # The answer's price is the average fill price, rounded half up to the tick.
        filled_value = sum(f.price * f.amount for f in order.fills)
        order.price = (2 * filled_value + amount) // (2 * amount)
        self._finish(order)
        return self._created(order)

    def _client_order_id(self, form: Mapping[str, str]) -> str | None:
        value = form.get("client_order_id")
        if value is None or value == "":
            return None
        if len(value) > _MAX_CLIENT_ORDER_ID:
            raise ApiError.general("400.008", "Invalid client_order_id POST param.")
        return value

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
    def _expiry(form: Mapping[str, str], flag: str | None, now: float) -> float | None:
        text = form.get("expire_time", "").strip()
        if flag == "gtd_order":
            if not text:
                raise ApiError.general(
                    "400.022", "POST parameter(s) is missing from request: expire_time."
                )
            if not (text.isascii() and text.isdigit()):
                raise ApiError.general("400.023", "POST parameter(s) is malformed: expire_time.")
            expire = int(text) / 1000.0  # expire_time is in milliseconds
            if expire <= now:
                raise ApiError.general("400.032", "'expire_time' must be set in future date.")
            return min(expire, _next_midnight(now))
        if text:
            raise ApiError.general("400.033", "'expire_time' must be None.")
        if flag == "daily_order":
            return _next_midnight(now)
        return None

    def _check_price_band(self, market: MarketSpec, side: int, price: int, now: float) -> None:
        last = self.market_data.last_trade(market, now).price
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

    def _limit_reservation(
        self, account: FakeAccount, market: MarketSpec, side: int, amount: int, price: int
    ) -> tuple[str, Decimal]:
        """What a limit order must reserve, or 400.009 when the account cannot cover it."""
        if side == BUY:
            currency = market.counter
            need = self._buy_reserve(account, market, amount, price)
            available = account.balance(currency).available
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
        available = account.balance(currency).available
        if available < need:
            raise ApiError.general(
                "400.009",
                f"You have only {available} {currency.upper()} available."
                " Check your account balance for details.",
            )
        return currency, need

    def _buy_reserve(
        self, account: FakeAccount, market: MarketSpec, amount: int, price: int
    ) -> Decimal:
        """The most a buy of ``amount`` at ``price`` can spend: all of it as taker."""
        return self._with_fee(
            account, market, units_to_decimal(amount * price, self._scale(market))
        )

    @staticmethod
    def _with_fee(account: FakeAccount, market: MarketSpec, value: Decimal) -> Decimal:
        places = account.decimals(market.counter)
        return quantize(value, places) + quantize(value * TAKER_FEE, places)

    @staticmethod
    def _scale(market: MarketSpec) -> int:
        """Decimals of ``amount_units * price_ticks`` in counter currency."""
        return market.base_decimals + market.counter_decimals

    @staticmethod
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

    # -- life cycle ---------------------------------------------------------------------

    def _open(
        self,
        account: FakeAccount,
        market: MarketSpec,
        side: int,
        amount: int,
        price: int,
        now: float,
        client_order_id: str | None,
    ) -> Order:
        self._next_id += self._id_rng.randint(1, 1024)
        order = Order(self._next_id, account, market, side, price, amount, now, client_order_id)
        account.orders[order.id] = order
        return order

    def _take(self, order: Order, book: OrderBook, limit: int | None) -> None:
        """Fill ``order`` against the book, then settle both sides of every match."""
        matches = book.take(order.side, limit, order.remaining)
        finished_makers: list[Order] = []
        for match in matches:
            now = self._clock()
            tid = self.market_data.record_fill(
                order.market, now, match.price, match.amount, order.side
            )
            maker = match.entry.owner
            self_trade = maker is not None and maker.account is order.account
            self._settle(order, match, tid, now, taker=True, mirror=maker if self_trade else None)
            if maker is not None:
                self._settle(
                    maker, match, tid, now, taker=False, mirror=order if self_trade else None
                )
                if maker.remaining == 0:
                    maker.entry = None
                    finished_makers.append(maker)
        # Finish makers after the loop: their limit_price follow-ups may trade on this book.
        for maker in finished_makers:
            self._finish(maker)

    @staticmethod
    def _settle(
        order: Order, match: Match, tid: int, now: float, *, taker: bool, mirror: Order | None
    ) -> None:
        """Move the money of one fill; ``mirror`` is the account's own order on the other side."""
        market = order.market
        account = order.account
        places = account.decimals(market.counter)
        value = units_to_decimal(match.price * match.amount, TradingEngine._scale(market))
        before = order.traded_value
        order.traded_value += value
        settled = quantize(order.traded_value, places) - quantize(before, places)
        rate = TAKER_FEE if taker else MAKER_FEE
        role_before = order.taker_value if taker else order.maker_value
        role_after = role_before + value
        if taker:
            order.taker_value = role_after
        else:
            order.maker_value = role_after
        fee = quantize(role_after * rate, places) - quantize(role_before * rate, places)
        base = quantize(
            units_to_decimal(match.amount, market.base_decimals), account.decimals(market.base)
        )
        if order.side == BUY:
            account.spend(order, market.counter, settled + fee)
            account.credit(market.base, base)
        else:
            account.spend(order, market.base, base)
            account.credit(market.counter, settled - fee)
        order.remaining -= match.amount
        self_trade = None if mirror is None else mirror.id
        order.fills.append(Fill(tid, match.price, match.amount, settled, fee, now, self_trade))

    def _rest(self, order: Order, book: OrderBook) -> None:
        entry = BookEntry(order.id, order.remaining, order)
        order.entry = entry
        book.add(order.side, order.price, entry)
        if order.side == BUY:
            # From now on the order only makes. Reserve what the rest can still cost at its
            # price and the maker fee, given the running totals already rounded, plus the
            # taker/maker fee difference: a fresh order then reserves exactly what the
            # balance check asked for, and the difference comes back when it closes.
            places = order.account.decimals(order.market.counter)
            rest = units_to_decimal(order.remaining * order.price, self._scale(order.market))
            traded, made = order.traded_value, order.maker_value
            need = quantize(traded + rest, places) - quantize(traded, places)
            need += quantize((made + rest) * MAKER_FEE, places) - quantize(made * MAKER_FEE, places)
            need += quantize(rest * TAKER_FEE, places) - quantize(rest * MAKER_FEE, places)
            if order.reserved > need:
                order.account.release(order, order.market.counter, order.reserved - need)
            elif order.reserved < need:
                order.account.reserve(order, order.market.counter, need - order.reserved)
        if order.expires_at is not None:
            heapq.heappush(self._expiries, (order.expires_at, order.id, order))

    def _release_currency(self, order: Order) -> str:
        return order.market.counter if order.side == BUY else order.market.base

    def _finish(self, order: Order) -> None:
        order.status = "Finished"
        order.account.release(order, self._release_currency(order))
        if order.limit_price is not None:
            self._follow_up(order, order.limit_price)

    def _close(self, order: Order, status: str) -> None:
        """Cancel or expire: leave the book, release the reservation."""
        if order.entry is not None:
            self.book(order.market).remove(order.side, order.price, order.entry)
            order.entry = None
        order.status = status
        order.account.release(order, self._release_currency(order))

    def _follow_up(self, parent: Order, price: int) -> None:
        """The opposite order a filled ``limit_price`` order places, if it can be covered."""
        account, market = parent.account, parent.market
        side = SELL if parent.side == BUY else BUY
        amount = parent.amount
        if side == BUY:
            currency = market.counter
            need = self._buy_reserve(account, market, amount, price)
        else:
            currency = market.base
            need = quantize(
                units_to_decimal(amount, market.base_decimals), account.decimals(currency)
            )
        if account.balance(currency).available < need:
            return
        order = self._open(account, market, side, amount, price, self._clock(), None)
        account.reserve(order, currency, need)
        book = self.book(market)
        self._take(order, book, price)
        if order.remaining == 0:
            self._finish(order)
        else:
            self._rest(order, book)

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

    def cancel_order(self, account: FakeAccount, form: Mapping[str, str]) -> dict[str, object]:
        """``cancel_order/``: by ``id`` or ``client_order_id``; releases the reservation."""
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
        self._close(order, "Canceled")
        payload = self._cancelled(order)
        payload["status"] = "Canceled"
        return payload

    def cancel_all(self, account: FakeAccount, market: MarketSpec | None) -> dict[str, object]:
        """``cancel_all_orders/[{pair}/]``."""
        cancelled = []
        for order in account.open_orders(market):
            self._close(order, "Canceled")
            row = self._cancelled(order)
            row["currency_pair"] = order.market.name
            row["market"] = row.pop("market")
            cancelled.append(row)
        return {"canceled": cancelled, "success": True}

    def open_orders(self, account: FakeAccount, market: MarketSpec | None) -> list[dict[str, str]]:
        """``open_orders/``, ``open_orders/all/`` (with ``currency_pair``) and per market."""
        rows = []
        for order in account.open_orders(market):
            m = order.market
            row = {
                "id": str(order.id),
                "datetime": format_datetime(order.created, micro=False),
                "type": str(order.side),
                "price": format_units(order.price, m.counter_decimals),
                "amount": format_units(order.remaining, m.base_decimals),
                "amount_at_create": format_units(order.amount, m.base_decimals),
            }
            if market is None:
                row["currency_pair"] = m.name
            row["market"] = m.name
            if order.client_order_id is not None:
                row["client_order_id"] = order.client_order_id
            if order.limit_price is not None:
                row["limit_price"] = format_units(order.limit_price, m.counter_decimals)
            rows.append(row)
        return rows

    def order_status(self, account: FakeAccount, form: Mapping[str, str]) -> dict[str, object]:
        """``order_status/``: status, remaining amount and the order's fills."""
        order = self._find(account, form, "Invalid order id")
        m = order.market
        payload: dict[str, object] = {
            "id": order.id,
            "datetime": format_datetime(order.created, micro=False),
            "type": str(order.side),
            "status": order.status,
            "market": m.name,
            "amount_remaining": format_units(order.remaining, m.base_decimals),
        }
        if order.client_order_id is not None:
            payload["client_order_id"] = order.client_order_id
        if not _is_true(form.get("omit_transactions", "")):
            scale = m.base_decimals + m.counter_decimals
            payload["transactions"] = [
                {
                    "tid": fill.tid,
                    "price": format_decimal(units_to_decimal(fill.price, m.counter_decimals), 8),
                    m.base: format_units(fill.amount, m.base_decimals),
                    m.counter: format_decimal(units_to_decimal(fill.price * fill.amount, scale), 8),
                    "fee": f"{fill.fee:f}",
                    "datetime": format_datetime(fill.time, micro=True),
                    "type": 2,
                }
                for fill in order.fills
            ]
        return payload

    def user_transactions(
        self, account: FakeAccount, market: MarketSpec | None, form: Mapping[str, str]
    ) -> list[dict[str, object]]:
        """``user_transactions/[{pair}/]``: the account's trades (type 2), paged and sorted."""
        offset = _form_int(form, "offset", 0, "400.010", "Invalid offset.", high=200_000)
        limit = _form_int(form, "limit", 100, "400.011", "Invalid limit.", low=1, high=1000)
        sort = form.get("sort") or "desc"
        if sort not in ("asc", "desc"):
            raise ApiError.general("400.012", "Invalid sort parameter.")
        since = _form_int(form, "since_timestamp", 0, "400.013", "Invalid since_timestamp.")
        until = _form_int(form, "until_timestamp", _FOREVER, "400.034", "Invalid until_timestamp.")
        since_id = _form_int(form, "since_id", 0, "400.007", "Invalid since_id.")
        if form.get("since_id"):
            limit = 1000  # as documented: since_id forces the limit to 1000
        rows = [
            (fill, order)
            for order in account.orders.values()
            if market is None or order.market is market
            for fill in order.fills
            if since <= fill.time <= until and fill.tid >= since_id
        ]
        rows.sort(key=lambda row: (row[0].time, row[0].tid, row[1].id), reverse=sort == "desc")
        return [
            self._user_transaction(fill, order) for fill, order in rows[offset : offset + limit]
        ]

    @staticmethod
    def _user_transaction(fill: Fill, order: Order) -> dict[str, object]:
        m = order.market
        account = order.account
        sign = 1 if order.side == BUY else -1
        base = units_to_decimal(sign * fill.amount, m.base_decimals)
        row: dict[str, object] = {
            "id": fill.tid,
            "datetime": format_datetime(fill.time, micro=True),
            "type": "2",
            "fee": f"{fill.fee:f}",
            m.base: format_decimal(base, account.decimals(m.base)),
            m.counter: f"{-sign * fill.settled:f}",
            f"{m.base}_{m.counter}": float(units_to_decimal(fill.price, m.counter_decimals)),
            "order_id": order.id,
        }
        if fill.self_trade_order_id is not None:
            row["self_trade"] = True
            row["self_trade_order_id"] = fill.self_trade_order_id
        return row

    @staticmethod
    def _created(order: Order) -> dict[str, object]:
        m = order.market
        payload: dict[str, object] = {
            "id": str(order.id),
            "datetime": format_datetime(order.created, micro=True),
            "type": str(order.side),
            "price": format_units(order.price, m.counter_decimals),
            "amount": format_units(order.amount, m.base_decimals),
        }
        if order.client_order_id is not None:
            payload["client_order_id"] = order.client_order_id
        payload["market"] = m.name
        return payload

    @staticmethod
    def _cancelled(order: Order) -> dict[str, object]:
        m = order.market
        return {
            "id": order.id,
            "amount": format_units(order.remaining, m.base_decimals),
            "price": format_units(order.price, m.counter_decimals),
            "type": order.side,
            "market": m.name,
        }

    @staticmethod
    def trading_fees(markets: list[MarketSpec]) -> list[dict[str, object]]:
        """``fees/trading/[{pair}/]``: percent strings, as Bitstamp reports them."""
        maker = format_decimal(MAKER_FEE * 100, 5)
        taker = format_decimal(TAKER_FEE * 100, 5)
        return [
            {
                "currency_pair": m.symbol,
                "market": m.symbol,
                "fees": {"maker": maker, "taker": taker},
            }
            for m in markets
        ]
