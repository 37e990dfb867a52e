"""The account: balances, fees, markets open to it, its history, and its keys."""

from __future__ import annotations

from .. import _params as params
from .._models import Balance, Rows, WebSocketToken
from ._base import ApiBase, rows

__all__ = ["AccountAPI"]

_parse_balances = rows(Balance)


class AccountAPI(ApiBase):
    """Private account endpoints; they need keys."""

    async def account_balances(self) -> Rows[Balance]:
        """Balances of every currency: total, available and reserved."""
        return await self._call("account_balances", _parse_balances)

    async def account_balance(self, currency: str) -> Balance:
        """The balance of one currency, e.g. ``await client.account_balance("usd")``."""
        code = params.currency(currency)
        return await self._call("account_balance", Balance.from_wire, path={"currency": code})

    async def websockets_token(self) -> WebSocketToken:
        """A short-lived token for private WebSocket channels."""
        return await self._call("websockets_token", WebSocketToken.from_wire)
