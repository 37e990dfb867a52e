"""What each route of the table answers: one handler per route name.

``public_handlers()`` and ``private_handlers()`` map names of ``aiobitstamp._routes.ROUTES``
to functions; the server registers exactly the routes that have one, with the verb and
path the table declares, so the emulator's paths cannot drift from the client's. A route
without a handler is not served (404.001): adding an endpoint is adding a function here.

A public handler takes the request and returns a JSON-ready value (or bytes already
serialised); a private one takes the authenticated account, the form (the urlencoded body,
or the query of a signed GET) and the path's placeholders. Both raise ``ApiError``.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final

import orjson
from aiohttp import web

from ._accounts import FakeAccount
from ._engine import MAKER_FEE, TAKER_FEE, LiveMarket, MatchingEngine
from ._errors import ApiError
from ._market_data import MARKETS, OHLC_STEPS, MarketData, MarketSpec, _mix
from ._numbers import format_decimal, format_units
from ._order_book import BUY, SELL
from ._switches import Switches
from ._trading import OrderDesk

__all__ = ["Endpoints", "PrivateEndpoint", "PublicEndpoint"]

PublicEndpoint = Callable[[web.Request], object]
PrivateEndpoint = Callable[[FakeAccount, dict[str, str], Mapping[str, str]], object]

WEBSOCKET_TOKEN_SECONDS: Final = 60
_TOKEN_ALPHABET: Final = string.ascii_letters + string.digits
_TRANSACTION_WINDOWS: Final = {"minute": 60, "hour": 3600, "day": 86400}
_TRUE_WORDS: Final = frozenset({"true", "1", "yes", "y", "on", "t"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no", "n", "off", "f"})
_FUNDING_PERIOD: Final = 8 * 3600
_PERPETUALS: Final = {m.symbol: m for m in MARKETS if m.market_type == "PERPETUAL"}


class Endpoints:
    """The handlers of every served route, over one exchange's state."""

    def __init__(
        self,
        *,
        market_data: MarketData,
        engine: MatchingEngine,
        desk: OrderDesk,
        switches: Switches,
        accounts: dict[str, FakeAccount],
        server_time: Callable[[], float],
        seed: int,
    ) -> None:
        self.market_data = market_data
        self.engine = engine
        self.desk = desk
        self.switches = switches
        self._accounts = accounts
        self._server_time = server_time
        self._seed = seed
        # token -> (account, expiry in server seconds), for the WebSocket server.
        self.websocket_tokens: dict[str, tuple[FakeAccount, float]] = {}
        # The catalogue never changes: serialise it once.
        self._static = {
            "markets": orjson.dumps(market_data.markets_payload()),
            "trading_pairs": orjson.dumps(market_data.trading_pairs_payload()),
            "currencies": orjson.dumps(market_data.currencies_payload()),
            "eur_usd": orjson.dumps(market_data.eur_usd_payload()),
        }

    # -- the maps the router reads ------------------------------------------------------

    def public_handlers(self) -> dict[str, tuple[PublicEndpoint, bool]]:
        """Route name -> (handler, whether a query string is allowed)."""
        static = self._static
        return {
            "ticker": (self.ticker, False),
            "tickers": (self.tickers, False),
            "ticker_hour": (self.ticker_hour, False),
            "order_book": (self.order_book, True),
            "transactions": (self.transactions, True),
            "ohlc": (self.ohlc, True),
            "markets": (lambda _: static["markets"], True),
            "trading_pairs_info": (lambda _: static["trading_pairs"], True),
            "currencies": (lambda _: static["currencies"], True),
            "eur_usd": (lambda _: static["eur_usd"], True),
            "travel_rule_vasps": (self.vasps, True),
            "funding_rate": (self.funding_rate, False),
            "funding_rate_history": (self.funding_rate_history, True),
        }

    def private_handlers(self) -> dict[str, PrivateEndpoint]:
        """Route name -> handler of a signed route."""
        desk = self.desk
        return {
            "account_balances": self.balances,
            "account_balance": self.balance,
            "trading_fees": self.trading_fees,
            "trading_fee": self.trading_fee,
            "withdrawal_fees": self.withdrawal_fees,
            "withdrawal_fee": self.withdrawal_fee,
            "my_markets": self.my_markets,
            "websockets_token": self.websockets_token,
            "user_transactions": self.user_transactions,
            "user_transactions_for_market": self.user_transactions,
            "revoke_all_api_keys": self.revoke_all_api_keys,
            "buy_limit": self._placing(desk.place_limit, BUY),
            "sell_limit": self._placing(desk.place_limit, SELL),
            "buy_market": self._placing(desk.place_market, BUY),
            "sell_market": self._placing(desk.place_market, SELL),
            "buy_instant": self._placing(desk.place_instant, BUY),
            "sell_instant": self._placing(desk.place_instant, SELL),
            "replace_order": lambda account, form, _: desk.replace_order(account, form),
            "cancel_order": lambda account, form, _: desk.cancel_order(account, form),
            "cancel_all_orders": lambda account, form, _: desk.cancel_all(account, None),
            "cancel_all_orders_for_market": self.cancel_all_for_market,
            "open_orders": lambda account, form, _: desk.open_orders(account, None, "all"),
            "open_orders_for_market": self.open_orders_for_market,
            "order_status": lambda account, form, _: desk.order_status(account, form),
            "order_data": lambda account, form, _: desk.order_data(account, form),
            "account_order_data": lambda account, form, _: desk.account_order_data(account, form),
        }

    # -- shared -------------------------------------------------------------------------

    def market(self, symbol: str) -> MarketSpec:
        """A spot market, or 404.003 (perpetuals are listed, not traded)."""
        market = self.market_data.markets.get(symbol)
        if market is None:
            raise ApiError.coded("404.003", "Currency pair not found for corresponding request.")
        return market

    def _now(self) -> float:
        return self.engine.now_us / 1e6

    @staticmethod
    def _top(live: LiveMarket, now: float) -> tuple[int, int]:
        """Best bid and ask; an empty side shows the last price."""
        book = live.book
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            last = live.tape.last_trade(now).price
            bid = last if bid is None else bid
            ask = last if ask is None else ask
        return bid, ask

    # -- public market data -------------------------------------------------------------

    def tickers(self, request: web.Request) -> object:
        now = self._now()
        rows = []
        for market in self.market_data.markets.values():
            live = self.engine.live(market)
            row: dict[str, str] = live.tape.ticker(now, *self._top(live, now))
            row["pair"] = market.name
            rows.append(row)
        return rows

    def ticker(self, request: web.Request) -> object:
        live = self.engine.live(self.market(request.match_info["market_symbol"]))
        now = self._now()
        return live.tape.ticker(now, *self._top(live, now))

    def ticker_hour(self, request: web.Request) -> object:
        live = self.engine.live(self.market(request.match_info["market_symbol"]))
        now = self._now()
        return live.tape.ticker_hour(now, *self._top(live, now))

    def order_book(self, request: web.Request) -> object:
        market = self.market(request.match_info["market_symbol"])
        group = request.query.get("group", "1")
        if group not in ("0", "1", "2"):
            raise ApiError.coded("400.001", "Invalid GET parameter.")
        book = self.engine.live(market).book
        if group == "2" and not self.switches.order_book_group2_ids:
            wire_bids = orjson.dumps(self._finer_levels(market, book.aggregated(BUY, None)))
            wire_asks = orjson.dumps(self._finer_levels(market, book.aggregated(SELL, None)))
        else:
            wire_bids, wire_asks = book.wire_sides(int(group))
        us = book.microtimestamp
        head = b'{"timestamp":"%d","microtimestamp":"%d","bids":' % (us // 1_000_000, us)
        return b"".join((head, wire_bids, b',"asks":', wire_asks, b"}"))

    @staticmethod
    def _finer_levels(market: MarketSpec, levels: list[tuple[int, int]]) -> list[list[str]]:
        decimals = market.counter_decimals
        return [
            [format_units(price * 100, decimals + 2), format_units(total, market.base_decimals)]
            for price, total in levels
        ]

    def transactions(self, request: web.Request) -> object:
        market = self.market(request.match_info["market_symbol"])
        window = _TRANSACTION_WINDOWS.get(request.query.get("time", "hour"))
        if window is None:
            raise ApiError.query("time", "Must be one of: minute, hour, day.")
        now = self._now()
        tape = self.engine.live(market).tape
        payload = self.market_data.trade_payload
        return [payload(market, trade) for trade in tape.trades(now - window, now)]

    def vasps(self, request: web.Request) -> object:
        errors: dict[str, list[str]] = {}
        values: dict[str, int] = {}
        for name, default, highest in (("page", 1, 10**6), ("per_page", 100, 1000)):
            text = request.query.get(name, "")
            try:
                values[name] = int(text) if text else default
            except ValueError:
                errors[name] = ["Not a valid integer."]
                continue
            if not 1 <= values[name] <= highest:
                errors[name] = [f"Must be between 1 and {highest}."]
        if errors:
            raise ApiError.coded("400.001", errors)
        return self.market_data.vasps_payload(values["page"], values["per_page"])

    def ohlc(self, request: web.Request) -> object:
        """``ohlc/``: with both ``start`` and ``end``, ``end`` wins unless the switch
        ``ohlc_start_wins`` says otherwise (the documented rule, see ``Switches``)."""
        market = self.market(request.match_info["market_symbol"])
        query = request.query
        errors: dict[str, list[str]] = {}

        def integer(name: str, *, required: bool = False) -> int | None:
            text = query.get(name)
            if text is None or text == "":
                if required:
                    errors[name] = ["Missing data for required field."]
                return None
            try:
                return int(text)
            except ValueError:
                errors[name] = ["Not a valid integer."]
                return None

        step = integer("step", required=True)
        limit = integer("limit", required=True)
        start = integer("start")
        end = integer("end")
        if step is not None and step not in OHLC_STEPS:
            errors["step"] = ["Not a valid choice."]
        if limit is not None and not 1 <= limit <= 1000:
            errors["limit"] = ["Must be between 1 and 1000."]
        exclude_text = query.get("exclude_current_candle", "false").strip().lower()
        if exclude_text not in _TRUE_WORDS | _FALSE_WORDS:
            errors["exclude_current_candle"] = ["Not a valid boolean."]
        if errors or step is None or limit is None:
            raise ApiError.coded("400.001", errors)
        now = int(self._now())
        newest = now - now % step
        if exclude_text in _TRUE_WORDS:
            newest -= step
        if start is not None and end is not None and not self.switches.ohlc_start_wins:
            start = None  # "if both start and end are posted, end will be used"
        if start is not None:
            first = -(-start // step) * step  # the first candle at or after start
            last = first + (limit - 1) * step
            if end is not None:
                last = min(last, end - end % step)
        else:
            last = newest if end is None else min(newest, end - end % step)
            first = last - (limit - 1) * step
        first = max(first, 0)
        last = min(last, newest)
        tape = self.engine.live(market).tape
        payload = self.market_data.candle_payload
        return {
            "data": {
                "pair": market.name,
                "ohlc": [payload(market, candle) for candle in tape.candles(step, first, last)],
            }
        }

    # -- perpetuals' funding ------------------------------------------------------------

    def _perpetual(self, symbol: str) -> MarketSpec:
        market = _PERPETUALS.get(symbol)
        if market is None:
            raise ApiError.coded("404.007", "Market not found.")
        return market

    def _funding(self, market: MarketSpec, period: int) -> str:
        """The funding rate fixed at the start of 8-hour ``period``: deterministic, small."""
        draw = _mix(self._seed * 1_000_003 + period * 7919 + len(market.symbol)) % 8001
        return format_decimal(Decimal(draw - 3000).scaleb(-7), 7)

    def funding_rate(self, request: web.Request) -> object:
        market = self._perpetual(request.match_info["market_symbol"])
        now = int(self._now())
        period = now // _FUNDING_PERIOD
        return {
            "funding_rate": self._funding(market, period),
            "timestamp": str(period * _FUNDING_PERIOD),
            "market": market.name,
            "next_funding_time": str((period + 1) * _FUNDING_PERIOD),
        }

    def funding_rate_history(self, request: web.Request) -> object:
        market = self._perpetual(request.match_info["market_symbol"])
        now = int(self._now())
        errors: dict[str, list[str]] = {}
        values: dict[str, int | None] = {}
        for name in ("since_timestamp", "until_timestamp", "limit"):
            text = request.query.get(name, "")
            values[name] = None
            if text:
                if not (text.isascii() and text.isdigit()):
                    errors[name] = ["Not a valid integer."]
                else:
                    values[name] = int(text)
        limit = values["limit"] if values["limit"] is not None else 100
        if not 1 <= limit <= 1000:
            errors["limit"] = ["Must be between 1 and 1000."]
        if errors:
            raise ApiError.coded("400.001", errors)
        until = min(now, values["until_timestamp"] or now) // _FUNDING_PERIOD
        since = values["since_timestamp"]
        first = until - limit + 1 if since is None else -(-since // _FUNDING_PERIOD)
        periods = range(max(first, until - limit + 1), until + 1)
        return {
            "market": market.name,
            "funding_rate_history": [
                {"funding_rate": self._funding(market, p), "timestamp": str(p * _FUNDING_PERIOD)}
                for p in periods
            ],
        }

    # -- account ------------------------------------------------------------------------

    @staticmethod
    def _balance_row(account: FakeAccount, currency: str) -> dict[str, str]:
        balance = account.balance(currency)
        return {
            "currency": balance.currency,
            "total": f"{balance.total:f}",
            "available": f"{balance.available:f}",
            "reserved": f"{balance.reserved:f}",
        }

    def balances(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        return [self._balance_row(account, code) for code in self.market_data.currencies]

    def balance(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        currency = match["currency"]
        if currency not in self.market_data.currencies:
            raise ApiError.coded("404.006", "Currency not found for corresponding request.")
        return self._balance_row(account, currency)

    def _fee_row(self, market: MarketSpec) -> dict[str, object]:
        fees = {
            "maker": format_decimal(MAKER_FEE * 100, 5),
            "taker": format_decimal(TAKER_FEE * 100, 5),
        }
        return {
            "currency_pair": market.symbol,
            "market": market.symbol,
            "fees": [fees] if self.switches.trading_fees_as_list else fees,
        }

    def trading_fees(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``fees/trading/``: one row per market, percent strings."""
        return [self._fee_row(market) for market in self.market_data.markets.values()]

    def trading_fee(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``fees/trading/{market}/``: one object (not a list)."""
        return self._fee_row(self.market(match["market_symbol"]))

    def _withdrawal_row(self, code: str) -> dict[str, str]:
        currency = self.market_data.currencies[code]
        assert currency.network is not None
        return {
            "currency": code,
            "fee": format_decimal(Decimal(currency.withdrawal_fee), 8),
            "network": currency.network,
        }

    def withdrawal_fees(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``fees/withdrawal/``: every currency that can be withdrawn on a network."""
        return [
            self._withdrawal_row(code)
            for code, currency in self.market_data.currencies.items()
            if currency.network is not None
        ]

    def withdrawal_fee(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``fees/withdrawal/{currency}/``, optionally for one ``network``."""
        code = match["currency"]
        currency = self.market_data.currencies.get(code)
        if currency is None or currency.network is None:
            raise ApiError.coded("404.006", "Currency not found for corresponding request.")
        network = form.get("network")
        if network and network != currency.network:
            raise ApiError.coded("400.001", {"network": ["Not a valid choice."]})
        return self._withdrawal_row(code)

    def my_markets(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``my_markets/``: the markets this account may trade."""
        return [
            {"name": market.name, "url_symbol": market.symbol}
            for market in self.market_data.markets.values()
        ]

    def websockets_token(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``websockets_token/``: a 32-character token valid 60 seconds."""
        now = self._server_time()
        for stale in [t for t, (_, expiry) in self.websocket_tokens.items() if expiry <= now]:
            del self.websocket_tokens[stale]
            account.websocket_tokens.pop(stale, None)
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(32))
        self.websocket_tokens[token] = (account, now + WEBSOCKET_TOKEN_SECONDS)
        account.websocket_tokens[token] = now + WEBSOCKET_TOKEN_SECONDS
        return {"token": token, "user_id": account.user_id, "valid_sec": WEBSOCKET_TOKEN_SECONDS}

    def check_ws_token(self, token: str) -> int | None:
        """The user id a WebSocket token was issued to, if it is still valid."""
        found = self.websocket_tokens.get(token)
        if found is None:
            return None
        account, expiry = found
        if expiry <= self._server_time() or self._accounts.get(account.api_key) is not account:
            return None
        return account.user_id

    def user_transactions(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        symbol = match.get("market_symbol")
        market = None if symbol is None else self.market(symbol)
        return self.desk.user_transactions(account, market, form)

    def revoke_all_api_keys(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``revoke_all_api_keys/``: the kill switch. Every key of this account's user stops
        working once the answer is sent (API0001 from then on)."""
        keys = [key for key, other in self._accounts.items() if other.user_id == account.user_id]
        for key in keys:
            del self._accounts[key]
        return {"revoked_api_keys": keys}

    # -- orders -------------------------------------------------------------------------

    def _placing(
        self,
        place: Callable[[FakeAccount, MarketSpec, int, Mapping[str, str]], object],
        side: int,
    ) -> PrivateEndpoint:
        def handle(account: FakeAccount, form: dict[str, str], match: Mapping[str, str]) -> object:
            return place(account, self.market(match["market_symbol"]), side, form)

        return handle

    def cancel_all_for_market(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        return self.desk.cancel_all(account, self.market(match["market_symbol"]))

    def open_orders_for_market(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        symbol = match["market_symbol"]
        if symbol == "all":  # ccxt's spelling of "every market"
            return self.desk.open_orders(account, None, "all")
        return self.desk.open_orders(account, self.market(symbol), symbol)
