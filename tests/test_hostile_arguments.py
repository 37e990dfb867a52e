"""Every public method, every argument, hostile values: nothing is sent, and the caller gets
an ``InvalidParameterError`` (issue 6, "input that reaches the network").

The walk is driven by introspection: a public method or parameter this file does not know
fails the test, so a new endpoint cannot skip the check.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from aiobitstamp import Client, InvalidParameterError, MockTransport, OrderOptions, Response

from .test_client import KEY, SECRET, fixture

UTC = timezone.utc


class Evil(str):
    """A str whose methods lie: every check that trusts them is fooled."""

    def __str__(self) -> str:
        return "btcusd"

    def __format__(self, spec: str) -> str:
        return "btcusd"

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("btcusd")

    def isdigit(self) -> bool:
        return True

    def isalnum(self) -> bool:
        return True

    def lower(self) -> str:
        return "btcusd"


class EvilInt(int):
    def __index__(self) -> int:
        return 1

    def __int__(self) -> int:
        return 1

    def __str__(self) -> str:
        return "1"


class Pair(str, enum.Enum):
    BAD = "btc/usd"


class Count(enum.IntEnum):
    HUGE = 10**9


COMMON_BAD: list[object] = [
    object(),
    b"btcusd",
    ["btcusd"],
    {"pair": "btcusd"},
    1.5,
    float("nan"),
]
STRINGY_BAD: list[object] = [
    "",
    " btcusd",
    "btcusd\n",
    "btc/usd",
    "../x",
    "btc%2fusd",
    "btc?usd",
    "btc#usd",
    "\uff42\uff54\uff43\uff55\uff53\uff44",  # full-width letters
    "btc\u200busd",
    "BTCUSD",
    "x" * 5000,
    Evil("btc/usd"),
    Pair.BAD,
    True,
]
AMOUNT_BAD: list[object] = [
    0.01,
    "NaN",
    "sNaN",
    "Infinity",
    Decimal("-Infinity"),
    "-1",
    -1,
    0,
    "0",
    "1e999998",
    "1e-999999",
    10**400,
    "0.000000000000000000000000001",
    "1_000",
    "١٢٣",
    " 1",
    True,
    Evil("-1"),
]
INT_BAD: list[object] = [True, 60.0, "60", -5, 10**20, Count.HUGE, EvilInt(10**20), Decimal(60)]
BOOL_BAD: list[object] = ["no", "yes", 1, 0, "True", Decimal(1)]
TIME_BAD: list[object] = [
    datetime(2024, 1, 1),  # naive
    date(2024, 1, 1),
    -1,
    10**15,
    "2024-01-01",
    1.5e9,
    True,
]
ID_BAD: list[object] = ["", "-1", "1.5", "١٢٣", "²", "12 34", "1e5", "0x10", "9" * 40, True, -3]

# What is wrong for each parameter, by name. None for a parameter, or a value from its
# list, must never be sent; the valid value is what the other parameters get.
KINDS: dict[str, tuple[object, list[object]]] = {
    "pair": ("btcusd", STRINGY_BAD + COMMON_BAD + ["zzzzzz"]),
    "currency": ("usd", STRINGY_BAD + COMMON_BAD),
    "amount": ("0.01", AMOUNT_BAD + COMMON_BAD),
    "price": ("30000", AMOUNT_BAD + COMMON_BAD + ["30000.5"]),
    "order_id": ("123456", ID_BAD + COMMON_BAD),
    "client_order_id": ("mm-1", ["", "a b", "x" * 181, "é", "\n", 5, True, *COMMON_BAD]),
    "orig_client_order_id": ("mm-0", ["", "a b", "x" * 181, "é", 5, *COMMON_BAD]),
    "options": (None, ["post_only", {"post_only": True}, True, *COMMON_BAD]),
    "group": (1, [False, True, 1.0, "1", 3, -1, *COMMON_BAD]),
    "time": ("hour", ["HOUR", "week", Evil("week"), 1, *COMMON_BAD]),
    "step": (60, [60.0, "60", 61, True, 0, *COMMON_BAD]),
    "limit": (10, INT_BAD + COMMON_BAD + [0, 1001]),
    "per_page": (10, INT_BAD + COMMON_BAD + [0]),
    "start": (1_700_000_000, TIME_BAD + COMMON_BAD),
    "end": (1_700_003_600, TIME_BAD + COMMON_BAD),
    "since": (1_700_000_000, TIME_BAD + COMMON_BAD),
    "until": (1_700_003_600, TIME_BAD + COMMON_BAD),
    "exclude_current_candle": (False, BOOL_BAD + COMMON_BAD),
    "omit_transactions": (False, BOOL_BAD + COMMON_BAD),
    "amount_in_counter": (False, BOOL_BAD + COMMON_BAD),
}

# Public coroutine methods that take no caller input, or only a pair whose absence is valid.
NO_ARGUMENTS = {"markets", "tickers", "trading_pairs_info", "currencies", "eur_usd"}
# Methods that are not endpoints (lifecycle, streams covered elsewhere).
NOT_ENDPOINTS = {"aclose"}


UNKNOWN = object()  # compared by identity: Evil strings equal everything


def public_methods() -> list[str]:
    names = []
    for name, member in inspect.getmembers(Client):
        if name.startswith("_") or name in NOT_ENDPOINTS:
            continue
        if inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member):
            names.append(name)
    return sorted(names)


def counting_exchange() -> tuple[MockTransport, list[str]]:
    sent: list[str] = []

    def handle(request: Any) -> Response:
        path = request.url.split("?")[0]
        if path.endswith("/api/v2/markets/"):
            return Response(200, {"Content-Type": "application/json"}, fixture("markets.json"))
        sent.append(request.method + " " + path)
        return Response(500, {"Content-Type": "application/json"}, b'{"never": "here"}')

    return MockTransport(handle), sent


def hostile_cases() -> list[tuple[str, str, object]]:
    cases = []
    for method in public_methods():
        if method in NO_ARGUMENTS:
            continue
        signature = inspect.signature(getattr(Client, method))
        for parameter in list(signature.parameters.values())[1:]:
            kind = KINDS.get(parameter.name)
            if kind is None:
                cases.append((method, parameter.name, UNKNOWN))
                continue
            for value in kind[1]:
                cases.append((method, parameter.name, value))
    return cases


def valid_arguments(method: str) -> dict[str, object]:
    signature = inspect.signature(getattr(Client, method))
    arguments: dict[str, object] = {}
    for parameter in list(signature.parameters.values())[1:]:
        if parameter.default is not inspect.Parameter.empty:
            continue
        arguments[parameter.name] = KINDS[parameter.name][0]
    # Methods that want exactly one of two references.
    if method in ("cancel_order", "order_status", "replace_order"):
        arguments.setdefault("order_id", KINDS["order_id"][0])
    return arguments


async def call(method: str, arguments: dict[str, object]) -> None:
    target: Callable[..., Any] = getattr(CLIENT_UNDER_TEST, method)
    if inspect.isasyncgenfunction(getattr(Client, method)):
        async for _ in target(**arguments):
            break
    else:
        await target(**arguments)


CLIENT_UNDER_TEST: Client


def test_every_public_method_is_walked() -> None:
    unknown = [(m, p) for m, p, v in hostile_cases() if v is UNKNOWN]
    assert not unknown, f"add these parameters to KINDS: {unknown}"


@pytest.mark.parametrize(
    ("method", "parameter", "value"),
    [c for c in hostile_cases() if c[2] is not UNKNOWN],
    ids=lambda v: repr(v)[:40],
)
async def test_hostile_argument_is_refused_before_sending(
    method: str, parameter: str, value: object
) -> None:
    global CLIENT_UNDER_TEST
    transport, sent = counting_exchange()
    async with Client(KEY, SECRET, transport=transport, order_settle_seconds=0) as client:
        CLIENT_UNDER_TEST = client
        await client.markets()  # the catalogue, loaded once (not counted)
        arguments = valid_arguments(method)
        arguments[parameter] = value
        if parameter == "orig_client_order_id":
            arguments.pop("order_id", None)
        if parameter == "client_order_id" and method in ("cancel_order", "order_status"):
            arguments.pop("order_id", None)
        with pytest.raises(InvalidParameterError):
            await call(method, arguments)
    assert sent == []


def test_order_options_refuse_what_bitstamp_refuses() -> None:
    with pytest.raises(InvalidParameterError):
        OrderOptions(time_in_force="post_only")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        OrderOptions.post_only().__class__(limit_price="1", expire_time=5)
    with pytest.raises(InvalidParameterError):
        OrderOptions(expire_time=datetime(2030, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("method", ["ohlc", "iter_ohlc", "funding_rate_history"])
async def test_a_range_that_ends_before_it_starts_is_refused(method: str) -> None:
    global CLIENT_UNDER_TEST
    transport, sent = counting_exchange()
    names = ("since", "until") if method == "funding_rate_history" else ("start", "end")
    arguments: dict[str, object] = {
        "pair": "btcusd",
        names[0]: 1_700_003_600,
        names[1]: 1_700_000_000,
    }
    if method != "funding_rate_history":
        arguments["step"] = 60
    async with Client(transport=transport) as client:
        CLIENT_UNDER_TEST = client
        await client.markets()
        with pytest.raises(InvalidParameterError):
            await call(method, arguments)
    assert sent == []
