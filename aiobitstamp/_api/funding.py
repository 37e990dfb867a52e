"""Funding: deposit addresses, withdrawals (crypto, Ripple IOU, bank), their history,
transfers between the main account and sub-accounts, and instant-convert addresses.

**Withdrawals and transfers move money and are sent at most once.** Their routes are
``Repeat.ONCE``: after an ambiguous failure (a timeout, a reset, a 5xx) the error is raised
as it is and nothing is resent; look the withdrawal up with ``withdrawal_requests()`` before
trying again. Everything that can be checked is checked before anything is sent, each
failure an ``InvalidParameterError`` naming the argument:

* shapes (``_params``): currency codes, amounts (positive, never rounded), addresses,
  memo ids, destination tags, UUIDs, IBAN/BIC/country codes;
* which extra field a currency takes: ``destination_tag`` only for XRP (network ``xrpl``),
  ``memo_id`` only for XLM and HBAR (``stellar``, ``hedera``), ``transfer_id`` only for CSPR
  (``casper``), as the spec documents them; an XRP tag is never hidden in the address;
* with ``validate_markets`` (the default), against the exchange's catalogues, loaded once
  per client: the currency is listed, crypto or fiat as the endpoint needs, withdrawals or
  deposits are enabled, the amount has no more decimals than the currency has, and the
  network is one the withdrawal-fee list (or, failing that, the currency catalogue) names
  for the currency.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from decimal import Decimal
from time import monotonic as _monotonic
from typing import Any, Literal

from .. import _params as params
from .._exceptions import (
    ExchangeError,
    InvalidParameterError,
    UnexpectedResponseError,
)
from .._models import Currency, Rows
from .._models.funding import (
    BankWithdrawalStatus,
    CanceledWithdrawal,
    DepositAddress,
    InstantConvertAddressInfo,
    UnconfirmedBtc,
    WithdrawalPlaced,
    WithdrawalRequest,
    WithdrawalStatus,
)
from .._params import Amount
from .._retry import is_ambiguous
from ._base import rows
from ._currencies import CurrencyChecks, catalogue_networks, currency_amount

__all__ = ["FundingAPI"]

_parse_currencies = rows(Currency)
_parse_withdrawal_requests = rows(WithdrawalRequest)

# withdrawal-requests/ limits, from the spec's parameter descriptions.
_MAX_TIMEDELTA = 50_000_000
_MAX_PAGE = 1000
_MAX_OFFSET = 200_000

# Which extra field a withdrawal or deposit address takes, by currency or by network
# (spec: CryptoWithdrawalRequest and DepositAddressResponse field descriptions).
_DESTINATION_TAG = (frozenset({"xrp"}), frozenset({"xrpl"}))
_MEMO_ID = (frozenset({"xlm", "hbar"}), frozenset({"stellar", "hedera"}))
_TRANSFER_ID = (frozenset({"cspr"}), frozenset({"casper"}))

# "ripple" in the templates {currency}_address/ and {currency}_withdrawal/ would name the
# Ripple IOU endpoints, which take other fields.
_RIPPLE_IOU = "ripple"
_RIPPLE_IOU_CURRENCIES = ("usd", "btc", "eur")  # spec: "USD, BTC or EUR IOU"
_BANK_ACCOUNT_CURRENCIES = ("usd", "eur", "gbp")  # spec: OpenBankWithdrawalRequest
_BANK_TYPES = ("sepa", "international")
_ADDRESS_FORMATS = ("P2SHP2WSH", "BECH32")  # spec: NewInstantConvertAddressRequest

_MAX_NAME = 200
_MAX_ADDRESS_LINE = 200
_MAX_POSTAL_CODE = 20
_MAX_COMMENT = 500


def _extra_field(
    name: str, value: object, code: str, network: str | None, rule: tuple[frozenset[str], ...]
) -> None:
    """Refuses the field ``name`` where ``code`` (on ``network``) does not take it."""
    currencies, networks = rule
    applies = code in currencies or (network is not None and network in networks)
    if value is not None and not applies:
        which = ", ".join(sorted(currencies | networks))
        raise InvalidParameterError(f"{name} applies only to {which}, not to {code!r}")


def _plain_code(name: str, value: object) -> str:
    code = params.currency(value, name=name)
    if code == _RIPPLE_IOU:
        raise InvalidParameterError(
            f"{name} 'ripple' names the Ripple IOU endpoints: use ripple_deposit_address() "
            "or withdraw_ripple_iou()"
        )
    return code


def _seconds(name: str, value: object, maximum: int) -> int:
    """Whole seconds from an int or a ``datetime.timedelta``."""
    if isinstance(value, _dt.timedelta):
        whole = value // _dt.timedelta(seconds=1)
        if whole * _dt.timedelta(seconds=1) != value:
            raise InvalidParameterError(f"{name} must be whole seconds, got {value}")
        value = whole
    return params.integer(name, value, minimum=1, maximum=maximum)


def _status_ok(payload: Any) -> None:
    """A transfer's answer: ``{"status": "ok"}`` (errors never reach here)."""
    if payload.__class__ is not dict or payload.get("status") != "ok":
        raise ValueError("a transfer answers {'status': 'ok'}")


