"""Wire primitives shared by every model: turn one decoded JSON value into a typed value.

A model reads its JSON object through :class:`Fields`, naming each field and the primitive
that parses it; a failure then names the model and the path to the bad value::

    from . import _wire as wire

    @classmethod
    def from_wire(cls, obj: Any) -> FundingRate:
        fields = wire.Fields(cls, obj)  # refuses anything but a JSON object
        return cls(
            market=fields.required("market", wire.text),
            funding_rate=fields.required("funding_rate", wire.decimal),
            next_funding_time=fields.optional("next_funding_time", wire.unix_seconds),
        )

Every primitive takes one value as a JSON decoder produced it (:func:`aiobitstamp._json.loads`
or :func:`~aiobitstamp._json.loads_exact`) and returns the typed value, or raises
:class:`MalformedFieldError` (an ``UnexpectedResponseError``, also a ``ValueError``). Nothing
else ever comes out of a primitive, whatever it is given. The rules they share:

* **Money** (:func:`decimal`): a plain decimal string (``"-0.005"``, ``"1E-8"``), an ``int``
  or a ``Decimal`` (as :func:`~aiobitstamp._json.loads_exact` decodes a JSON number) becomes
  an exact :class:`~decimal.Decimal`; nothing is ever rounded. A ``float`` is refused: it
  has already lost digits (``123456789.12345678`` cannot be a float), and an answer that
  carries JSON numbers must be decoded with ``loads_exact``.
* **Bounds**: a number has at most :data:`MAX_DIGITS` characters (digits for an ``int``) and
  a decimal exponent within :data:`MAX_EXPONENT`; NaN, infinities, ``"1e999999"``, digits
  other than ASCII ``0-9`` (``"١٢"``), spaces and ``_`` separators are refused, so nothing
  parsed here can make later ``Decimal`` arithmetic overflow.
* **Exact types**: ``True`` is not ``1``, ``"1"`` is not a list, a ``str`` subclass is not
  a ``str``. A JSON value has exactly one of the types ``dict list str int float bool
  NoneType`` (``Decimal`` with ``loads_exact``).
* **No echo**: a message says what was expected and what kind of value came, never the
  value: an answer can hold a secret (a WebSocket token).

``optional_*`` variants map ``null`` and ``""`` to ``None``; :meth:`Fields.optional` does the
same for any primitive.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Generic, NoReturn, TypeVar, overload

from .._exceptions import MalformedFieldError

__all__ = [
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "PARSE_ERRORS",
    "UTC",
    "Fields",
    "LazyField",
    "MalformedFieldError",
    "Rows",
    "array",
    "bitstamp_datetime",
    "boolean",
    "currency_code",
    "decimal",
    "decimal_later",
    "defer",
    "describe",
    "empty_mapping",
    "enabled",
    "frozen_raw",
    "identifier",
    "integer",
    "malformed",
    "optional_decimal",
    "optional_enabled",
    "optional_identifier",
    "optional_integer",
    "optional_text",
    "optional_utc_datetime",
    "text",
    "tuple_of",
    "unix_micros",
    "unix_seconds",
    "utc_datetime",
    "utc_datetime_later",
]

T = TypeVar("T")
V = TypeVar("V")

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MAX_DIGITS = 100
"""Most characters in a number's text (digits of an ``int``, digits of a ``Decimal``)."""

MAX_EXPONENT = 200
"""Largest decimal exponent, either way, of a number (``Decimal.adjusted()`` and the
exponent of its last digit). A string within :data:`MAX_DIGITS` characters and with at most
a two-digit exponent always fits; the bound keeps ``Decimal`` arithmetic far from overflow."""

