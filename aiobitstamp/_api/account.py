"""The account: balances, fees, markets open to it, its history, and its keys.

**Walking the history.** ``user_transactions/`` pages by ``offset`` (at most 200,000),
``since_id``, and ``since_timestamp``/``until_timestamp`` (at most 30 days old). The
iterators below turn that into one stream in which every row comes exactly once, even while
new rows arrive between pages:

* Oldest first (the default), rows come in ascending id order. Pages are asked for
  ``sort=asc``, so a new row lands behind the walk and is reached, never shifting what is
  still ahead. Offsets are used up to 200,000; from there, the walk continues with
  ``since_id`` set to the last id it read. A walk that starts from an id uses ``since_id``
  throughout; one that starts from a time asks for its first page by ``since_timestamp``
  and continues by ``since_id``.
* Newest first, pages are asked for ``sort=desc``, where a row arriving meanwhile pushes the
  older rows one place further. After its first page the walk pins itself with
  ``until_timestamp`` just past the newest row (when that is under 30 days old), so later
  rows are left out by the exchange; and it keeps the lowest id it delivered and skips any
  row at or above it, so what still shifts (rows of that same second, or every new row when
  the account's newest row is too old to pin to) is neither repeated nor mistaken for the
  end. Past 200,000 rows it re-anchors with ``until_timestamp`` while that is allowed.

A walk ends on an empty page, or on a page shorter than an earlier page of the same walk;
never merely on a page shorter than the limit asked for, which a server may cap. Both rely on
Bitstamp numbering transactions in the order they happen (ids grow with time).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, TypeVar

from .. import _params as params
from .._exceptions import BitstampError, InvalidParameterError
from .._models import (
    AccountMarket,
    Balance,
    CryptoTransaction,
    CryptoTransactions,
    OrderEvent,
    OrderSource,
    RevokedApiKeys,
    Rows,
    TradingFee,
    UserTransaction,
    WebSocketToken,
    WithdrawalFee,
)
from ._base import rows
from ._currencies import CurrencyChecks

__all__ = ["MAX_AGE_SECONDS", "MAX_OFFSET", "PAGE_LIMIT", "AccountAPI"]

#: The deepest ``offset`` Bitstamp serves (``user_transactions/``, ``crypto-transactions/``).
MAX_OFFSET = 200_000
#: The most rows one page may hold; ``since_id`` forces it.
PAGE_LIMIT = 1000
#: ``since_timestamp`` and ``until_timestamp`` may be at most this old.
MAX_AGE_SECONDS = 30 * 86_400
# A walk sends a timestamp only while it is at least this far inside the 30 days, so an
# exchange whose clock runs a little ahead, or a newest-first page asked for later in the
# walk, is not refused as too old.
_AGE_MARGIN_SECONDS = 600

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_SECOND = timedelta(seconds=1)
_SORTS = ("asc", "desc")
_ORDER_SOURCES = tuple(source.value for source in OrderSource)

_parse_balances = rows(Balance)
_parse_trading_fees = rows(TradingFee)
_parse_withdrawal_fees = rows(WithdrawalFee)
_parse_markets = rows(AccountMarket)
_parse_user_transactions = rows(UserTransaction)
_parse_order_events = rows(OrderEvent)

_Numbered = list[tuple[int, UserTransaction]]


def _parse_numbered(payload: Any) -> _Numbered:
    """A whole page parsed at once, each row with its id as a number, so a malformed row
    fails inside the request (as ``UnexpectedResponseError``) before any row is yielded."""
    if payload.__class__ is not list:
        raise TypeError("expected a JSON array of transactions")
    parsed = map(UserTransaction.from_wire, payload)
    return [(int(row.id), row) for row in parsed]


def _at(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _event_id(name: str, value: object) -> str:
    """An event id of ``order_data/``: digits (like every Bitstamp id seen), or a UUID.

    The ids' form is undocumented; anything else (signs, points, exponents, hex, 40 digits)
    is refused rather than sent for the exchange to guess at."""
    if isinstance(value, str) and len(value) == 36:
        return params.uuid_param(name, value)
    return params.order_id(value, name=name)


class AccountAPI(CurrencyChecks):
    """Private account endpoints; they need keys."""

    # Unix seconds now, for the 30-day rule of since/until_timestamp. Replace it on the
    # instance to test against a fixed time.
    _wall_clock: Callable[[], float] = time.time

    # -- balances ----------------------------------------------------------------------

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

    # -- fees and markets ----------------------------------------------------------------

    async def trading_fees(self) -> Rows[TradingFee]:
        """This account's maker and taker fees (percent) on every market.

        >>> fees = {f.market: f.taker for f in await client.trading_fees()}  # doctest: +SKIP
        """
        return await self._call("trading_fees", _parse_trading_fees)

    async def trading_fee(self, pair: str) -> TradingFee:
        """This account's maker and taker fees (percent) on one market."""
        symbol, _ = await self._market(pair)

        def parse(payload: Any) -> TradingFee:
            return TradingFee.one_from_wire(payload, symbol)

        return await self._call("trading_fee", parse, path={"market_symbol": symbol})

    async def withdrawal_fees(self) -> Rows[WithdrawalFee]:
        """The fee of a withdrawal of every currency, per network."""
        return await self._call("withdrawal_fees", _parse_withdrawal_fees)

    async def withdrawal_fee(self, currency: str, network: str | None = None) -> WithdrawalFee:
        """The fee of a withdrawal of ``currency`` (``"eth"``), optionally over ``network``
        (``"ethereum"``, ``"arbitrum"``, ...)."""
        code = params.currency(currency)
        form = None if network is None else {"network": params.network(network)}
        await self._listed_currency(code)
        return await self._call(
            "withdrawal_fee", WithdrawalFee.from_wire, path={"currency": code}, form=form
        )

    async def my_markets(self) -> Rows[AccountMarket]:
        """The markets this account may trade.

        Sources disagree on this endpoint's verb; the client sends the one it was built with
        (``Client(my_markets_method=...)``, POST by default).
        """
        return await self._call("my_markets", _parse_markets)

    # -- keys --------------------------------------------------------------------------

    async def revoke_all_api_keys(self) -> RevokedApiKeys:
        """The kill switch: revoke **every** API key of the account, this client's own
        included, at once. Later private calls of this client fail with an authentication
        error. It jumps the rate-limit queue like a cancel, and is sent again after an
        ambiguous failure (revoking twice does no harm).
        """
        return await self._call("revoke_all_api_keys", RevokedApiKeys.from_wire)

    # -- order events ------------------------------------------------------------------

    async def order_data(
        self,
        pair: str,
        *,
        order_source: OrderSource | str = OrderSource.ORDERBOOK,
        since_id: str | int | None = None,
        until_id: str | int | None = None,
    ) -> Rows[OrderEvent]:
        """Past public order events of one market (to refill a gap in a WebSocket order
        stream), between the event ids ``since_id`` and ``until_id`` when given."""
        form = self._order_data_form(order_source, since_id, until_id)
        form["market"], _ = await self._market(pair)
        return await self._call("order_data", _parse_order_events, form=form)

    async def account_order_data(
        self,
        pair: str,
        *,
        order_source: OrderSource | str = OrderSource.ORDERBOOK,
        since_id: str | int | None = None,
        until_id: str | int | None = None,
    ) -> Rows[OrderEvent]:
        """Past events of this account's orders on one market: created, changed, deleted,
        replaced, stop (de)activated; between the event ids ``since_id`` and ``until_id``."""
        form = self._order_data_form(order_source, since_id, until_id)
        form["market"], _ = await self._market(pair)
        return await self._call("account_order_data", _parse_order_events, form=form)

    @staticmethod
    def _order_data_form(
        order_source: object, since_id: object, until_id: object
    ) -> dict[str, str]:
        form = {"order_source": params.one_of("order_source", order_source, _ORDER_SOURCES)}
        if since_id is not None:
            form["since_id"] = _event_id("since_id", since_id)
        if until_id is not None:
            form["until_id"] = _event_id("until_id", until_id)
        first, last = form.get("since_id"), form.get("until_id")
        if first and last and first.isdigit() and last.isdigit() and int(last) < int(first):
            raise InvalidParameterError(f"until_id ({last}) must not be below since_id ({first})")
        return form

    # -- user transactions -----------------------------------------------------------------

    async def user_transactions(
        self,
        pair: str | None = None,
        *,
        offset: int | None = None,
        limit: int | None = None,
        sort: Literal["asc", "desc"] | None = None,
        since_timestamp: datetime | int | None = None,
        until_timestamp: datetime | int | None = None,
        since_id: str | int | None = None,
    ) -> Rows[UserTransaction]:
        """One page of the account's transactions, of every market or of ``pair``.

        Bitstamp's rules are checked before sending: ``offset`` 0..200000, ``limit``
        1..1000 (100 when not given), ``sort`` ``"asc"`` or ``"desc"`` (``"desc"`` when not
        given), ``since_timestamp``/``until_timestamp`` (aware datetimes or unix seconds) at
        most 30 days old, and with ``since_id`` the exchange always returns up to 1000 rows,
        so ``limit`` must then be left out or be 1000. To read everything, use
        :meth:`iter_user_transactions`.

        >>> page = await client.user_transactions("btcusd", limit=50)  # doctest: +SKIP
        >>> [(t.side, t.base_amount, t.rate) for t in page if t.is_trade]  # doctest: +SKIP
        """
        form: dict[str, str] = {}
        if offset is not None:
            form["offset"] = str(params.offset(offset, maximum=MAX_OFFSET))
        size = None if limit is None else params.page_size("limit", limit, maximum=PAGE_LIMIT)
        if size is not None:
            form["limit"] = str(size)
        if sort is not None:
            form["sort"] = params.one_of("sort", sort, _SORTS)
        now = self._wall_clock()
        since = self._recent("since_timestamp", since_timestamp, now)
        until = self._recent("until_timestamp", until_timestamp, now)
        if since is not None:
            form["since_timestamp"] = str(since)
        if until is not None:
            form["until_timestamp"] = str(until)
        if since is not None and until is not None and until < since:
            raise InvalidParameterError(
                f"until_timestamp ({until}) must not be before since_timestamp ({since})"
            )
        if since_id is not None:
            form["since_id"] = params.order_id(since_id, name="since_id")
            if size is not None and size != PAGE_LIMIT:
                raise InvalidParameterError(
                    f"with since_id Bitstamp always returns up to {PAGE_LIMIT} rows; "
                    f"leave limit out or pass {PAGE_LIMIT} (got {size})"
                )
        return await self._transactions_page(pair, form, _parse_user_transactions)

    async def iter_user_transactions(
        self,
        pair: str | None = None,
        *,
        since: datetime | int | str | None = None,
        until: datetime | None = None,
        newest_first: bool = False,
    ) -> AsyncIterator[UserTransaction]:
        """Every transaction of the account (or of ``pair``), each exactly once, paging
        under the hood.

        ``since`` is where to start: an aware ``datetime`` (to the second), or a
        transaction id (int or digit string; that transaction included). ``until`` (an aware
        ``datetime``, to the second, inclusive) is where to stop. Oldest first by default,
        in ascending id order, including rows that arrive during the walk; with
        ``newest_first`` in descending id order, the rows that existed when the walk began.
        (The module docstring tells how pages are asked for.)

        >>> async for row in client.iter_user_transactions("btcusd", since=day_start):
        ...     print(row.id, row.type, row.amounts)  # doctest: +SKIP
        >>> fees = [t.fee async for t in client.iter_user_transactions() if t.is_trade]
        ... # doctest: +SKIP

        A start more than 30 days back cannot be sent as a timestamp, so the walk then reads
        from the account's first transaction and skips the earlier ones; starting from an id
        avoids that.
        """
        since_id: int | None = None
        since_at: int | None = None
        if since is not None:
            if isinstance(since, datetime):
                since_at = params.unix_seconds("since", since)
            else:
                since_id = int(params.order_id(since, name="since"))
        until_at: int | None = None
        if until is not None:
            if not isinstance(until, datetime):
                raise InvalidParameterError("until must be an aware datetime")
            until_at = params.unix_seconds("until", until)
        if since_at is not None and until_at is not None and until_at < since_at:
            raise InvalidParameterError(f"until ({until_at}) must not be before since ({since_at})")
        if params.boolean("newest_first", newest_first):
            walk = self._walk_down(pair, since_id, since_at, until_at)
        else:
            walk = self._walk_up(pair, since_id, since_at, until_at)
        async for row in walk:
            yield row

    async def _walk_up(
        self,
        pair: str | None,
        since_id: int | None,
        since_at: int | None,
        until_at: int | None,
    ) -> AsyncIterator[UserTransaction]:
        """Oldest first: ``since_id`` from a starting id, or after a first page asked for
        by ``since_timestamp``; otherwise offsets, then ``since_id`` past 200,000."""
        first = None if since_at is None else _at(since_at)
        last = None if until_at is None else _at(until_at) + _ONE_SECOND
        ceiling = 0 if since_id is None else since_id - 1  # every id above it is to come
        by_id = ceiling > 0
        # Sent once, on the first page, so it cannot age past 30 days during the walk.
        sent_since = since_at if since_at is not None and self._fresh(since_at) else None
        offset = widest = 0
        while True:
            if not by_id and offset > MAX_OFFSET:
                by_id = True  # offset > 0: some row was read, so the ceiling is an id
            form = {"sort": "asc", "limit": str(PAGE_LIMIT)}
            if by_id:
                form["since_id"] = params.order_id(ceiling, name="since_id")
            else:
                if offset:
                    form["offset"] = str(params.offset(offset, maximum=MAX_OFFSET))
                if sent_since is not None:
                    form["since_timestamp"] = str(sent_since)
            page = await self._transactions_page(pair, form, _parse_numbered)
            if not page:
                return
            # Shorter than an earlier page of this walk: the exchange had no more rows.
            # (The first page cannot tell: a server may cap pages below the limit asked.)
            last_page = len(page) < widest
            widest = max(widest, len(page))
            if not by_id:
                offset += len(page)
            if sent_since is not None:
                by_id, sent_since = True, None  # from the first row on, by id
            ahead = sorted((entry for entry in page if entry[0] > ceiling), key=_first)
            if not ahead and by_id:
                return  # since_id answered nothing past what was delivered: the end
            for number, row in ahead:
                ceiling = number
                if first is not None and row.timestamp < first:
                    continue
                if last is not None and row.timestamp >= last:
                    return
                yield row
            if last_page:
                return

    async def _walk_down(
        self,
        pair: str | None,
        since_id: int | None,
        since_at: int | None,
        until_at: int | None,
    ) -> AsyncIterator[UserTransaction]:
        """Newest first: offsets, re-anchored with ``until_timestamp`` past 200,000."""
        first = None if since_at is None else _at(since_at)
        last = None if until_at is None else _at(until_at) + _ONE_SECOND
        # The second after ``until``: whether the exchange reads until_timestamp inclusively
        # or not, the whole last second comes back; the cursor drops what is too new.
        sent_until = until_at + 1 if until_at is not None else None
        if sent_until is not None and not self._fresh(sent_until):
            sent_until = None
        floor: int | None = None  # the lowest id delivered: every id below it is to come
        floor_second = 0
        offset = widest = 0
        while True:
            stale = sent_until is not None and not self._fresh(sent_until)
            if offset > MAX_OFFSET or stale:
                anchor = floor_second + 1
                if floor is not None and self._fresh(anchor):
                    sent_until, offset = anchor, 0
                elif offset > MAX_OFFSET:
                    raise BitstampError(
                        f"user_transactions cannot be read newest-first past {MAX_OFFSET} "
                        "rows unless they are under 30 days old (Bitstamp's limits); walk "
                        "oldest-first (newest_first=False) to reach older rows"
                    )
                else:  # the timestamp aged out: read from the top; the cursor skips repeats
                    sent_until, offset = None, 0
            form = {"sort": "desc", "limit": str(PAGE_LIMIT)}
            if offset:
                form["offset"] = str(params.offset(offset, maximum=MAX_OFFSET))
            if sent_until is not None:
                form["until_timestamp"] = str(sent_until)
            page = await self._transactions_page(pair, form, _parse_numbered)
            if not page:
                return
            last_page = len(page) < widest  # as in _walk_up
            widest = max(widest, len(page))
            offset += len(page)
            ordered = sorted(page, key=_first, reverse=True)
            if floor is None and sent_until is None:
                # Pin the walk to the rows up to the newest one: later rows are then left
                # out by the exchange instead of shifting the pages still to come.
                anchor = int(ordered[0][1].timestamp.timestamp()) + 1
                if self._fresh(anchor):
                    sent_until = anchor
            for number, row in ordered:
                if floor is not None and number >= floor:
                    continue  # seen already, or newer than the walk
                floor, floor_second = number, int(row.timestamp.timestamp())
                if since_id is not None and number < since_id:
                    return
                if first is not None and row.timestamp < first:
                    return
                if last is not None and row.timestamp >= last:
                    continue
                yield row
            if last_page:
                return

    async def _transactions_page(
        self, pair: str | None, form: dict[str, str], parse: Callable[[Any], T]
    ) -> T:
        if pair is None:
            return await self._call("user_transactions", parse, form=form)
        symbol, _ = await self._market(pair)
        return await self._call(
            "user_transactions_for_market", parse, path={"market_symbol": symbol}, form=form
        )

    def _recent(self, name: str, value: object, now: float) -> int | None:
        """Unix seconds of ``value``, refused when more than 30 days before ``now``."""
        if value is None:
            return None
        seconds = params.unix_seconds(name, value)
        if seconds < now - MAX_AGE_SECONDS:
            days = (now - seconds) / 86_400
            raise InvalidParameterError(
                f"{name} may be at most 30 days old (Bitstamp's rule); {seconds} is "
                f"{days:.1f} days ago"
            )
        return seconds

    def _fresh(self, seconds: int) -> bool:
        """Whether a walk may still send ``seconds`` as a timestamp (see the margin)."""
        return seconds >= self._wall_clock() - MAX_AGE_SECONDS + _AGE_MARGIN_SECONDS

    # -- crypto transactions -------------------------------------------------------------

    async def crypto_transactions(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        include_ious: bool = False,
    ) -> CryptoTransactions:
        """One page of crypto deposits and withdrawals (main account only): ``limit``
        1..1000, ``offset`` 0..200000; ``include_ious`` adds Ripple IOU transactions. To
        read them all, use :meth:`iter_crypto_transactions`."""
        form: dict[str, str] = {}
        if limit is not None:
            form["limit"] = str(params.page_size("limit", limit, maximum=PAGE_LIMIT))
        if offset is not None:
            form["offset"] = str(params.offset(offset, maximum=MAX_OFFSET))
        if params.boolean("include_ious", include_ious):
            form["include_ious"] = "True"
        return await self._call("crypto_transactions", CryptoTransactions.from_wire, form=form)

    async def iter_crypto_transactions(
        self, *, include_ious: bool = False
    ) -> AsyncIterator[CryptoTransaction]:
        """Every crypto deposit, withdrawal (and with ``include_ious`` Ripple IOU
        transaction), each exactly once, page by page: a page's deposits, then its
        withdrawals, then its IOU transactions, each list in the exchange's order.

        >>> deposits = [t async for t in client.iter_crypto_transactions()
        ...             if t.kind is CryptoTransactionKind.DEPOSIT]  # doctest: +SKIP

        The endpoint pages by offset only, so a row arriving meanwhile can shift the next
        page; rows already given (the same ``identity``) are skipped, which costs a set of
        the identities seen. Offsets stop at 200,000 rows per list: a walk that reaches it
        with a full page still to read raises ``BitstampError`` after the rows it could give.
        """
        ious = params.boolean("include_ious", include_ious)
        seen: set[tuple[object, ...]] = set()
        offset = widest = 0
        while True:
            page = await self.crypto_transactions(
                limit=PAGE_LIMIT, offset=offset, include_ious=ious
            )
            longest = max(
                len(page.deposits), len(page.withdrawals), len(page.ripple_iou_transactions)
            )
            if longest == 0:
                return
            last_page = longest < widest  # every list ran short: none has more rows
            widest = max(widest, longest)
            for row in page.rows:
                identity = row.identity
                if identity not in seen:
                    seen.add(identity)
                    yield row
            if last_page:
                return
            offset += longest
            if offset > MAX_OFFSET:
                if longest < PAGE_LIMIT:
                    return
                raise BitstampError(
                    f"crypto-transactions pages stop at offset {MAX_OFFSET}; older rows "
                    "cannot be read through this endpoint"
                )


def _first(entry: tuple[int, UserTransaction]) -> int:
    return entry[0]
