"""Bitstamp auth v2, sans-IO: the string to sign, the request headers, the response check.

Nothing here does I/O or reads a clock: the caller passes the nonce and the timestamp, so
the known-answer vectors test the exact bytes, and the emulator checks requests with the
same formula the client signs with.

String to sign (no separators)::

    "BITSTAMP " + key + METHOD + host + path + query + content_type + nonce + timestamp
    + "v2" + body

``content_type`` is ``application/x-www-form-urlencoded`` when there is a body and empty
otherwise; the header must then be absent too, or the exchange answers API0020.

The secret never leaves :class:`Credentials`: not through ``repr``, ``str``, an error
message, an exception's ``__cause__``/``__context__``, nor the locals of any frame a
traceback shows (``traceback`` with ``capture_locals=True``, rich, Sentry).

``Credentials`` also carries a ``label`` (how messages and routing name the key) and the
``permissions`` the user says it has (``_permissions``). Its loaders (environment, file,
keyring) are thin doors into ``_key_sources``, imported only when called, so signing stays
free of I/O.
"""

from __future__ import annotations

import dataclasses
import email.utils
import enum
import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, Protocol

from ._exceptions import InvalidCredentialsError, InvalidParameterError
from ._permissions import grants, normalize_permissions
from ._random_ids import random_hex

__all__ = [
    "AUTH_VERSION",
    "DEFAULT_LABEL",
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "Credentials",
    "QuerySigning",
    "clock_offset_from_date",
    "response_signature",
    "sign_request",
    "string_to_sign",
    "verify_response_signature",
]

AUTH_VERSION = "v2"
#: The label of a key given without one (``Client(api_key, api_secret)``).
DEFAULT_LABEL = "default"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"


class QuerySigning(enum.Enum):
    """How a signed request's query string enters the string to sign.

    Bitstamp's documentation never shows a signed request with a query string, so whether
    the leading ``?`` is signed is unconfirmed. The default follows the known-answer vector
    (and an established C# client): the query without its ``?``.
    """

    WITHOUT_QUESTION_MARK = "without"
    WITH_QUESTION_MARK = "with"

    def signed_form(self, query: str) -> str:
        if query and self is QuerySigning.WITH_QUESTION_MARK:
            return "?" + query
        return query


# Bitstamp keys and secrets are 32 ASCII letters and digits; anything printable is allowed
# here, but nothing that a header or an HMAC key would carry differently from what the
# user sees: no whitespace, no control character, nothing beyond ASCII.
_MAX_CREDENTIAL_LENGTH = 1024
_UNCHANGED: Any = object()


def _credential_problem(name: str, value: object) -> str | None:
    """What is wrong with ``value`` as ``name``, or ``None``. Never raises, never quotes it:
    the caller raises, once the secret is out of its frame."""
    if not isinstance(value, str):
        return f"{name} must be a str, got {type(value).__name__}"
    text = str.__str__(value)  # a plain copy: a subclass cannot answer for itself below
    if not text:
        return f"{name} is empty"
    if len(text) > _MAX_CREDENTIAL_LENGTH:
        return f"{name} is longer than {_MAX_CREDENTIAL_LENGTH} characters"
    if not text.isascii():
        return f"{name} holds a character beyond ASCII"
    if not text.isprintable() or " " in text:
        return f"{name} holds whitespace or a control character (a pasted newline?)"
    return None


class _Mac(Protocol):
    """What signing needs of a keyed HMAC (``hmac.HMAC`` or OpenSSL's ``_hashlib.HMAC``)."""

    def copy(self) -> _Mac: ...

    def update(self, message: bytes) -> None: ...

    def hexdigest(self) -> str: ...


