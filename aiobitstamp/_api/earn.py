"""Earn: staking and lending subscriptions and their history.

Subscribing and unsubscribing move money between the balance and an earn product; they are
sent at most once (``Repeat.ONCE``). Arguments are checked before sending as for
withdrawals: the currency is listed, the amount is positive and has no more decimals than
the currency allows, and the product names are the spec's enums (``EarnType``,
``EarnTerm``, ``EarnSetting``; their string values are accepted too).

The earn endpoints answer their own error codes, ``API5001``-``API5012`` with HTTP 400
(amount too low or too high, unsupported, already opted in, ...). They look like the auth
layer's ``API00xx`` codes but are not about credentials: the error tree raises them as
:class:`BadRequestError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

from .. import _params as params
from .._models import Rows
from .._models.earn import (
    EarnSetting,
    EarnSubscription,
    EarnTerm,
    EarnTransaction,
    EarnType,
)
from .._params import Amount
from ._base import rows
from ._currencies import CurrencyChecks, currency_amount

__all__ = ["EarnAPI"]

T = TypeVar("T")

_MAX_PAGE = 1000
_MAX_OFFSET = 200_000
_EARN_TYPES = tuple(kind.value for kind in EarnType)
_EARN_TERMS = tuple(term.value for term in EarnTerm)
_SETTINGS = tuple(setting.value for setting in EarnSetting)

_parse_subscriptions = rows(EarnSubscription)
_parse_transactions = rows(EarnTransaction)


def _acknowledged(payload: Any) -> None:
    """An earn write's answer: no body (the spec), or a JSON object without an error."""
    if payload is not None and payload.__class__ is not dict:
        raise TypeError("an earn call answers no body or a JSON object")


def _transactions_page(payload: Any) -> list[EarnTransaction]:
    if payload.__class__ is not list:
        raise TypeError("earn/transactions/ must answer a list")
    return [EarnTransaction.from_wire(row) for row in payload]


def _identity(row: EarnTransaction) -> tuple[object, ...]:
    """What tells two earn events apart when they have no id: every value but ``status``
    (a pending event that completes between two pages is still the same event)."""
    return tuple(sorted((k, repr(v)) for k, v in row.raw.items() if k != "status"))


