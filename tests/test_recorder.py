"""``aiobitstamp record`` and ``replay`` against the emulator's own log.

The emulator runs in the test's event loop and its ``feed`` (what every channel is made
of) is the log; the collector is a subprocess, as a user runs it. Faults are forced on
the emulator's WebSocket endpoint when its log reaches a count (never after a sleep):
``bts:request_reconnect`` handovers and hard drops. Then the recording must be the log,
message for message: every trade (refilled from REST after a drop or a restart), and every
order event and book diff except where the recording itself says, with a gap record,
that a hole could not be refilled. Nothing may appear twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from aiobitstamp.cli import replay
from aiobitstamp.cli._sinks import GAP_EVENT, JsonLinesSink, Record, iter_records
from aiobitstamp.streams import BookDiff, Gap, LiveOrder, LiveTrade
from aiobitstamp.testing import FakeBitstamp
from aiobitstamp.testing._feed import BookChanged, FeedEvent, OrderEvent, TradePrinted

from ._cli_support import OUTPUTS, clean_env, redis_server

MARKET = "btcusd"
TRADES, ORDERS, DIFFS = (
    f"{kind}_{MARKET}" for kind in ("live_trades", "live_orders", "diff_order_book")
)
CHANNELS = (TRADES, ORDERS, DIFFS)
_GUARD = 120.0  # failure guard only


class Log:
    """The emulator's own log of what its channels publish, from its market feed."""

    def __init__(self, exchange: FakeBitstamp) -> None:
        self.by_channel: dict[str, list[tuple[Any, ...]]] = {name: [] for name in CHANNELS}
        self.count = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._stop = exchange.feed.subscribe(self._on_event)

    def _on_event(self, event: FeedEvent) -> None:
        if event.market != MARKET:
            return
        if isinstance(event, TradePrinted):
            self.by_channel[TRADES].append(
                (event.trade_id, event.price, event.amount, event.taker_side, event.microtimestamp)
            )
        elif isinstance(event, OrderEvent):
            self.by_channel[ORDERS].append((event.kind.value, event.order_id, event.microtimestamp))
        elif isinstance(event, BookChanged):
            self.by_channel[DIFFS].append((event.microtimestamp,))
        self.count += 1
        for waiter in [w for w in self._waiters if self.count >= w[0]]:
            self._waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result(None)

    async def reach(self, count: int) -> None:
        """Wait until the log holds ``count`` messages."""
        if self.count >= count:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((count, waiter))
        await asyncio.wait_for(waiter, _GUARD)

    def close(self) -> None:
        self._stop()


@contextlib.asynccontextmanager
async def living_exchange() -> AsyncIterator[tuple[FakeBitstamp, Log]]:
    async with FakeBitstamp(message_rate=1000, speed=10, rate_limits=None) as exchange:
        log = Log(exchange)
        try:
            yield exchange, log
        finally:
            log.close()


@dataclass
class Collector:
    process: asyncio.subprocess.Process
    started: dict[str, Any]
    stopped: dict[str, Any] = field(default_factory=dict)

    async def stop(self) -> dict[str, Any]:
        self.process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(self.process.communicate(), _GUARD)
        OUTPUTS.extend([out.decode(), err.decode()])
        assert self.process.returncode == 0, err.decode()
        self.stopped = json.loads(out.decode().splitlines()[-1])
        assert self.stopped["event"] == "stopped"
        return self.stopped

    async def kill(self) -> None:
        self.process.kill()
        out, err = await asyncio.wait_for(self.process.communicate(), _GUARD)
        OUTPUTS.extend([out.decode(), err.decode()])


async def start_collector(exchange: FakeBitstamp, home: Path, *sink: str) -> Collector:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiobitstamp", "--json", "--base-url", exchange.url,
        "--ws-url", exchange.ws_url, "record", *CHANNELS, *sink,
        env=clean_env(home), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), _GUARD)
    if not line:
        _, err = await process.communicate()
        raise AssertionError(f"the collector did not start: {err.decode()}")
    started = json.loads(line)
    assert started["event"] == "recording"
    return Collector(process, started)


