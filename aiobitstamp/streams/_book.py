"""A local order book kept live from the streams: the wiring around ``_orderbook``'s pure
books (snapshot, diffs, checks), the hub (subscriptions, reconnects) and REST (snapshots).

The L2 recipe, run for you:

1. subscribe to ``diff_order_book_{pair}``; once the exchange acknowledges it, every diff
   goes to the book, which buffers them;
2. fetch the REST snapshot (``order_book/{pair}/``) and load it: buffered diffs newer than
   its ``microtimestamp`` are replayed in order, older ones dropped;
3. apply each diff as it arrives (a zero amount, however spelled, deletes its level).

The book resyncs (steps 2-3 again, diffs buffering meanwhile) whenever it may be wrong:

* after a reconnect that may have lost diffs (the hub's :class:`Gap`): a hard drop, a
  silent connection, a ``bts:request_reconnect`` handover that could not be joined; a
  handover whose two streams were joined lost nothing and needs none;
* when a diff leaves the book crossed, when a diff older than the book arrives on a live
  book, or when a frame cannot be parsed;
* with ``audit=True``, when a top-100 ``order_book_{pair}`` snapshot disagrees with the
  book at the same microtimestamp, or shows the book has fallen ``stale_after`` seconds
  behind;
* on demand, :meth:`LiveOrderBook.resync`.

The L3 option follows ``live_orders_{pair}`` with a per-order REST snapshot (``group=2``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._exceptions import BitstampError, ClientClosedError
from .._models import Side
from .._orderbook import (
    BookState,
    DiffOutcome,
    Discrepancy,
    Level,
    LocalOrderBook,
    LocalOrderBookL3,
    Order,
)
from ._channels import Channel, ChannelKind
from ._events import BookSnapshot, Gap, StreamEvent

if TYPE_CHECKING:
    from ._hub import ChannelState, StreamHub

__all__ = ["LiveOrderBook", "RestSnapshot"]

RestSnapshot = Callable[[str], Awaitable[tuple[int, Sequence[Any], Sequence[Any]]]]
"""``pair`` -> ``(microtimestamp, bids, asks)``: rows ``[price, amount]`` (or with an
order id, for L3), best first."""

_LIVE = BookState.LIVE
_APPLIED, _CROSSED, _STALE = DiffOutcome.APPLIED, DiffOutcome.CROSSED, DiffOutcome.STALE
_BAD_FRAME = (KeyError, TypeError, ValueError, AttributeError, IndexError)


class _Feed:
    """The book as the hub's subscriber: raw frames, gaps, audit snapshots, the end."""

    __slots__ = ("_owner", "deliver_frame")

    def __init__(self, owner: LiveOrderBook) -> None:
        self._owner = owner
        # The hottest call: straight to the book's handler, no hop through here.
        self.deliver_frame: Callable[[str, Any], None] = (
            owner._on_order_frame if owner.l3 else owner._on_diff_frame
        )

    def deliver(self, event: StreamEvent) -> None:
        self._owner._on_event(event)

    def fail(self, error: BaseException) -> None:
        self._owner._on_fail(error)


