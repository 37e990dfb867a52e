"""The emulator's HTTP server: aiohttp app, routes from the table, pipeline, lifecycle.

Every request passes one middleware, in this order:

1. counted (``stats``) and, with ``record_arrivals``, its arrival time kept;
2. a fault switch acting *before* the API, if one fires, answers it (a CDN 502 page, a
   maintenance JSON), holds it back, drops or resets the connection (``_faults``);
3. the rate limit (400.002 when any window is full) -- before routing and auth, like a
   front door that does not know what the request is;
4. the living markets are run up to the present (``_engine``);
5. routing: unknown path 404.001, wrong verb 405.001;
6. signed routes: auth v2 (``_auth_check``), then the endpoint, then the response
   signature ``X-Server-Auth-Signature``;
7. a fault switch acting *after executing* may still drop, reset, delay or replace the
   answer: the exchange has acted, the client may never know.

``ApiError`` raised anywhere becomes its JSON answer. The one catch-all ``except`` turns an
emulator bug into a 500 JSON answer and logs it. Every answer carries a ``Date`` header from
the server clock, ``clock_offset`` included.

Routes come from ``aiobitstamp._routes.ROUTES``: each route with a handler in
``_endpoints`` is registered with the table's verb and path; the others are not served.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import socket
import ssl
import struct
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

from .._auth import Credentials, QuerySigning
from .._routes import ROUTES, Route
from ._accounts import FakeAccount, FakeApiKey
from ._auth_check import AuthChecker, SignedRequest, server_signature
from ._endpoints import Endpoints, PrivateEndpoint, PublicEndpoint
from ._engine import LiveMarket, MatchingEngine, RestingOrder
from ._errors import ApiError
from ._faults import API_PREFIX, DEFAULT_FAULT_BODY, FaultRule, Faults
from ._feed import MarketFeed, TradePrinted
from ._funding import FundingControls
from ._market_data import MarketData
from ._rate_limit import SlidingWindowLimiter
from ._switches import SPEC_JSON_BODY_PATHS, Switches
from ._trading import OrderDesk
from ._ws_server import FakeWebSocketServer, start_websocket_endpoint

__all__ = ["FakeBitstamp", "FakeStats"]

logger = logging.getLogger("aiobitstamp.testing")

JSON_CONTENT_TYPE: Final = "application/json"
RATE_LIMIT_BODY: Final = {
    "status": "error",
    "reason": "Request rejected due to exceeded rate limit.",
    "response_code": "400.002",
}
_API: Final = API_PREFIX
_HIGH_ID_OFFSET: Final = 2**53 + 1  # odd: the ids a double cannot hold
_LINGER_RESET: Final = struct.pack("ii", 1, 0)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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


def _json_response(status: int, payload: object) -> web.Response:
    # Content-Type set verbatim: the response signature covers this exact header value.
    return web.Response(
        status=status, body=orjson.dumps(payload), headers={"Content-Type": JSON_CONTENT_TYPE}
    )


def _form(body: bytes) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _json_form(body: bytes) -> dict[str, str]:
    """A JSON body read as the form the endpoints take: strings as they are, numbers as
    their exact text, nested objects as JSON text (as a form carries them), booleans as
    the form's ``True``/``False``. Anything but one JSON object is a 400.001."""
    try:
        decoded = json.loads(body, parse_float=str, parse_int=str)
    except ValueError:
        raise ApiError.coded("400.001", "Request body is not valid JSON.") from None
    if not isinstance(decoded, dict):
        raise ApiError.coded("400.001", "Request body must be a JSON object.")
    form: dict[str, str] = {}
    for name, value in decoded.items():
        if isinstance(value, bool):
            form[name] = "True" if value else "False"
        elif isinstance(value, dict | list):
            form[name] = orjson.dumps(value).decode()
        elif value is not None:
            form[name] = str(value)
    return form


