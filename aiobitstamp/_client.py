"""The Bitstamp client: lifecycle, one method per endpoint, and the one request loop."""

from __future__ import annotations

import asyncio
import enum
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlencode

import orjson
from yarl import URL

from ._auth import Credentials, QuerySigning, clock_offset_from_date, sign_request
from ._auth import verify_response_signature as _signature_matches
from ._exceptions import (
    BitstampError,
    ClientClosedError,
    InvalidParameterError,
    MissingCredentialsError,
    RateLimitError,
    ResponseSignatureError,
    TimestampOutOfBoundsError,
    UnexpectedResponseError,
    UnknownMarketError,
    error_from_response,
    error_from_undecodable,
    is_error_payload,
)
from ._limiter import (
    DEFAULT_RATE_LIMITS,
    Lane,
    LaneStats,
    Limiter,
    RateLimits,
    SlidingWindowLimiter,
)
from ._models import (
    Balance,
    CancelAllResult,
    CanceledOrder,
    Candle,
    Currency,
    EurUsdRate,
    Market,
    OpenOrder,
    OrderBook,
    OrderPlaced,
    OrderStatus,
    Rows,
    Ticker,
    Trade,
    TradingPairInfo,
    Vasp,
    WebSocketToken,
)
from ._params import Amount, decimal_param, market_symbol, one_of, unix_seconds
from ._retry import RetryPolicy
from ._transport import (
    DEFAULT_TIMEOUTS,
    AiohttpTransport,
    Request,
    Response,
    Timeouts,
    Transport,
)

__all__ = ["Client", "RequestRecord"]

T = TypeVar("T")
M = TypeVar("M", covariant=True)

_API = "/api/v2/"
OHLC_STEPS = (60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 259200)
OHLC_PAGE = 1000


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """What happened to one attempt, passed to the ``on_request`` hook."""

    method: str
    path: str
    lane: Lane
    attempt: int
    status: int | None  # None when no answer arrived
    waited: float  # seconds spent waiting for the rate limiter
    elapsed: float  # seconds on the wire
    error: BitstampError | None


class _NoLimit:
    """Stands in for a limiter when rate limiting is turned off."""

    __slots__ = ()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


_NO_LIMIT = _NoLimit()
_NO_HEADERS: Mapping[str, str] = {}


