"""Rate limiters against a strict exchange: aiobitstamp, ccxt's throttle, a plain aiolimiter.

Each contender drives its own emulator (strict sliding windows, answering 400.002 past them)
with 50 concurrent tasks for the same wall time, all at once, so they share the machine's
noise. Then, without a network, each is given a backlog of public requests followed by one
cancel, to see how long the cancel waits.

Printed per contender: the most requests the exchange saw in any sliding window of each
limit (must not exceed the limit), accepted requests as a share of what the limits allow
over the run (a perfect limiter scores 100%), rejections, and the cancel's wait.

Last, pacing: 4,000 requests queued at once at Bitstamp's limits, with and without the
aiolimiter bucket (``pacing=True``); medians over several runs of the most admissions in
any 50 ms and of the admissions per second once the first window has passed.

    python -m benchmarks limiter [--seconds 75] [--limits 40/1,600/60] [--backlog 5000]
                                 [--pacing-runs 5] [--pacing-seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiolimiter import AsyncLimiter

import aiobitstamp
from aiobitstamp.testing import FakeBitstamp

ROOT = Path(__file__).resolve().parents[1]
Limits = tuple[tuple[int, float], ...]
Gate = Callable[[], AbstractAsyncContextManager[object]]


@dataclass
class Outcome:
    name: str
    arrivals: list[float]
    accepted: int
    rejected: int


def max_in_window(times: list[float], seconds: float) -> int:
    """The most events inside any half-open window of ``seconds``."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, bisect.bisect_left(ordered, start + seconds, lo=i) - i)
    return best


def most_allowed(limits: Limits, duration: float) -> int:
    """How many requests the limits admit from 0 to ``duration`` inclusive at best: admit
    each as early as every window allows (greedy is optimal for count-per-window limits)."""
    admitted: list[float] = []
    now = 0.0
    while True:
        for count, seconds in limits:
            if len(admitted) >= count:
                now = max(now, admitted[-count] + seconds)
        if now > duration:
            return len(admitted)
        admitted.append(now)


def parse_limits(text: str) -> Limits:
    pairs = []
    for part in text.split(","):
        count, seconds = part.split("/")
        pairs.append((int(count), float(seconds)))
    return tuple(pairs)


# -- contenders ------------------------------------------------------------------------


def aiolimiter_gate(limits: Limits) -> Gate:
    buckets = [AsyncLimiter(count, seconds) for count, seconds in limits]

    @asynccontextmanager
    async def gate() -> AsyncIterator[None]:
        for bucket in buckets:
            await bucket.acquire()
        yield

    return gate


def ccxt_gate(rate_limit_ms: float | None) -> Gate:
    import ccxt.async_support as ccxt_async

    config: dict[str, object] = {"enableRateLimit": True}
    if rate_limit_ms is not None:
        config["rateLimit"] = rate_limit_ms
    exchange = ccxt_async.bitstamp(config)

    @asynccontextmanager
    async def gate() -> AsyncIterator[None]:
        if exchange.throttler is None:
            exchange.init_throttler()
        await exchange.throttle(1)
        yield

    return gate


def ours_gate(limits: Limits, *, pacing: bool = False) -> Gate:
    limiter = aiobitstamp.SlidingWindowLimiter(limits, pacing=pacing)
    return lambda: limiter.slot(aiobitstamp.Lane.PUBLIC)


async def sustained(name: str, gate: Gate, limits: Limits, seconds: float) -> Outcome:
    async with FakeBitstamp(rate_limits=limits, record_arrivals=True) as fake:
        url = fake.url + "/api/v2/ticker/btcusd/"
        stop = time.monotonic() + seconds
        accepted = rejected = 0
        async with aiohttp.ClientSession() as session:

            async def worker() -> None:
                nonlocal accepted, rejected
                while time.monotonic() < stop:
                    async with gate():
                        if time.monotonic() >= stop:
                            return
                        async with session.get(url) as answer:
                            await answer.read()
                    if answer.status == 200:
                        accepted += 1
                    else:
                        rejected += 1

            await asyncio.gather(*(worker() for _ in range(50)))
        return Outcome(name, list(fake.arrivals), accepted, rejected)


