"""The currency catalogue that account, funding and earn calls check their arguments
against: listed currencies (from ``currencies()``) and their withdrawal networks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

from .. import _params as params
from .._exceptions import EndpointUnavailableError, InvalidParameterError, PermissionDeniedError
from .._models import Currency
from .._params import Amount
from ._base import ApiBase

__all__ = ["CurrencyChecks", "catalogue_networks", "currency_amount"]


class _Catalogue:
    """Withdrawal networks, fetched once per client (currencies live in _currency_index).

    ``fee_networks`` maps a currency to the networks the withdrawal-fee list names for it;
    it is empty when the key may not read that list (the catalogue's own network list is
    used then), and ``None`` until first needed.
    """

    __slots__ = ("fee_networks", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.fee_networks: dict[str, frozenset[str]] | None = None


def _fee_networks(payload: Any) -> dict[str, frozenset[str]]:
    """``fees/withdrawal/`` rows ``{currency, fee, network}`` as currency -> networks."""
    if payload.__class__ is not list:
        raise TypeError("fees/withdrawal/ must answer a list")
    found: dict[str, set[str]] = {}
    for row in payload:
        code, network = row["currency"], row.get("network")
        if code.__class__ is not str:
            raise TypeError("a withdrawal fee's currency must be a string")
        networks = found.setdefault(code.lower(), set())
        if network.__class__ is str and network:
            networks.add(network)
    return {code: frozenset(networks) for code, networks in found.items()}


def catalogue_networks(entry: Currency) -> dict[str, Mapping[str, Any]]:
    """The catalogue's per-network facts of a currency, by network name (when listed)."""
    found: dict[str, Mapping[str, Any]] = {}
    for network in entry.networks:
        if isinstance(network, Mapping) and isinstance(network.get("network"), str):
            found[network["network"]] = network
    return found


class CurrencyChecks(ApiBase):
    """The currency catalogue that funding and earn check their arguments against."""

    _funding_catalogue: _Catalogue | None = None

    def _funding(self) -> _Catalogue:
        catalogue = self._funding_catalogue
        if catalogue is None:
            catalogue = self._funding_catalogue = _Catalogue()
        return catalogue

    async def _currency_entry(
        self, code: str, *, kind: Literal["crypto", "fiat"] | None = None
    ) -> Currency | None:
        """The catalogue entry of ``code`` (checked shape, lower case), or ``None`` when
        checking against the exchange is off. Refuses unlisted currencies and, with
        ``kind``, currencies of the other kind."""
        if not self._catalogue.enabled:
            return None
        catalogue = self._funding()
        if self._currency_index is None:
            async with catalogue.lock:
                if self._currency_index is None:
                    # currencies() fills the index (and refreshes it whenever called).
                    await self.currencies()
        assert self._currency_index is not None
        entry = self._currency_index.get(code)
        if entry is None:
            raise InvalidParameterError(
                f"unknown currency {code!r}; Client.currencies() lists the currencies "
                "Bitstamp offers"
            )
        if kind is not None and entry.currency_type not in (None, kind):
            raise InvalidParameterError(
                f"{code!r} is a {entry.currency_type} currency; this call takes {kind} ones"
            )
        return entry

    async def _withdrawal_networks(self, code: str, entry: Currency | None) -> frozenset[str]:
        """Networks ``code`` can be withdrawn on: from ``fees/withdrawal/`` when the key
        may read it, else from the catalogue; empty when neither says."""
        if entry is None:
            return frozenset()
        catalogue = self._funding()
        if catalogue.fee_networks is None:
            async with catalogue.lock:
                if catalogue.fee_networks is None:
                    try:
                        catalogue.fee_networks = await self._call("withdrawal_fees", _fee_networks)
                    except (PermissionDeniedError, EndpointUnavailableError):
                        catalogue.fee_networks = {}  # not available to this key
        found = catalogue.fee_networks.get(code)
        if found:
            return found
        return frozenset(catalogue_networks(entry))

    async def _listed_currency(self, value: object, *, name: str = "currency") -> str:
        """``value`` as a currency code, checked for shape and, when checking against the
        exchange is on, listed in its catalogue."""
        code = params.currency(value, name=name)
        await self._currency_entry(code)
        return code


def currency_amount(name: str, value: Amount, entry: Currency | None, *, checked: str) -> str:
    """``checked`` (the wire text of ``value``) once it fits the currency's decimals."""
    if entry is not None and entry.decimals is not None:
        return params.decimal_param(name, value, decimals=entry.decimals)
    return checked