class EarnAPI(CurrencyChecks):
    """Staking and lending."""

    async def _earn_write(self, route: str, form: dict[str, str]) -> None:
        await self._call(route, _acknowledged, form=form)

    async def _earn_form(
        self, currency: str, amount: Amount, earn_type: EarnType | str, earn_term: EarnTerm | str
    ) -> dict[str, str]:
        code = params.currency(currency)
        kind = params.one_of("earn_type", earn_type, _EARN_TYPES)
        term = params.one_of("earn_term", earn_term, _EARN_TERMS)
        wire_amount = params.decimal_param("amount", amount)
        entry = await self._currency_entry(code, kind="crypto")
        return {
            "currency": code.upper(),
            "amount": currency_amount("amount", amount, entry, checked=wire_amount),
            "earn_type": kind,
            "earn_term": term,
        }

    async def earn_subscribe(
        self,
        currency: str,
        amount: Amount,
        earn_type: EarnType | str,
        earn_term: EarnTerm | str = EarnTerm.FLEXIBLE,
    ) -> None:
        """Put ``amount`` of ``currency`` into staking or lending. Sent at most once.

        >>> await client.earn_subscribe("eth", "1.5", EarnType.STAKING)  # doctest: +SKIP
        """
        form = await self._earn_form(currency, amount, earn_type, earn_term)
        await self._earn_write("earn_subscribe", form)

    async def earn_unsubscribe(
        self,
        currency: str,
        amount: Amount,
        earn_type: EarnType | str,
        earn_term: EarnTerm | str = EarnTerm.FLEXIBLE,
    ) -> None:
        """Take ``amount`` of ``currency`` back out of staking or lending. Sent at most
        once."""
        form = await self._earn_form(currency, amount, earn_type, earn_term)
        await self._earn_write("earn_unsubscribe", form)

    async def earn_subscription_setting(
        self, currency: str, earn_type: EarnType | str, setting: EarnSetting | str
    ) -> None:
        """Opt in to (or out of) earning on ``currency`` automatically. The exchange
        supports this for staking only."""
        code = params.currency(currency)
        form = {
            "currency": code.upper(),
            "earn_type": params.one_of("earn_type", earn_type, _EARN_TYPES),
            "setting": params.one_of("setting", setting, _SETTINGS),
        }
        await self._currency_entry(code, kind="crypto")
        await self._earn_write("earn_subscription_setting", form)

    async def earn_subscriptions(self) -> Rows[EarnSubscription]:
        """Every earn product and what the account holds in it."""
        return await self._call("earn_subscriptions", _parse_subscriptions)

    async def earn_transactions(
        self,
        *,
        currency: str | None = None,
        quote_currency: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Rows[EarnTransaction]:
        """Earn history: stakes, unstakes, rewards, opt-ins. ``quote_currency`` is the
        currency each event's ``value`` is given in. ``limit`` 1-1000 (100 by default),
        ``offset`` 0-200,000. See ``iter_earn_transactions`` to walk it all."""
        query = self._earn_query(currency, quote_currency)
        if limit is not None:
            query["limit"] = params.page_size("limit", limit, maximum=_MAX_PAGE)
        if offset is not None:
            query["offset"] = params.offset(offset, maximum=_MAX_OFFSET)
        return await self._call("earn_transactions", _parse_transactions, query=query or None)

    @staticmethod
    def _earn_query(currency: str | None, quote_currency: str | None) -> dict[str, str | int]:
        query: dict[str, str | int] = {}
        if currency is not None:
            query["currency"] = params.currency(currency).upper()
        if quote_currency is not None:
            query["quote_currency"] = params.currency(quote_currency, name="quote_currency").upper()
        return query

    async def iter_earn_transactions(
        self,
        *,
        currency: str | None = None,
        quote_currency: str | None = None,
        page_size: int = _MAX_PAGE,
    ) -> AsyncIterator[EarnTransaction]:
        """The whole earn history, page by page, each event once.

        >>> async for event in client.iter_earn_transactions(currency="eth"):
        ...     print(event.datetime, event.type, event.amount)  # doctest: +SKIP
        >>> rewards = [e async for e in client.iter_earn_transactions()
        ...            if e.type is EarnTransactionType.REWARD_RECEIVED]  # doctest: +SKIP

        Earn events carry no id. When new events arrive between two pages they push
        events already given onto the next page; those are recognised because the next
        page then starts with exactly the events that ended the pages before (compared by
        every value but their status), and are skipped. Two events identical in every
        value that happen to meet at a page boundary cannot be told from such a repeat
        by any client: the API gives nothing else to tell them by. This holds while fewer
        events than a page arrive between two pages.
        """
        size = params.integer("page_size", page_size, minimum=1, maximum=_MAX_PAGE)
        base = self._earn_query(currency, quote_currency)
        recent: list[tuple[object, ...]] = []  # identities of the last events given
        offset = 0
        while True:
            query = {**base, "limit": size, "offset": offset}
            page = await self._call("earn_transactions", _transactions_page, query=query)
            keys = [_identity(row) for row in page]
            skip = _overlap(recent, keys)
            for row in page[skip:]:
                yield row
            recent = (recent + keys[skip:])[-size:]
            if len(page) < size:
                return
            offset += len(page)
            if offset > _MAX_OFFSET:
                return


def _overlap(given: list[tuple[object, ...]], page: list[tuple[object, ...]]) -> int:
    """How many events at the start of ``page`` are the last ones already ``given``."""
    for shift in range(min(len(given), len(page)), 0, -1):
        if given[-shift:] == page[:shift]:
            return shift
    return 0
