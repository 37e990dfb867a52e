"""Tests for aiobitstamp._orderbook: the pure local L2 and L3 books."""

from __future__ import annotations

import decimal
import doctest
import random
from collections import deque
from decimal import Decimal, localcontext
from typing import Any

import pytest

from aiobitstamp import _orderbook
from aiobitstamp._models import Side
from aiobitstamp._orderbook import (
    BookState,
    DiffOutcome,
    Discrepancy,
    Level,
    LocalOrderBook,
    LocalOrderBookL3,
    Order,
    ResyncReason,
)

D = Decimal


def sides(book: LocalOrderBook | LocalOrderBookL3) -> tuple[list[tuple[D, D]], list[tuple[D, D]]]:
    """The whole book as (price, amount) pairs, best first."""
    return (
        [(level.price, level.amount) for level in book.bids()],
        [(level.price, level.amount) for level in book.asks()],
    )


def live_book(
    bids: Any = (("100", "1"),), asks: Any = (("101", "2"),), stamp: int = 1000
) -> LocalOrderBook:
    book = LocalOrderBook()
    assert book.load_snapshot(bids, asks, stamp)
    return book


# --- module surface -------------------------------------------------------------------------


def test_all_is_sorted_and_names_public_classes() -> None:
    assert _orderbook.__all__ == sorted(_orderbook.__all__)
    for name in _orderbook.__all__:
        assert getattr(_orderbook, name).__doc__


def test_doctests_hold() -> None:
    failed, attempted = doctest.testmod(_orderbook)
    assert attempted >= 10
    assert failed == 0


def test_levels_are_frozen_and_slotted() -> None:
    level = Level(D("1"), D("2"))
    with pytest.raises(AttributeError):
        level.price = D("3")  # type: ignore[misc]
    assert not hasattr(level, "__dict__")
    assert not hasattr(live_book(), "__dict__")
    assert not hasattr(LocalOrderBookL3(), "__dict__")


# --- snapshot and buffering -----------------------------------------------------------------


def test_a_new_book_buffers_diffs_and_answers_as_empty() -> None:
    book = LocalOrderBook()
    assert book.state is BookState.AWAITING_SNAPSHOT and not book.needs_resync
    assert book.apply_diff("10", [["100", "1"]], []) is DiffOutcome.BUFFERED
    assert book.buffered == 1 and book.applied == 0
    assert book.best_bid() is None and book.best_ask() is None
    assert book.bids() == [] and book.asks(5) == []
    assert book.amount_at("100") == 0 and book.spread is None and book.mid is None
    assert book.microtimestamp is None


def test_snapshot_replays_buffered_diffs_in_microtimestamp_order() -> None:
    book = LocalOrderBook()
    # Arrival order 30, 10, 20: replay must run 10, 20, 30.
    book.apply_diff("30", [["100", "3"]], [["105", "0"]])
    book.apply_diff("10", [["100", "1"], ["99", "9"]], [])
    book.apply_diff("20", [["100", "2"], ["99", "0"]], [["105", "5"]])
    assert book.load_snapshot([["100", "0.5"]], [["101", "1"]], "5")
    assert book.state is BookState.LIVE
    assert sides(book) == ([(D("100"), D("3"))], [(D("101"), D("1"))])
    assert book.applied == 3 and book.stale_dropped == 0 and book.buffered == 0
    assert book.microtimestamp == 30


def test_equal_microtimestamps_replay_in_arrival_order() -> None:
    book = LocalOrderBook()
    book.apply_diff("20", [["100", "1"]], [])
    book.apply_diff("20", [["100", "2"]], [])
    book.load_snapshot([], [["101", "1"]], 10)
    assert book.amount_at("100") == 2


def test_snapshot_drops_buffered_diffs_no_newer_than_itself() -> None:
    book = LocalOrderBook()
    book.apply_diff("3", [["100", "7"]], [])  # older than the snapshot
    book.apply_diff("5", [["99", "7"]], [])  # same microtimestamp: already in it
    book.apply_diff("6", [["98", "1"]], [])
    assert book.load_snapshot([["100", "1"]], [["101", "1"]], "5")
    assert sides(book)[0] == [(D("100"), D("1")), (D("98"), D("1"))]
    assert book.stale_dropped == 2 and book.applied == 1


def test_buffered_rows_are_copied() -> None:
    book = LocalOrderBook()
    rows = [["100", "1"]]
    book.apply_diff(10, rows, [])
    rows.append(["99", "1"])
    book.load_snapshot([], [["101", "1"]], 1)
    assert [level.price for level in book.bids()] == [D("100")]


def test_snapshot_rows_may_arrive_in_any_order_and_per_order() -> None:
    # group=2 rows carry an order id; rows at one price are one level, summed.
    book = live_book(
        bids=[["99", "1", "11"], ["100", "0.5", "12"], ["100", "0.25", "13"], ["98", "0"]],
        asks=[["102", "1", "21"], ["101", "2", "22"]],
    )
    assert sides(book) == (
        [(D("100"), D("0.75")), (D("99"), D("1"))],
        [(D("101"), D("2")), (D("102"), D("1"))],
    )


