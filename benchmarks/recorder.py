"""How many stream messages per second ``aiobitstamp record`` decodes and writes, on one core.

    python -m benchmarks.recorder [--messages 60000] [--runs 5]

A canned feed first: the raw WebSocket frames the emulator sends on ``live_trades_btcusd``,
``live_orders_btcusd`` and ``diff_order_book_btcusd`` (captured once, then replayed from
memory, so the network and the emulator are out of the measurement). Each run then does
what the recorder does per frame: parse the JSON envelope, hand the frame to the
recorder's channel tap (trades decoded into typed ``LiveTrade``\\ s and written back as the
exchange's object, other channels kept as sent, repeats dropped), and append the records to
a sink in the recorder's batches. The process is pinned to one core.

Printed per sink: the median of the runs in messages per second, and the ratio to a
baseline measured in the same run (parse the frames and gzip them, nothing else: the floor
any JSON Lines recorder pays). The recorder must keep up with 20,000 messages per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from aiobitstamp.cli._record import Recorder, _FrameTap, _TradeTap
from aiobitstamp.cli._sinks import JsonLinesSink, ParquetSink, RecordSink
from aiobitstamp.streams import channel_of
from aiobitstamp.streams._events import decoder_for
from aiobitstamp.testing import FakeBitstamp

CHANNELS = ("live_trades_btcusd", "live_orders_btcusd", "diff_order_book_btcusd")
TARGET = 20_000
BATCH = 512  # about what the recorder's writer picks up per wake-up at this rate


async def capture(count: int) -> list[bytes]:
    """``count`` raw data frames from the emulator's WebSocket endpoint."""
    frames: list[bytes] = []
    async with (
        FakeBitstamp(message_rate=2000, speed=10, rate_limits=None) as exchange,
        aiohttp.ClientSession() as session,
        session.ws_connect(exchange.ws_url) as ws,
    ):
        for channel in CHANNELS:
            subscribe = {"event": "bts:subscribe", "data": {"channel": channel}}
            await ws.send_str(orjson.dumps(subscribe).decode())
        async for message in ws:
            raw = message.data.encode() if isinstance(message.data, str) else message.data
            if b'"bts:' in raw[:40]:
                continue
            frames.append(raw)
            if len(frames) >= count:
                break
    return frames


class _NoClient:
    """The recorder's client is not used when frames are fed to its taps directly."""


async def run_recorder(frames: list[bytes], sink: RecordSink) -> float:
    """Seconds of CPU to decode and write ``frames`` through ``sink``."""
    await sink.open()
    recorder = Recorder(_NoClient(), sink, CHANNELS)  # type: ignore[arg-type]
    taps: dict[str, Callable[[str, Any], None]] = {}
    for name in CHANNELS:
        channel = channel_of(name)
        if name.startswith("live_trades_"):
            tap = _TradeTap(recorder, channel, None)
            decode = decoder_for(channel)

            def typed(event: str, data: Any, tap: _TradeTap = tap, decode: Any = decode) -> None:
                tap.deliver(decode(event, data))

            taps[name] = typed
        else:
            taps[name] = _FrameTap(recorder, channel).deliver_frame
    loads = orjson.loads
    started = time.process_time()
    for index, frame in enumerate(frames, start=1):
        envelope = loads(frame)
        taps[envelope["channel"]](envelope["event"], envelope["data"])
        if index % BATCH == 0:
            batch, recorder._pending = recorder._pending, []
            await sink.write(batch)
    batch, recorder._pending = recorder._pending, []
    await sink.write(batch)
    await sink.close()
    assert recorder.messages == len(frames), (recorder.messages, len(frames))
    return time.process_time() - started


async def run_baseline(frames: list[bytes], directory: Path) -> float:
    """Seconds of CPU to parse each frame and gzip the frames: the floor."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    loads = orjson.loads
    started = time.process_time()
    with (directory / "baseline.jsonl.gz").open("wb") as out:
        for start in range(0, len(frames), BATCH):
            chunk = frames[start : start + BATCH]
            for frame in chunk:
                loads(frame)
            out.write(compressor.compress(b"\n".join(chunk) + b"\n"))
        out.write(compressor.flush())
    return time.process_time() - started


def median_rate(
    frames: list[bytes], runs: int, work: Callable[[Path], Coroutine[Any, Any, float]]
) -> float:
    seconds = []
    for _ in range(runs):
        directory = Path(tempfile.mkdtemp(prefix="aiobitstamp-bench-"))
        try:
            seconds.append(asyncio.run(work(directory)))
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    return len(frames) / statistics.median(seconds)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recorder")
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    frames = asyncio.run(capture(args.messages))
    print(f"$ python -m benchmarks.recorder {' '.join(argv)}".rstrip())
    print(
        f"recorder decode+write, {len(frames)} emulator frames ({', '.join(CHANNELS)}), "
        f"one core, median of {args.runs} runs"
    )
    baseline = median_rate(frames, args.runs, lambda d: run_baseline(frames, d))
    print(f"  {'baseline: parse + gzip the raw frames':44} {baseline:>10,.0f} msg/s")
    sinks: dict[str, Callable[[Path], RecordSink]] = {
        "gzip JSON Lines (the default)": lambda d: JsonLinesSink(d / "c", 1 << 40, 1e9),
        "Parquet (staging + zstd Parquet on close)": lambda d: ParquetSink(d / "c", 1 << 40, 1e9),
    }
    slowest = float("inf")
    for name, make in sinks.items():
        rate = median_rate(frames, args.runs, lambda d, make=make: run_recorder(frames, make(d)))
        slowest = min(slowest, rate)
        print(f"  {name:44} {rate:>10,.0f} msg/s  ({rate / baseline:.2f}x baseline)")
    verdict = "keeps up" if slowest >= TARGET else "DOES NOT keep up"
    print(f"  {verdict} with {TARGET:,} msg/s (slowest sink {slowest / TARGET:.1f}x the target)")


if __name__ == "__main__":
    main(sys.argv[1:])
