"""The emulator's HTTP server: aiohttp app, routes, request pipeline, lifecycle.

Every request passes one middleware, in this order:

1. counted (``stats``) and, with ``record_arrivals``, its arrival time kept;
2. an injected fault, if one matches, answers it raw (a CDN 502 page, a maintenance JSON);
3. the rate limit (400.002 when any window is full) -- before routing and auth, like a
   front door that does not know what the request is;
4. routing: unknown path 404.001, wrong verb 405.001;
5. private routes: auth v2 (``_auth_check``), then the endpoint, then the response
   signature ``X-Server-Auth-Signature``.

``ApiError`` raised anywhere becomes its JSON answer. The one catch-all ``except`` turns an
emulator bug into a 500 JSON answer and logs it. Every answer carries a ``Date`` header from
the server clock, ``clock_offset`` included.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import ssl
import string
import time
import types
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import formatdate
from typing import Final, Literal

import orjson
from aiohttp import web

from .._auth import Credentials, QuerySigning, response_signature
from ._accounts import FakeAccount
from ._auth_check import AuthChecker, SignedRequest
from ._errors import ApiError
from ._market_data import OHLC_STEPS, MarketData, MarketSpec
from ._order_book import BUY, SELL, synthetic_top
from ._rate_limit import SlidingWindowLimiter
from ._trading import TradingEngine

__all__ = ["FakeBitstamp", "FakeStats"]

logger = logging.getLogger("aiobitstamp.testing")

JSON_CONTENT_TYPE: Final = "application/json"
DEFAULT_FAULT_BODY: Final = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
RATE_LIMIT_BODY: Final = {
    "status": "error",
    "reason": "Request rejected due to exceeded rate limit.",
    "response_code": "400.002",
}
WEBSOCKET_TOKEN_SECONDS: Final = 60
_API: Final = "/api/v2/"
_TOKEN_ALPHABET: Final = string.ascii_letters + string.digits
_TRANSACTION_WINDOWS: Final = {"minute": 60, "hour": 3600, "day": 86400}
_TRUE_WORDS: Final = frozenset({"true", "1", "yes", "y", "on", "t"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no", "n", "off", "f"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PrivateEndpoint = Callable[[FakeAccount, dict[str, str], Mapping[str, str]], object]
PublicEndpoint = Callable[[web.Request], object]


@dataclass
class FakeStats:
    """Counters of what the emulator saw; ``reset()`` between phases of a test."""

    requests: int = 0
    rate_limited: int = 0
    faults_served: int = 0
    server_errors: int = 0
    auth_failures: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        """Zero every counter."""
        self.requests = self.rate_limited = self.faults_served = self.server_errors = 0
        self.auth_failures.clear()
        self.paths.clear()


@dataclass
class _Fault:
    path: str | None
    status: int
    body: bytes
    content_type: str
    remaining: int
    delay: float


def _json_response(status: int, payload: object) -> web.Response:
    # Content-Type set verbatim: the response signature covers this exact header value.
    return web.Response(
        status=status, body=orjson.dumps(payload), headers={"Content-Type": JSON_CONTENT_TYPE}
    )


def _form(body: bytes) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class FakeBitstamp:
    """A local Bitstamp exchange: REST v2 with strict auth, rate limits, books and orders.

    Runs a real aiohttp server on ``host:port`` (port 0 picks a free one). Use it as an
    async context manager, or call :meth:`start` and :meth:`close`::

        async with FakeBitstamp() as fake:
            fake.add_account("mykey", "mysecret", {"usd": "10000", "btc": "1"})
            # point the client at fake.url

    Parameters:

    * ``rate_limits``: ``(count, seconds)`` sliding windows enforced together over request
      arrivals, per client IP (``rate_limit_scope="ip"``) or per API key (``"key"``);
      ``None`` disables them. A rejection is ``rate_limit_http_status`` (400 by default:
      the real status is unconfirmed) with a 400.002 body, plus ``Retry-After`` when
      ``retry_after`` is set.
    * ``query_signing``: whether a signed query string includes its ``?`` (unconfirmed).
    * ``sign_responses``: send ``X-Server-Auth-Signature`` on private successes (settable).
    * ``ssl_context``: serve HTTPS. ``book_depth``: levels per side of the main books.
      ``seed``: all synthetic data. ``record_arrivals``: keep ``arrivals``.
    * ``wall_clock`` / ``monotonic_clock``: replaceable for deterministic tests. The wall
      clock plus ``clock_offset`` is the exchange's time (timestamps, API0017, ``Date``);
      the monotonic one drives rate windows, nonce expiry and ``arrivals``.

    Unknown pairs answer 404.003 on every route that names one; perpetuals are listed in
    ``markets/`` only. ``stats`` counts what the server saw; ``inject_fault`` makes the next
    requests fail the way proxies and maintenance windows do.
    """

    __test__ = False  # not a pytest test class, despite being used in tests

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: Iterable[tuple[int, float]] | None = ((400, 1.0), (10_000, 600.0)),
        rate_limit_http_status: int = 400,
        retry_after: float | None = None,
        rate_limit_scope: Literal["ip", "key"] = "ip",
        query_signing: QuerySigning = QuerySigning.WITHOUT_QUESTION_MARK,
        sign_responses: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        book_depth: int = 5000,
        seed: int = 1,
        record_arrivals: bool = False,
        wall_clock: Callable[[], float] = time.time,
        monotonic_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_limit_scope not in ("ip", "key"):
            raise ValueError(f"rate_limit_scope must be 'ip' or 'key', not {rate_limit_scope!r}")
        if book_depth < 1:
            raise ValueError("book_depth must be at least 1")
        self.host = host
        self.port = port
        self.rate_limit_http_status = rate_limit_http_status
        self.retry_after = retry_after
        self.rate_limit_scope = rate_limit_scope
        self.sign_responses = sign_responses
        self.ssl_context = ssl_context
        self.clock_offset = 0.0
        self.stats = FakeStats()
        self.arrivals: list[float] = []
        self.record_arrivals = record_arrivals
        self._wall_clock = wall_clock
        self._monotonic = monotonic_clock
        self._limiter = (
            None
            if rate_limits is None
            else SlidingWindowLimiter(list(rate_limits), monotonic_clock)
        )
        self._accounts: dict[str, FakeAccount] = {}
        self._next_user_id = 1_000_001
        self._auth = AuthChecker(
            self._accounts,
            wall_clock=self.server_time,
            monotonic_clock=monotonic_clock,
            query_signing=query_signing,
        )
        self._market_data = MarketData(seed)
        self._engine = TradingEngine(
            self._market_data, seed=seed, book_depth=book_depth, clock=self.server_time
        )
        self._faults: list[_Fault] = []
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        # The catalogue never changes: serialise it once.
        self._static = {
            "markets": orjson.dumps(self._market_data.markets_payload()),
            "trading_pairs": orjson.dumps(self._market_data.trading_pairs_payload()),
            "currencies": orjson.dumps(self._market_data.currencies_payload()),
            "eur_usd": orjson.dumps(self._market_data.eur_usd_payload()),
        }

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> FakeBitstamp:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start serving; ``url`` is valid afterwards."""
        if self._runner is not None:
            raise RuntimeError("FakeBitstamp is already running")
        runner = web.AppRunner(self._build_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"{scheme}://{host}:{port}"

    async def close(self) -> None:
        """Stop serving. Safe to call more than once."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        """Base URL for the client, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._url is None or self._runner is None:
            raise RuntimeError("FakeBitstamp is not running: use 'async with' or start()")
        return self._url

    def server_time(self) -> float:
        """The exchange's clock in Unix seconds: the wall clock plus ``clock_offset``."""
        return self._wall_clock() + self.clock_offset

    # -- configuration ------------------------------------------------------------------

    @property
    def query_signing(self) -> QuerySigning:
        """Whether a signed query string includes its ``?`` (unconfirmed; configurable)."""
        return self._auth.query_signing

    @query_signing.setter
    def query_signing(self, value: QuerySigning) -> None:
        self._auth.query_signing = value

    @property
    def accounts(self) -> Mapping[str, FakeAccount]:
        """Registered accounts by API key (read-only view)."""
        return types.MappingProxyType(self._accounts)

    def add_account(
        self,
        api_key: str,
        api_secret: str,
        balances: Mapping[str, Decimal | str | int] | None = None,
        *,
        user_id: int | None = None,
        frozen: bool = False,
        allowed_ips: Iterable[str] | None = None,
        permissions: Iterable[str] | None = None,
    ) -> FakeAccount:
        """Register an API key with its secret and starting balances; returns the account.

        ``allowed_ips=None`` allows every address; ``permissions=None`` allows every
        endpoint, otherwise a subset of ``PERMISSIONS``.
        """
        if not (api_key.isascii() and api_key.isalnum()):
            raise ValueError("Bitstamp API keys are ASCII letters and digits only")
        if api_key in self._accounts:
            raise ValueError(f"an account with API key {api_key!r} already exists")
        if user_id is None:
            user_id = self._next_user_id
            self._next_user_id += 1
        account = FakeAccount(
            Credentials(api_key, api_secret),
            user_id=user_id,
            currency_decimals={c.code: c.decimals for c in self._market_data.currencies.values()},
            balances=balances,
            frozen=frozen,
            allowed_ips=allowed_ips,
            permissions=permissions,
        )
        self._accounts[api_key] = account
        return account

    def inject_fault(
        self,
        path: str | None = None,
        *,
        status: int = 502,
        body: bytes | str = DEFAULT_FAULT_BODY,
        content_type: str = "text/html",
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``times`` requests (to ``path``, or any) with this raw response.

        ``path`` is a request path (``"/api/v2/ticker/btcusd/"``) or one relative to
        ``/api/v2/`` (``"ticker/btcusd/"``). Faults answer before the rate limit, like a
        proxy in front of the API; ``delay`` holds the answer back that many seconds.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if path is not None and not path.startswith("/"):
            path = _API + path
        payload = body.encode() if isinstance(body, str) else body
        self._faults.append(_Fault(path, status, payload, content_type, times, delay))

    def clear_faults(self) -> None:
        """Forget every injected fault not yet served."""
        self._faults.clear()

    # -- pipeline -----------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        @web.middleware
        async def pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._dispatch(request, handler)

        app = web.Application(middlewares=[pipeline])
        app.on_response_prepare.append(self._stamp_date)
        self._add_routes(app.router)
        return app

    async def _stamp_date(self, request: web.Request, response: web.StreamResponse) -> None:
        # aiohttp would stamp real time; the exchange's clock may be skewed on purpose.
        response.headers["Date"] = formatdate(self.server_time(), usegmt=True)

    async def _dispatch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.stats.requests += 1
        self.stats.paths[request.path] += 1
        if self.record_arrivals:
            self.arrivals.append(self._monotonic())
        fault = self._take_fault(request.path)
        if fault is not None:
            self.stats.faults_served += 1
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)  # simulated latency, not synchronisation
            return web.Response(
                status=fault.status, body=fault.body, headers={"Content-Type": fault.content_type}
            )
        if self._limiter is not None and not self._limiter.try_acquire(self._scope(request)):
            self.stats.rate_limited += 1
            response = _json_response(self.rate_limit_http_status, RATE_LIMIT_BODY)
            if self.retry_after is not None:
                response.headers["Retry-After"] = str(math.ceil(self.retry_after))
            return response
        try:
            self._engine.expire_due()
            return await handler(request)
        except ApiError as error:
            code = error.body.get("code")
            if isinstance(code, str):
                self.stats.auth_failures[code] += 1
            return _json_response(error.status, error.body)
        except web.HTTPNotFound:
            return _json_response(
                404, {"status": "error", "reason": "Not found.", "response_code": "404.001"}
            )
        except web.HTTPMethodNotAllowed:
            return _json_response(
                405,
                {
                    "status": "error",
                    "reason": f"{request.method} method not allowed for this request.",
                    "response_code": "405.001",
                },
            )
        except web.HTTPException:
            raise
        except Exception:  # the single dispatch boundary: an emulator bug becomes a 500
            self.stats.server_errors += 1
            logger.exception("emulator failed on %s %s", request.method, request.path)
            return _json_response(
                500,
                {"status": "error", "reason": "Unknown server error.", "response_code": "500.001"},
            )

    def _take_fault(self, path: str) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.path is None or fault.path == path:
                fault.remaining -= 1
                if fault.remaining == 0:
                    del self._faults[index]
                return fault
        return None

    def _scope(self, request: web.Request) -> str:
        if self.rate_limit_scope == "key":
            x_auth = request.headers.get("X-Auth", "")
            if x_auth.startswith("BITSTAMP "):
                return "key:" + x_auth[len("BITSTAMP ") :]
        return "ip:" + (request.remote or "")

    def _public(self, endpoint: PublicEndpoint, *, query_allowed: bool = True) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            if not query_allowed and request.query_string:
                raise ApiError.coded("400.018", "GET parameters not allowed for this request.")
            payload = endpoint(request)
            if isinstance(payload, bytes):
                return web.Response(body=payload, headers={"Content-Type": JSON_CONTENT_TYPE})
            return _json_response(200, payload)

        return handle

    def _private(self, permission: str, endpoint: PrivateEndpoint) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            raw_path, _, raw_query = request.raw_path.partition("?")
            host = request.headers.get("Host", "")
            signed = SignedRequest(
                method=request.method,
                host=host,
                path=raw_path,
                query=raw_query,
                url_length=len(request.scheme) + len("://") + len(host) + len(request.raw_path),
                headers=request.headers,
                body=body,
                peer=request.remote,
            )
            auth = self._auth.check(signed, permission)
            payload = orjson.dumps(endpoint(auth.account, _form(body), request.match_info))
            response = web.Response(body=payload, headers={"Content-Type": JSON_CONTENT_TYPE})
            if self.sign_responses:
                response.headers["X-Server-Auth-Signature"] = response_signature(
                    auth.account.credentials,
                    auth.nonce,
                    auth.timestamp,
                    response.headers["Content-Type"],
                    payload,
                )
            return response

        return handle

    # -- routes -------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        public, private = self._public, self._private
        static = self._static
        for path, endpoint, query_allowed in (
            ("ticker/", self._tickers, False),
            ("ticker/{pair}/", self._ticker, False),
            ("ticker_hour/{pair}/", self._ticker_hour, False),
            ("order_book/{pair}/", self._order_book, True),
            ("transactions/{pair}/", self._transactions, True),
            ("ohlc/{pair}/", self._ohlc, True),
            ("markets/", lambda _: static["markets"], True),
            ("trading-pairs-info/", lambda _: static["trading_pairs"], True),
            ("currencies/", lambda _: static["currencies"], True),
            ("eur_usd/", lambda _: static["eur_usd"], True),
            ("travel_rule/vasps/", self._vasps, True),
        ):
            router.add_get(_API + path, public(endpoint, query_allowed=query_allowed))
        engine = self._engine
        for path, permission, private_endpoint in (
            ("account_balances/", "account_balances", self._balances),
            ("account_balances/{currency}/", "account_balances", self._balance),
            ("buy/{pair}/", "buy_limit_order", self._limit(BUY)),
            ("sell/{pair}/", "sell_limit_order", self._limit(SELL)),
            ("buy/market/{pair}/", "buy_market_order", self._market_order(BUY)),
            ("sell/market/{pair}/", "sell_market_order", self._market_order(SELL)),
            ("cancel_order/", "cancel_order", lambda a, f, _: engine.cancel_order(a, f)),
            ("cancel_all_orders/", "cancel_all_orders", lambda a, f, _: engine.cancel_all(a, None)),
            ("cancel_all_orders/{pair}/", "cancel_all_orders", self._cancel_all_market),
            ("open_orders/", "open_orders", lambda a, f, _: engine.open_orders(a, None)),
            ("open_orders/{pair}/", "open_orders", self._open_orders_market),
            ("order_status/", "order_status", lambda a, f, _: engine.order_status(a, f)),
            ("user_transactions/", "user_transactions", self._user_transactions),
            ("user_transactions/{pair}/", "user_transactions", self._user_transactions),
            ("websockets_token/", "websockets_token", self._websockets_token),
            ("fees/trading/", "trading_fees", self._fees),
            ("fees/trading/{pair}/", "trading_fees", self._fees),
        ):
            router.add_post(_API + path, private(permission, private_endpoint))

    def _market(self, symbol: str) -> MarketSpec:
        market = self._market_data.markets.get(symbol)
        if market is None:
            # 404.003 for every route that names a pair; perpetuals are listed, not traded.
            raise ApiError.coded("404.003", "Currency pair not found for corresponding request.")
        return market

    def _top_of_book(self, market: MarketSpec) -> tuple[int | None, int | None]:
        book = self._engine.built_book(market)
        if book is None:
            # Quoting needs no 5,000-level book: an untouched book's top is known.
            return synthetic_top(market)
        return book.bids.best(), book.asks.best()

    # -- public endpoints ---------------------------------------------------------------

    def _tickers(self, request: web.Request) -> object:
        now = self.server_time()
        rows = []
        for market in self._market_data.markets.values():
            row: dict[str, str] = self._market_data.ticker(market, now, *self._top_of_book(market))
            row["pair"] = market.name
            row["market"] = market.name
            rows.append(row)
        return rows

    def _ticker(self, request: web.Request) -> object:
        market = self._market(request.match_info["pair"])
        return self._market_data.ticker(market, self.server_time(), *self._top_of_book(market))

    def _ticker_hour(self, request: web.Request) -> object:
        market = self._market(request.match_info["pair"])
        return self._market_data.ticker_hour(market, self.server_time(), *self._top_of_book(market))

    def _order_book(self, request: web.Request) -> object:
        market = self._market(request.match_info["pair"])
        group = request.query.get("group", "1")
        if group not in ("0", "1", "2"):
            raise ApiError.coded("400.001", "Invalid GET parameter.")
        bids, asks = self._engine.book(market).wire_sides(int(group))
        now = self.server_time()
        head = b'{"timestamp":"%d","microtimestamp":"%d","bids":' % (int(now), int(now * 1e6))
        return b"".join((head, bids, b',"asks":', asks, b"}"))

    def _transactions(self, request: web.Request) -> object:
        market = self._market(request.match_info["pair"])
        window = _TRANSACTION_WINDOWS.get(request.query.get("time", "hour"))
        if window is None:
            raise ApiError.query("time", "Must be one of: minute, hour, day.")
        now = self.server_time()
        trades = self._market_data.trades(market, now - window, now)
        return [self._market_data.trade_payload(market, trade) for trade in trades]

    def _vasps(self, request: web.Request) -> object:
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
        return self._market_data.vasps_payload(values["page"], values["per_page"])

    def _ohlc(self, request: web.Request) -> object:
        market = self._market(request.match_info["pair"])
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
        now = int(self.server_time())
        newest = now - now % step
        if exclude_text in _TRUE_WORDS:
            newest -= step
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
        candles = self._market_data.candles(market, step, first, last)
        return {
            "data": {
                "pair": market.name,
                "market": market.name,
                "ohlc": [self._market_data.candle_payload(market, c) for c in candles],
            }
        }

    # -- private endpoints --------------------------------------------------------------

    @staticmethod
    def _balance_row(account: FakeAccount, currency: str) -> dict[str, str]:
        balance = account.balance(currency)
        return {
            "currency": balance.currency,
            "total": f"{balance.total:f}",
            "available": f"{balance.available:f}",
            "reserved": f"{balance.reserved:f}",
        }

    def _balances(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        return [self._balance_row(account, code) for code in self._market_data.currencies]

    def _balance(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        currency = match["currency"]
        if currency not in self._market_data.currencies:
            raise ApiError.coded("404.006", "Currency not found for corresponding request.")
        return self._balance_row(account, currency)

    def _limit(self, side: int) -> PrivateEndpoint:
        def place(account: FakeAccount, form: dict[str, str], match: Mapping[str, str]) -> object:
            return self._engine.place_limit(account, self._market(match["pair"]), side, form)

        return place

    def _market_order(self, side: int) -> PrivateEndpoint:
        def place(account: FakeAccount, form: dict[str, str], match: Mapping[str, str]) -> object:
            return self._engine.place_market(account, self._market(match["pair"]), side, form)

        return place

    def _cancel_all_market(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        return self._engine.cancel_all(account, self._market(match["pair"]))

    def _open_orders_market(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        if match["pair"] == "all":  # ccxt's spelling of "every market"
            return self._engine.open_orders(account, None)
        return self._engine.open_orders(account, self._market(match["pair"]))

    def _user_transactions(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        pair = match.get("pair")
        market = None if pair is None else self._market(pair)
        return self._engine.user_transactions(account, market, form)

    def _websockets_token(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        now = self.server_time()
        tokens = account.websocket_tokens
        for stale in [t for t, expiry in tokens.items() if expiry <= now]:
            del tokens[stale]
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(32))
        tokens[token] = now + WEBSOCKET_TOKEN_SECONDS
        return {"token": token, "user_id": account.user_id, "valid_sec": WEBSOCKET_TOKEN_SECONDS}

    def _fees(self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]) -> object:
        pair = match.get("pair")
        markets = list(self._market_data.markets.values()) if pair is None else [self._market(pair)]
        return self._engine.trading_fees(markets)