_INT_LIMIT = 10**MAX_DIGITS
# A JSON number spelled as a string, ASCII only: no sign but "-", no spaces, no "_", no
# ".5" or "5.", no NaN/Infinity, at most a two-digit exponent.
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,2})?").fullmatch
_MAX_ID_LENGTH = 128
_CURRENCY = re.compile(r"[A-Za-z0-9]{1,20}").fullmatch
# "2019-01-31 21:23:36", "2021-11-25 12:59:59.322000", "2025-10-17T14:23:01.725000Z",
# "2025-10-17T16:23:01+02:00". Up to 6 fraction digits: a 7th would be rounded away.
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,6}))?(?:[Zz]|([-+])([0-9]{2}):([0-9]{2}))?"
).fullmatch
# How the private API writes its times ("2019-01-31 21:23:36", or with 6 fraction digits),
# as shapes with every ASCII digit written as 0; datetime.fromisoformat reads exactly this
# form fast (and, with the offset added, makes the aware datetime itself). One
# bytes.translate() and a lookup say what a regex would: on an order's way the regex
# engine's code is cold after the network wait (str.translate looks up a dict per
# character; the bytes one reads a table).
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_BITSTAMP_DATETIME_SHAPES = frozenset((b"0000-00-00 00:00:00", b"0000-00-00 00:00:00.000000"))
# datetime's range ends with year 9999.
_MAX_UNIX_SECONDS = 253402300799
_MAX_INTEGER = 2**63 - 1
_MAX_ID = 2**64 - 1


# --------------------------------------------------------------------------------------------
# Errors


def describe(value: Any) -> str:
    """What kind of JSON value ``value`` is, without showing it: ``"a float"``, ``"null"``,
    ``"a string of 12 characters"``."""
    cls = value.__class__
    if value is None:
        return "null"
    if cls is bool:
        return "a boolean"
    if cls is str:
        return f"a string of {len(value)} character{'s' if len(value) != 1 else ''}"
    if cls is int:
        return "an integer"
    if cls is float:
        return "a float"
    if cls is Decimal:
        return "a decimal number"
    if cls is list:
        return f"a list of {len(value)} items"
    if cls is dict:
        return "an object"
    return f"a {cls.__name__}"


def _refuse(expected: str, value: Any, why: str = "") -> NoReturn:
    got = describe(value)
    raise MalformedFieldError(f"expected {expected}, got {got}{why}")


def malformed(
    model: type[Any] | str | None, problem: str | BaseException, *, field: str | None = None
) -> NoReturn:
    """Raise :class:`MalformedFieldError` for ``model`` (a class or its name).

    ``problem`` says what is wrong, or is the exception a ``try`` block around parsing code
    caught (see :data:`PARSE_ERRORS`): a ``KeyError`` becomes "missing", a
    :class:`MalformedFieldError` keeps its problem and path, any other exception is named
    by its type only, since its message may quote the value.
    """
    name = model if isinstance(model, str) or model is None else model.__name__
    if isinstance(problem, MalformedFieldError):
        path = problem.field if field is None else _join(field, problem.field)
        raise MalformedFieldError(problem.problem, model=name, field=path) from None
    if isinstance(problem, KeyError):
        missing = problem.args[0] if problem.args else None
        if isinstance(missing, str) and field is None:
            raise MalformedFieldError("missing", model=name, field=missing) from None
        raise MalformedFieldError("missing", model=name, field=field) from None
    if isinstance(problem, BaseException):
        raise MalformedFieldError(
            f"unreadable ({type(problem).__name__})", model=name, field=field
        ) from None
    raise MalformedFieldError(problem, model=name, field=field)


def _join(outer: str, inner: str | None) -> str:
    if not inner:
        return outer
    return outer + inner if inner.startswith("[") else f"{outer}.{inner}"


PARSE_ERRORS = (
    MalformedFieldError,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    AttributeError,
    ArithmeticError,
)
"""What hand-written parsing code can raise on bad input; catch these around it and pass
the exception to :func:`malformed`. Code that reads through :class:`Fields` needs neither."""


# --------------------------------------------------------------------------------------------
# Primitives: one JSON value in, one typed value out, or MalformedFieldError.