# --- live diffs -----------------------------------------------------------------------------


def test_a_diff_older_than_the_last_applied_is_stale() -> None:
    book = live_book()
    assert book.apply_diff("1100", [["100", "5"]], []) is DiffOutcome.APPLIED
    assert book.apply_diff("1050", [["100", "6"]], []) is DiffOutcome.STALE
    assert book.amount_at("100") == 5 and book.stale_dropped == 1
    # One microtimestamp may carry several messages: an equal one applies.
    assert book.apply_diff("1100", [["100", "7"]], []) is DiffOutcome.APPLIED
    assert book.amount_at("100") == 7 and book.applied == 2 and book.microtimestamp == 1100


def test_a_diff_equal_to_the_snapshot_is_stale_once_live() -> None:
    book = live_book(stamp=1000)
    assert book.apply_diff(1000, [["100", "9"]], []) is DiffOutcome.STALE
    assert book.apply_diff(1001, [["100", "9"]], []) is DiffOutcome.APPLIED


@pytest.mark.parametrize("zero", ["0", "0.00000", "0.00000000", "0E-8", "-0", D(0), D("0.000")])
def test_every_spelling_of_zero_deletes(zero: str | D) -> None:
    book = live_book(bids=[["100", "1"], ["99", "1"]])
    assert book.apply_diff(2000, [["100", zero]], []) is DiffOutcome.APPLIED
    assert book.best_bid() == Level(D("99"), D("1"))
    assert book.amount_at("100") == 0


def test_deleting_an_absent_level_changes_nothing() -> None:
    book = live_book()
    book.apply_diff(2000, [["95", "0"]], [["200", "0.0"]])
    assert sides(book) == ([(D("100"), D("1"))], [(D("101"), D("2"))])


def test_equal_valued_prices_are_one_level() -> None:
    book = live_book(bids=[["8732.02", "1"]], asks=[["8735.67", "1"]])
    book.apply_diff(2000, [["8732.020", "2"], [D("8732.0200"), "3"]], [["8735.6700", "4"]])
    assert sides(book) == ([(D("8732.02"), D("3"))], [(D("8735.67"), D("4"))])
    assert book.amount_at(D("8732.02000")) == 3 and book.amount_at("8735.670") == 4
    book.apply_diff(2001, [[D("8732.02000"), "0"]], [])
    assert book.bids() == []


def test_rows_may_be_decimals() -> None:
    book = live_book()
    book.apply_diff(2000, [[D("99.5"), D("1.25")]], [(D("101"), D("0"))])
    assert sides(book) == ([(D("100"), D("1")), (D("99.5"), D("1.25"))], [])


def test_amounts_stay_exact() -> None:
    book = live_book(bids=[["100", "0.12345678901234567890"]])
    assert book.amount_at("100") == D("0.12345678901234567890")


@pytest.mark.parametrize(
    "bids",
    [
        [["100", "-1"]],  # negative amount
        [["100", "NaN"]],
        [["abc", "1"]],
        [["0", "1"]],  # prices are positive
        [["-5", "1"]],
        [["100", 0.1]],  # a float would be its binary expansion: refused
        [["100", "1", "12345"]],  # a diff row has two fields
        [["100"]],
        [[None, "1"]],
    ],
)
@pytest.mark.parametrize("side", ["bids", "asks"])
def test_a_malformed_diff_raises_and_asks_for_a_resync(bids: Any, side: str) -> None:
    book = live_book()
    rows: Any = bids
    if side == "asks" and rows and isinstance(rows[0], list) and rows[0][:1] == ["100"]:
        rows = [["102", *rows[0][1:]]]  # above the best bid: only the row is wrong
    with pytest.raises(ValueError, match="malformed diff"):
        book.apply_diff(2000, *((rows, []) if side == "bids" else ([], rows)))
    assert book.needs_resync and book.resync_reason is ResyncReason.INVALID_MESSAGE
    assert book.best_bid() is None and book.resyncs == 1


@pytest.mark.parametrize("side", [None, 0, "x", 5])
def test_a_diff_side_that_is_not_rows_is_malformed(side: Any) -> None:
    # An empty side is skipped without being read: anything but an empty list still is.
    for bids, asks in ((side, []), ([], side)):
        book = live_book()
        with pytest.raises(ValueError, match="malformed diff"):
            book.apply_diff(2000, bids, asks)
        assert book.needs_resync


def test_one_sided_diffs_apply_and_any_iterable_of_rows_is_read() -> None:
    book = live_book(bids=[["100", "1"]], asks=[["101", "2"]])
    assert book.apply_diff(2000, [], [["101.5", "1"]]) is DiffOutcome.APPLIED
    assert book.apply_diff(2001, (row for row in [["99", "3"]]), ()) is DiffOutcome.APPLIED
    assert book.apply_diff(2002, [], []) is DiffOutcome.APPLIED
    assert sides(book) == (
        [(D("100"), D("1")), (D("99"), D("3"))],
        [(D("101"), D("2")), (D("101.5"), D("1"))],
    )
    assert book.applied == 3 and book.microtimestamp == 2002


