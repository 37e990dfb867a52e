"""The request pipeline: admit, sign, send, decode, decide. The only code that sends.

Each step is small and testable alone: the limiter admits (``_limiter``), the signer signs
(``_auth``), the transport sends (``_transport``), ``decode`` turns an answer into JSON or
an error from the tree, and ``RetryPolicy.decide`` (``_retry``) says whether to retry,
re-sign or raise. This module only wires them together and owns two promises:

* **Every send is one the limiter counted.** A request is signed after the limiter admits
  it (a long wait cannot stale the timestamp) and the transport never resends on its own.
* **Closing is final.** After ``close()``, every call queued in the limiter, waiting to
  retry, or in flight ends promptly with ``ClientClosedError``, and no new call starts.

Which key signs a call is the key ring's decision (``_keys``): one dict lookup by route
name picks the key's slot, whose limiter admits the call (per-key budgets) and whose
current credentials are read when signing, so a rotation never touches a request already
signed. An auth error is told which key it came from (``add_key_context``).
"""

from __future__ import annotations

import asyncio
import re
import time
from asyncio import current_task
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote_plus, urlencode

import orjson

from ._auth import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    Credentials,
    QuerySigning,
    clock_offset_from_date,
    new_nonce,
    sign_request,
)
from ._auth import verify_response_signature as signature_matches
from ._exceptions import (
    BitstampError,
    ClientClosedError,
    MissingCredentialsError,
    RateLimitError,
    ResponseSignatureError,
    UnexpectedResponseError,
    add_key_context,
    error_from_response,
    error_from_undecodable,
    is_error_payload,
)
from ._json import loads, loads_exact
from ._keys import KeyRing, KeySlot
from ._limiter import Lane, Limiter, LimiterHandle
from ._permissions import describe, scope_of, summary
from ._retry import Action, RetryPolicy
from ._routes import JsonBody, Route
from ._transport import Request, Response, Transport

__all__ = ["Pipeline", "RequestRecord", "decode"]

T = TypeVar("T")

_NO_HEADERS: Mapping[str, str] = {}
_CLOSED_MESSAGE = (
    "this Client was closed (aclose() or the end of its 'async with'); create a new Client"
)


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


def decode(response: Response, route: Route, path: str) -> Any:
    """The answer's JSON, or the error from the tree that it stands for."""
    status = response.status
    try:
        payload = loads_exact(response.body) if route.exact_numbers else loads(response.body)
    except ValueError:
        raise error_from_undecodable(
            status,
            response.body,
            response.headers.get("Content-Type", ""),
            method=route.method,
            path=path,
            retry_after=response.headers.get("Retry-After"),
        ) from None
    if status >= 400 or is_error_payload(payload):
        raise error_from_response(
            status,
            payload,
            method=route.method,
            path=path,
            retry_after=response.headers.get("Retry-After"),
        )
    return payload


_PLAIN = re.compile(r"[A-Za-z0-9._~-]*")


def form_body(form: Mapping[str, str]) -> bytes:
    """``application/x-www-form-urlencoded`` bytes of ``form``, exactly as ``urlencode``
    writes them; values made only of unreserved characters (numbers, symbols, most ids)
    skip the quoting, which is most of urlencode's cost."""
    joined = "".join(form.values())
    # The usual case, nothing to quote, told by bytes methods (tight C loops; the regex
    # engine's code is cold after each network wait, and str.translate looks up a dict
    # per character).
    if joined.isascii() and joined.encode().translate(None, b"._~-").isalnum():
        return "&".join([f"{name}={value}" for name, value in form.items()]).encode()
    parts = []
    for name, value in form.items():
        if not _PLAIN.fullmatch(value):
            value = quote_plus(value)
        parts.append(f"{name}={value}")
    return "&".join(parts).encode()