def decimal(value: Any) -> Decimal:
    """Money: a price, amount, fee, rate or volume, as an exact ``Decimal``.

    >>> decimal("0.00500000"), decimal(37500), decimal(Decimal("123456789.12345678"))
    (Decimal('0.00500000'), Decimal('37500'), Decimal('123456789.12345678'))
    """
    cls = value.__class__
    if cls is str:
        # The usual spellings ("37991.00", "-0.005") pass cheap string tests; the regex
        # settles the rest (exponents) and refuses what Decimal() would read too freely:
        # "١٢" (any Unicode digit), " 1", "1_000", "NaN", "Infinity", "1e999999".
        if (
            value.isascii()
            and len(value) <= MAX_DIGITS
            and (value.replace(".", "", 1).isdigit() or _DECIMAL_TEXT(value) is not None)
        ):
            return Decimal(value)
        _refuse("a plain decimal number", value)
    if cls is int:
        if -_INT_LIMIT < value < _INT_LIMIT:
            return Decimal(value)
        _refuse("a number", value, f" of more than {MAX_DIGITS} digits")
    if cls is Decimal:
        if value.is_finite():
            _, digits, exponent = value.as_tuple()
            if (
                len(digits) <= MAX_DIGITS
                and exponent >= -MAX_EXPONENT
                and value.adjusted() <= MAX_EXPONENT
            ):
                return value  # type: ignore[no-any-return]
        _refuse("a finite number of sensible size", value)
    if cls is float:
        # A float has lost every digit past the 15th or so: 123456789.12345678 comes back
        # as ...2345677. Even a short repr cannot prove the wire text was short.
        _refuse("a decimal string or an exact number", value, " (decode with loads_exact)")
    _refuse("a decimal string or number", value)


def decimal_later(value: Any) -> Any:
    """What :func:`decimal` reads, checked now: the usual plain text (``"37991.00"``) as
    it came, for a :func:`defer` slot to make a ``Decimal`` of when first read;
    anything else as its ``Decimal`` at once."""
    if (
        value.__class__ is str
        and value.isascii()
        and len(value) <= MAX_DIGITS
        and value.replace(".", "", 1).isdigit()
    ):
        return value  # Decimal() of it cannot fail: decimal() would make it at once
    return decimal(value)


def defer(**conversions: Callable[[str], Any]) -> Callable[[type[T]], type[T]]:
    """Let slots of a frozen, slotted dataclass hold checked wire text (from
    :func:`decimal_later` or :func:`utc_datetime_later`), converted when first read and
    kept: ``defer(price=Decimal)``.

    For the answer of an order, which a market maker receives far more often than it
    reads its price or time back: on that way a Decimal or a datetime costs microseconds
    to build, because the network wait has left those modules' code cold. The text was
    checked with the answer, so the conversion cannot fail. Every read, comparison, hash,
    ``repr``, ``asdict`` or pickle sees the converted value.
    """

    def install(cls: type[T]) -> type[T]:
        for name, convert in conversions.items():
            setattr(cls, name, _Deferred(cls.__dict__[name], convert))
        return cls

    return install


class _Deferred:
    """A slot that may hold checked text, returned converted (and kept so)."""

    __slots__ = ("convert", "slot")

    def __init__(self, slot: Any, convert: Callable[[str], Any]) -> None:
        self.slot = slot  # the slot's own descriptor, which stores the value
        self.convert = convert

    def __get__(self, instance: object | None, owner: type[Any] | None = None) -> Any:
        if instance is None:
            return self
        value = self.slot.__get__(instance, owner)
        if value.__class__ is str:
            try:
                value = self.convert(value)
            except (ValueError, ArithmeticError):
                # Not text a check let through: a str the caller built the model with,
                # handed back as given, as a dataclass does (checked text never fails).
                return value
            self.slot.__set__(instance, value)
        return value

    def __set__(self, instance: object, value: Any) -> None:
        self.slot.__set__(instance, value)


def optional_decimal(value: Any) -> Decimal | None:
    """:func:`decimal`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return decimal(value)


def identifier(value: Any) -> str:
    """An exchange-made id (order, trade, user, uuid) or token, as a ``str``.

    A string of printable ASCII without spaces (at most 128 characters), or a non-negative
    integer below 2**64, converted exactly (never through a float).

    >>> identifier(9007199254740993), identifier("0b4a2b04-3e6c")
    ('9007199254740993', '0b4a2b04-3e6c')
    """
    cls = value.__class__
    if cls is str:
        if (
            0 < len(value) <= _MAX_ID_LENGTH
            and value.isascii()
            and value.isprintable()
            and " " not in value
        ):
            return value  # type: ignore[no-any-return]
        _refuse("an id of printable ASCII without spaces", value)
    if cls is int:
        if 0 <= value <= _MAX_ID:
            return str(value)
        _refuse("an id", value, " out of range")
    _refuse("an id as a string or integer", value)


def optional_identifier(value: Any) -> str | None:
    """:func:`identifier`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return identifier(value)


