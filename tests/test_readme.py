"""The README's Python examples run as written against the emulator (issue 6: example
comments must show what the library really does)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import aiobitstamp
from aiobitstamp.testing import FakeBitstamp

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- not run[^>]*-->\n)?```python\n(.*?)```", re.S)
KEY, SECRET = "readmekey0001", "readme-secret-value"


def examples() -> list[str]:
    return [code for skip, code in BLOCK.findall(README.read_text()) if not skip]


def test_the_readme_has_examples_to_run() -> None:
    assert len(examples()) >= 8


async def test_every_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    async with FakeBitstamp() as exchange:
        exchange.add_account(KEY, SECRET, balances={"usd": "100000", "btc": "10"})
        async with aiobitstamp.Client(
            KEY, SECRET, base_url=exchange.url, ws_url=exchange.ws_url
        ) as client:
            namespace: dict[str, object] = {
                "aiobitstamp": aiobitstamp,
                "client": client,
                "exchange": exchange,
            }
            for number, code in enumerate(examples(), 1):
                compiled = compile(
                    code, f"README.md example {number}", "exec",
                    flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                )  # fmt: skip
                result = eval(compiled, namespace)
                if inspect.iscoroutine(result):
                    await result
    shown = capsys.readouterr().out
    # What the comments promise is what the examples print.
    for promised in ("OrderState.OPEN", "CancelOutcome.CANCELED", "400.009", "usd 100000.00 0.00"):
        assert promised in shown, promised
