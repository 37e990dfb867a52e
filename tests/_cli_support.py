"""Helpers of the command-line tests: run ``aiobitstamp`` as a subprocess, start the
``emulator`` command, remember every output so a test can prove no secret was printed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

TEST_KEY = "clitestkey0123"
TEST_SECRET = "cli-test-secret-do-not-print-7f3a9c"
WRONG_SECRET = "cli-wrong-secret-do-not-print-41b2"
SECRETS = (TEST_SECRET, WRONG_SECRET)

# Every stdout and stderr any CLI test saw; scanned for the secrets above.
OUTPUTS: list[str] = []

_GUARD = 60.0  # a failure guard, never a synchronisation


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run: no keys, a private HOME and config directory."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BITSTAMP_", "AIOBITSTAMP_CONFIG"))
    }
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(
    *args: str,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = _GUARD,
) -> subprocess.CompletedProcess[str]:
    """``python -m aiobitstamp ARGS``; its output is kept for the secret scan."""
    completed = subprocess.run(
        [sys.executable, "-m", "aiobitstamp", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    OUTPUTS.append(completed.stdout)
    OUTPUTS.append(completed.stderr)
    return completed


@dataclass
class Emulator:
    """An ``aiobitstamp emulator`` process: its URLs and options."""

    process: subprocess.Popen[str]
    url: str
    ws_url: str
    lines: list[str]

    def target(self) -> list[str]:
        return ["--base-url", self.url, "--ws-url", self.ws_url]


class _LineReader:
    """Collects a process's stdout lines on a thread; waits on a line, not on time."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._ended = False
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = _GUARD) -> list[str]:
        with self._changed:
            ok = self._changed.wait_for(
                lambda: len(self.lines) >= count or self._ended, timeout=timeout
            )
            if not ok or len(self.lines) < count:
                raise AssertionError(f"expected {count} lines, got {self.lines!r}")
            return list(self.lines)


@contextlib.contextmanager
def emulator_process(home: Path, *options: str, accounts: int = 1) -> Iterator[Emulator]:
    """``aiobitstamp emulator --port 0 OPTIONS``, stopped with SIGTERM afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aiobitstamp", "emulator", "--port", "0", *options],
        env=clean_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    reader = _LineReader(process)
    try:
        lines = reader.wait_for(1 + accounts)
        words = lines[0].split()
        assert words[:3] == ["aiobitstamp", "emulator", "serving"], lines
        yield Emulator(process, words[3], words[4], reader.lines)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_GUARD)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.stderr is not None
        OUTPUTS.append("\n".join(reader.lines))
        OUTPUTS.append(process.stderr.read())
        process.stderr.close()
        if process.stdout is not None:
            process.stdout.close()


def assert_no_secret_printed() -> None:
    """No output of any CLI run so far shows a test secret."""
    for text in OUTPUTS:
        for secret in SECRETS:
            assert secret not in text, f"a secret was printed: {text[:200]!r}"


# -- redis-server ---------------------------------------------------------------------------

REQUIRE_REDIS = os.environ.get("AIOBITSTAMP_REQUIRE_REDIS") == "1"


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A scratch redis-server on a free loopback port: its URL. Skips the test when
    redis-server is missing, unless AIOBITSTAMP_REQUIRE_REDIS=1 (CI), where it fails."""
    import shutil
    import socket
    import time

    import pytest

    executable = shutil.which("redis-server")
    if executable is None:
        if REQUIRE_REDIS:
            pytest.fail("AIOBITSTAMP_REQUIRE_REDIS=1 but redis-server is not on PATH")
        pytest.skip("redis-server is not on PATH")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = directory / "redis.log"
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with log.open("wb") as output:
        server = subprocess.Popen([executable, *arguments], stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + _GUARD
        while True:
            if server.poll() is not None:
                pytest.fail(f"redis-server exited: {log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer PING: {log.read_text()}")
            time.sleep(0.01)  # polling a port that is not open yet
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.kill()
        server.wait()
