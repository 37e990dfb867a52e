"""Perpetual markets: funding rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import _wire as wire

__all__ = ["FundingRate", "FundingRateHistory"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingRate:
    """``funding_rate/{market}/``: the current rate of a perpetual market."""

    market: str  # "BTC/USD-PERP"
    funding_rate: Decimal
    timestamp: datetime
    next_funding_time: datetime | None

    @classmethod
    def from_wire(cls, obj: Any) -> FundingRate:
        try:
            return cls(
                market=_text(obj["market"]),
                funding_rate=wire.decimal(obj["funding_rate"]),
                timestamp=_epoch(obj["timestamp"]),
                next_funding_time=(
                    None
                    if obj.get("next_funding_time") is None
                    else _epoch(obj["next_funding_time"])
                ),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingRatePoint:
    funding_rate: Decimal
    timestamp: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingRateHistory:
    """``funding_rate_history/{market}/``: past rates, oldest first as sent."""

    market: str
    rates: tuple[FundingRatePoint, ...]

    @classmethod
    def from_wire(cls, obj: Any) -> FundingRateHistory:
        try:
            history = obj["funding_rate_history"]
            if type(history) is not list:
                raise TypeError("funding_rate_history is not a list")
            return cls(
                market=_text(obj["market"]),
                rates=tuple(
                    FundingRatePoint(
                        funding_rate=wire.decimal(row["funding_rate"]),
                        timestamp=_epoch(row["timestamp"]),
                    )
                    for row in history
                ),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


def _epoch(value: Any) -> datetime:
    """Seconds or milliseconds since the epoch (perpetual feeds use milliseconds)."""
    number = int(value) if type(value) is not bool else None
    if number is None:
        raise TypeError("a boolean is not a time")
    if number > 10**11:
        return wire.unix_micros(number * 1000)
    return wire.unix_seconds(number)


def _text(value: Any) -> str:
    if type(value) is not str or not value:
        raise TypeError("expected a non-empty string")
    return value
