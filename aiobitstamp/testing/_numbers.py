"""Wire numbers: fixed-point integers inside, decimal strings on the wire.

The emulator keeps prices as integer ticks (units of ``10**-counter_decimals``) and amounts
as integer base units (``10**-base_decimals``): matching and book aggregation stay exact and
fast, and every string it sends has exactly the market's number of decimals, as Bitstamp's do.
Balances and fees, which mix currencies and rates, are ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

__all__ = [
    "format_datetime",
    "format_decimal",
    "format_units",
    "quantize",
    "quantize_down",
    "units_to_decimal",
]


def format_units(units: int, decimals: int) -> str:
    """``format_units(12345, 2) == "123.45"``; always exactly ``decimals`` places."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}"


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


def format_datetime(timestamp: float, *, micro: bool) -> str:
    """Bitstamp's private ``datetime``: ``"2023-11-28 12:00:32[.445000]"``, UTC, no zone."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f" if micro else "%Y-%m-%d %H:%M:%S")
