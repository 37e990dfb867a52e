"""Auth v2 verification, in the order the exchange reports problems.

The checks run in this order, and the first failure is the answer (HTTP 403,
``{"status": "error", "reason": ..., "code": "API00xx"}``):

1. URL longer than 2000 characters (API0021);
2. missing headers: X-Auth, X-Auth-Signature, X-Auth-Nonce, X-Auth-Timestamp,
   X-Auth-Version (API0012..API0016);
3. version other than "v2" (API0010); X-Auth not "BITSTAMP <alphanumeric key>" (API0011);
4. unknown key (API0001);
5. timestamp not an integer (API0018) or more than 150 s from the server clock (API0017);
6. Content-Type with an empty body (API0020); a body with any other Content-Type than
   ``application/x-www-form-urlencoded`` (API0019);
7. signature (API0005): HMAC-SHA256 with the key's secret over the plain concatenation
   (no separators) of "BITSTAMP " + key, method, the Host header, path, query (with or
   without its "?", a switch: unconfirmed), Content-Type (empty when absent), nonce,
   timestamp, "v2" and the raw body bytes, as received (fact sheet, section d); hex
   compared case-insensitively. Written here from the fact sheet, not borrowed from the
   client's signer, so a signing bug in the client cannot hide by being mirrored;
8. nonce reused by the same key within 150 s (API0004) -- after the signature, so a forged
   request cannot burn a legitimate client's nonce;
9. frozen account (API0006), IP allow-list (API0002), endpoint permission (API0003).

An account may hold several keys (``FakeBitstamp.add_api_key``), each with its own secret,
IP allow-list and permissions (fine names or the client's scopes); a key removed or
revoked is unknown from the next request on (API0001).

Nonces are remembered with their arrival time in a deque per key and forgotten once out
of the window, so memory stays bounded by the request rate.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from .._auth import Credentials, QuerySigning
from ._accounts import FakeAccount, allows
from ._errors import ApiError

__all__ = [
    "AuthChecker",
    "Authenticated",
    "NonceRegistry",
    "SignedRequest",
    "expected_signature",
    "server_signature",
]

AUTH_VERSION: Final = "v2"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE: Final = "application/json"

_ACCEPTED: Final = {False: (FORM_CONTENT_TYPE,), True: (FORM_CONTENT_TYPE, JSON_CONTENT_TYPE)}

MAX_URL_LENGTH: Final = 2000
TIMESTAMP_TOLERANCE_MS: Final = 150_000
NONCE_WINDOW_SECONDS: Final = 150.0
_AUTH_PREFIX: Final = "BITSTAMP "
_REQUIRED_HEADERS: Final = (
    ("X-Auth", "API0012"),
    ("X-Auth-Signature", "API0013"),
    ("X-Auth-Nonce", "API0014"),
    ("X-Auth-Timestamp", "API0015"),
    ("X-Auth-Version", "API0016"),
)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of an HTTP request the auth check looks at, exactly as received."""

    method: str
    host: str  # the Host header: "127.0.0.1:54321"
    path: str  # raw path, without the query
    query: str  # raw query string, without "?"
    url_length: int
    headers: Mapping[str, str]  # case-insensitive mapping
    body: bytes
    peer: str | None


@dataclass(frozen=True, slots=True)
class Authenticated:
    """A request that passed every check: whose it is, and what to sign the answer with."""

    account: FakeAccount
    nonce: str
    timestamp: str
    credentials: Credentials  # the key that signed it: its secret signs the answer


class NonceRegistry:
    """Nonces seen per API key within the last ``window`` seconds."""

    __slots__ = ("_clock", "_seen", "_window")

    def __init__(self, clock: Callable[[], float], window: float = NONCE_WINDOW_SECONDS) -> None:
        self._clock = clock
        self._window = window
        self._seen: dict[str, tuple[set[str], deque[tuple[float, str]]]] = {}

    def use(self, api_key: str, nonce: str) -> bool:
        """Remember ``nonce`` for ``api_key``; False if it was already used in the window."""
        now = self._clock()
        known, arrivals = self._seen.setdefault(api_key, (set(), deque()))
        horizon = now - self._window
        while arrivals and arrivals[0][0] <= horizon:
            known.discard(arrivals.popleft()[1])
        if nonce in known:
            return False
        known.add(nonce)
        arrivals.append((now, nonce))
        return True


