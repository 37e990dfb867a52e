"""Funding on the emulated exchange: deposits, withdrawals, sub-account transfers, and
instant-convert addresses; plus the controls a test drives them with.

Written from the fact sheet (``bitstamp-api.md`` section c) and Bitstamp's OpenAPI spec
(``WithdrawalsApi``, ``DepositsApi``, ``SubAccountApi``, ``InstantConvertApi``: their models
and "possible errors" tables), never from what a client sends.

Money moves as on the exchange, and every movement is a ledger row (``user_transactions/``):

* a deposit (``FakeBitstamp.deposit``) credits the balance: type 0. A bitcoin deposit with
  no confirmations waits in ``btc_unconfirmed/`` until ``confirm_deposits``; one sent to an
  instant-convert address is sold at once on the book (a type 0 row, then the trade's);
* a withdrawal reserves its amount and fee when requested (status 0, open). The exchange
  then works on it (``advance_withdrawal``): 1 in process, 2 finished (the reservation is
  spent: a type 1 row), 3 canceled or 4 failed (the reservation is released). Only an
  open withdrawal can be cancelled (``withdrawal/cancel/``);
* a transfer between a main account and one of its sub-accounts moves the balance at once:
  a type 14 row on each side.

The emulator follows the spec where sources disagree, with a switch for the other reading
(:class:`FundingSwitches`, at ``FakeBitstamp.funding_switches``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson

from ._accounts import FakeAccount, LedgerRow
from ._errors import ApiError
from ._market_data import Currency, MarketData
from ._numbers import quantize

if TYPE_CHECKING:
    from ._earn import EarnDesk
    from ._engine import MatchingEngine
    from ._trading import OrderDesk
    from ._travel_rule import ContactBook

__all__ = [
    "DEPOSIT",
    "STAKING_CREDIT",
    "STAKING_DEBIT",
    "STAKING_REWARD",
    "SUB_ACCOUNT_TRANSFER",
    "WITHDRAWAL",
    "FundingControls",
    "FundingDesk",
    "FundingSwitches",
    "Ledger",
    "Withdrawal",
]

PrivateEndpoint = Callable[[FakeAccount, dict[str, str], Mapping[str, str]], object]

# user_transactions/ type codes (fact sheet, section c).
DEPOSIT: Final = 0
WITHDRAWAL: Final = 1
SUB_ACCOUNT_TRANSFER: Final = 14
STAKING_CREDIT: Final = 25  # credited with staked assets
STAKING_DEBIT: Final = 26  # sent assets to staking
STAKING_REWARD: Final = 27

# withdrawal-requests/ status codes (spec: WithdrawalRequestsResponse.status).
OPEN, IN_PROCESS, FINISHED, CANCELED, FAILED = 0, 1, 2, 3, 4
_STATUS_TEXT: Final = {
    OPEN: "Open",
    IN_PROCESS: "In process",
    FINISHED: "Finished",
    CANCELED: "Canceled",
    FAILED: "Failed",
}
# From one state, the states the exchange may move a withdrawal to.
_NEXT: Final = {
    OPEN: (IN_PROCESS, FINISHED, CANCELED, FAILED),
    IN_PROCESS: (FINISHED, FAILED),
}

# withdrawal-requests/ "type" per currency (spec: WithdrawalRequestsResponse.type).
_TYPE_CODES: Final = {
    "sepa": 0,
    "btc": 1,
    "international": 2,
    "xrp": 14,
    "ltc": 15,
    "eth": 16,
    "bch": 17,
    "pax": 18,
    "xlm": 19,
    "usdc": 22,
    "algo": 32,
    "usdt": 42,
    "hbar": 50,
    "ada": 56,
}

# Address lengths the exchange enforces per network (its "Ensure this value has at
# least/most N characters" errors); the values are the networks' own address formats.
_ADDRESS_LENGTHS: Final = {
    "bitcoin": (26, 90),
    "litecoin": (26, 90),
    "ethereum": (42, 42),
    "xrpl": (25, 35),
    "solana": (32, 44),
}
_DEFAULT_ADDRESS_LENGTHS: Final = (20, 128)
_TAG_NETWORKS: Final = frozenset({"xrpl"})
_MEMO_NETWORKS: Final = frozenset({"stellar", "hedera"})
_BASE58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DIGITS: Final = re.compile(r"[0-9]{1,20}")
_MAX_TIMEDELTA: Final = 50_000_000
_BANK_ACCOUNT_CURRENCIES: Final = ("USD", "EUR", "GBP")
_BANK_REQUIRED: Final = (
    "account_currency",
    "name",
    "iban",
    "bic",
    "address",
    "postal_code",
    "city",
    "country",
    "type",
)
_ADDRESS_FORMATS: Final = ("P2SHP2WSH", "BECH32")
_RIPPLE_IOU_CURRENCIES: Final = ("usd", "btc", "eur")
# Transaction ids of ledger rows this module writes: the engine gives trades ids
# ``offset + ms * 2048 + market index (+ 16 n)``; funding takes the residue no market has.
_ID_SLOTS: Final = 2048
_ID_STRIDE: Final = 16
_ID_RESIDUE: Final = 15


@dataclass
class FundingSwitches:
    """Funding behaviours the sources disagree on or leave unconfirmed.

    Each default is the spec's (or the fact sheet's) reading; flip one to test a client
    against the other, at any time: ``fake.funding_switches.bank_amount_field = "quantity"``.

    * ``error_http_status``: the spec answers funding errors as a union with the success
      model, i.e. ``{"status": "error", "reason": ...}`` with HTTP 200 (default); 400 sends
      the same body with HTTP 400.
    * ``btc_unconfirmed_shape``: ``btc_unconfirmed/`` answers a deposit address object, as
      the spec's response model says (``"address"``, default), or a list of the unconfirmed
      deposits its name and description promise (``"deposits"``; the rows' fields are not
      in any source: ``amount``, ``address``, ``confirmations``).
    * ``bank_amount_field``: ``withdrawal/open/`` reads the amount from ``amount`` (spec,
      ccxt; default) or ``quantity`` (JKorf) [CONFLICT in the fact sheet].
    * ``withdrawal_status_as_text``: ``withdrawal-requests/`` sends ``status`` as a digit
      string (the spec's union model) instead of a number (its response model; default).
    * ``withdrawal_requests_oldest_first``: the list's order, which no source gives
      (default newest first, like ``user_transactions/``).
    * ``withdrawal_requests_default_window``: seconds looked back when ``timedelta`` is not
      sent; no source gives a default (``None``, default: no limit).
    * ``travel_rule_required``: crypto withdrawals must say ``contact_thirdparty`` (and name
      a contact when it is true). The spec makes it optional and the changelog announces
      it will become mandatory; default False.
    * ``earn_write_answer``: what ``earn/subscribe/``, ``earn/unsubscribe/`` and
      ``earn/subscriptions/setting/`` answer on success. The spec says "null (empty
      response body)": ``"null"`` (default) sends the JSON ``null``; ``"object"`` sends
      ``{}``.
    * ``contacts_newest_first``: the order of ``travel_rule/contacts/`` pages, which no
      source gives (default oldest first).
    """

    error_http_status: int = 200
    btc_unconfirmed_shape: Literal["address", "deposits"] = "address"
    bank_amount_field: Literal["amount", "quantity"] = "amount"
    withdrawal_status_as_text: bool = False
    withdrawal_requests_oldest_first: bool = False
    withdrawal_requests_default_window: int | None = None
    travel_rule_required: bool = False
    earn_write_answer: Literal["null", "object"] = "null"
    contacts_newest_first: bool = False


class Ledger:
    """Writes funding's rows into accounts' ledgers, with ids and times in order."""

    def __init__(self, now_us: Callable[[], int], *, id_offset: int = 0) -> None:
        self._now_us = now_us
        self._offset = id_offset
        self._last_id = 0

    def now(self, account: FakeAccount | None = None) -> int:
        """The time of a new row: now, and never before ``account``'s last row."""
        us = self._now_us()
        if account is not None and account.ledger:
            us = max(us, account.ledger[-1].us)
        return us

    def record(
        self,
        account: FakeAccount,
        kind: int,
        amounts: Mapping[str, Decimal],
        fee: Decimal = Decimal(0),
    ) -> LedgerRow:
        us = self.now(account)
        candidate = self._offset + (us // 1000) * _ID_SLOTS + _ID_RESIDUE
        self._last_id = max(self._last_id + _ID_STRIDE, candidate)
        row = LedgerRow(self._last_id, us, kind, dict(amounts), fee)
        account.record(row)
        return row


@dataclass(eq=False)
class Withdrawal:
    """A withdrawal request: crypto, Ripple IOU, or bank (``sepa``/``international``)."""

    id: int
    account: FakeAccount
    kind: str  # "crypto", "ripple_iou", "sepa" or "international"
    currency: str  # the balance it is taken from, lower case
    amount: Decimal
    fee: Decimal
    created_us: int
    address: str | None = None
    network: str | None = None
    destination_tag: str | None = None
    memo_id: str | None = None
    payout_currency: str | None = None  # bank: the currency paid out
    status: int = OPEN
    transaction_id: str | None = None
    ledger_id: int | None = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def is_bank(self) -> bool:
        return self.kind in ("sepa", "international")


@dataclass(eq=False)
class _Deposit:
    account: FakeAccount
    currency: str
    amount: Decimal
    address: str
    confirmations: int
    us: int


@dataclass(eq=False)
class _ConvertAddress:
    account: FakeAccount
    address: str
    liquidation_currency: str  # lower case
    orders: list[dict[str, object]] = field(default_factory=list)


def _number(text: str) -> orjson.Fragment:
    """A decimal string sent as a JSON number, digit for digit."""
    return orjson.Fragment(text.encode())


def private_datetime(us: int) -> str:
    """Bitstamp's private datetime, ``"2024-01-31 12:00:00"`` (UTC, no zone)."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()


def _encode(data: bytes, alphabet: str, length: int) -> str:
    number = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        out.append(alphabet[index])
    return "".join(out)


def fake_address(network: str, *seed: object) -> str:
    """A deterministic address in the network's format (not a valid one)."""
    data = _digest(network, *seed)
    if network in ("bitcoin", "litecoin"):
        prefix = "bc1q" if network == "bitcoin" else "ltc1q"
        return prefix + _encode(data, _BECH32, 38)
    if network == "ethereum":
        return "0x" + data.hex()[:40]
    if network == "xrpl":
        return "r" + _encode(data, _BASE58, 33)
    if network == "solana":
        return _encode(data, _BASE58, 44)
    return _encode(data, _BASE58, 40)


class FundingDesk:
    """The funding endpoints and the state they share: withdrawals, deposit addresses,
    sub-accounts, instant-convert addresses."""

    def __init__(
        self,
        *,
        market_data: MarketData,
        ledger: Ledger,
        switches: FundingSwitches,
        accounts: Mapping[str, FakeAccount],
        sell_market: Callable[[FakeAccount, str, Decimal], Mapping[str, Any]] | None = None,
        seed: int = 1,
    ) -> None:
        self.market_data = market_data
        self.ledger = ledger
        self.switches = switches
        self._accounts = accounts
        self._sell_market = sell_market
        self._seed = seed
        self.withdrawals: dict[int, Withdrawal] = {}
        self._next_withdrawal_id = 9_500_001
        self._main_of: dict[int, FakeAccount] = {}  # sub-account user id -> main account
        self._subs: dict[int, dict[int, FakeAccount]] = {}  # main user id -> its subs
        self._pending: list[_Deposit] = []
        # Crypto deposits credited, for crypto-transactions/ (fiat deposits are not listed).
        self.crypto_deposits: list[_Deposit] = []
        self._convert: dict[str, _ConvertAddress] = {}
        # Filled in by the controls: travel-rule contacts and VASPs a withdrawal may name.
        self.contacts: ContactBook | None = None
        self.vasp_uuids: frozenset[str] = frozenset()

    # -- the router's map ---------------------------------------------------------------

    def handlers(self) -> dict[str, PrivateEndpoint]:
        """Route name -> handler, for every funding route."""
        return {
            "deposit_address": self.deposit_address,
            "ripple_deposit_address": self.ripple_deposit_address,
            "btc_unconfirmed": self.btc_unconfirmed,
            "withdraw": self.withdraw,
            "withdraw_ripple_iou": self.withdraw_ripple_iou,
            "withdraw_bank": self.withdraw_bank,
            "bank_withdrawal_status": self.bank_withdrawal_status,
            "cancel_withdrawal": self.cancel_withdrawal,
            "withdrawal_requests": self.withdrawal_requests,
            "crypto_transactions": self.crypto_transactions,
            "transfer_to_main": self.transfer_to_main,
            "transfer_from_main": self.transfer_from_main,
            "instant_convert_address": self.instant_convert_address,
            "new_instant_convert_address": self.new_instant_convert_address,
        }

    # -- shared -------------------------------------------------------------------------

    def refuse(self, reason: str | dict[str, list[str]]) -> ApiError:
        """A funding error: ``{"status": "error", "reason": ...}`` (see the switches)."""
        return ApiError(self.switches.error_http_status, {"status": "error", "reason": reason})

    def currency(self, code: str) -> Currency | None:
        return self.market_data.currencies.get(code.lower())

    def is_sub_account(self, account: FakeAccount) -> bool:
        return account.user_id in self._main_of

    def main_only(self, account: FakeAccount, message: str) -> None:
        if self.is_sub_account(account):
            raise self.refuse(message)

    def amount(
        self, form: Mapping[str, str], name: str, currency: Currency, *, field_error: bool = False
    ) -> Decimal:
        """A positive amount with no more places than the currency has."""
        text = form.get(name, "").strip()
        value: Decimal | None = None
        if _NUMBER.fullmatch(text):
            try:
                value = Decimal(text)
            except InvalidOperation:
                value = None
        if value is None:
            message = 'Enter a number. Use "." as a decimal point.'
            raise self.refuse({name: [message]} if field_error else message)
        if value <= 0:
            message = "Ensure this value is greater than 0."
            raise self.refuse({name: [message]} if field_error else message)
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places > currency.decimals and value != quantize(value, currency.decimals):
            message = f"Ensure that there are no more than {currency.decimals} decimal places."
            raise self.refuse({name: [message]} if field_error else message)
        return quantize(value, currency.decimals)

    def insufficient(self, account: FakeAccount, code: str) -> ApiError:
        available = account.balance(code).available
        return self.refuse(
            f"You have only {available:f} {code.upper()} available. "
            "Check your account balance for details."
        )

    # -- deposits -----------------------------------------------------------------------

    def address_of(self, account: FakeAccount, currency: Currency, network: str) -> str:
        return fake_address(network, self._seed, account.user_id, currency.code)

    def deposit_address(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``{currency}_address/``: ``{address}`` plus ``destination_tag`` (XRP) or
        ``memo_id`` (XLM, HBAR) where the network needs one."""
        currency = self.currency(match["currency"])
        if currency is None or currency.kind != "crypto" or currency.network is None:
            raise ApiError.coded("404.006", "Currency not found for corresponding request.")
        network = form.get("network") or currency.network
        if network != currency.network:
            raise self.refuse("Invalid network selection")
        answer: dict[str, object] = {"address": self.address_of(account, currency, network)}
        if network in _TAG_NETWORKS:
            answer["destination_tag"] = account.user_id % 4_000_000_000
        if network in _MEMO_NETWORKS:
            answer["memo_id"] = str(account.user_id)
        return answer

    def ripple_deposit_address(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``ripple_address/``: the account's address and tag for Ripple IOUs."""
        return {
            "address": fake_address("xrpl", self._seed, "ripple-iou"),
            "destination_tag": account.user_id % 4_000_000_000,
        }

    def btc_unconfirmed(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``btc_unconfirmed/``, in the shape ``btc_unconfirmed_shape`` says."""
        if self.switches.btc_unconfirmed_shape == "deposits":
            return [
                {
                    "amount": f"{deposit.amount:f}",
                    "address": deposit.address,
                    "confirmations": deposit.confirmations,
                }
                for deposit in self._pending
                if deposit.account is account
            ]
        bitcoin = self.currency("btc")
        assert bitcoin is not None and bitcoin.network is not None
        return {"address": self.address_of(account, bitcoin, bitcoin.network)}

    def deposit(
        self,
        account: FakeAccount,
        currency: str,
        amount: Decimal,
        *,
        network: str | None = None,
        address: str | None = None,
        confirmations: int = 6,
    ) -> LedgerRow | None:
        """Credit a deposit (see ``FakeBitstamp.deposit``). Returns its ledger row, or
        ``None`` while it waits for confirmations."""
        listed = self.currency(currency)
        if listed is None:
            raise ValueError(f"unknown currency {currency!r}")
        if network is not None and network != listed.network:
            raise ValueError(f"{currency} is not deposited on {network!r}")
        value = quantize(Decimal(amount), listed.decimals)
        if value <= 0:
            raise ValueError("a deposit is a positive amount")
        convert = None if address is None else self._convert.get(address)
        own = None if listed.network is None else self.address_of(account, listed, listed.network)
        if address is not None and convert is None and address != own:
            raise ValueError(f"{address!r} is not a deposit address of this account")
        if convert is not None and (convert.account is not account or listed.code != "btc"):
            raise ValueError("instant-convert addresses take bitcoin deposits of their owner")
        if listed.code == "btc" and confirmations < 1:
            target = address or self.address_of(account, listed, listed.network or "bitcoin")
            self._pending.append(
                _Deposit(account, "btc", value, target, confirmations, self.ledger.now())
            )
            return None
        return self._credit(account, listed.code, value, convert)

    def confirm_deposits(self, account: FakeAccount | None = None) -> list[LedgerRow]:
        """Credit every unconfirmed bitcoin deposit (of ``account``, or of everyone)."""
        rows: list[LedgerRow] = []
        waiting: list[_Deposit] = []
        for deposit in self._pending:
            if account is None or deposit.account is account:
                convert = self._convert.get(deposit.address)
                rows.append(self._credit(deposit.account, "btc", deposit.amount, convert))
            else:
                waiting.append(deposit)
        self._pending = waiting
        return rows

    def _credit(
        self, account: FakeAccount, code: str, value: Decimal, convert: _ConvertAddress | None
    ) -> LedgerRow:
        account.credit(code, value)
        row = self.ledger.record(account, DEPOSIT, {code: value})
        listed = self.currency(code)
        if listed is not None and listed.network is not None:
            address = (
                convert.address
                if convert is not None
                else self.address_of(account, listed, listed.network)
            )
            self.crypto_deposits.append(_Deposit(account, code, value, address, 0, row.us))
        if convert is not None:
            self._liquidate(convert, value)
        return row

    # -- crypto withdrawals -----------------------------------------------------------------

    def _new_withdrawal(self, **values: Any) -> Withdrawal:
        withdrawal = Withdrawal(id=self._next_withdrawal_id, **values)
        self._next_withdrawal_id += 1
        self.withdrawals[withdrawal.id] = withdrawal
        return withdrawal

    def withdraw(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``{currency}_withdrawal/``: reserve amount and fee, open a request: ``{id}``."""
        currency = self.currency(match["currency"])
        if currency is None or currency.kind != "crypto" or currency.network is None:
            raise ApiError.coded("404.006", "Currency not found for corresponding request.")
        if not form.get("amount", "").strip() or not form.get("address", "").strip():
            raise self.refuse("Missing amount and/or address POST parameters")
        amount = self.amount(form, "amount", currency)
        network = form.get("network") or currency.network
        if network != currency.network:
            raise self.refuse("Invalid network selection")
        address = form["address"]
        self._check_address(address, network)
        minimum = Decimal(currency.withdrawal_minimum)
        if amount < minimum:
            raise self.refuse(f"Ensure this value is greater than or equal to {minimum:f}.")
        tag = form.get("destination_tag") or None
        if tag is not None and (network not in _TAG_NETWORKS or not _DIGITS.fullmatch(tag)):
            raise self.refuse({"destination_tag": ["Enter a whole number."]})
        memo = form.get("memo_id") or None
        self._check_travel_rule(account, form)
        fee = quantize(Decimal(currency.withdrawal_fee), currency.decimals)
        if account.balance(currency.code).available < amount + fee:
            raise self.insufficient(account, currency.code)
        account.hold(currency.code, amount + fee)
        withdrawal = self._new_withdrawal(
            account=account,
            kind="crypto",
            currency=currency.code,
            amount=amount,
            fee=fee,
            created_us=self.ledger.now(),
            address=address,
            network=network,
            destination_tag=tag,
            memo_id=memo,
            details={k: form[k] for k in ("contact_uuid", "vasp_uuid") if form.get(k)},
        )
        return {"id": withdrawal.id}

    def _check_address(self, address: str, network: str) -> None:
        low, high = _ADDRESS_LENGTHS.get(network, _DEFAULT_ADDRESS_LENGTHS)
        if len(address) < low:
            raise self.refuse(
                f"Ensure this value has at least {low} characters (it has {len(address)})."
            )
        if len(address) > high:
            raise self.refuse(
                f"Ensure this value has at most {high} characters (it has {len(address)})."
            )

    def _check_travel_rule(self, account: FakeAccount, form: Mapping[str, str]) -> None:
        """The spec's travel-rule errors: a third party needs a contact; a named contact
        or VASP must exist."""
        flag = form.get("contact_thirdparty")
        if flag is None and self.switches.travel_rule_required:
            raise self.refuse({"contact_thirdparty": ["This field is required."]})
        third_party = flag is not None and flag.strip().lower() in ("true", "1", "yes", "on")
        contact = form.get("contact_uuid") or None
        if third_party and contact is None:
            raise self.refuse(
                {"contact_uuid": ["You must set this field because contact_thirdparty=True"]}
            )
        if contact is not None and (
            self.contacts is None or not self.contacts.has(account, contact)
        ):
            raise self.refuse("Contact does not exist")
        vasp = form.get("vasp_uuid") or None
        if vasp is not None and vasp.lower() not in self.vasp_uuids:
            raise self.refuse("Vasp does not exist")

    def withdraw_ripple_iou(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``ripple_withdrawal/``: a USD, BTC or EUR IOU on the XRP Ledger: ``{id}``."""
        if not form.get("amount", "").strip() or not form.get("address", "").strip():
            raise self.refuse("Missing amount and/or address POST parameters")
        code = form.get("currency", "").lower()
        currency = self.currency(code)
        if currency is None or code not in _RIPPLE_IOU_CURRENCIES:
            raise self.refuse(
                {
                    "currency": [
                        f"Select a valid choice. {form.get('currency', '')} is not "
                        "one of the available choices."
                    ]
                }
            )
        amount = self.amount(form, "amount", currency)
        self._check_address(form["address"], "xrpl")
        if account.balance(code).available < amount:
            raise self.insufficient(account, code)
        account.hold(code, amount)
        withdrawal = self._new_withdrawal(
            account=account,
            kind="ripple_iou",
            currency=code,
            amount=amount,
            fee=Decimal(0),
            created_us=self.ledger.now(),
            address=form["address"],
            network="xrpl",
        )
        return {"id": withdrawal.id}

    # -- bank withdrawals -----------------------------------------------------------------

    def withdraw_bank(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``withdrawal/open/``: a SEPA or international bank withdrawal:
        ``{withdrawal_id}``."""
        self.main_only(
            account, "Opening bank withdrawals with sub account API keys is not supported."
        )
        amount_field = self.switches.bank_amount_field
        missing = [name for name in (amount_field, *_BANK_REQUIRED) if not form.get(name)]
        if missing:
            raise self.refuse({name: ["This field is required."] for name in missing})
        kind = form["type"]
        if kind not in ("sepa", "international"):
            raise self.refuse("Unsupported withdrawal type (must be either SEPA or international).")
        balance = form["account_currency"]
        currency = self.currency(balance)
        if balance not in _BANK_ACCOUNT_CURRENCIES or currency is None:
            raise self.refuse(
                {
                    "account_currency": [
                        f"Select a valid choice. {balance} is not one of the available choices."
                    ]
                }
            )
        amount = self.amount(form, amount_field, currency, field_error=True)
        if account.balance(currency.code).available < amount:
            raise self.insufficient(account, currency.code)
        account.hold(currency.code, amount)
        withdrawal = self._new_withdrawal(
            account=account,
            kind=kind,
            currency=currency.code,
            amount=amount,
            fee=Decimal(0),
            created_us=self.ledger.now(),
            payout_currency=(form.get("currency") or balance).lower(),
            details={k: v for k, v in form.items() if k not in (amount_field, "type")},
        )
        return {"withdrawal_id": withdrawal.id}

    def _bank_withdrawal(self, account: FakeAccount, form: Mapping[str, str]) -> Withdrawal | None:
        text = form.get("id", "")
        if not _DIGITS.fullmatch(text):
            return None
        found = self.withdrawals.get(int(text))
        return found if found is not None and found.account is account else None

    def bank_withdrawal_status(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``withdrawal/status/``: ``{status}`` of a bank withdrawal, as text."""
        self.main_only(
            account,
            "Performing bank withdrawal status checks with sub account API keys is not supported.",
        )
        if not form.get("id"):
            raise self.refuse("Missing parameters: [id].")
        found = self._bank_withdrawal(account, form)
        if found is None or not found.is_bank:
            raise self.refuse(f"No bank withdrawal with id={form['id']} found.")
        return {"status": _STATUS_TEXT[found.status]}

    def cancel_withdrawal(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``withdrawal/cancel/``: cancel an open bank or crypto withdrawal; releases its
        reservation."""
        self.main_only(
            account, "Cancelling bank withdrawals with sub account API keys is not supported."
        )
        if not form.get("id"):
            raise self.refuse("Missing parameters: [id].")
        found = self._bank_withdrawal(account, form)
        if found is None or found.status not in (OPEN, IN_PROCESS):
            # The spec: "Will return the same response for already cancelled withdrawal
            # requests."
            raise self.refuse(f"No active bank withdrawal with id={form['id']} found.")
        if found.status == IN_PROCESS:
            raise self.refuse(f"Cannot cancel a withdrawal in process (id={found.id}).")
        self.advance(found, CANCELED)
        decimals = found.account.decimals(found.currency)
        return {
            "id": str(found.id),
            "amount": _number(f"{quantize(found.amount, decimals):f}"),
            "currency": (found.payout_currency or found.currency).upper(),
            "account_currency": found.currency.upper(),
            "type": found.kind,
        }

    def advance(
        self, withdrawal: Withdrawal, status: int, transaction_id: str | None = None
    ) -> None:
        """Move a withdrawal on, as the exchange works on it; money moves with it."""
        allowed = _NEXT.get(withdrawal.status, ())
        if status not in allowed:
            raise ValueError(
                f"withdrawal {withdrawal.id} cannot go from status {withdrawal.status} to {status}"
            )
        account, code = withdrawal.account, withdrawal.currency
        held = withdrawal.amount + withdrawal.fee
        if status in (CANCELED, FAILED):
            account.hold(code, -held)
        elif status == FINISHED:
            account.hold(code, -held)
            account.credit(code, -held)
            row = self.ledger.record(
                account, WITHDRAWAL, {code: -withdrawal.amount}, withdrawal.fee
            )
            withdrawal.ledger_id = row.id
            if withdrawal.kind in ("crypto", "ripple_iou"):
                withdrawal.transaction_id = transaction_id or _digest("tx", withdrawal.id).hex()
        withdrawal.status = status

    # -- withdrawal history -------------------------------------------------------------

    def withdrawal_requests(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``withdrawal-requests/``: the account's withdrawals, paged by offset."""
        window = self.switches.withdrawal_requests_default_window
        text = form.get("timedelta")
        if text is not None:
            if not text.isdigit():
                raise self.refuse("Invalid timedelta")
            if int(text) > _MAX_TIMEDELTA:
                raise self.refuse("Timedelta too large")
            window = int(text)
        ident = form.get("id")
        if ident is not None and not ident.isdigit():
            raise self.refuse("Invalid id")
        if ("limit" in form) != ("offset" in form):
            raise self.refuse("Both limit and offset must be present")
        offset, limit = 0, 1000
        if "offset" in form:
            if not form["offset"].isdigit() or int(form["offset"]) > 200_000:
                raise self.refuse("Invalid offset")
            if not form["limit"].isdigit() or not 1 <= int(form["limit"]) <= 1000:
                raise self.refuse("Invalid limit")
            offset, limit = int(form["offset"]), int(form["limit"])
        now = self.ledger.now()
        rows = [
            w
            for w in self.withdrawals.values()
            if w.account is account
            and (window is None or w.created_us >= now - window * 1_000_000)
            and (ident is None or w.id == int(ident))
        ]
        rows.sort(key=lambda w: w.id, reverse=not self.switches.withdrawal_requests_oldest_first)
        return [self._request_row(w) for w in rows[offset : offset + limit]]

    def crypto_transactions(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``crypto-transactions/``: the account's crypto deposits and withdrawals (and,
        with ``include_ious``, Ripple IOU ones), newest first; ``limit`` (1-1000, default
        100) and ``offset`` (0-200000) apply to each list (spec: CryptoTransactionsRequest,
        CryptoTransaction; fact sheet, section c)."""
        offset, limit = 0, 100
        if "offset" in form:
            if not form["offset"].isdigit() or int(form["offset"]) > 200_000:
                raise self.refuse("Invalid offset")
            offset = int(form["offset"])
        if "limit" in form:
            if not form["limit"].isdigit() or not 1 <= int(form["limit"]) <= 1000:
                raise self.refuse("Invalid limit")
            limit = int(form["limit"])
        ious = form.get("include_ious", "").lower() in ("true", "1")

        def page(rows: list[dict[str, object]]) -> list[dict[str, object]]:
            rows.sort(key=lambda row: row["datetime"], reverse=True)  # type: ignore[arg-type, return-value]
            return rows[offset : offset + limit]

        deposits = [
            {
                "currency": deposit.currency.upper(),
                "destinationAddress": deposit.address,
                "txid": _digest("deposit-tx", deposit.address, deposit.us).hex(),
                "amount": _number(f"{deposit.amount:f}"),
                "datetime": deposit.us // 1_000_000,
                "network": getattr(self.currency(deposit.currency), "network", None),
            }
            for deposit in self.crypto_deposits
            if deposit.account is account
        ]
        sent = [w for w in self.withdrawals.values() if w.account is account]

        def row(withdrawal: Withdrawal) -> dict[str, object]:
            return {
                "currency": withdrawal.currency.upper(),
                "destinationAddress": withdrawal.address,
                "txid": withdrawal.transaction_id or "",
                "amount": _number(f"{withdrawal.amount:f}"),
                "datetime": withdrawal.created_us // 1_000_000,
                "network": withdrawal.network,
            }

        answer: dict[str, object] = {
            "deposits": page(deposits),
            "withdrawals": page([row(w) for w in sent if w.kind == "crypto"]),
        }
        if ious:
            answer["ripple_iou_transactions"] = page(
                [row(w) for w in sent if w.kind == "ripple_iou"]
            )
        return answer

    def _request_row(self, withdrawal: Withdrawal) -> dict[str, object]:
        address = withdrawal.address
        if address is not None and withdrawal.destination_tag is not None:
            address = f"{address}?dt={withdrawal.destination_tag}"  # as the fact sheet shows
        status: object = withdrawal.status
        decimals = withdrawal.account.decimals(withdrawal.currency)
        if self.switches.withdrawal_status_as_text:
            status = str(withdrawal.status)
        row: dict[str, object] = {
            "id": withdrawal.id,
            "datetime": private_datetime(withdrawal.created_us),
            "currency": withdrawal.currency.upper(),
            "amount": f"{quantize(withdrawal.amount, decimals):f}",
            "status": status,
        }
        code = _TYPE_CODES.get(withdrawal.kind if withdrawal.is_bank else withdrawal.currency)
        if code is not None and withdrawal.kind != "ripple_iou":
            row["type"] = code
        if address is not None:
            row["address"] = address
        if withdrawal.network is not None:
            row["network"] = withdrawal.network
        if withdrawal.transaction_id is not None:
            row["transaction_id"] = withdrawal.transaction_id
        if withdrawal.ledger_id is not None:
            row["txid"] = withdrawal.ledger_id
        return row

    # -- sub-accounts -----------------------------------------------------------------

    def link(self, main: FakeAccount, sub: FakeAccount) -> None:
        """Make ``sub`` a sub-account of ``main``; its id is its user id."""
        if self.is_sub_account(main):
            raise ValueError("a sub-account cannot have sub-accounts")
        if sub.user_id in self._main_of or sub.user_id in self._subs:
            raise ValueError("that account is already linked")
        self._main_of[sub.user_id] = main
        self._subs.setdefault(main.user_id, {})[sub.user_id] = sub

    def _sub(self, main: FakeAccount, form: Mapping[str, str]) -> FakeAccount:
        text = form.get("subAccount", "")
        if not text:
            raise self.refuse({"subAccount": ["This field is required."]})
        sub = self._subs.get(main.user_id, {}).get(int(text)) if text.isdigit() else None
        if sub is None:
            raise self.refuse(f'Sub account with identifier "{text}" does not exist.')
        return sub

    def _transfer_currency(self, form: Mapping[str, str]) -> Currency:
        text = form.get("currency", "")
        currency = self.currency(text) if text else None
        if currency is None:
            raise self.refuse(f"Select a valid choice. {text} is not one of the available choices.")
        return currency

    def transfer_from_main(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``transfer-from-main/``: main account -> ``subAccount``: ``{"status": "ok"}``."""
        if self.is_sub_account(account):
            raise self.refuse("This call can only be performed by your main account.")
        currency = self._transfer_currency(form)
        amount = self.amount(form, "amount", currency, field_error=True)
        sub = self._sub(account, form)
        return self._move(account, sub, currency, amount)

    def transfer_to_main(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``transfer-to-main/``: a sub-account -> its main account. With the main key,
        ``subAccount`` names the sub-account; with a sub-account's key it is ignored."""
        currency = self._transfer_currency(form)
        amount = self.amount(form, "amount", currency, field_error=True)
        main = self._main_of.get(account.user_id)
        if main is not None:
            return self._move(account, main, currency, amount)
        return self._move(self._sub(account, form), account, currency, amount)

    def _move(
        self, source: FakeAccount, target: FakeAccount, currency: Currency, amount: Decimal
    ) -> object:
        if source.balance(currency.code).available < amount:
            raise self.insufficient(source, currency.code)
        source.credit(currency.code, -amount)
        target.credit(currency.code, amount)
        self.ledger.record(source, SUB_ACCOUNT_TRANSFER, {currency.code: -amount})
        self.ledger.record(target, SUB_ACCOUNT_TRANSFER, {currency.code: amount})
        return {"status": "ok"}

    # -- instant convert --------------------------------------------------------------

    def new_instant_convert_address(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``instant_convert_address/new/``: a bitcoin address whose deposits are sold for
        ``liquidation_currency``: ``{address}``."""
        text = form.get("liquidation_currency", "")
        if not text:
            raise self.refuse("Missing liquidation_currency parameter.")
        currency = self.currency(text)
        if (
            currency is None
            or currency.kind != "fiat"
            or f"btc{currency.code}" not in self.market_data.markets
        ):
            raise self.refuse(f"Currency {text} not supported.")
        address_format = form.get("address_format") or "BECH32"
        if address_format not in _ADDRESS_FORMATS:
            raise self.refuse("Invalid address format.")
        count = sum(1 for c in self._convert.values() if c.account is account)
        if address_format == "BECH32":
            address = fake_address("bitcoin", self._seed, "convert", account.user_id, count)
        else:
            address = "3" + _encode(
                _digest("p2sh", self._seed, account.user_id, count), _BASE58, 33
            )
        self._convert[address] = _ConvertAddress(account, address, currency.code)
        return {"address": address}

    def instant_convert_address(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``instant_convert_address/info/``: the address and its conversions."""
        found = self._convert.get(form.get("address", ""))
        if found is None or found.account is not account:
            raise self.refuse("Address not found.")
        return {
            "address": found.address,
            "currency_pair": f"BTC/{found.liquidation_currency.upper()}",
            "transactions": found.orders,
        }

    def _liquidate(self, convert: _ConvertAddress, amount: Decimal) -> None:
        """Sell a deposit to a convert address at once, on the book, as a market order."""
        if self._sell_market is None:
            return
        symbol = f"btc{convert.liquidation_currency}"
        order = self._sell_market(convert.account, symbol, amount)
        trades = [
            {
                "btc_amount": f"{fill['amount']:f}",
                "exchange_rate": f"{fill['price']:f}",
                "fees": f"{fill['fee']:f}",
            }
            for fill in order["fills"]
        ]
        convert.orders.append({"order_id": order["id"], "count": len(trades), "trades": trades})

    def iter_withdrawals(self, account: FakeAccount) -> Iterator[Withdrawal]:
        return (w for w in self.withdrawals.values() if w.account is account)


class FundingControls:
    """What ``FakeBitstamp`` offers a test to drive funding, earn and the travel rule.

    Mixed into ``FakeBitstamp``; it reads the emulator's accounts, catalogue, engine and
    order desk, and serves the funding, earn and travel-rule routes of the route table.
    """

    # Set by FakeBitstamp.__init__ (read here only).
    _accounts: dict[str, FakeAccount]
    _market_data: MarketData
    _engine: MatchingEngine
    _desk: OrderDesk

    _funding_state: tuple[FundingDesk, EarnDesk, ContactBook] | None = None

    @property
    def funding_switches(self) -> FundingSwitches:
        """The switches of funding, earn and the travel rule (set them at any time)."""
        return self._funding_parts()[0].switches

    def _funding_parts(self) -> tuple[FundingDesk, EarnDesk, ContactBook]:
        parts = self._funding_state
        if parts is None:
            parts = self._funding_state = self._build_funding()
        return parts

    def _build_funding(self) -> tuple[FundingDesk, EarnDesk, ContactBook]:
        from ._earn import EarnDesk
        from ._travel_rule import ContactBook

        switches = FundingSwitches()
        engine = self._engine
        # The engine's id offset (high ids) and seed, so funding's ids and addresses follow
        # them; read, never changed.
        ledger = Ledger(lambda: engine.now_us, id_offset=int(getattr(engine, "_id_offset", 0)))
        seed = int(getattr(engine, "_seed", 1))
        funding = FundingDesk(
            market_data=self._market_data,
            ledger=ledger,
            switches=switches,
            accounts=self._accounts,
            sell_market=self._sell_for_convert,
            seed=seed,
        )
        contacts = ContactBook(switches=switches, seed=seed)
        funding.contacts = contacts
        funding.vasp_uuids = frozenset(_vasp_uuids(self._market_data))
        earn = EarnDesk(market_data=self._market_data, ledger=ledger, switches=switches)
        return funding, earn, contacts

    def _funding_handlers(self) -> dict[str, PrivateEndpoint]:
        """Route name -> handler of every funding, earn and travel-rule route."""
        funding, earn, contacts = self._funding_parts()
        return {**funding.handlers(), **earn.handlers(), **contacts.handlers()}

    def _sell_for_convert(
        self, account: FakeAccount, symbol: str, amount: Decimal
    ) -> Mapping[str, Any]:
        market = self._market_data.markets[symbol]
        placed = self._desk.place_market(account, market, 1, {"amount": f"{amount:f}"})
        order = account.orders[int(str(placed["id"]))]
        fills = [
            {
                "amount": quantize(Decimal(fill.amount).scaleb(-market.base_decimals), 8),
                "price": Decimal(fill.price).scaleb(-market.counter_decimals),
                "fee": fill.fee,
            }
            for fill in order.fills
        ]
        return {"id": order.id, "fills": fills}

    def _catch_up_funding(self) -> None:
        catch_up = getattr(self, "_catch_up", None)
        if catch_up is not None:
            catch_up()

    def _funding_account(self, account: FakeAccount | str) -> FakeAccount:
        if isinstance(account, FakeAccount):
            return account
        try:
            return self._accounts[account]
        except KeyError:
            raise ValueError(f"no account with API key {account!r}") from None

    # -- deposits -----------------------------------------------------------------------

    def deposit(
        self,
        account: FakeAccount | str,
        currency: str,
        amount: Decimal | str | int,
        *,
        network: str | None = None,
        address: str | None = None,
        confirmations: int = 6,
    ) -> LedgerRow | None:
        """Credit a deposit of ``amount`` ``currency`` to ``account`` (or its API key).

        It shows in the balance and in ``user_transactions/`` as type 0. A bitcoin deposit
        with ``confirmations=0`` waits in ``btc_unconfirmed/`` until
        :meth:`confirm_deposits`. ``address`` may name one of the account's
        instant-convert addresses: the deposit is then sold at once for its currency.
        """
        self._catch_up_funding()
        funding = self._funding_parts()[0]
        return funding.deposit(
            self._funding_account(account),
            currency,
            Decimal(amount),
            network=network,
            address=address,
            confirmations=confirmations,
        )

    def confirm_deposits(self, account: FakeAccount | str | None = None) -> list[LedgerRow]:
        """Credit the unconfirmed bitcoin deposits (of ``account``, or everyone's)."""
        self._catch_up_funding()
        owner = None if account is None else self._funding_account(account)
        return self._funding_parts()[0].confirm_deposits(owner)

    # -- withdrawals --------------------------------------------------------------------

    def withdrawal(self, withdrawal_id: int | str) -> Withdrawal:
        """A withdrawal request by id (crypto, Ripple IOU or bank)."""
        return self._funding_parts()[0].withdrawals[int(withdrawal_id)]

    def advance_withdrawal(
        self,
        withdrawal_id: int | str,
        status: Literal["in_process", "finished", "canceled", "failed"],
        *,
        transaction_id: str | None = None,
    ) -> Withdrawal:
        """Move a withdrawal on as the exchange would: ``"in_process"`` (1), then
        ``"finished"`` (2: the reserved amount and fee leave the balance, a type 1 row),
        or ``"canceled"``/``"failed"`` (3/4: the reservation is released)."""
        self._catch_up_funding()
        codes = {
            "in_process": IN_PROCESS,
            "finished": FINISHED,
            "canceled": CANCELED,
            "failed": FAILED,
        }
        if status not in codes:
            raise ValueError(f"status must be one of {sorted(codes)}")
        withdrawal = self.withdrawal(withdrawal_id)
        self._funding_parts()[0].advance(withdrawal, codes[status], transaction_id)
        return withdrawal

    # -- sub-accounts -------------------------------------------------------------------

    def add_sub_account(
        self,
        main: FakeAccount | str,
        api_key: str,
        api_secret: str,
        balances: Mapping[str, Decimal | str | int] | None = None,
        **options: Any,
    ) -> FakeAccount:
        """Register a sub-account of ``main`` with its own key; its id (``subAccount``) is
        its ``user_id``. Other options are ``add_account``'s."""
        owner = self._funding_account(main)
        sub: FakeAccount = self.add_account(api_key, api_secret, balances, **options)  # type: ignore[attr-defined]
        self._funding_parts()[0].link(owner, sub)
        return sub

    # -- earn ---------------------------------------------------------------------------

    def earn_reward(
        self, account: FakeAccount | str, currency: str, amount: Decimal | str | int
    ) -> LedgerRow:
        """Pay a staking or lending reward: credited to the balance (type 27) and listed
        in ``earn/transactions/`` as ``REWARD_RECEIVED``."""
        self._catch_up_funding()
        return self._funding_parts()[1].reward(
            self._funding_account(account), currency, Decimal(amount)
        )


def _vasp_uuids(market_data: MarketData) -> Iterator[str]:
    page = 1
    while True:
        payload = market_data.vasps_payload(page, 1000)
        rows = payload["data"]
        assert isinstance(rows, list)
        for row in rows:
            yield str(row["uuid"]).lower()
        if len(rows) < 1000:
            return
        page += 1