Admit = Callable[[str, Callable[[], None]], Awaitable[None]]


async def cancel_wait(acquire: Admit, backlog: int, cap: float) -> tuple[float | None, int]:
    """Seconds a cancel queued behind ``backlog`` public requests waits, and how many
    public requests were admitted after it was queued and before it (``None`` seconds when
    it is still waiting at ``cap``)."""
    admitted: list[str] = []
    queued_up = 0
    backlog_waiting = asyncio.Event()

    async def request(kind: str) -> None:
        nonlocal queued_up
        queued_up += 1
        if queued_up == backlog:
            # Set before this last one queues, but it queues before anyone else runs.
            backlog_waiting.set()
        await acquire(kind, lambda: admitted.append(kind))

    public = [asyncio.create_task(request("public")) for _ in range(backlog)]
    await backlog_waiting.wait()
    ahead = len(admitted)
    queued = time.monotonic()
    cancel = asyncio.create_task(request("cancel"))
    try:
        await asyncio.wait_for(asyncio.shield(cancel), cap)
        waited: float | None = time.monotonic() - queued
    except asyncio.TimeoutError:
        waited = None
    position = admitted.index("cancel") if "cancel" in admitted else len(admitted)
    for task in [*public, cancel]:
        task.cancel()
    await asyncio.gather(*public, cancel, return_exceptions=True)
    return waited, position - ahead


def cancel_contenders(limits: Limits, ccxt_ms: float | None) -> dict[str, Admit]:
    """acquire(kind, on_admit) for each contender; only aiobitstamp tells a cancel apart."""

    def lanes(limiter: aiobitstamp.SlidingWindowLimiter) -> Admit:
        async def admit(kind: str, on_admit: Callable[[], None]) -> None:
            lane = aiobitstamp.Lane.CANCEL if kind == "cancel" else aiobitstamp.Lane.PUBLIC
            async with limiter.slot(lane):
                on_admit()
                await asyncio.sleep(0.001)  # the request's round trip

        return admit

    ours = lanes(aiobitstamp.SlidingWindowLimiter(limits))
    paced = lanes(aiobitstamp.SlidingWindowLimiter(limits, pacing=True))

    plain = aiolimiter_gate(limits)

    async def bucket(kind: str, on_admit: Callable[[], None]) -> None:
        async with plain():
            on_admit()
            await asyncio.sleep(0.001)

    throttled = ccxt_gate(ccxt_ms)

    async def ccxt(kind: str, on_admit: Callable[[], None]) -> None:
        async with throttled():
            on_admit()
            await asyncio.sleep(0.001)

    return {
        "aiobitstamp": ours,
        "aiobitstamp, paced": paced,
        "aiolimiter bucket": bucket,
        "ccxt throttle": ccxt,
    }


# -- several processes sharing one limit through Redis --------------------------------------

