"""The one seam to the network.

A transport sends a fully built, already signed request and returns the raw answer. It
knows nothing of Bitstamp's payloads; it is the only place aiohttp errors become
aiobitstamp errors. ``MockTransport`` wraps a plain function so most client tests need no
server at all.
"""

from __future__ import annotations

import asyncio
import inspect
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import aiohttp

from ._deadlines import SUPPORTED as _DEADLINES_SUPPORTED
from ._deadlines import Deadline, Deadlines
from ._exceptions import (
    ClientClosedError,
    RequestTimeoutError,
    TransportError,
    UnexpectedResponseError,
)

__all__ = [
    "DEFAULT_TIMEOUTS",
    "AiohttpTransport",
    "MockTransport",
    "Request",
    "Response",
    "Timeouts",
    "Transport",
]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-request time limits in seconds (``None`` = no limit for that phase)."""

    total: float | None = 10.0
    connect: float | None = 5.0
    read: float | None = None


DEFAULT_TIMEOUTS = Timeouts()

# The full order book of a liquid market is a few MB; anything far larger is not an answer
# we asked for, and reading it would cost memory and time (and again on every retry).
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


# Request and Response are NamedTuples rather than dataclasses: one of each is built per
# request, and a tuple is the cheapest immutable record Python has.


class Request(NamedTuple):
    """One HTTP request, ready for the wire. ``body`` is the exact signed bytes."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


class Response(NamedTuple):
    """The raw answer: status, headers (case-insensitive mapping) and body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Sends requests. Implementations map their own errors to ``TransportError``."""

    async def send(self, request: Request, path: str) -> Response:
        """Send ``request``; ``path`` names the endpoint in errors."""
        ...

    async def aclose(self) -> None:
        """Release connections. Idempotent."""
        ...


_NO_CONTENT_TYPE = ("Content-Type",)


