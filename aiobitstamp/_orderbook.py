"""Local order books kept from Bitstamp's streams: pure state, no I/O, no asyncio.

Two books share one read surface (best bid and ask, top-N, depth, spread, audit):

* :class:`LocalOrderBook` (L2: one amount per price) follows ``diff_order_book_<pair>``.
* :class:`LocalOrderBookL3` (one entry per order) follows ``live_orders_<pair>``.

The stream layer feeds them decoded frames and a REST snapshot and reads their state; they
never wait, log or fetch. The L2 recipe::

    book = LocalOrderBook()
    # 1. subscribe to diff_order_book_<pair>; hand every diff over as it arrives.
    #    Until a snapshot is loaded the book only buffers them.
    book.apply_diff(data["microtimestamp"], data["bids"], data["asks"])
    # 2. GET order_book/<pair>/ and load it; buffered diffs newer than the snapshot are
    #    replayed in microtimestamp order, older ones are dropped.
    book.load_snapshot(snap["bids"], snap["asks"], snap["microtimestamp"])
    # 3. from then on each diff is applied at once.
    if book.needs_resync:  # crossed book, buffer overflow or a malformed message
        ...  # fetch a new snapshot (diffs keep buffering meanwhile) and load it

Bitstamp's diff feed carries no sequence number and no checksum, so a lost message cannot be
seen. The book checks what can be checked: a diff older than the last one applied is dropped
and counted (:attr:`~LocalOrderBook.stale_dropped`); a book left crossed by a diff discards
its levels and asks for a resync; :meth:`~LocalOrderBook.audit` compares the top of the book
with a top-100 ``order_book_<pair>`` snapshot. On reconnect or ``bts:request_reconnect`` call
:meth:`~LocalOrderBook.reset` and load a fresh snapshot.

States: ``AWAITING_SNAPSHOT`` (new or reset; diffs buffer) -> ``LIVE`` (synced; diffs apply)
-> ``NEEDS_RESYNC`` (levels discarded; diffs buffer for the next snapshot) -> ``LIVE`` ...

A book that is not live answers every query as an empty book does (``None``, ``[]``, zero),
so code that forgets to check :attr:`~LocalOrderBook.needs_resync` sees no prices at all
rather than stale ones.

Prices and amounts are exact :class:`~decimal.Decimal` values: ``"8732.02"`` and
``"8732.020"`` are one level, and ``"0"``, ``"0.00000"`` and ``"0E-8"`` all delete one.
"""

from __future__ import annotations

import decimal
import enum
import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any, Generic, TypeVar

from ._models import Side

__all__ = [
    "BookState",
    "DiffOutcome",
    "Discrepancy",
    "Level",
    "LocalOrderBook",
    "LocalOrderBookL3",
    "Order",
    "ResyncReason",
]

Number = str | Decimal
"""A price or amount as the wire sends it (a decimal string) or already parsed."""

Row = Sequence[Number]
"""One book row: ``[price, amount]``, or ``[price, amount, order_id]`` per order."""

# Every sum, difference and parse goes through this context: 100 digits is far beyond any
# price or amount, and Inexact is trapped, so a result is exact or an error, never rounded
# quietly (the thread's own context might have been set to a low precision by the caller).
# FloatOperation is trapped so a float slipped in where a string belongs is refused instead
# of becoming its binary expansion.
_EXACT = decimal.Context(
    prec=100,
    traps=[
        decimal.InvalidOperation,
        decimal.DivisionByZero,
        decimal.Overflow,
        decimal.Inexact,
        decimal.FloatOperation,
    ],
)
_parse = _EXACT.create_decimal
_ZERO = Decimal(0)
_HALF = Decimal("0.5")

# What bad input raises while parsing or comparing: unparsable or float values
# (InvalidOperation and FloatOperation are ArithmeticErrors), wrong row shapes, bad ids.
_BAD_INPUT = (ArithmeticError, TypeError, ValueError, IndexError, KeyError)

# Each side keeps the parsed price of every wire string it has seen. Hashing a fresh Decimal
# costs about as much as parsing it, and Decimal caches its hash, so handing the dict the
# same Decimal object each time makes a level update a couple of cheap lookups. The cache is
# cleared when it outgrows this (or four times the side's levels): recent prices come back.
_PRICE_CACHE_SIZE = 1 << 14

P = TypeVar("P")  # what a buffered message carries besides its microtimestamp

DEFAULT_MAX_BUFFERED = 10_000
"""Diffs (or L3 events) held while awaiting a snapshot before the oldest are dropped."""