def text(value: Any) -> str:
    """Free text (a name, a description, a market like ``"BTC/USD"``): any JSON string
    that is valid Unicode (a lone surrogate cannot be encoded again, so it is refused)."""
    if value.__class__ is str:
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                _refuse("text", value, " that is not valid Unicode")
        return value
    _refuse("a string", value)


def optional_text(value: Any) -> str | None:
    """:func:`text`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return text(value)


def currency_code(value: Any) -> str:
    """A currency code as sent (``"usd"``, ``"BTC"``): 1 to 20 ASCII letters and digits."""
    if value.__class__ is str and _CURRENCY(value) is not None:
        return value
    _refuse("a currency code of ASCII letters and digits", value)


def integer(value: Any) -> int:
    """A count or a code (decimals, a transaction type, seconds): a non-negative integer
    below 2**63, as an ``int`` or a string of ASCII digits."""
    cls = value.__class__
    if cls is int:
        if 0 <= value <= _MAX_INTEGER:
            return value  # type: ignore[no-any-return]
    elif cls is str:
        if len(value) <= 19 and value.isascii() and value.isdigit():
            number = int(value)
            if number <= _MAX_INTEGER:
                return number
    else:
        _refuse("an integer", value)
    _refuse("a non-negative integer below 2**63", value)


def optional_integer(value: Any) -> int | None:
    """:func:`integer`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return integer(value)


def boolean(value: Any) -> bool:
    """A JSON ``true`` or ``false``; nothing else (not ``1``, not ``"true"``)."""
    if value is True or value is False:
        return value
    _refuse("true or false", value)


def enabled(value: Any) -> bool:
    """``"Enabled"``/``"Disabled"`` (any case) or a JSON boolean.

    Another string is not enabled, as in ccxt: an unknown status must not let orders
    through. Anything but a string or a boolean is refused.
    """
    if value is True or value is False:
        return value
    if value.__class__ is str:
        return value.lower() == "enabled"
    _refuse('"Enabled" or "Disabled"', value)


