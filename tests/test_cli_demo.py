"""``aiobitstamp demo``, the README's first command: offline, under a minute, exit 0, and a
market maker that really trades on the emulator's living market."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from ._cli_support import clean_env, run_cli


def test_demo_trades_and_sums_up_as_json(tmp_path: Path) -> None:
    started = time.monotonic()
    completed = run_cli("--json", "demo", "--seconds", "6", env=clean_env(tmp_path), timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert time.monotonic() - started < 60
    summary = json.loads(completed.stdout)
    assert summary["orders placed"] >= 2
    assert summary["fills"] >= 1, summary  # the emulator's takers hit our quotes
    assert Decimal(summary["bought"]) + Decimal(summary["sold"]) > 0
    assert summary["requests sent"] >= summary["orders placed"]
    assert summary["requests refused for rate"] == 0
    assert "/" in summary["limiter headroom at the end"]
    assert Decimal(summary["P&L marked at mid"]) == Decimal(summary["P&L marked at mid"])


def test_demo_piped_prints_fills_status_lines_and_a_summary(tmp_path: Path) -> None:
    completed = run_cli("demo", "--seconds", "5", "--speed", "20", env=clean_env(tmp_path))
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert any(line.startswith("status: mid ") for line in lines)
    assert any(line.startswith("fill ") for line in lines)
    summary = dict(line.split("\t") for line in lines if "\t" in line)
    assert int(summary["fills"]) >= 1
    assert "\x1b" not in completed.stdout