class Credentials:
    """An API key and its secret, checked once; the secret is never shown.

    ``label`` names the key in messages, logs and routing (``"default"`` unless given; keys
    of one client need distinct labels). ``permissions`` is what the key was allowed to do
    when it was created at Bitstamp: scopes (``"read"``, ``"trade"``, ``"withdraw"``,
    ``"earn"``, ``"kill_switch"``, see ``Permission``) and/or the exchange's fine names
    (``"buy_limit_order"``); ``None`` means not said, and every permission is assumed.

    Key and secret must be non-empty ``str`` of printable ASCII without whitespace; anything
    else raises :class:`~aiobitstamp.InvalidCredentialsError` (a ``ValueError``) saying which
    and why, never what it holds.

    >>> Credentials("key123", "very-secret")
    Credentials(api_key='key123', api_secret=<hidden>)
    >>> Credentials("key123", "very-secret", label="bot", permissions={"trade"})
    Credentials(api_key='key123', api_secret=<hidden>, label='bot', permissions=['trade'])

    Load them rather than writing them into code: :meth:`from_env`, :meth:`from_file`,
    :meth:`from_keyring`, or :func:`~aiobitstamp.load_keys` for several keys.
    """

    __slots__ = ("_grants", "_mac", "_secret", "api_key", "label", "permissions")

    api_key: str
    label: str
    #: What the user said the key may do (scope and fine names), or ``None``.
    permissions: frozenset[str] | None
    _secret: str
    # The fine permissions ``permissions`` amounts to (None: all), for routing.
    _grants: frozenset[str] | None
    # A keyed HMAC ready to be copied: saves re-keying SHA-256 on every request.
    _mac: _Mac

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        label: str = DEFAULT_LABEL,
        permissions: Iterable[str] | str | None = None,
    ) -> None:
        try:
            problem = _credential_problem("api_key", api_key) or _credential_problem(
                "api_secret", api_secret
            )
            if problem is None:
                # str.__str__ copies a str subclass into a plain str: what is signed is
                # exactly the characters checked, whatever the subclass overrides.
                object.__setattr__(self, "api_key", str.__str__(api_key))
                secret = str.__str__(api_secret)
                object.__setattr__(self, "_secret", secret)
                mac = hmac.new(secret.encode("ascii"), digestmod=hashlib.sha256)
                # OpenSSL's own HMAC object where hmac.new made one: the same copy,
                # update and hexdigest, in C. The wrapper's are Python, run per request.
                object.__setattr__(self, "_mac", getattr(mac, "_hmac", None) or mac)
                del secret
        finally:
            # Out of this frame's locals before anything can look at them.
            del api_secret
        if problem is not None:
            raise InvalidCredentialsError(problem)
        problem = _label_problem(label)
        if problem is not None:
            raise InvalidCredentialsError(problem)
        object.__setattr__(self, "label", str.__str__(label))
        try:
            said = normalize_permissions(permissions)
        except InvalidParameterError as error:
            problem = error.message
        if problem is not None:
            raise InvalidCredentialsError(problem)
        object.__setattr__(self, "permissions", said)
        object.__setattr__(self, "_grants", grants(said))

    @property
    def api_secret(self) -> str:
        """The secret itself, for code that must hand it on; avoid printing it."""
        return self._secret

    def covers(self, permission: str) -> bool:
        """Whether this key was said to have the fine ``permission`` (``True`` when its
        permissions were not said)."""
        return self._grants is None or permission in self._grants

    def replace(self, *, label: str | None = None, permissions: Any = _UNCHANGED) -> Credentials:
        """The same key and secret with another ``label`` and/or ``permissions``."""
        return Credentials(
            self.api_key,
            self._secret,
            label=self.label if label is None else label,
            permissions=self.permissions if permissions is _UNCHANGED else permissions,
        )

    @property
    def masked_key(self) -> str:
        """The key's first four characters and its length, for messages: ``'abcd…', 32
        characters``."""
        return f"'{self.api_key[:4]}…', {len(self.api_key)} characters"

    # -- loading (I/O lives in _key_sources; imported when used) ---------------------------

    @classmethod
    def from_env(
        cls,
        prefix: str = "BITSTAMP",
        *,
        label: str | None = None,
        permissions: Iterable[str] | str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Credentials:
        """Read ``{prefix}_API_KEY`` and ``{prefix}_API_SECRET`` (and, when set,
        ``{prefix}_KEY_LABEL`` and ``{prefix}_KEY_PERMISSIONS``, comma-separated).

        A missing variable raises :class:`~aiobitstamp.MissingCredentialsError`; a value
        with a stray newline or space raises ``InvalidCredentialsError`` naming the variable.
        Nothing is stripped: a pasted value that is wrong is refused, not guessed at.
        """
        from ._key_sources import credentials_from_env

        # A mapping given here may hold the secret: keep it out of this frame's locals.
        given = [environ]
        del environ
        return credentials_from_env(
            prefix, label=label, permissions=permissions, environ=given.pop()
        )

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        label: str | None = None,
        permissions: Iterable[str] | str | None = None,
    ) -> Credentials:
        """Read one key from a TOML file (the format of :func:`~aiobitstamp.load_keys`);
        ``label`` picks one when the file holds several.

        The file is refused, unread, when its group or others may read or write it (the
        error names its mode and the ``chmod 600`` that fixes it).
        """
        from ._key_sources import credentials_from_file

        return credentials_from_file(path, label=label, permissions=permissions)

    @classmethod
    def from_keyring(
        cls,
        label: str = DEFAULT_LABEL,
        *,
        service: str = "aiobitstamp",
        permissions: Iterable[str] | str | None = None,
    ) -> Credentials:
        """Read the key labelled ``label`` from the operating system's keyring (the
        ``keyring`` package: ``pip install 'aiobitstamp[keyring]'``), where
        :meth:`save_to_keyring` put it: user names ``{label}/api_key`` and
        ``{label}/api_secret`` of ``service``."""
        from ._key_sources import credentials_from_keyring

        return credentials_from_keyring(label, service=service, permissions=permissions)

    def save_to_keyring(self, *, service: str = "aiobitstamp") -> None:
        """Store this key in the operating system's keyring under its label (see
        :meth:`from_keyring`)."""
        from ._key_sources import save_to_keyring

        save_to_keyring(self, service=service)

    # -- value behaviour -----------------------------------------------------------------

    def __repr__(self) -> str:
        # Never raises, even on an instance whose __init__ did not finish.
        api_key = getattr(self, "api_key", None)
        shown = "<unset>" if api_key is None else repr(api_key)
        extra = ""
        label = getattr(self, "label", DEFAULT_LABEL)
        if label != DEFAULT_LABEL:
            extra += f", label={label!r}"
        permissions = getattr(self, "permissions", None)
        if permissions is not None:
            extra += f", permissions={sorted(permissions)!r}"
        return f"Credentials(api_key={shown}, api_secret=<hidden>{extra})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (
            self.api_key == other.api_key
            and self.label == other.label
            and self.permissions == other.permissions
            and hmac.compare_digest(self._secret.encode(), other._secret.encode())
        )

    def __hash__(self) -> int:
        return hash(self.api_key)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        permissions = None if self.permissions is None else sorted(self.permissions)
        return (_rebuild, (self.api_key, self._secret, self.label, permissions))

    def __copy__(self) -> Credentials:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Credentials:
        return self

    def hexdigest(self, message: bytes) -> str:
        """Lowercase hex HMAC-SHA256 of ``message`` keyed with the secret."""
        mac = self._mac.copy()
        mac.update(message)
        return mac.hexdigest()


