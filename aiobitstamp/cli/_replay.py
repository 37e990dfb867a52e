"""A recording made by ``record``, as a stream again: the typed events the live stream API
gives (``LiveTrade``, ``LiveOrder``, ``BookDiff``, ``BookSnapshot``, ``MyOrder``,
``MyTrade``, ``SelfTrade``, ``Gap``), decoded by the same decoders, through an iterator
with the interface of :class:`~aiobitstamp.streams.Subscription` (``async for``,
``async with``, ``start()``, ``get_nowait()``, ``aclose()``, ``channels``).

A strategy written against ``client.stream(...)`` runs unchanged on
``aiobitstamp.cli.replay("capture/")``. ``speed`` 1 keeps the recorded pace (by receive
time), 10 is ten times faster, ``None`` does not wait at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any

import orjson

from .._exceptions import ClientClosedError
from ..streams import Gap, GapReason, LiveTrade, StreamEvent, channel_of
from ..streams._events import decoder_for
from ._sinks import GAP_EVENT, Record, iter_records

__all__ = ["Replay", "event_json", "show"]


class Replay:
    """Typed events of a recording, in recorded order (see the module docstring).

    ``source``: a capture directory (gzip JSON Lines or Parquet), one capture file, or a
    ``redis://`` URL (with ``stream_key``). ``channels``: only these (default: all).
    ``raw``: iterate :class:`~aiobitstamp.cli._sinks.Record`\\ s instead (see
    :meth:`records`). Messages that do not decode are counted in ``malformed``, as the live
    stream counts them, and skipped.
    """

    def __init__(
        self,
        source: str,
        *,
        speed: float | None = None,
        channels: Iterable[str] = (),
        stream_key: str = "aiobitstamp:capture",
    ) -> None:
        if speed is not None and not speed > 0:
            raise ValueError("speed must be above 0, or None for no waiting")
        self.source = source
        self.speed = speed
        self.stream_key = stream_key
        self._only = frozenset(channel_of(name).name for name in channels)
        self._decoders: dict[str, Callable[[str, Any], StreamEvent]] = {}
        self._iterator: AsyncGenerator[StreamEvent, None] | None = None
        self._closed = False
        self._lookahead: list[StreamEvent] = []
        self.malformed = 0
        self.events = 0

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels asked for (empty: every channel of the recording)."""
        return tuple(sorted(self._only))

    @property
    def pending(self) -> int:
        """Events read ahead and not yet returned (0 or 1)."""
        return len(self._lookahead)

    async def records(self) -> AsyncIterator[Record]:
        """The recording's records (the channels asked for), paced by ``speed``."""
        loop = asyncio.get_running_loop()
        first: int | None = None
        started = 0.0
        async for record in iter_records(self.source, stream_key=self.stream_key):
            if self._only and record.channel not in self._only:
                continue
            if self.speed is not None:
                if first is None:
                    first, started = record.received_us, loop.time()
                due = started + (record.received_us - first) / 1e6 / self.speed
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # the replay's pace, by design
            yield record

    def decode(self, record: Record) -> StreamEvent:
        """The typed event of ``record`` (raises ``ValueError`` for one that does not
        decode)."""
        data = orjson.loads(record.data)
        if record.event == GAP_EVENT:
            channel = channel_of(record.channel)
            return Gap(
                channel.name,
                channel.pair,
                GapReason(data["reason"]),
                data.get("since_microtimestamp"),
                data.get("until_microtimestamp"),
            )
        decode = self._decoders.get(record.channel)
        if decode is None:
            decode = self._decoders[record.channel] = decoder_for(channel_of(record.channel))
        event = decode(record.event, data)
        if record.recovered and isinstance(event, LiveTrade):
            # A trade's values live in its wire data: the recovered flag travels there too.
            event = LiveTrade(event.channel, {**event.wire, "recovered": True})
        return event

    async def _events(self) -> AsyncGenerator[StreamEvent, None]:
        async for record in self.records():
            try:
                event = self.decode(record)
            except (KeyError, IndexError, TypeError, ValueError, ArithmeticError):
                self.malformed += 1
                continue
            self.events += 1
            yield event

    # -- the Subscription interface ------------------------------------------------------

    async def start(self) -> Replay:
        """Nothing to subscribe to: ready at once."""
        if self._closed:
            raise ClientClosedError("this replay was closed")
        return self

    async def __aenter__(self) -> Replay:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Replay:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._closed:
            raise StopAsyncIteration
        if self._lookahead:
            return self._lookahead.pop()
        if self._iterator is None:
            self._iterator = self._events()
        return await self._iterator.__anext__()

    def get_nowait(self) -> StreamEvent | None:
        """The event read ahead, if any (a replay reads on demand, so usually ``None``)."""
        return self._lookahead.pop() if self._lookahead else None

    async def aclose(self) -> None:
        """Stop (idempotent); iteration ends."""
        self._closed = True
        iterator, self._iterator = self._iterator, None
        if iterator is not None:
            await iterator.aclose()


_TRADE_VALUES = (
    "id", "price", "amount", "side", "microtimestamp", "buy_order_id", "sell_order_id", "recovered",
)  # fmt: skip


def event_json(event: StreamEvent) -> dict[str, Any]:
    """A typed event as a JSON-ready dict: its type, then its fields (book levels as
    ``[price, amount(, order_id)]`` rows)."""
    value: dict[str, Any] = {"type": type(event).__name__}
    if isinstance(event, LiveTrade):
        # A trade keeps its frame and gives each value when read: show the values.
        value["channel"] = event.channel
        for name in _TRADE_VALUES:
            value[name] = getattr(event, name)
        return value
    for field in dataclasses.fields(event):
        item = getattr(event, field.name)
        if field.name in ("bids", "asks"):
            item = [
                [level[0], level[1]] if isinstance(level, tuple) else _level_row(level)
                for level in item
            ]
        value[field.name] = item
    return value


def _level_row(level: Any) -> list[Any]:
    row = [level.price, level.amount]
    if getattr(level, "order_id", None) is not None:
        row.append(level.order_id)
    return row


def _describe(event: StreamEvent) -> str:
    kind = type(event).__name__
    if isinstance(event, Gap):
        return f"{event.channel} Gap {event.reason.value} since {event.since_microtimestamp}"
    micro = getattr(event, "microtimestamp", None)
    fields = []
    for name in ("action", "side", "id", "price", "amount"):
        item = getattr(event, name, None)
        if item is not None:
            fields.append(str(getattr(item, "value", item)))
    if hasattr(event, "bids") and hasattr(event, "asks"):
        fields.append(f"{len(event.bids)} bids {len(event.asks)} asks")
    if getattr(event, "recovered", False):
        fields.append("(recovered)")
    return f"{micro} {event.channel} {kind} {' '.join(fields)}"


async def show(
    output: Any, source: str, speed: float | None, channels: Iterable[str], stream_key: str
) -> None:
    """The ``replay`` command: each event as a line (a JSON line with ``--json``)."""
    counts: dict[str, int] = {}
    async with Replay(source, speed=speed, channels=channels, stream_key=stream_key) as events:
        async for event in events:
            kind = type(event).__name__
            counts[kind] = counts.get(kind, 0) + 1
            if output.json:
                output.json_document(event_json(event))
            else:
                output.line(_describe(event))
        malformed = events.malformed
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
    output.note(
        f"replayed {sum(counts.values())} events ({summary or 'none'})"
        + (f"; {malformed} malformed skipped" if malformed else "")
    )
