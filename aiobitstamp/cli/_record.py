"""``aiobitstamp record``: capture stream channels into a sink, for days.

The recorder is a subscriber of the client's stream hub that is fed synchronously, so no
message waits in a consumer buffer that could overflow: each message becomes a
:class:`~._sinks.Record` (receive time, the exchange's microtimestamp, channel, event,
data) the moment the hub hands it over, and a writer task appends the records to the sink
in batches, flushing at least every ``flush_interval`` seconds.

* Most channels are taken as the frames' JSON (``attach(frames=True)``), exactly as the
  exchange sent them.
* Trade channels come typed, after the hub's de-duplication by trade id and its refill
  from REST ``transactions/`` after a drop (``recovered`` trades); each is written back as
  the exchange's trade object (exact ``price_str``/``amount_str``, ids as strings).
* A hole the hub cannot refill (order events and diffs after a hard drop, private
  channels) is written as an ``aiobitstamp:gap`` record, never left silent.

The resume rule, on a restart over the same output: each channel's resume point is its
last record there. A trade channel continues after that trade id: trades printed while the
recorder was down are refilled from REST (the shortest of minute/hour/day that reaches back
to that id, as ``recovered`` trades), and no trade at or below it is written again. Any
other channel cannot be refilled (the exchange has no history of them): it gets a gap
record from its last recorded microtimestamp, then continues with what the new connection
sends, so nothing already written is written twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from .._exceptions import BitstampError, ClientClosedError
from .._models import Side
from ..streams import Channel, ChannelKind, Gap, GapReason, LiveTrade, channel_of
from ..streams._events import recovered_trade  # the hub's own REST-row conversion
from ._errors import CommandError, ExitCode
from ._output import Output
from ._session import Connection, StreamingClient
from ._sinks import GAP_EVENT, Record, RecordSink, SinkSpec, open_sink

__all__ = ["Recorder", "record", "trade_data"]

_TRADE_WINDOWS = ("minute", "hour", "day")
_RECENT = 4096  # frames per channel remembered to drop a handover's repeats
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _now_us() -> int:
    return time.time_ns() // 1000


def trade_data(trade: LiveTrade) -> bytes:
    """A trade as the exchange's ``live_trades_`` data object (exact strings)."""
    seconds = trade.microtimestamp // 1_000_000
    return orjson.dumps(
        {
            "id": int(trade.id) if trade.id.isdigit() else trade.id,
            "id_str": trade.id,
            "timestamp": str(seconds),
            "microtimestamp": str(trade.microtimestamp),
            "amount_str": format(trade.amount, "f"),
            "price_str": format(trade.price, "f"),
            "type": 0 if trade.side is Side.BUY else 1,
            "buy_order_id": trade.buy_order_id,
            "sell_order_id": trade.sell_order_id,
        }
    )


def gap_data(gap: Gap, *, restart: bool = False) -> bytes:
    """A :class:`Gap` as a record's data."""
    value: dict[str, Any] = {
        "reason": gap.reason.value,
        "since_microtimestamp": gap.since_microtimestamp,
        "until_microtimestamp": gap.until_microtimestamp,
    }
    if restart:
        value["restart"] = True
    return orjson.dumps(value)


def _trade_id(record: Record) -> int | None:
    if record.event != "trade":
        return None
    data = orjson.loads(record.data)
    found = data.get("id_str", data.get("id"))
    return int(found) if found is not None and str(found).isdigit() else None


class _FrameTap:
    """One channel's frames, as the hub hands them over.

    A frame identical to one of the last ``_RECENT`` of its channel is dropped: on the
    lossless channels (order events, diffs, private ones) the exchange never sends the
    same message twice, so a repeat can only come from two connections overlapping during
    a handover. Full-book snapshots may legitimately repeat and are kept as sent.
    """

    __slots__ = ("_last_micro", "_name", "_recent", "_recent_order", "_recorder")

    def __init__(self, recorder: Recorder, channel: Channel) -> None:
        self._recorder = recorder
        self._name = channel.name
        self._last_micro: int | None = None
        snapshots = channel.kind in (ChannelKind.ORDER_BOOK, ChannelKind.DETAIL_ORDER_BOOK)
        self._recent: set[bytes] | None = None if snapshots else set()
        self._recent_order: collections.deque[bytes] = collections.deque()

    def deliver_frame(self, event: str, data: Any) -> None:
        micro = data.get("microtimestamp") if data.__class__ is dict else None
        try:
            micros = None if micro is None else int(micro)
        except (TypeError, ValueError):
            micros = None
        payload = orjson.dumps(data)
        recent = self._recent
        if recent is not None:
            key = event.encode() + payload
            if key in recent:
                self._recorder.duplicates += 1
                return
            recent.add(key)
            self._recent_order.append(key)
            if len(self._recent_order) > _RECENT:
                recent.discard(self._recent_order.popleft())
        if micros is not None:
            self._last_micro = micros
        self._recorder.add(Record(_now_us(), micros, self._name, event, payload))

    def deliver(self, event: Any) -> None:
        if isinstance(event, Gap):
            if event.since_microtimestamp is None and self._last_micro is not None:
                # The hub knows no time for channels it does not decode; we do.
                event = Gap(
                    event.channel, event.pair, event.reason, self._last_micro,
                    event.until_microtimestamp,
                )  # fmt: skip
            self._recorder.add_gap(event)

    def fail(self, error: BaseException) -> None:
        self._recorder.failed(error)


