"""Funding: deposit addresses, withdrawals (crypto, Ripple IOU, bank), their history,
and instant-convert addresses.

Field names and types follow Bitstamp's OpenAPI spec (``DepositAddressResponse``,
``WithdrawalRequestsResponse``, ``CancelBankWithdrawalResponse``, ...). Where the spec calls
a value a ``Number`` the exchange may still send a numeric string, so both are read; ids
are kept as ``str`` whatever their wire type. Every model keeps the decoded object in
``raw`` (left out of ``==`` and ``repr``), so a field the spec does not list is not lost.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import _wire as wire

__all__ = [
    "BankWithdrawalStatus",
    "CanceledWithdrawal",
    "ConvertOrder",
    "ConvertTrade",
    "DepositAddress",
    "InstantConvertAddressInfo",
    "UnconfirmedBtc",
    "UnconfirmedDeposit",
    "WithdrawalCancelOutcome",
    "WithdrawalPlaced",
    "WithdrawalRequest",
    "WithdrawalStatus",
]

# An XRP withdrawal's destination tag travels inside its address (fact sheet, section i).
_TAG_IN_ADDRESS = re.compile(r"\?dt=([0-9]{1,10})\Z")


def _count(value: Any) -> int:
    """A whole number sent as a JSON integer or as ASCII digits (never a float or bool)."""
    if value.__class__ is int:
        return value
    if value.__class__ is str and value.isascii() and value.isdigit():
        return int(value)
    raise TypeError(f"expected a whole number, got {type(value).__name__}")


def _optional_count(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return _count(value)


def _text(value: Any) -> str:
    if value.__class__ is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _text(value)


def _object(cls: type[Any], obj: Any) -> Mapping[str, Any]:
    if obj.__class__ is not dict:
        wire.malformed(cls, TypeError(f"expected an object, got {type(obj).__name__}"))
    return obj


class WithdrawalStatus(enum.Enum):
    """``status`` of a withdrawal request (``withdrawal-requests/``).

    The spec lists 0 open, 1 in process, 2 finished, 3 canceled, 4 failed and 11 reversed.

    >>> WithdrawalStatus.from_wire("2")
    <WithdrawalStatus.FINISHED: 2>
    """

    OPEN = 0
    IN_PROCESS = 1
    FINISHED = 2
    CANCELED = 3
    FAILED = 4
    REVERSED = 11

    @classmethod
    def from_wire(cls, value: Any) -> WithdrawalStatus:
        """Parse the code, sent as a number or a digit string."""
        try:
            return cls(_count(value))
        except (TypeError, ValueError) as exc:
            wire.malformed(cls, exc)

    @property
    def is_final(self) -> bool:
        """True once the withdrawal can no longer change (finished, canceled, failed,
        reversed)."""
        return self not in (WithdrawalStatus.OPEN, WithdrawalStatus.IN_PROCESS)


class WithdrawalCancelOutcome(enum.Enum):
    """How ``cancel_withdrawal`` ended."""

    CANCELED = "canceled"  # the exchange answered that it cancelled the withdrawal
    # An earlier attempt of the same call cancelled it and its answer was lost; the
    # withdrawal list confirmed it canceled.
    CANCELED_BY_RETRY = "canceled_by_retry"


@dataclass(frozen=True, slots=True, kw_only=True)
class DepositAddress:
    """``{currency}_address/`` and ``ripple_address/``: where to send a deposit.

    ``memo_id`` is set for networks that need one (XLM, HBAR), ``destination_tag`` for XRP
    and Ripple IOUs, ``transfer_id`` for CSPR; each is ``None`` when absent. A deposit
    without the memo, tag or transfer id the address came with may be lost.
    """

    address: str
    memo_id: str | None = None
    destination_tag: int | None = None
    transfer_id: int | None = None
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> DepositAddress:
        """Parse ``{address, memo_id?, destination_tag?, transfer_id?}``."""
        payload = _object(cls, obj)
        try:
            memo = payload.get("memo_id")
            return cls(
                address=_text(payload["address"]),
                # A memo is text in the spec; a numeric one is kept digit for digit.
                memo_id=str(memo) if memo.__class__ is int else _optional_text(memo),
                destination_tag=_optional_count(payload.get("destination_tag")),
                transfer_id=_optional_count(payload.get("transfer_id")),
                raw=wire.frozen_raw(payload),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnconfirmedDeposit:
    """One unconfirmed bitcoin deposit. The row's fields are not in any source read
    (``amount``, ``address`` and ``confirmations`` are read when present); the whole row
    is kept in ``raw``."""

    amount: Decimal | None = None
    address: str | None = None
    confirmations: int | None = None
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> UnconfirmedDeposit:
        """Parse one row; every field is optional."""
        payload = _object(cls, obj)
        try:
            return cls(
                amount=wire.optional_decimal(payload.get("amount")),
                address=_optional_text(payload.get("address")),
                confirmations=_optional_count(payload.get("confirmations")),
                raw=wire.frozen_raw(payload),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnconfirmedBtc:
    """``btc_unconfirmed/``. Sources disagree on its shape: the spec answers a deposit
    address object (``address`` is set), while the endpoint's name and description say a
    list of unconfirmed deposits (``deposits`` is filled). Both are read."""

    deposits: tuple[UnconfirmedDeposit, ...] = ()
    address: DepositAddress | None = None

    @classmethod
    def from_wire(cls, obj: Any) -> UnconfirmedBtc:
        """Parse a list of deposits, an object with a ``deposits`` list, or an address."""
        if obj.__class__ is list:
            return cls(deposits=tuple(UnconfirmedDeposit.from_wire(row) for row in obj))
        payload = _object(cls, obj)
        rows = payload.get("deposits")
        if rows is not None:
            if rows.__class__ is not list:
                wire.malformed(cls, TypeError("'deposits' must be a list"))
            return cls(deposits=tuple(UnconfirmedDeposit.from_wire(row) for row in rows))
        if "address" not in payload:
            # An empty object: nothing unconfirmed.
            if payload:
                wire.malformed(cls, KeyError("address"))
            return cls()
        return cls(address=DepositAddress.from_wire(payload))


@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawalPlaced:
    """The answer to a withdrawal request: the new withdrawal's id.

    Crypto and Ripple IOU withdrawals answer ``{"id": ...}``, bank withdrawals
    ``{"withdrawal_id": ...}``; both end up in ``id``. Follow it with
    ``withdrawal_requests(id=...)``.
    """

    id: str
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> WithdrawalPlaced:
        """Parse ``{id}`` or ``{withdrawal_id}``."""
        payload = _object(cls, obj)
        try:
            key = "id" if "id" in payload else "withdrawal_id"
            return cls(id=wire.identifier(payload[key]), raw=wire.frozen_raw(payload))
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawalRequest:
    """One row of ``withdrawal-requests/``.

    ``kind`` is the wire's ``type`` code (0 SEPA, 1 BTC, 2 wire transfer, 14 XRP, 16 ETH,
    ...: one per currency in the spec). ``address`` is as sent; for XRP it may end in
    ``?dt=<tag>``, which is also given as ``destination_tag``. ``transaction_id`` is the
    blockchain transaction (crypto only), ``txid`` Bitstamp's own transaction id.
    """

    id: str
    created_at: datetime | None
    kind: int | None
    currency: str | None
    amount: Decimal
    status: WithdrawalStatus
    address: str | None = None
    destination_tag: int | None = None
    network: str | None = None
    transaction_id: str | None = None
    txid: str | None = None
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> WithdrawalRequest:
        """Parse one row; ``id``, ``amount`` and ``status`` are required."""
        payload = _object(cls, obj)
        try:
            address = _optional_text(payload.get("address"))
            tag = _TAG_IN_ADDRESS.search(address) if address is not None else None
            return cls(
                id=wire.identifier(payload["id"]),
                created_at=wire.optional_utc_datetime(payload.get("datetime")),
                kind=_optional_count(payload.get("type")),
                currency=_optional_text(payload.get("currency")),
                amount=wire.decimal(payload["amount"]),
                status=WithdrawalStatus.from_wire(payload["status"]),
                address=address,
                destination_tag=int(tag[1]) if tag is not None else None,
                network=_optional_text(payload.get("network")),
                transaction_id=_optional_text(payload.get("transaction_id")),
                txid=wire.optional_identifier(payload.get("txid")),
                raw=wire.frozen_raw(payload),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class CanceledWithdrawal:
    """The answer to ``withdrawal/cancel/`` (``CancelBankWithdrawalResponse``).

    ``account_currency`` is the balance the withdrawal was taken from, ``currency`` the one
    it was paid out in, ``kind`` the wire's ``type`` (e.g. ``"sepa"``). ``outcome`` says
    whether this call's own answer confirmed the cancel or a look-up did after a lost
    answer (then only ``id``, ``amount`` and ``currency`` are known).
    """

    id: str
    amount: Decimal | None = None
    currency: str | None = None
    account_currency: str | None = None
    kind: str | None = None
    outcome: WithdrawalCancelOutcome = WithdrawalCancelOutcome.CANCELED
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> CanceledWithdrawal:
        """Parse ``{id, amount, currency, account_currency, type}``; only ``id`` is
        required."""
        payload = _object(cls, obj)
        try:
            kind = payload.get("type")
            return cls(
                id=wire.identifier(payload["id"]),
                amount=wire.optional_decimal(payload.get("amount")),
                currency=_optional_text(payload.get("currency")),
                account_currency=_optional_text(payload.get("account_currency")),
                kind=str(kind) if kind.__class__ is int else _optional_text(kind),
                raw=wire.frozen_raw(payload),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)

    @classmethod
    def from_request(cls, row: WithdrawalRequest) -> CanceledWithdrawal:
        """The cancel a withdrawal-list look-up confirmed after an ambiguous failure."""
        return cls(
            id=row.id,
            amount=row.amount,
            currency=row.currency,
            outcome=WithdrawalCancelOutcome.CANCELED_BY_RETRY,
            raw=row.raw,
        )


# The spec types the bank withdrawal status as free text; these are the spellings of the
# withdrawal-request states it documents, matched without regard to case, "_" or "-".
_STATE_BY_TEXT = {
    "open": WithdrawalStatus.OPEN,
    "inprocess": WithdrawalStatus.IN_PROCESS,
    "finished": WithdrawalStatus.FINISHED,
    "canceled": WithdrawalStatus.CANCELED,
    "cancelled": WithdrawalStatus.CANCELED,
    "failed": WithdrawalStatus.FAILED,
    "reversed": WithdrawalStatus.REVERSED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BankWithdrawalStatus:
    """``withdrawal/status/``: the status of a bank withdrawal, as the exchange words it.

    ``state`` reads that text as a :class:`WithdrawalStatus` when it is one of the
    documented states (``"Open"``, ``"in process"``, ``"2"``, ...), else ``None``.
    """

    status: str
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> BankWithdrawalStatus:
        """Parse ``{status}`` (text; a numeric code is kept as its digits)."""
        payload = _object(cls, obj)
        try:
            status = payload["status"]
            text = str(status) if status.__class__ is int else _text(status)
            return cls(status=text, raw=wire.frozen_raw(payload))
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)

    @property
    def state(self) -> WithdrawalStatus | None:
        text = self.status.strip()
        if text.isascii() and text.isdigit():
            try:
                return WithdrawalStatus(int(text))
            except ValueError:
                return None
        key = text.lower().replace(" ", "").replace("_", "").replace("-", "")
        return _STATE_BY_TEXT.get(key)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvertTrade:
    """One trade that converted deposited bitcoin (spec ``Trade``)."""

    btc_amount: Decimal | None = None
    exchange_rate: Decimal | None = None
    fees: Decimal | None = None

    @classmethod
    def from_wire(cls, obj: Any) -> ConvertTrade:
        payload = _object(cls, obj)
        try:
            return cls(
                btc_amount=wire.optional_decimal(payload.get("btc_amount")),
                exchange_rate=wire.optional_decimal(payload.get("exchange_rate")),
                fees=wire.optional_decimal(payload.get("fees")),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvertOrder:
    """One conversion order of an instant-convert address (spec ``Transaction``)."""

    order_id: str | None = None
    count: int | None = None
    trades: tuple[ConvertTrade, ...] = ()

    @classmethod
    def from_wire(cls, obj: Any) -> ConvertOrder:
        payload = _object(cls, obj)
        try:
            trades = payload.get("trades")
            if trades is None:
                trades = []
            if trades.__class__ is not list:
                raise TypeError("'trades' must be a list")
            return cls(
                order_id=wire.optional_identifier(payload.get("order_id")),
                count=_optional_count(payload.get("count")),
                trades=tuple(ConvertTrade.from_wire(trade) for trade in trades),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class InstantConvertAddressInfo:
    """``instant_convert_address/info/``: an address whose deposits are sold at once for
    a fiat currency, and the conversions made so far. ``currency_pair`` is the market
    the deposits are sold on."""

    address: str | None = None
    currency_pair: str | None = None
    transactions: tuple[ConvertOrder, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> InstantConvertAddressInfo:
        """Parse ``{address, currency_pair, transactions: [...]}``."""
        payload = _object(cls, obj)
        try:
            transactions = payload.get("transactions")
            if transactions is None:
                transactions = []
            if transactions.__class__ is not list:
                raise TypeError("'transactions' must be a list")
            return cls(
                address=_optional_text(payload.get("address")),
                currency_pair=_optional_text(payload.get("currency_pair")),
                transactions=tuple(ConvertOrder.from_wire(row) for row in transactions),
                raw=wire.frozen_raw(payload),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)