def _rebuild(
    api_key: str, api_secret: str, label: str, permissions: list[str] | None
) -> Credentials:
    return Credentials(api_key, api_secret, label=label, permissions=permissions)


_MAX_LABEL_LENGTH = 64


def _label_problem(label: object) -> str | None:
    if not isinstance(label, str):
        return f"label must be a str, got {type(label).__name__}"
    if not label or label != label.strip():
        return f"label {label!r} is empty or has spaces around it"
    if len(label) > _MAX_LABEL_LENGTH:
        return f"label is longer than {_MAX_LABEL_LENGTH} characters"
    if not label.isprintable():
        return f"label {label!r} holds a control character"
    return None


def string_to_sign(
    api_key: str,
    method: str,
    host: str,
    path: str,
    query: str,
    content_type: str,
    nonce: str,
    timestamp: str,
    body: bytes,
) -> bytes:
    """The exact bytes Bitstamp's HMAC covers. ``query`` is already in its signed form."""
    head = (
        f"BITSTAMP {api_key}{method}{host}{path}{query}{content_type}"
        f"{nonce}{timestamp}{AUTH_VERSION}"
    )
    return head.encode() + body


def sign_request(
    credentials: Credentials,
    method: str,
    host: str,
    path: str,
    query: str,
    body: bytes,
    *,
    nonce: str,
    timestamp_ms: int,
    query_signing: QuerySigning = QuerySigning.WITHOUT_QUESTION_MARK,
    body_type: str = FORM_CONTENT_TYPE,
) -> dict[str, str]:
    """Return the auth headers for one request.

    ``host`` is the authority as sent (``www.bitstamp.net``, or ``127.0.0.1:8765`` for the
    emulator); ``query`` is the urlencoded query without ``?``; ``body`` is the exact bytes
    that will be sent, of media type ``body_type``. Content-Type is included only when
    there is a body.
    """
    content_type = body_type if body else ""
    timestamp = str(timestamp_ms)
    # string_to_sign() spelled out: this runs on every private request.
    if query:
        query = query_signing.signed_form(query)
    api_key = credentials.api_key
    message = (
        f"BITSTAMP {api_key}{method}{host}{path}{query}{content_type}"
        f"{nonce}{timestamp}{AUTH_VERSION}"
    ).encode() + body
    headers = {
        "X-Auth": "BITSTAMP " + api_key,
        "X-Auth-Signature": credentials.hexdigest(message),
        "X-Auth-Nonce": nonce,
        "X-Auth-Timestamp": timestamp,
        "X-Auth-Version": AUTH_VERSION,
    }
    if content_type:
        headers["Content-Type"] = content_type
    return headers