class _TradeTap:
    """One trade channel: typed trades, ids never repeated, held during a refill."""

    __slots__ = ("_recorder", "channel", "holding", "last_id")

    def __init__(self, recorder: Recorder, channel: Channel, last_id: int | None) -> None:
        self._recorder = recorder
        self.channel = channel
        self.last_id = last_id
        self.holding: list[LiveTrade] | None = [] if last_id is not None else None

    def deliver(self, event: Any) -> None:
        if isinstance(event, Gap):
            self._recorder.add_gap(event)
            return
        if self.holding is not None:
            self.holding.append(event)
            return
        self.emit(event)

    def emit(self, trade: LiveTrade) -> None:
        trade_id = int(trade.id)
        if self.last_id is not None and trade_id <= self.last_id:
            self._recorder.duplicates += 1
            return
        self.last_id = trade_id
        self._recorder.add(
            Record(
                _now_us(),
                trade.microtimestamp,
                self.channel.name,
                "trade",
                trade_data(trade),
                trade.recovered,
            )
        )

    def fail(self, error: BaseException) -> None:
        self._recorder.failed(error)


class Recorder:
    """Channels of one client's stream hub into one sink (see the module docstring)."""

    def __init__(
        self,
        client: StreamingClient,
        sink: RecordSink,
        channels: Sequence[str],
        *,
        flush_interval: float = 0.2,
        max_messages: int | None = None,
    ) -> None:
        self.client = client
        self.sink = sink
        self.channels = [channel_of(name) for name in dict.fromkeys(channels)]
        self.flush_interval = flush_interval
        self.max_messages = max_messages
        self.messages = 0
        self.duplicates = 0
        self.per_channel: Counter[str] = Counter()
        self.gaps = 0
        self.recovered = 0
        self.resumed: dict[str, Record] = {}
        self.done = asyncio.Event()
        self.error: BaseException | None = None
        self._pending: list[Record] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._taps: list[tuple[Any, Channel]] = []
        self._stopping = False

    # -- what the taps report ------------------------------------------------------------

    def add(self, record: Record) -> None:
        if self._stopping:
            return
        self._pending.append(record)
        self.messages += 1
        self.per_channel[record.channel] += 1
        if record.recovered:
            self.recovered += 1
        self._wake.set()
        if self.max_messages is not None and self.messages >= self.max_messages:
            self.done.set()

    def add_gap(self, gap: Gap, *, restart: bool = False) -> None:
        if self._stopping:
            return
        self.gaps += 1
        self._pending.append(
            Record(_now_us(), None, gap.channel, GAP_EVENT, gap_data(gap, restart=restart))
        )
        self._wake.set()

    def failed(self, error: BaseException) -> None:
        if self._stopping:
            return
        if self.error is None and not isinstance(error, ClientClosedError):
            self.error = error
        self.done.set()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the sink, find the resume points, subscribe, refill trades."""
        await self.sink.open()
        names = [channel.name for channel in self.channels]
        self.resumed = await self.sink.last_records(names)
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())
        for channel in self.channels:
            last = self.resumed.get(channel.name)
            if last is not None and channel.kind is not ChannelKind.LIVE_TRADES:
                # Whatever this channel sent while nobody recorded is lost: say so,
                # ahead of anything the new subscription brings.
                since = last.microtimestamp
                gap = Gap(channel.name, channel.pair, GapReason.RECONNECTED, since, None)
                self.add_gap(gap, restart=True)
        hub = self.client.stream_hub
        trade_taps: list[_TradeTap] = []
        states = []
        for channel in self.channels:
            last = self.resumed.get(channel.name)
            if channel.kind is ChannelKind.LIVE_TRADES:
                tap = _TradeTap(self, channel, _trade_id(last) if last is not None else None)
                states += hub.attach(tap, [channel])
                trade_taps.append(tap)
                self._taps.append((tap, channel))
            else:
                frame_tap = _FrameTap(self, channel)
                states += hub.attach(frame_tap, [channel], frames=True)
                self._taps.append((frame_tap, channel))
        await hub.wait_ready(states)
        for tap in trade_taps:
            if tap.holding is not None:
                await self._refill(tap, self.resumed[tap.channel.name])

    async def _refill(self, tap: _TradeTap, last: Record) -> None:
        """Trades printed since ``last`` (the channel's last recorded trade), from REST."""
        assert tap.last_id is not None
        resume_id = tap.last_id
        rows: list[Any] = []
        reached = failed = False
        for window in _TRADE_WINDOWS:
            try:
                page = await self.client.transactions(tap.channel.pair, time=window)  # type: ignore[arg-type]
            except BitstampError:
                failed = True
                break
            rows = list(page)
            if any(int(row.id) <= resume_id for row in rows):
                reached = True
                break
        newer = sorted((row for row in rows if int(row.id) > resume_id), key=lambda r: int(r.id))
        held, tap.holding = tap.holding or [], None
        if not reached:
            reason = GapReason.REST_FAILED if failed else GapReason.REST_UNREACHABLE
            until = _micros_of(newer[0]) if newer else (held[0].microtimestamp if held else None)
            self.add_gap(
                Gap(tap.channel.name, tap.channel.pair, reason, last.microtimestamp, until),
                restart=True,
            )
        for row in newer:
            tap.emit(recovered_trade(tap.channel, row))
        for trade in held:
            tap.emit(trade)

    async def _write_loop(self) -> None:
        """Append what the taps collected, in batches; flush at least every
        ``flush_interval`` seconds while records come (a timer wakes the loop for that)."""
        sink = self.sink
        loop = asyncio.get_running_loop()
        last_flush = loop.time()
        timer: asyncio.TimerHandle | None = None
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                batch, self._pending = self._pending, []
                if batch:
                    await sink.write(batch)
                if self._stopping and not self._pending:
                    return
                now = loop.time()
                if now - last_flush >= self.flush_interval:
                    await sink.flush()
                    last_flush = now
                elif timer is None or timer.cancelled() or timer.when() <= now:
                    timer = loop.call_at(last_flush + self.flush_interval, self._wake.set)
        finally:
            if timer is not None:
                timer.cancel()

    async def stop(self) -> None:
        """Unsubscribe, write what was received, close the sink."""
        hub = self.client.stream_hub
        for tap, channel in self._taps:
            if not hub.closed:
                hub.detach(tap, [channel])
        self._taps.clear()
        self._stopping = True  # the taps add nothing more
        writer, self._writer = self._writer, None
        if writer is not None:
            self._wake.set()
            await writer
        batch, self._pending = self._pending, []
        if batch:
            await self.sink.write(batch)
        await self.sink.close()


def _micros_of(row: Any) -> int:
    """A REST trade row's time in microseconds (whole seconds: REST has no finer)."""
    return int((row.timestamp - _EPOCH) // timedelta(microseconds=1))


async def record(
    connection: Connection,
    output: Output,
    channels: Sequence[str],
    spec: SinkSpec,
    *,
    seconds: float | None,
    max_messages: int | None,
) -> None:
    """The ``record`` command: until Ctrl-C, SIGTERM, ``seconds`` or ``max_messages``."""
    if any(channel_of(name).kind.private for name in channels) and not connection.settings.has_keys:
        raise CommandError(
            "private channels need keys: set BITSTAMP_API_KEY and BITSTAMP_API_SECRET",
            ExitCode.AUTH,
        )
    recorder = Recorder(connection.client, open_sink(spec), channels, max_messages=max_messages)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: KeyboardInterrupt
            loop.add_signal_handler(signum, recorder.done.set)
    started = time.monotonic()
    try:
        await recorder.start()
        resumed = {name: record.microtimestamp for name, record in recorder.resumed.items()}
        if output.json:
            output.json_document(
                {
                    "event": "recording",
                    "channels": [c.name for c in recorder.channels],
                    "output": spec.describe(),
                    "resumed_from": resumed,
                }
            )
        else:
            note = f"recording {', '.join(c.name for c in recorder.channels)} to {spec.describe()}"
            if resumed:
                note += f"; resuming {len(resumed)} channel(s) where the output ends"
            output.note(note + "; Ctrl-C stops")
        if seconds is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                # The requested run length, not synchronisation.
                await asyncio.wait_for(recorder.done.wait(), seconds)
        else:
            await recorder.done.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
        await recorder.stop()
    if recorder.error is not None:
        raise recorder.error
    stats = connection.client.stream_hub.stats
    summary: list[tuple[str, Any]] = [
        ("messages", recorder.messages),
        ("seconds", round(time.monotonic() - started, 3)),
        ("recovered_trades", recorder.recovered),
        ("gaps", recorder.gaps),
        ("duplicates_dropped", recorder.duplicates + stats.duplicates_dropped),
        ("reconnects", stats.reconnects),
        ("handovers", stats.handovers),
        ("output", spec.describe()),
    ]
    summary += [(f"channel {name}", count) for name, count in sorted(recorder.per_channel.items())]
    if output.json:
        output.json_document({"event": "stopped", **dict(summary)})
    else:
        output.record(summary, title="recorded")
