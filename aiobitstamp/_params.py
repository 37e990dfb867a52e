"""Caller input, normalised once to the exact text or number that goes on the wire.

Every function here takes whatever the caller passed and either returns the wire form, a
plain ``str``, ``int`` or ``bool`` built by this module, or raises ``InvalidParameterError``
(also a ``ValueError``) whose message names the parameter and the rule it breaks. The
client puts the returned value, and only that, in the path, query or form body, so what
was checked is what is sent::

    symbol = market_symbol(pair)            # "btcusd"
    form = {"amount": decimal_param("amount", amount, decimals=8)}
    path = f"/api/v2/buy/{symbol}/"

Why the care: a value is judged by its *value*, never by methods its class can override.
A ``str`` subclass can make ``__format__`` say ``market/btcusd`` while ``==`` says
``btcusd``, and an ``int`` subclass can report one number to ``<`` and print another.
So each function first takes an exact copy of the underlying value with the base type's
own method (``str.__str__(value)``, ``int.__index__(value)``, ``Decimal.__str__(value)``),
checks that copy, and returns it. Nothing of the caller's object is used afterwards.

Rules shared by every function:

* ``bool`` is never an ``int`` here (``True`` is not ``1``), ``float`` is never accepted
  where an int or a decimal is expected (``60.0`` is not ``60``; ``0.1`` is not 0.1).
* Enum members: an ``Enum`` member stands for its ``_value_`` when that value has exactly
  the expected plain type (``class Pair(str, Enum): BTCUSD = "btcusd"`` gives
  ``"btcusd"``, an ``IntEnum`` member gives its int). The value is read once, from the
  instance, and is what gets checked and returned; the member's ``str()`` and
  ``format()`` (``"Pair.BTCUSD"`` on Python 3.11+) are never used. ``boolean`` accepts
  only ``True`` and ``False`` themselves.
* Digits are ASCII ``0-9`` only (``"١٢٣"`` and ``"²"`` are not numbers here), no
  whitespace, no underscores; identifiers are ASCII unless a function says otherwise.
* Sizes are checked before anything is built from them, so a hostile input can never make
  this module allocate a large string or number (``"1e999998"`` is refused by reading its
  exponent, not by writing out a million zeros).
* Error messages show the value through the same safe extraction, shortened, so printing
  a refusal cannot run the caller's ``__repr__``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from datetime import date, datetime, timedelta, timezone
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    Clamped,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Subnormal,
    Underflow,
    localcontext,
)
from enum import Enum
from typing import Any, NoReturn, TypeGuard, TypeVar

from ._exceptions import InvalidParameterError

__all__ = [
    "BIC_PATTERN",
    "COUNTRY_CODE_PATTERN",
    "IBAN_PATTERN",
    "MAX_UNIX_MILLIS",
    "MAX_UNIX_SECONDS",
    "Amount",
    "boolean",
    "client_order_id",
    "crypto_address",
    "currency",
    "decimal_param",
    "decimal_value",
    "destination_tag",
    "future_time",
    "integer",
    "market_symbol",
    "memo",
    "network",
    "offset",
    "one_of",
    "order_id",
    "page_size",
    "path_segment",
    "text",
    "time_range",
    "unix_millis",
    "unix_seconds",
    "uuid_param",
]

# What callers may pass for money. Floats are refused: 0.1 is not 0.1 in binary, and an
# order must carry exactly the number the caller meant.
Amount = Decimal | int | str

T = TypeVar("T")

#: 2100-01-01T00:00:00Z: no Bitstamp timestamp a caller sends is later than this.
MAX_UNIX_SECONDS = 4_102_444_800
MAX_UNIX_MILLIS = MAX_UNIX_SECONDS * 1000

#: ISO 13616 IBAN, upper case, no spaces; for ``text(..., pattern=IBAN_PATTERN)``.
IBAN_PATTERN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
#: ISO 9362 BIC (8 or 11 characters, upper case).
BIC_PATTERN = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
#: ISO 3166-1 alpha-2 country code, upper case.
COUNTRY_CODE_PATTERN = re.compile(r"[A-Z]{2}")

# Character classes are spelled out ([a-z], [0-9], [!-~]) rather than \w or \d, which
# match Unicode letters and digits in str patterns.
_MARKET_SYMBOL = re.compile(r"[a-z0-9]{2,20}(?:-perp)?")
_CURRENCY = re.compile(r"[a-z0-9]{2,10}")
_NETWORK = re.compile(r"[a-z0-9][a-z0-9_-]{1,31}")
_ORDER_ID = re.compile(r"[1-9][0-9]{0,19}")
_UINT_TEXT = re.compile(r"0|[1-9][0-9]{0,19}")
_MAX_CLIENT_ORDER_ID = 180
_CLIENT_ORDER_ID = re.compile(rf"[!-~]{{1,{_MAX_CLIENT_ORDER_ID}}}")
_CRYPTO_ADDRESS = re.compile(r"[!-~]{10,128}")
_MEMO = re.compile(r"[!-~](?:[ -~]{0,98}[!-~])?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]{1,100}")
_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_NOT_FINITE = re.compile(r"[+-]?(?:inf|infinity|s?nan[0-9]*)", re.IGNORECASE | re.ASCII)

# Longest number text read at all. Real amounts are far shorter; this only bounds the work.
_MAX_NUMBER_TEXT = 100
_DEFAULT_DECIMALS = 18
_MAX_SHOWN = 40

# Every decimal condition is trapped, so nothing can pass silently as NaN or rounded; each
# trap is caught below and reported as InvalidParameterError.
_DECIMAL_CONTEXT = Context(
    prec=200,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    capitals=1,
    traps=[
        Clamped,
        DivisionByZero,
        Inexact,
        InvalidOperation,
        Overflow,
        Rounded,
        Subnormal,
        Underflow,
    ],
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_SECOND = timedelta(seconds=1)
_ONE_MILLISECOND = timedelta(milliseconds=1)
# The slot that holds a UUID's number, read from the base class so a subclass property
# named ``int`` cannot stand in for it.
_UUID_INT: Any = uuid.UUID.__dict__["int"]
_TYPE_QUALNAME: Any = type.__dict__["__qualname__"]


# --------------------------------------------------------------------------- extraction


def _is(value: object, cls: type[T]) -> TypeGuard[T]:
    """Whether ``value`` really is a ``cls``: its actual type, not a spoofable ``__class__``."""
    return issubclass(type(value), cls)


_UNREADABLE = object()


def _enum_value(value: object) -> object:
    """The member's ``_value_`` as stored on the instance, or a sentinel when unreadable."""
    try:
        return object.__getattribute__(value, "_value_")
    except AttributeError:
        return _UNREADABLE


