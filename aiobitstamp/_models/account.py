"""The account: balances and the token for private WebSocket channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import _wire as wire

__all__ = ["Balance", "WebSocketToken"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    """One ``account_balances/`` row, or the whole ``account_balances/{currency}/`` answer.
    ``currency`` is lower case as sent (``"usd"``); ``total = available + reserved``."""

    currency: str
    total: Decimal
    available: Decimal
    reserved: Decimal

    @classmethod
    def from_wire(cls, obj: Any) -> Balance:
        """Parse ``{currency, total, available, reserved}``; the currency must be a code."""
        fields = wire.Fields(cls, obj)
        return cls(
            currency=fields.required("currency", wire.currency_code),
            total=fields.required("total", wire.decimal),
            available=fields.required("available", wire.decimal),
            reserved=fields.required("reserved", wire.decimal),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSocketToken:
    """``websockets_token/``: a short-lived credential for private WebSocket channels.

    The token is a secret, so it is left out of ``repr`` (``field(repr=False)``). Subscribe
    to ``private-<channel>-{user_id}`` with it within ``valid_sec`` seconds (60).

    >>> WebSocketToken(token="s3cr3t", user_id="4848701", valid_sec=60)
    WebSocketToken(user_id='4848701', valid_sec=60)
    """

    token: str = field(repr=False)
    user_id: str
    valid_sec: int

    @classmethod
    def from_wire(cls, obj: Any) -> WebSocketToken:
        """Parse ``{token, user_id, valid_sec}``."""
        fields = wire.Fields(cls, obj)
        return cls(
            token=fields.required("token", wire.identifier),
            user_id=fields.required("user_id", wire.identifier),
            valid_sec=fields.required("valid_sec", wire.integer),
        )
