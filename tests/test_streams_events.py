"""Decoding every channel's frames into typed events, channel names, backoff and the
subscriber buffer's backpressure policy, with no network."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

from aiobitstamp import InvalidParameterError, PriceLevels, Side
from aiobitstamp.streams import (
    Backoff,
    BookDiff,
    BookSnapshot,
    Channel,
    ChannelKind,
    Delivery,
    EventBuffer,
    Gap,
    GapReason,
    LiveOrder,
    LiveTrade,
    MyOrder,
    MyTrade,
    OrderAction,
    SelfTrade,
    StreamLaggingError,
    channel_of,
)
from aiobitstamp.streams._events import decoder_for, recovered_trade

# Frames as the exchange sends them (fact sheet, section g).
TRADE = (
    '{"event":"trade","channel":"live_trades_btcusd","data":{"buy_order_id":1207733769326592,'
    '"amount_str":"0.14406384","timestamp":"1583691851","microtimestamp":"1583691851934000",'
    '"id":106833903,"amount":0.14406384,"sell_order_id":1207733765476352,'
    '"price_str":"8302.92","type":0,"price":8302.92}}'
)
DIFF = (
    '{"event":"data","channel":"diff_order_book_btcusd","data":{"timestamp":"1583656800",'
    '"microtimestamp":"1583656800237527","bids":[["8732.02","0.00002478"]],'
    '"asks":[["8735.67","0"]]}}'
)
DETAIL = (
    '{"event":"data","channel":"detail_order_book_btcusd","data":{"timestamp":"1583656800",'
    '"microtimestamp":"1583656800237527","bids":[["8732.02","0.00002478","1207590500704256"]],'
    '"asks":[["8735.67","2.00000000","1207590693249024"]]}}'
)
ORDER = (
    '{"event":"order_deleted","channel":"live_orders_btcusd","data":{"id":1463471322288128,'
    '"id_str":"1463471322288128","order_type":1,"datetime":"1646127778",'
    '"microtimestamp":"1646127777950000","amount":0.05,"amount_str":"0.05000000",'
    '"price":1000,"price_str":"1000.00"}}'
)


def decode(frame: str, channel: str | None = None) -> Any:
    envelope = orjson.loads(frame)
    decoder = decoder_for(channel_of(channel or envelope["channel"]))
    return decoder(envelope["event"], envelope["data"])


# -- typed events -----------------------------------------------------------------------


def test_a_trade_frame_decodes_exactly() -> None:
    trade = decode(TRADE)
    assert isinstance(trade, LiveTrade)
    assert (trade.channel, trade.pair, trade.id) == ("live_trades_btcusd", "btcusd", "106833903")
    assert (trade.price, trade.amount) == (Decimal("8302.92"), Decimal("0.14406384"))
    assert str(trade.amount) == "0.14406384"  # from amount_str, digit for digit
    assert trade.side is Side.BUY and not trade.recovered
    assert trade.microtimestamp == 1583691851934000
    assert (trade.buy_order_id, trade.sell_order_id) == ("1207733769326592", "1207733765476352")
    assert trade.timestamp == datetime(2020, 3, 8, 18, 24, 11, 934000, tzinfo=timezone.utc)
    assert dataclasses.is_dataclass(trade) and not hasattr(trade, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(trade, "channel", "x")  # noqa: B010
    same = LiveTrade.of(
        "live_trades_btcusd", id="106833903", price=Decimal("8302.92"),
        amount=Decimal("0.14406384"), side=Side.BUY, microtimestamp=1583691851934000,
    )  # fmt: skip
    assert trade == same and hash(trade) == hash(same)
    assert "8302.92" in repr(trade) and "106833903" in repr(trade)


def test_trade_values_are_checked_when_read() -> None:
    data = orjson.loads(TRADE)["data"] | {"price_str": "NaN", "amount_str": "1e999999"}
    trade = decoder_for(channel_of("live_trades_btcusd"))("trade", data)
    assert isinstance(trade, LiveTrade)
    for name in ("price", "amount"):
        with pytest.raises(ValueError):
            getattr(trade, name)
    assert "<malformed>" in repr(trade)


def test_trade_ids_prefer_id_str_and_never_pass_through_a_float() -> None:
    data = orjson.loads(TRADE)["data"]
    data["id"] = 2**60 + 1
    data["id_str"] = str(2**60 + 1)
    trade = decoder_for(channel_of("live_trades_btcusd"))("trade", data)
    assert isinstance(trade, LiveTrade) and trade.id == "1152921504606846977"
    data.pop("id_str")
    data["id"] = 1.5e16
    unsafe = decoder_for(channel_of("live_trades_btcusd"))("trade", data)
    assert isinstance(unsafe, LiveTrade)
    with pytest.raises(ValueError):
        unsafe.id  # noqa: B018 - a float id has lost digits: refused when read


def test_without_str_fields_numbers_convert_through_their_shortest_repr() -> None:
    data = orjson.loads(TRADE)["data"]
    del data["price_str"], data["amount_str"]
    data["price"], data["amount"] = 0.1, 3
    trade = decoder_for(channel_of("live_trades_btcusd"))("trade", data)
    assert isinstance(trade, LiveTrade)
    assert trade.price == Decimal("0.1") and trade.amount == Decimal(3)


def test_a_diff_keeps_levels_as_exact_decimal_pairs() -> None:
    diff = decode(DIFF)
    assert isinstance(diff, BookDiff)
    assert diff.bids == ((Decimal("8732.02"), Decimal("0.00002478")),)
    assert diff.asks == ((Decimal("8735.67"), Decimal(0)),)
    assert diff.microtimestamp == 1583656800237527


def test_book_snapshots_are_lazy_and_carry_order_ids_on_the_detail_channel() -> None:
    book = decode(DETAIL)
    assert isinstance(book, BookSnapshot) and isinstance(book.bids, PriceLevels)
    assert book.bids[0].order_id == "1207590500704256"
    assert book.asks[0].amount == Decimal("2.00000000")
    plain = decode(DETAIL.replace("detail_order_book_", "order_book_"))
    assert plain.channel == "order_book_btcusd"


def test_an_order_event_decodes_with_its_action() -> None:
    order = decode(ORDER)
    assert isinstance(order, LiveOrder)
    assert (order.action, order.id, order.side) == (
        OrderAction.DELETED,
        "1463471322288128",
        Side.SELL,
    )
    assert (order.price, order.amount) == (Decimal("1000.00"), Decimal("0.05000000"))
    assert order.amount_traded is None


def test_private_frames_decode() -> None:
    order_data = orjson.loads(ORDER)["data"] | {"client_order_id": "abc", "trade_account_id": 0}
    mine = decoder_for(channel_of("private-my_orders_btcusd-4848701"))("order_created", order_data)
    assert isinstance(mine, MyOrder)
    assert (mine.channel, mine.client_order_id, mine.trade_account_id) == (
        "private-my_orders_btcusd",
        "abc",
        "0",
    )
    fill = decoder_for(channel_of("private-my_trades_btcusd"))(
        "trade",
        {
            "id": 7,
            "order_id": 1463471322288128,
            "client_order_id": None,
            "amount": "0.5",
            "price": "100.00",
            "fee": "0.20",
            "side": "sell",
            "microtimestamp": "1646127777950000",
            "trade_account_id": 0,
        },
    )
    assert isinstance(fill, MyTrade)
    assert (fill.side, fill.fee, fill.order_id) == (Side.SELL, Decimal("0.20"), "1463471322288128")
    notice = decoder_for(channel_of("private-live_trades_btcusd"))("self_trade", {"id": 9})
    assert isinstance(notice, SelfTrade) and notice.id == "9" and notice.microtimestamp is None


@pytest.mark.parametrize(
    ("channel", "event", "data"),
    [
        ("live_trades_btcusd", "trade", {"id": 1}),
        ("live_trades_btcusd", "bogus", orjson.loads(TRADE)["data"]),
        ("live_trades_btcusd", "trade", None),
        ("live_trades_btcusd", "trade", orjson.loads(TRADE.replace("microtime", "x"))["data"]),
        ("diff_order_book_btcusd", "data", {"microtimestamp": "x", "bids": [], "asks": []}),
        ("diff_order_book_btcusd", "data", {"microtimestamp": "1", "bids": [["1"]], "asks": []}),
        ("order_book_btcusd", "data", {"microtimestamp": "1", "bids": {}, "asks": []}),
        ("live_orders_btcusd", "order_moved", orjson.loads(ORDER)["data"]),
        ("live_orders_btcusd", "order_created", {"id": 1, "order_type": 2}),
    ],
)
def test_malformed_payloads_raise_a_parse_error(channel: str, event: str, data: Any) -> None:
    with pytest.raises((KeyError, ValueError, TypeError, AttributeError, IndexError)):
        decoder_for(channel_of(channel))(event, data)


def test_a_recovered_trade_comes_from_a_rest_row() -> None:
    @dataclasses.dataclass
    class Row:
        id: str
        price: Decimal
        amount: Decimal
        timestamp: datetime
        side: Side

    row = Row(
        "42", Decimal("1.5"), Decimal("2"), datetime(2024, 1, 1, tzinfo=timezone.utc), Side.SELL
    )
    trade = recovered_trade(channel_of("live_trades_btcusd"), row)
    assert trade.recovered and trade.id == "42" and trade.buy_order_id is None
    assert trade.timestamp == row.timestamp


def test_a_gap_says_where_and_why() -> None:
    gap = Gap("live_orders_btcusd", "btcusd", GapReason.RECONNECTED, 1_000_000, None)
    assert gap.since == datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    assert gap.until is None


# -- channels ---------------------------------------------------------------------------


def test_channel_names_parse_and_spell_the_wire_name() -> None:
    private = channel_of("private-my_orders_btcusd-4848701")
    assert private == Channel(ChannelKind.MY_ORDERS, "btcusd", "private-my_orders_btcusd")
    assert private.wire_name("99") == "private-my_orders_btcusd-99"
    assert channel_of("private-my_trades_btcusd-perp").pair == "btcusd-perp"
    assert channel_of("detail_order_book_ethbtc").kind is ChannelKind.DETAIL_ORDER_BOOK
    assert channel_of("order_book_ethbtc").kind is ChannelKind.ORDER_BOOK
    assert channel_of("live_trades_btcusd").wire_name(None) == "live_trades_btcusd"
    with pytest.raises(InvalidParameterError):
        private.wire_name(None)
    with pytest.raises(InvalidParameterError):
        channel_of("live_trades_" + "a" * 500)


def test_only_full_book_snapshots_are_latest_only() -> None:
    latest = {kind for kind in ChannelKind if kind.delivery is Delivery.LATEST}
    assert latest == {ChannelKind.ORDER_BOOK, ChannelKind.DETAIL_ORDER_BOOK}
    assert {kind for kind in ChannelKind if kind.private} == {
        ChannelKind.MY_ORDERS,
        ChannelKind.MY_TRADES,
        ChannelKind.MY_SELF_TRADES,
    }


# -- backoff ----------------------------------------------------------------------------


def test_backoff_grows_caps_and_jitters_between_half_and_all() -> None:
    policy = Backoff(initial=0.1, maximum=1.0, rng=random.Random(1))
    for attempt, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (60, 1.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 100  # jittered
    with pytest.raises(ValueError):
        Backoff(initial=2, maximum=1)


# -- the subscriber buffer --------------------------------------------------------------


def trade(number: int) -> LiveTrade:
    return LiveTrade.of(
        "live_trades_btcusd", id=str(number), price=Decimal(1), amount=Decimal(1),
        side=Side.BUY, microtimestamp=number,
    )  # fmt: skip


def snapshot(micros: int) -> BookSnapshot:
    return BookSnapshot("order_book_btcusd", "btcusd", micros, PriceLevels([]), PriceLevels([]))


async def test_the_buffer_delivers_in_order_and_wakes_a_waiting_consumer() -> None:
    buffer = EventBuffer(10)
    waiting = asyncio.ensure_future(buffer.get())
    await asyncio.sleep(0)  # let the consumer start waiting
    buffer.deliver(trade(1))
    assert await asyncio.wait_for(waiting, 1) == trade(1)
    buffer.deliver(trade(2))
    buffer.deliver(trade(3))
    assert [await buffer.get(), await buffer.get()] == [trade(2), trade(3)]


async def test_overflow_stops_the_stream_after_every_queued_event() -> None:
    buffer = EventBuffer(3)
    for number in range(1, 10):
        buffer.deliver(trade(number))
    assert len(buffer) == 3 and buffer.stopped
    assert [await buffer.get() for _ in range(3)] == [trade(1), trade(2), trade(3)]
    with pytest.raises(StreamLaggingError) as lagging:
        await buffer.get()
    assert lagging.value.capacity == 3
    assert lagging.value.last_microtimestamp == {"live_trades_btcusd": 3}


async def test_snapshots_keep_the_latest_and_never_count_against_capacity() -> None:
    buffer = EventBuffer(2)
    buffer.deliver(snapshot(1))
    buffer.deliver(trade(10))
    for micros in range(2, 1000):
        buffer.deliver(snapshot(micros))
    buffer.deliver(trade(11))
    assert not buffer.stopped and len(buffer) == 3  # bounded however many snapshots
    first = await buffer.get()
    assert isinstance(first, BookSnapshot) and first.microtimestamp == 999
    assert [await buffer.get(), await buffer.get()] == [trade(10), trade(11)]
    assert buffer.get_nowait() is None


async def test_a_failed_buffer_drains_then_raises() -> None:
    buffer = EventBuffer(5)
    buffer.deliver(trade(1))
    buffer.fail(RuntimeError("closed"))
    buffer.deliver(trade(2))  # ignored once failed
    assert await buffer.get() == trade(1)
    with pytest.raises(RuntimeError, match="closed"):
        await buffer.get()