def _exact_str(value: object) -> str | None:
    """An exact ``str`` copy of a str, str subclass or str-valued Enum member; else None."""
    if type(value) is str:
        return value
    if _is(value, Enum):
        raw = _enum_value(value)
        return raw if type(raw) is str else None
    if _is(value, str):
        copy = str.__str__(value)
        return copy if type(copy) is str else None
    return None


def _exact_int(value: object) -> int | None:
    """An exact ``int`` from an int, int subclass or int-valued Enum member; never a bool."""
    if type(value) is int:
        return value
    if _is(value, bool):
        return None
    if _is(value, Enum):
        raw = _enum_value(value)
        return raw if type(raw) is int else None
    if _is(value, int):
        copy = int.__index__(value)
        return copy if type(copy) is int else None
    return None


def _type_name(value: object) -> str:
    name = _TYPE_QUALNAME.__get__(type(value))
    return name if type(name) is str else "object"


def _describe(value: object) -> str:
    """A short, safe description of a caller's value for an error message.

    Built like the values themselves: from exact copies, never from the caller's
    ``__repr__``, so it cannot raise, lie or be a megabyte long.
    """
    if value is None or type(value) is bool:
        return repr(value)
    if _is(value, Enum):
        return f"a {_type_name(value)} member"
    if _is(value, str):
        copy = str.__str__(value)
        shown = repr(copy[:_MAX_SHOWN]) + ("..." if len(copy) > _MAX_SHOWN else "")
        return shown if type(value) is str else f"{shown} (a {_type_name(value)})"
    if _is(value, int):
        number = int.__index__(value)
        if number.bit_length() > 100:
            shown = f"an int of {number.bit_length()} bits"
        else:
            shown = int.__repr__(number)
        return shown if type(value) is int else f"{shown} (a {_type_name(value)})"
    if _is(value, float):
        return f"{float.__repr__(value)} (a {_type_name(value)})"
    if _is(value, Decimal):
        with localcontext(_DECIMAL_CONTEXT):
            copy = Decimal.__str__(value)
        shown = copy[:_MAX_SHOWN] + ("..." if len(copy) > _MAX_SHOWN else "")
        return f"Decimal('{shown}')"
    if _is(value, bytes):
        head = bytes.__getitem__(value, slice(0, _MAX_SHOWN))
        return f"{bytes.__repr__(head)} (a {_type_name(value)})"
    return f"a {_type_name(value)} object"


