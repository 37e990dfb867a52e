"""Run the benchmarks: ``python -m benchmarks [NAME] [options]``; every one by default.

Each prints medians and ratios against a baseline measured in the same run: ``cpu`` (client
CPU per request against raw aiohttp + orjson and ccxt), ``limiter`` (windows, pacing and
back-off against ccxt's throttle and aiolimiter), ``orderbook`` (local book updates),
``streams`` (decode and book throughput, tick-to-order latency), ``recorder`` (collector
throughput).
"""

from __future__ import annotations

import importlib
import sys

NAMES = ("cpu", "limiter", "orderbook", "streams", "recorder")


def main(argv: list[str]) -> None:
    if argv and argv[0] in NAMES:
        importlib.import_module(f"benchmarks.{argv[0]}").main(argv[1:])
        return
    for name in NAMES:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as missing:  # a benchmark whose extras are not installed
            print(f"({name}: skipped, {missing})")
            continue
        print(f"\n== {name} ==")
        module.main([])


main(sys.argv[1:])