class AuthChecker:
    """Verify auth v2 headers of private requests against the registered accounts."""

    def __init__(
        self,
        accounts: Mapping[str, FakeAccount],
        *,
        wall_clock: Callable[[], float],
        monotonic_clock: Callable[[], float],
        query_signing: QuerySigning,
    ) -> None:
        self._accounts = accounts
        self._wall_clock = wall_clock  # the server's clock, clock_offset included
        self._nonces = NonceRegistry(monotonic_clock)
        self.query_signing = query_signing

    def check(
        self, request: SignedRequest, permission: str, *, json_accepted: bool = False
    ) -> Authenticated:
        """Return who sent ``request``, or raise ``ApiError`` with the first failing code.
        A body must be form-encoded, or JSON where ``json_accepted``."""
        if request.url_length > MAX_URL_LENGTH:
            raise ApiError.auth("API0021")
        headers = request.headers
        for name, code in _REQUIRED_HEADERS:
            if not headers.get(name):
                raise ApiError.auth(code)
        if headers["X-Auth-Version"] != AUTH_VERSION:
            raise ApiError.auth("API0010")
        x_auth = headers["X-Auth"]
        api_key = x_auth[len(_AUTH_PREFIX) :]
        if not x_auth.startswith(_AUTH_PREFIX) or not (api_key.isascii() and api_key.isalnum()):
            raise ApiError.auth("API0011")
        account = self._accounts.get(api_key)
        if account is None:
            raise ApiError.auth("API0001")
        extra = account.extra_keys.get(api_key)
        credentials = account.credentials if extra is None else extra.credentials
        timestamp = headers["X-Auth-Timestamp"]
        if not (timestamp.isascii() and timestamp.isdigit()):
            raise ApiError.auth("API0018")
        if abs(int(timestamp) - self._wall_clock() * 1000) > TIMESTAMP_TOLERANCE_MS:
            raise ApiError.auth("API0017")
        content_type = headers.get("Content-Type")
        if content_type is not None and not request.body:
            raise ApiError.auth("API0020")
        if request.body and (
            content_type is None or _media_type(content_type) not in _ACCEPTED[json_accepted]
        ):
            raise ApiError.auth("API0019")
        nonce = headers["X-Auth-Nonce"]
        query = request.query
        if query and self.query_signing is QuerySigning.WITH_QUESTION_MARK:
            query = "?" + query
        expected = expected_signature(
            credentials.api_secret,
            api_key,
            request.method,
            request.host,
            request.path,
            query,
            content_type or "",
            nonce,
            timestamp,
            request.body,
        )
        received = headers["X-Auth-Signature"].lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode(), received):
            raise ApiError.auth("API0005")
        if not self._nonces.use(api_key, nonce):
            raise ApiError.auth("API0004")
        if account.frozen:
            raise ApiError.auth("API0006")
        allowed_ips = account.allowed_ips if extra is None else extra.allowed_ips
        if allowed_ips is not None and request.peer not in allowed_ips:
            raise ApiError.auth("API0002")
        if not allows(account.permissions if extra is None else extra.permissions, permission):
            raise ApiError.auth("API0003")
        return Authenticated(account, nonce, timestamp, credentials)


def _media_type(content_type: str) -> str:
    """``application/x-www-form-urlencoded; charset=UTF-8`` -> the bare media type.

    The signature covers the header exactly as sent, so parameters are harmless; whether
    the exchange accepts them is unconfirmed, and the emulator does.
    """
    return content_type.partition(";")[0].strip().lower()


def expected_signature(
    secret: str,
    api_key: str,
    method: str,
    host: str,
    path: str,
    query: str,
    content_type: str,
    nonce: str,
    timestamp: str,
    body: bytes,
) -> str:
    """The lower-case hex X-Auth-Signature the exchange expects (fact sheet, section d)."""
    head = "".join(
        ("BITSTAMP ", api_key, method, host, path, query, content_type, nonce, timestamp, "v2")
    )
    return hmac.new(secret.encode(), head.encode() + body, hashlib.sha256).hexdigest()


def server_signature(
    secret: str, nonce: str, timestamp: str, content_type: str, body: bytes
) -> str:
    """X-Server-Auth-Signature of an answer: HMAC-SHA256 over nonce + timestamp + the
    answer's Content-Type + its body, with the nonce and timestamp the client sent."""
    head = (nonce + timestamp + content_type).encode()
    return hmac.new(secret.encode(), head + body, hashlib.sha256).hexdigest()