def _refuse(message: str) -> NoReturn:
    raise InvalidParameterError(message)


def _string(name: str, value: object, what: str) -> str:
    """The exact str or a refusal that says ``what`` was expected."""
    plain = _exact_str(value)
    if plain is None:
        _refuse(f"{name} must be {what} (a str), got {_describe(value)}")
    return plain


def _matching(name: str, value: object, pattern: re.Pattern[str], rule: str) -> str:
    plain = _string(name, value, rule)
    if not pattern.fullmatch(plain):
        _refuse(f"{name} must be {rule}, got {_describe(value)}")
    return plain


# --------------------------------------------------------------------------- identifiers


def market_symbol(value: object) -> str:
    """A market symbol such as ``"btcusd"`` or ``"btcusd-perp"``.

    Lower-case ASCII letters and digits, 2 to 20 of them, with an optional ``-perp``.
    Upper case is refused rather than folded, so what is sent is what was written.

    >>> market_symbol("btcusd")
    'btcusd'
    """
    return _matching(
        "market symbol",
        value,
        _MARKET_SYMBOL,
        "2-20 lower-case ASCII letters and digits like 'btcusd' or 'btcusd-perp'",
    )


def currency(value: object, *, name: str = "currency") -> str:
    """A currency code such as ``"btc"``: 2 to 10 lower-case ASCII letters and digits.

    Only the shape is checked; whether the exchange lists it is the client's question.
    Endpoints that want upper case can call ``.upper()`` on the (exact, ASCII) result.
    """
    return _matching(name, value, _CURRENCY, "2-10 lower-case ASCII letters and digits")


def network(value: object, *, name: str = "network") -> str:
    """A blockchain network name such as ``"ethereum"`` or ``"avalanche-c-chain"``.

    Lower-case ASCII letters, digits, ``-`` and ``_``, 2 to 32 characters, starting with a
    letter or digit.
    """
    return _matching(
        name,
        value,
        _NETWORK,
        "2-32 lower-case ASCII letters, digits, '-' or '_' like 'ethereum'",
    )


def order_id(value: object, *, name: str = "order_id") -> str:
    """An order (or transaction) id as its decimal text.

    An int from 1 to ``10**20 - 1``, or a str of 1 to 20 ASCII digits without a sign,
    whitespace or leading zeros. Ids are kept as text because some exceed 2**53.

    >>> order_id(1234567890123456)
    '1234567890123456'
    """
    number = _exact_int(value)
    if number is not None:
        if not 1 <= number < 10**20:
            _refuse(f"{name} must be a positive int below 10**20, got {_describe(number)}")
        return int.__repr__(number)
    return _matching(
        name,
        value,
        _ORDER_ID,
        "a positive int or 1-20 ASCII digits without sign, spaces or leading zeros",
    )


def client_order_id(value: object, *, name: str = "client_order_id") -> str:
    """A caller-chosen order id: 1 to 180 printable ASCII characters, no whitespace."""
    return _matching(
        name,
        value,
        _CLIENT_ORDER_ID,
        f"1-{_MAX_CLIENT_ORDER_ID} printable ASCII characters without spaces",
    )


def uuid_param(name: str, value: object) -> str:
    """A UUID (``uuid.UUID`` or its 8-4-4-4-12 hex text, any case) as lower-case text."""
    if _is(value, uuid.UUID):
        try:
            number = _UUID_INT.__get__(value, uuid.UUID)
        except AttributeError:  # a subclass that never set the slot
            number = None
        if type(number) is not int or not 0 <= number < 1 << 128:
            _refuse(f"{name} must be a UUID, got {_describe(value)}")
        digits = f"{number:032x}"
        return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
    plain = _matching(name, value, _UUID, "a UUID like '123e4567-e89b-12d3-a456-426614174000'")
    return plain.lower()


