#!/usr/bin/env python3
"""Set-up and everyday commands that need nothing but Python.

    python3 tasks.py demo    # a trading session on the embedded Bitstamp emulator
    python3 tasks.py test    # the test suite, then mypy --strict and ruff
    python3 tasks.py bench   # benchmarks against raw aiohttp + orjson and ccxt

Each command first makes (or refreshes) a virtual environment in .venv with the project
and its dev tools installed; running it again reuses that environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def ensure_environment() -> None:
    """Create .venv and install the project when missing or when pyproject.toml changed."""
    pyproject = ROOT / "pyproject.toml"
    if STAMP.exists() and STAMP.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except subprocess.CalledProcessError:
            sys.exit("could not create .venv: on Debian/Ubuntu, apt-get install python3-venv")
    print("installing aiobitstamp and its dev tools into .venv ...", flush=True)
    run(str(BIN / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip")
    run(str(BIN / "python"), "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev,cli]")
    STAMP.touch()


def run(*command: str) -> None:
    completed = subprocess.run(command, cwd=ROOT)
    if completed.returncode:
        sys.exit(completed.returncode)


def main(argv: list[str]) -> None:
    commands = {
        "demo": [[str(BIN / "aiobitstamp"), "demo", *argv[1:]]],
        "test": [
            [str(BIN / "pytest"), "-q", *argv[1:]],
            [str(BIN / "mypy"), "--strict", "aiobitstamp"],
            [str(BIN / "ruff"), "check", "."],
        ],
        "bench": [[str(BIN / "python"), "-m", "benchmarks", *argv[1:]]],
    }
    if not argv or argv[0] not in commands:
        print(__doc__)
        sys.exit(2)
    ensure_environment()
    for command in commands[argv[0]]:
        run(*command)


if __name__ == "__main__":
    main(sys.argv[1:])