class Client:
    """An asyncio session with Bitstamp's HTTP API v2.

    >>> async with Client(api_key, api_secret) as client:   # doctest: +SKIP
    ...     ticker = await client.ticker("btcusd")
    ...     balances = await client.account_balances()

    One client shares one connection pool and one rate limit among all the coroutines
    that use it. Public endpoints need no keys. Every private request is signed with auth
    v2; the response signature is checked when the exchange sends one (set
    ``require_response_signature`` to insist on it).

    Money is ``Decimal``; pass amounts and prices as ``Decimal``, ``int`` or ``str``.

    Arguments (all but the keys are keyword-only):

    * ``api_key``, ``api_secret``: both or neither; public endpoints need none.
    * ``base_url``: the exchange, or an emulator's ``FakeBitstamp.url``.
    * ``timeouts``: per-request limits (``Timeouts(total=10, connect=5)`` by default).
    * ``rate_limits``: ``(count, seconds)`` windows enforced at once, Bitstamp's published
      ``((400, 1.0), (10_000, 600.0))`` by default; ``None`` turns limiting off.
    * ``limiter``: a limiter of your own instead, e.g. a ``RedisLimiter`` shared by several
      processes; the client never closes it.
    * ``retry``: a ``RetryPolicy``; orders are never resent after an ambiguous failure.
    * ``transport``: the network seam (``MockTransport`` in tests).
    * ``connection_limit``: pooled connections at most.
    * ``verify_response_signature`` / ``require_response_signature``: check the exchange's
      ``X-Server-Auth-Signature`` when present (default) / insist on it.
    * ``query_signing``: whether a signed query string includes its ``?`` (unconfirmed at
      the exchange; the default follows the published vectors).
    * ``validate_markets``: check market symbols, decimals and minimum order values against
      the exchange's catalogue (loaded once) before sending.
    * ``on_request``: called with a ``RequestRecord`` after every attempt.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        base_url: str = "https://www.bitstamp.net",
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        rate_limits: RateLimits | None = DEFAULT_RATE_LIMITS,
        limiter: Limiter | None = None,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
        connection_limit: int = 100,
        verify_response_signature: bool = True,
        require_response_signature: bool = False,
        query_signing: QuerySigning = QuerySigning.WITHOUT_QUESTION_MARK,
        validate_markets: bool = True,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        if (api_key is None) != (api_secret is None):
            raise ValueError("give both api_key and api_secret, or neither")
        # Credentials refuses an empty key or secret, so a blank env var fails here, loudly.
        self._credentials = (
            Credentials(api_key, api_secret)
            if api_key is not None and api_secret is not None
            else None
        )
        url = URL(base_url)
        if url.scheme not in ("http", "https") or not url.raw_host:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        # The signed host is the authority as aiohttp sends it in the Host header.
        host = url.raw_host
        if url.port is not None and not url.is_default_port():
            host = f"{host}:{url.port}"
        self._host = host
        self._root = str(url.origin())
        self._prefix = url.path.rstrip("/") + _API
        self.base_url = base_url
        self._transport: Transport = transport or AiohttpTransport(
            timeouts=timeouts, connection_limit=connection_limit
        )
        if limiter is not None:
            # Given by the caller, perhaps shared by several clients: theirs to close.
            self._limiter: Limiter | None = limiter
            self._owns_limiter = False
        else:
            self._limiter = SlidingWindowLimiter(rate_limits) if rate_limits is not None else None
            self._owns_limiter = True
        self._retry = retry or RetryPolicy()
        self._verify_signature = verify_response_signature or require_response_signature
        self._require_signature = require_response_signature
        self._query_signing = query_signing
        self._validate_markets = validate_markets
        self._on_request = on_request
        self._markets: dict[str, Market] | None = None
        self._markets_lock = asyncio.Lock()
        self._clock_offset = 0.0
        self._state = _State.UNOPENED

    # -- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        self._ensure_usable()
        self._state = _State.OPEN
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. Idempotent; a closed client cannot be reused."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        await self._transport.aclose()
        if self._limiter is not None and self._owns_limiter:
            await self._limiter.aclose()

    def _ensure_usable(self) -> None:
        if self._state is _State.CLOSED:
            raise ClientClosedError(
                "this Client was closed (aclose() or the end of its 'async with'); "
                "create a new Client"
            )

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if getattr(self, "_state", None) is _State.OPEN:
            _warn(
                f"unclosed {self!r}: use 'async with Client(...)' or await client.aclose()",
                ResourceWarning,
                source=self,
            )

    def __repr__(self) -> str:
        key = self._credentials.api_key[:4] + "…" if self._credentials else None
        return f"Client(base_url={self.base_url!r}, api_key={key!r}, state={self._state.value})"

    # -- observability ---------------------------------------------------------------

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock for X-Auth-Timestamp (measured on API0017)."""
        return self._clock_offset

    @property
    def rate_limit_stats(self) -> Mapping[Lane, LaneStats]:
        """Per-lane counters: sent, seconds waited, rejected by the exchange."""
        return self._limiter.stats if self._limiter is not None else {}

    @property
    def limiter(self) -> Limiter | None:
        """The rate limiter in use (``None`` when limiting is off)."""
        return self._limiter

    # -- the request loop ---------------------------------------------------------------

    async def _request(
        self,
        method: str,
        endpoint: str,
        lane: Lane,
        *,
        query: Mapping[str, object] | None = None,
        form: Mapping[str, object] | None = None,
        signed: bool = False,
        idempotent: bool = True,
        parse: Callable[[Any], T],
    ) -> T:
        """Sign, wait for the limiter, send, map errors, retry what is safe to retry,
        and turn the answer into a model with ``parse``."""
        if self._state is not _State.OPEN:
            self._open_on_first_use()
        credentials = self._credentials if signed else None
        if signed and credentials is None:
            raise MissingCredentialsError(
                "this endpoint is private: create the Client with api_key and api_secret",
                method=method,
                path=endpoint,
            )
        path = self._prefix + endpoint
        query_string = urlencode(query) if query else ""
        url = self._root + path + ("?" + query_string if query_string else "")
        body = urlencode(form).encode() if form else b""
        limiter = self._limiter
        timed = self._on_request is not None
        skew_corrected = False
        attempt = 0
        while True:
            attempt += 1
            headers: Mapping[str, str] = _NO_HEADERS
            nonce = timestamp = ""
            queued = started = sent_at = 0.0
            response: Response | None = None
            try:
                if timed:
                    queued = time.perf_counter()
                async with limiter.slot(lane) if limiter is not None else _NO_LIMIT:
                    if timed:
                        started = time.perf_counter()
                    if credentials is not None:
                        # Signed after the limiter admits us, so a long wait cannot
                        # push the timestamp out of the exchange's 150 s window.
                        nonce = str(uuid.uuid4())
                        sent_at = time.time()
                        now_ms = int((sent_at + self._clock_offset) * 1000)
                        headers = sign_request(
                            credentials,
                            method,
                            self._host,
                            path,
                            query_string,
                            body,
                            nonce=nonce,
                            timestamp_ms=now_ms,
                            query_signing=self._query_signing,
                        )
                        timestamp = str(now_ms)
                    response = await self._transport.send(Request(method, url, headers, body), path)
                result = self._decode(response, method, path)
                if credentials is not None:
                    self._check_signature(credentials, response, nonce, timestamp, method, path)
            except BitstampError as error:
                if timed:
                    self._record(method, path, lane, attempt, response, queued, started, error)
                rate_limited = isinstance(error, RateLimitError)
                if rate_limited and limiter is not None:
                    # Everyone sharing the limit slows down, whether or not this one retries.
                    limiter.record_rejection(lane)
                    limiter.pause(self._retry.delay(error, attempt))
                if (
                    isinstance(error, TimestampOutOfBoundsError)
                    and not skew_corrected
                    and response is not None
                ):
                    skew_corrected = True
                    self._correct_clock(response, sent_at)
                    continue
                if not self._retry.should_retry(error, attempt, idempotent=idempotent):
                    raise
                if not (rate_limited and limiter is not None):  # else the pause paces us
                    await asyncio.sleep(self._retry.delay(error, attempt))
                continue
            if timed:
                self._record(method, path, lane, attempt, response, queued, started, None)
            try:
                return parse(result)
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                raise UnexpectedResponseError(
                    f"HTTP {response.status} answer does not have the documented shape: {exc}",
                    status=response.status,
                    method=method,
                    path=path,
                ) from None

    def _open_on_first_use(self) -> None:
        # A client may be used without 'async with'; it is then open from its first call.
        self._ensure_usable()
        self._state = _State.OPEN

    def _decode(self, response: Response, method: str, path: str) -> Any:
        status = response.status
        try:
            payload = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            content_type = response.headers.get("Content-Type", "")
            raise error_from_undecodable(
                status, response.body, content_type, method=method, path=path
            ) from None
        if status >= 400 or is_error_payload(payload):
            raise error_from_response(
                status,
                payload,
                method=method,
                path=path,
                retry_after=response.headers.get("Retry-After"),
            )
        return payload

    def _check_signature(
        self,
        credentials: Credentials,
        response: Response,
        nonce: str,
        timestamp: str,
        method: str,
        path: str,
    ) -> None:
        if not self._verify_signature:
            return
        signature = response.headers.get("X-Server-Auth-Signature")
        if signature is None:
            if self._require_signature:
                raise ResponseSignatureError(
                    "the answer has no X-Server-Auth-Signature and one is required",
                    status=response.status,
                    method=method,
                    path=path,
                )
            return
        content_type = response.headers.get("Content-Type", "")
        if not _signature_matches(
            credentials, signature, nonce, timestamp, content_type, response.body
        ):
            raise ResponseSignatureError(
                "X-Server-Auth-Signature does not match the answer: it may have been altered "
                "in transit, or the secret is not this key's",
                status=response.status,
                method=method,
                path=path,
            )

    def _correct_clock(self, response: Response, sent_at: float) -> None:
        offset = clock_offset_from_date(response.headers.get("Date", ""), sent_at, time.time())
        if offset is not None:
            self._clock_offset = offset

    def _record(
        self,
        method: str,
        path: str,
        lane: Lane,
        attempt: int,
        response: Response | None,
        queued: float,
        started: float,
        error: BitstampError | None,
    ) -> None:
        assert self._on_request is not None
        now = time.perf_counter()
        waited = (started or now) - queued
        elapsed = now - started if started else 0.0
        status = response.status if response is not None else None
        self._on_request(RequestRecord(method, path, lane, attempt, status, waited, elapsed, error))

    # -- markets ---------------------------------------------------------------------

    async def _market(self, pair: str) -> Market | None:
        """Check ``pair`` before sending; with ``validate_markets`` it must be listed."""
        markets = self._markets
        if markets is not None and pair.__class__ is str:
            # Fast path for every call after the first: a listed symbol is well formed.
            found = markets.get(pair)
            if found is not None:
                return found
        if not self._validate_markets:
            market_symbol(pair)
            return None
        return await self.market(pair)

    async def _load_markets(self) -> dict[str, Market]:
        async with self._markets_lock:
            if self._markets is None:
                self._markets = {market.market_symbol: market for market in await self.markets()}
            return self._markets

    # -- public market data ------------------------------------------------------------

    async def markets(self) -> Rows[Market]:
        """Every market, spot and perpetual, with its decimals and minimum order value."""
        markets = await self._request("GET", "markets/", Lane.PUBLIC, parse=_rows(Market))
        self._markets = {market.market_symbol: market for market in markets}
        return markets

    async def market(self, pair: str) -> Market:
        """One market's catalogue entry (decimals, minimum order value), from the
        catalogue this client loads once."""
        market_symbol(pair)
        found = (await self._load_markets()).get(pair)
        if found is None:
            raise UnknownMarketError(
                f"unknown market {pair!r}; Client.markets() lists the markets Bitstamp offers"
            )
        return found

    async def ticker(self, pair: str) -> Ticker:
        """The 24-hour ticker of one market, e.g. ``await client.ticker("btcusd")``."""
        await self._market(pair)
        return await self._request("GET", f"ticker/{pair}/", Lane.PUBLIC, parse=Ticker.from_wire)

    async def tickers(self) -> Rows[Ticker]:
        """Tickers of every market (each with ``pair`` set, e.g. ``"BTC/USD"``)."""
        return await self._request("GET", "ticker/", Lane.PUBLIC, parse=_rows(Ticker))

    async def ticker_hour(self, pair: str) -> Ticker:
        """The ticker computed over the last hour."""
        await self._market(pair)
        return await self._request(
            "GET", f"ticker_hour/{pair}/", Lane.PUBLIC, parse=Ticker.from_wire
        )

    async def order_book(self, pair: str, group: Literal[0, 1, 2] = 1) -> OrderBook:
        """The full order book. ``group`` 1 aggregates by price (default), 0 does not,
        2 gives one row per order with its id. Levels turn into ``Decimal`` only when read.
        """
        await self._market(pair)
        one_of("group", group, (0, 1, 2))
        query = None if group == 1 else {"group": group}
        return await self._request(
            "GET", f"order_book/{pair}/", Lane.PUBLIC, query=query, parse=OrderBook.from_wire
        )

    async def transactions(
        self, pair: str, time: Literal["minute", "hour", "day"] = "hour"
    ) -> Rows[Trade]:
        """Public trades of the last minute, hour or day, newest first."""
        await self._market(pair)
        one_of("time", time, ("minute", "hour", "day"))
        return await self._request(
            "GET", f"transactions/{pair}/", Lane.PUBLIC, query={"time": time}, parse=_rows(Trade)
        )

    async def ohlc(
        self,
        pair: str,
        step: int,
        *,
        limit: int = OHLC_PAGE,
        start: datetime | int | None = None,
        end: datetime | int | None = None,
        exclude_current_candle: bool = False,
    ) -> list[Candle]:
        """Up to 1000 candles of ``step`` seconds. See ``iter_ohlc`` for longer ranges."""
        await self._market(pair)
        one_of("step", step, OHLC_STEPS)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= OHLC_PAGE:
            raise InvalidParameterError(f"limit must be an int from 1 to 1000, got {limit!r}")
        query: dict[str, object] = {"step": step, "limit": limit}
        if start is not None:
            query["start"] = unix_seconds("start", start)
        if end is not None:
            query["end"] = unix_seconds("end", end)
        if exclude_current_candle:
            query["exclude_current_candle"] = "true"
        return await self._request(
            "GET", f"ohlc/{pair}/", Lane.PUBLIC, query=query, parse=Candle.list_from_wire
        )

    async def iter_ohlc(
        self,
        pair: str,
        step: int,
        start: datetime | int,
        end: datetime | int,
    ) -> AsyncIterator[Candle]:
        """Every candle from ``start`` to ``end`` inclusive, in order, paging 1000 at a time.

        >>> async for candle in client.iter_ohlc("btcusd", 60, start, end):  # doctest: +SKIP
        ...     print(candle.timestamp, candle.close)
        >>> closes = [c.close async for c in client.iter_ohlc("btcusd", 3600, start, end)]
        """
        cursor = unix_seconds("start", start)
        stop = unix_seconds("end", end)
        if stop < cursor:
            raise InvalidParameterError("end must not be before start")
        one_of("step", step, OHLC_STEPS)
        while cursor <= stop:
            page = await self.ohlc(pair, step, limit=OHLC_PAGE, start=cursor, end=stop)
            last = cursor - step
            for candle in page:
                at = int(candle.timestamp.timestamp())
                # Skip anything outside the range or already yielded: a page may
                # overlap the previous one, and no candle may be given twice.
                if at < cursor or at > stop:
                    continue
                yield candle
                last = at
            # An empty stretch (a trading halt) is skipped, never mistaken for the end.
            cursor = last + step if last >= cursor else cursor + step * OHLC_PAGE

    async def trading_pairs_info(self) -> Rows[TradingPairInfo]:
        """The older market catalogue (spot only), kept for callers that rely on it."""
        return await self._request(
            "GET", "trading-pairs-info/", Lane.PUBLIC, parse=_rows(TradingPairInfo)
        )

    async def currencies(self) -> Rows[Currency]:
        """Every listed currency."""
        return await self._request("GET", "currencies/", Lane.PUBLIC, parse=_rows(Currency))

    async def eur_usd(self) -> EurUsdRate:
        """The EUR/USD conversion rate Bitstamp uses."""
        return await self._request("GET", "eur_usd/", Lane.PUBLIC, parse=EurUsdRate.from_wire)

    async def travel_rule_vasps(self, *, per_page: int = 100) -> list[Vasp]:
        """Every virtual asset service provider known to the travel rule, from all pages."""
        return [vasp async for vasp in self.iter_travel_rule_vasps(per_page=per_page)]

    async def iter_travel_rule_vasps(self, *, per_page: int = 100) -> AsyncIterator[Vasp]:
        """The VASP list, page by page, as it streams in.

        >>> names = [v.name async for v in client.iter_travel_rule_vasps()]  # doctest: +SKIP
        """
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not per_page >= 1:
            raise InvalidParameterError(f"per_page must be a positive int, got {per_page!r}")
        page = 1
        while True:
            rows = await self._request(
                "GET",
                "travel_rule/vasps/",
                Lane.PUBLIC,
                query={"page": page, "per_page": per_page},
                parse=Vasp.list_from_wire,
            )
            for vasp in rows:
                yield vasp
            # A short page is the last one. (Whether the envelope's `count` means VASPs or
            # pages is undocumented, so it is not trusted to end the walk.)
            if len(rows) < per_page:
                return
            page += 1

    # -- private: account -----------------------------------------------------------------

    async def account_balances(self) -> Rows[Balance]:
        """Balances of every currency: total, available and reserved."""
        return await self._request(
            "POST", "account_balances/", Lane.PRIVATE_READ, signed=True, parse=_rows(Balance)
        )

    async def account_balance(self, currency: str) -> Balance:
        """The balance of one currency, e.g. ``await client.account_balance("usd")``."""
        if not isinstance(currency, str) or not currency.isalnum() or not currency.islower():
            raise InvalidParameterError(f"currency must be lower case like 'usd', got {currency!r}")
        return await self._request(
            "POST",
            f"account_balances/{currency}/",
            Lane.PRIVATE_READ,
            signed=True,
            parse=Balance.from_wire,
        )

    async def websockets_token(self) -> WebSocketToken:
        """A short-lived token for private WebSocket channels."""
        return await self._request(
            "POST",
            "websockets_token/",
            Lane.PRIVATE_READ,
            signed=True,
            parse=WebSocketToken.from_wire,
        )

    # -- private: orders ---------------------------------------------------------------

    async def buy_limit(
        self,
        pair: str,
        amount: Amount,
        price: Amount,
        *,
        client_order_id: str | None = None,
        post_only: bool = False,
        immediate_or_cancel: bool = False,
        fill_or_kill: bool = False,
        daily: bool = False,
        good_till: datetime | None = None,
        limit_price: Amount | None = None,
    ) -> OrderPlaced:
        """Place a limit buy of ``amount`` (base currency) at ``price``.

        At most one of ``post_only``, ``immediate_or_cancel``, ``fill_or_kill``, ``daily``,
        ``good_till`` may be set; ``limit_price`` (sell again at that price once filled)
        combines with none of them. The order is sent once: after a timeout its fate is
        unknown, so look it up by ``client_order_id`` before placing it again.
        """
        return await self._limit_order(
            "buy",
            pair,
            amount,
            price,
            client_order_id,
            post_only,
            immediate_or_cancel,
            fill_or_kill,
            daily,
            good_till,
            limit_price,
        )

    async def sell_limit(
        self,
        pair: str,
        amount: Amount,
        price: Amount,
        *,
        client_order_id: str | None = None,
        post_only: bool = False,
        immediate_or_cancel: bool = False,
        fill_or_kill: bool = False,
        daily: bool = False,
        good_till: datetime | None = None,
        limit_price: Amount | None = None,
    ) -> OrderPlaced:
        """Place a limit sell of ``amount`` (base currency) at ``price``. See ``buy_limit``."""
        return await self._limit_order(
            "sell",
            pair,
            amount,
            price,
            client_order_id,
            post_only,
            immediate_or_cancel,
            fill_or_kill,
            daily,
            good_till,
            limit_price,
        )

    async def _limit_order(
        self,
        side: Literal["buy", "sell"],
        pair: str,
        amount: Amount,
        price: Amount,
        client_order_id: str | None,
        post_only: bool,
        immediate_or_cancel: bool,
        fill_or_kill: bool,
        daily: bool,
        good_till: datetime | None,
        limit_price: Amount | None,
    ) -> OrderPlaced:
        market = await self._market(pair)
        amount_decimals = market.base_decimals if market else None
        price_decimals = market.counter_decimals if market else None
        form: dict[str, str] = {
            "amount": decimal_param("amount", amount, decimals=amount_decimals),
            "price": decimal_param("price", price, decimals=price_decimals),
        }
        flags = {
            "moc_order": post_only,
            "ioc_order": immediate_or_cancel,
            "fok_order": fill_or_kill,
            "daily_order": daily,
            "gtd_order": good_till is not None,
        }
        chosen = [name for name, on in flags.items() if on]
        if len(chosen) > 1:
            raise InvalidParameterError(f"only one order option may be set, got {chosen}")
        if limit_price is not None:
            if chosen:
                raise InvalidParameterError(f"limit_price cannot be combined with {chosen[0]}")
            form["limit_price"] = decimal_param("limit_price", limit_price, decimals=price_decimals)
        for name in chosen:
            form[name] = "True"
        if good_till is not None:
            form["expire_time"] = str(unix_seconds("good_till", good_till) * 1000)
        if client_order_id is not None:
            if not isinstance(client_order_id, str) or not 0 < len(client_order_id) <= 180:
                raise InvalidParameterError("client_order_id must be a string of 1-180 chars")
            form["client_order_id"] = client_order_id
        if market is not None:
            value = Decimal(form["amount"]) * Decimal(form["price"])
            if value < market.minimum_order_value:
                raise InvalidParameterError(
                    f"order value {value} is below {pair}'s minimum of "
                    f"{market.minimum_order_value} {market.counter_currency}"
                )
        return await self._request(
            "POST",
            f"{side}/{pair}/",
            Lane.PLACE,
            form=form,
            signed=True,
            idempotent=False,
            parse=OrderPlaced.from_wire,
        )

    async def cancel_order(
        self, order_id: str | int | None = None, *, client_order_id: str | None = None
    ) -> CanceledOrder:
        """Cancel one order by its id or by your ``client_order_id``. Cancels jump the
        rate-limit queue ahead of everything else."""
        form = _order_ref(order_id, client_order_id)
        # Cancelling twice is harmless (the second says "not found"), so a cancel may be
        # resent after an ambiguous failure.
        return await self._request(
            "POST",
            "cancel_order/",
            Lane.CANCEL,
            form=form,
            signed=True,
            parse=CanceledOrder.from_wire,
        )

    async def cancel_all_orders(self, pair: str | None = None) -> CancelAllResult:
        """Cancel every open order, or every open order of one market."""
        endpoint = "cancel_all_orders/"
        if pair is not None:
            await self._market(pair)
            endpoint += f"{pair}/"
        return await self._request(
            "POST", endpoint, Lane.CANCEL, signed=True, parse=CancelAllResult.from_wire
        )

    async def open_orders(self, pair: str | None = None) -> Rows[OpenOrder]:
        """Open orders of every market, or of one. (The exchange caches this for 10 s.)"""
        endpoint = "open_orders/"
        if pair is not None:
            await self._market(pair)
            endpoint += f"{pair}/"
        return await self._request(
            "POST", endpoint, Lane.PRIVATE_READ, signed=True, parse=_rows(OpenOrder)
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
        if omit_transactions:
            form["omit_transactions"] = "True"
        return await self._request(
            "POST",
            "order_status/",
            Lane.PRIVATE_READ,
            form=form,
            signed=True,
            parse=OrderStatus.from_wire,
        )


class _Parsable(Protocol[M]):
    @classmethod
    def from_wire(cls, obj: Any) -> M: ...


def _rows(model: type[_Parsable[M]]) -> Callable[[Any], Rows[M]]:
    """A parser for a JSON array of ``model`` rows: a lazy view, each row parsed when read."""
    parse_row = model.from_wire
    return lambda rows: Rows(rows, parse_row)


def _order_ref(order_id: str | int | None, client_order_id: str | None) -> dict[str, str]:
    if (order_id is None) == (client_order_id is None):
        raise InvalidParameterError("give exactly one of order_id and client_order_id")
    if order_id is not None:
        text = str(order_id)
        if isinstance(order_id, bool) or not text.isdigit():
            raise InvalidParameterError(f"order_id must be digits, got {order_id!r}")
        return {"id": text}
    assert client_order_id is not None
    if not isinstance(client_order_id, str) or not client_order_id:
        raise InvalidParameterError("client_order_id must be a non-empty string")
    return {"client_order_id": client_order_id}
