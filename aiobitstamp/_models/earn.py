"""Earn (staking and lending): subscriptions and the history of earn events.

Shapes follow Bitstamp's OpenAPI spec (``EarnSubscriptionsSchema``,
``EarnTransactionSchema``): every field is optional there, amounts are JSON numbers (read
exactly when the client decodes them as ``Decimal``; a numeric string is read too), and
the kinds are upper-case enums. The decoded row is kept in ``raw``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from . import _wire as wire

__all__ = [
    "DistributionPeriod",
    "EarnSetting",
    "EarnSubscription",
    "EarnTerm",
    "EarnTransaction",
    "EarnTransactionStatus",
    "EarnTransactionType",
    "EarnType",
]

E = TypeVar("E", bound=enum.Enum)


class EarnType(enum.Enum):
    """The earn product: staking or lending."""

    STAKING = "STAKING"
    LENDING = "LENDING"


class EarnTerm(enum.Enum):
    """Whether the subscribed amount can be taken back at any time or is locked."""

    FLEXIBLE = "FLEXIBLE"
    FIXED = "FIXED"


class EarnSetting(enum.Enum):
    """``earn/subscriptions/setting/``: stake automatically (opt in) or not."""

    OPT_IN = "OPT_IN"
    OPT_OUT = "OPT_OUT"


class DistributionPeriod(enum.Enum):
    """How often rewards are paid."""

    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"


class EarnTransactionType(enum.Enum):
    """The kind of an earn history event."""

    STAKE = "STAKE"
    UNSTAKE = "UNSTAKE"
    REWARD_RECEIVED = "REWARD_RECEIVED"
    OPT_IN = "OPT_IN"
    OPT_OUT = "OPT_OUT"
    SUBSCRIBE = "SUBSCRIBE"
    UNSUBSCRIBE = "UNSUBSCRIBE"


class EarnTransactionStatus(enum.Enum):
    """The state of an earn history event."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"


def _choice(kind: type[E], value: Any) -> E | None:
    if value is None or value == "":
        return None
    if value.__class__ is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return kind(value)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value.__class__ is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _object(cls: type[Any], obj: Any) -> Mapping[str, Any]:
    if obj.__class__ is not dict:
        wire.malformed(cls, TypeError(f"expected an object, got {type(obj).__name__}"))
    return obj


@dataclass(frozen=True, slots=True, kw_only=True)
class EarnSubscription:
    """One ``earn/subscriptions/`` row: an earn product for one currency and what the
    account holds in it.

    ``amount`` earns rewards, ``available_amount`` of it can be taken back now,
    ``amount_earned`` has been paid so far. ``estimated_annual_yield`` is as the exchange
    sends it (the spec does not say whether it is a fraction or a percentage).
    ``activation_period`` is free text (the time until an amount starts earning).
    """

    currency: str | None = None
    type: EarnType | None = None
    term: EarnTerm | None = None
    amount: Decimal | None = None
    available_amount: Decimal | None = None
    amount_earned: Decimal | None = None
    estimated_annual_yield: Decimal | None = None
    minimum_subscription_amount: Decimal | None = None
    distribution_period: DistributionPeriod | None = None
    activation_period: str | None = None
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> EarnSubscription:
        """Parse one row; every field is optional, as in the spec."""
        payload = _object(cls, obj)
        try:
            get = payload.get
            return cls(
                currency=_text(get("currency")),
                type=_choice(EarnType, get("type")),
                term=_choice(EarnTerm, get("term")),
                amount=wire.optional_decimal(get("amount")),
                available_amount=wire.optional_decimal(get("available_amount")),
                amount_earned=wire.optional_decimal(get("amount_earned")),
                estimated_annual_yield=wire.optional_decimal(get("estimated_annual_yield")),
                minimum_subscription_amount=wire.optional_decimal(
                    get("minimum_subscription_amount")
                ),
                distribution_period=_choice(DistributionPeriod, get("distribution_period")),
                activation_period=_text(get("activation_period")),
                raw=wire.frozen_raw(payload),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class EarnTransaction:
    """One ``earn/transactions/`` row: ``amount`` of ``currency``, worth ``value`` of
    ``quote_currency`` at the time. The spec gives no id, so the row is identified by its
    values (see ``EarnAPI.iter_earn_transactions``)."""

    datetime: datetime | None = None
    type: EarnTransactionType | None = None
    status: EarnTransactionStatus | None = None
    currency: str | None = None
    amount: Decimal | None = None
    quote_currency: str | None = None
    value: Decimal | None = None
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> EarnTransaction:
        """Parse one row; every field is optional, as in the spec."""
        payload = _object(cls, obj)
        try:
            get = payload.get
            return cls(
                datetime=wire.optional_utc_datetime(get("datetime")),
                type=_choice(EarnTransactionType, get("type")),
                status=_choice(EarnTransactionStatus, get("status")),
                currency=_text(get("currency")),
                amount=wire.optional_decimal(get("amount")),
                quote_currency=_text(get("quote_currency")),
                value=wire.optional_decimal(get("value")),
                raw=wire.frozen_raw(payload),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)
