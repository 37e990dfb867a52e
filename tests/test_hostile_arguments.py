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

from aiobitstamp import BitstampError, Client, InvalidParameterError, OrderOptions
from aiobitstamp.testing import FakeBitstamp

from .test_client import KEY, SECRET

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

NETWORK_BAD: list[object] = ["", "BITCOIN", "bit coin", "x" * 100, "../x", Evil("../x"), 5, True]
UUID_BAD: list[object] = ["", "not-a-uuid", "123", "0b7e8a1c-2f0e-4c1e-9a4e", Evil("../x"), 5]
TEXT_BAD: list[object] = ["", "\n", "a\x00b", "x" * 5000, " padded ", 5, True]
ENUM_BAD: list[object] = ["", "nonsense", "staking ", Evil("../x"), 5, True]

# What is wrong for each parameter, by name: (a valid value, values that must be refused).
KINDS: dict[str, tuple[object, list[object]]] = {
    "pair": ("btcusd", STRINGY_BAD + COMMON_BAD + ["zzzzzz"]),
    "currency": ("btc", STRINGY_BAD + COMMON_BAD + ["zzz"]),
    "quote_currency": ("usd", STRINGY_BAD + COMMON_BAD),
    "liquidation_currency": ("usd", STRINGY_BAD + COMMON_BAD),
    "account_currency": ("eur", STRINGY_BAD + COMMON_BAD),
    "amount": ("0.01", AMOUNT_BAD + COMMON_BAD),
    "price": ("30000", AMOUNT_BAD + COMMON_BAD + ["30000.5"]),
    "order_id": ("123456", ID_BAD + COMMON_BAD),
    "since_id": (None, ID_BAD + COMMON_BAD),
    "until_id": (None, ID_BAD + COMMON_BAD),
    "withdrawal_id": ("12345", ID_BAD + COMMON_BAD),
    "sub_account": ("12345", ID_BAD + COMMON_BAD),
    "client_order_id": ("mm-1", ["", "a b", "x" * 181, "\u00e9", "\n", 5, True, *COMMON_BAD]),
    "orig_client_order_id": ("mm-0", ["", "a b", "x" * 181, "\u00e9", 5, *COMMON_BAD]),
    "options": (None, ["post_only", {"post_only": True}, True, *COMMON_BAD]),
    "group": (1, [False, True, 1.0, "1", 3, -1, *COMMON_BAD]),
    "time": ("hour", ["HOUR", "week", Evil("week"), 1, *COMMON_BAD]),
    "sort": (None, ["DESC", "up", 1, True, Evil("up"), *COMMON_BAD]),
    "step": (60, [60.0, "60", 61, True, 0, *COMMON_BAD]),
    "limit": (10, INT_BAD + COMMON_BAD + [0, 1001]),
    "per_page": (10, INT_BAD + COMMON_BAD + [0]),
    "page": (1, INT_BAD + COMMON_BAD + [0]),
    "page_size": (100, INT_BAD + COMMON_BAD + [0]),
    "offset": (None, INT_BAD + COMMON_BAD + [-1, 200_001]),
    "timedelta": (None, INT_BAD + COMMON_BAD + [0, -1]),
    "start": (1_700_000_000, TIME_BAD + COMMON_BAD),
    "end": (1_700_003_600, TIME_BAD + COMMON_BAD),
    "since": (None, TIME_BAD + COMMON_BAD),
    "until": (None, TIME_BAD + COMMON_BAD),
    "since_timestamp": (None, TIME_BAD + COMMON_BAD),
    "until_timestamp": (None, TIME_BAD + COMMON_BAD),
    "exclude_current_candle": (False, BOOL_BAD + COMMON_BAD),
    "omit_transactions": (False, BOOL_BAD + COMMON_BAD),
    "amount_in_counter": (False, BOOL_BAD + COMMON_BAD),
    "include_ious": (False, BOOL_BAD + COMMON_BAD),
    "newest_first": (False, BOOL_BAD + COMMON_BAD),
    "contact_thirdparty": (None, BOOL_BAD + COMMON_BAD),
    "network": (None, NETWORK_BAD + COMMON_BAD),
    "address": (
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        ["", "short", "has space inside it", "\u00e9" * 12, "x" * 500, 5, *COMMON_BAD],
    ),
    "memo_id": (None, [-1, "", "\n", 2**70, *COMMON_BAD]),
    "destination_tag": (None, ["abc", -1, 2**40, *COMMON_BAD]),
    "transfer_id": (None, ["1", -1, True, *COMMON_BAD]),
    "contact_uuid": (None, UUID_BAD + COMMON_BAD),
    "vasp_uuid": (None, UUID_BAD + COMMON_BAD),
    "order_source": ("orderbook", ENUM_BAD + COMMON_BAD),
    "earn_type": ("STAKING", ENUM_BAD + COMMON_BAD),
    "earn_term": ("FLEXIBLE", ENUM_BAD + COMMON_BAD),
    "setting": ("OPT_IN", ENUM_BAD + COMMON_BAD),
    "address_format": (None, ["bech32", "P2SH", "", 5, *COMMON_BAD]),
    "description": ("My other exchange", TEXT_BAD + COMMON_BAD),
    "retail_info": (None, ["x", {"first_name": "a"}, 5, *COMMON_BAD]),
    "corporate_info": (None, ["x", {"company_name": "a"}, 5, *COMMON_BAD]),
    "name": ("Jane Doe", TEXT_BAD + COMMON_BAD),
    "iban": ("DE89370400440532013000", ["", "DE89 3704 0044", "DE89370400440532013000\n", 5]),
    "bic": ("COBADEFFXXX", ["", "cobadeff", "COBA DEFF", 5]),
    "postal_code": ("10115", TEXT_BAD + COMMON_BAD),
    "city": ("Berlin", TEXT_BAD + COMMON_BAD),
    "country": ("DE", ["Germany", "de", "D", 5, *COMMON_BAD]),
    "type": ("sepa", ["SEPA", "swift", 5, True, *COMMON_BAD]),
    "bank_name": (None, TEXT_BAD + COMMON_BAD),
    "bank_address": (None, TEXT_BAD + COMMON_BAD),
    "bank_postal_code": (None, TEXT_BAD + COMMON_BAD),
    "bank_city": (None, TEXT_BAD + COMMON_BAD),
    "bank_country": (None, ["Germany", "de", 5, *COMMON_BAD]),
    "comment": (None, ["\x00", "x" * 5000, 5, *COMMON_BAD]),
}
# Where one name means something else in one method.
OVERRIDES: dict[tuple[str, str], tuple[object, list[object]]] = {
    ("withdraw_bank", "address"): ("Unter den Linden 1", TEXT_BAD + COMMON_BAD),
    ("withdraw_bank", "amount"): ("100", AMOUNT_BAD + COMMON_BAD),
    ("withdraw_bank", "currency"): (None, STRINGY_BAD + COMMON_BAD),
    ("withdraw_ripple_iou", "address"): (
        "rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY",
        ["", "short", "has space inside it", 5, *COMMON_BAD],
    ),
    ("withdraw_ripple_iou", "currency"): ("usd", STRINGY_BAD + COMMON_BAD),
    ("instant_convert_address", "address"): (
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        ["", "short", "has space inside it", 5, *COMMON_BAD],
    ),
    ("travel_rule_contact", "contact_uuid"): (
        "0b7e8a1c-2f0e-4c1e-9a4e-1f2e3d4c5b6a",
        UUID_BAD + COMMON_BAD,
    ),
    ("earn_transactions", "currency"): (None, STRINGY_BAD + COMMON_BAD),
    ("iter_earn_transactions", "currency"): (None, STRINGY_BAD + COMMON_BAD),
    ("transfer_to_main", "sub_account"): (None, ID_BAD + COMMON_BAD),
    ("account_balance", "currency"): ("usd", STRINGY_BAD + COMMON_BAD),
    ("earn_subscribe", "currency"): ("eth", STRINGY_BAD + COMMON_BAD),
    ("earn_unsubscribe", "currency"): ("eth", STRINGY_BAD + COMMON_BAD),
    ("earn_subscription_setting", "currency"): ("eth", STRINGY_BAD + COMMON_BAD),
    ("iter_user_transactions", "since"): (None, TIME_BAD[:3] + COMMON_BAD),
}

