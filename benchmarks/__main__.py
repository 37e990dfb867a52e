"""Run the benchmarks: ``python -m benchmarks [cpu|limiter] [options]`` (both by default)."""

from __future__ import annotations

import sys

from . import cpu, limiter


def main(argv: list[str]) -> None:
    if argv and argv[0] in ("cpu", "limiter"):
        {"cpu": cpu.main, "limiter": limiter.main}[argv[0]](argv[1:])
        return
    cpu.main(argv)
    print()
    limiter.main([])


main(sys.argv[1:])
