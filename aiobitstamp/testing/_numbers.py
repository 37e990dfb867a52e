"""Wire numbers: fixed-point integers inside, decimal strings on the wire.

The emulator keeps prices as integer ticks (units of ``10**-counter_decimals``) and amounts
as integer base units (``10**-base_decimals``): matching and book aggregation stay exact and
fast, and every string it sends has exactly the market's number of decimals, as Bitstamp's do.
Balances and fees, which mix currencies and rates, are ``Decimal``. Times are integer
microseconds (``us``), the resolution of Bitstamp's ``microtimestamp``.

Where Bitstamp sends a JSON *number* (cancel answers, user transaction rates), the emulator
writes the exact decimal digits as the number (``orjson.Fragment``), never a binary float:
a client that parses numbers exactly gets every digit back.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import orjson

__all__ = [
    "float_like",
    "format_datetime",
    "format_decimal",
    "format_iso",
    "format_units",
    "json_number",
    "quantize",
    "quantize_down",
    "units_to_decimal",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def format_units(units: int, decimals: int) -> str:
    """``format_units(12345, 2) == "123.45"``; always exactly ``decimals`` places."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}"


def json_number(text: str) -> orjson.Fragment:
    """A decimal string sent as a JSON number, digit for digit (``"0.50"`` -> ``0.50``)."""
    return orjson.Fragment(text.encode())


def float_like(units: int, decimals: int) -> str:
    """How Python would print the float of a fixed-point value: ``59000.0``, ``4451.25``."""
    text = format_units(units, decimals)
    if "." not in text:
        return text + ".0"
    text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text


def units_to_decimal(units: int, decimals: int) -> Decimal:
    """The exact ``Decimal`` of a fixed-point integer."""
    return Decimal(units).scaleb(-decimals)


def quantize(value: Decimal, decimals: int) -> Decimal:
    """Round half up to ``decimals`` places (how amounts and fees are settled)."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def quantize_down(value: Decimal, decimals: int) -> Decimal:
    """Round toward zero: the most that can be afforded."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)


def format_decimal(value: Decimal, decimals: int) -> str:
    """A ``Decimal`` as a string with exactly ``decimals`` places."""
    return f"{quantize(value, decimals):f}"


def _moment(us: int) -> dt.datetime:
    # Integer arithmetic: a float timestamp would round some microseconds away.
    return _EPOCH + dt.timedelta(microseconds=us)


def format_datetime(us: int, *, micro: bool) -> str:
    """Bitstamp's private ``datetime``: ``"2023-11-28 12:00:32[.445000]"``, UTC, no zone."""
    return _moment(us).strftime("%Y-%m-%d %H:%M:%S.%f" if micro else "%Y-%m-%d %H:%M:%S")


def format_iso(us: int) -> str:
    """ISO 8601 with microseconds and ``Z``, as ``replace_order/`` answers."""
    return _moment(us).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