# Methods without caller input, and methods that are not endpoints.
NOT_ENDPOINTS = {"aclose"}
UNKNOWN = object()  # compared by identity: Evil strings equal everything


def kind(method: str, parameter: str) -> tuple[object, list[object]] | None:
    return OVERRIDES.get((method, parameter)) or KINDS.get(parameter)


def public_methods() -> list[str]:
    names = []
    for name, member in inspect.getmembers(Client):
        if name.startswith("_") or name in NOT_ENDPOINTS:
            continue
        if inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member):
            names.append(name)
    return sorted(names)


def parameters(method: str) -> list[inspect.Parameter]:
    return list(inspect.signature(getattr(Client, method)).parameters.values())[1:]


def valid_arguments(method: str) -> dict[str, object]:
    """The required arguments, valid, plus what a method needs to be callable at all."""
    arguments: dict[str, object] = {}
    for parameter in parameters(method):
        if parameter.default is inspect.Parameter.empty:
            found = kind(method, parameter.name)
            assert found is not None, (method, parameter.name)
            arguments[parameter.name] = found[0]
    if method in ("cancel_order", "order_status", "replace_order"):
        arguments["order_id"] = KINDS["order_id"][0]
    return arguments


async def call(client: Client, method: str, arguments: dict[str, object]) -> None:
    target: Callable[..., Any] = getattr(client, method)
    if inspect.isasyncgenfunction(getattr(Client, method)):
        async for _ in target(**arguments):
            break
    else:
        await target(**arguments)


