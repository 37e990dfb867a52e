"""One error tree for everything aiobitstamp raises.

Errors follow where things fail: before sending (bad input, no keys, closed client), on
the way (transport), or at the exchange (an error answer)::

    BitstampError
    ├── InvalidParameterError (+ ValueError)         bad input, nothing was sent
    │   ├── InvalidCredentialsError                 api_key/api_secret not usable as given
    │   └── UnknownMarketError (+ MarketNotFoundError)
    ├── MissingCredentialsError                     private call on a client without keys
    │   └── MissingPermissionError                  no key of the client may make this call
    ├── ClientClosedError (+ RuntimeError)          the client was closed
    ├── TransportError                              connection refused, reset, TLS, ...
    │   └── RequestTimeoutError (+ TimeoutError)
    ├── OrderOutcomeUnknownError                    an order may or may not be placed
    ├── UnexpectedResponseError                     not JSON: an HTML 502 page, truncated body
    │   └── MalformedFieldError (+ ValueError)      JSON, but a field is missing or wrong
    ├── ResponseSignatureError                      X-Server-Auth-Signature missing or wrong
    └── ExchangeError                               the exchange answered with an error
        ├── AuthenticationError                     API0001, API0005, API0008, API0010-16, 18-21
        │   ├── InvalidNonceError                   API0004
        │   └── TimestampOutOfBoundsError           API0017 (clock skew)
        ├── PermissionDeniedError                   API0002, 0003, 0006, 0009, 403.xxx
        │   └── AccountSuspendedError               403.004, frozen account
        ├── RateLimitError                          400.002, HTTP 429; has retry_after
        ├── BadRequestError                         other 400.xxx, malformed parameters,
        │                                           earn's API5001-API5012
        │   └── InvalidOrderError                   order rules (size, price, flags)
        │       └── InsufficientFundsError          400.009
        ├── NotFoundError                           404.xxx
        │   ├── OrderNotFoundError                  404.002
        │   └── MarketNotFoundError                 404.003, 404.005, 404.007
        ├── EndpointUnavailableError                405.001, 410.001 (deprecated)
        └── ExchangeUnavailableError                5xx, 500.xxx, maintenance

Every error carries ``status``, ``code`` (API00xx or response_code), ``reason``, ``method``,
``path``, ``retry_after`` (seconds, from the answer's Retry-After header, whatever its
status and body), ``retry_safe``: True when the exchange certainly did not act on the
request, so sending it again cannot duplicate anything, and ``key_label``: the label of the
key the request was signed with (``None`` for public calls). Secrets are never part of an
error.

An auth error of a signed request says what to do about it (``add_key_context``): API0001
and API0011 point at typos and stray whitespace in the key, API0002 at the key's IP
allow-list, API0003 names the endpoint, the key's label and the permission it needs.

A malformed answer raises :class:`MalformedFieldError` when it is parsed, or, for the lazy
models (``Ticker``, order-book levels, ``Rows``), when the bad value is read; never a bare
``ValueError``, ``KeyError`` or ``decimal.InvalidOperation``.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from datetime import timezone
from typing import Any

__all__ = [
    "AccountSuspendedError",
    "AuthenticationError",
    "BadRequestError",
    "BitstampError",
    "ClientClosedError",
    "EndpointUnavailableError",
    "ExchangeError",
    "ExchangeUnavailableError",
    "InsufficientFundsError",
    "InvalidCredentialsError",
    "InvalidNonceError",
    "InvalidOrderError",
    "InvalidParameterError",
    "MalformedFieldError",
    "MarketNotFoundError",
    "MissingCredentialsError",
    "MissingPermissionError",
    "NotFoundError",
    "OrderNotFoundError",
    "OrderOutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseSignatureError",
    "TimestampOutOfBoundsError",
    "TransportError",
    "UnexpectedResponseError",
    "UnknownMarketError",
    "add_key_context",
    "error_from_response",
    "error_from_undecodable",
    "is_error_payload",
    "parse_retry_after",
]


class BitstampError(Exception):
    """Root of every error aiobitstamp raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        reason: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_safe: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.reason = reason
        self.method = method
        self.path = path
        self.retry_safe = retry_safe
        self.retry_after = retry_after
        # How many times the request was sent before this error (set by the pipeline).
        self.attempts: int | None = None
        # The label of the key that signed the request (set by the pipeline).
        self.key_label: str | None = None

    def __str__(self) -> str:
        where = f" [{self.method} {self.path}]" if self.method and self.path else ""
        tries = f" (after {self.attempts} attempts)" if self.attempts and self.attempts > 1 else ""
        return f"{self.message}{where}{tries}"