def optional_enabled(value: Any) -> bool | None:
    """:func:`enabled`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return enabled(value)


def _whole_number(value: Any, limit: int, what: str) -> int:
    cls = value.__class__
    if cls is int:
        number: int = value
    elif cls is str and len(value) <= 20 and value.isascii() and value.isdigit():
        number = int(value)
    else:
        _refuse(what, value)
    if 0 <= number <= limit:
        return number
    _refuse(what, value, " out of range (before 1970 or after 9999)")


def unix_seconds(value: Any) -> datetime:
    """Unix seconds (an ``int`` or a string of digits) as an aware UTC datetime.

    >>> unix_seconds("1583691851")
    datetime.datetime(2020, 3, 8, 18, 24, 11, tzinfo=datetime.timezone.utc)
    """
    seconds = _whole_number(value, _MAX_UNIX_SECONDS, "unix seconds")
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)  # the quicker way, where it works
    except (OverflowError, OSError, ValueError):  # Windows stops at year 3000
        return _EPOCH + timedelta(seconds=seconds)


def unix_micros(value: Any) -> datetime:
    """Unix microseconds (an ``int`` or a string of digits) as an aware UTC datetime,
    exactly: integer arithmetic, no float on the way."""
    micros = _whole_number(value, _MAX_UNIX_SECONDS * 1_000_000 + 999_999, "unix microseconds")
    return _EPOCH + timedelta(microseconds=micros)


def utc_datetime(value: Any) -> datetime:
    """A private-API datetime as an aware UTC datetime.

    ``"2019-01-31 21:23:36"``, with up to six fraction digits, ISO with ``T`` and ``Z`` or an
    offset, or unix seconds (an ``int`` or a string of digits). Forms without an offset are
    UTC: Bitstamp sends UTC without saying so.

    >>> utc_datetime("2021-11-25 12:59:59.32")
    datetime.datetime(2021, 11, 25, 12, 59, 59, 320000, tzinfo=datetime.timezone.utc)
    """
    if value.__class__ is int:
        return unix_seconds(value)
    if value.__class__ is not str:
        _refuse("a datetime string", value)
    if len(value) > 40:
        _refuse("a datetime string", value, ", too long")
    if value.isascii() and value.encode().translate(_ZERO_DIGITS) in _BITSTAMP_DATETIME_SHAPES:
        try:
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            _refuse("a valid date and time", value)
    if value.isascii() and value.isdigit():
        return unix_seconds(value)
    match = _DATETIME(value)
    if match is None:
        _refuse('a datetime like "2019-01-31 21:23:36"', value)
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    try:
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(fraction.ljust(6, "0")) if fraction else 0,
            tzinfo=UTC,
        )
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            if offset >= timedelta(hours=24):
                raise ValueError("offset out of range")
            parsed -= offset if sign == "+" else -offset
    except (ValueError, OverflowError):
        _refuse("a valid date and time", value)
    return parsed


def utc_datetime_later(value: Any) -> Any:
    """What :func:`utc_datetime` reads, checked now: the exchange's own form
    (``"2019-01-31 21:23:36"``, or with six fraction digits) as it came, for a
    :func:`defer` slot to convert with :func:`bitstamp_datetime` when first read; anything
    else as its datetime at once."""
    if (
        value.__class__ is str
        and value.isascii()
        and value.encode().translate(_ZERO_DIGITS) in _BITSTAMP_DATETIME_SHAPES
        and _is_real_time(value)
    ):
        return value
    return utc_datetime(value)


def bitstamp_datetime(text: str) -> datetime:
    """The aware UTC datetime of text :func:`utc_datetime_later` let through."""
    return datetime.fromisoformat(text + "+00:00")


# The last day of each month (February's in a leap year), as the text compares.
_LAST_DAY = {
    "01": "31", "02": "29", "03": "31", "04": "30", "05": "31", "06": "30",
    "07": "31", "08": "31", "09": "30", "10": "31", "11": "30", "12": "31",
}  # fmt: skip


def _is_real_time(text: str) -> bool:
    """Whether ``text``, of the exchange's shape (digits where digits go), names a date and
    time that exists, year 1 to 9999: what datetime would check, by comparing digit text."""
    last_day = _LAST_DAY.get(text[5:7])
    day = text[8:10]
    if (
        last_day is None
        or not "01" <= day <= last_day
        or text[:4] == "0000"
        or text[11:13] > "23"
        or text[14:16] > "59"
        or text[17:19] > "59"
    ):
        return False
    if day == "29" and last_day == "29":  # February 29th: a leap year's only
        year = int(text[:4])
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return True


def optional_utc_datetime(value: Any) -> datetime | None:
    """:func:`utc_datetime`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return utc_datetime(value)


def array(value: Any) -> list[Any]:
    """A JSON array, as decoded (not copied)."""
    if value.__class__ is list:
        return value
    _refuse("a list", value)


def tuple_of(parse: Callable[[Any], T]) -> Callable[[Any], tuple[T, ...]]:
    """A primitive for a JSON array of items that ``parse`` reads: a failure names the
    item's index (``"[3].price"``).

    >>> tuple_of(decimal)(["1", "2.5"])
    (Decimal('1'), Decimal('2.5'))
    """

    def parse_all(value: Any) -> tuple[T, ...]:
        items = array(value)
        index = 0
        try:
            parsed = []
            for index, item in enumerate(items):  # noqa: B007  (read in the except)
                parsed.append(parse(item))
        except MalformedFieldError as exc:
            raise exc.within(None, f"[{index}]") from None
        return tuple(parsed)

    return parse_all