def crypto_address(value: object, *, name: str = "address") -> str:
    """A crypto address: 10 to 128 printable ASCII characters, no whitespace.

    XRP addresses may carry their destination tag as ``?dt=``; that is allowed. Addresses
    go in the form body, never in a path.
    """
    return _matching(
        name, value, _CRYPTO_ADDRESS, "10-128 printable ASCII characters without spaces"
    )


def memo(name: str, value: object) -> str:
    """A memo id (XLM, HBAR, ...): an int from 0 to 2**64 - 1, or 1 to 100 printable
    ASCII characters that do not start or end with a space."""
    number = _exact_int(value)
    if number is not None:
        if not 0 <= number < 1 << 64:
            _refuse(f"{name} must be between 0 and 2**64 - 1, got {_describe(number)}")
        return int.__repr__(number)
    return _matching(
        name,
        value,
        _MEMO,
        "1-100 printable ASCII characters, not starting or ending with a space",
    )


def destination_tag(value: object, *, name: str = "destination_tag") -> str:
    """An XRP destination tag: an int or ASCII digit text from 0 to 2**32 - 1."""
    number = _exact_int(value)
    if number is None:
        text_form = _matching(
            name, value, _UINT_TEXT, "an int or ASCII digits without sign or leading zeros"
        )
        number = int(text_form)  # at most 20 ASCII digits: cheap and exact
    if not 0 <= number < 1 << 32:
        _refuse(f"{name} must be between 0 and 4294967295, got {_describe(number)}")
    return int.__repr__(number)


def text(
    name: str,
    value: object,
    *,
    max_length: int,
    min_length: int = 1,
    pattern: str | re.Pattern[str] | None = None,
    ascii_only: bool = False,
) -> str:
    """Free text (names, IBAN, BIC, country codes, ...): printable characters only.

    Refuses control characters, newlines, tabs, zero-width and other format characters,
    non-ASCII space separators, and a space at either end; ``ascii_only`` also refuses
    anything outside ASCII. ``pattern`` (matched against the whole value) adds a shape, e.g.
    ``text("iban", iban, max_length=34, pattern=IBAN_PATTERN)``. Give patterns explicit
    ASCII classes (``[0-9]``, not ``\\d``). The value is not otherwise altered.
    """
    plain = _string(name, value, "text")
    if not min_length <= len(plain) <= max_length:
        _refuse(
            f"{name} must be {min_length}-{max_length} characters long, "
            f"got {len(plain)}: {_describe(plain)}"
        )
    if not plain.isprintable():
        _refuse(f"{name} must contain printable characters only, got {_describe(plain)}")
    if ascii_only and not plain.isascii():
        _refuse(f"{name} must be ASCII, got {_describe(plain)}")
    if plain.startswith(" ") or plain.endswith(" "):
        _refuse(f"{name} must not start or end with a space, got {_describe(plain)}")
    if pattern is not None and re.fullmatch(pattern, plain) is None:
        shape = pattern if isinstance(pattern, str) else pattern.pattern
        _refuse(f"{name} must match {shape!r}, got {_describe(plain)}")
    return plain


def path_segment(name: str, value: object) -> str:
    """A safety net for anything placed in a URL path: one plain, unescaped segment.

    Only ASCII letters, digits and ``- _ . ~`` (RFC 3986 unreserved characters), 1 to 100
    of them, and never ``..``. So ``/``, ``?``, ``#``, ``%``, whitespace, control
    characters and non-ASCII are refused instead of changing which URL is requested.
    """
    plain = _matching(
        name,
        value,
        _PATH_SEGMENT,
        "a URL path segment of 1-100 ASCII letters, digits, '-', '_', '.' or '~'",
    )
    if ".." in plain or plain == ".":
        _refuse(f"{name} must not be '.' or contain '..', got {_describe(plain)}")
    return plain


# --------------------------------------------------------------------------- choices


def boolean(name: str, value: object) -> bool:
    """``True`` or ``False`` themselves; ``1``, ``"no"``, ``None`` and Enum members are refused."""
    if type(value) is not bool:
        _refuse(f"{name} must be True or False, got {_describe(value)}")
    return value