class BookState(enum.Enum):
    """Where a local book stands in its life cycle."""

    AWAITING_SNAPSHOT = "awaiting_snapshot"
    """New or :meth:`reset`: messages are buffered until a snapshot is loaded."""
    LIVE = "live"
    """In sync: messages are applied as they arrive and the queries answer."""
    NEEDS_RESYNC = "needs_resync"
    """Found inconsistent: levels discarded, messages buffered for the next snapshot."""


class ResyncReason(enum.Enum):
    """Why a book stopped trusting itself (:attr:`LocalOrderBook.resync_reason`)."""

    CROSSED_BOOK = "crossed_book"
    """After a diff (or snapshot) the best bid was at or above the best ask."""
    BUFFER_OVERFLOW = "buffer_overflow"
    """The buffer dropped a message newer than the snapshot, so the gap cannot be bridged:
    load a newer snapshot."""
    INVALID_MESSAGE = "invalid_message"
    """A snapshot, diff or event could not be parsed (the call raised ValueError)."""


class DiffOutcome(enum.Enum):
    """What a book did with one message."""

    APPLIED = "applied"
    """The book changed."""
    BUFFERED = "buffered"
    """Held for the next snapshot (the book is not live)."""
    STALE = "stale"
    """Older than what the book already holds: dropped and counted."""
    CROSSED = "crossed"
    """Applied, and the L2 book is now crossed: it has discarded its levels and needs a
    resync. (The L3 book only reports crossing, through ``crossed``.)"""