def positional_constructor(cls: type[T]) -> Callable[..., T]:
    """A constructor for the frozen, slotted dataclass ``cls`` that takes every field
    positionally, in declaration order, and builds what ``cls(...)`` builds.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; this
    sets the slots directly, at a third of the cost, for the parsers on every order's
    way. It is generated as dataclasses generates ``__init__``. No defaults and no
    ``__post_init__``: the caller passes every field, already checked.
    """
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    if not (params.frozen and "__slots__" in cls.__dict__):
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ this constructor would skip")
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def build({', '.join(names)}):", "    self = _new(_cls)"]
    for name in names:
        slot = cls.__dict__[name]
        if isinstance(slot, _Deferred):  # it stores through the slot itself
            slot = slot.slot
        namespace[f"_set_{name}"] = slot.__set__  # the slot's own descriptor
        lines.append(f"    _set_{name}(self, {name})")
    lines.append("    return self")
    exec("\n".join(lines), namespace)  # only our own field names go into the source
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = f"{cls.__qualname__}.<positional constructor>"
    return build


def frozen_raw(obj: Any) -> Mapping[str, Any]:
    """A read-only copy of a decoded object, for a model's ``raw`` field."""
    if obj.__class__ is not dict:
        _refuse("an object", obj)
    return MappingProxyType(dict(obj))


def empty_mapping() -> Mapping[str, Any]:
    """The default of a model's ``raw`` field."""
    return MappingProxyType({})


# --------------------------------------------------------------------------------------------
# Reading a JSON object field by field


class Fields:
    """One JSON object being read into ``model``, field by field.

    Each read names the field and the primitive that parses it; any failure raises
    :class:`MalformedFieldError` naming the model and the path to the field. Nested reads
    (an object's rows, :meth:`object`) extend the path: ``"transactions[1].price"``.

    >>> fields = Fields(dict, {"price": "1.5", "limit_price": ""})
    >>> fields.required("price", decimal), fields.optional("limit_price", decimal)
    (Decimal('1.5'), None)
    """

    __slots__ = ("_model", "_obj", "_prefix")

    def __init__(self, model: type[Any] | str, obj: Any, prefix: str = "") -> None:
        self._model = model  # named only when something is wrong: most answers are fine
        self._prefix = prefix
        if obj.__class__ is not dict:
            raise MalformedFieldError(
                f"expected an object, got {describe(obj)}",
                model=self._name(),
                field=prefix or None,
            )
        self._obj: dict[str, Any] = obj

    def _name(self) -> str:
        model = self._model
        return model if isinstance(model, str) else model.__name__

    @property
    def obj(self) -> dict[str, Any]:
        """The object being read, as decoded."""
        return self._obj

    def required(self, name: str, parse: Callable[[Any], T]) -> T:
        """``parse`` of the field ``name``, which must be present."""
        try:
            value = self._obj[name]
        except KeyError:
            raise MalformedFieldError(
                "missing", model=self._name(), field=self._prefix + name
            ) from None
        try:
            return parse(value)
        except MalformedFieldError as exc:
            raise exc.within(self._name(), self._prefix + name) from None

    def optional(self, name: str, parse: Callable[[Any], T]) -> T | None:
        """``parse`` of the field ``name``, or ``None`` when it is absent, ``null`` or ``""``."""
        value = self._obj.get(name)
        if value is None or value == "":
            return None
        try:
            return parse(value)
        except MalformedFieldError as exc:
            raise exc.within(self._name(), self._prefix + name) from None

    def object(self, name: str) -> Fields:
        """The nested object ``name``, to read field by field in turn."""
        value = self.required(name, _any)
        return Fields(self._model, value, prefix=f"{self._prefix}{name}.")

    def raw(self) -> Mapping[str, Any]:
        """A read-only copy of the whole object, for a model's ``raw`` field."""
        return MappingProxyType(dict(self._obj))


def _any(value: Any) -> Any:
    return value


# --------------------------------------------------------------------------------------------
# Lazy values


