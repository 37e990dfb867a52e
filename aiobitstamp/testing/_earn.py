"""Earn on the emulated exchange: staking and lending products, subscriptions, rewards.

Written from Bitstamp's OpenAPI spec (``EarnApi``: its schemas and its tables of API5xxx
answers) and the fact sheet's user-transaction codes. A subscription takes the amount out
of the balance (``user_transactions/`` type 26, "sent assets to staking"); unsubscribing
gives it back (type 25, "credited with staked assets"); a reward, paid by the test with
``FakeBitstamp.earn_reward``, is credited to the balance (type 27). Each is also an event
of ``earn/transactions/``.

Opting in to staking (``earn/subscriptions/setting/``) stakes the whole available balance
of the currency; opting out stops that and moves nothing. The spec says only that the
setting exists ("opt in, opt out") and that it is for staking; these semantics are the
emulator's.

Business errors answer HTTP 400 with the spec's ``ErrorSchema`` body, ``{"code": "API5001",
"field": "amount", "message": "Earn request amount too low."}``; malformed fields answer
``400.001`` with the field's message, as the emulator's other endpoints do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final

import orjson

from ._accounts import FakeAccount, LedgerRow
from ._errors import ApiError
from ._funding import (
    STAKING_CREDIT,
    STAKING_DEBIT,
    STAKING_REWARD,
    FundingSwitches,
    Ledger,
)
from ._market_data import Currency, MarketData
from ._numbers import quantize

__all__ = ["PRODUCTS", "EarnDesk", "EarnProduct"]

PrivateEndpoint = Callable[[FakeAccount, dict[str, str], Mapping[str, str]], object]

_EARN_MESSAGES: Final = {
    "API5001": "Earn request amount too low.",
    "API5002": "Earn request amount too high.",
    "API5003": "Decimal places in amount exceed maximum allowed.",
    "API5004": "Operation is unsupported.",
    "API5008": "Already opted in.",
    "API5009": "Not opted in.",
    "API5010": "Insufficient balance.",
    "API5011": "Something went wrong, try again later.",
    "API5012": "Staked balance is insufficient.",
}


@dataclass(frozen=True, slots=True)
class EarnProduct:
    """One earn product of one currency."""

    currency: str
    type: str  # "STAKING" or "LENDING"
    term: str  # "FLEXIBLE" or "FIXED"
    annual_yield: str  # percent
    minimum: str
    distribution: str
    activation: str


PRODUCTS: Final = (
    EarnProduct("eth", "STAKING", "FLEXIBLE", "3.1", "0.01", "WEEKLY", "1 day"),
    EarnProduct("sol", "STAKING", "FLEXIBLE", "5.5", "0.1", "WEEKLY", "2 days"),
    EarnProduct("usdc", "LENDING", "FLEXIBLE", "4.0", "10", "DAILY", "Immediately"),
    EarnProduct("btc", "LENDING", "FIXED", "1.0", "0.001", "MONTHLY", "Immediately"),
)


@dataclass(eq=False)
class _Holding:
    amount: Decimal = Decimal(0)
    earned: Decimal = Decimal(0)
    opted_in: bool = False


@dataclass(frozen=True)
class _Event:
    us: int
    type: str
    currency: str
    amount: Decimal
    status: str = "COMPLETED"


@dataclass(eq=False)
class _Book:
    holdings: dict[EarnProduct, _Holding] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)


def _number(value: Decimal) -> orjson.Fragment:
    return orjson.Fragment(f"{value:f}".encode())


def _iso(us: int) -> str:
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _earn_error(code: str, name: str | None = None) -> ApiError:
    body: dict[str, object] = {"code": code, "message": _EARN_MESSAGES[code]}
    if name is not None:
        body["field"] = name
    return ApiError(400, body)


def _field_error(name: str, message: str) -> ApiError:
    return ApiError.coded("400.001", {name: [message]})


class EarnDesk:
    """The earn endpoints over every account's subscriptions."""

    def __init__(
        self, *, market_data: MarketData, ledger: Ledger, switches: FundingSwitches
    ) -> None:
        self.market_data = market_data
        self.ledger = ledger
        self.switches = switches
        self._books: dict[int, _Book] = {}

    def handlers(self) -> dict[str, PrivateEndpoint]:
        """Route name -> handler, for every earn route."""
        return {
            "earn_subscribe": self.subscribe,
            "earn_unsubscribe": self.unsubscribe,
            "earn_subscription_setting": self.setting,
            "earn_subscriptions": self.subscriptions,
            "earn_transactions": self.transactions,
        }

    # -- shared -------------------------------------------------------------------------

    def _book(self, account: FakeAccount) -> _Book:
        return self._books.setdefault(account.user_id, _Book())

    def _answer(self) -> object:
        return None if self.switches.earn_write_answer == "null" else {}

    @staticmethod
    def _required(form: Mapping[str, str], *names: str) -> None:
        for name in names:
            if not form.get(name):
                raise _field_error(name, "Missing data for required field.")

    def _currency(self, form: Mapping[str, str]) -> Currency:
        currency = self.market_data.currencies.get(form["currency"].lower())
        if currency is None:
            raise _field_error("currency", "Unknown currency.")
        return currency

    @staticmethod
    def _product(currency: Currency, kind: str, term: str | None) -> EarnProduct:
        for product in PRODUCTS:
            if (
                product.currency == currency.code
                and product.type == kind
                and (term is None or product.term == term)
            ):
                return product
        raise _earn_error("API5004")

    @staticmethod
    def _amount(form: Mapping[str, str], currency: Currency) -> Decimal:
        text = form["amount"]
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise _field_error("amount", "Not a valid number.") from None
        if not value.is_finite() or value <= 0:
            raise _field_error("amount", "Not a valid number.")
        if value != quantize(value, currency.decimals):
            raise _earn_error("API5003", "amount")
        return quantize(value, currency.decimals)

    def _record(
        self, account: FakeAccount, kind: int, code: str, amount: Decimal, event: str
    ) -> LedgerRow:
        row = self.ledger.record(account, kind, {code: amount})
        self._book(account).events.append(_Event(row.us, event, code, abs(amount)))
        return row

    # -- writes -------------------------------------------------------------------------

    def subscribe(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``earn/subscribe/``: move ``amount`` from the balance into the product."""
        self._required(form, "currency", "amount", "earn_type", "earn_term")
        currency = self._currency(form)
        product = self._product(currency, form["earn_type"], form["earn_term"])
        amount = self._amount(form, currency)
        if amount < Decimal(product.minimum):
            raise _earn_error("API5001", "amount")
        if amount > account.balance(currency.code).available:
            raise _earn_error("API5002", "amount")
        self._stake(account, product, amount)
        return self._answer()

    def _stake(self, account: FakeAccount, product: EarnProduct, amount: Decimal) -> None:
        account.credit(product.currency, -amount)
        holding = self._book(account).holdings.setdefault(product, _Holding())
        holding.amount += amount
        event = "STAKE" if product.type == "STAKING" else "SUBSCRIBE"
        self._record(account, STAKING_DEBIT, product.currency, -amount, event)

    def unsubscribe(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``earn/unsubscribe/``: move ``amount`` from the product back to the balance."""
        self._required(form, "currency", "amount", "earn_type", "earn_term")
        currency = self._currency(form)
        product = self._product(currency, form["earn_type"], form["earn_term"])
        amount = self._amount(form, currency)
        holding = self._book(account).holdings.get(product)
        if holding is None or holding.amount < amount:
            raise _earn_error("API5012", "amount")
        holding.amount -= amount
        account.credit(currency.code, amount)
        event = "UNSTAKE" if product.type == "STAKING" else "UNSUBSCRIBE"
        self._record(account, STAKING_CREDIT, currency.code, amount, event)
        return self._answer()

    def setting(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``earn/subscriptions/setting/``: opt in to staking (stakes the available
        balance) or out of it."""
        self._required(form, "currency", "earn_type", "setting")
        currency = self._currency(form)
        if form["earn_type"] != "STAKING":
            raise _earn_error("API5004", "earn_type")  # "Currently only ... staking."
        product = self._product(currency, "STAKING", None)
        holding = self._book(account).holdings.setdefault(product, _Holding())
        setting = form["setting"]
        if setting == "OPT_IN":
            if holding.opted_in:
                raise _earn_error("API5008")
            available = account.balance(currency.code).available
            if available <= 0:
                raise _earn_error("API5010")
            holding.opted_in = True
            self._book(account).events.append(
                _Event(self.ledger.now(account), "OPT_IN", currency.code, available)
            )
            self._stake(account, product, available)
        elif setting == "OPT_OUT":
            if not holding.opted_in:
                raise _earn_error("API5009")
            holding.opted_in = False
            self._book(account).events.append(
                _Event(self.ledger.now(account), "OPT_OUT", currency.code, Decimal(0))
            )
        else:
            raise _field_error("setting", "Must be one of: OPT_IN, OPT_OUT.")
        return self._answer()

    def reward(self, account: FakeAccount, currency: str, amount: Decimal) -> LedgerRow:
        """Pay a reward on what ``account`` holds in ``currency``'s product."""
        code = currency.lower()
        listed = self.market_data.currencies.get(code)
        if listed is None:
            raise ValueError(f"unknown currency {currency!r}")
        value = quantize(amount, listed.decimals)
        holdings = [
            holding
            for product, holding in self._book(account).holdings.items()
            if product.currency == code and holding.amount > 0
        ]
        if not holdings or value <= 0:
            raise ValueError(
                f"the account earns nothing on {currency!r}, or the reward is not positive"
            )
        holdings[0].earned += value
        account.credit(code, value)
        return self._record(account, STAKING_REWARD, code, value, "REWARD_RECEIVED")

    # -- reads --------------------------------------------------------------------------

    def subscriptions(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``earn/subscriptions/``: every product and the account's holding in it."""
        holdings = self._book(account).holdings
        rows = []
        for product in PRODUCTS:
            holding = holdings.get(product, _Holding())
            rows.append(
                {
                    "currency": product.currency.upper(),
                    "type": product.type,
                    "term": product.term,
                    "amount": _number(holding.amount),
                    "available_amount": _number(
                        holding.amount if product.term == "FLEXIBLE" else Decimal(0)
                    ),
                    "amount_earned": _number(holding.earned),
                    "estimated_annual_yield": _number(Decimal(product.annual_yield)),
                    "minimum_subscription_amount": _number(Decimal(product.minimum)),
                    "distribution_period": product.distribution,
                    "activation_period": product.activation,
                }
            )
        return rows

    def transactions(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``earn/transactions/``: the account's earn events, newest first."""
        limit = self._int(form, "limit", 100, 1, 1000)
        offset = self._int(form, "offset", 0, 0, 200_000)
        currency = form.get("currency", "").lower() or None
        quote = (form.get("quote_currency") or "USD").lower()
        if quote not in self.market_data.currencies:
            raise _field_error("quote_currency", "Unknown currency.")
        events = [
            event
            for event in self._book(account).events
            if currency is None or event.currency == currency
        ]
        events.reverse()
        rows = []
        for event in events[offset : offset + limit]:
            row: dict[str, object] = {
                "datetime": _iso(event.us),
                "type": event.type,
                "status": event.status,
                "currency": event.currency.upper(),
                "amount": _number(event.amount),
                "quote_currency": quote.upper(),
            }
            market = self.market_data.markets.get(f"{event.currency}{quote}")
            if market is not None:
                value = event.amount * Decimal(market.reference_price)
                row["value"] = _number(quantize(value, market.counter_decimals))
            rows.append(row)
        return rows

    @staticmethod
    def _int(form: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
        text = form.get(name)
        if text is None:
            return default
        if not text.isdigit() or not low <= int(text) <= high:
            raise _field_error(name, f"Must be between {low} and {high}.")
        return int(text)
