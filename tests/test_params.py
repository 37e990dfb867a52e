"""Bad input is refused locally, with a message naming the parameter."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from aiobitstamp._exceptions import InvalidParameterError
from aiobitstamp._params import decimal_param, market_symbol, unix_seconds


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (Decimal("0.01000000"), 8, "0.01000000"),
        ("59000", 0, "59000"),
        (3, 2, "3"),
        (Decimal("1.50"), 1, "1.5"),
        (Decimal("1E+3"), 2, "1000"),
        (Decimal("0.00000001"), 8, "0.00000001"),
    ],
)
def test_valid_amounts(value: object, decimals: int, expected: str) -> None:
    assert decimal_param("amount", value, decimals=decimals) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (0.1, "floats are inexact"),
        (Decimal("NaN"), "finite"),
        ("Infinity", "finite"),
        ("-1", "greater than zero"),
        (0, "greater than zero"),
        ("abc", "not a number"),
        (Decimal("0.123456789"), "more than 8 decimal places"),
        (True, "Decimal, int or str"),
        (None, "Decimal, int or str"),
    ],
)
def test_invalid_amounts(value: object, fragment: str) -> None:
    with pytest.raises(InvalidParameterError, match=fragment) as info:
        decimal_param("amount", value, decimals=8)
    assert "amount" in str(info.value)


@pytest.mark.parametrize("pair", ["BTCUSD", "btc/usd", "", "b", 42, "btcusd; drop"])
def test_bad_market_symbols(pair: object) -> None:
    with pytest.raises(InvalidParameterError):
        market_symbol(pair)


def test_good_market_symbols() -> None:
    assert market_symbol("btcusd") == "btcusd"
    assert market_symbol("btcusd-perp") == "btcusd-perp"


def test_unix_seconds() -> None:
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert unix_seconds("start", when) == 1704067200
    assert unix_seconds("start", 5) == 5
    with pytest.raises(InvalidParameterError, match="timezone-aware"):
        unix_seconds("start", datetime(2024, 1, 1))
    with pytest.raises(InvalidParameterError):
        unix_seconds("start", -1)
