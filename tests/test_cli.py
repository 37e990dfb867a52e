"""The command line: the demo trades on the embedded emulator and says what happened."""

from __future__ import annotations

import re

import pytest

from aiobitstamp.cli import main


def test_demo_places_and_cancels_an_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"btcusd ticker: last \d+", out)
    assert re.search(r"order book: \d{4} bids, \d{4} asks", out)
    placed = re.search(r"placed buy 0\.01000000 btcusd @ \d+: order id (\d{16})", out)
    assert placed is not None
    assert f"cancelled order {placed.group(1)}" in out
    assert "usd after cancel: 25000.00 available, 0.00 reserved" in out
    assert "rejected for rate: 0" in out


def test_unknown_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--bogus"])
    assert "unrecognized arguments" in capsys.readouterr().err