class LiveOrderBook:
    """A local order book kept in sync with the exchange; see the module docstring.

    Get one from ``client.local_order_book(pair)``::

        async with client.local_order_book("btcusd") as book:
            while True:
                await book.updated()
                print(book.best_bid(), book.best_ask(), book.bids(5))

    or ``book = await client.local_order_book("btcusd")`` and ``await book.aclose()``
    when done. Both return once the first snapshot is loaded.

    Queries (O(1) best bid/ask, O(n) top-n) read the pure book directly; while a resync
    is under way the book answers as an empty one (``None``, ``[]``), never with stale
    prices. ``on_update`` is called (synchronously, with the book) after every change:
    the lowest-latency hook for a quoting strategy.

    Counters: ``diffs_applied``, ``stale_dropped``, ``resyncs`` and ``resync_reasons``,
    ``audits`` and ``audit_failures``, ``malformed``.
    """

    def __init__(
        self,
        hub: StreamHub,
        pair: str,
        *,
        rest_snapshot: RestSnapshot,
        l3: bool = False,
        audit: bool = False,
        stale_after: float = 10.0,
        max_buffered: int = 100_000,
    ) -> None:
        self._hub = hub
        self.pair = pair
        self.l3 = l3
        self._rest_snapshot = rest_snapshot
        self._book: LocalOrderBook | LocalOrderBookL3
        if l3:
            self._book = l3_book = LocalOrderBookL3(max_buffered=max_buffered)
            self._apply_event = l3_book.apply_event
        else:
            self._book = l2_book = LocalOrderBook(max_buffered=max_buffered)
            self._apply_diff = l2_book.apply_diff
        kind = ChannelKind.LIVE_ORDERS if l3 else ChannelKind.DIFF_ORDER_BOOK
        self._channel = Channel.of(kind, pair)
        self._audit_channel = Channel.of(ChannelKind.ORDER_BOOK, pair) if audit else None
        self._stale_after = stale_after
        self._feed = _Feed(self)
        self._states: list[ChannelState] = []
        self._started = False
        self._closed = False
        self._error: BaseException | None = None
        self._synced = asyncio.Event()
        self._resync_task: asyncio.Task[None] | None = None
        self._refetch = False  # a gap arrived while a snapshot was being fetched
        self._snapshot_micros = -1  # of the snapshot the book was last loaded from
        self._waiters: list[asyncio.Future[None]] = []
        self._pending_audit: tuple[BookSnapshot, float] | None = None
        self.on_update: Callable[[LiveOrderBook], None] | None = None
        self.resyncs = 0
        self.resync_reasons: collections.Counter[str] = collections.Counter()
        self.audits = 0
        self.audit_failures = 0
        self.malformed = 0
        self.last_discrepancies: list[Discrepancy] = []

    def __repr__(self) -> str:
        return f"<LiveOrderBook {self.pair} {self._book.state.value}: {self._book!r}>"

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> LiveOrderBook:
        """Subscribe, load the first snapshot, and return once the book is live."""
        if self._closed:
            raise ClientClosedError("this order book was closed")
        if not self._started:
            self._started = True
            self._states = self._hub.attach(self._feed, [self._channel], frames=True)
            if self._audit_channel is not None:
                self._states += self._hub.attach(self._feed, [self._audit_channel])
            try:
                await self._hub.wait_ready(self._states)
            except BaseException:
                await self.aclose()
                raise
            self._schedule_resync("start", reset=False)
        await self.wait_synced()
        return self

    def __await__(self) -> Generator[Any, None, LiveOrderBook]:
        return self.start().__await__()

    async def __aenter__(self) -> LiveOrderBook:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Unsubscribe and stop resyncing (idempotent). Queries then answer as the book
        last was."""
        if self._closed:
            return
        self._closed = True
        channels = [self._channel] + ([self._audit_channel] if self._audit_channel else [])
        if self._started and not self._hub.closed:
            self._hub.detach(self._feed, channels)
        task, self._resync_task = self._resync_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail_waiters(ClientClosedError("this order book was closed"))

    @property
    def closed(self) -> bool:
        """True once closed (by :meth:`aclose`, or with its client)."""
        return self._closed

    # -- queries ------------------------------------------------------------------------

    @property
    def book(self) -> LocalOrderBook | LocalOrderBookL3:
        """The pure book underneath (read it, do not feed it)."""
        return self._book

    @property
    def synced(self) -> bool:
        """True while the book is live (loaded and in sync)."""
        return self._book.state is _LIVE

    @property
    def state(self) -> BookState:
        """The pure book's state."""
        return self._book.state

    @property
    def microtimestamp(self) -> int | None:
        """Microtimestamp of the last change applied; ``None`` unless live."""
        return self._book.microtimestamp

    def best_bid(self) -> Level | None:
        """The highest bid, or ``None``."""
        return self._book.best_bid()

    def best_ask(self) -> Level | None:
        """The lowest ask, or ``None``."""
        return self._book.best_ask()

    def bids(self, n: int | None = None) -> list[Level]:
        """The best ``n`` bids (all when ``None``), highest first."""
        return self._book.bids(n)

    def asks(self, n: int | None = None) -> list[Level]:
        """The best ``n`` asks (all when ``None``), lowest first."""
        return self._book.asks(n)

    def amount_at(self, price: str | Decimal) -> Decimal:
        """The amount resting at ``price`` on either side; zero when none."""
        return self._book.amount_at(price)

    def depth(self, side: Side, up_to_price: str | Decimal) -> Decimal:
        """Total amount from the best level down to ``up_to_price`` on ``side``."""
        return self._book.depth(side, up_to_price)

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, or ``None``."""
        return self._book.spread

    @property
    def mid(self) -> Decimal | None:
        """The midpoint of best bid and ask, or ``None``."""
        return self._book.mid

    def orders_at(self, price: str | Decimal) -> list[Order]:
        """L3 only: the orders at ``price``, first in time priority first."""
        if not isinstance(self._book, LocalOrderBookL3):
            raise TypeError("orders_at needs local_order_book(..., l3=True)")
        return self._book.orders_at(price)

    @property
    def diffs_applied(self) -> int:
        """Diffs (L3: order events) applied so far."""
        return self._book._applied  # not through its property: read after every diff

    @property
    def stale_dropped(self) -> int:
        """Diffs dropped for being older than the book."""
        return self._book.stale_dropped

    # -- waiting ------------------------------------------------------------------------

    async def wait_synced(self) -> None:
        """Wait until the book is live (raises once it was closed)."""
        while not (self._synced.is_set() and self._book.state is _LIVE):
            if self._error is not None:
                raise self._error
            if self._closed:
                raise ClientClosedError("this order book was closed")
            await self._next_signal()
        if self._error is not None:
            raise self._error

    async def updated(self) -> None:
        """Wait for the next change of the book (or the end of a resync)."""
        if self._error is not None:
            raise self._error
        if self._closed:
            raise ClientClosedError("this order book was closed")
        await self._next_signal()
        if self._error is not None:
            raise self._error

    async def _next_signal(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    def _signal(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _fail_waiters(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error)

    # -- what the hub delivers ----------------------------------------------------------

    def _on_diff_frame(self, event: str, data: Any) -> None:
        try:
            outcome = self._apply_diff(data["microtimestamp"], data["bids"], data["asks"])
        except _BAD_FRAME:
            self.malformed += 1
            self._schedule_resync("malformed", reset=False)
            return
        if outcome is _APPLIED:  # the usual case, inline
            if self._pending_audit is not None:
                self._audit_pending()
            callback = self.on_update
            if callback is not None:
                callback(self)
            if self._waiters:
                self._signal()
            return
        self._after(outcome, data)

    def _on_order_frame(self, event: str, data: Any) -> None:
        try:
            outcome = self._apply_event(event, data)
        except _BAD_FRAME:
            self.malformed += 1
            self._schedule_resync("malformed", reset=False)
            return
        self._after(outcome, data)

    def _after(self, outcome: DiffOutcome, data: Any) -> None:
        if outcome is _APPLIED:
            if self._pending_audit is not None:
                self._audit_pending()
            callback = self.on_update
            if callback is not None:
                callback(self)
            if self._waiters:
                self._signal()
        elif outcome is _CROSSED:
            self._schedule_resync("crossed", reset=False)
        elif outcome is _STALE and self._out_of_order(data):  # (stale: the book was live)
            # Older than a diff already applied, yet newer than the snapshot: the stream
            # is not in order, so the book cannot be trusted. (Diffs no newer than the
            # snapshot are the expected overlap: sent before it, received after it.)
            self._schedule_resync("stale", reset=True)

    def _out_of_order(self, data: Any) -> bool:
        try:
            return int(data["microtimestamp"]) > self._snapshot_micros
        except _BAD_FRAME:
            return True

    def _on_event(self, event: StreamEvent) -> None:
        if isinstance(event, Gap):
            # Diffs from before the hole cannot be joined to those after it.
            self._schedule_resync("reconnected", reset=True)
        elif isinstance(event, BookSnapshot):
            self._on_audit_snapshot(event)

    def _on_fail(self, error: BaseException) -> None:
        self._closed = True
        task, self._resync_task = self._resync_task, None
        if task is not None:
            task.cancel()
        self._fail_waiters(error)

    # -- audit --------------------------------------------------------------------------

    def _on_audit_snapshot(self, snapshot: BookSnapshot) -> None:
        now = asyncio.get_running_loop().time()
        pending = self._pending_audit
        if pending is not None and now - pending[1] > self._stale_after and self.synced:
            # An older top-100 is still ahead of the book after all this time: the book
            # stopped following the exchange.
            self._pending_audit = None
            self.audit_failures += 1
            self._schedule_resync("stale", reset=True)
            return
        if pending is None or snapshot.microtimestamp > pending[0].microtimestamp:
            self._pending_audit = (snapshot, now if pending is None else pending[1])
        self._audit_pending()

    def _audit_pending(self) -> None:
        pending = self._pending_audit
        book = self._book
        if pending is None or book.state is not _LIVE or book.microtimestamp is None:
            return
        snapshot = pending[0]
        if book.microtimestamp < snapshot.microtimestamp:
            return  # the diff for that instant has not arrived yet
        self._pending_audit = None
        if book.microtimestamp > snapshot.microtimestamp:
            return  # the book moved on past that instant: nothing to compare
        self.audits += 1
        found = book.audit(snapshot.bids.raw_rows, snapshot.asks.raw_rows, depth=100)
        if found:
            self.audit_failures += 1
            self.last_discrepancies = found
            self._schedule_resync("audit", reset=True)

    # -- resync -------------------------------------------------------------------------

    async def resync(self) -> None:
        """Reload the book from a fresh REST snapshot now, and wait until it is live."""
        if self._closed:
            raise ClientClosedError("this order book was closed")
        self._schedule_resync("requested", reset=True)
        await self.wait_synced()

    def _schedule_resync(self, reason: str, *, reset: bool) -> None:
        if self._closed:
            return
        self.resync_reasons[reason] += 1
        self._synced.clear()
        self._pending_audit = None
        if reset:
            self._book.reset()
        task = self._resync_task
        if task is not None and not task.done():
            # A snapshot being fetched now may predate this reason (a reconnect): the
            # running resync fetches another.
            self._refetch = True
            return
        self._resync_task = asyncio.get_running_loop().create_task(self._resync())

    async def _resync(self) -> None:
        hub = self._hub
        backoff = hub.options.backoff
        attempt = 0
        while not self._closed:
            self._refetch = False
            try:
                micros, bids, asks = await self._rest_snapshot(self.pair)
            except BitstampError:
                micros = -1
                bids = asks = ()
            if self._refetch:
                continue
            live = False
            if micros >= 0:
                try:
                    live = self._book.load_snapshot(bids, asks, micros)
                except ValueError:
                    live = False
                self._snapshot_micros = micros
            if live:
                break
            attempt += 1
            await asyncio.sleep(backoff.delay(attempt))  # before asking REST again
        self.resyncs += 1
        self._synced.set()
        self._signal()
        callback = self.on_update
        if callback is not None:
            callback(self)


def rows_of(levels: Iterable[Any]) -> list[Any]:
    """Rows ``[price, amount(, order_id)]`` from a REST book side (lazy ``PriceLevels`` give
    their wire rows; anything else is listed as it is)."""
    raw = getattr(levels, "raw_rows", None)
    return list(raw) if raw is not None else list(levels)
