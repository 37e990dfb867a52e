"""The matching engine: living books, synthetic flow, settlement, and the market feed.

One ``LiveMarket`` per market holds its book, its tape and its synthetic flow. A market
comes alive the first time anything needs it: its deep book is built around the synthetic
path's price at genesis, and its flow is run from genesis to the markets' current time.

Time is simulated and only moves forward. ``run_until(us)`` runs every due event of every
living market in global time order (synthetic makers, takers, sweeps, maker cancels, user
orders' expiries). Users' actions happen between those runs, at the current time.

Every change is one *action* at one microtimestamp, strictly after the market's previous
action (``stamp``). Within an action the feed sees, for each match, the ``TradePrinted``
then the resting order's ``OrderEvent`` (changed or deleted); then ``CREATED`` for what the
incoming order leaves resting; and last one ``BookChanged`` with the net change of every
touched level. Cancels and expiries publish ``DELETED`` then ``BookChanged``.

Settlement rounds running totals: a fill's counter amount is the change of the rounded
total traded value, and its fee the change of the rounded fee on the total traded in that
role. A buy reserves exactly the most it can spend (value and taker fee at its limit
price), so fills can never overdraw an account. Every fill of an account's order becomes a
ledger row (``user_transactions/``) and an order event (``account_order_data/``).

Ids are derived from time, so they grow with it whatever order markets are run in: each
millisecond has 2048 order ids and 2048 trade ids, 128 for each market, handed out in turn
(a market that needs more borrows its slot of the next millisecond). They are unique across
markets, 16 digits, and below 2**53 unless ids start high (2**53 + 1 on: most are odd and
no double holds them).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ._accounts import FakeAccount, Fill, LedgerRow, Order
from ._feed import BookChanged, MarketFeed, OrderEvent, OrderEventKind
from ._flow import CANCEL, EXPIRE, MAKER, NEVER, SWEEP, TAKER, SyntheticFlow
from ._market_data import MarketData, MarketSpec
from ._numbers import quantize, units_to_decimal
from ._order_book import BUY, SELL, BookEntry, Match, OrderBook, build_synthetic_book
from ._tape import PrivateSides, Tape

__all__ = ["MAKER_FEE", "TAKER_FEE", "LiveMarket", "MatchingEngine", "RestingOrder"]

TAKER_FEE: Final = Decimal("0.004")
MAKER_FEE: Final = Decimal("0.003")
_ID_SLOTS: Final = 2048  # ids per millisecond, shared by up to 16 markets
_MARKET_SLOTS: Final = 128  # of which each market's
_ZERO: Final = Decimal(0)
_CREATED, _CHANGED, _DELETED = (
    OrderEventKind.CREATED,
    OrderEventKind.CHANGED,
    OrderEventKind.DELETED,
)


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """One order resting in a book, as the per-order (L3) view sees it."""

    order_id: int
    side: int  # 0 buy, 1 sell
    price: Decimal
    amount: Decimal  # what remains
    amount_at_create: Decimal
    microtimestamp: int  # when it entered the book
    user_id: int | None  # None for synthetic participants
    client_order_id: str | None


def scale(market: MarketSpec) -> int:
    """Decimals of ``amount_units * price_ticks`` in counter currency."""
    return market.base_decimals + market.counter_decimals


class LiveMarket:
    """One living market: book, tape, synthetic flow, and its id and time counters."""

    __slots__ = ("book", "flow", "index", "last_order_id", "last_tid", "last_us", "spec", "tape")

    def __init__(
        self, spec: MarketSpec, index: int, book: OrderBook, tape: Tape, flow: SyntheticFlow
    ) -> None:
        self.spec = spec
        self.index = index
        self.book = book
        self.tape = tape
        self.flow = flow
        self.last_us = book.microtimestamp
        self.last_order_id = 0
        self.last_tid = 0


class MatchingEngine:
    """Every living market of the exchange, run in simulated time."""

    def __init__(
        self,
        market_data: MarketData,
        *,
        seed: int,
        book_depth: int,
        genesis: int,
        feed: MarketFeed,
        message_rate: float,
        id_offset: int = 0,
    ) -> None:
        self.market_data = market_data
        self.feed = feed
        self.genesis = genesis
        self._seed = seed
        self._depth = book_depth
        self._message_rate = message_rate
        self._id_offset = id_offset
        self._now_us = genesis * 1_000_000
        self._markets: dict[str, LiveMarket] = {}
        self._indexes = {symbol: index for index, symbol in enumerate(market_data.markets)}

    # -- markets and time ---------------------------------------------------------------

    @property
    def now_us(self) -> int:
        """How far the living markets have been run."""
        return self._now_us

    @property
    def message_rate(self) -> float:
        """Feed events per simulated second each market aims at (see ``_flow``)."""
        return self._message_rate

    @message_rate.setter
    def message_rate(self, rate: float) -> None:
        for live in self._markets.values():
            live.flow.set_rate(rate, max(self._now_us, live.last_us))
        self._message_rate = rate

    def living(self) -> list[LiveMarket]:
        """The markets that have come alive, in catalogue order."""
        return sorted(self._markets.values(), key=lambda live: live.index)

    def live(self, market: MarketSpec) -> LiveMarket:
        """``market``, alive and run up to the current time."""
        live = self._markets.get(market.symbol)
        if live is None:
            live = self._awaken(market)
        return live

    def _awaken(self, market: MarketSpec) -> LiveMarket:
        index = self._indexes[market.symbol]
        tape = Tape(market, self.genesis, self.market_data)
        start_us = self.genesis * 1_000_000
        book = build_synthetic_book(
            market,
            seed=self._seed,
            depth=self._depth,
            index=index,
            centre=tape.genesis_price,
            created_us=start_us,
            id_offset=self._id_offset,
        )
        flow = SyntheticFlow(
            market,
            self.market_data,
            seed=self._seed,
            start_us=start_us,
            centre=tape.genesis_price,
            message_rate=self._message_rate,
        )
        live = self._markets[market.symbol] = LiveMarket(market, index, book, tape, flow)
        # Nothing else can have touched this market: run it alone up to the others' time.
        while flow.next_time() <= self._now_us:
            self._run_event(live)
        return live

    def run_until(self, now_us: int) -> None:
        """Run every event due at or before ``now_us`` in every living market, in time order."""
        markets = list(self._markets.values())
        if len(markets) == 1:
            live = markets[0]
            flow = live.flow
            while flow.next_time() <= now_us:
                self._run_event(live)
        elif markets:
            due = [(live.flow.next_time(), index) for index, live in enumerate(markets)]
            heapq.heapify(due)
            while due[0][0] <= now_us:
                live = markets[due[0][1]]
                self._run_event(live)
                heapq.heapreplace(due, (live.flow.next_time(), due[0][1]))
        self._now_us = max(self._now_us, now_us)

    def stamp(self, live: LiveMarket, us: int | None = None) -> int:
        """The microtimestamp of a new action: ``us`` (default now), after the previous one."""
        stamped = max(self._now_us if us is None else us, live.last_us + 1)
        live.last_us = stamped
        return stamped

    def _next_id(self, live: LiveMarket, last: int, us: int) -> int:
        """The id after ``last`` in ``live``'s slots, at least the first of ``us``'s."""
        first = (us // 1000) * _ID_SLOTS + live.index * _MARKET_SLOTS
        candidate = last - self._id_offset + 1
        if candidate < first:
            candidate = first
        elif candidate % _ID_SLOTS >= (live.index + 1) * _MARKET_SLOTS:
            # This millisecond's slot is used up: the market's slot of the next one.
            candidate = (candidate // _ID_SLOTS + 1) * _ID_SLOTS + live.index * _MARKET_SLOTS
        return self._id_offset + candidate

    def order_id(self, live: LiveMarket, us: int) -> int:
        """A new order id of ``live``: grows with time, unique across markets."""
        live.last_order_id = self._next_id(live, live.last_order_id, us)
        return live.last_order_id

    def _trade_id(self, live: LiveMarket, us: int) -> int:
        live.last_tid = self._next_id(live, live.last_tid, us)
        return live.last_tid

    # -- synthetic participants ---------------------------------------------------------

    def _run_event(self, live: LiveMarket) -> None:
        flow = live.flow
        due, kind, payload = flow.pop()
        us = self.stamp(live, due)
        book = live.book
        if kind == MAKER:
            side, price, amount, cancel_at = flow.maker_quote(book, us)
            entry = BookEntry(self.order_id(live, us), amount, created_us=us)
            book.add(side, price, entry)
            flow.adopt(entry.order_id, side)
            flow.schedule(cancel_at, CANCEL, (entry, side, price))
            self._publish_order(live, _CREATED, side, price, entry, us, 0)
        elif kind == TAKER:
            order = flow.taker_order(book, us)
            if order is not None:
                side, limit, amount = order
                taker_id = self.order_id(live, us)
                for maker in self._match(live, None, side, limit, amount, us, taker_id):
                    self.finish(maker, us)
        elif kind == SWEEP:
            sweep = flow.sweep_order(book, us)
            if sweep is not None:
                side, amount = sweep
                taker_id = self.order_id(live, us)
                for maker in self._match(live, None, side, None, amount, us, taker_id):
                    self.finish(maker, us)
        elif kind == CANCEL:
            entry, side, price = flow.cancel_target(payload)
            if entry.amount > 0 and book.remove(side, price, entry):
                flow.forget(entry.order_id)
                self._publish_order(live, _DELETED, side, price, entry, us, 0)
        elif kind == EXPIRE:
            assert isinstance(payload, Order)
            if payload.is_open:
                self.close(payload, "Expired", us)
        self.end_action(live, us)

    # -- actions ------------------------------------------------------------------------

    def end_action(self, live: LiveMarket, us: int) -> None:
        """Publish the net book change of the action at ``us``, if anything changed."""
        changes = live.book.pop_changes()
        if changes is None:
            return
        live.book.microtimestamp = us
        if self.feed.has_listeners:
            spec = live.spec
            price_scale, amount_scale = -spec.counter_decimals, -spec.base_decimals
            bids, asks = changes
            self.feed.publish(
                BookChanged(
                    spec.symbol,
                    us,
                    tuple(
                        (Decimal(p).scaleb(price_scale), Decimal(a).scaleb(amount_scale))
                        for p, a in bids
                    ),
                    tuple(
                        (Decimal(p).scaleb(price_scale), Decimal(a).scaleb(amount_scale))
                        for p, a in asks
                    ),
                )
            )

    def _publish_order(
        self,
        live: LiveMarket,
        kind: OrderEventKind,
        side: int,
        price: int,
        entry: BookEntry,
        us: int,
        traded: int,
    ) -> None:
        if not self.feed.has_listeners:
            return
        spec = live.spec
        owner = entry.owner
        self.feed.publish(
            OrderEvent(
                kind=kind,
                market=spec.symbol,
                order_id=entry.order_id,
                side=side,
                price=Decimal(price).scaleb(-spec.counter_decimals),
                amount=Decimal(entry.amount).scaleb(-spec.base_decimals),
                amount_traded=Decimal(traded).scaleb(-spec.base_decimals),
                amount_at_create=Decimal(entry.amount_at_create).scaleb(-spec.base_decimals),
                microtimestamp=us,
                user_id=None if owner is None else owner.account.user_id,
                client_order_id=None if owner is None else owner.client_order_id,
            )
        )

    def _match(
        self,
        live: LiveMarket,
        taker: Order | None,
        side: int,
        limit: int | None,
        amount: int,
        us: int,
        taker_id: int,
    ) -> list[Order]:
        """Take up to ``amount`` for an order of ``side``; settle, print and publish each
        match. Returns the users' resting orders this filled completely (to finish)."""
        matches = live.book.take(side, limit, amount)
        finished: list[Order] = []
        publish = self.feed.has_listeners
        maker_side = SELL if side == BUY else BUY
        for match in matches:
            entry = match.entry
            maker = entry.owner
            tid = self._trade_id(live, us)
            buy_fee = sell_fee = _ZERO
            if maker is None:
                if entry.amount == 0:
                    live.flow.forget(entry.order_id)
            else:
                self_trade = taker is not None and maker.account is taker.account
                fee = self._settle(
                    maker, match, tid, us, taker=False, mirror=taker if self_trade else None
                )
                if side == BUY:
                    sell_fee = fee
                else:
                    buy_fee = fee
                if maker.remaining == 0:
                    maker.entry = None
                    finished.append(maker)
                else:
                    maker.account.order_event("order_changed", maker, us, match.amount)
            if taker is not None:
                self_trade = maker is not None and maker.account is taker.account
                fee = self._settle(
                    taker, match, tid, us, taker=True, mirror=maker if self_trade else None
                )
                if side == BUY:
                    buy_fee = fee
                else:
                    sell_fee = fee
                if taker.remaining > 0:
                    taker.account.order_event("order_changed", taker, us, match.amount)
            buy_order, sell_order = (taker, maker) if side == BUY else (maker, taker)
            buy_id = taker_id if side == BUY else entry.order_id
            sell_id = entry.order_id if side == BUY else taker_id
            private = None
            if taker is not None or maker is not None:
                private = PrivateSides(
                    None if buy_order is None else buy_order.account.user_id,
                    None if sell_order is None else sell_order.account.user_id,
                    None if buy_order is None else buy_order.client_order_id,
                    None if sell_order is None else sell_order.client_order_id,
                    buy_fee,
                    sell_fee,
                )
            live.tape.record(us, tid, match.price, match.amount, side, buy_id, sell_id, private)
            if publish:
                self.feed.publish(live.tape.printed(len(live.tape) - 1))
                kind = _CHANGED if entry.amount else _DELETED
                self._publish_order(live, kind, maker_side, match.price, entry, us, match.amount)
        return finished

    # -- users' orders ------------------------------------------------------------------

    def open_order(
        self,
        account: FakeAccount,
        live: LiveMarket,
        side: int,
        amount: int,
        price: int,
        us: int,
        *,
        client_order_id: str | None = None,
        kind: str = "limit",
    ) -> Order:
        """A new order of ``account`` (not yet in the book), known to its account."""
        order = Order(
            self.order_id(live, us),
            account,
            live.spec,
            side,
            price,
            amount,
            us,
            client_order_id,
            kind,
        )
        account.orders[order.id] = order
        account.order_event("order_created", order, us)
        return order

    def execute(self, order: Order, limit: int | None, us: int, *, rest: bool) -> None:
        """Fill ``order`` against the book up to ``limit``; then rest what is left (``rest``)
        or cancel it. The caller ends the action."""
        live = self.live(order.market)
        finished = self._match(live, order, order.side, limit, order.remaining, us, order.id)
        if order.remaining == 0:
            self.finish(order, us)
        elif rest:
            self._rest(order, live, us)
        else:
            self.close(order, "Canceled", us)
        # Makers finish after the taker: their limit_price follow-ups may trade on this book.
        for maker in finished:
            self.finish(maker, us)

    def _rest(self, order: Order, live: LiveMarket, us: int) -> None:
        entry = BookEntry(
            order.id, order.remaining, order, amount_at_create=order.amount, created_us=us
        )
        order.entry = entry
        live.book.add(order.side, order.price, entry)
        self._publish_order(live, _CREATED, order.side, order.price, entry, us, 0)
        if order.side == BUY:
            # From now on the order only makes. Reserve what the rest can still cost at its
            # price and the maker fee, given the running totals already rounded, plus the
            # taker/maker fee difference: a fresh order then reserves exactly what the
            # balance check asked for, and the difference comes back when it closes.
            places = order.account.decimals(order.market.counter)
            rest = units_to_decimal(order.remaining * order.price, scale(order.market))
            traded, made = order.traded_value, order.maker_value
            need = quantize(traded + rest, places) - quantize(traded, places)
            need += quantize((made + rest) * MAKER_FEE, places) - quantize(made * MAKER_FEE, places)
            need += quantize(rest * TAKER_FEE, places) - quantize(rest * MAKER_FEE, places)
            if order.reserved > need:
                order.account.release(order, order.market.counter, order.reserved - need)
            elif order.reserved < need:
                order.account.reserve(order, order.market.counter, need - order.reserved)
        if order.expires_us is not None:
            live.flow.schedule(order.expires_us, EXPIRE, order)

    @staticmethod
    def _release_currency(order: Order) -> str:
        return order.market.counter if order.side == BUY else order.market.base

    def finish(self, order: Order, us: int) -> None:
        """A fully filled order: release what is left, place its ``limit_price`` follow-up."""
        order.status = "Finished"
        order.closed_us = us
        order.account.release(order, self._release_currency(order))
        order.account.order_event("order_deleted", order, us)
        if order.limit_price is not None:
            self._follow_up(order, order.limit_price, us)

    def close(self, order: Order, status: str, us: int) -> None:
        """Cancel or expire: leave the book, release the reservation. The caller (or the
        event loop) ends the action."""
        if order.entry is not None:
            live = self.live(order.market)
            entry = order.entry
            live.book.remove(order.side, order.price, entry)
            order.entry = None
            self._publish_order(live, _DELETED, order.side, order.price, entry, us, 0)
        order.status = status
        order.closed_us = us
        order.account.release(order, self._release_currency(order))
        order.account.order_event("order_deleted", order, us)

    def _follow_up(self, parent: Order, price: int, us: int) -> None:
        """The opposite order a filled ``limit_price`` order places, if it can be covered."""
        account, market = parent.account, parent.market
        side = SELL if parent.side == BUY else BUY
        amount = parent.amount
        if side == BUY:
            currency = market.counter
            need = buy_reserve(account, market, amount, price)
        else:
            currency = market.base
            need = quantize(
                units_to_decimal(amount, market.base_decimals), account.decimals(currency)
            )
        if account.balance(currency).available < need:
            return
        live = self.live(market)
        order = self.open_order(account, live, side, amount, price, us)
        account.reserve(order, currency, need)
        self.execute(order, price, us, rest=True)

    # -- settlement ---------------------------------------------------------------------

    @staticmethod
    def _settle(
        order: Order, match: Match, tid: int, us: int, *, taker: bool, mirror: Order | None
    ) -> Decimal:
        """Move the money of one fill; ``mirror`` is the account's own order on the other
        side. Returns the fee charged."""
        market = order.market
        account = order.account
        places = account.decimals(market.counter)
        value = units_to_decimal(match.price * match.amount, scale(market))
        before = order.traded_value
        order.traded_value += value
        settled = quantize(order.traded_value, places) - quantize(before, places)
        rate = TAKER_FEE if taker else MAKER_FEE
        role_before = order.taker_value if taker else order.maker_value
        role_after = role_before + value
        if taker:
            order.taker_value = role_after
        else:
            order.maker_value = role_after
        fee = quantize(role_after * rate, places) - quantize(role_before * rate, places)
        base = quantize(
            units_to_decimal(match.amount, market.base_decimals), account.decimals(market.base)
        )
        if order.side == BUY:
            account.spend(order, market.counter, settled + fee)
            account.credit(market.base, base)
            amounts = {market.base: base, market.counter: -settled}
        else:
            account.spend(order, market.base, base)
            account.credit(market.counter, settled - fee)
            amounts = {market.base: -base, market.counter: settled}
        order.remaining -= match.amount
        self_trade = None if mirror is None else mirror.id
        order.fills.append(Fill(tid, match.price, match.amount, settled, fee, us, self_trade))
        account.record(
            LedgerRow(tid, us, 2, amounts, fee, market, match.price, order.id, self_trade)
        )
        return fee

    # -- views --------------------------------------------------------------------------

    def next_event_us(self) -> int:
        """When the next synthetic event of any living market is due (``NEVER``: none)."""
        return min((live.flow.next_time() for live in self._markets.values()), default=NEVER)

    @staticmethod
    def snapshot(
        live: LiveMarket, depth: int | None
    ) -> tuple[int, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """``(microtimestamp, bids, asks)`` aggregated by price, best first."""
        spec, book = live.spec, live.book
        sides = tuple(
            [
                (Decimal(p).scaleb(-spec.counter_decimals), Decimal(a).scaleb(-spec.base_decimals))
                for p, a in book.aggregated(side, depth)
            ]
            for side in (BUY, SELL)
        )
        return book.microtimestamp, sides[0], sides[1]

    @staticmethod
    def detail(
        live: LiveMarket, depth: int | None
    ) -> tuple[int, list[tuple[Decimal, Decimal, int]], list[tuple[Decimal, Decimal, int]]]:
        """``(microtimestamp, bids, asks)`` with one ``(price, amount, order_id)`` per order."""
        spec, book = live.spec, live.book
        sides = tuple(
            [
                (
                    Decimal(p).scaleb(-spec.counter_decimals),
                    Decimal(e.amount).scaleb(-spec.base_decimals),
                    e.order_id,
                )
                for p, e in book.detailed(side, depth)
            ]
            for side in (BUY, SELL)
        )
        return book.microtimestamp, sides[0], sides[1]

    @staticmethod
    def resting(live: LiveMarket) -> list[RestingOrder]:
        """Every order in the book, bids then asks, each side in priority order."""
        spec = live.spec
        rows = []
        for side in (BUY, SELL):
            for price, entry in live.book.detailed(side, None):
                owner = entry.owner
                rows.append(
                    RestingOrder(
                        entry.order_id,
                        side,
                        Decimal(price).scaleb(-spec.counter_decimals),
                        Decimal(entry.amount).scaleb(-spec.base_decimals),
                        Decimal(entry.amount_at_create).scaleb(-spec.base_decimals),
                        entry.created_us,
                        None if owner is None else owner.account.user_id,
                        None if owner is None else owner.client_order_id,
                    )
                )
        return rows


def with_taker_fee(account: FakeAccount, market: MarketSpec, value: Decimal) -> Decimal:
    """``value`` plus the taker fee on it, each rounded to the counter currency."""
    places = account.decimals(market.counter)
    return quantize(value, places) + quantize(value * TAKER_FEE, places)


def buy_reserve(account: FakeAccount, market: MarketSpec, amount: int, price: int) -> Decimal:
    """The most a buy of ``amount`` at ``price`` can spend: all of it as taker."""
    return with_taker_fee(account, market, units_to_decimal(amount * price, scale(market)))