class InvalidParameterError(BitstampError, ValueError):
    """Bad input caught before anything was sent."""


class InvalidCredentialsError(InvalidParameterError):
    """``api_key`` or ``api_secret`` cannot be used: empty, not a ``str``, or holding
    whitespace, control or non-ASCII characters (a pasted newline, a stray quote of an
    environment file). The message says which one and why, never what it holds."""


class MissingCredentialsError(BitstampError):
    """A private endpoint was called on a client created without keys, or keys were asked
    for where there are none (an unset environment variable, a missing key file)."""


class MissingPermissionError(MissingCredentialsError):
    """The client has keys, but none was said to have the permission this call needs
    (``Credentials(permissions=...)``); nothing was sent. ``permission`` names it."""

    def __init__(self, message: str, *, permission: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.permission = permission


class ClientClosedError(BitstampError, RuntimeError):
    """The client was closed; create a new one."""


class TransportError(BitstampError):
    """The request did not complete at the HTTP level (refused, reset, TLS failure, ...).

    ``retry_safe`` is True only when the request certainly never reached the exchange
    (the connection could not be opened).
    """


class RequestTimeoutError(TransportError, TimeoutError):
    """No complete answer within the configured timeout. The request may have executed."""


class OrderOutcomeUnknownError(BitstampError):
    """An order's placement failed ambiguously and looking it up failed too: it may or may
    not be on the book. Look it up by ``client_order_id`` before placing it again."""

    def __init__(self, message: str, *, client_order_id: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.client_order_id = client_order_id


class UnexpectedResponseError(BitstampError):
    """The exchange answered with something that is not the JSON it documents."""


class MalformedFieldError(UnexpectedResponseError, ValueError):
    """The answer is JSON, but not of the documented shape: a field is missing, of the
    wrong type (a list where a price belongs, a float that has lost digits) or out of range.

    It is also a ``ValueError``, as the models' parsing errors always were, so code that
    catches ``ValueError`` around a parser keeps working.

    ``model`` names what was being read (``"OrderStatus"``), ``field`` the path to the bad
    value (``"transactions[1].price"``) and ``problem`` what is wrong with it. The value
    itself is never shown: an answer can hold a secret (a WebSocket token).

    >>> str(MalformedFieldError("missing", model="Trade", field="price"))
    'malformed Trade answer, at price: missing'
    """

    def __init__(
        self,
        problem: str,
        *,
        model: str | None = None,
        field: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.problem = problem
        self.model = model
        self.field = field
        what = f"malformed {model} answer" if model else "malformed answer"
        where = f", at {field}" if field else ""
        super().__init__(f"{what}{where}: {problem}", **kwargs)

    def within(self, model: str | None, field: str) -> MalformedFieldError:
        """The same problem seen from an enclosing value: ``model`` (when given) becomes
        the model named, and ``field`` is prefixed to the path (``"[3]"``, ``"bids"``)."""
        inner = self.field
        if inner is None:
            path = field
        elif inner.startswith("["):
            path = field + inner
        else:
            path = f"{field}.{inner}"
        return MalformedFieldError(self.problem, model=model or self.model, field=path)


class ResponseSignatureError(BitstampError):
    """The response's X-Server-Auth-Signature was wrong, or missing when required."""


class ExchangeError(BitstampError):
    """The exchange answered with an error."""


class AuthenticationError(ExchangeError):
    """The exchange rejected the request's credentials or signature."""


class InvalidNonceError(AuthenticationError):
    """API0004: the nonce was used within the last 150 seconds."""


class TimestampOutOfBoundsError(AuthenticationError):
    """API0017: X-Auth-Timestamp is more than 150 seconds from the exchange's clock."""


class PermissionDeniedError(ExchangeError):
    """The key or account may not do this (IP not allowed, no permission, frozen, FATCA)."""


class AccountSuspendedError(PermissionDeniedError):
    """Trading is blocked for this account."""


class RateLimitError(ExchangeError):
    """The exchange rejected the request for rate (400.002 or HTTP 429); not executed.

    ``retry_after`` is the exchange's Retry-After in seconds, when it sent one.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("retry_safe", True)
        super().__init__(message, **kwargs)


class BadRequestError(ExchangeError):
    """The exchange rejected the request's parameters (400.xxx)."""


class InvalidOrderError(BadRequestError):
    """The order breaks a trading rule: size, price band, decimals, flags."""


class InsufficientFundsError(InvalidOrderError):
    """400.009: not enough available balance for the order."""


class NotFoundError(ExchangeError):
    """404.xxx: the object does not exist (or is no longer visible)."""


class OrderNotFoundError(NotFoundError):
    """404.002: no such order (closed orders are visible for 30 days)."""


class MarketNotFoundError(NotFoundError):
    """No such market or currency pair."""


class UnknownMarketError(InvalidParameterError, MarketNotFoundError):
    """A market symbol that the exchange does not list; caught before sending."""


class EndpointUnavailableError(ExchangeError):
    """405.001 wrong verb, or 410.001 the endpoint is deprecated."""


class ExchangeUnavailableError(ExchangeError):
    """5xx, 500.xxx or scheduled maintenance. Whether the request executed is unknown
    unless ``retry_safe`` says it certainly did not."""


_AUTH_CODES: dict[str, type[ExchangeError]] = {
    "API0001": AuthenticationError,  # API key not found
    "API0002": PermissionDeniedError,  # IP address not allowed
    "API0003": PermissionDeniedError,  # no permission found
    "API0004": InvalidNonceError,
    "API0005": AuthenticationError,  # invalid signature
    "API0006": AccountSuspendedError,  # account frozen
    "API0008": AuthenticationError,  # authentication failed
    "API0009": PermissionDeniedError,  # FATCA information missing
    "API0010": AuthenticationError,  # invalid version
    "API0011": AuthenticationError,  # wrong API key format
    "API0012": AuthenticationError,  # X-Auth header required
    "API0013": AuthenticationError,  # X-Auth-Signature header required
    "API0014": AuthenticationError,  # X-Auth-Nonce header required
    "API0015": AuthenticationError,  # X-Auth-Timestamp header required
    "API0016": AuthenticationError,  # X-Auth-Version header required
    "API0017": TimestampOutOfBoundsError,
    "API0018": AuthenticationError,  # X-Auth-Timestamp invalid
    "API0019": AuthenticationError,  # Content-Type not accepted
    "API0020": AuthenticationError,  # Content-Type should not be present
    "API0021": BadRequestError,  # URL query string too long
}

# Auth-layer rejections happen before the exchange looks at the request, so resending
# (with a fresh nonce and timestamp) can never duplicate an order.
_RETRYABLE_AUTH_CODES = frozenset({"API0004", "API0017"})

_RESPONSE_CODES: dict[str, type[ExchangeError]] = {
    "400.002": RateLimitError,
    "400.003": InvalidOrderError,  # market trading disabled
    "400.009": InsufficientFundsError,
    "400.019": InvalidOrderError,  # client_order_id exists
    "400.020": InvalidOrderError,  # below minimum order value
    "400.021": InvalidOrderError,  # price out of range
    "400.024": InvalidOrderError,  # only one optional order parameter
    "400.025": InvalidOrderError,  # limit_price with another optional parameter
    "400.027": InvalidOrderError,  # limit_price side rule
    "400.028": InvalidOrderError,
    "400.029": InvalidOrderError,  # stop / expire_time rules
    "400.030": InvalidOrderError,
    "400.031": InvalidOrderError,
    "400.032": InvalidOrderError,
    "400.033": InvalidOrderError,
    "400.037": InvalidOrderError,  # size / amount / value too large
    "400.038": InvalidOrderError,
    "400.039": InvalidOrderError,
    "400.040": InvalidOrderError,  # leverage / position rules
    "400.041": InvalidOrderError,
    "400.042": InvalidOrderError,
    "400.043": InvalidOrderError,
    "400.044": InvalidOrderError,
    "400.045": InvalidOrderError,
    "400.046": InvalidOrderError,
    "403.004": AccountSuspendedError,
    "404.002": OrderNotFoundError,
    "404.003": MarketNotFoundError,
    "404.005": MarketNotFoundError,  # order book not found
    "404.007": MarketNotFoundError,
    "405.001": EndpointUnavailableError,
    "410.001": EndpointUnavailableError,
}

# response_code families: the part before the dot picks the class when the exact code
# is not in the table above.
_RESPONSE_FAMILIES: dict[str, type[ExchangeError]] = {
    "400": BadRequestError,
    "403": PermissionDeniedError,
    "404": NotFoundError,
    "405": EndpointUnavailableError,
    "410": EndpointUnavailableError,
    "500": ExchangeUnavailableError,
}

# Older answers carry only a message; these are the ones the exchange is known to send.
_EXACT_MESSAGES: dict[str, type[ExchangeError]] = {
    "No permission found": PermissionDeniedError,
    "API key not found": AuthenticationError,
    "IP address not allowed": PermissionDeniedError,
    "Invalid nonce": InvalidNonceError,
    "Invalid signature": AuthenticationError,
    "Authentication failed": AuthenticationError,
    "Missing key, signature and nonce parameters": AuthenticationError,
    "Wrong API key format": AuthenticationError,
    "Your account is frozen": AccountSuspendedError,
    "Please update your profile with your FATCA information, before using API.": (
        PermissionDeniedError
    ),
    "Order not found.": OrderNotFoundError,
    "Order not found": OrderNotFoundError,
    "Bitstamp.net is under scheduled maintenance. We'll be back soon.": (ExchangeUnavailableError),
    "Order could not be placed.": ExchangeUnavailableError,
    "Invalid offset.": BadRequestError,
    "Trading is currently unavailable for your account.": AccountSuspendedError,
    "Request rejected due to exceeded rate limit.": RateLimitError,
}

_MESSAGE_FRAGMENTS: tuple[tuple[str, type[ExchangeError]], ...] = (
    ("Check your account balance for details.", InsufficientFundsError),
    ("Minimum order size is", InvalidOrderError),
    ("Price is more than", InvalidOrderError),
    ("Ensure that there are no more than", InvalidOrderError),
    ("Maximum market", InvalidOrderError),
    ("No buy orders for currency pair", InvalidOrderError),
    ("No sell orders for currency pair", InvalidOrderError),
    ("Ensure this value has at least", BadRequestError),
)


def is_error_payload(payload: object) -> bool:
    """True when a decoded 2xx body is one of Bitstamp's error shapes."""
    return type(payload) is dict and (payload.get("status") == "error" or "error" in payload)


def _reason_text(payload: Mapping[str, Any]) -> str:
    """Flatten ``reason`` / ``error`` (a string, or a dict of field -> [messages])."""
    parts: list[str] = []
    for key in ("reason", "error"):
        value = payload.get(key)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, Mapping):
            for field_name, messages in value.items():
                items = messages if isinstance(messages, list) else [messages]
                for message in items:
                    if not message:
                        continue
                    prefix = "" if field_name == "__all__" else f"{field_name}: "
                    parts.append(f"{prefix}{message}")
    explanation = payload.get("response_explanation")
    if isinstance(explanation, str) and explanation not in parts:
        parts.append(explanation)
    return "; ".join(parts)


def _classify(
    status: int, code: str | None, reason: str, messages: list[str]
) -> type[ExchangeError]:
    if status == 429:
        return RateLimitError
    if code:
        if code.startswith("API0"):
            return _AUTH_CODES.get(code, AuthenticationError)
        if code.startswith("API"):
            # Not the auth layer's API00xx: the earn endpoints' own API5001-API5012 (amount
            # too low, unsupported, already opted in, ...) are about the request.
            return BadRequestError
        exact = _RESPONSE_CODES.get(code)
        if exact is not None:
            return exact
    for message in messages:
        by_message = _EXACT_MESSAGES.get(message)
        if by_message is not None:
            return by_message
    for fragment, cls in _MESSAGE_FRAGMENTS:
        if fragment in reason:
            return cls
    if code:
        family = _RESPONSE_FAMILIES.get(code.partition(".")[0])
        if family is not None:
            return family
    if status >= 500:
        return ExchangeUnavailableError
    if status == 404:
        return NotFoundError
    if status == 403:
        return PermissionDeniedError
    if status in (405, 410):
        return EndpointUnavailableError
    if status == 401:
        return AuthenticationError
    return BadRequestError if 400 <= status < 500 else ExchangeError


def _messages(payload: Mapping[str, Any]) -> list[str]:
    """Whole messages for exact matching: a string reason/error, or the __all__ list."""
    found: list[str] = []
    for key in ("reason", "error"):
        value = payload.get(key)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, Mapping):
            general = value.get("__all__")
            if isinstance(general, list):
                found.extend(m for m in general if isinstance(m, str) and m)
    return found


# RFC 9110 delta-seconds is digits only; a fraction is tolerated. No sign, no exponent, no
# "inf" or "nan" (float() would take them, and an infinite pause is a hang).
_DELTA_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date).

    ``None`` when the header is absent or unreadable; never negative, never infinite.

    >>> parse_retry_after("30")
    30.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0)
    10.0
    """
    if value.__class__ is not str or not value:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    if not text.isascii() or len(text) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
        if when.tzinfo is None:  # "-0000": the RFC's "UTC, source unknown"
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return max(0.0, seconds)


def error_from_response(
    status: int,
    payload: object,
    *,
    method: str,
    path: str,
    retry_after: str | None = None,
) -> ExchangeError:
    """Map an error answer (decoded JSON, any known shape) to the right exception."""
    if isinstance(payload, Mapping):
        code_value = payload.get("code") or payload.get("response_code")
        code = str(code_value) if code_value is not None else None
        reason = _reason_text(payload)
        messages = _messages(payload)
    else:
        code, reason, messages = None, "", []
    cls = _classify(status, code, reason, messages)
    retry_safe = cls is RateLimitError or (code in _RETRYABLE_AUTH_CODES)
    if cls is ExchangeUnavailableError and status == 503:
        # Maintenance and overload answers come from the front door, before the
        # matching engine sees the request.
        retry_safe = True
    label = code or f"HTTP {status}"
    message = f"{label}: {reason}" if reason else f"{label}: error answer with no reason"
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "reason": reason or None,
        "method": method,
        "path": path,
        "retry_safe": retry_safe,
    }
    if code == "API0005":
        message += " (on a sub-account key, check you sign for the account the key belongs to)"
    return cls(message, retry_after=parse_retry_after(retry_after), **common)


def error_from_undecodable(
    status: int,
    body: bytes,
    content_type: str,
    *,
    method: str,
    path: str,
    retry_after: str | None = None,
) -> BitstampError:
    """An answer whose body is not JSON: an HTML error page, a truncated body, ...

    The message names the status and shows the start of the body, so a proxy's 502 page
    reads as what it is instead of a JSON decode traceback. ``retry_after`` is the answer's
    Retry-After header: a proxy's HTML 429 or 503 still says how long to wait.
    """
    excerpt = body[:120].decode("utf-8", "replace").replace("\n", " ").strip()
    kind = content_type or "no content type"
    message = f"HTTP {status} with a body that is not valid JSON ({kind}, {len(body)} bytes)"
    if excerpt:
        message += f": {excerpt!r}"
    common: dict[str, Any] = {
        "status": status,
        "method": method,
        "path": path,
        "retry_after": parse_retry_after(retry_after),
    }
    if status < 400:
        return UnexpectedResponseError(message, **common)
    cls = _classify(status, None, "", [])
    if cls is RateLimitError:
        return RateLimitError(message, **common)
    return cls(message, retry_safe=status == 503, **common)


def add_key_context(
    error: BitstampError,
    *,
    label: str,
    masked_key: str | None,
    route_name: str,
    permission: str,
    permission_described: str,
    scope: str,
    said: str | None,
) -> None:
    """Say which key a failed signed request used and, for the auth errors a user can fix,
    what to do. ``masked_key`` is the key's start and length (never the secret); ``said``
    the permissions the key was declared with, when the user declared any."""
    error.key_label = label
    code = error.code
    key = f"key {label!r}" + (f" (api_key {masked_key})" if masked_key else "")
    if isinstance(error, RateLimitError):
        error.message = (
            f"{error.message} -- rate limited while using {key}: the client paced and "
            "retried already; send less, share one budget among processes (RedisLimiter), "
            "and keep rate_limit_scope='host' unless the exchange counts per key"
        )
        error.args = (error.message,)
        return
    if not isinstance(error, ExchangeError) or code is None or not code.startswith("API0"):
        return
    where = f"{error.method} {error.path}" if error.method and error.path else route_name
    hint: str
    if code == "API0001":
        hint = (
            f"the exchange does not know {key}: check it for typos, stray whitespace and a "
            "missing character, that it was activated (Bitstamp emails a link), that it was "
            "not revoked, and that base_url is the exchange the key was made on"
        )
    elif code == "API0011":
        hint = (
            f"{key} is not in the form the exchange issues (ASCII letters and digits): "
            "check it for typos, stray whitespace and quotes"
        )
    elif code == "API0002":
        hint = (
            f"{key} has an IP allow-list at the exchange and this machine's public address "
            "is not on it: add the address to the key's allowed IPs, or use the key from an "
            "allowed host"
        )
    elif code == "API0003":
        hint = (
            f"{key} has no permission for {where}: {route_name} needs "
            f"{permission_described}. Enable it for the key at the exchange, or give the "
            f"client a key that has it (Credentials(..., permissions={{{scope!r}}}))"
        )
        if said is not None:
            hint += f"; the client was told this key has {said}, and the exchange disagrees"
    elif code == "API0005":
        hint = (
            f"the signature made with {key} was refused: check that the secret is the one "
            "shown when this key was created (typos, stray whitespace; a rotated key needs "
            "its new secret)"
        )
    else:
        hint = key
    error.message = f"{error.message} -- {hint}"
    error.args = (error.message,)