WORKER = r"""
import asyncio, json, sys, time
import aiobitstamp
from aiobitstamp._redis_limiter import RedisLimiter

async def main(url, redis_url, key, seconds, limits):
    limiter = RedisLimiter(redis_url, key=key, limits=limits)
    client = aiobitstamp.Client(base_url=url, limiter=limiter, validate_markets=False,
                                retry=aiobitstamp.RetryPolicy(max_attempts=1))
    start = time.monotonic()
    stop = start + seconds
    accepted = rejected = 0
    async with client:
        async def worker():
            nonlocal accepted, rejected
            while time.monotonic() < stop:
                try:
                    await client.ticker("btcusd")
                    accepted += 1
                except aiobitstamp.RateLimitError:
                    rejected += 1
        await asyncio.gather(*(worker() for _ in range(13)))
    await limiter.aclose()
    # CLOCK_MONOTONIC is system-wide on Linux: the parent can line the workers up.
    print(json.dumps({"accepted": accepted, "rejected": rejected, "start": start, "stop": stop}))

url, redis_url, key = sys.argv[1:4]
seconds, limits = float(sys.argv[4]), tuple(map(tuple, json.loads(sys.argv[5])))
asyncio.run(main(url, redis_url, key, seconds, limits))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def redis_processes(limits: Limits, seconds: float, processes: int) -> Outcome | None:
    server = shutil.which("redis-server")
    if server is None:
        return None
    import json

    import redis.asyncio as aioredis

    port = free_port()
    redis_server = subprocess.Popen(  # noqa: ASYNC220  (started once, before any timing)
        [server, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    redis_url = f"redis://127.0.0.1:{port}/0"
    try:
        probe = aioredis.from_url(redis_url)
        for _ in range(200):
            try:
                await probe.ping()
                break
            except (OSError, aioredis.ConnectionError):
                await asyncio.sleep(0.02)  # redis-server is still starting
        await probe.aclose()
        async with FakeBitstamp(rate_limits=limits, record_arrivals=True) as fake:
            with tempfile.TemporaryDirectory() as tmp:
                script = Path(tmp) / "worker.py"
                script.write_text(WORKER)
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                workers = [
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        str(script),
                        fake.url,
                        redis_url,
                        "bench",
                        str(seconds),
                        json.dumps(limits),
                        stdout=subprocess.PIPE,
                        env=env,
                    )
                    for _ in range(processes)
                ]
                outputs = [await worker.communicate() for worker in workers]
            counts = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
            # The run spans the first worker's start to the last one's stop (interpreter
            # start-up is not the limiter's doing); a request still queued at a worker's
            # stop may go out later, so only arrivals inside the span count.
            begin = min(c["start"] for c in counts)
            end = max(c["stop"] for c in counts)
            inside = [t for t in fake.arrivals if begin <= t < end]
            return Outcome(
                f"aiobitstamp, {processes} processes on Redis",
                inside,
                len(inside) - fake.stats.rate_limited,
                fake.stats.rate_limited,
            )
    finally:
        redis_server.terminate()
        redis_server.wait(timeout=10)


# -- report -----------------------------------------------------------------------------


def report(outcomes: list[Outcome], limits: Limits, *, header: bool = True) -> None:
    heads = "".join(f"{f'max/{c} per {s:g}s':>18}" for c, s in limits)
    if header:
        print(f"{'contender':36}{heads}{'accepted/allowed':>18}{'rejected':>10}")
    for outcome in outcomes:
        windows = "".join(f"{max_in_window(outcome.arrivals, s):>14}/{c:<3}" for c, s in limits)
        # Measured over the span the contender was sending, first arrival to last, so
        # start-up and the deadline's edge neither help nor hurt anyone.
        span = max(outcome.arrivals) - min(outcome.arrivals) if outcome.arrivals else 0.0
        allowed = most_allowed(limits, span)
        share = outcome.accepted / allowed
        print(f"{outcome.name:36}{windows}{share:>17.1%}{outcome.rejected:>10}", flush=True)


async def run(args: argparse.Namespace) -> None:
    if args.pacing_only:
        await pacing_rows(args.pacing_runs, args.pacing_seconds)
        return
    limits = parse_limits(args.limits)
    short_count, short_seconds = min(limits, key=lambda pair: pair[1])
    tight_ms = max(seconds / count for count, seconds in limits) * 1000
    print(
        f"limits {limits}; {args.seconds:g} s of 50 tasks per contender, all at once "
        f"(ccxt ships rateLimit 75 ms for Bitstamp; 'tuned' uses {tight_ms:g} ms, the "
        "tightest sustained rate)"
    )
    contenders = {
        "aiobitstamp SlidingWindowLimiter": ours_gate(limits),
        "aiobitstamp, pacing=True": ours_gate(limits, pacing=True),
        "aiolimiter buckets (one per limit)": aiolimiter_gate(limits),
        "ccxt throttle as shipped (75 ms)": ccxt_gate(None),
        f"ccxt throttle tuned ({tight_ms:g} ms)": ccxt_gate(tight_ms),
    }
    outcomes = await asyncio.gather(
        *(sustained(name, gate, limits, args.seconds) for name, gate in contenders.items())
    )
    report(outcomes, limits)
    if not args.no_redis:
        shared = await redis_processes(limits, args.seconds, 4)
        if shared is None:
            print("(redis-server not found: the 4-process Redis row was skipped)")
        else:
            report([shared], limits, header=False)

    print(
        f"\ncancel queued behind {args.backlog} public requests "
        f"(limit {short_count} per {short_seconds:g} s; waiting capped at {args.cap:g} s)"
    )
    for name, acquire in cancel_contenders(limits, tight_ms).items():
        waited, ahead = await cancel_wait(acquire, args.backlog, args.cap)
        shown = f"{waited:.3f} s" if waited is not None else f"> {args.cap:g} s"
        print(f"  {name:22} waited {shown:>10}; public requests admitted ahead of it: {ahead}")
    await pacing_rows(args.pacing_runs, args.pacing_seconds)


# -- pacing -------------------------------------------------------------------------------


@dataclass
class Flow:
    peak_50ms: int  # most admissions in any 50 ms
    sustained: float  # admissions per second after the first window
    admitted: int


async def backlog_flow(limits: Limits, *, pacing: bool, backlog: int, seconds: float) -> Flow:
    """Queue ``backlog`` requests at once (each a 10 ms round trip) and watch admissions
    for ``seconds`` of wall time."""
    limiter = aiobitstamp.SlidingWindowLimiter(limits, pacing=pacing)
    admitted: list[float] = []

    async def request() -> None:
        async with limiter.slot(aiobitstamp.Lane.PUBLIC):
            admitted.append(time.monotonic())
            await asyncio.sleep(0.01)

    start = time.monotonic()
    tasks = [asyncio.create_task(request()) for _ in range(backlog)]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # Whatever the bucket does, the first window of a bursty limiter goes out at once;
    # the rate that lasts is the one after it.
    first_window = min(window for _, window in limits)
    after = [t for t in admitted if start + first_window <= t < start + seconds]
    return Flow(
        peak_50ms=max_in_window(admitted, 0.05),
        sustained=len(after) / (seconds - first_window),
        admitted=len(admitted),
    )


async def pacing_rows(runs: int, seconds: float, backlog: int = 4000) -> None:
    limits = aiobitstamp.DEFAULT_RATE_LIMITS
    print(
        f"\npacing: {backlog} requests queued at once, limits {limits}, {seconds:g} s each, "
        f"median of {runs} runs"
    )
    flows: dict[bool, list[Flow]] = {False: [], True: []}
    for _ in range(runs):
        for pacing in (False, True):  # interleaved, so both see the same machine
            flows[pacing].append(
                await backlog_flow(limits, pacing=pacing, backlog=backlog, seconds=seconds)
            )
    medians = {
        pacing: (
            statistics.median(flow.peak_50ms for flow in runs_),
            statistics.median(flow.sustained for flow in runs_),
            statistics.median(flow.admitted for flow in runs_),
        )
        for pacing, runs_ in flows.items()
    }
    admitted_head = f"admitted in {seconds:g} s"
    print(f"  {'':22}{'max per 50 ms':>15}{'per s after 1st window':>24}{admitted_head:>20}")
    for pacing, label in ((False, "windows only"), (True, "pacing=True")):
        peak, sustained, admitted = medians[pacing]
        print(f"  {label:22}{peak:>15g}{sustained:>24.1f}{admitted:>20g}")
    (peak0, rate0, total0), (peak1, rate1, total1) = medians[False], medians[True]
    print(
        f"  {'paced / windows only':22}{peak1 / peak0:>15.3f}{rate1 / rate0:>24.3f}"
        f"{total1 / total0:>20.3f}",
        flush=True,
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks limiter")
    parser.add_argument("--seconds", type=float, default=75.0)
    parser.add_argument("--limits", default="40/1,600/60")
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--cap", type=float, default=10.0)
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--pacing-runs", type=int, default=5)
    parser.add_argument("--pacing-seconds", type=float, default=3.0)
    parser.add_argument("--pacing-only", action="store_true", help="only the pacing rows")
    asyncio.run(run(parser.parse_args(argv)))