@pytest.mark.parametrize(("bids", "asks"), [([["101", "1"]], []), ([], [["100", "1"]])])
def test_a_one_sided_diff_that_crosses_the_book_is_caught(bids: Any, asks: Any) -> None:
    book = live_book(bids=[["100", "1"]], asks=[["101", "2"]])
    assert book.apply_diff(2000, bids, asks) is DiffOutcome.CROSSED
    assert book.needs_resync and book.resync_reason is ResyncReason.CROSSED_BOOK


def test_a_malformed_diff_raises_even_when_nan_comparisons_are_quiet() -> None:
    book = live_book()
    with localcontext() as context, pytest.raises(ValueError):
        context.traps[decimal.InvalidOperation] = False
        book.apply_diff(2000, [["100", "NaN"]], [])
    assert book.needs_resync


@pytest.mark.parametrize("stamp", ["abc", None, ""])
def test_a_malformed_microtimestamp_raises_and_asks_for_a_resync(stamp: Any) -> None:
    book = live_book()
    with pytest.raises(ValueError, match="microtimestamp"):
        book.apply_diff(stamp, [], [])
    assert book.resync_reason is ResyncReason.INVALID_MESSAGE


def test_a_malformed_buffered_diff_fails_the_snapshot_and_keeps_newer_diffs() -> None:
    book = LocalOrderBook()
    book.apply_diff(10, [["100", "-1"]], [])
    book.apply_diff(20, [["99", "1"]], [])
    with pytest.raises(ValueError):
        book.load_snapshot([], [["101", "1"]], 5)
    assert book.resync_reason is ResyncReason.INVALID_MESSAGE
    assert book.buffered == 1  # the diff at 20 waits for the next snapshot
    assert book.load_snapshot([["98", "1"]], [["101", "1"]], 15)
    assert [level.price for level in book.bids()] == [D("99"), D("98")]


@pytest.mark.parametrize(
    "bids", [[["100", "-1"]], [["x", "1"]], [["100"]], [["100", 1.5]], [["100", "NaN"]]]
)
def test_a_malformed_snapshot_raises_and_asks_for_a_resync(bids: Any) -> None:
    book = LocalOrderBook()
    with pytest.raises(ValueError, match="malformed snapshot"):
        book.load_snapshot(bids, [], 5)
    assert book.needs_resync and book.resync_reason is ResyncReason.INVALID_MESSAGE


def test_max_buffered_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LocalOrderBook(max_buffered=0)


# --- integrity ------------------------------------------------------------------------------


@pytest.mark.parametrize("bid", ["101", "101.5"])  # touching counts as crossed
def test_a_crossed_book_discards_itself_and_awaits_a_snapshot(bid: str) -> None:
    book = live_book(bids=[["100", "1"]], asks=[["101", "2"], ["102", "1"]])
    assert not book.crossed
    assert book.apply_diff(2000, [[bid, "1"]], []) is DiffOutcome.CROSSED
    assert book.needs_resync and book.resync_reason is ResyncReason.CROSSED_BOOK
    assert book.state is BookState.NEEDS_RESYNC and book.resyncs == 1
    # Nothing to trade on: every query answers as an empty book.
    assert book.best_bid() is None and book.best_ask() is None and book.mid is None
    assert book.microtimestamp is None
    # Diffs keep coming and are buffered for the next snapshot.
    assert book.apply_diff(2100, [["100", "4"]], []) is DiffOutcome.BUFFERED
    assert book.load_snapshot([["100", "3"]], [["101", "2"]], 2050)
    assert not book.needs_resync and book.resync_reason is None
    assert book.best_bid() == Level(D("100"), D("4"))


def test_a_crossed_snapshot_is_refused() -> None:
    book = LocalOrderBook()
    assert not book.load_snapshot([["101", "1"]], [["100", "1"]], 5)
    assert book.resync_reason is ResyncReason.CROSSED_BOOK and book.bids() == []


def test_a_crossing_buffered_diff_stops_the_replay_and_keeps_the_rest() -> None:
    book = LocalOrderBook()
    book.apply_diff(10, [["101", "1"]], [])  # crosses the snapshot's ask
    book.apply_diff(20, [["99", "1"]], [])
    assert not book.load_snapshot([["100", "1"]], [["101", "1"]], 5)
    assert book.resync_reason is ResyncReason.CROSSED_BOOK
    assert book.buffered == 1


def test_reset_forgets_book_and_buffer() -> None:
    book = live_book()
    book.apply_diff(2000, [["99", "1"]], [])
    book.reset()
    assert book.state is BookState.AWAITING_SNAPSHOT and book.resync_reason is None
    assert book.bids() == [] and book.buffered == 0 and book.resyncs == 1
    assert book.apply_diff(3000, [["98", "1"]], []) is DiffOutcome.BUFFERED
    book.reset()
    assert book.buffered == 0 and book.resyncs == 2
    assert book.load_snapshot([["97", "1"]], [["101", "1"]], 2500)
    assert sides(book)[0] == [(D("97"), D("1"))]
    # The stale floor restarted at the new snapshot: a diff older than the old book applies.
    assert book.apply_diff(2600, [["96", "1"]], []) is DiffOutcome.APPLIED