def one_of(name: str, value: object, allowed: Collection[T]) -> T:
    """The element of ``allowed`` that ``value`` stands for, compared by value and exact type.

    ``allowed`` holds plain values (str, int, ...). A str subclass or str-valued Enum member
    matches a str element by its underlying text; an int subclass or IntEnum member matches
    an int element. ``False`` is not ``0`` and ``60.0`` is not ``60``. The element itself is
    returned, so the caller's object never reaches the wire.

    >>> one_of("time", "hour", ("minute", "hour", "day"))
    'hour'
    """
    plain: object
    if _is(value, bool):
        plain = value
    elif _is(value, Enum):
        plain = _enum_value(value)
    else:
        as_str = _exact_str(value)
        plain = as_str if as_str is not None else _exact_int(value)
        if plain is None:
            plain = value
    for choice in allowed:
        # The type test comes first: == then runs between two objects of the same
        # built-in type, never a caller's __eq__.
        if type(choice) is type(plain) and choice == plain:
            return choice
    choices = ", ".join(repr(choice) for choice in allowed)
    _refuse(f"{name} must be one of {choices}; got {_describe(value)}")


# --------------------------------------------------------------------------- numbers


def integer(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An exact int within ``[minimum, maximum]``.

    Accepts ints, int subclasses (reduced to their exact value) and IntEnum members;
    refuses bool, float (even ``60.0``), Decimal and str.
    """
    number = _exact_int(value)
    if number is None:
        hint = " (floats are refused: pass an int)" if _is(value, float) else ""
        _refuse(f"{name} must be an int, got {_describe(value)}{hint}")
    if minimum is not None and number < minimum:
        _refuse(f"{name} must be at least {minimum}, got {_describe(number)}")
    if maximum is not None and number > maximum:
        _refuse(f"{name} must be at most {maximum}, got {_describe(number)}")
    return number


def page_size(name: str, value: object, *, maximum: int) -> int:
    """A page size (``limit``, ``per_page``): an int from 1 to ``maximum``."""
    return integer(name, value, minimum=1, maximum=maximum)


def offset(value: object, *, maximum: int = 200_000, name: str = "offset") -> int:
    """A paging offset: an int from 0 to ``maximum`` (Bitstamp allows up to 200000)."""
    return integer(name, value, minimum=0, maximum=maximum)


def _number_parts(name: str, value: object, max_digits: int) -> tuple[bool, str, int]:
    """(negative, ASCII coefficient digits, exponent) of a Decimal, int or str.

    Bounded work whatever the input: ints are never turned into text unless small, text is
    read only when short, and the exponent is kept as a number, never expanded.
    """
    if _is(value, Enum):
        raw = _enum_value(value)
        if type(raw) is str or type(raw) is int or type(raw) is Decimal:
            return _number_parts(name, raw, max_digits)
        _refuse(f"{name} must be a Decimal, int or str, got {_describe(value)}")
    if _is(value, bool) or not (_is(value, Decimal) or _is(value, int) or _is(value, str)):
        hint = " (floats are inexact: pass Decimal('...') or a string)" if _is(value, float) else ""
        _refuse(f"{name} must be a Decimal, int or str, got {_describe(value)}{hint}")
    if _is(value, int):
        number = int.__index__(value)
        # An int's digits are all written out, so the limit applies before any text is made.
        if abs(number) >= 10**max_digits:
            _refuse(f"{name} has more than {max_digits} digits: {_describe(number)}")
        return number < 0, int.__repr__(abs(number)), 0
    if _is(value, Decimal):
        if not Decimal.is_finite(value):
            _refuse(f"{name} must be finite, got {_describe(value)}")
        # The base class's text (exponent form when that is shorter, 'E' or 'e' as the
        # current context says: the pattern below reads both). No arithmetic is done.
        written = Decimal.__str__(value)
    else:
        written = str.__str__(value)
    if len(written) > _MAX_NUMBER_TEXT:
        _refuse(f"{name} is longer than {_MAX_NUMBER_TEXT} characters: {_describe(written)}")
    match = _NUMBER.fullmatch(written)
    if match is None or not (match[2] or match[3]):
        if _NOT_FINITE.fullmatch(written):
            _refuse(f"{name} must be finite, got {_describe(value)}")
        _refuse(f"{name} is not a number written with ASCII digits: {_describe(value)}")
    sign, whole, fraction, exponent = match.groups()
    fraction = fraction or ""
    # The exponent text is at most 100 ASCII digits, so int() of it is cheap.
    return sign == "-", whole + fraction, int(exponent or "0") - len(fraction)


def decimal_param(
    name: str,
    value: object,
    *,
    decimals: int | None = None,
    positive: bool = True,
    max_digits: int = 30,
) -> str:
    """The plain decimal text to send for ``value``, e.g. ``"0.01"`` or ``"30000"``.

    Accepts Decimal, int or str (and their subclasses, reduced to their exact value);
    refuses float, bool, NaN, infinities, Unicode digits, whitespace and underscores.
    The number must be greater than zero (or at least zero when ``positive`` is False;
    zero is sent as ``"0"``, negative zero included).

    It is never rounded: more than ``decimals`` fractional digits (18 when ``decimals`` is
    None) is refused, except trailing zeros, which are dropped down to ``decimals``
    (``"1.50"`` with 1 allowed is ``"1.5"``; ``"0.010"`` with 8 allowed stays
    ``"0.010"``). At most ``max_digits`` significant digits: leading zeros and zeros that
    end the fraction do not count, zeros that end the integer part do (``"30000"`` has 5).
    So the wire text is never longer than ``max_digits + decimals + 2`` characters.

    >>> decimal_param("price", "3e4", decimals=2)
    '30000'
    """
    allowed = _DEFAULT_DECIMALS if decimals is None else decimals
    cls = type(value)
    if (cls is str or cls is Decimal) and allowed >= 0:
        # The usual argument ("0.001", Decimal("30000.5")) is its own wire text: say so
        # after a few string tests instead of taking it apart. (Not a regex: on the way
        # of every order, the regex engine's code is cold after each network wait, and a
        # match cost several microseconds there.) Anything else (subclasses too) takes the
        # careful way below, which gives the same answer where both apply.
        text: str = value if cls is str else Decimal.__str__(value)  # type: ignore[assignment]
        if len(text) <= max_digits and text.isascii():
            whole, dot, fraction = text.partition(".")
            if (
                whole.isdigit()  # ASCII digits, at least one
                and (whole[0] != "0" or whole == "0")
                and (not dot or (fraction.isdigit() and len(fraction) <= allowed))
                and text.strip("0.") != ""  # zero is sent as "0", or refused
            ):
                return text
    if allowed < 0:
        _refuse(f"{name}: the market allows no valid number of decimal places ({decimals})")
    negative, digits, exponent = _number_parts(name, value, max_digits)
    digits = digits.lstrip("0")
    if not digits:
        if positive:
            _refuse(f"{name} must be greater than zero, got {_describe(value)}")
        return "0"
    if negative:
        rule = "be greater than zero" if positive else "not be negative"
        _refuse(f"{name} must {rule}, got {_describe(value)}")
    if -exponent > allowed:
        # Only zeros may be dropped; anything else would be rounding.
        trailing_zeros = len(digits) - len(digits.rstrip("0"))
        drop = min(trailing_zeros, -exponent - allowed)
        digits = digits[: len(digits) - drop]
        exponent += drop
        if -exponent > allowed:
            _refuse(
                f"{name} has more than {allowed} decimal places allowed here "
                f"(it is never rounded): {_describe(value)}"
            )
    # Digits that carry value: leading zeros and zeros ending the fraction do not count.
    fraction_zeros = min(len(digits) - len(digits.rstrip("0")), max(-exponent, 0))
    if len(digits) - fraction_zeros + max(exponent, 0) > max_digits:
        _refuse(f"{name} has more than {max_digits} digits: {_describe(value)}")
    if exponent >= 0:
        return digits + "0" * exponent
    places = -exponent
    if len(digits) > places:
        return f"{digits[:-places]}.{digits[-places:]}"
    return "0." + "0" * (places - len(digits)) + digits


def decimal_value(
    name: str,
    value: object,
    *,
    decimals: int | None = None,
    positive: bool = True,
    max_digits: int = 30,
) -> Decimal:
    """Like ``decimal_param``, but the exact ``Decimal`` (e.g. to compare with a minimum).

    ``Decimal(decimal_param(...))`` equals the caller's number exactly.
    """
    plain = decimal_param(name, value, decimals=decimals, positive=positive, max_digits=max_digits)
    if plain is value:  # an exact str passed as it was: Decimal() of it cannot fail
        return Decimal(plain)
    try:
        with localcontext(_DECIMAL_CONTEXT):
            return Decimal(plain)
    except DecimalException:  # not expected for our own plain text; never let one escape
        _refuse(f"{name} is not a number: {_describe(value)}")


# --------------------------------------------------------------------------- time


def _since_epoch(name: str, value: object, unit: timedelta) -> int | None:
    """Whole ``unit``s since the epoch for an aware datetime (floored); None if not one."""
    if not _is(value, date):
        return None
    if not _is(value, datetime):
        _refuse(f"{name} must be a datetime or an int, not a date: {_describe(value)}")
    # The base class's methods, so a subclass cannot report one instant and mean another.
    # The tzinfo's utcoffset() does run: it defines what the datetime means.
    try:
        offset_value: object = datetime.utcoffset(value)
    except (TypeError, ValueError, OverflowError):
        offset_value = _UNREADABLE
    if offset_value is None:
        _refuse(
            f"{name} must be timezone-aware (e.g. datetime.now(timezone.utc)), got a naive datetime"
        )
    try:
        elapsed = datetime.__sub__(value, _EPOCH)
        count = timedelta.__floordiv__(elapsed, unit)
    except (TypeError, ValueError, OverflowError):
        _refuse(f"{name} has a time zone whose offset cannot be used: {_describe(value)}")
    if type(count) is not int:
        _refuse(f"{name} is not a usable datetime: {_describe(value)}")
    return count


def _timestamp(
    name: str, value: object, unit: timedelta, label: str, minimum: int, maximum: int
) -> int:
    count = _since_epoch(name, value, unit)
    if count is None:
        count = _exact_int(value)
        if count is None:
            hint = " (floats are refused: pass an int)" if _is(value, float) else ""
            _refuse(
                f"{name} must be an aware datetime or unix {label}, got {_describe(value)}{hint}"
            )
    if not minimum <= count <= maximum:
        _refuse(
            f"{name} must be between {minimum} and {maximum} unix {label}, got {_describe(count)}"
        )
    return count


def unix_seconds(
    name: str, value: object, *, minimum: int = 0, maximum: int = MAX_UNIX_SECONDS
) -> int:
    """Unix seconds from an aware datetime (floored) or an int of seconds.

    Naive datetimes, dates, floats and bools are refused; the result must lie in
    ``[minimum, maximum]`` (by default 1970 to 2100).
    """
    return _timestamp(name, value, _ONE_SECOND, "seconds", minimum, maximum)


def unix_millis(
    name: str, value: object, *, minimum: int = 0, maximum: int = MAX_UNIX_MILLIS
) -> int:
    """Unix milliseconds from an aware datetime (floored) or an int of **milliseconds**."""
    return _timestamp(name, value, _ONE_MILLISECOND, "milliseconds", minimum, maximum)


def time_range(start_name: str, start: object, end_name: str, end: object) -> tuple[int, int]:
    """Unix seconds for ``start`` and ``end``; refuses ``end`` before ``start``."""
    first = unix_seconds(start_name, start)
    last = unix_seconds(end_name, end)
    if last < first:
        _refuse(f"{end_name} ({last}) must not be before {start_name} ({first})")
    return first, last


def future_time(name: str, value: object, *, now: float, millis: bool = False) -> int:
    """A time strictly after ``now`` (unix seconds, e.g. ``time.time()``).

    Returns unix seconds, or milliseconds with ``millis=True`` (in which case an int
    ``value`` is read as milliseconds too), as for a good-till-date ``expire_time``.
    """
    if millis:
        stamp = unix_millis(name, value)
        if stamp <= now * 1000:
            _refuse(f"{name} must be in the future, got {stamp} ms (now is {now * 1000:.0f})")
    else:
        stamp = unix_seconds(name, value)
        if stamp <= now:
            _refuse(f"{name} must be in the future, got {stamp} s (now is {now:.0f})")
    return stamp