def _address_of(payload: Any) -> str:
    """``instant_convert_address/new/``: ``{"address": ...}``."""
    address = payload["address"]
    if address.__class__ is not str or not address:
        raise TypeError("'address' must be a non-empty string")
    return address


class FundingAPI(CurrencyChecks):
    """Deposits, withdrawals, sub-account transfers and instant-convert addresses."""

    # -- deposits --------------------------------------------------------------------

    async def deposit_address(self, currency: str, network: str | None = None) -> DepositAddress:
        """The address to deposit ``currency`` to, on ``network`` when it has several.

        >>> found = await client.deposit_address("usdc", network="ethereum")  # doctest: +SKIP
        >>> found.address, found.memo_id, found.destination_tag  # doctest: +SKIP

        Send the memo, tag or transfer id with the deposit when one is given.
        """
        code = _plain_code("currency", currency)
        chosen = None if network is None else params.network(network)
        entry = await self._currency_entry(code, kind="crypto")
        if entry is not None and entry.deposit_enabled is False:
            raise InvalidParameterError(f"deposits of {code!r} are disabled at the exchange")
        if chosen is not None:
            await self._check_network(code, chosen, entry)
        form = None if chosen is None else {"network": chosen}
        return await self._call(
            "deposit_address", DepositAddress.from_wire, path={"currency": code}, form=form
        )

    async def ripple_deposit_address(self) -> DepositAddress:
        """The address (and destination tag) to deposit Ripple IOUs to. Cached 60 s by
        the exchange."""
        return await self._call("ripple_deposit_address", DepositAddress.from_wire)

    async def btc_unconfirmed(self) -> UnconfirmedBtc:
        """Unconfirmed bitcoin deposits. Cached 60 s by the exchange. Sources disagree on
        the answer (a list of deposits, or an address); ``UnconfirmedBtc`` holds either."""
        return await self._call("btc_unconfirmed", UnconfirmedBtc.from_wire)

    # -- crypto withdrawals --------------------------------------------------------------

    async def withdraw(
        self,
        currency: str,
        amount: Amount,
        address: str,
        *,
        network: str | None = None,
        memo_id: str | int | None = None,
        destination_tag: str | int | None = None,
        transfer_id: int | None = None,
        contact_uuid: str | uuid.UUID | None = None,
        vasp_uuid: str | uuid.UUID | None = None,
        contact_thirdparty: bool | None = None,
    ) -> WithdrawalPlaced:
        """Withdraw ``amount`` of ``currency`` to ``address``. Sent at most once.

        >>> placed = await client.withdraw("btc", "0.01", "bc1q...", network="bitcoin")
        ... # doctest: +SKIP
        >>> placed.id  # doctest: +SKIP

        * ``destination_tag`` (XRP), ``memo_id`` (XLM, HBAR), ``transfer_id`` (CSPR): only
          for the currencies that take them.
        * Travel rule: ``contact_thirdparty=True`` when the address is not in your own name,
          with ``contact_uuid`` (from ``travel_rule_contacts()``); ``vasp_uuid`` (from
          ``travel_rule_vasps()``) when the address is hosted by a service provider.

        If the call fails ambiguously (a timeout, a 5xx), the withdrawal may or may not
        exist: look at ``withdrawal_requests()`` before calling again.
        """
        code = _plain_code("currency", currency)
        wire_amount = params.decimal_param("amount", amount)
        target = params.crypto_address(address)
        if "?dt=" in target:
            raise InvalidParameterError(
                "address must not carry a destination tag ('?dt='): pass destination_tag"
            )
        chosen = None if network is None else params.network(network)
        form: dict[str, str] = {}
        _extra_field("destination_tag", destination_tag, code, chosen, _DESTINATION_TAG)
        _extra_field("memo_id", memo_id, code, chosen, _MEMO_ID)
        _extra_field("transfer_id", transfer_id, code, chosen, _TRANSFER_ID)
        if destination_tag is not None:
            form["destination_tag"] = params.destination_tag(destination_tag)
        if memo_id is not None:
            form["memo_id"] = params.memo("memo_id", memo_id)
        if transfer_id is not None:
            number = params.integer("transfer_id", transfer_id, minimum=0, maximum=2**63 - 1)
            form["transfer_id"] = str(number)
        form.update(_travel_rule_fields(contact_uuid, vasp_uuid, contact_thirdparty))
        entry = await self._currency_entry(code, kind="crypto")
        if entry is not None and entry.withdrawal_enabled is False:
            raise InvalidParameterError(f"withdrawals of {code!r} are disabled at the exchange")
        wire_amount = currency_amount("amount", amount, entry, checked=wire_amount)
        if chosen is not None:
            await self._check_network(code, chosen, entry)
        _check_network_minimum(entry, chosen, Decimal(wire_amount), code)
        form = {"amount": wire_amount, "address": target, **form}
        if chosen is not None:
            form["network"] = chosen
        return await self._call(
            "withdraw", WithdrawalPlaced.from_wire, path={"currency": code}, form=form
        )

    async def withdraw_ripple_iou(
        self, currency: str, amount: Amount, address: str
    ) -> WithdrawalPlaced:
        """Withdraw a USD, BTC or EUR IOU on the XRP Ledger to ``address``. Sent at most
        once (see ``withdraw``)."""
        code = params.one_of("currency", params.currency(currency), _RIPPLE_IOU_CURRENCIES)
        wire_amount = params.decimal_param("amount", amount)
        target = params.crypto_address(address)
        entry = await self._currency_entry(code)
        wire_amount = currency_amount("amount", amount, entry, checked=wire_amount)
        form = {"amount": wire_amount, "address": target, "currency": code.upper()}
        return await self._call("withdraw_ripple_iou", WithdrawalPlaced.from_wire, form=form)

    async def _check_network(self, code: str, network: str, entry: Currency | None) -> None:
        known = await self._withdrawal_networks(code, entry)
        if known and network not in known:
            raise InvalidParameterError(
                f"network {network!r} is not one of {code!r}'s: {', '.join(sorted(known))}"
            )

    # -- bank withdrawals --------------------------------------------------------------

    async def withdraw_bank(
        self,
        amount: Amount,
        account_currency: str,
        *,
        name: str,
        iban: str,
        bic: str,
        address: str,
        postal_code: str,
        city: str,
        country: str,
        type: Literal["sepa", "international"],
        currency: str | None = None,
        bank_name: str | None = None,
        bank_address: str | None = None,
        bank_postal_code: str | None = None,
        bank_city: str | None = None,
        bank_country: str | None = None,
        comment: str | None = None,
    ) -> WithdrawalPlaced:
        """Open a bank withdrawal of ``amount`` from the ``account_currency`` balance (USD,
        EUR or GBP). Main account only; sent at most once (see ``withdraw``).

        ``type`` is ``"sepa"`` or ``"international"``; ``currency`` (the payout currency)
        and the ``bank_*`` fields are for international withdrawals only. ``name``,
        ``address``, ``postal_code``, ``city`` and ``country`` (ISO 3166-1 alpha-2) are the
        account holder's. The amount goes on the wire as ``amount`` (JKorf sends
        ``quantity``; the spec and ccxt say ``amount``).
        """
        balance = params.one_of(
            "account_currency", params.currency(account_currency), _BANK_ACCOUNT_CURRENCIES
        )
        kind = params.one_of("type", type, _BANK_TYPES)
        wire_amount = params.decimal_param("amount", amount)
        form: dict[str, str] = {
            "amount": wire_amount,
            "account_currency": balance.upper(),
            "name": params.text("name", name, max_length=_MAX_NAME),
            "iban": params.text("iban", iban, max_length=34, pattern=params.IBAN_PATTERN),
            "bic": params.text("bic", bic, max_length=11, pattern=params.BIC_PATTERN),
            "address": params.text("address", address, max_length=_MAX_ADDRESS_LINE),
            "postal_code": params.text("postal_code", postal_code, max_length=_MAX_POSTAL_CODE),
            "city": params.text("city", city, max_length=_MAX_NAME),
            "country": params.text(
                "country", country, max_length=2, pattern=params.COUNTRY_CODE_PATTERN
            ),
            "type": kind,
        }
        international = {
            "currency": None if currency is None else params.currency(currency).upper(),
            "bank_name": _optional_text("bank_name", bank_name, _MAX_NAME),
            "bank_address": _optional_text("bank_address", bank_address, _MAX_ADDRESS_LINE),
            "bank_postal_code": _optional_text(
                "bank_postal_code", bank_postal_code, _MAX_POSTAL_CODE
            ),
            "bank_city": _optional_text("bank_city", bank_city, _MAX_NAME),
            "bank_country": None
            if bank_country is None
            else params.text(
                "bank_country", bank_country, max_length=2, pattern=params.COUNTRY_CODE_PATTERN
            ),
        }
        for field_name, value in international.items():
            if value is None:
                continue
            if kind != "international":
                raise InvalidParameterError(
                    f"{field_name} is for international bank withdrawals only"
                )
            form[field_name] = value
        if comment is not None:
            form["comment"] = params.text("comment", comment, max_length=_MAX_COMMENT)
        entry = await self._currency_entry(balance, kind="fiat")
        form["amount"] = currency_amount("amount", amount, entry, checked=wire_amount)
        return await self._call("withdraw_bank", WithdrawalPlaced.from_wire, form=form)

    async def bank_withdrawal_status(self, withdrawal_id: str | int) -> BankWithdrawalStatus:
        """The status of a bank withdrawal (main account only)."""
        form = {"id": params.order_id(withdrawal_id, name="withdrawal_id")}
        return await self._call("bank_withdrawal_status", BankWithdrawalStatus.from_wire, form=form)

    async def cancel_withdrawal(self, withdrawal_id: str | int) -> CanceledWithdrawal:
        """Cancel a bank or crypto withdrawal that is still open (main account only).

        The cancel is repeated after an ambiguous failure. If a repeat is refused because
        the withdrawal is no longer active, the withdrawal list is asked: a withdrawal it
        shows canceled was cancelled by this call, and ``outcome`` says so
        (``CANCELED_BY_RETRY``). Any other refusal is raised.
        """
        ref = params.order_id(withdrawal_id, name="withdrawal_id")
        async with self._pipeline.guard():
            try:
                return await self._call(
                    "cancel_withdrawal", CanceledWithdrawal.from_wire, form={"id": ref}
                )
            except ExchangeError as error:
                if (error.attempts or 1) <= 1 or is_ambiguous(error):
                    raise
                # An earlier attempt of this call may have cancelled it: look.
                found = await self.withdrawal_requests(withdrawal_id=ref)
                for row in found:
                    if row.id == ref and row.status is WithdrawalStatus.CANCELED:
                        return CanceledWithdrawal.from_request(row)
                raise

    # -- withdrawal history ------------------------------------------------------------

    async def withdrawal_requests(
        self,
        *,
        timedelta: int | _dt.timedelta | None = None,
        withdrawal_id: str | int | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Rows[WithdrawalRequest]:
        """Withdrawal requests of the account the key belongs to.

        ``timedelta``: only those from that many seconds ago until now (at most
        50,000,000). ``withdrawal_id``: only that one. ``limit`` (1-1000) and ``offset``
        (0-200,000) page; the exchange wants both or neither, so one given alone is sent
        with the other's default (limit 100, offset 0). See ``iter_withdrawal_requests``
        to walk them all.
        """
        form = _withdrawal_query(timedelta, withdrawal_id, limit, offset)
        return await self._call(
            "withdrawal_requests", _parse_withdrawal_requests, form=form or None
        )

    async def iter_withdrawal_requests(
        self, *, timedelta: int | _dt.timedelta | None = None, page_size: int = _MAX_PAGE
    ) -> AsyncIterator[WithdrawalRequest]:
        """Every withdrawal request (within ``timedelta`` seconds), each exactly once.

        >>> async for row in client.iter_withdrawal_requests(timedelta=86400):
        ...     print(row.id, row.status)  # doctest: +SKIP
        >>> open_ones = [r async for r in client.iter_withdrawal_requests()
        ...              if not r.status.is_final]  # doctest: +SKIP

        Pages by ``offset``. New withdrawals made while it walks can push rows of the next
        page back onto it; those are recognised by id and not given twice. The window is
        widened by the time the walk has taken, so rows do not slide out of it between
        pages (its start may move back by under a second). Which order the exchange lists
        them in is not documented; the walk does not depend on it.
        """
        size = params.integer("page_size", page_size, minimum=1, maximum=_MAX_PAGE)
        window = None if timedelta is None else _seconds("timedelta", timedelta, _MAX_TIMEDELTA)
        started = _monotonic()
        seen: set[str] = set()
        offset = 0
        while True:
            form = {"limit": str(size), "offset": str(offset)}
            if window is not None:
                elapsed = -int(-(_monotonic() - started) // 1)  # whole seconds, up
                form["timedelta"] = str(min(window + elapsed, _MAX_TIMEDELTA))
            page = await self._call("withdrawal_requests", _parse_page, form=form)
            for row in page:
                if row.id in seen:
                    continue
                seen.add(row.id)
                yield row
            if len(page) < size:
                return
            offset += len(page)
            if offset > _MAX_OFFSET:
                raise UnexpectedResponseError(
                    f"more than {_MAX_OFFSET} withdrawal requests: the exchange cannot page "
                    "further; narrow timedelta",
                    method="POST",
                    path="withdrawal-requests/",
                )

    # -- sub-accounts ----------------------------------------------------------------

    async def transfer_to_main(
        self, currency: str, amount: Amount, sub_account: str | int | None = None
    ) -> None:
        """Move ``amount`` of ``currency`` from a sub-account to the main account.

        With the main account's key, name the ``sub_account`` (its numeric id); with the
        sub-account's own key it may be left out. Sent at most once.
        """
        await self._transfer("transfer_to_main", currency, amount, sub_account)

    async def transfer_from_main(
        self, currency: str, amount: Amount, sub_account: str | int
    ) -> None:
        """Move ``amount`` of ``currency`` from the main account to ``sub_account`` (its
        numeric id). Main account only; sent at most once."""
        if sub_account is None:
            raise InvalidParameterError("sub_account is required")
        await self._transfer("transfer_from_main", currency, amount, sub_account)

    async def _transfer(
        self, route: str, currency: str, amount: Amount, sub_account: str | int | None
    ) -> None:
        code = params.currency(currency)
        wire_amount = params.decimal_param("amount", amount)
        form = {"currency": code.upper()}  # upper case on the wire (fact sheet)
        if sub_account is not None:
            # camelCase on the wire, the only such field (spec: TransferToFromMainRequest).
            form["subAccount"] = params.order_id(sub_account, name="sub_account")
        entry = await self._currency_entry(code)
        form["amount"] = currency_amount("amount", amount, entry, checked=wire_amount)
        await self._call(route, _status_ok, form=form)

    # -- instant convert ---------------------------------------------------------------

    async def instant_convert_address(self, address: str) -> InstantConvertAddressInfo:
        """An instant-convert address and the conversions of what was deposited to it."""
        target = params.crypto_address(address)
        return await self._call(
            "instant_convert_address", _convert_info(target), form={"address": target}
        )

    async def new_instant_convert_address(
        self,
        liquidation_currency: str,
        address_format: Literal["P2SHP2WSH", "BECH32"] | None = None,
    ) -> str:
        """A new bitcoin address whose deposits are sold at once for
        ``liquidation_currency`` (a fiat currency). Returns the address. Sent at most once.
        """
        code = params.currency(liquidation_currency, name="liquidation_currency")
        form = {"liquidation_currency": code.upper()}
        if address_format is not None:
            form["address_format"] = params.one_of(
                "address_format", address_format, _ADDRESS_FORMATS
            )
        await self._currency_entry(code, kind="fiat")
        return await self._call("new_instant_convert_address", _address_of, form=form)


def _optional_text(name: str, value: object, max_length: int) -> str | None:
    return None if value is None else params.text(name, value, max_length=max_length)


def _travel_rule_fields(
    contact_uuid: object, vasp_uuid: object, contact_thirdparty: object
) -> dict[str, str]:
    fields: dict[str, str] = {}
    if contact_thirdparty is not None:
        third_party = params.boolean("contact_thirdparty", contact_thirdparty)
        # Python's spelling, as the spec's own examples write booleans.
        fields["contact_thirdparty"] = "True" if third_party else "False"
        if third_party and contact_uuid is None:
            # The spec's error: "You must set this field because contact_thirdparty=True".
            raise InvalidParameterError("contact_uuid is required when contact_thirdparty is True")
    if contact_uuid is not None:
        fields["contact_uuid"] = params.uuid_param("contact_uuid", contact_uuid)
    if vasp_uuid is not None:
        fields["vasp_uuid"] = params.uuid_param("vasp_uuid", vasp_uuid)
    return fields


def _check_network_minimum(
    entry: Currency | None, network: str | None, amount: Decimal, code: str
) -> None:
    """The catalogue's per-network withdrawal minimum and status, where it lists them."""
    if entry is None:
        return
    listed = catalogue_networks(entry)
    facts: Iterable[Mapping[str, Any]]
    if network is not None:
        facts = [listed[network]] if network in listed else []
    else:
        facts = list(listed.values())[:1] if len(listed) == 1 else []
    for fact in facts:
        if isinstance(fact.get("withdrawal"), str) and fact["withdrawal"].lower() == "disabled":
            raise InvalidParameterError(
                f"withdrawals of {code!r} on {fact['network']!r} are disabled at the exchange"
            )
        minimum = fact.get("withdrawal_minimum_amount")
        if isinstance(minimum, str) and minimum:
            try:
                floor = Decimal(minimum)
            except ArithmeticError:
                continue
            if amount < floor:
                raise InvalidParameterError(
                    f"amount {amount} is below the {code!r} withdrawal minimum of {minimum}"
                )


def _withdrawal_query(
    timedelta: object, withdrawal_id: object, limit: object, offset: object
) -> dict[str, str]:
    form: dict[str, str] = {}
    if timedelta is not None:
        form["timedelta"] = str(_seconds("timedelta", timedelta, _MAX_TIMEDELTA))
    if withdrawal_id is not None:
        form["id"] = params.order_id(withdrawal_id, name="withdrawal_id")
    if limit is not None or offset is not None:
        form["limit"] = str(
            params.page_size("limit", 100 if limit is None else limit, maximum=_MAX_PAGE)
        )
        form["offset"] = str(params.offset(0 if offset is None else offset))
    return form


def _parse_page(payload: Any) -> list[WithdrawalRequest]:
    """A whole page, parsed at once (so a bad row fails the call, not the iteration)."""
    if payload.__class__ is not list:
        raise TypeError("withdrawal-requests/ must answer a list")
    return [WithdrawalRequest.from_wire(row) for row in payload]


def _convert_info(address: str) -> Callable[[Any], InstantConvertAddressInfo]:
    def parse(payload: Any) -> InstantConvertAddressInfo:
        # The spec's union does not say whether one object or a list comes back.
        if payload.__class__ is list:
            found = [InstantConvertAddressInfo.from_wire(row) for row in payload]
            matching = [row for row in found if row.address in (address, None)]
            if len(matching) != 1:
                raise ValueError(f"the answer lists {len(matching)} entries for the address")
            return matching[0]
        return InstantConvertAddressInfo.from_wire(payload)

    return parse