def test_buffer_overflow_refuses_a_snapshot_it_cannot_bridge() -> None:
    book = LocalOrderBook(max_buffered=3)
    for stamp in (10, 20, 30, 40, 50):  # 10 and 20 are dropped
        assert book.apply_diff(stamp, [[str(90 + stamp // 10), "1"]], []) is DiffOutcome.BUFFERED
    assert book.buffered == 3
    # A snapshot at 15 would need the diff at 20, which is gone.
    assert not book.load_snapshot([["90", "1"]], [["200", "1"]], 15)
    assert book.needs_resync and book.resync_reason is ResyncReason.BUFFER_OVERFLOW
    assert book.bids() == [] and book.buffered == 3 and book.resyncs == 1
    # A newer snapshot bridges the gap: the diffs at 30, 40 and 50 apply over it.
    assert book.load_snapshot([["90", "1"]], [["200", "1"]], 25)
    assert [level.price for level in book.bids()] == [D(95), D(94), D(93), D(90)]


def test_buffer_overflow_is_harmless_when_the_snapshot_is_newer_than_the_dropped() -> None:
    book = LocalOrderBook(max_buffered=2)
    for stamp in (10, 20, 30):
        book.apply_diff(stamp, [[str(90 + stamp // 10), "1"]], [])
    assert book.load_snapshot([["91", "1"]], [["200", "1"]], 10)
    assert [level.price for level in book.bids()] == [D(93), D(92), D(91)]


# --- queries --------------------------------------------------------------------------------


def query_book() -> LocalOrderBook:
    return live_book(
        bids=[["100.01", "1"], ["100.00", "2"], ["99.50", "3"], ["98", "4"]],
        asks=[["100.02", "0.5"], ["100.50", "1.5"], ["101", "2.5"]],
        stamp=42,
    )


def test_best_and_top_n() -> None:
    book = query_book()
    assert book.best_bid() == Level(D("100.01"), D("1"))
    assert book.best_ask() == Level(D("100.02"), D("0.5"))
    assert [level.price for level in book.bids(2)] == [D("100.01"), D("100.00")]
    assert [level.price for level in book.asks(2)] == [D("100.02"), D("100.50")]
    assert len(book.bids()) == 4 and len(book.bids(10)) == 4 and book.asks(0) == []
    assert [level.price for level in book.asks()] == [D("100.02"), D("100.50"), D("101")]


def test_best_levels_follow_changes() -> None:
    book = query_book()
    assert book.best_bid() == Level(D("100.01"), D("1"))  # memoised
    book.apply_diff(50, [["100.01", "7"]], [])
    assert book.best_bid() == Level(D("100.01"), D("7"))
    book.apply_diff(51, [["100.01", "0"]], [["100.02", "0"]])
    assert book.best_bid() == Level(D("100.00"), D("2"))
    assert book.best_ask() == Level(D("100.50"), D("1.5"))


def test_amount_at_either_side() -> None:
    book = query_book()
    assert book.amount_at("100.00") == 2 and book.amount_at(D("100.5")) == D("1.5")
    assert book.amount_at("100.03") == 0


def test_depth_is_cumulative_and_inclusive() -> None:
    book = query_book()
    assert book.depth(Side.BUY, "100.00") == 3
    assert book.depth(Side.BUY, "99.99") == 3
    assert book.depth(Side.BUY, "99.5") == 6
    assert book.depth(Side.BUY, "1") == 10
    assert book.depth(Side.BUY, "200") == 0
    assert book.depth(Side.SELL, "100.50") == 2
    assert book.depth(Side.SELL, "1000") == D("4.5")
    assert book.depth(Side.SELL, "100") == 0


def test_spread_mid_and_stamp() -> None:
    book = query_book()
    assert book.spread == D("0.01") and book.mid == D("100.015")
    assert book.microtimestamp == 42 and not book.crossed
    assert "live" in repr(book) and "4 bids" in repr(book)


def test_arithmetic_is_exact_whatever_the_thread_context() -> None:
    # Decimal's unary minus and + round to the thread's precision; the book must not.
    with localcontext() as context:
        context.prec = 3
        book = live_book(
            bids=[["12345.6789", "1.23456789"], ["12345.6788", "9.87654321"]],
            asks=[["12345.6791", "1"], ["12345.6792", "1"]],
        )
        book.apply_diff(2000, [], [["12345.6793", "2.5"]])
        assert book.depth(Side.BUY, "1") == D("11.11111110")
        assert book.depth(Side.SELL, "12345.6792") == 2
        assert book.mid == D("12345.679")
        assert book.spread == D("0.0002")
        assert [level.price for level in book.asks()] == [
            D("12345.6791"),
            D("12345.6792"),
            D("12345.6793"),
        ]
        assert book.amount_at("12345.6793") == D("2.5")
        assert book.best_ask() == Level(D("12345.6791"), D("1"))
        # Rows per order are summed, and L3 levels added to and taken from, exactly too.
        per_order = [["1.5", "1.23456789", "1"], ["1.5", "9.87654321", "2"]]
        assert live_book(bids=per_order, asks=[]).amount_at("1.5") == D("11.11111110")
        l3 = LocalOrderBookL3()
        l3.load_snapshot(per_order, [], 1)
        l3.order_changed(Order("1", Side.BUY, D("1.5"), D("0.00000001"), 2))
        assert l3.amount_at("1.5") == D("9.87654322")


def test_the_price_cache_stays_bounded_and_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_orderbook, "_PRICE_CACHE_SIZE", 4)
    book = live_book(bids=[["1", "1"]], asks=[["1000", "1"]])
    for n in range(2, 40):
        book.apply_diff(2000 + n, [[f"{n}.5", "2"], [f"{n - 1}.50", "0"]], [])
        # 4 entries per level the side held when a price was first seen (3 at most, mid-diff)
        # rather than one per distinct price string: 77 of those pass by.
        assert len(book._bids.cache) <= 12
        assert sides(book)[0] == [(D(n) + D("0.5"), D(2)), (D(1), D(1))]


# --- audit ----------------------------------------------------------------------------------


def test_audit_of_an_agreeing_book_is_empty() -> None:
    book = query_book()
    bids = [[str(level.price), str(level.amount)] for level in book.bids()]
    asks = [[level.price, level.amount] for level in book.asks()]
    assert book.audit(bids, asks) == []


def test_audit_reports_each_difference_bids_then_asks_best_first() -> None:
    book = query_book()
    found = book.audit(
        [["100.01", "1"], ["100.00", "2.5"], ["99.75", "1"], ["99.50", "3"], ["98", "4"]],
        [["100.02", "0.5"], ["101", "2.5"]],
    )
    assert found == [
        Discrepancy(Side.BUY, D("100.00"), D("2"), D("2.5")),
        Discrepancy(Side.BUY, D("99.75"), None, D("1")),
        Discrepancy(Side.SELL, D("100.50"), D("1.5"), None),
    ]


def test_audit_compares_only_down_to_a_full_snapshots_last_row() -> None:
    book = query_book()
    # Two rows at depth=2: the snapshot says nothing below 100.00 (99.50 and 98 exist).
    assert book.audit([["100.01", "1"], ["100.00", "2"]], [["100.02", "0.5"]], depth=2) == [
        Discrepancy(Side.SELL, D("100.50"), D("1.5"), None),
        Discrepancy(Side.SELL, D("101"), D("2.5"), None),
    ]
    # A short snapshot is the whole side: the levels it lacks are reported.
    assert [d.price for d in book.audit([["100.01", "1"]], [], depth=2)[:3]] == [
        D("100.00"),
        D("99.50"),
        D("98"),
    ]


def test_audit_refuses_malformed_rows() -> None:
    with pytest.raises(ValueError, match="malformed audit"):
        query_book().audit([["x", "1"]], [])


# --- L3 -------------------------------------------------------------------------------------


def order(order_id: str, side: Side, price: str, amount: str, stamp: int) -> Order:
    return Order(order_id, side, D(price), D(amount), stamp)


def test_order_from_wire_prefers_exact_strings_and_keeps_ids_as_strings() -> None:
    data = {
        "id": 1463471322288128,
        "id_str": "1463471322288128",
        "order_type": 1,
        "price": 1000.1,
        "price_str": "1000.10",
        "amount": 0.05,
        "amount_str": "0.05000000",
        "microtimestamp": "1646127777950000",
    }
    assert Order.from_wire(data) == Order(
        "1463471322288128", Side.SELL, D("1000.10"), D("0.05"), 1646127777950000
    )
    floats = {"id": 7, "order_type": 0, "price": 0.1, "amount": 2, "microtimestamp": 1}
    assert Order.from_wire(floats) == Order("7", Side.BUY, D("0.1"), D(2), 1)
    for bad in ({**floats, "id": 7.0}, {**floats, "order_type": 3}, {"id": 1}):
        with pytest.raises(ValueError, match="malformed live_orders"):
            Order.from_wire(bad)


def l3_book() -> LocalOrderBookL3:
    book = LocalOrderBookL3()
    assert book.load_snapshot(
        [["100", "1", "b1"], ["100", "2", "b2"], ["99", "3", "b3"]],
        [["101", "1", "a1"]],
        1000,
    )
    return book


def test_l3_snapshot_keeps_time_priority_and_aggregates() -> None:
    book = l3_book()
    assert [o.id for o in book.orders_at("100")] == ["b1", "b2"]
    assert sides(book) == ([(D("100"), D("3")), (D("99"), D("3"))], [(D("101"), D("1"))])
    assert book.order("a1") == order("a1", Side.SELL, "101", "1", 1000)
    assert book.orders_at("100.5") == [] and book.order("zz") is None


def test_l3_create_change_delete() -> None:
    book = l3_book()
    assert book.order_created(order("b4", Side.BUY, "100", "4", 1001)) is DiffOutcome.APPLIED
    assert [o.id for o in book.orders_at("100")] == ["b1", "b2", "b4"]
    assert book.best_bid() == Level(D("100"), D("7"))
    # A partial fill keeps the order's place.
    book.order_changed(order("b1", Side.BUY, "100", "0.25", 1002))
    assert [(o.id, o.amount) for o in book.orders_at("100")] == [
        ("b1", D("0.25")),
        ("b2", D("2")),
        ("b4", D("4")),
    ]
    assert book.amount_at("100") == D("6.25")
    # A new price sends it to the back of that level.
    book.order_changed(order("b2", Side.BUY, "99", "2", 1003))
    assert [o.id for o in book.orders_at("99")] == ["b3", "b2"]
    assert book.amount_at("100") == D("4.25") and book.amount_at("99") == 5
    book.order_deleted("b1", 1004)
    book.order_deleted("b4", 1004)
    assert book.orders_at("100") == [] and book.best_bid() == Level(D("99"), D("5"))
    # A change to zero removes; a delete of an unknown order is ignored.
    book.order_changed(order("a1", Side.SELL, "101", "0", 1005))
    assert book.best_ask() is None
    assert book.order_deleted("never-seen", 1006) is DiffOutcome.APPLIED
    assert book.applied == 7


def test_l3_change_of_an_unknown_order_adds_it() -> None:
    book = LocalOrderBookL3()
    book.load_snapshot([], [], 0)  # no per-order snapshot: follow from now on
    book.order_changed(order("x", Side.SELL, "50", "1", 10))
    assert book.best_ask() == Level(D("50"), D("1"))


def test_l3_apply_event_reads_wire_frames() -> None:
    book = l3_book()
    frame = {"id": 5, "order_type": 0, "price_str": "100.00", "amount_str": "1.5"}
    assert book.apply_event("order_created", {**frame, "microtimestamp": "1001"}) is (
        DiffOutcome.APPLIED
    )
    assert [o.id for o in book.orders_at("100")] == ["b1", "b2", "5"]
    changed = {**frame, "amount_str": "1", "microtimestamp": "1002"}
    assert book.apply_event("order_changed", changed) is DiffOutcome.APPLIED
    assert book.amount_at("100") == 4
    # A delete needs no more than the id and the time.
    assert book.apply_event("order_deleted", {"id_str": "5", "microtimestamp": "1003"}) is (
        DiffOutcome.APPLIED
    )
    assert book.amount_at("100") == 3
    with pytest.raises(ValueError, match="not a live_orders event"):
        book.apply_event("trade", frame)
    assert not book.needs_resync


def test_l3_malformed_event_asks_for_a_resync() -> None:
    book = l3_book()
    with pytest.raises(ValueError):
        book.apply_event("order_created", {"id": 5, "order_type": 0, "microtimestamp": "1"})
    assert book.resync_reason is ResyncReason.INVALID_MESSAGE and book.bids() == []
    book = l3_book()
    with pytest.raises(ValueError):
        book.order_created(order("n", Side.BUY, "100", "-1", 2000))
    assert book.needs_resync
    book = l3_book()
    with pytest.raises(ValueError):
        book.order_created(order("n", Side.BUY, "-100", "1", 2000))
    assert book.needs_resync


def test_l3_buffers_until_the_snapshot_and_drops_stale_events() -> None:
    book = LocalOrderBookL3()
    assert book.order_created(order("n", Side.BUY, "100", "1", 2000)) is DiffOutcome.BUFFERED
    assert book.order_deleted("b1", 900) is DiffOutcome.BUFFERED  # before the snapshot
    assert book.order_deleted("b2", 1500) is DiffOutcome.BUFFERED
    assert book.load_snapshot([["100", "1", "b1"], ["100", "2", "b2"]], [], 1000)
    assert [o.id for o in book.orders_at("100")] == ["b1", "n"]
    assert book.stale_dropped == 1 and book.applied == 2
    assert book.order_deleted("b1", 1999) is DiffOutcome.STALE
    assert book.amount_at("100") == 2


def test_l3_snapshot_rows_need_order_ids() -> None:
    book = LocalOrderBookL3()
    with pytest.raises(ValueError, match="malformed snapshot"):
        book.load_snapshot([["100", "1"]], [], 1)


def test_l3_reports_crossing_without_discarding_itself() -> None:
    # On live_orders a match arrives as separate events; crossing mid-match is normal.
    book = l3_book()
    book.order_created(order("t", Side.BUY, "101", "0.5", 1001))
    assert book.crossed and not book.needs_resync
    book.order_changed(order("a1", Side.SELL, "101", "0.5", 1001))
    book.order_deleted("t", 1001)
    assert not book.crossed and book.best_ask() == Level(D("101"), D("0.5"))


def test_l3_to_l2_is_an_independent_live_copy() -> None:
    book = l3_book()
    book.order_created(order("c", Side.SELL, "102", "1", 1500))
    l2 = book.to_l2()
    assert sides(l2) == sides(book) and l2.state is BookState.LIVE
    assert l2.microtimestamp == 1500
    assert l2.apply_diff(1400, [["100", "9"]], []) is DiffOutcome.STALE
    l2.apply_diff(1600, [["100", "9"]], [])
    assert book.amount_at("100") == 3 and l2.amount_at("100") == 9
    assert LocalOrderBookL3().to_l2().state is BookState.AWAITING_SNAPSHOT


def test_l3_reset() -> None:
    book = l3_book()
    book.reset()
    assert book.bids() == [] and book.order("b1") is None and book.orders_at("100") == []
    assert book.load_snapshot([], [["101", "1", "a9"]], 5)
    assert book.order_created(order("b1", Side.BUY, "100", "1", 6)) is DiffOutcome.APPLIED
    assert [o.id for o in book.orders_at("100")] == ["b1"]


def test_l3_random_events_match_a_plain_model() -> None:
    """Levels are the sums of their orders, and each level's queue is arrival order."""
    rng = random.Random(3)
    book = LocalOrderBookL3()
    book.load_snapshot([], [], 0)
    model: dict[str, Order] = {}  # insertion order = time priority, as a queue would keep
    for stamp in range(1, 5001):
        if model and rng.random() < 0.5:
            target = model[rng.choice(list(model))]
            if rng.random() < 0.4:
                book.order_deleted(target.id, stamp)
                del model[target.id]
                continue
            price = target.price
            if rng.random() < 0.3:
                price = D(rng.randint(1, 20)) + (100 if target.side is Side.SELL else 0)
            changed = Order(target.id, target.side, price, D(rng.randint(0, 9)), stamp)
            book.order_changed(changed)
            if changed.price != target.price or not changed.amount:
                del model[target.id]  # moves to the back, or leaves
            if changed.amount:
                model[target.id] = changed
        else:
            side = rng.choice((Side.BUY, Side.SELL))
            price = D(rng.randint(1, 20)) + (100 if side is Side.SELL else 0)
            created = Order(str(stamp), side, price, D(rng.randint(1, 9)), stamp)
            book.order_created(created)
            model[created.id] = created
    for side, levels in ((Side.BUY, book.bids()), (Side.SELL, book.asks())):
        expected: dict[D, list[Order]] = {}
        for o in model.values():
            if o.side is side:
                expected.setdefault(o.price, []).append(o)
        assert sorted(expected, reverse=side is Side.BUY) == [lv.price for lv in levels]
        for level in levels:
            assert book.orders_at(level.price) == expected[level.price]
            assert level.amount == sum(o.amount for o in expected[level.price])


# --- randomized: 100,000 diff updates against a plain dict model -----------------------------


class ReferenceBook:
    """The naive model of the same rules: two dicts of Decimal, sorted only when read."""

    def __init__(self) -> None:
        self.bids: dict[D, D] = {}
        self.asks: dict[D, D] = {}
        self.live = False
        self.last = 0
        self.buffer: list[tuple[int, list[Any], list[Any]]] = []
        self.stale = 0

    def reset(self) -> None:
        self.bids, self.asks, self.live, self.buffer = {}, {}, False, []

    def load(self, bids: dict[D, D], asks: dict[D, D], stamp: int) -> None:
        self.bids, self.asks, self.live, self.last = dict(bids), dict(asks), True, stamp + 1
        for message in sorted(self.buffer, key=lambda m: m[0]):
            self.apply(*message)
        self.buffer = []

    def apply(self, stamp: int, bids: list[Any], asks: list[Any]) -> DiffOutcome:
        if not self.live:
            self.buffer.append((stamp, bids, asks))
            return DiffOutcome.BUFFERED
        if stamp < self.last:
            self.stale += 1
            return DiffOutcome.STALE
        self.last = stamp
        for levels, rows in ((self.bids, bids), (self.asks, asks)):
            for price, amount in rows:
                if D(amount):
                    levels[D(price)] = D(amount)
                else:
                    levels.pop(D(price), None)
        return DiffOutcome.APPLIED


class Market:
    """The exchange's truth, and the diffs that change it, in assorted spellings.

    Bids sit on a grid below 10000 and asks above, so the book never crosses; most activity
    is near the top, as on a real market.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.bids: dict[D, D] = {}
        self.asks: dict[D, D] = {}
        self.stamp = 1_600_000_000_000_000

    def price(self, is_bid: bool) -> D:
        tick = min(int(self.rng.expovariate(1 / 60)), 1499)
        cents = 999_995 - 5 * tick if is_bid else 1_000_000 + 5 * tick
        return D(cents).scaleb(-2)

    def spell_price(self, price: D) -> str | D:
        pick = self.rng.randrange(5)
        if pick == 0:
            return price  # a Decimal
        if pick == 1:
            return str(price.normalize())  # "9999.9", even "1E+4"
        return f"{price}{'0' * (pick - 2)}"  # "9999.95", "9999.950", "9999.9500"

    def spell_amount(self, amount: D) -> str | D:
        if not amount:
            return self.rng.choice(("0", "0.00000", "0.00000000", "0E-8", "-0", D(0)))
        return self.rng.choice((f"{amount:.8f}", str(amount), amount, str(amount.normalize())))

    def diff(self) -> tuple[int, list[Any], list[Any]]:
        # Now and then several messages share a microtimestamp.
        self.stamp += 0 if self.rng.random() < 0.05 else self.rng.randint(1, 5000)
        rows: tuple[list[Any], list[Any]] = ([], [])
        for _ in range(self.rng.randint(1, 5)):
            is_bid = self.rng.random() < 0.5
            levels = self.bids if is_bid else self.asks
            price = self.price(is_bid)
            if price in levels and self.rng.random() < 0.45:
                amount = D(0)
                del levels[price]
            else:
                amount = D(self.rng.randint(1, 10**10)).scaleb(-8)
                levels[price] = amount
            rows[0 if is_bid else 1].append([self.spell_price(price), self.spell_amount(amount)])
        return self.stamp, rows[0], rows[1]

    def snapshot_rows(self) -> tuple[list[list[Any]], list[list[Any]]]:
        bids = [[self.spell_price(p), self.spell_amount(a)] for p, a in self.bids.items()]
        asks = [[self.spell_price(p), self.spell_amount(a)] for p, a in self.asks.items()]
        self.rng.shuffle(bids)
        return bids, asks


def assert_book_is(book: LocalOrderBook, bids: dict[D, D], asks: dict[D, D]) -> None:
    assert sides(book) == (sorted(bids.items(), reverse=True), sorted(asks.items()))
    assert book.best_bid() == (Level(*max(bids.items())) if bids else None)
    assert book.best_ask() == (Level(*min(asks.items())) if asks else None)


def test_random_diffs_match_a_plain_dict_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """100,000 level updates through a lossy channel: dropped, reordered and repeated
    messages, with reset + snapshot resyncs. The book must always equal the naive model
    fed the same messages, and equal the exchange's truth whenever no message was lost
    since the last resync."""
    # A tiny price cache, so that clearing it happens all the time too.
    monkeypatch.setattr(_orderbook, "_PRICE_CACHE_SIZE", 64)
    rng = random.Random(20240601)
    market = Market(rng)
    book, model = LocalOrderBook(max_buffered=50), ReferenceBook()
    lost = False  # a message the book never saw, or saw too late, since the last resync
    updates = checkpoints = resyncs = stale_seen = truth_checks = 0

    def deliver(message: tuple[int, list[Any], list[Any]]) -> None:
        nonlocal stale_seen
        outcome = book.apply_diff(str(message[0]), message[1], message[2])
        assert outcome is model.apply(*message)
        stale_seen += outcome is DiffOutcome.STALE

    def resync() -> None:
        """As on reconnect: reset, a few diffs buffer, then a snapshot from somewhere among
        them (the REST book lags the stream) is loaded."""
        nonlocal lost, resyncs
        book.reset()
        model.reset()
        truth = [(market.stamp, dict(market.bids), dict(market.asks), market.snapshot_rows())]
        for _ in range(rng.randint(0, 6)):
            message = market.diff()
            deliver(message)
            truth.append(
                (market.stamp, dict(market.bids), dict(market.asks), market.snapshot_rows())
            )
        # A snapshot holds everything at its microtimestamp: take it where the stamp changes.
        following = [moment[0] for moment in truth[1:]] + [None]
        usable = [t for t, nxt in zip(truth, following, strict=True) if nxt is None or nxt > t[0]]
        stamp, bids, asks, (bid_rows, ask_rows) = rng.choice(usable)
        assert book.load_snapshot(bid_rows, ask_rows, stamp)
        model.load(bids, asks, stamp)
        assert_book_is(book, market.bids, market.asks)
        lost = False
        resyncs += 1

    resync()
    in_flight: deque[tuple[int, list[Any], list[Any]]] = deque()
    while updates < 100_000:
        message = market.diff()
        updates += len(message[1]) + len(message[2])
        fate = rng.random()
        if fate < 0.001:
            lost = True  # dropped on the way
        elif fate < 0.002:
            in_flight.append(message)  # overtaken by the next message
        else:
            deliver(message)
            if fate < 0.005:
                deliver(message)  # repeated: harmless
            while in_flight:
                late = in_flight.popleft()
                lost = True  # stale unless it shares the microtimestamp; either way wrong
                deliver(late)
        if updates // 500 > checkpoints:
            checkpoints = updates // 500
            assert_book_is(book, model.bids, model.asks)
            assert book.stale_dropped == model.stale
            if not lost:
                truth_checks += 1
                assert_book_is(book, market.bids, market.asks)
                price = market.price(True)
                assert book.depth(Side.BUY, price) == sum(
                    (a for p, a in market.bids.items() if p >= price), D(0)
                )
                assert book.amount_at(price) == market.bids.get(price, D(0))
            if lost:  # the stream layer would have reconnected
                resync()
    resync()
    assert book.state is BookState.LIVE and book.resyncs == resyncs
    # The lossy channel did its job, and the truth was still checked often.
    assert resyncs > 30 and stale_seen > 20 and truth_checks > 30
    assert len(book._bids.ranks) == len(book._bids.amounts) > 100
