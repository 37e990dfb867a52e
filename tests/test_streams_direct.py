"""The hub's direct path: frames of a channel's source go straight to its subscribers only
while nothing is being joined, refilled or de-duplicated; any change of those sends the
next frame back through the full checks."""

from __future__ import annotations

from typing import Any

import orjson

from aiobitstamp.streams import LiveTrade, StreamEvent, StreamHub
from aiobitstamp.streams._channels import channel_of
from aiobitstamp.streams._hub import ChannelState, _Join


class Sink:
    def __init__(self) -> None:
        self.events: list[StreamEvent] = []

    def deliver(self, event: StreamEvent) -> None:
        self.events.append(event)

    def fail(self, error: BaseException) -> None:
        raise AssertionError(error)

    @property
    def ids(self) -> list[str]:
        return [event.id for event in self.events if isinstance(event, LiveTrade)]


def trade(trade_id: int) -> tuple[dict[str, Any], bytes]:
    data = {
        "id": trade_id,
        "price_str": "100.5",
        "amount_str": "0.25000000",
        "type": 0,
        "microtimestamp": str(1_700_000_000_000_000 + trade_id),
        "price": 100.5,
        "amount": 0.25,
    }
    return data, orjson.dumps({"event": "trade", "data": data})


def setup() -> tuple[StreamHub, ChannelState, Sink, Any, Any]:
    hub = StreamHub("ws://127.0.0.1:1")
    state = ChannelState(channel_of("live_trades_btcusd"))
    sink = Sink()
    state.sinks = state.typed_sinks = (sink,)
    source, other = object(), object()  # connections are told apart by identity only
    state.owner = source  # type: ignore[assignment]
    return hub, state, sink, source, other


def send(hub: StreamHub, connection: Any, state: ChannelState, trade_id: int) -> None:
    data, raw = trade(trade_id)
    hub.on_frame(connection, state, "trade", data, raw)


def test_the_source_goes_direct_from_its_first_frame() -> None:
    hub, state, sink, source, _ = setup()
    assert state.direct is None
    send(hub, source, state, 1)
    assert state.direct is source
    send(hub, source, state, 2)
    assert sink.ids == ["1", "2"] and state.last_raw == trade(2)[1]
    assert state.last_event is not None and state.last_event.id == "2"  # type: ignore[union-attr]


def test_each_recovery_field_ends_the_direct_path() -> None:
    for name, value in (("owner", None), ("join", "join"), ("holding", []), ("dedupe_below", 5)):
        _, state, _, source, _ = setup()
        state.direct = source
        setattr(state, name, value)
        assert state.direct is None, name


def test_trades_held_during_a_refill_are_not_delivered_directly() -> None:
    hub, state, sink, source, _ = setup()
    send(hub, source, state, 1)
    state.holding = []
    send(hub, source, state, 2)
    assert sink.ids == ["1"] and [event.id for event in state.holding] == ["2"]  # type: ignore[union-attr]
    assert state.direct is None


def test_duplicates_after_a_refill_are_dropped_then_the_path_is_direct_again() -> None:
    hub, state, sink, source, _ = setup()
    send(hub, source, state, 1)
    state.dedupe_below = 3
    for trade_id in (2, 3, 4, 5):
        send(hub, source, state, trade_id)
    assert sink.ids == ["1", "4", "5"]
    assert hub.stats.duplicates_dropped == 2
    assert state.dedupe_below is None and state.direct is source


def test_a_handover_and_a_new_owner_take_the_full_path() -> None:
    hub, state, sink, source, other = setup()
    send(hub, source, state, 1)
    join = state.join = _Join(source, other)
    send(hub, other, state, 2)  # the successor's frame: held
    send(hub, source, state, 2)  # the same frame from the source: delivered, streams joined
    assert sink.ids == ["1", "2"] and state.owner is other and not join.buffer
    send(hub, source, state, 3)  # the old connection is no longer the source
    assert sink.ids == ["1", "2"] and hub.stats.stray_frames == 1
    send(hub, other, state, 3)
    send(hub, other, state, 4)
    assert sink.ids == ["1", "2", "3", "4"] and state.direct is other


def test_a_malformed_frame_on_the_direct_path_is_counted_and_skipped() -> None:
    hub, state, sink, source, _ = setup()
    send(hub, source, state, 1)
    hub.on_frame(source, state, "trade", {"id": 2}, b"bad")
    hub.on_frame(source, state, "trade", None, b"worse")
    send(hub, source, state, 3)
    assert sink.ids == ["1", "3"] and hub.stats.malformed_frames == 2