class FakeBitstamp(FundingControls):
    """A local Bitstamp exchange: REST v2 with strict auth, rate limits, and living markets.

    Runs a real aiohttp server on ``host:port`` (port 0 picks a free one). Use it as an
    async context manager, or call :meth:`start` and :meth:`close`::

        async with FakeBitstamp() as fake:
            fake.add_account("mykey", "mysecret", {"usd": "10000", "btc": "1"})
            # point the client at fake.url

    Each market lives: a matching engine with price-time priority, and synthetic market
    makers, takers and sweeps (``_flow``) that move the book, refill it and fill users'
    resting orders. Trades, tickers and candles all derive from the matches. Time is
    simulated: ``market_time()`` runs at ``speed`` times the wall clock, plus whatever
    :meth:`advance` added, and everything is deterministic from ``seed``.

    Parameters:

    * ``rate_limits``: ``(count, seconds)`` sliding windows enforced together over request
      arrivals, per client IP (``rate_limit_scope="ip"``) or per API key (``"key"``);
      ``None`` disables them. A rejection is ``rate_limit_http_status`` (400 by default:
      the real status is unconfirmed) with a 400.002 body, plus ``Retry-After`` when
      ``retry_after`` is set.
    * ``query_signing``: whether a signed query string includes its ``?`` (unconfirmed).
    * ``sign_responses``: send ``X-Server-Auth-Signature`` on private successes (settable).
    * ``ssl_context``: serve HTTPS. ``book_depth``: levels per side of the deep books.
      ``seed``: all synthetic data and flow. ``record_arrivals``: keep ``arrivals``.
    * ``wall_clock`` / ``monotonic_clock``: replaceable for deterministic tests. The wall
      clock plus ``clock_offset`` is the exchange's time (timestamps, API0017, ``Date``);
      the monotonic one drives rate windows, nonce expiry and ``arrivals``.
    * ``message_rate``: market-feed events per simulated second each living market aims at
      (roughly; 0 freezes the synthetic participants). Settable.
    * ``speed``: simulated seconds per wall-clock second (settable).
    * ``genesis``: when the markets start living (Unix seconds, rounded down to the
      minute; default: now). History before it is synthetic, after it every trade, ticker
      and candle comes from matches (see ``_tape``).
    * ``switches``: disputed and unconfirmed behaviours (``Switches``).

    Unknown pairs answer 404.003 on every route that names one; perpetuals are listed in
    ``markets/`` and have funding rates, but are not traded. ``stats`` counts what the
    server saw; ``faults`` makes requests fail the way networks, proxies and maintenance
    windows do (``_faults``), and :meth:`refuse_connections` closes the door for a while.

    The market, for streams and tests: ``feed`` (every change, as it happens),
    :meth:`book_snapshot`, :meth:`detail_book`, :meth:`open_market_orders`,
    :meth:`trade_log`, :meth:`advance` (simulated time, instantly), :meth:`run_market`
    (keep it running without requests) and :meth:`check_ws_token`.
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
        message_rate: float = 2.0,
        speed: float = 1.0,
        genesis: float | None = None,
        switches: Switches | None = None,
    ) -> None:
        if rate_limit_scope not in ("ip", "key"):
            raise ValueError(f"rate_limit_scope must be 'ip' or 'key', not {rate_limit_scope!r}")
        if book_depth < 1:
            raise ValueError("book_depth must be at least 1")
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError("speed must be a finite number > 0")
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
        self.switches = switches if switches is not None else Switches()
        self.faults = Faults(seed)
        self._wall_clock = wall_clock
        self._monotonic = monotonic_clock
        self._speed = speed
        self._wall_origin = wall_clock()
        self._advanced = 0.0
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
        start = self.market_time() if genesis is None else genesis
        self._feed = MarketFeed()
        self._engine = MatchingEngine(
            self._market_data,
            seed=seed,
            book_depth=book_depth,
            genesis=int(start // 60) * 60,
            feed=self._feed,
            message_rate=message_rate,
            id_offset=_HIGH_ID_OFFSET if self.switches.high_ids else 0,
        )
        self._desk = OrderDesk(self._engine, self.switches)
        self._endpoints = Endpoints(
            market_data=self._market_data,
            engine=self._engine,
            desk=self._desk,
            switches=self.switches,
            accounts=self._accounts,
            server_time=self.server_time,
            seed=seed,
        )
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._url: str | None = None
        self._market_task: asyncio.Task[None] | None = None
        self._ws: FakeWebSocketServer | None = None
        self._reopen: asyncio.TimerHandle | None = None

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
        self._site = site
        port = runner.addresses[0][1]
        self.port = port if self.port == 0 else self.port
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"{scheme}://{host}:{port}"
        self._ws = await start_websocket_endpoint(self)

    async def close(self) -> None:
        """Stop serving (and the market task, if running). Safe to call more than once."""
        await self.stop_market()
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        runner, self._runner = self._runner, None
        self._site = None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        """Base URL for the client, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._url is None or self._runner is None:
            raise RuntimeError("FakeBitstamp is not running: use 'async with' or start()")
        return self._url

    @property
    def ws(self) -> FakeWebSocketServer:
        """The WebSocket endpoint (its own port, like ws.bitstamp.net): faults, stats."""
        if self._ws is None:
            raise RuntimeError("FakeBitstamp is not running: use 'async with' or start()")
        return self._ws

    @property
    def ws_url(self) -> str:
        """WebSocket URL for the client's ``ws_url``, e.g. ``ws://127.0.0.1:54322``."""
        return self.ws.url

    # -- clocks -------------------------------------------------------------------------

    def server_time(self) -> float:
        """The exchange's clock in Unix seconds: the wall clock plus ``clock_offset``.

        Auth (the 150-second timestamp window, token expiry) and the ``Date`` header use
        it, so a client's clock stays comparable however fast the market runs.
        """
        return self._wall_clock() + self.clock_offset

    def market_time(self) -> float:
        """The markets' simulated clock in Unix seconds: the exchange's clock, running at
        ``speed``, plus every :meth:`advance`. Trades, orders and tickers carry it."""
        wall = self._wall_clock()
        elapsed = (self._speed - 1.0) * (wall - self._wall_origin)
        return wall + self.clock_offset + self._advanced + elapsed

    @property
    def speed(self) -> float:
        """Simulated seconds per wall-clock second."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if not (value > 0 and math.isfinite(value)):
            raise ValueError("speed must be a finite number > 0")
        wall = self._wall_clock()
        # Keep the time reached so far; only the pace from now on changes.
        self._advanced += (self._speed - 1.0) * (wall - self._wall_origin)
        self._wall_origin = wall
        self._speed = value

    @property
    def genesis(self) -> int:
        """When the markets started living (Unix seconds, a whole minute)."""
        return self._engine.genesis

    @property
    def message_rate(self) -> float:
        """Market-feed events per simulated second each living market aims at."""
        return self._engine.message_rate

    @message_rate.setter
    def message_rate(self, rate: float) -> None:
        self._catch_up()
        self._engine.message_rate = rate

    def _catch_up(self) -> None:
        self._engine.run_until(int(self.market_time() * 1_000_000))

    def advance(self, seconds: float) -> None:
        """Run simulated time ``seconds`` forward, now: every synthetic order, trade and
        expiry of that stretch happens (and is published) before this returns."""
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError("seconds must be a finite number >= 0")
        self._advanced += seconds
        self._catch_up()

    # -- the market, for streams and tests ----------------------------------------------

    @property
    def feed(self) -> MarketFeed:
        """Every change of every living market, as it happens (see ``_feed``)."""
        return self._feed

    def _live(self, market: str) -> LiveMarket:
        spec = self._market_data.markets.get(market)
        if spec is None:
            raise KeyError(f"no spot market {market!r}")
        self._catch_up()
        return self._engine.live(spec)

    def book_snapshot(
        self, market: str, depth: int | None = None
    ) -> tuple[int, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """``(microtimestamp, bids, asks)`` of ``market`` now, aggregated by price, best
        first, ``depth`` levels per side (all when None). The microtimestamp is that of the
        last ``BookChanged`` applied: later diffs replay onto it."""
        return self._engine.snapshot(self._live(market), depth)

    def detail_book(
        self, market: str, depth: int | None = 100
    ) -> tuple[int, list[tuple[Decimal, Decimal, int]], list[tuple[Decimal, Decimal, int]]]:
        """Like :meth:`book_snapshot` with one ``(price, amount, order_id)`` row per order,
        the best ``depth`` orders per side (``detail_order_book_``)."""
        return self._engine.detail(self._live(market), depth)

    def open_market_orders(self, market: str) -> list[RestingOrder]:
        """Every order resting in ``market``'s book, synthetic and users', in priority
        order (bids, then asks): the L3 view that ``live_orders_`` events update."""
        return self._engine.resting(self._live(market))

    def trade_log(self, market: str) -> list[TradePrinted]:
        """Every trade ``market`` printed since genesis, oldest first."""
        return self._live(market).tape.log()

    def check_ws_token(self, token: str) -> int | None:
        """The user id a ``websockets_token/`` token was issued to, while it is valid
        (60 seconds of the exchange's clock, and the key not revoked); else None."""
        return self._endpoints.check_ws_token(token)

    def run_market(
        self, message_rate: float | None = None, *, interval: float = 0.05
    ) -> asyncio.Task[None]:
        """Keep the markets running in the background, so the feed flows without requests.

        Without it the markets catch up lazily, on each request and each call above. The
        task wakes when the next synthetic event is due (at most every ``interval`` wall
        seconds) and runs every event up to now. Calling it again returns the same task
        (and sets ``message_rate``, if given); :meth:`stop_market` or :meth:`close` stop it.
        A WebSocket server calls this when its first client connects.
        """
        if message_rate is not None:
            self.message_rate = message_rate
        if self._market_task is None or self._market_task.done():
            self._market_task = asyncio.get_running_loop().create_task(
                self._run_market(interval), name="FakeBitstamp market"
            )
        return self._market_task

    async def stop_market(self) -> None:
        """Stop the background market task, if it runs."""
        task, self._market_task = self._market_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run_market(self, interval: float) -> None:
        while True:
            try:
                self._catch_up()
            except Exception:  # a market bug must not end the stream silently
                logger.exception("emulated market failed")
            due = self._engine.next_event_us() / 1e6 - self.market_time()
            pause = min(interval, max(0.001, due / self._speed))
            # Pacing of the simulation against the wall clock, not synchronisation.
            await asyncio.sleep(pause)

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

    def add_api_key(
        self,
        account: FakeAccount,
        api_key: str,
        api_secret: str,
        *,
        permissions: Iterable[str] | None = None,
        allowed_ips: Iterable[str] | None = None,
    ) -> FakeApiKey:
        """Give ``account`` a further API key, with its own secret, permissions (fine
        names of ``PERMISSIONS`` or scopes such as ``"read"``; ``None``: all) and IP
        allow-list. It works from the next request on; so does :meth:`remove_api_key`, and
        together they rotate a key the way a user does at the exchange (create the new
        key, move the client to it, delete the old one)."""
        if not (api_key.isascii() and api_key.isalnum()):
            raise ValueError("Bitstamp API keys are ASCII letters and digits only")
        if api_key in self._accounts:
            raise ValueError(f"API key {api_key!r} already exists")
        if self._accounts.get(account.api_key) is not account:
            raise ValueError(f"{account!r} is not an account of this exchange, or was revoked")
        key = FakeApiKey(
            Credentials(api_key, api_secret),
            account,
            permissions=permissions,
            allowed_ips=allowed_ips,
        )
        account.extra_keys[api_key] = key
        self._accounts[api_key] = account
        return key

    def remove_api_key(self, api_key: str) -> None:
        """Delete one API key: from the next request on it is unknown (API0001). Deleting
        the key an account was created with also ends its WebSocket tokens."""
        account = self._accounts.pop(api_key, None)
        if account is None:
            raise ValueError(f"no API key {api_key!r}")
        account.extra_keys.pop(api_key, None)

    def inject_fault(
        self,
        path: str | None = None,
        *,
        status: int = 502,
        body: bytes | str = DEFAULT_FAULT_BODY,
        content_type: str = "text/html",
        times: int = 1,
        delay: float = 0.0,
        after_executing: bool = False,
    ) -> FaultRule:
        """Answer the next ``times`` requests (to paths starting with ``path``, or any)
        with this raw response. Shorthand for a ``faults`` rule.

        ``path`` is a request path (``"/api/v2/ticker/btcusd/"``) or one relative to
        ``/api/v2/`` (``"ticker/btcusd/"``). Faults answer before the rate limit, like a
        proxy in front of the API, unless ``after_executing``: then the exchange acts
        first. ``delay`` holds the answer back that many seconds.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        return self.faults.add(
            "answer",
            stage="after" if after_executing else "before",
            path=path,
            times=times,
            status=status,
            body=body,
            content_type=content_type,
            seconds=delay,
        )

    def clear_faults(self) -> None:
        """Forget every fault rule."""
        self.faults.clear()

    async def refuse_connections(self, seconds: float | None = None) -> None:
        """Close the listening socket: new connections are refused (ECONNREFUSED) until
        :meth:`accept_connections`, or for ``seconds`` of wall time. Connections already
        open are served. This fault has no path or probability: no request exists yet."""
        site = self._site
        if site is None:
            raise RuntimeError("FakeBitstamp is not running")
        self._site = None
        await site.stop()
        if seconds is not None:
            loop = asyncio.get_running_loop()
            self._reopen = loop.call_later(
                seconds, lambda: loop.create_task(self.accept_connections())
            )

    async def accept_connections(self) -> None:
        """Listen again (same host and port) after :meth:`refuse_connections`."""
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._runner is None or self._site is not None:
            return
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        self._site = site

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
        path = request.path
        self.stats.paths[path] += 1
        if self.record_arrivals:
            self.arrivals.append(self._monotonic())
        rule = self.faults.take("before", path)
        if rule is not None:
            self.stats.faults_served += 1
            if rule.action != "delay":
                return await self._serve_fault(request, rule, None)
            await asyncio.sleep(rule.seconds)  # simulated latency, not synchronisation
        if self._limiter is not None and not self._limiter.try_acquire(self._scope(request)):
            self.stats.rate_limited += 1
            rejection = _json_response(self.rate_limit_http_status, RATE_LIMIT_BODY)
            if self.retry_after is not None:
                rejection.headers["Retry-After"] = str(math.ceil(self.retry_after))
            return rejection
        response = await self._answer(request, handler)
        rule = self.faults.take("after", path, response.status)
        if rule is not None:
            self.stats.faults_served += 1
            return await self._serve_fault(request, rule, response)
        return response

    async def _serve_fault(
        self, request: web.Request, rule: FaultRule, response: web.StreamResponse | None
    ) -> web.StreamResponse:
        if rule.seconds > 0:
            await asyncio.sleep(rule.seconds)  # simulated latency, not synchronisation
        if rule.action == "answer":
            return web.Response(
                status=rule.status, body=rule.body, headers={"Content-Type": rule.content_type}
            )
        if rule.action in ("drop", "reset"):
            transport = request.transport
            if transport is not None:
                if rule.action == "reset":
                    sock = transport.get_extra_info("socket")
                    if sock is not None:
                        with contextlib.suppress(OSError):
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                    transport.abort()
                else:
                    transport.close()
            # Never sent: the transport is gone. aiohttp drops it quietly.
            return web.Response(status=500)
        assert response is not None  # a delay after executing
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            self._catch_up()
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

    def _private(self, route: Route, endpoint: PrivateEndpoint) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            if route.verb_disputed and request.method != self._verb(route):
                raise web.HTTPMethodNotAllowed(request.method, [self._verb(route)])
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
            json_accepted = (
                self.switches.spec_json_bodies and route.template in SPEC_JSON_BODY_PATHS
            )
            auth = self._auth.check(signed, route.permission, json_accepted=json_accepted)
            if request.method != "POST":
                form = dict(request.query)
            elif json_accepted and request.content_type == JSON_CONTENT_TYPE:
                form = _json_form(body)
            else:
                form = _form(body)
            payload = orjson.dumps(endpoint(auth.account, form, request.match_info))
            response = web.Response(body=payload, headers={"Content-Type": JSON_CONTENT_TYPE})
            if self.sign_responses:
                response.headers["X-Server-Auth-Signature"] = server_signature(
                    auth.credentials.api_secret,
                    auth.nonce,
                    auth.timestamp,
                    response.headers["Content-Type"],
                    payload,
                )
            return response

        return handle

    def _verb(self, route: Route) -> str:
        if route.name == "my_markets":
            return self.switches.my_markets_method
        return route.method

    # -- routes -------------------------------------------------------------------------

    def served_routes(self) -> list[str]:
        """Names of the routes of ``ROUTES`` this emulator serves."""
        public = self._endpoints.public_handlers()
        private = {**self._endpoints.private_handlers(), **self._funding_handlers()}
        return [
            name for name, route in ROUTES.items() if name in (private if route.signed else public)
        ]

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        public = self._endpoints.public_handlers()
        private = {**self._endpoints.private_handlers(), **self._funding_handlers()}
        # Paths without placeholders first: "ripple_address/" must not be taken for
        # "{currency}_address/".
        ordered = sorted(ROUTES.values(), key=lambda route: bool(route.placeholders))
        for route in ordered:
            path = _API + route.template  # aiohttp's router reads the same {name} syntax
            if route.signed:
                endpoint = private.get(route.name)
                if endpoint is None:
                    continue
                handler = self._private(route, endpoint)
                # A disputed verb answers to both; the handler checks the switch, so the
                # switch can be flipped while serving.
                verbs = ("GET", "POST") if route.verb_disputed else (route.method,)
                for verb in verbs:
                    router.add_route(verb, path, handler)
            else:
                found = public.get(route.name)
                if found is None:
                    continue
                endpoint_public, query_allowed = found
                router.add_route(
                    route.method, path, self._public(endpoint_public, query_allowed=query_allowed)
                )