class LazyField(Generic[V]):
    """A value read from the model's ``wire`` mapping when accessed, parsed by ``parse``.

    For models that are built far more often than all their values are read (``Ticker``).
    A missing or bad value raises :class:`MalformedFieldError` naming the field, when read.
    With ``optional=True`` an absent, ``null`` or ``""`` value reads as ``None``.
    """

    __slots__ = ("_name", "_optional", "_parse")

    def __init__(self, parse: Callable[[Any], V], *, optional: bool = False) -> None:
        self._parse = parse
        self._optional = optional
        self._name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> LazyField[V]: ...

    @overload
    def __get__(self, instance: object, owner: type[Any]) -> V: ...

    def __get__(self, instance: object | None, owner: type[Any]) -> V | LazyField[V]:
        if instance is None:
            return self
        try:
            value = instance.wire[self._name]  # type: ignore[attr-defined]
        except KeyError:
            if not self._optional:
                raise MalformedFieldError(
                    "missing", model=owner.__name__, field=self._name
                ) from None
            return None  # type: ignore[return-value]
        except (AttributeError, TypeError):  # half-built, or not built from a mapping
            raise MalformedFieldError("no answer to read", model=owner.__name__) from None
        if self._optional and (value is None or value == ""):
            return None  # type: ignore[return-value]
        try:
            return self._parse(value)
        except MalformedFieldError as exc:
            raise exc.within(owner.__name__, self._name) from None


# --------------------------------------------------------------------------------------------
# Lazy rows


class Rows(Sequence[T]):
    """A read-only, lazy sequence of models over a JSON array as decoded.

    Nothing is converted up front: a row becomes a model (with ``Decimal`` values) only
    when it is indexed or iterated, so holding thousands of rows is free and reading the
    first few costs a few conversions. Slicing returns another lazy view. Every list
    endpoint of the client answers with one; ``list(rows)`` materialises it.

    A malformed row raises :class:`MalformedFieldError` when it is read, naming its index
    (``"[17].price"``); ``repr()`` never raises.

    The underlying list is shared with the decoded payload, not copied (:attr:`raw_rows`);
    mutate neither.
    """

    __slots__ = ("_parse", "_rows")
    __hash__ = None  # type: ignore[assignment]  # equal views may hold different strings

    def __init__(self, rows: list[Any], parse: Callable[[Any], T]) -> None:
        if rows.__class__ is not list:
            raise MalformedFieldError(
                f"expected a list, got {describe(rows)}", model=_model_name(parse)
            )
        self._rows = rows
        self._parse = parse

    @classmethod
    def of(cls, parse: Callable[[Any], T]) -> Callable[[Any], Rows[T]]:
        """A parser for a whole JSON array answer: ``Rows.of(Trade.from_wire)``."""
        return lambda rows: cls(rows, parse)

    @property
    def raw_rows(self) -> list[Any]:
        """The wire rows, for callers that want to stay unparsed."""
        return self._rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Rows[T]: ...

    def __getitem__(self, index: int | slice) -> T | Rows[T]:
        if isinstance(index, slice):
            return self._view(self._rows[index])
        row = self._rows[index]
        try:
            return self._parse(row)
        except MalformedFieldError as exc:
            position = index if index >= 0 else index + len(self._rows)
            raise exc.within(None, f"[{position}]") from None

    def _view(self, rows: list[Any]) -> Rows[T]:
        return Rows(rows, self._parse)

    def __iter__(self) -> Iterator[T]:
        return self._parsed(iter(self._rows), 0, 1)

    def __reversed__(self) -> Iterator[T]:
        return self._parsed(reversed(self._rows), len(self._rows) - 1, -1)

    def _parsed(self, rows: Iterator[Any], first: int, step: int) -> Iterator[T]:
        parse = self._parse
        position = first
        try:
            for row in rows:
                yield parse(row)
                position += step
        except MalformedFieldError as exc:
            raise exc.within(None, f"[{position}]") from None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows):
            if self._rows is other._rows or self._rows == other._rows:
                return True
        elif not isinstance(other, (list, tuple)):
            return NotImplemented
        # Same numbers may be spelled differently ("1.0" vs "1.00"): compare as models.
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_rows_summary(self, 'rows')})"


def _rows_summary(rows: Rows[Any], noun: str) -> str:
    """``"5000 levels, first=PriceLevel(...)"``; a malformed first row shows as such, so
    that ``repr()`` of an answer can always be logged."""
    count = len(rows.raw_rows)
    if not count:
        return f"0 {noun}"
    try:
        first = repr(rows[0])
    except MalformedFieldError:
        first = "<malformed>"
    return f"{count} {noun}, first={first}"


def _model_name(parse: Callable[[Any], Any]) -> str | None:
    owner = getattr(parse, "__self__", None)
    return owner.__name__ if isinstance(owner, type) else None
