"""Argument types: each one checks its text and says what is wrong, before anything is sent.

Whether a well-formed pair exists is the exchange's to say (the client checks it against
the market list and the command ends with exit code 3); its spelling is checked here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import click

__all__ = ["AMOUNT", "CHANNEL", "PAIR", "POSITIVE", "SPEED", "STEP", "WHEN", "parse_when"]

_PAIR = re.compile(r"[a-z0-9]{2,20}(?:-perp)?")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
OHLC_STEPS = (60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 259200)


class _Pair(click.ParamType):  # type: ignore[type-arg]
    name = "PAIR"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower().replace("/", "").replace("_", "")
        if not _PAIR.fullmatch(text):
            self.fail(f"{value!r} is not a market symbol like btcusd or btcusd-perp", param, ctx)
        return text


class _Channel(click.ParamType):  # type: ignore[type-arg]
    name = "CHANNEL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ..streams import channel_of  # the streams package, not the CLI toolkit

        try:
            return channel_of(str(value)).name
        except (ValueError, KeyError) as error:
            self.fail(f"{value!r}: {error}", param, ctx)


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """An aware UTC datetime from ``2024-01-31``, ``2024-01-31T12:00[:00][Z|+01:00]``,
    unix seconds, ``now``, or a duration ago (``90s``, ``15m``, ``12h``, ``7d``, ``2w``).

    Raises ``ValueError`` with the reason."""
    value = text.strip()
    moment = now or datetime.now(timezone.utc)
    if value == "now":
        return moment.replace(microsecond=0)
    duration = _DURATION.fullmatch(value)
    if duration:
        seconds = float(duration.group(1)) * _UNITS[duration.group(2)]
        return (moment - timedelta(seconds=seconds)).replace(microsecond=0)
    if value.isdigit():
        return datetime.fromtimestamp(int(value), timezone.utc)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date: use 2024-01-31, 2024-01-31T12:00Z, unix seconds, "
            "now, or a time ago like 15m, 12h, 7d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


class _When(click.ParamType):  # type: ignore[type-arg]
    name = "WHEN"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_when(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


class _Amount(click.ParamType):  # type: ignore[type-arg]
    """A decimal above zero (never a float: ``0.1`` stays exactly ``0.1``)."""

    name = "AMOUNT"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Decimal:
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not amount.is_finite() or amount <= 0:
            self.fail(f"{value!r} must be a number above 0", param, ctx)
        return amount


class _Positive(click.ParamType):  # type: ignore[type-arg]
    name = "NUMBER"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not number > 0 or number == float("inf"):
            self.fail(f"{value!r} must be a number above 0", param, ctx)
        return number


class _Speed(click.ParamType):  # type: ignore[type-arg]
    """A replay speed: a factor above 0 (1 = as recorded), or ``max`` (no waiting)."""

    name = "SPEED"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float | None:
        if value is None or str(value).lower() in ("max", "inf", "0"):
            return None
        return _Positive().convert(value, param, ctx)


class _Step(click.ParamType):  # type: ignore[type-arg]
    """A candle length: seconds (``3600``) or ``1m``, ``15m``, ``1h``, ``1d``..."""

    name = "STEP"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip()
        duration = _DURATION.fullmatch(text)
        seconds = (
            int(float(duration.group(1)) * _UNITS[duration.group(2)])
            if duration
            else int(text)
            if text.isdigit()
            else -1
        )
        if seconds not in OHLC_STEPS:
            shown = ", ".join(str(step) for step in OHLC_STEPS)
            self.fail(f"{value!r} is not a candle length Bitstamp offers ({shown} s)", param, ctx)
        return seconds


PAIR = _Pair()
CHANNEL = _Channel()
WHEN = _When()
AMOUNT = _Amount()
POSITIVE = _Positive()
SPEED = _Speed()
STEP = _Step()