# The variant nibble of an RFC 4122 UUID is 10xx in binary: 8, 9, a or b.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_nonce() -> str:
    """A fresh random UUID4 in its 36-character text form, as ``X-Auth-Nonce`` wants.

    Equal in kind to ``str(uuid.uuid4())`` (122 random bits from ``os.urandom``, version
    and variant set) at a fraction of its cost: it runs on every private request.
    """
    h = random_hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def response_signature(
    credentials: Credentials, nonce: str, timestamp: str, content_type: str, body: bytes
) -> str:
    """The ``X-Server-Auth-Signature`` the exchange computes for a response.

    ``content_type`` is the header as aiohttp decodes it (UTF-8, undecodable bytes kept
    as surrogate escapes), so encoding it back the same way gives the bytes that were signed.
    """
    head = f"{nonce}{timestamp}{content_type}".encode("utf-8", "surrogateescape")
    return credentials.hexdigest(head + body)


def verify_response_signature(
    credentials: Credentials,
    signature: str,
    nonce: str,
    timestamp: str,
    content_type: str,
    body: bytes,
) -> bool:
    """True when ``signature`` matches; compared in constant time, case-insensitively.

    A header that is not even ASCII text (or not a ``str``) is simply a mismatch.
    """
    if signature.__class__ is not str or not signature.isascii():
        return False
    try:
        expected = response_signature(credentials, nonce, timestamp, content_type, body)
    except UnicodeEncodeError:  # a Content-Type no server could have sent, nor signed
        return False
    # Both are ASCII text here, which compare_digest takes as it is.
    return hmac.compare_digest(expected, signature.lower())


def clock_offset_from_date(date_header: str, sent_at: float, received_at: float) -> float | None:
    """Estimate ``server_time - local_time`` in seconds from an HTTP ``Date`` header.

    The header has one-second resolution and names some instant between sending and
    receiving, so the midpoint of the round trip is the best local counterpart. Returns
    ``None`` when the header is missing or malformed.
    """
    if date_header.__class__ is not str or not date_header.isascii() or len(date_header) > 64:
        return None
    try:
        server = email.utils.parsedate_to_datetime(date_header)
        if server.tzinfo is None:
            return None
        # The header truncates to whole seconds: its true instant lies in [t, t+1).
        return server.timestamp() + 0.5 - (sent_at + received_at) / 2
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