@dataclass(frozen=True, slots=True)
class Level:
    """One price level: the total ``amount`` resting at ``price``."""

    price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One difference found by :meth:`LocalOrderBook.audit`.

    ``book_amount`` is ``None`` when the level is missing from the local book,
    ``snapshot_amount`` is ``None`` when the snapshot has no such level.
    """

    side: Side
    price: Decimal
    book_amount: Decimal | None
    snapshot_amount: Decimal | None


def _wire_decimal(value: object) -> Decimal:
    """A number from a ``live_orders`` field: exact from a string (the ``*_str`` fields);
    a float (the plain fields) through its shortest repr, so 0.1 stays 0.1."""
    if isinstance(value, float):
        value = repr(value)
    return _parse(value)  # type: ignore[arg-type]  # a wrong type raises TypeError


def _order_id(value: object) -> str:
    # Ids exceed 2**53 on some markets: a float one has already lost digits.
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected an order id as a string or integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class Order:
    """One resting order as ``live_orders_<pair>`` describes it; ``amount`` is what remains.

    Ids stay strings: they are 16 digits and must never pass through a float.
    """

    id: str
    side: Side
    price: Decimal
    amount: Decimal
    microtimestamp: int

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Order:
        """Parse the ``data`` of an ``order_created``/``order_changed``/``order_deleted``
        frame, preferring the exact ``*_str`` fields over the float ones.

        >>> Order.from_wire({"id": 1, "order_type": 1, "price_str": "1000.00",
        ...                  "amount_str": "0.05", "microtimestamp": "1646127777950000"})
        Order(id='1', side=<Side.SELL: 'sell'>, price=Decimal('1000.00'), \
amount=Decimal('0.05'), microtimestamp=1646127777950000)
        """
        try:
            return cls(
                id=_order_id(data["id_str"] if "id_str" in data else data["id"]),
                side=Side.from_wire(data["order_type"]),
                price=_wire_decimal(data["price_str"] if "price_str" in data else data["price"]),
                amount=_wire_decimal(
                    data["amount_str"] if "amount_str" in data else data["amount"]
                ),
                microtimestamp=int(data["microtimestamp"]),
            )
        except _BAD_INPUT as exc:
            raise ValueError(f"malformed live_orders event: {type(exc).__name__}: {exc}") from exc


def _amount(value: object) -> Decimal:
    """Parse an amount: zero (a delete) or positive; NaN and negatives are refused, as on
    the hot path in LocalOrderBook.apply_diff.

    Checked with Decimal's own predicates rather than comparisons, whose handling of NaN
    depends on the caller's thread context.
    """
    amount = _parse(value)  # type: ignore[arg-type]  # a wrong type raises TypeError
    if amount.is_nan() or (amount and amount.is_signed()):
        raise ValueError(f"amount must be zero or positive, got {value!r}")
    return amount


class _Side:
    """One side of a book, stored so that larger means better on both sides.

    A bid's rank is its price and an ask's rank is its negated price, so ``ranks`` ascends
    and the best level is always last: the busy top of the book sits at the end of the list,
    where inserting or deleting moves almost nothing. Negation is ``copy_negate()``, never
    unary minus, which rounds to the thread's context precision.
    """

    __slots__ = ("amounts", "best_memo", "cache", "negate", "ranks")

    def __init__(self, negate: bool) -> None:
        self.negate = negate
        self.amounts: dict[Decimal, Decimal] = {}  # rank -> amount
        self.ranks: list[Decimal] = []  # sorted ascending: best last
        self.cache: dict[object, Decimal] = {}  # wire price -> rank
        # The last best Level handed out, with the rank and amount objects it was made of.
        # A trading loop reads the top after every diff, and it changes far less often.
        self.best_memo: tuple[Decimal, Decimal, Level] | None = None

    def rank(self, price: object) -> Decimal:
        """The rank of a wire or Decimal price, interned (see _PRICE_CACHE_SIZE)."""
        rank = self.cache.get(price)
        if rank is not None:
            return rank
        value = _parse(price)  # type: ignore[arg-type]  # a wrong type raises TypeError
        if not value.is_finite() or value.is_signed() or not value:
            raise ValueError(f"price must be a positive number, got {price!r}")
        rank = value.copy_negate() if self.negate else value
        cache = self.cache
        if len(cache) >= max(_PRICE_CACHE_SIZE, 4 * len(self.amounts)):
            cache.clear()
        cache[price] = rank
        return rank

    def price(self, rank: Decimal) -> Decimal:
        return rank.copy_negate() if self.negate else rank

    def clear(self) -> None:
        self.amounts.clear()
        self.ranks.clear()

    def set_levels(self, rows: Iterable[Row]) -> None:
        """Apply a diff's rows for this side: each sets the amount at its price, a zero
        amount (however spelled) deletes the level. Raises on a malformed row."""
        amounts, ranks, cache = self.amounts, self.ranks, self.cache
        for price, amount in rows:  # a 3-element row raises ValueError: not a diff
            rank = cache.get(price)
            if rank is None:
                rank = self.rank(price)
            quantity = _parse(amount)
            if quantity:
                # One comparison refuses negatives, and NaN too: it raises, or is False
                # if the thread's context does not trap InvalidOperation.
                if not quantity > _ZERO:
                    raise ValueError(f"amount must be zero or positive, got {amount!r}")
                if rank not in amounts:
                    insort(ranks, rank)
                amounts[rank] = quantity
            # Zero: delete. A level the book lacks needs no deleting (the snapshot may
            # have been taken after it went).
            elif amounts.pop(rank, None) is not None:
                del ranks[bisect_left(ranks, rank)]

    def add(self, rank: Decimal, amount: Decimal) -> None:
        """Add to a level, creating it if needed (L3 orders)."""
        amounts = self.amounts
        held = amounts.get(rank)
        if held is None:
            insort(self.ranks, rank)
            amounts[rank] = amount
        else:
            amounts[rank] = _EXACT.add(held, amount)

    def subtract(self, rank: Decimal, amount: Decimal) -> None:
        """Take from a level (L3); the caller drops the level when its last order goes."""
        self.amounts[rank] = _EXACT.subtract(self.amounts[rank], amount)

    def drop(self, rank: Decimal) -> None:
        del self.amounts[rank]
        ranks = self.ranks
        del ranks[bisect_left(ranks, rank)]

    def top(self, n: int | None) -> list[Level]:
        ranks, amounts = self.ranks, self.amounts
        if n is None:
            n = len(ranks)
        best_first = ranks[: -n - 1 : -1] if n > 0 else []
        if self.negate:
            return [Level(rank.copy_negate(), amounts[rank]) for rank in best_first]
        return [Level(rank, amounts[rank]) for rank in best_first]

    def best(self) -> Level | None:
        if not self.ranks:
            return None
        rank = self.ranks[-1]
        amount = self.amounts[rank]
        memo = self.best_memo
        # Identity, not equality: the same two objects are the same values, so the memo
        # can never be stale; a new amount is always a new object.
        if memo is not None and memo[0] is rank and memo[1] is amount:
            return memo[2]
        level = Level(rank.copy_negate() if self.negate else rank, amount)
        self.best_memo = (rank, amount, level)
        return level

    def best_price(self) -> Decimal | None:
        return self.price(self.ranks[-1]) if self.ranks else None

    def depth(self, up_to_price: Number) -> Decimal:
        bound = _parse(up_to_price)
        ranks, amounts = self.ranks, self.amounts
        total = _ZERO
        for rank in ranks[bisect_left(ranks, bound.copy_negate() if self.negate else bound) :]:
            total = _EXACT.add(total, amounts[rank])
        return total

    def levels_from(self, rows: Iterable[Row]) -> dict[Decimal, Decimal]:
        """Snapshot rows as rank -> amount; rows per order (``group=2``) at one price are
        summed, zero rows skipped."""
        levels: dict[Decimal, Decimal] = {}
        for row in rows:
            rank = self.rank(row[0])
            amount = _amount(row[1])
            if amount:
                held = levels.get(rank)
                levels[rank] = amount if held is None else _EXACT.add(held, amount)
        return levels


def _crossed(bids: _Side, asks: _Side) -> bool:
    # The best ask is -asks.ranks[-1]: crossed when the best bid is at or above it.
    return bool(bids.ranks and asks.ranks and bids.ranks[-1] >= asks.ranks[-1].copy_negate())


class _Book(Generic[P]):
    """What both books share: the life cycle, the buffer, the counters and every query."""

    __slots__ = (
        "_applied",
        "_asks",
        "_bids",
        "_buffer",
        "_floor",
        "_lost_up_to",
        "_max_buffered",
        "_microtimestamp",
        "_reason",
        "_resyncs",
        "_stale_dropped",
        "_state",
    )

    def __init__(self, *, max_buffered: int = DEFAULT_MAX_BUFFERED) -> None:
        if max_buffered < 1:
            raise ValueError("max_buffered must be at least 1")
        self._bids = _Side(negate=False)
        self._asks = _Side(negate=True)
        self._state = BookState.AWAITING_SNAPSHOT
        self._reason: ResyncReason | None = None
        self._buffer: deque[tuple[int, P]] = deque()
        self._max_buffered = max_buffered
        # Newest microtimestamp the buffer had to drop; a snapshot older than it cannot be
        # bridged. -1 while nothing was dropped.
        self._lost_up_to = -1
        # Live messages older than this are stale: first the snapshot's microtimestamp + 1
        # (the recipe drops diffs <= the snapshot), then the last applied message's, so that
        # messages sharing one microtimestamp all apply. Infinite while the book is not
        # live, so the hot path asks one question, and only a message below the floor
        # (stale, or to be buffered) asks what state the book is in.
        self._floor: float = math.inf
        self._microtimestamp: int | None = None
        self._applied = 0
        self._stale_dropped = 0
        self._resyncs = 0

    # ---- life cycle ------------------------------------------------------------------------

    @property
    def state(self) -> BookState:
        """The book's :class:`BookState`."""
        return self._state

    @property
    def needs_resync(self) -> bool:
        """True when the book discarded its levels and wants a new snapshot (see
        :attr:`resync_reason`). Messages keep buffering meanwhile."""
        return self._state is BookState.NEEDS_RESYNC

    @property
    def resync_reason(self) -> ResyncReason | None:
        """Why the book needs a resync, or ``None`` when it does not."""
        return self._reason

    @property
    def microtimestamp(self) -> int | None:
        """Microtimestamp of the last change (snapshot or message); ``None`` unless live."""
        return self._microtimestamp

    @property
    def applied(self) -> int:
        """Messages applied so far, buffered ones replayed after a snapshot included."""
        return self._applied

    @property
    def stale_dropped(self) -> int:
        """Messages dropped for being older than the book. On a live book each may hide a
        lost change (there is no sequence number to tell), so a rising count is a reason to
        :meth:`audit` or resync."""
        return self._stale_dropped

    @property
    def resyncs(self) -> int:
        """Times the book started over: each :meth:`reset`, and each time it found itself
        inconsistent (see :class:`ResyncReason`)."""
        return self._resyncs

    @property
    def buffered(self) -> int:
        """Messages waiting for the next snapshot."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget everything, buffered messages included, and await a new snapshot.

        Call it on reconnect (or to force a resync): messages from the old connection
        cannot be joined to the new one's, since whatever was sent in between is lost.
        """
        self._clear()
        self._buffer.clear()
        self._lost_up_to = -1
        self._state = BookState.AWAITING_SNAPSHOT
        self._floor = math.inf
        self._reason = None
        self._resyncs += 1

    def _clear(self) -> None:
        self._bids.clear()
        self._asks.clear()
        self._microtimestamp = None

    def _invalidate(self, reason: ResyncReason) -> None:
        self._clear()
        self._state = BookState.NEEDS_RESYNC
        self._floor = math.inf
        self._reason = reason
        self._resyncs += 1

    def _malformed(self, what: str, exc: Exception) -> ValueError:
        """Give up on the book (a change is lost, or half applied) and describe why."""
        self._invalidate(ResyncReason.INVALID_MESSAGE)
        return ValueError(f"malformed {what}: {type(exc).__name__}: {exc}")

    def _stamp(self, microtimestamp: int | str) -> int:
        try:
            return int(microtimestamp)
        except (TypeError, ValueError) as exc:
            raise self._malformed("microtimestamp", exc) from exc

    def _hold(self, stamp: int, payload: P) -> DiffOutcome:
        buffer = self._buffer
        if len(buffer) >= self._max_buffered:
            # Drop the oldest and remember how new it was: a snapshot fetched later may
            # well be newer, and then nothing was lost. _load() checks.
            dropped = buffer.popleft()[0]
            if dropped > self._lost_up_to:
                self._lost_up_to = dropped
        buffer.append((stamp, payload))
        return DiffOutcome.BUFFERED

    def _load(self, microtimestamp: int | str, bids: Iterable[Row], asks: Iterable[Row]) -> bool:
        stamp = self._stamp(microtimestamp)
        self._clear()
        if self._lost_up_to > stamp:
            # Keep the buffer and its loss mark: a newer snapshot may still bridge them.
            self._invalidate(ResyncReason.BUFFER_OVERFLOW)
            return False
        try:
            self._fill(stamp, bids, asks)
        except _BAD_INPUT as exc:
            raise self._malformed("snapshot", exc) from exc
        if self._refuses_crossed() and _crossed(self._bids, self._asks):
            self._invalidate(ResyncReason.CROSSED_BOOK)
            return False
        return self._go_live(stamp)

    def _go_live(self, stamp: int) -> bool:
        """Go live at a just-loaded snapshot and replay the buffer over it."""
        self._state = BookState.LIVE
        self._reason = None
        self._floor = stamp + 1
        self._microtimestamp = stamp
        pending = sorted(self._buffer, key=itemgetter(0))  # stable: ties keep arrival order
        self._buffer.clear()
        self._lost_up_to = -1
        for index, (message_stamp, payload) in enumerate(pending):
            if message_stamp < self._floor:
                self._stale_dropped += 1
                continue
            try:
                outcome = self._apply(message_stamp, payload)
            except ValueError:
                self._buffer.extend(pending[index + 1 :])  # newer: kept for the next snapshot
                raise
            if outcome is DiffOutcome.CROSSED:
                self._buffer.extend(pending[index + 1 :])
                return False
        return True

    def _apply(self, stamp: int, payload: P) -> DiffOutcome:
        raise NotImplementedError

    def _fill(self, stamp: int, bids: Iterable[Row], asks: Iterable[Row]) -> None:
        raise NotImplementedError

    def _refuses_crossed(self) -> bool:
        raise NotImplementedError

    # ---- queries ---------------------------------------------------------------------------

    def best_bid(self) -> Level | None:
        """The highest bid, or ``None``."""
        return self._bids.best()

    def best_ask(self) -> Level | None:
        """The lowest ask, or ``None``."""
        return self._asks.best()

    def bids(self, n: int | None = None) -> list[Level]:
        """The best ``n`` bids (all of them when ``n`` is None), highest first."""
        return self._bids.top(n)

    def asks(self, n: int | None = None) -> list[Level]:
        """The best ``n`` asks (all of them when ``n`` is None), lowest first."""
        return self._asks.top(n)

    def amount_at(self, price: Number) -> Decimal:
        """The amount resting at ``price`` on either side; zero when there is none."""
        value = _parse(price)
        amount = self._bids.amounts.get(value)
        if amount is None:
            amount = self._asks.amounts.get(value.copy_negate())
        return _ZERO if amount is None else amount

    def depth(self, side: Side, up_to_price: Number) -> Decimal:
        """Total amount from the best level to ``up_to_price`` inclusive: bids at or above
        it for ``Side.BUY``, asks at or below it for ``Side.SELL``.

        What a market sell can fill before the price falls below 8700:
        ``book.depth(Side.BUY, "8700")``.
        """
        return (self._bids if side is Side.BUY else self._asks).depth(up_to_price)

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, or ``None`` when a side is empty."""
        bid, ask = self._bids.best_price(), self._asks.best_price()
        if bid is None or ask is None:
            return None
        return _EXACT.subtract(ask, bid)

    @property
    def mid(self) -> Decimal | None:
        """Midpoint of the best bid and the best ask, or ``None`` when a side is empty."""
        bid, ask = self._bids.best_price(), self._asks.best_price()
        if bid is None or ask is None:
            return None
        return _EXACT.multiply(_EXACT.add(bid, ask), _HALF)

    @property
    def crossed(self) -> bool:
        """True when the best bid is at or above the best ask."""
        return _crossed(self._bids, self._asks)

    def audit(
        self, snapshot_bids: Iterable[Row], snapshot_asks: Iterable[Row], depth: int = 100
    ) -> list[Discrepancy]:
        """Compare the top of the book with an ``order_book_<pair>`` snapshot, which carries
        the best ``depth`` levels of each side; an empty list means they agree.

        A side with fewer than ``depth`` rows is the whole side, so the book must hold
        nothing more on it; otherwise prices beyond the snapshot's last row are not compared.
        Call it when the book's :attr:`microtimestamp` equals the snapshot's: at any other
        moment the two describe different instants. Discrepancies come bids first, then
        asks, each side best first. Raises ValueError on a malformed row.

        >>> book = LocalOrderBook()
        >>> book.load_snapshot([["100", "1"]], [["101", "2"]], 1)
        True
        >>> book.audit([["100", "1.5"]], [["101", "2.00"]])
        [Discrepancy(side=<Side.BUY: 'buy'>, price=Decimal('100'), book_amount=Decimal('1'), \
snapshot_amount=Decimal('1.5'))]
        """
        found: list[Discrepancy] = []
        for side, book_side, rows in (
            (Side.BUY, self._bids, snapshot_bids),
            (Side.SELL, self._asks, snapshot_asks),
        ):
            rows = list(rows)
            try:
                expected = book_side.levels_from(rows)
            except _BAD_INPUT as exc:
                raise ValueError(f"malformed audit snapshot: {type(exc).__name__}: {exc}") from exc
            ranks = book_side.ranks
            if len(rows) >= depth and expected:
                ranks = ranks[bisect_left(ranks, min(expected)) :]  # min rank = worst price
            held = book_side.amounts
            for rank in sorted(set(ranks).union(expected), reverse=True):
                have, want = held.get(rank), expected.get(rank)
                if have != want:
                    found.append(Discrepancy(side, book_side.price(rank), have, want))
        return found

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self._state.value}: {len(self._bids.ranks)} bids, "
            f"{len(self._asks.ranks)} asks, best_bid={self.best_bid()!r}, "
            f"best_ask={self.best_ask()!r}>"
        )


class LocalOrderBook(_Book[tuple[Iterable[Row], Iterable[Row]]]):
    """An L2 book (one amount per price) kept from ``diff_order_book_<pair>``.

    >>> book = LocalOrderBook()
    >>> book.apply_diff("1583656800237527", [["8732.02", "0.5"]], [["8735.67", "0"]])
    <DiffOutcome.BUFFERED: 'buffered'>
    >>> book.load_snapshot([["8732.02", "1.0"]], [["8735.67", "2.0"]], "1583656800000000")
    True
    >>> book.best_bid(), book.best_ask()
    (Level(price=Decimal('8732.02'), amount=Decimal('0.5')), None)

    Best bid and ask are O(1), the top ``n`` levels O(n). Updating a level is a couple of
    dict operations; adding or removing one also moves the sorted price list, cheaply, since
    the busy top of the book sits at its end.

    ``max_buffered`` bounds the diffs held while no snapshot is loaded: past it the oldest
    are dropped, and a snapshot older than a dropped diff is refused (:attr:`needs_resync`,
    ``ResyncReason.BUFFER_OVERFLOW``) since the changes in between are gone.
    """

    __slots__ = ()

    def load_snapshot(
        self, bids: Iterable[Row], asks: Iterable[Row], microtimestamp: int | str
    ) -> bool:
        """Replace the book with a REST ``order_book/<pair>/`` snapshot, then replay the
        buffered diffs newer than it in microtimestamp order (older ones count as stale).

        Rows are ``[price, amount]``, or ``[price, amount, order_id]`` from ``group=2`` whose
        amounts at one price are summed; strings or Decimals, in any order. Returns True when
        the book is live, False when it needs another snapshot (see :attr:`resync_reason`).
        Raises ValueError on a malformed row or buffered diff, leaving the book needing a
        resync.
        """
        return self._load(microtimestamp, bids, asks)

    def apply_diff(
        self, microtimestamp: int | str, bids: Iterable[Row], asks: Iterable[Row]
    ) -> DiffOutcome:
        """Apply one ``diff_order_book_<pair>`` message, or buffer it until a snapshot.

        Each row sets the amount at a price; a zero amount (``"0"``, ``"0.00000"``, ...)
        deletes the level. A diff older than the last one applied is dropped as stale.
        Returns what happened: ``DiffOutcome.CROSSED`` means the book discarded its levels
        and awaits a new snapshot. Raises ValueError on a malformed diff, leaving the book
        needing a resync (part of the diff may have been applied).
        """
        try:
            stamp = int(microtimestamp)
        except (TypeError, ValueError) as exc:
            raise self._malformed("microtimestamp", exc) from exc
        if stamp < self._floor:
            if self._state is not BookState.LIVE:
                # Copied: the rows are read only when a snapshot arrives.
                return self._hold(stamp, (list(bids), list(asks)))
            self._stale_dropped += 1
            return DiffOutcome.STALE
        book_bids, book_asks = self._bids, self._asks
        try:
            # Most diffs change one side only: an empty list (the wire's) is skipped at
            # the cost of a test; anything else is read, so a side that is not rows
            # (null, a number) is still refused.
            if bids.__class__ is not list or bids:
                book_bids.set_levels(bids)
            if asks.__class__ is not list or asks:
                book_asks.set_levels(asks)
        except _BAD_INPUT as exc:
            raise self._malformed(f"diff at microtimestamp {stamp}", exc) from exc
        self._floor = self._microtimestamp = stamp
        self._applied += 1
        # _crossed(), inline: it runs on every diff.
        bid_ranks, ask_ranks = book_bids.ranks, book_asks.ranks
        if bid_ranks and ask_ranks and bid_ranks[-1] >= ask_ranks[-1].copy_negate():
            self._invalidate(ResyncReason.CROSSED_BOOK)
            return DiffOutcome.CROSSED
        return DiffOutcome.APPLIED

    def _apply(self, stamp: int, payload: tuple[Iterable[Row], Iterable[Row]]) -> DiffOutcome:
        # A buffered diff replayed after a snapshot takes the live path.
        return self.apply_diff(stamp, payload[0], payload[1])

    def _fill(self, stamp: int, bids: Iterable[Row], asks: Iterable[Row]) -> None:
        for side, rows in ((self._bids, bids), (self._asks, asks)):
            levels = side.levels_from(rows)
            side.amounts.update(levels)
            side.ranks[:] = sorted(levels)

    def _refuses_crossed(self) -> bool:
        return True


class _Event(enum.Enum):
    CREATED = "order_created"
    CHANGED = "order_changed"
    DELETED = "order_deleted"


class LocalOrderBookL3(_Book[tuple[_Event, Order | str]]):
    """An order-by-order (L3) book kept from ``live_orders_<pair>``.

    It answers every L2 query (each level is the sum of its orders, kept up to date as they
    change), plus :meth:`orders_at` in time priority and :meth:`order`; :meth:`to_l2` copies
    its levels into a :class:`LocalOrderBook`.

    The life cycle is the L2 book's: events buffer until :meth:`load_snapshot`, events no
    newer than the snapshot are dropped, and an event older than the last one applied is
    stale. On ``live_orders`` the microtimestamp is the time of the action, so this holds
    for deletes of old orders too. Without a per-order snapshot, load an empty one to follow
    only what happens from then on: an ``order_changed`` for an unknown id adds the order (at
    the back of its level), an ``order_deleted`` for one is ignored.

    Unlike the L2 book it does not discard itself when crossed: a match reaches this channel
    as separate events, and an aggressive order may be announced before the fills that take
    it out, so a momentary crossing is expected. Check :attr:`crossed` before trading on it.

    >>> book = LocalOrderBookL3()
    >>> book.load_snapshot([], [], 0)
    True
    >>> book.apply_event("order_created", {"id": 7, "order_type": 0, "price_str": "100.5",
    ...     "amount_str": "2", "microtimestamp": "1646127777950000"})
    <DiffOutcome.APPLIED: 'applied'>
    >>> book.best_bid()
    Level(price=Decimal('100.5'), amount=Decimal('2'))
    """

    __slots__ = ("_orders", "_queues")

    def __init__(self, *, max_buffered: int = DEFAULT_MAX_BUFFERED) -> None:
        super().__init__(max_buffered=max_buffered)
        self._orders: dict[str, Order] = {}
        # Per side, rank -> that level's orders by id. A dict keeps insertion order, and
        # replacing a value keeps its key's place: time priority for free.
        self._queues: dict[Side, dict[Decimal, dict[str, Order]]] = {Side.BUY: {}, Side.SELL: {}}

    def load_snapshot(
        self, bids: Iterable[Row], asks: Iterable[Row], microtimestamp: int | str
    ) -> bool:
        """Replace the book with per-order rows ``[price, amount, order_id]`` (such as REST
        ``order_book/<pair>/?group=2``), each level's orders in time priority, then replay the
        buffered events newer than it. Returns True when the book is live. Raises ValueError
        on a malformed row, leaving the book needing a resync."""
        return self._load(microtimestamp, bids, asks)

    def apply_event(self, event: str, data: Mapping[str, Any]) -> DiffOutcome:
        """Apply one ``live_orders_<pair>`` frame, given its ``event`` name and ``data``.

        Raises ValueError for another event name, or for a malformed payload, which also
        leaves the book needing a resync (an order's change is lost).
        """
        try:
            kind = _Event(event)
        except ValueError:
            raise ValueError(f"not a live_orders event: {event!r}") from None
        try:
            if kind is _Event.DELETED:
                # A delete needs only the id: do not refuse one over the other fields.
                order_id = _order_id(data["id_str"] if "id_str" in data else data["id"])
                return self.order_deleted(order_id, int(data["microtimestamp"]))
            order = Order.from_wire(data)
        except _BAD_INPUT as exc:
            raise self._malformed(f"{event} event", exc) from exc
        return self._receive(order.microtimestamp, (kind, order))

    def order_created(self, order: Order) -> DiffOutcome:
        """A new order rests in the book, behind the orders already at its price."""
        return self._receive(order.microtimestamp, (_Event.CREATED, order))

    def order_changed(self, order: Order) -> DiffOutcome:
        """An order's remaining amount (or price) changed. At the same price it keeps its
        place in the queue; a zero amount removes it."""
        return self._receive(order.microtimestamp, (_Event.CHANGED, order))

    def order_deleted(self, order_id: str, microtimestamp: int | str) -> DiffOutcome:
        """An order left the book (filled or cancelled)."""
        return self._receive(microtimestamp, (_Event.DELETED, order_id))

    def order(self, order_id: str) -> Order | None:
        """The resting order with this id, or ``None``."""
        return self._orders.get(order_id)

    def orders_at(self, price: Number) -> list[Order]:
        """The orders resting at ``price`` (either side), first in time priority first."""
        value = _parse(price)
        queue = self._queues[Side.BUY].get(value)
        if queue is None:
            queue = self._queues[Side.SELL].get(value.copy_negate())
        return [] if queue is None else list(queue.values())

    def to_l2(self) -> LocalOrderBook:
        """An independent :class:`LocalOrderBook` holding this book's levels: live at the
        same microtimestamp when this book is live, awaiting a snapshot otherwise."""
        book = LocalOrderBook()
        stamp = self._microtimestamp
        if self._state is BookState.LIVE and stamp is not None:
            for mine, theirs in ((self._bids, book._bids), (self._asks, book._asks)):
                theirs.amounts.update(mine.amounts)
                theirs.ranks[:] = mine.ranks
            book._go_live(stamp)
            book._floor = self._floor
        return book

    def _receive(
        self, microtimestamp: int | str, payload: tuple[_Event, Order | str]
    ) -> DiffOutcome:
        stamp = self._stamp(microtimestamp)
        if stamp < self._floor:
            if self._state is not BookState.LIVE:
                return self._hold(stamp, payload)
            self._stale_dropped += 1
            return DiffOutcome.STALE
        return self._apply(stamp, payload)

    def _clear(self) -> None:
        super()._clear()
        self._orders.clear()
        for queues in self._queues.values():
            queues.clear()

    def _fill(self, stamp: int, bids: Iterable[Row], asks: Iterable[Row]) -> None:
        for side, rows in ((Side.BUY, bids), (Side.SELL, asks)):
            for row in rows:
                if len(row) < 3:
                    raise ValueError("an L3 snapshot row is [price, amount, order_id]")
                self._put(Order(_order_id(row[2]), side, _parse(row[0]), _amount(row[1]), stamp))

    def _refuses_crossed(self) -> bool:
        return False

    def _apply(self, stamp: int, payload: tuple[_Event, Order | str]) -> DiffOutcome:
        subject = payload[1]
        try:
            if isinstance(subject, Order):
                _amount(subject.amount)  # refuse a negative or NaN amount before any change
                self._put(subject)
            else:
                self._remove(subject)
        except _BAD_INPUT as exc:
            raise self._malformed(f"{payload[0].value} event", exc) from exc
        self._floor = self._microtimestamp = stamp
        self._applied += 1
        return DiffOutcome.APPLIED

    def _put(self, order: Order) -> None:
        """Create or change an order; a zero amount removes it."""
        side = self._bids if order.side is Side.BUY else self._asks
        rank = side.rank(order.price)
        previous = self._orders.get(order.id)
        if previous is not None:
            if previous.side is order.side and previous.price == order.price and order.amount:
                # Same level: replace in place, so the order keeps its queue position.
                self._queues[order.side][rank][order.id] = order
                side.subtract(rank, previous.amount)
                side.add(rank, order.amount)
                self._orders[order.id] = order
                return
            self._remove(order.id)
        if not order.amount:
            return
        self._orders[order.id] = order
        self._queues[order.side].setdefault(rank, {})[order.id] = order
        side.add(rank, order.amount)

    def _remove(self, order_id: str) -> None:
        order = self._orders.pop(order_id, None)
        if order is None:
            return  # placed before the snapshot and never seen since: nothing to take away
        side = self._bids if order.side is Side.BUY else self._asks
        rank = side.rank(order.price)
        queues = self._queues[order.side]
        queue = queues[rank]
        del queue[order_id]
        if queue:
            side.subtract(rank, order.amount)
        else:
            del queues[rank]
            side.drop(rank)
