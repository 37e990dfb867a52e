"""Wire primitives shared by every model: turn one decoded JSON value into a typed value.

Each primitive takes one value as the JSON decoder produced it and returns the typed value
(``decimal("0.5") -> Decimal("0.5")``). A model's ``from_wire`` calls them field by field
and turns a failure into one error naming the model and the field (:func:`malformed`).

Import the module, not its names, so a call reads as what it parses::

    from . import _wire as wire

    price = wire.decimal(obj["price"])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Generic, NoReturn, TypeVar, overload

__all__ = [
    "PARSE_ERRORS",
    "LazyField",
    "Rows",
    "decimal",
    "empty_mapping",
    "enabled",
    "frozen_raw",
    "identifier",
    "malformed",
    "optional_decimal",
    "optional_enabled",
    "optional_identifier",
    "optional_integer",
    "optional_text",
    "optional_utc_datetime",
    "unix_micros",
    "unix_seconds",
    "utc_datetime",
]

T = TypeVar("T")
V = TypeVar("V")

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Formats tried when datetime.fromisoformat refuses a private timestamp: Python 3.10 only
# accepts 3 or 6 fractional digits there, Bitstamp is not known to pad consistently.
_FALLBACK_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


def malformed(model: type[Any], exc: Exception) -> NoReturn:
    """Re-raise a parsing failure as one ValueError that names the model and the field."""
    if isinstance(exc, KeyError):
        detail = f"missing required field {exc.args[0]!r}"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    raise ValueError(f"malformed {model.__name__} payload: {detail}") from exc


# What a from_wire can raise on bad input: a missing key, a wrong container type, an
# unparsable number (decimal.InvalidOperation is an ArithmeticError), a bad enum value.
PARSE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError)


def decimal(value: Any) -> Decimal:
    """A price, amount, fee or rate: a decimal string, an int, a float or a Decimal."""
    cls = value.__class__
    if cls is str or cls is int:
        return Decimal(value)
    if cls is float:
        # repr() is the shortest string that round-trips: 0.1 -> "0.1", exactly as sent.
        return Decimal(repr(value))
    if cls is Decimal:
        return value  # type: ignore[no-any-return]
    raise TypeError(f"expected a decimal string or number, got {value!r}")


def optional_decimal(value: Any) -> Decimal | None:
    """:func:`decimal`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return decimal(value)


def identifier(value: Any) -> str:
    """An id as a string; an integer id converts exactly (never through a float)."""
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int:
        return str(value)
    raise TypeError(f"expected an id as a string or integer, got {value!r}")


def optional_identifier(value: Any) -> str | None:
    """:func:`identifier`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return identifier(value)


def unix_seconds(value: Any) -> datetime:
    """Unix seconds (string or int) to an aware UTC datetime."""
    return datetime.fromtimestamp(int(value), tz=UTC)


def unix_micros(value: Any) -> datetime:
    """Unix microseconds (string or int) to an aware UTC datetime, exactly."""
    return _EPOCH + timedelta(microseconds=int(value))


def utc_datetime(value: Any) -> datetime:
    """A private-API datetime: ``"2019-01-31 21:23:36"``, with ``.ffffff``, ISO with ``Z``,
    or unix seconds. Naive forms are UTC."""
    if value.__class__ is int:
        return unix_seconds(value)
    if value.__class__ is not str:
        raise TypeError(f"expected a datetime string, got {value!r}")
    text: str = value
    if text.isdigit():
        return unix_seconds(text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _strptime(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _strptime(text: str) -> datetime:
    for fmt in _FALLBACK_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"unrecognised datetime {text!r}")


def optional_utc_datetime(value: Any) -> datetime | None:
    """:func:`utc_datetime`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return utc_datetime(value)


def enabled(value: Any) -> bool:
    """``"Enabled"``/``"Disabled"`` (any case) or a JSON boolean. Anything else is not
    enabled, as in ccxt: an unknown status must not let orders through."""
    if value is True or value is False:
        return value
    return isinstance(value, str) and value.lower() == "enabled"


def optional_enabled(value: Any) -> bool | None:
    """:func:`enabled`, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return enabled(value)


def optional_text(value: Any) -> str | None:
    """A string, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return str(value)


def optional_integer(value: Any) -> int | None:
    """An integer, or ``None`` for ``null`` and ``""``."""
    if value is None or value == "":
        return None
    return int(value)


def frozen_raw(obj: Any) -> Mapping[str, Any]:
    """A read-only copy of a decoded object, for a model's ``raw`` field."""
    return MappingProxyType(dict(obj))


def empty_mapping() -> Mapping[str, Any]:
    """The default of a model's ``raw`` field."""
    return MappingProxyType({})


class LazyField(Generic[V]):
    """A value read from the model's ``wire`` mapping when accessed, parsed by ``parse``.

    A bad value raises the model's usual ``ValueError`` naming the field, at read time.
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
        wire: Mapping[str, Any] = instance.wire  # type: ignore[attr-defined]
        try:
            return self._parse(wire.get(self._name) if self._optional else wire[self._name])
        except PARSE_ERRORS as exc:
            malformed(owner, ValueError(f"field {self._name!r}: {exc}"))


class Rows(Sequence[T]):
    """A read-only, lazy sequence of models over a JSON array as decoded.

    Nothing is converted up front: a row becomes a model (with ``Decimal`` values) only
    when it is indexed or iterated, so holding thousands of rows is free and reading the
    first few costs a few conversions. Slicing returns another lazy view. Every list
    endpoint of the client answers with one; ``list(rows)`` materialises it.

    The underlying list is shared with the decoded payload, not copied (:attr:`raw_rows`);
    mutate neither.
    """

    __slots__ = ("_parse", "_rows")
    __hash__ = None  # type: ignore[assignment]  # equal views may hold different strings

    def __init__(self, rows: list[Any], parse: Callable[[Any], T]) -> None:
        if not isinstance(rows, list):
            raise TypeError(f"expected a JSON array, got {type(rows).__name__}")
        self._rows = rows
        self._parse = parse

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
        return self._parse(self._rows[index])

    def _view(self, rows: list[Any]) -> Rows[T]:
        return Rows(rows, self._parse)

    def __iter__(self) -> Iterator[T]:
        return map(self._parse, self._rows)

    def __reversed__(self) -> Iterator[T]:
        return map(self._parse, reversed(self._rows))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows):
            if self._rows is other._rows or self._rows == other._rows:
                return True
        elif not isinstance(other, (list, tuple)):
            return NotImplemented
        # Same numbers may be spelled differently ("1.0" vs "1.00"): compare as models.
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __repr__(self) -> str:
        if not self._rows:
            return f"{type(self).__name__}(0 rows)"
        return f"{type(self).__name__}({len(self._rows)} rows, first={self[0]!r})"
