"""Checking and formatting caller input before anything is sent.

Every check raises ``InvalidParameterError`` (also a ``ValueError``) naming the parameter,
so a typo or a bad number fails locally and loudly instead of at the exchange, or worse,
as a different order than intended.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal, InvalidOperation

from ._exceptions import InvalidParameterError

__all__ = [
    "Amount",
    "decimal_param",
    "market_symbol",
    "one_of",
    "unix_seconds",
]

# What callers may pass for money. Floats are refused: 0.1 is not 0.1 in binary, and an
# order must carry exactly the number the caller meant.
Amount = Decimal | int | str

_MARKET_SYMBOL = re.compile(r"[a-z0-9]{2,20}(-perp)?")


def market_symbol(pair: object) -> str:
    """Check the shape of a market symbol such as ``btcusd`` or ``btcusd-perp``."""
    if not isinstance(pair, str) or not _MARKET_SYMBOL.fullmatch(pair):
        raise InvalidParameterError(
            f"market symbol must be lower-case letters and digits like 'btcusd', got {pair!r}"
        )
    return pair


def decimal_param(
    name: str,
    value: object,
    *,
    decimals: int | None = None,
    positive: bool = True,
) -> str:
    """Return ``value`` as the plain decimal string to send, after checking it.

    Refuses floats, NaN, infinities, zero or negative values (when ``positive``), and more
    fractional digits than the market allows.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        hint = (
            " (floats are inexact: pass Decimal('...') or a string)"
            if isinstance(value, float)
            else ""
        )
        raise InvalidParameterError(f"{name} must be a Decimal, int or str, got {value!r}{hint}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except InvalidOperation:
        raise InvalidParameterError(f"{name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise InvalidParameterError(f"{name} must be finite, got {value!r}")
    if positive and number <= 0:
        raise InvalidParameterError(f"{name} must be greater than zero, got {value!r}")
    if not positive and number < 0:
        raise InvalidParameterError(f"{name} must not be negative, got {value!r}")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers have an int exponent
    places = max(0, -exponent)
    if decimals is not None and places > decimals:
        # Trailing zeros are harmless: 1.5000 with 2 allowed is 1.50.
        normal_exponent = number.normalize().as_tuple().exponent
        assert isinstance(normal_exponent, int)
        if -normal_exponent > decimals:
            raise InvalidParameterError(
                f"{name} {value!r} has more than {decimals} decimal places allowed here"
            )
        number = number.quantize(Decimal(1).scaleb(-decimals))
    return format(number, "f")


def one_of(name: str, value: object, allowed: Collection[object]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(choice) for choice in allowed)
        raise InvalidParameterError(f"{name} must be one of {choices}; got {value!r}")


def unix_seconds(name: str, value: datetime | int) -> int:
    """Unix seconds from an aware datetime or an int; naive datetimes are refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidParameterError(
                f"{name} must be timezone-aware (e.g. datetime.now(timezone.utc))"
            )
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterError(f"{name} must be an aware datetime or unix seconds")
    return value
