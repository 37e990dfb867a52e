"""Start the emulator as a separate process, so its CPU is not counted as the client's."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

KEY = "benchmarkkey0001"
SECRET = "benchmark-secret"


@contextmanager
def standalone_emulator(*extra: str) -> Iterator[str]:
    """Run ``python -m aiobitstamp.testing`` on a free port; yield its base URL."""
    command = [
        sys.executable, "-m", "aiobitstamp.testing", "--port", "0",
        "--account", f"{KEY}:{SECRET}", "--balance", "usd=1000000", "--balance", "btc=100",
        *extra,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"https?://127\.0\.0\.1:\d+", line)
        if found is None:
            raise RuntimeError(f"emulator did not start: {line!r}")
        yield found.group(0)
    finally:
        process.terminate()
        process.wait(timeout=10)
