"""The account's terms: its trading and withdrawal fees, the markets open to it, and the
answer of the kill switch that revokes its API keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import _wire as wire

__all__ = ["AccountMarket", "RevokedApiKeys", "TradingFee", "WithdrawalFee"]


def _fee_rates(fees: Any) -> tuple[Decimal, Decimal]:
    """``(maker, taker)`` from ``{maker, taker}`` or, in older answers, a one-element list
    of it (the fact sheet's conflict: both are accepted)."""
    if fees.__class__ is list:
        if len(fees) != 1:
            raise ValueError(f"fees: expected one {{maker, taker}} entry, got {len(fees)}")
        fees = fees[0]
    if fees.__class__ is not dict:
        raise TypeError("fees: expected an object with maker and taker")
    return wire.decimal(fees["maker"]), wire.decimal(fees["taker"])


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingFee:
    """One market's trading fees, from ``fees/trading/`` or ``fees/trading/{market}/``.

    ``maker`` and ``taker`` are **percent**, as the exchange sends them (``"0.15000"`` is
    0.15 %, kept to the exchange's precision); ``maker_rate`` and ``taker_rate`` are the same
    as fractions, ready to multiply an order's value by. ``market`` is the market symbol
    (``"btcusd"``), read from ``market`` or, in older answers, ``currency_pair``.

    >>> fee = TradingFee(market="btcusd", maker=Decimal("0.15000"), taker=Decimal("0.16000"))
    >>> fee.taker_rate * 30000
    Decimal('48.0000000')
    """

    market: str
    maker: Decimal
    taker: Decimal

    @property
    def maker_rate(self) -> Decimal:
        """The maker fee as a fraction (``0.0015`` for 0.15 %), exact."""
        return self.maker.scaleb(-2)

    @property
    def taker_rate(self) -> Decimal:
        """The taker fee as a fraction (``0.0016`` for 0.16 %), exact."""
        return self.taker.scaleb(-2)

    @classmethod
    def from_wire(cls, obj: Any) -> TradingFee:
        """Parse ``{market, currency_pair, fees: {maker, taker}}``; ``fees`` may also be a
        one-element list."""
        try:
            market = obj.get("market") or obj["currency_pair"]
            if market.__class__ is not str:
                raise TypeError("market: expected a string")
            maker, taker = _fee_rates(obj["fees"])
            return cls(market=market, maker=maker, taker=taker)
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)

    @classmethod
    def one_from_wire(cls, payload: Any, market: str) -> TradingFee:
        """The ``fees/trading/{market}/`` answer: an object (the official spec), or a list
        holding exactly that market's row (seen from older servers)."""
        if payload.__class__ is list:
            if len(payload) != 1:
                wire.malformed(cls, ValueError(f"expected one row, got {len(payload)}"))
            payload = payload[0]
        fee = cls.from_wire(payload)
        if fee.market != market:
            wire.malformed(cls, ValueError(f"asked for {market!r}, got {fee.market!r}"))
        return fee


@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawalFee:
    """A ``fees/withdrawal/`` row, or the ``fees/withdrawal/{currency}/`` answer: the fee
    (in ``currency``) of a withdrawal over ``network`` (``None`` when not sent)."""

    currency: str
    fee: Decimal
    network: str | None = None

    @classmethod
    def from_wire(cls, obj: Any) -> WithdrawalFee:
        """Parse ``{currency, fee, network}``."""
        try:
            currency = obj["currency"]
            if currency.__class__ is not str:
                raise TypeError("currency: expected a string")
            return cls(
                currency=currency,
                fee=wire.decimal(obj["fee"]),
                network=wire.optional_text(obj.get("network")),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountMarket:
    """A ``my_markets/`` row: a market this account may trade (the spec's ``TradingPair``).

    ``name`` is the display name (``"BTC/USD"``), ``market_symbol`` the symbol the client's
    methods take (``"btcusd"``, the wire's ``url_symbol`` or ``market_symbol``).
    """

    name: str
    market_symbol: str

    @classmethod
    def from_wire(cls, obj: Any) -> AccountMarket:
        """Parse ``{name, url_symbol}`` (or ``market_symbol``)."""
        try:
            name = obj["name"]
            symbol = obj.get("url_symbol") or obj["market_symbol"]
            if name.__class__ is not str or symbol.__class__ is not str:
                raise TypeError("name and url_symbol must be strings")
            return cls(name=name, market_symbol=symbol)
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokedApiKeys:
    """The ``revoke_all_api_keys/`` answer: the keys that no longer work, this client's
    own included. Only their number shows in ``repr``.

    >>> RevokedApiKeys(api_keys=("abcd1234", "efgh5678"))
    RevokedApiKeys(count=2)
    """

    api_keys: tuple[str, ...] = field(repr=False)

    @property
    def count(self) -> int:
        """How many keys were revoked."""
        return len(self.api_keys)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(count={self.count})"

    @classmethod
    def from_wire(cls, obj: Any) -> RevokedApiKeys:
        """Parse ``{revoked_api_keys: [...]}``."""
        try:
            keys = obj["revoked_api_keys"]
            if keys.__class__ is not list or any(key.__class__ is not str for key in keys):
                raise TypeError("revoked_api_keys: expected a list of strings")
            return cls(api_keys=tuple(keys))
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)