def test_every_parameter_of_every_public_method_is_known() -> None:
    unknown = [
        (method, parameter.name)
        for method in public_methods()
        for parameter in parameters(method)
        if kind(method, parameter.name) is None
    ]
    assert not unknown, f"add these parameters to KINDS: {unknown}"


@pytest.mark.parametrize("method", public_methods())
async def test_hostile_arguments_are_refused_before_anything_is_sent(method: str) -> None:
    async with FakeBitstamp() as exchange:
        exchange.add_account(KEY, SECRET, balances={"usd": "1000000", "btc": "100", "eth": "100"})
        async with Client(KEY, SECRET, base_url=exchange.url, order_settle_seconds=0) as client:
            # Reference data the checks use, loaded once up front (not counted below).
            await client.markets()
            await client.currencies()
            await client.withdrawal_fees()
            valid = valid_arguments(method)
            escaped: list[str] = []
            for parameter in parameters(method):
                found = kind(method, parameter.name)
                assert found is not None
                for value in found[1]:
                    arguments = dict(valid)
                    arguments[parameter.name] = value
                    if parameter.name in ("orig_client_order_id", "client_order_id") and method in (
                        "cancel_order",
                        "order_status",
                        "replace_order",
                    ):
                        arguments.pop("order_id", None)
                    before = exchange.stats.requests
                    try:
                        await call(client, method, arguments)
                    except InvalidParameterError:
                        pass
                    except BaseException as error:
                        escaped.append(f"{parameter.name}={value!r:.40}: {type(error).__name__}")
                        continue
                    else:
                        escaped.append(f"{parameter.name}={value!r:.40}: accepted")
                        continue
                    if exchange.stats.requests != before:
                        escaped.append(f"{parameter.name}={value!r:.40}: sent a request")
            assert not escaped, f"{method}: " + "; ".join(escaped)
            # The valid arguments themselves are not refused: the walk tests the values.
            before = exchange.stats.requests
            try:
                await call(client, method, valid)
            except InvalidParameterError as error:
                pytest.fail(f"{method} refused its valid arguments {valid}: {error}")
            except BitstampError:
                pass  # the exchange may refuse (no such order, ...): it was sent
            assert method in LOCAL_ONLY or exchange.stats.requests > before, method


LOCAL_ONLY = {"market"}


@pytest.mark.parametrize("method", ["ohlc", "iter_ohlc", "funding_rate_history"])
async def test_a_range_that_ends_before_it_starts_is_refused(method: str) -> None:
    names = ("since", "until") if method == "funding_rate_history" else ("start", "end")
    arguments: dict[str, object] = {
        "pair": "btcusd", names[0]: 1_700_003_600, names[1]: 1_700_000_000,
    }  # fmt: skip
    if method != "funding_rate_history":
        arguments["step"] = 60
    async with FakeBitstamp() as exchange, Client(base_url=exchange.url) as client:
        await client.markets()
        before = exchange.stats.requests
        with pytest.raises(InvalidParameterError):
            await call(client, method, arguments)
        assert exchange.stats.requests == before


def test_order_options_refuse_what_bitstamp_refuses() -> None:
    with pytest.raises(InvalidParameterError):
        OrderOptions(time_in_force="post_only")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        OrderOptions(limit_price="1", expire_time=5)
    with pytest.raises(InvalidParameterError):
        OrderOptions(expire_time=datetime(2030, 1, 1, tzinfo=UTC))