class _ConnectionGate:
    """At most ``size`` requests at a time hold a connection; the others queue here, in
    order, before their timeout starts (see ``AiohttpTransport.__init__``).

    An asyncio.Semaphore without its coroutine on the way in when a connection is free,
    which is nearly always: this runs on every request.
    """

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    def take_now(self) -> bool:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        if self.take_now():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a connection, then cancelled: pass it on
            raise

    def release(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a cancelled waiter stays queued until reached here
                waiter.set_result(None)  # handed straight on: the count stays taken
                return
        self._free += 1


class AiohttpTransport:
    """HTTP over one pooled aiohttp session with keep-alive connections."""

    __slots__ = (
        "_closed",
        "_connector_limit",
        "_deadlines",
        "_gate",
        "_max_response_bytes",
        "_session",
        "_session_loop",
        "_ssl",
        "_timeout",
        "_timeout_without_total",
        "_total",
    )

    def __init__(
        self,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        connection_limit: int = 100,
        ssl_context: ssl.SSLContext | bool | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.read
        )
        # The total timeout is kept by one timer for all requests (see _deadlines), where
        # the Python version allows; aiohttp then keeps only the connect and read limits.
        self._total = timeouts.total if _DEADLINES_SUPPORTED else None
        self._timeout_without_total = aiohttp.ClientTimeout(
            total=None, sock_connect=timeouts.connect, sock_read=timeouts.read
        )
        self._deadlines: Deadlines | None = None
        self._connector_limit = connection_limit
        # Requests wait for a free connection here, before aiohttp's timeout starts: in
        # aiohttp's own pool queue the wait counts against the request's timeout, so a
        # burst larger than the pool timed out requests that were never sent, which for
        # an order reads as "may have executed".
        self._gate: _ConnectionGate | None = None
        self._ssl: ssl.SSLContext | bool = True if ssl_context is None else ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._max_response_bytes = max_response_bytes
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            # A closed client must never quietly open a new pool (and leak it).
            raise ClientClosedError("the transport was closed; create a new Client")
        # Created on first use so that the session binds to the running loop.
        connector = aiohttp.TCPConnector(limit=self._connector_limit, ssl=self._ssl)
        session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, raise_for_status=False
        )
        # aiohttp silently resends an idempotent request once when a kept-alive connection
        # turns out to be closed. That send would bypass the rate limiter, so every retry
        # here is the pipeline's own, counted one.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._session = session
        self._session_loop = loop = asyncio.get_running_loop()
        if self._deadlines is not None:
            self._deadlines.close()
        self._deadlines = Deadlines(loop, self._total) if self._total is not None else None
        return session

    async def _read(self, answer: aiohttp.ClientResponse, request: Request, path: str) -> bytes:
        limit = self._max_response_bytes
        length = answer.content_length
        if length is not None and length > limit:
            raise UnexpectedResponseError(
                f"HTTP {answer.status} answer of {length} bytes is over the "
                f"{limit}-byte limit (max_response_bytes)",
                status=answer.status,
                method=request.method,
                path=path,
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in answer.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise UnexpectedResponseError(
                    f"HTTP {answer.status} answer is over the {limit}-byte limit "
                    "(max_response_bytes)",
                    status=answer.status,
                    method=request.method,
                    path=path,
                )
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def send(self, request: Request, path: str) -> Response:
        session = self._session
        # One question to asyncio for both the task and its loop: each costs a getpid()
        # system call on Python 3.11.
        task = asyncio.current_task()
        loop = task.get_loop() if task is not None else asyncio.get_running_loop()
        # The pipeline binds a client to one running loop; the session follows it when
        # that loop has ended and another took its place.
        if session is None or session.closed or self._session_loop is not loop:
            if session is not None and not session.closed:
                # Its event loop has ended (asyncio.run() called again): the old pool
                # cannot be used or closed from here, only let go of.
                session.detach()
            session = self._open()
            self._gate = _ConnectionGate(self._connector_limit) if self._connector_limit else None
        gate = self._gate
        if gate is not None and not gate.take_now():
            await gate.take()
        # The request's clock starts once it holds a connection.
        deadline: Deadline | None = None
        if self._deadlines is not None and task is not None:
            # (task None: a bare coroutine driven by hand, timed by aiohttp.)
            deadline = self._deadlines.start(task)
        try:
            async with session.request(
                request.method,
                request.url,
                headers=request.headers or None,
                data=request.body or None,
                timeout=self._timeout if deadline is None else self._timeout_without_total,
                # An empty POST must go out without Content-Type, or Bitstamp answers
                # API0020; aiohttp would otherwise add application/octet-stream. (Only
                # there: building the skip list costs every GET a few microseconds.)
                skip_auto_headers=_NO_CONTENT_TYPE
                if request.method == "POST" and not request.body
                else None,
            ) as answer:
                length = answer.content_length
                if length is not None and length <= self._max_response_bytes:
                    body = await answer.read()  # the usual case, without a detour
                else:
                    body = await self._read(answer, request, path)
                return Response(answer.status, answer.headers, body)
        except asyncio.CancelledError:
            # Cancelled by its deadline, and by no one else too: a timeout. (Deadlines exist
            # only where Task.uncancel does, Python 3.11+.)
            if deadline is not None and deadline.expired:
                others: int = deadline.task.uncancel()  # type: ignore[attr-defined]
                if not others:
                    raise RequestTimeoutError(
                        "no complete answer within the timeout; the request may have executed",
                        method=request.method,
                        path=path,
                    ) from None
            raise
        except asyncio.TimeoutError as exc:
            raise RequestTimeoutError(
                "no complete answer within the timeout; the request may have executed",
                method=request.method,
                path=path,
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(
                f"could not connect: {exc.os_error or exc}",
                method=request.method,
                path=path,
                # The connection never opened, so the exchange never saw the request.
                retry_safe=True,
            ) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"{type(exc).__name__}: {exc}; the request may have executed",
                method=request.method,
                path=path,
            ) from exc
        finally:
            if deadline is not None:
                deadline.finished = True
            if gate is not None:
                gate.release()

    async def aclose(self) -> None:
        self._closed = True
        if self._deadlines is not None:
            self._deadlines.close()
        session, self._session = self._session, None
        if session is not None:
            await session.close()


Handler = Callable[[Request], "Response | Awaitable[Response]"]


class MockTransport:
    """A transport that answers every request with ``handler(request)``.

    >>> transport = MockTransport(lambda request: Response(200, {}, b'{"ok": 1}'))
    """

    __slots__ = ("_handler", "requests")

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[Request] = []

    async def send(self, request: Request, path: str) -> Response:
        self.requests.append(request)
        result = self._handler(request)
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, Response)
        return result

    async def aclose(self) -> None:
        return None