@contextlib.contextmanager
def sink_options(kind: str, tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    """The ``record`` options of a sink, and the source ``replay`` reads it from."""
    if kind == "jsonl":
        yield ["--out", str(tmp_path / "capture")], str(tmp_path / "capture")
    elif kind == "parquet":
        yield ["--parquet", str(tmp_path / "capture")], str(tmp_path / "capture")
    else:
        with redis_server(tmp_path) as url:
            yield ["--redis", url, "--stream", "test:capture"], url


async def read_recording(source: str) -> list[Record]:
    return [record async for record in iter_records(source, stream_key="test:capture")]


# -- checking a recording against the log -------------------------------------------------------


@dataclass
class Verdict:
    messages: int = 0
    trades: int = 0
    recovered: int = 0
    gaps: int = 0
    lost_in_gaps: int = 0
    restarts: int = 0


def _key(record: Record) -> tuple[Any, ...]:
    data = orjson.loads(record.data)
    if record.channel == TRADES:
        return (int(data["id_str"]),)
    if record.channel == ORDERS:
        return (record.event, int(data["id"]), int(data["microtimestamp"]))
    return (int(data["microtimestamp"]),)


def verify(log: Log, records: list[Record]) -> Verdict:
    """The recording is the log, message for message (see the module docstring)."""
    verdict = Verdict()
    for channel in CHANNELS:
        mine = [r for r in records if r.channel == channel]
        messages = [r for r in mine if r.event != GAP_EVENT]
        gaps = [r for r in mine if r.event == GAP_EVENT]
        verdict.messages += len(messages)
        verdict.gaps += len(gaps)
        verdict.restarts += sum(1 for g in gaps if orjson.loads(g.data).get("restart"))
        expected = log.by_channel[channel]
        assert messages, f"nothing recorded on {channel}"
        if channel == TRADES:
            assert not gaps, f"trades are refilled, never a gap: {gaps[:3]}"
            ids = [entry[0] for entry in expected]
            start = ids.index(_key(messages[0])[0])
            assert [_key(r)[0] for r in messages] == ids[start : start + len(messages)]
            for record, entry in zip(messages, expected[start:], strict=False):
                data = orjson.loads(record.data)
                assert Decimal(data["price_str"]) == entry[1]
                assert Decimal(data["amount_str"]) == entry[2]
                assert data["type"] == entry[3]
                if record.recovered:
                    verdict.recovered += 1
                    assert record.microtimestamp == entry[4] // 1_000_000 * 1_000_000
                else:
                    assert record.microtimestamp == entry[4]
            verdict.trades = len(messages)
            continue
        keys = expected
        position = keys.index(_key(messages[0]))
        hole_announced = False
        for record in mine:
            if record.event == GAP_EVENT:
                hole_announced = True
                continue
            key = _key(record)
            if position < len(keys) and keys[position] == key:
                position += 1
                continue
            assert hole_announced, (
                f"{channel}: got {key} where the log has {keys[position]}, and no gap record "
                "announced a hole (a loss or a duplicate)"
            )
            found = keys.index(key, position)  # later in the log; an earlier one is a duplicate
            verdict.lost_in_gaps += found - position
            position = found + 1
            hole_announced = False
    return verdict


def assert_replay_reproduces(records: list[Record], events: list[Any]) -> None:
    assert len(events) == len(records)
    for record, event in zip(records, events, strict=True):
        assert event.channel == record.channel
        if record.event == GAP_EVENT:
            assert isinstance(event, Gap)
            continue
        expected = {TRADES: LiveTrade, ORDERS: LiveOrder, DIFFS: BookDiff}[record.channel]
        assert isinstance(event, expected)
        assert event.microtimestamp == record.microtimestamp
        if isinstance(event, LiveTrade):
            assert (int(event.id),) == _key(record)
            assert event.recovered == record.recovered
        elif isinstance(event, LiveOrder):
            assert (event.action.value, int(event.id), event.microtimestamp) == _key(record)


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["jsonl", "parquet", "redis"])
async def test_a_recording_with_drops_and_reconnects_is_the_emulator_log(
    kind: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with sink_options(kind, tmp_path) as (options, source):
        async with living_exchange() as (exchange, log):
            collector = await start_collector(exchange, home, *options)
            base, total = log.count, 60_000
            faults = ("reconnect", "drop", "reconnect", "drop", "reconnect")
            for index, fault in enumerate(faults, start=1):
                await log.reach(base + total * index // (len(faults) + 1))
                if fault == "drop":
                    assert exchange.ws.drop_connections() >= 1
                else:
                    assert exchange.ws.request_reconnect() >= 1
            await log.reach(base + total)
            stopped = await collector.stop()
        records = await read_recording(source)
        events = [event async for event in replay(source, stream_key="test:capture")]
    verdict = verify(log, records)
    assert verdict.messages >= 50_000, verdict
    assert verdict.messages == stopped["messages"]
    assert stopped["handovers"] >= 1 and stopped["reconnects"] >= 2, stopped
    # Every hole in the order and diff channels was announced (two drops, two channels).
    assert verdict.gaps >= 2, verdict
    assert_replay_reproduces(records, events)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["jsonl", "parquet", "redis"])
async def test_a_collector_killed_and_restarted_neither_loses_nor_repeats(
    kind: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with sink_options(kind, tmp_path) as (options, source):
        async with living_exchange() as (exchange, log):
            first = await start_collector(exchange, home, *options)
            await log.reach(log.count + 12_000)
            await first.kill()
            await log.reach(log.count + 4_000)  # the market goes on while nobody records
            second = await start_collector(exchange, home, *options)
            assert set(second.started["resumed_from"]) == set(CHANNELS)
            await log.reach(log.count + 12_000)
            stopped = await second.stop()
        records = await read_recording(source)
        events = [event async for event in replay(source, stream_key="test:capture")]
    verdict = verify(log, records)
    # Trades printed while it was down came back from REST; the other channels say where
    # they could not be refilled, once each.
    assert stopped["recovered_trades"] >= 1, stopped
    assert verdict.recovered >= stopped["recovered_trades"]
    assert verdict.restarts == 2, verdict
    assert_replay_reproduces(records, events)


async def test_replay_keeps_the_recorded_pace(tmp_path: Path) -> None:
    directory = tmp_path / "capture"
    sink = JsonLinesSink(directory, 1 << 30, 3600.0)
    await sink.open()
    data = orjson.dumps({"microtimestamp": "1", "bids": [], "asks": []})
    await sink.write(
        [Record(1_000_000 + n * 100_000, n, DIFFS, "data", data) for n in range(9)]
    )  # 0.8 s recorded
    await sink.close()
    loop = asyncio.get_running_loop()
    started = loop.time()
    paced = [event async for event in replay(str(directory), speed=4.0)]
    elapsed = loop.time() - started
    assert len(paced) == 9 and all(isinstance(event, BookDiff) for event in paced)
    assert elapsed >= 0.8 / 4 * 0.95
    async with replay(str(directory), channels=[TRADES]) as none:
        assert [event async for event in none] == []


async def test_a_file_cut_short_by_a_crash_is_repaired_and_continued(tmp_path: Path) -> None:
    directory = tmp_path / "capture"
    sink = JsonLinesSink(directory, 1 << 30, 3600.0)
    await sink.open()
    data = orjson.dumps({"id": 1, "microtimestamp": "5"})
    await sink.write([Record(n, n, ORDERS, "order_created", data) for n in range(1000)])
    await sink.flush()
    await sink.write([Record(n, n, ORDERS, "order_created", data) for n in range(1000, 1500)])
    # Killed here: no gzip trailer, and what was written after the flush may be cut
    # anywhere (only what the flush completed is promised).
    raw = sink._raw
    raw.write(b"\x00\x17garbage")
    raw.close()
    sink._raw = None
    path = sink.files_written[0]

    again = JsonLinesSink(directory, 1 << 30, 3600.0)
    await again.open()
    last = await again.last_records([ORDERS])
    assert last[ORDERS].received_us >= 999
    with gzip.open(path) as whole:  # a whole gzip file again
        lines = whole.read().splitlines()
    assert [json.loads(line)["received_us"] for line in lines] == list(range(len(lines)))
    await again.write([Record(5000, 5000, ORDERS, "order_created", data)])
    await again.close()
    assert len(again.files_written) == 1 and again.files_written[0] != path
    records = await read_recording(str(directory))
    assert [r.received_us for r in records] == [*range(len(lines)), 5000]


async def test_rotation_makes_whole_gzip_files(tmp_path: Path) -> None:
    directory = tmp_path / "capture"
    sink = JsonLinesSink(directory, 20_000, 3600.0)
    await sink.open()
    for batch in range(20):
        data = orjson.dumps({"microtimestamp": str(batch), "bids": [["1", "2"]] * 20, "asks": []})
        await sink.write([Record(batch * 100 + n, batch, DIFFS, "data", data) for n in range(100)])
    await sink.close()
    files = sorted(directory.iterdir())
    assert len(files) >= 3
    total = 0
    for path in files:
        with gzip.open(path) as stream:
            total += len(stream.read().splitlines())
    assert total == 2000
    assert [r.received_us for r in await read_recording(str(directory))] == list(range(2000))


async def test_replay_command_prints_typed_events_as_json_lines(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    async with living_exchange() as (exchange, log):
        collector = await start_collector(exchange, home, "--out", str(tmp_path / "capture"))
        await log.reach(log.count + 2_000)
        await collector.stop()
    records = await read_recording(str(tmp_path / "capture"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiobitstamp", "--json", "replay", str(tmp_path / "capture"),
        "--channel", TRADES, env=clean_env(home), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), _GUARD)
    OUTPUTS.extend([out.decode(), err.decode()])
    assert process.returncode == 0, err.decode()
    events = [json.loads(line) for line in out.decode().splitlines()]
    trades = [r for r in records if r.channel == TRADES]
    assert [e["id"] for e in events] == [orjson.loads(r.data)["id_str"] for r in trades]
    assert {e["type"] for e in events} == {"LiveTrade"}
    assert isinstance(events[0]["price"], str)
