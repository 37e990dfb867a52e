"""The Bitstamp client: configuration and lifecycle. Endpoints live in ``_api/``, by area;
sending lives in ``_pipeline``."""

from __future__ import annotations

import enum
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType

from yarl import URL

from ._api.account import AccountAPI
from ._api.earn import EarnAPI
from ._api.funding import FundingAPI
from ._api.market_data import MarketDataAPI
from ._api.orders import OrdersAPI
from ._api.streams import StreamsAPI
from ._api.travel_rule import TravelRuleAPI
from ._auth import Credentials, QuerySigning
from ._exceptions import ClientClosedError, InvalidParameterError
from ._keys import KeyRing, RateLimitScope, Routing
from ._limiter import (
    DEFAULT_RATE_LIMITS,
    Lane,
    LaneStats,
    Limiter,
    RateLimits,
    SlidingWindowLimiter,
)
from ._markets import MarketCatalogue
from ._pipeline import Pipeline, RequestRecord
from ._retry import RetryPolicy
from ._routes import ROUTES
from ._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUTS,
    AiohttpTransport,
    Timeouts,
    Transport,
)

__all__ = ["Client", "RequestRecord"]

_API = "/api/v2/"
DEFAULT_BASE_URL = "https://www.bitstamp.net"
DEFAULT_WS_URL = "wss://ws.bitstamp.net"


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class _Hidden:
    """Holds a secret while ``__init__`` runs, so no frame's locals ever show it."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<hidden>"


class Client(MarketDataAPI, AccountAPI, OrdersAPI, FundingAPI, EarnAPI, TravelRuleAPI, StreamsAPI):
    """An asyncio session with Bitstamp's HTTP API v2.

    >>> async with Client(api_key, api_secret) as client:   # doctest: +SKIP
    ...     ticker = await client.ticker("btcusd")
    ...     balances = await client.account_balances()

    One client shares one connection pool and one rate limit among all the coroutines
    that use it. Public endpoints need no keys. Every private request is signed with auth
    v2; the exchange's response signature is checked on request
    (``verify_response_signature=True``).

    Several keys, each call signed with one whose permissions cover it::

        keys = [
            Credentials(read_key, read_secret, label="reader", permissions={"read"}),
            Credentials(trade_key, trade_secret, label="trader", permissions={"trade"}),
        ]
        async with Client(keys=keys) as client:      # or keys=load_keys()
            await client.account_balances()          # signed with "reader"
            await client.buy_limit("btcusd", "0.01", "20000")  # signed with "trader"

    Money is ``Decimal``; pass amounts and prices as ``Decimal``, ``int`` or ``str``.

    Arguments (all but the keys are keyword-only):

    * ``api_key``, ``api_secret``: both or neither; public endpoints need none.
    * ``keys``: ``Credentials`` instead (one or several, each with its own label), when not
      ``api_key``/``api_secret``.
    * ``routing``: which key signs which call (see ``aiobitstamp._keys``): by default the
      first key whose permissions cover the call; or a mapping of route names, permission
      names or scopes to labels (``{"trade": "bot"}``), or a callable
      ``(route_name, permission) -> label | None``.
    * ``rate_limit_scope``: ``"host"`` (default): one budget for every key and the public
      endpoints, the safe reading while the exchange does not say whether it counts per key
      or per address; ``"key"``: one budget per key label (public calls keep one of their
      own). With ``limiter``, ``"key"`` needs a mapping of labels to limiters, e.g. one
      ``RedisLimiter(url, key=f"bitstamp:{label}")`` each.
    * ``base_url``: the exchange, or an emulator's ``FakeBitstamp.url``.
    * ``ws_url``: the WebSocket endpoint, or an emulator's ``FakeBitstamp.ws_url``.
    * ``timeouts``: per-request limits (``Timeouts(total=10, connect=5)`` by default).
    * ``rate_limits``: ``(count, seconds)`` windows enforced at once, Bitstamp's published
      ``((400, 1.0), (10_000, 600.0))`` by default; ``None`` turns limiting off.
    * ``limiter``: a limiter of your own instead, e.g. a ``RedisLimiter`` shared by several
      processes, or (``rate_limit_scope="key"``) a mapping of key labels to limiters; the
      client never closes them.
    * ``retry``: a ``RetryPolicy``; orders are never resent blindly (see ``buy_limit``).
    * ``order_settle_seconds``: after an order's outcome is unknown, how long its absence
      must last before it is sent again (10 s: the exchange's open-orders cache).
    * ``transport``: the network seam (``MockTransport`` in tests).
    * ``connection_limit``: pooled connections at most.
    * ``max_response_bytes``: a larger answer is refused, not read.
    * ``verify_response_signature`` / ``require_response_signature``: check the exchange's
      ``X-Server-Auth-Signature`` when present / insist on it. Off by default, as the
      fact sheet recommends: TLS already authenticates the answer, ccxt and JKorf do not
      check, the signed form is known only from Bitstamp's examples, and a false alarm on
      an order that did execute would leave its caller unsure of it. (About 1.5 µs per
      private answer when on.)
    * ``query_signing``: whether a signed query string includes its ``?`` (unconfirmed at
      the exchange; the default follows the published vectors).
    * ``body_encoding``: ``"form"`` (default): every private body form-encoded, as the
      fact sheet says of every private POST; ``"spec"``: JSON for the 8 operations the
      official OpenAPI spec declares ``application/json`` (``{currency}_address``, earn
      subscribe/unsubscribe/setting, ``fees/withdrawal/{currency}``, ``order_status``,
      ``revoke_all_api_keys``, creating a travel-rule contact). Unconfirmed either way.
    * ``my_markets_method``: ``"POST"`` (JKorf) or ``"GET"`` (the official spec): sources
      disagree on the verb of ``my_markets/``.
    * ``validate_markets``: check market symbols, decimals and minimum order values against
      the exchange's catalogue (loaded once) before sending.
    * ``on_request``: called with a ``RequestRecord`` after every attempt.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        keys: Iterable[Credentials] | None = None,
        routing: Routing = None,
        rate_limit_scope: RateLimitScope = "host",
        base_url: str = DEFAULT_BASE_URL,
        ws_url: str = DEFAULT_WS_URL,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        rate_limits: RateLimits | None = DEFAULT_RATE_LIMITS,
        limiter: Limiter | Mapping[str, Limiter] | None = None,
        retry: RetryPolicy | None = None,
        order_settle_seconds: float = 10.0,
        transport: Transport | None = None,
        connection_limit: int = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        verify_response_signature: bool = False,
        require_response_signature: bool = False,
        query_signing: QuerySigning = QuerySigning.WITHOUT_QUESTION_MARK,
        my_markets_method: str = "POST",
        body_encoding: str = "form",
        validate_markets: bool = True,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        # First, before anything can raise: from here on a traceback that prints frame
        # locals (rich, Sentry, traceback with locals) shows "<hidden>", not the secret.
        api_secret = _Hidden(api_secret)  # type: ignore[assignment]
        self._state = _State.UNOPENED
        self._closers: list[Callable[[], Awaitable[None]]] = []
        secret: _Hidden = api_secret  # type: ignore[assignment]
        if (api_key is None) != (secret.value is None):
            raise InvalidParameterError("give both api_key and api_secret, or neither")
        given: list[Credentials] = []
        if keys is not None:
            if api_key is not None:
                raise InvalidParameterError("give api_key and api_secret, or keys, not both")
            if isinstance(keys, Credentials):
                keys = [keys]
            given = list(keys)
            if not given:
                raise InvalidParameterError("keys is empty: give at least one Credentials")
        elif api_key is not None:
            # Credentials checks both (blank, whitespace, wrong type) without echoing them.
            given = [Credentials(api_key, secret.value)]  # type: ignore[arg-type]
        if rate_limit_scope not in ("host", "key"):
            raise InvalidParameterError(
                f"rate_limit_scope must be 'host' or 'key', got {rate_limit_scope!r}"
            )
        if routing is not None and not given:
            raise InvalidParameterError("routing needs keys to route to")
        url = _parse_url("base_url", base_url, ("http", "https"))
        _parse_url("ws_url", ws_url, ("ws", "wss"))
        if my_markets_method not in ("GET", "POST"):
            raise InvalidParameterError("my_markets_method must be 'GET' or 'POST'")
        if body_encoding not in ("form", "spec"):
            raise InvalidParameterError("body_encoding must be 'form' or 'spec'")
        if not isinstance(order_settle_seconds, int | float) or order_settle_seconds < 0:
            raise InvalidParameterError("order_settle_seconds must be a number >= 0")
        self.base_url = base_url
        self._ws_url = ws_url
        self._transport: Transport = transport or AiohttpTransport(
            timeouts=timeouts,
            connection_limit=connection_limit,
            max_response_bytes=max_response_bytes,
        )
        per_key: Mapping[str, Limiter] | None = None
        if isinstance(limiter, Mapping):
            if rate_limit_scope != "key":
                raise InvalidParameterError(
                    "a mapping of limiters is one per key: use it with rate_limit_scope='key'"
                )
            per_key, limiter = limiter, None
        if limiter is not None:
            if rate_limit_scope == "key":
                raise InvalidParameterError(
                    "rate_limit_scope='key' with your own limiter needs one per key: "
                    "limiter={label: limiter, ...}"
                )
            # Given by the caller, perhaps shared by several clients: theirs to close.
            self._limiter: Limiter | None = limiter
            self._owns_limiter = False
        else:
            self._limiter = SlidingWindowLimiter(rate_limits) if rate_limits is not None else None
            self._owns_limiter = True
        self._key_limiters: list[Limiter] = []
        if rate_limit_scope == "key" and per_key is None and rate_limits is not None:
            # One in-process budget per label, the client's own.
            per_key = {
                credentials.label: SlidingWindowLimiter(rate_limits) for credentials in given
            }
            self._key_limiters = list(per_key.values())
        self._keys = KeyRing(given, routing=routing, limiters=per_key) if given else None
        self._rate_limit_scope = rate_limit_scope
        self._pipeline = Pipeline(
            transport=self._transport,
            limiter=self._limiter,
            keys=self._keys,
            host=_signed_host(url),
            root=str(url.origin()),
            prefix=url.path.rstrip("/") + _API,
            policy=retry or RetryPolicy(),
            query_signing=query_signing,
            verify_signature=verify_response_signature,
            require_signature=require_response_signature,
            on_request=on_request,
            json_bodies=body_encoding == "spec",
        )
        self._catalogue = MarketCatalogue(self.markets, enabled=validate_markets)
        self._verbs: Mapping[str, str] = {"my_markets": my_markets_method}
        self._order_settle_seconds = float(order_settle_seconds)

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
        """Close the client. Idempotent and final: every call still queued, waiting or in
        flight ends at once with ``ClientClosedError``, and so does every later call."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        self._pipeline.close()
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            await close()
        await self._transport.aclose()
        if self._limiter is not None and self._owns_limiter:
            await self._limiter.aclose()
        for limiter in self._key_limiters:
            await limiter.aclose()

    def _register_closer(self, close: Callable[[], Awaitable[None]]) -> None:
        """Run ``close`` on ``aclose()`` (streams register here)."""
        self._ensure_usable()
        self._closers.append(close)

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
        # Safe on a half-built client: every attribute may still be missing.
        ring: KeyRing | None = getattr(self, "_keys", None)
        state = getattr(self, "_state", _State.UNOPENED).value
        base_url = getattr(self, "base_url", None)
        if ring is not None and len(ring.slots) > 1:
            shown = f"keys={list(ring.slots)!r}"
        else:
            slot = next(iter(ring.slots.values())) if ring is not None else None
            key = slot.credentials.api_key[:4] + "…" if slot is not None else None
            shown = f"api_key={key!r}"
        return f"Client(base_url={base_url!r}, {shown}, state={state})"

    # -- keys --------------------------------------------------------------------------

    @property
    def keys(self) -> Mapping[str, Credentials]:
        """The client's keys by label, in the order given (empty without keys)."""
        ring = self._keys
        if ring is None:
            return {}
        return {label: slot.credentials for label, slot in ring.slots.items()}

    def key_for(self, route: str) -> Credentials:
        """The key that signs calls of ``route`` (a method name such as ``"buy_limit"``).

        Raises ``MissingPermissionError`` (or ``MissingCredentialsError`` without keys)
        when no key covers it, as the call itself would, and ``InvalidParameterError`` for
        a name that is no signed endpoint.
        """
        found = ROUTES.get(route) if isinstance(route, str) else None
        if found is None or not found.signed:
            raise InvalidParameterError(f"{route!r} is not a private endpoint of the client")
        slot = self._keys.routes.get(route) if self._keys is not None else None
        if slot is None:
            raise self._pipeline._no_key(found, found.method, found.template)
        return slot.credentials

    def rotate_key(self, credentials: Credentials) -> Awaitable[None]:
        """Replace the key labelled ``credentials.label`` with ``credentials``, live.

        The swap happens now, when called: requests already signed finish with the old key;
        every request signed from now on (retries included) uses the new one; no call fails
        for the swap. Await the result to wait until no request signed with the old key
        still awaits its answer: then the old key can be deleted at the exchange. The label
        keeps its rate-limit budget. Routing is computed again from the new key's
        permissions (and the rotation refused, changing nothing, if a route pinned to this
        label would no longer be covered).

        >>> new = Credentials(new_key, new_secret, label="trader", permissions={"trade"})
        >>> await client.rotate_key(new)  # doctest: +SKIP
        """
        if self._keys is None:
            raise InvalidParameterError(
                "this client has no keys to rotate; create it with api_key/api_secret or keys="
            )
        self._ensure_usable()
        return self._keys.rotate(credentials)

    # -- observability ---------------------------------------------------------------

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock for X-Auth-Timestamp (measured on API0017)."""
        return self._pipeline.clock_offset

    @property
    def rate_limit_stats(self) -> Mapping[Lane, LaneStats]:
        """Per-lane counters: sent, seconds waited, rejected by the exchange."""
        return self._limiter.stats if self._limiter is not None else {}

    @property
    def limiter(self) -> Limiter | None:
        """The rate limiter in use (``None`` when limiting is off). With
        ``rate_limit_scope="key"`` it admits the public calls; see :meth:`limiter_for`."""
        return self._limiter

    def limiter_for(self, label: str) -> Limiter | None:
        """The limiter that admits the calls of the key labelled ``label``: its own with
        ``rate_limit_scope="key"``, else the shared one."""
        slot = self._keys.slots.get(label) if self._keys is not None else None
        if slot is None:
            raise InvalidParameterError(f"no key labelled {label!r}")
        return slot.limiter


def _parse_url(name: str, value: object, schemes: tuple[str, ...]) -> URL:
    if not isinstance(value, str):
        raise InvalidParameterError(f"{name} must be a str URL, got {type(value).__name__}")
    try:
        url = URL(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name} is not a URL: {exc}") from None
    if url.scheme not in schemes or not url.raw_host:
        raise InvalidParameterError(
            f"{name} must be a {'/'.join(schemes)} URL with a host, got {value!r}"
        )
    return url


def _signed_host(url: URL) -> str:
    """The authority as aiohttp sends it in the Host header, which is what gets signed."""
    host = url.raw_host or ""
    if ":" in host:  # an IPv6 literal travels in brackets
        host = f"[{host}]"
    if url.port is not None and not url.is_default_port():
        host = f"{host}:{url.port}"
    return host
