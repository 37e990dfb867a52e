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
        """Parse ``{funding_rate, timestamp, market, next_funding_time}``."""
        fields = wire.Fields(cls, obj)
        return cls(
            market=fields.required("market", wire.text),
            funding_rate=fields.required("funding_rate", wire.decimal),
            timestamp=fields.required("timestamp", _epoch),
            next_funding_time=fields.optional("next_funding_time", _epoch),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingRatePoint:
    """One past rate of :class:`FundingRateHistory`."""

    funding_rate: Decimal
    timestamp: datetime

    @classmethod
    def from_wire(cls, obj: Any) -> FundingRatePoint:
        """Parse ``{funding_rate, timestamp}``."""
        fields = wire.Fields(cls, obj)
        return cls(
            funding_rate=fields.required("funding_rate", wire.decimal),
            timestamp=fields.required("timestamp", _epoch),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingRateHistory:
    """``funding_rate_history/{market}/``: past rates, oldest first as sent."""

    market: str
    rates: tuple[FundingRatePoint, ...]

    @classmethod
    def from_wire(cls, obj: Any) -> FundingRateHistory:
        """Parse ``{market, funding_rate_history: [{funding_rate, timestamp}, ...]}``."""
        fields = wire.Fields(cls, obj)
        return cls(
            market=fields.required("market", wire.text),
            rates=fields.required(
                "funding_rate_history", wire.tuple_of(FundingRatePoint.from_wire)
            ),
        )


def _epoch(value: Any) -> datetime:
    """Seconds or milliseconds since the epoch (perpetual feeds use milliseconds)."""
    number = wire.integer(value)  # digits only, below 2**63: no float, no 10**999999
    if number > 10**11:
        return wire.unix_micros(number * 1000)
    return wire.unix_seconds(number)