def json_body(form: Mapping[str, str], spec: JsonBody) -> bytes:
    """The JSON body the official spec declares, of ``form``'s checked wire values:
    numbers written as their decimal text (never through a float), nested objects as the
    JSON text the form carries, every other field as a string."""
    parts = []
    for name, value in form.items():
        text = value if name in spec.numbers or name in spec.objects else _json_text(value)
        parts.append(f"{_json_text(name)}:{text}")
    return ("{" + ",".join(parts) + "}").encode()


def _json_text(value: str) -> str:
    return orjson.dumps(value).decode()


class Pipeline:
    """Sends requests for one client. See the module docstring for its promises."""

    __slots__ = (
        "_active",
        "_clock_offset",
        "_closed",
        "_closing",
        "_handle",
        "_host",
        "_json_bodies",
        "_keys",
        "_limiter",
        "_loop",
        "_on_request",
        "_policy",
        "_prefix",
        "_query_signing",
        "_require_signature",
        "_root",
        "_routes",
        "_transport",
        "_verify_signature",
    )

    def __init__(
        self,
        *,
        transport: Transport,
        limiter: Limiter | None,
        keys: KeyRing | None,
        host: str,
        root: str,
        prefix: str,
        policy: RetryPolicy,
        query_signing: QuerySigning,
        verify_signature: bool,
        require_signature: bool,
        on_request: Callable[[RequestRecord], None] | None,
        json_bodies: bool = False,
    ) -> None:
        self._transport = transport
        # Send the spec's JSON bodies where it declares them (body_encoding="spec").
        self._json_bodies = json_bodies
        self._limiter = limiter
        # This client's own way into a limiter perhaps shared with others: closing it ends
        # this client's waiters only.
        self._handle: LimiterHandle | None = limiter.handle() if limiter is not None else None
        self._keys = keys
        # Signed route name -> the slot of the key that signs it; the ring updates this
        # very dict when a key is rotated.
        self._routes: Mapping[str, KeySlot | None] = {}
        if keys is not None:
            keys.bind(limiter, self._handle)
            self._routes = keys.routes
        self._host = host
        self._root = root
        self._prefix = prefix
        self._policy = policy
        self._query_signing = query_signing
        self._verify_signature = verify_signature or require_signature
        self._require_signature = require_signature
        self._on_request = on_request
        self._clock_offset = 0.0
        self._closed = False
        # Tasks inside a call, with how deep (a reconciling order nests calls), and the
        # ones close() cancelled, so their CancelledError becomes ClientClosedError.
        self._active: dict[asyncio.Task[Any], int] = {}
        self._closing: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def clock_offset(self) -> float:
        return self._clock_offset

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def has_credentials(self) -> bool:
        return self._keys is not None

    @property
    def keys(self) -> KeyRing | None:
        return self._keys

    @property
    def max_attempts(self) -> int:
        return self._policy.max_attempts

    # -- lifecycle --------------------------------------------------------------------

    def check_open(self) -> None:
        if self._closed:
            raise ClientClosedError(_CLOSED_MESSAGE)

    def close(self) -> None:
        """Refuse new calls and end every call in progress with ``ClientClosedError``."""
        self._closed = True
        if self._handle is not None:
            self._handle.close()
        if self._keys is not None:
            self._keys.close_handles()
        current = asyncio.current_task()
        for task in self._active:
            if task is not current and not task.done():
                self._closing.add(task)
                task.cancel()

    def guard(self) -> _Guard:
        """``async with pipeline.guard():`` makes a multi-step operation (an order being
        reconciled, a paginator's pause) end with ``ClientClosedError`` on close."""
        return _Guard(self)

    def _enter(self) -> asyncio.Task[Any] | None:
        if self._closed:
            raise ClientClosedError(_CLOSED_MESSAGE)
        task = asyncio.current_task()
        if task is None:  # not inside a task (a bare coroutine driven by hand)
            return None
        loop = task.get_loop()
        if loop is not self._loop:
            self._bind(loop)
        active = self._active
        active[task] = active.get(task, 0) + 1
        return task

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not None and not self._loop.is_closed():
            raise ClientClosedError(
                "this Client belongs to another running event loop; create one Client per "
                "event loop (its connections and rate limit are bound to the loop)"
            )
        self._loop = loop

    def _leave(self, task: asyncio.Task[Any]) -> None:
        depth = self._active.get(task, 1) - 1
        if depth:
            self._active[task] = depth
        else:
            self._active.pop(task, None)

    def _closed_error(self, task: asyncio.Task[Any] | None) -> ClientClosedError | None:
        """The error to raise instead of a CancelledError that close() caused."""
        if task is None or task not in self._closing:
            return None
        if self._active.get(task, 0) <= 1:
            self._closing.discard(task)
        uncancel = getattr(task, "uncancel", None)
        if uncancel is not None:  # Python 3.11+: the cancel request is consumed here
            uncancel()
        return ClientClosedError(_CLOSED_MESSAGE + "; the call was stopped")

    # -- sending ----------------------------------------------------------------------

    async def send(
        self,
        route: Route,
        endpoint: str,
        *,
        query: Mapping[str, str | int] | None = None,
        form: Mapping[str, str] | None = None,
        parse: Callable[[Any], T],
        method: str | None = None,
    ) -> T:
        """Send ``route`` at ``endpoint`` (under /api/v2/), retrying as the policy says,
        and turn the answer into a model with ``parse``.

        One coroutine from admission to model, admitting without a coroutine when the
        limiter has room: every frame and call here is paid by every request, and an
        order's latency is a market maker's edge. Waiting, errors and retries cost only
        when they happen.
        """
        if self._closed:
            raise ClientClosedError(_CLOSED_MESSAGE)
        task = current_task()
        active = self._active
        if task is not None:  # None: a bare coroutine driven by hand
            loop = task.get_loop()
            if loop is not self._loop:
                self._bind(loop)
            active[task] = active.get(task, 0) + 1
        else:
            loop = asyncio.get_running_loop()
        try:
            key: KeySlot | None = None
            limiter = self._limiter
            handle = self._handle
            if route.signed:
                key = self._routes.get(route.name)
                if key is None:
                    raise self._no_key(route, method or route.method, endpoint)
                limiter = key.limiter
                handle = key.handle
            method = method or route.method
            path = self._prefix + endpoint
            query_string = urlencode(query) if query else ""
            url = self._root + path + ("?" + query_string if query_string else "")
            body_type = FORM_CONTENT_TYPE
            if not form:
                body = b""
            elif route.json_body is not None and self._json_bodies:
                body = json_body(form, route.json_body)
                body_type = JSON_CONTENT_TYPE
            else:
                body = form_body(form)
            lane = route.lane
            timed = self._on_request is not None
            clock_corrected = False
            attempt = 0
            while True:
                if self._closed:
                    raise ClientClosedError(_CLOSED_MESSAGE)
                attempt += 1
                credentials: Credentials | None = None
                nonce = timestamp = ""
                queued = started = sent_at = 0.0
                response: Response | None = None
                try:
                    if timed:
                        queued = time.perf_counter()
                    slot = handle.slot(lane) if handle is not None else None
                    waited = slot is not None and not slot.enter_now(loop)
                    if waited:
                        await slot.__aenter__()  # type: ignore[union-attr]
                    try:
                        if self._closed:
                            raise ClientClosedError(_CLOSED_MESSAGE)
                        if timed:
                            started = time.perf_counter()
                        if key is None:
                            response = await self._transport.send(
                                Request(method, url, _NO_HEADERS, body), path
                            )
                        else:
                            # Signed after admission, so a long wait cannot push the
                            # timestamp out of the exchange's 150 s window; and with the
                            # key current now, so a rotation while queued is in effect.
                            generation = key.current
                            credentials = generation.credentials
                            nonce = new_nonce()
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
                                body_type=body_type,
                            )
                            timestamp = headers["X-Auth-Timestamp"]
                            generation.in_flight += 1
                            try:
                                response = await self._transport.send(
                                    Request(method, url, headers, body), path
                                )
                            finally:
                                generation.in_flight -= 1
                                if generation.retired and not generation.in_flight:
                                    generation.settle()
                    finally:
                        if slot is not None:
                            if waited:
                                await slot.__aexit__(None, None, None)
                            else:
                                slot.exit_now(loop)
                    result = decode(response, route, path)
                    if credentials is not None and self._verify_signature:
                        self._check_signature(credentials, response, nonce, timestamp, method, path)
                except BitstampError as error:
                    if key is not None:
                        self._explain(error, key, credentials, route)
                    if timed:
                        self._record(method, path, lane, attempt, response, queued, started, error)
                    if isinstance(error, RateLimitError) and limiter is not None:
                        # Everyone sharing the limit slows down, whether or not this retries.
                        await limiter.on_rejection(lane, error.retry_after)
                    decision = self._policy.decide(
                        error, route.repeat, attempt, clock_corrected=clock_corrected
                    )
                    if decision.action is Action.RAISE:
                        error.attempts = attempt
                        raise
                    if decision.action is Action.RESIGN:
                        clock_corrected = True
                        if response is not None:
                            self._correct_clock(response, sent_at)
                        continue
                    if decision.delay > 0:
                        await asyncio.sleep(decision.delay)
                    continue
                if timed:
                    self._record(method, path, lane, attempt, response, queued, started, None)
                try:
                    return parse(result)
                except BitstampError as error:
                    # A parser knows the field, not the request: say where the answer came
                    # from.
                    error.status = error.status or response.status
                    error.method = error.method or method
                    error.path = error.path or path
                    raise
                except (KeyError, ValueError, TypeError, IndexError, ArithmeticError) as exc:
                    raise UnexpectedResponseError(
                        f"HTTP {response.status} answer does not have the documented shape: "
                        f"{type(exc).__name__}",
                        status=response.status,
                        method=method,
                        path=path,
                    ) from None
        except asyncio.CancelledError:
            closed = self._closed_error(task)
            if closed is None:
                raise
            raise closed from None
        finally:
            if task is not None:  # _leave(task), spelled out on the way of every request
                depth = active.get(task, 1) - 1
                if depth:
                    active[task] = depth
                else:
                    active.pop(task, None)

    def _no_key(self, route: Route, method: str, endpoint: str) -> MissingCredentialsError:
        if self._keys is None:
            return MissingCredentialsError(
                "this endpoint is private: create the Client with api_key and api_secret "
                "(or keys=[Credentials(...)])",
                method=method,
                path=endpoint,
            )
        return self._keys.missing(route, method, self._prefix + endpoint)

    @staticmethod
    def _explain(
        error: BitstampError, key: KeySlot, credentials: Credentials | None, route: Route
    ) -> None:
        """Name the key in the error, and say what to do about the auth errors a user can
        fix (never showing the secret)."""
        if error.key_label is not None:
            return  # a nested call (an order's reconciliation) already said
        said = credentials.permissions if credentials is not None else None
        add_key_context(
            error,
            label=key.label,
            masked_key=credentials.masked_key if credentials is not None else None,
            route_name=route.name,
            permission=route.permission,
            permission_described=describe(route.permission),
            scope=scope_of(route.permission).value,
            said=None if said is None else summary(said),
        )

    def _check_signature(
        self,
        credentials: Credentials,
        response: Response,
        nonce: str,
        timestamp: str,
        method: str,
        path: str,
    ) -> None:
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
        if not signature_matches(
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


class _Guard:
    __slots__ = ("_pipeline", "_task")

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> None:
        self._task = self._pipeline._enter()

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        pipeline, task = self._pipeline, self._task
        try:
            if isinstance(exc, asyncio.CancelledError):
                error = pipeline._closed_error(task)
                if error is not None:
                    raise error from None
        finally:
            if task is not None:
                pipeline._leave(task)
