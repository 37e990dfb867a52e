"""Caller input is normalised to its exact wire form, or refused before anything is sent.

Most tests pass hostile values: subclasses of str, int, Decimal and datetime whose
overridable methods (``__str__``, ``__format__``, ``__eq__``, ``isdigit``, ``__index__``,
...) all tell a different story than the value they hold, Enum members, Unicode look-alikes,
path characters and absurd magnitudes. Each asserts the exact type and text of what would
go on the wire, or that ``InvalidParameterError`` names the parameter and the rule.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import (
    Clamped,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Underflow,
    localcontext,
)
from enum import Enum, IntEnum
from fractions import Fraction
from functools import partial
from typing import Any

import pytest

from aiobitstamp._exceptions import BitstampError, InvalidParameterError
from aiobitstamp._params import (
    BIC_PATTERN,
    COUNTRY_CODE_PATTERN,
    IBAN_PATTERN,
    MAX_UNIX_MILLIS,
    MAX_UNIX_SECONDS,
    boolean,
    client_order_id,
    crypto_address,
    currency,
    decimal_param,
    decimal_value,
    destination_tag,
    future_time,
    integer,
    market_symbol,
    memo,
    network,
    offset,
    one_of,
    order_id,
    page_size,
    path_segment,
    text,
    time_range,
    unix_millis,
    unix_seconds,
    uuid_param,
)

UTC = timezone.utc
NEW_YEAR_2024 = 1_704_067_200

# --------------------------------------------------------------------------- hostile values


class LyingStr(str):
    """A str whose every overridable method lies about the text it holds."""

    def __str__(self) -> str:
        return "market/btcusd"

    def __format__(self, spec: str) -> str:
        return "market/btcusd"

    def __repr__(self) -> str:
        return "'btcusd'"

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return hash("btcusd")

    def __len__(self) -> int:
        return 6

    def __contains__(self, item: object) -> bool:
        return False

    def isdigit(self) -> bool:
        return True

    def isdecimal(self) -> bool:
        return True

    def isnumeric(self) -> bool:
        return True

    def isascii(self) -> bool:
        return True

    def isprintable(self) -> bool:
        return True

    def isalnum(self) -> bool:
        return True

    def lower(self) -> str:
        return "btcusd"

    def upper(self) -> str:
        return "BTCUSD"

    def strip(self, chars: str | None = None) -> str:
        return "btcusd"

    def startswith(self, *args: Any) -> bool:
        return False

    def endswith(self, *args: Any) -> bool:
        return False

    def __index__(self) -> int:
        return 1

    def __int__(self) -> int:
        return 1


class ExplodingStr(str):
    """A str whose repr, format and comparisons raise: the message must not need them."""

    def __repr__(self) -> str:
        raise RuntimeError("repr called")

    def __str__(self) -> str:
        raise RuntimeError("str called")

    def __format__(self, spec: str) -> str:
        raise RuntimeError("format called")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq called")

    def __hash__(self) -> int:
        raise RuntimeError("hash called")


class LyingInt(int):
    """An int whose every overridable method lies about the number it holds."""

    def __index__(self) -> int:
        return 1

    def __int__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return "1"

    def __str__(self) -> str:
        return "1"

    def __format__(self, spec: str) -> str:
        return "1"

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 1

    def __lt__(self, other: int) -> bool:
        return False

    def __le__(self, other: int) -> bool:
        return True

    def __gt__(self, other: int) -> bool:
        return False

    def __ge__(self, other: int) -> bool:
        return True

    def __abs__(self) -> int:
        return 1

    def __neg__(self) -> int:
        return 1

    def __bool__(self) -> bool:
        return True

    def bit_length(self) -> int:
        return 1


class LyingDecimal(Decimal):
    """A Decimal whose every overridable method lies about the number it holds."""

    def __str__(self) -> str:
        return "1"

    def __repr__(self) -> str:
        return "Decimal('1')"

    def __format__(self, spec: str, context: Any = None) -> str:
        return "1"

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 1

    def __lt__(self, other: Any) -> bool:
        return False

    def __le__(self, other: Any) -> bool:
        return False

    def __gt__(self, other: Any) -> bool:
        return True

    def __ge__(self, other: Any) -> bool:
        return True

    def is_finite(self) -> bool:
        return True

    def is_nan(self) -> bool:
        return False

    def as_tuple(self) -> Any:
        return Decimal("1").as_tuple()

    def normalize(self, context: Any = None) -> Decimal:
        return Decimal("1")

    def quantize(self, exp: Any, rounding: Any = None, context: Any = None) -> Decimal:
        return Decimal("1")

    def adjusted(self) -> int:
        return 0


class Spoof:
    """Claims to be a str to ``isinstance`` through a ``__class__`` property."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return str


class Bomb:
    """Every operation raises: a refusal must not touch any of them."""

    def __repr__(self) -> str:
        raise RuntimeError("repr called")

    def __str__(self) -> str:
        raise RuntimeError("str called")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq called")

    def __hash__(self) -> int:
        raise RuntimeError("hash called")

    def __index__(self) -> int:
        raise RuntimeError("index called")


class Pair(str, Enum):
    BTCUSD = "btcusd"
    BAD = "BTC/USD"


class SneakyPair(str, Enum):
    """A member whose str() and format() name another market than its value."""

    BTCUSD = "btcusd"

    def __str__(self) -> str:
        return "market/btcusd"

    def __format__(self, spec: str) -> str:
        return "market/btcusd"


class PlainPair(Enum):
    BTCUSD = "btcusd"
    NUMBER = 5


class Group(IntEnum):
    DEFAULT = 1
    HUGE = 10**30


class Period(str, Enum):
    HOUR = "hour"


class Flag(Enum):
    ON = True


class Priced(str, Enum):
    HALF = "0.5"


class LyingValueEnum(Enum):
    """A member whose value is itself a hostile str: not a plain value, so refused."""

    X = LyingStr("btcusd")


# Inputs no function may accept, whatever it expects.
ALIEN_VALUES: list[object] = [
    None,
    Bomb(),
    Spoof(),
    object(),
    1j,
    [1],
    {"a": 1},
    float("nan"),
    bytearray(b"btcusd"),
]


def assert_wire(result: object, expected: str | int | bool) -> None:
    """The exact type and value that would be sent."""
    assert type(result) is type(expected), f"{type(result)!r} is not {type(expected)!r}"
    assert result == expected


def refused(call: Callable[[], object], *fragments: str) -> InvalidParameterError:
    """``call`` raises InvalidParameterError (a BitstampError and a ValueError) whose
    message carries every fragment."""
    with pytest.raises(InvalidParameterError) as info:
        call()
    error = info.value
    assert isinstance(error, BitstampError)
    assert isinstance(error, ValueError)
    for fragment in fragments:
        assert fragment in str(error), f"{fragment!r} not in {str(error)!r}"
    return error


# --------------------------------------------------------------------------- every function

EVERY_FUNCTION: dict[str, Callable[[object], object]] = {
    "market_symbol": market_symbol,
    "currency": currency,
    "network": network,
    "order_id": order_id,
    "client_order_id": client_order_id,
    "uuid_param": lambda v: uuid_param("contact_uuid", v),
    "crypto_address": crypto_address,
    "memo": lambda v: memo("memo_id", v),
    "destination_tag": destination_tag,
    "text": lambda v: text("name", v, max_length=50),
    "path_segment": lambda v: path_segment("segment", v),
    "boolean": lambda v: boolean("post_only", v),
    "one_of": lambda v: one_of("time", v, ("minute", "hour", "day")),
    "one_of_int": lambda v: one_of("group", v, (0, 1, 2)),
    "integer": lambda v: integer("limit", v, minimum=0, maximum=1000),
    "page_size": lambda v: page_size("limit", v, maximum=1000),
    "offset": offset,
    "decimal_param": lambda v: decimal_param("amount", v),
    "decimal_value": lambda v: decimal_value("amount", v),
    "unix_seconds": lambda v: unix_seconds("start", v),
    "unix_millis": lambda v: unix_millis("expire_time", v),
    "future_time": lambda v: future_time("good_till", v, now=0.0),
}


def test_spoof_really_fools_isinstance() -> None:
    assert isinstance(Spoof(), str)


@pytest.mark.parametrize("function", EVERY_FUNCTION.values(), ids=EVERY_FUNCTION.keys())
@pytest.mark.parametrize("value", ALIEN_VALUES, ids=lambda v: type(v).__name__)
def test_every_function_refuses_alien_values(
    function: Callable[[object], object], value: object
) -> None:
    refused(lambda: function(value))


# --------------------------------------------------------------------------- market symbols


@pytest.mark.parametrize("pair", ["btcusd", "btcusd-perp", "usdcusdt", "1inchusd", "ab"])
def test_good_market_symbols(pair: str) -> None:
    assert_wire(market_symbol(pair), pair)


@pytest.mark.parametrize(
    "pair",
    [
        "BTCUSD",
        "Btcusd",
        "btc/usd",
        "",
        "b",
        "a" * 21,
        "btcusd; drop",
        "btc usd",
        "btcusd\n",
        "btcusd\x00",
        "btc\u200busd",
        "\uff42\uff54\uff43\uff55\uff53\uff44",  # full-width letters
        "btcus\u0434",  # Cyrillic de
        "ßtcusd",
        "btcusd-PERP",
        "btcusd-perp-perp",
        "../btcusd",
        "btcusd?group=2",
        "btcusd#",
        "btc%2fusd",
        "market/btcusd",
        42,
        b"btcusd",
        True,
        1.0,
        Pair.BAD,
        PlainPair.NUMBER,
        Group.DEFAULT,
        LyingStr("BTC/USD"),
        LyingValueEnum.X,
    ],
)
def test_bad_market_symbols(pair: object) -> None:
    refused(lambda: market_symbol(pair), "market symbol", "lower-case ASCII")


def test_a_lying_str_subclass_sends_its_value_not_its_format() -> None:
    # A str subclass whose __format__ says "market/btcusd" turned a limit order into a
    # market order: the check saw "btcusd", the path was built from __format__.
    symbol = market_symbol(LyingStr("btcusd"))
    assert_wire(symbol, "btcusd")
    assert f"/api/v2/buy/{symbol}/" == "/api/v2/buy/btcusd/"


@pytest.mark.parametrize("member", [Pair.BTCUSD, SneakyPair.BTCUSD, PlainPair.BTCUSD])
def test_enum_members_send_their_value(member: object) -> None:
    symbol = market_symbol(member)
    assert_wire(symbol, "btcusd")
    assert f"/api/v2/ticker/{symbol}/" == "/api/v2/ticker/btcusd/"


def test_refusal_message_does_not_call_the_callers_methods() -> None:
    error = refused(lambda: market_symbol(ExplodingStr("BAD/PAIR")), "'BAD/PAIR'")
    assert "ExplodingStr" in str(error)
    assert_wire(market_symbol(ExplodingStr("ethusd")), "ethusd")


def test_huge_text_is_shown_shortened() -> None:
    error = refused(lambda: market_symbol("x" * 1_000_000))
    assert len(str(error)) < 300


# --------------------------------------------------------------------------- currency, network


@pytest.mark.parametrize("code", ["btc", "usd", "usdt", "1inch", "ab", "abcdefghij"])
def test_good_currencies(code: str) -> None:
    assert_wire(currency(code), code)


@pytest.mark.parametrize(
    "code",
    [
        "BTC",
        "b",
        "abcdefghijk",
        "bt\u0441",  # Cyrillic es
        "\uff42\uff54\uff43",
        "€ur",
        "btc\n",
        "bt c",
        "btc/",
        "",
        5,
        LyingStr("€"),
        Group.DEFAULT,
    ],
)
def test_bad_currencies(code: object) -> None:
    refused(lambda: currency(code), "currency", "lower-case ASCII")


def test_currency_takes_the_exact_value_and_a_name() -> None:
    assert_wire(currency(LyingStr("eth")), "eth")
    refused(lambda: currency("BTC", name="account_currency"), "account_currency")


@pytest.mark.parametrize("name", ["ethereum", "bitcoin-cash", "avalanche-c-chain", "xrpl", "a_b"])
def test_good_networks(name: str) -> None:
    assert_wire(network(name), name)


@pytest.mark.parametrize(
    "name", ["Ethereum", "-eth", "_eth", "e", "a" * 33, "eth/x", "eth chain", "эфир", "eth\n", 1]
)
def test_bad_networks(name: object) -> None:
    refused(lambda: network(name), "network")


def test_network_sends_the_exact_value() -> None:
    assert_wire(network(LyingStr("ethereum")), "ethereum")


# --------------------------------------------------------------------------- order ids


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "1"),
        (1234567890123456, "1234567890123456"),
        (10**20 - 1, "9" * 20),
        ("1234567890123456", "1234567890123456"),
        ("9" * 20, "9" * 20),
        (LyingInt(123), "123"),
        (LyingStr("456"), "456"),
        (Group.DEFAULT, "1"),
    ],
)
def test_good_order_ids(value: object, expected: str) -> None:
    assert_wire(order_id(value), expected)


@pytest.mark.parametrize(
    "value",
    [
        0,
        -1,
        10**20,
        10**400,
        "0",
        "007",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1\n",
        "\u0661\u0662\u0663",  # Arabic-Indic digits
        "\u00b2",  # superscript two: isdigit() is True
        "\uff11\uff12\uff13",  # full-width digits
        "12a",
        "1_000",
        "",
        "1" * 21,
        "1/../2",
        1.0,
        True,
        False,
        Decimal(1),
        LyingStr("abc"),
        LyingInt(0),
        LyingInt(-5),
        Group.HUGE,
    ],
)
def test_bad_order_ids(value: object) -> None:
    refused(lambda: order_id(value), "order_id")


def test_order_id_names_the_parameter() -> None:
    refused(lambda: order_id("x", name="since_id"), "since_id")


@pytest.mark.parametrize("value", ["abc-123_XYZ", "!", "a" * 180, "~{}|"])
def test_good_client_order_ids(value: str) -> None:
    assert_wire(client_order_id(value), value)


@pytest.mark.parametrize(
    "value",
    ["", "a" * 181, "a b", "a\tb", "a\nb", "é", "\x00", "a\u200bb", "\uff41", 123, True, None],
)
def test_bad_client_order_ids(value: object) -> None:
    refused(lambda: client_order_id(value), "client_order_id", "printable ASCII")


def test_client_order_id_sends_the_exact_value() -> None:
    assert_wire(client_order_id(LyingStr("mine-1")), "mine-1")


# --------------------------------------------------------------------------- uuid

CANONICAL_UUID = "123e4567-e89b-12d3-a456-426614174000"


class LyingUUID(uuid.UUID):
    def __str__(self) -> str:
        return "../contacts"

    def __repr__(self) -> str:
        return "../contacts"

    def __format__(self, spec: str) -> str:
        return "../contacts"

    @property
    def hex(self) -> str:
        return "../contacts"


@pytest.mark.parametrize(
    "value",
    [
        CANONICAL_UUID,
        CANONICAL_UUID.upper(),
        uuid.UUID(CANONICAL_UUID),
        LyingUUID(CANONICAL_UUID),
        LyingStr(CANONICAL_UUID.upper()),
    ],
)
def test_good_uuids(value: object) -> None:
    assert_wire(uuid_param("contact_uuid", value), CANONICAL_UUID)


@pytest.mark.parametrize(
    "value",
    [
        CANONICAL_UUID.replace("-", ""),
        "{" + CANONICAL_UUID + "}",
        "urn:uuid:" + CANONICAL_UUID,
        CANONICAL_UUID + "\n",
        CANONICAL_UUID[:-1] + "g",
        CANONICAL_UUID[:-1] + "\uff10",  # full-width zero
        "../" + CANONICAL_UUID[3:],
        "",
        5,
        uuid.UUID(CANONICAL_UUID).bytes,
    ],
)
def test_bad_uuids(value: object) -> None:
    refused(lambda: uuid_param("contact_uuid", value), "contact_uuid", "UUID")


# --------------------------------------------------------------------------- addresses, memos


@pytest.mark.parametrize(
    "address",
    [
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh?dt=123",
        "0x" + "ab" * 20,
        "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
        "a" * 10,
        "a" * 128,
    ],
)
def test_good_crypto_addresses(address: str) -> None:
    assert_wire(crypto_address(address), address)


@pytest.mark.parametrize(
    "address",
    [
        "abc",
        "a" * 9,
        "a" * 129,
        "bc1q ar0srrr7xfkvy5l",
        "bc1qar0srrr7xfkvy5l\n",
        "bc1qar0srrr7xfkvy5l\x00",
        "b\u04411qar0srrr7xfkvy5l",  # Cyrillic es
        "bc1qar0\u200bsrrr7xfkvy5l",
        123456789012,
        b"bc1qar0srrr7xfkvy5l",
    ],
)
def test_bad_crypto_addresses(address: object) -> None:
    refused(lambda: crypto_address(address), "address", "printable ASCII")


def test_crypto_address_sends_the_exact_value() -> None:
    assert_wire(
        crypto_address(LyingStr("rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh")),
        "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (2**64 - 1, "18446744073709551615"),
        ("12345", "12345"),
        ("hello world", "hello world"),
        ("x" * 100, "x" * 100),
        (LyingInt(5), "5"),
        (LyingStr("memo"), "memo"),
    ],
)
def test_good_memos(value: object, expected: str) -> None:
    assert_wire(memo("memo_id", value), expected)


@pytest.mark.parametrize(
    "value", [2**64, -1, " x", "x ", "", "x" * 101, "a\nb", "é", "a\u200bb", True, 1.0]
)
def test_bad_memos(value: object) -> None:
    refused(lambda: memo("memo_id", value), "memo_id")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "0"), (4294967295, "4294967295"), ("123", "123"), ("0", "0"), (LyingInt(7), "7")],
)
def test_good_destination_tags(value: object, expected: str) -> None:
    assert_wire(destination_tag(value), expected)


@pytest.mark.parametrize(
    "value", [4294967296, -1, "4294967296", "0123", "-1", "\u0661", "1 ", "", True, 1.0, "9" * 21]
)
def test_bad_destination_tags(value: object) -> None:
    refused(lambda: destination_tag(value), "destination_tag")


# --------------------------------------------------------------------------- free text


@pytest.mark.parametrize("value", ["José Müller", "Acme Ltd.", "O'Brien", "李小龍", "a  b"])
def test_good_text(value: str) -> None:
    assert_wire(text("name", value, max_length=50), value)


@pytest.mark.parametrize(
    "value",
    [
        "a\nb",
        "a\tb",
        "a\rb",
        "\x00",
        "a\u200bb",  # zero-width space
        "a\u202eb",  # right-to-left override
        "a\u00a0b",  # no-break space
        "a\u2028b",  # line separator
        "a\ud800b",  # lone surrogate
        "a\x7fb",
    ],
)
def test_text_refuses_unprintable_characters(value: str) -> None:
    refused(lambda: text("name", value, max_length=50), "name", "printable")


def test_text_rules() -> None:
    refused(lambda: text("name", " x", max_length=5), "name", "space")
    refused(lambda: text("name", "x ", max_length=5), "name", "space")
    refused(lambda: text("name", "", max_length=5), "name", "1-5 characters")
    refused(lambda: text("name", "abcdef", max_length=5), "name", "1-5 characters")
    refused(lambda: text("name", "ab", max_length=5, min_length=3), "3-5 characters")
    refused(lambda: text("name", "José", max_length=5, ascii_only=True), "name", "ASCII")
    refused(lambda: text("name", 5, max_length=5), "name")
    assert_wire(text("name", "Jose", max_length=5, ascii_only=True), "Jose")
    assert_wire(text("name", LyingStr("José"), max_length=5), "José")
    assert_wire(text("city", "a-b", max_length=5, pattern=r"[a-z-]+"), "a-b")
    refused(lambda: text("city", "a b", max_length=5, pattern=r"[a-z]+"), "city", "[a-z]+")


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (
            IBAN_PATTERN,
            ["DE89370400440532013000", "GB29NWBK60161331926819"],
            [
                "DE89 3704 0044 0532 0130 00",
                "de89370400440532013000",
                "DE89370400440532013000\n",
                "\uff24\uff2589370400440532013000",
                "DE8937040044",
            ],
        ),
        (
            BIC_PATTERN,
            ["DEUTDEFF", "DEUTDEFF500"],
            ["DEUTDEF", "DEUTDEFF5", "deutdeff", "DEUTDEFF\n"],
        ),
        (COUNTRY_CODE_PATTERN, ["DE", "US"], ["de", "DEU", "D", "\uff24\uff25"]),
    ],
)
def test_text_patterns(pattern: re.Pattern[str], good: list[str], bad: list[str]) -> None:
    for value in good:
        assert_wire(text("field", value, max_length=34, pattern=pattern), value)
    for value in bad:
        refused(partial(text, "field", value, max_length=34, pattern=pattern), "field")


# --------------------------------------------------------------------------- path segments


@pytest.mark.parametrize(
    "value", ["btcusd", "btcusd-perp", CANONICAL_UUID, "1234", "a.b", "a_b~c", "x" * 100]
)
def test_good_path_segments(value: str) -> None:
    assert_wire(path_segment("segment", value), value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a/b",
        "a?b",
        "a#b",
        "a%2Fb",
        "..",
        ".",
        "a..b",
        " a",
        "a b",
        "a\n",
        "a\x00",
        "é",
        "\u200b",
        "a\\b",
        "a;b",
        "x" * 101,
        5,
        LyingStr("a/b"),
        ExplodingStr("../x"),
    ],
)
def test_bad_path_segments(value: object) -> None:
    refused(lambda: path_segment("segment", value), "segment")


def test_path_segment_sends_the_enum_value() -> None:
    assert_wire(path_segment("segment", SneakyPair.BTCUSD), "btcusd")


# --------------------------------------------------------------------------- booleans, choices


def test_booleans() -> None:
    assert_wire(boolean("post_only", True), True)
    assert_wire(boolean("post_only", False), False)


@pytest.mark.parametrize("value", ["no", "True", "", 1, 0, LyingInt(1), Flag.ON, None])
def test_bad_booleans(value: object) -> None:
    refused(lambda: boolean("post_only", value), "post_only", "True or False")


def test_one_of_returns_the_allowed_element() -> None:
    allowed = ("minute", "hour", "day")
    assert one_of("time", "hour", allowed) is allowed[1]
    assert one_of("time", LyingStr("hour"), allowed) is allowed[1]
    assert one_of("time", Period.HOUR, allowed) is allowed[1]
    assert_wire(one_of("group", Group.DEFAULT, (0, 1, 2)), 1)
    assert_wire(one_of("group", LyingInt(2), (0, 1, 2)), 2)
    assert_wire(one_of("step", 60, (60, 180)), 60)


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (False, (0, 1, 2)),
        (True, (0, 1, 2)),
        (1.0, (0, 1, 2)),
        ("1", (0, 1, 2)),
        (Decimal(1), (0, 1, 2)),
        (LyingInt(7), (0, 1, 2)),  # its __eq__ says yes to everything
        (60.0, (60, 180)),
        ("HOUR", ("minute", "hour", "day")),
        ("hour\x00", ("minute", "hour", "day")),
        ("hour ", ("minute", "hour", "day")),
        (LyingStr("week"), ("minute", "hour", "day")),
        (b"hour", ("minute", "hour", "day")),
        (ExplodingStr("week"), ("minute", "hour", "day")),
        (Group.DEFAULT, ("minute", "hour", "day")),
        ([1], (0, 1, 2)),
        (Bomb(), (0, 1, 2)),
    ],
)
def test_one_of_compares_value_and_exact_type(value: object, allowed: tuple[object, ...]) -> None:
    refused(lambda: one_of("choice", value, allowed), "choice must be one of")


# --------------------------------------------------------------------------- integers


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (1000, 1000), (LyingInt(5), 5), (Group.DEFAULT, 1), (PlainPair.NUMBER, 5)],
)
def test_good_integers(value: object, expected: int) -> None:
    assert_wire(integer("limit", value, minimum=0, maximum=1000), expected)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "must be an int"),
        (False, "must be an int"),
        (5.0, "floats are refused"),
        (Decimal(5), "must be an int"),
        ("5", "must be an int"),
        (Fraction(5), "must be an int"),
        (-1, "at least 0"),
        (1001, "at most 1000"),
        (10**400, "at most 1000"),
        (LyingInt(5000), "at most 1000"),  # its comparisons say it is in range
        (LyingInt(-5), "at least 0"),
        (Group.HUGE, "at most 1000"),
        (Flag.ON, "must be an int"),
    ],
)
def test_bad_integers(value: object, fragment: str) -> None:
    refused(lambda: integer("limit", value, minimum=0, maximum=1000), "limit", fragment)


def test_huge_int_message_stays_small() -> None:
    error = refused(lambda: integer("limit", 10**100_000, maximum=5), "bits")
    assert len(str(error)) < 200


def test_page_size_and_offset() -> None:
    assert_wire(page_size("limit", 1, maximum=1000), 1)
    assert_wire(page_size("limit", 1000, maximum=1000), 1000)
    refused(lambda: page_size("limit", 0, maximum=1000), "limit", "at least 1")
    refused(lambda: page_size("limit", 1001, maximum=1000), "limit", "at most 1000")
    refused(lambda: page_size("limit", 100.0, maximum=1000), "limit")
    refused(lambda: page_size("limit", True, maximum=1000), "limit")
    assert_wire(offset(0), 0)
    assert_wire(offset(200_000), 200_000)
    assert_wire(offset(LyingInt(7)), 7)
    refused(lambda: offset(-1), "offset", "at least 0")
    refused(lambda: offset(200_001), "offset", "at most 200000")
    refused(lambda: offset(11, maximum=10), "at most 10")
    refused(lambda: offset("5", name="page"), "page")


# --------------------------------------------------------------------------- decimals


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (Decimal("0.01000000"), 8, "0.01000000"),
        ("59000", 0, "59000"),
        (3, 2, "3"),
        (Decimal("1.50"), 1, "1.5"),
        (Decimal("1E+3"), 2, "1000"),
        (Decimal("0.00000001"), 8, "0.00000001"),
        ("1e-8", 8, "0.00000001"),
        ("1E-8", 8, "0.00000001"),
        ("3e4", None, "30000"),
        ("+5", None, "5"),
        (".5", None, "0.5"),
        ("5.", None, "5"),
        ("000123.4500", 2, "123.45"),
        ("1." + "0" * 60, 0, "1"),
        ("0.000000000000000001", None, "0.000000000000000001"),
        ("1" * 30, None, "1" * 30),
        ("1e27", 8, "1" + "0" * 27),
        (Decimal("123456789.12345678"), 8, "123456789.12345678"),
        (LyingDecimal("30000"), None, "30000"),
        (LyingDecimal("0.015"), 3, "0.015"),
        (LyingStr("0.01"), 8, "0.01"),
        (LyingInt(7), 0, "7"),
        (Group.DEFAULT, 0, "1"),
        (Priced.HALF, 1, "0.5"),
    ],
)
def test_decimal_wire_form(value: object, decimals: int | None, expected: str) -> None:
    assert_wire(decimal_param("amount", value, decimals=decimals), expected)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (0.1, "floats are inexact"),
        (60.0, "floats are inexact"),
        (True, "Decimal, int or str"),
        (False, "Decimal, int or str"),
        (None, "Decimal, int or str"),
        (b"1", "Decimal, int or str"),
        (Fraction(1, 2), "Decimal, int or str"),
        (Flag.ON, "Decimal, int or str"),
        (Decimal("NaN"), "finite"),
        (Decimal("-NaN"), "finite"),
        (Decimal("sNaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (Decimal("-Infinity"), "finite"),
        ("Infinity", "finite"),
        ("inf", "finite"),
        ("-INF", "finite"),
        ("nan", "finite"),
        ("sNaN123", "finite"),
        (LyingDecimal("NaN"), "finite"),  # its is_finite() says yes
        (LyingDecimal("Infinity"), "finite"),
        ("-1", "greater than zero"),
        (-1, "greater than zero"),
        (0, "greater than zero"),
        ("0", "greater than zero"),
        ("-0", "greater than zero"),
        (Decimal("-0"), "greater than zero"),
        ("0e999999", "greater than zero"),
        (LyingDecimal("-5"), "greater than zero"),  # its comparisons say positive
        (LyingInt(-5), "greater than zero"),
        (Decimal("0.123456789"), "more than 8 decimal places"),
        ("1.000000001", "more than 8 decimal places"),
        ("1e-9", "more than 8 decimal places"),
        ("1e-999999", "more than 8 decimal places"),
        (Decimal("1e-999999"), "more than 8 decimal places"),
        ("1e999998", "more than 30 digits"),
        (Decimal("1e999999"), "more than 30 digits"),
        (LyingDecimal("1e999998"), "more than 30 digits"),
        (10**400, "more than 30 digits"),
        (-(10**400), "more than 30 digits"),
        (10**30, "more than 30 digits"),
        ("1" * 31, "more than 30 digits"),
        ("1" * 30 + ".5", "more than 30 digits"),
        ("1" * 101, "longer than 100 characters"),
        ("0." + "0" * 200 + "1", "longer than 100 characters"),
        ("abc", "not a number"),
        ("", "not a number"),
        (".", "not a number"),
        ("+", "not a number"),
        ("e5", "not a number"),
        ("1e", "not a number"),
        ("1e+", "not a number"),
        ("--1", "not a number"),
        ("1_000", "not a number"),
        (" 1", "not a number"),
        ("1 ", "not a number"),
        ("1\n", "not a number"),
        ("1,5", "not a number"),
        ("0x10", "not a number"),
        ("\u0661\u0662\u0663", "not a number"),
        ("\u00b2", "not a number"),
        ("\uff11", "not a number"),
        ("1\x00", "not a number"),
        (LyingStr("abc"), "not a number"),  # its isdigit() says yes
    ],
)
def test_invalid_amounts(value: object, fragment: str) -> None:
    refused(lambda: decimal_param("amount", value, decimals=8), "amount", fragment)


def test_decimal_is_never_rounded() -> None:
    # 28 fractional digits with no rule given: refused, not rounded to 18.
    refused(
        lambda: decimal_param("amount", "0.1234567890123456789012345678"),
        "more than 18 decimal places",
    )
    refused(lambda: decimal_param("amount", "1.5", decimals=0), "more than 0 decimal places")
    assert_wire(decimal_param("amount", "1.0", decimals=0), "1")
    assert_wire(decimal_param("amount", "1.50000000000000000000000000", decimals=1), "1.5")


def test_decimal_zero_when_allowed() -> None:
    for zero in ("0", "0.00", "-0", Decimal("-0E-5"), 0, "0e999999", LyingDecimal("0")):
        assert_wire(decimal_param("fee", zero, positive=False), "0")
    refused(lambda: decimal_param("fee", "-1", positive=False), "fee", "must not be negative")
    refused(lambda: decimal_param("fee", "-0.1", positive=False), "must not be negative")


def test_decimal_max_digits() -> None:
    assert_wire(decimal_param("amount", "99999", max_digits=5), "99999")
    assert_wire(decimal_param("amount", "1234.5", max_digits=5), "1234.5")
    assert_wire(decimal_param("amount", "0.00001", decimals=5, max_digits=5), "0.00001")
    # Zeros ending the fraction are sent but carry no value, so they do not count.
    assert_wire(decimal_param("amount", "12345.000", decimals=3, max_digits=5), "12345.000")
    refused(lambda: decimal_param("amount", "100000", max_digits=5), "more than 5 digits")
    refused(lambda: decimal_param("amount", "12345.6", max_digits=5), "more than 5 digits")
    refused(lambda: decimal_param("amount", 100000, max_digits=5), "more than 5 digits")


def test_decimal_value_is_exact() -> None:
    result = decimal_value("price", "0.01000000", decimals=8)
    assert type(result) is Decimal
    assert result.as_tuple() == Decimal("0.01000000").as_tuple()
    assert decimal_value("price", LyingDecimal("30000")).as_tuple() == Decimal("30000").as_tuple()
    refused(lambda: decimal_value("price", "1e999998"), "price", "more than 30 digits")


def test_decimal_does_not_depend_on_the_callers_context() -> None:
    # A caller's context with one digit of precision and every trap set must neither
    # round the number nor leak a decimal exception.
    hostile = Context(
        prec=1,
        Emax=10,
        Emin=-10,
        capitals=0,
        traps=[Clamped, DivisionByZero, Inexact, InvalidOperation, Overflow, Rounded, Underflow],
    )
    with localcontext(hostile):
        assert_wire(
            decimal_param("amount", Decimal("123456.78901234"), decimals=8), "123456.78901234"
        )
        assert_wire(decimal_param("amount", "1e27", decimals=8), "1" + "0" * 27)
        assert decimal_value("amount", "0.123456789", decimals=9) == Decimal("0.123456789")
        refused(lambda: decimal_param("amount", "1e999998"), "more than 30 digits")
        # Messages show numbers the same way whatever the caller's context says.
        refused(lambda: decimal_param("amount", Decimal("1e999999")), "Decimal('1E+999999')")
        refused(lambda: decimal_param("amount", Decimal("1e-999")), "decimal places")


def test_decimal_names_the_parameter_and_shows_the_value() -> None:
    refused(lambda: decimal_param("limit_price", "-3"), "limit_price", "'-3'")
    refused(lambda: decimal_param("price", LyingDecimal("NaN")), "price", "Decimal('NaN')")


# --------------------------------------------------------------------------- decimal properties

_PLAIN = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


def _expected_wire(
    value: Decimal, decimals: int | None, positive: bool, max_digits: int
) -> str | None:
    """An independent oracle built from Decimal arithmetic: the wire text, or None to refuse."""
    allowed = 18 if decimals is None else decimals
    if value.is_zero():
        return None if positive else "0"
    if value < 0:
        return None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    with localcontext(Context(prec=500)):
        if exponent < -allowed:
            # Only trailing zeros may be dropped: the value must fit in `allowed` places.
            quantum = Decimal(1).scaleb(-allowed)
            if value.quantize(quantum) != value:
                return None
            value = value.quantize(quantum)
        written = format(value, "f")
    meaningful = written.rstrip("0").rstrip(".") if "." in written else written
    if len(meaningful.replace(".", "").lstrip("0")) > max_digits:
        return None
    return written


def _random_decimal(rng: random.Random) -> Decimal:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 40)))
    if rng.random() < 0.3:
        digits += "0" * rng.randint(1, 20)
    sign = "-" if rng.random() < 0.15 else ""
    return Decimal(f"{sign}{digits}E{rng.randint(-45, 25)}")


def test_property_every_accepted_decimal_is_sent_exactly() -> None:
    rng = random.Random(20240601)
    accepted = refusals = 0
    for _ in range(4000):
        value = _random_decimal(rng)
        decimals = rng.choice([None, 0, 1, 2, 8, 12, 18, 30])
        positive = rng.random() < 0.8
        max_digits = rng.choice([5, 15, 30, 40])
        # The same number as a Decimal, a Decimal subclass, its sci text, its plain text and
        # (when whole) an int, which carries no fractional zeros.
        with localcontext(Context(prec=500)):
            spellings: list[object] = [value, LyingDecimal(value), str(value), format(value, "f")]
            if value == value.to_integral_value() and abs(value) < 10**50:
                spellings.append(int(value))
        for spelling in spellings:
            exact = Decimal(spelling) if type(spelling) is int else value
            expected = _expected_wire(exact, decimals, positive, max_digits)
            kwargs: dict[str, Any] = {
                "decimals": decimals,
                "positive": positive,
                "max_digits": max_digits,
            }
            if expected is None:
                refused(partial(decimal_param, "x", spelling, **kwargs))
                refusals += 1
                continue
            if isinstance(spelling, str) and len(spelling) > 100:
                refused(partial(decimal_param, "x", spelling, **kwargs))
                continue
            result = decimal_param("x", spelling, **kwargs)
            assert_wire(result, expected)
            assert _PLAIN.fullmatch(result)
            assert Decimal(result) == value
            assert decimal_value("x", spelling, **kwargs) == value
            accepted += 1
    # The generator must exercise both outcomes, or the property says little.
    assert accepted > 2000
    assert refusals > 2000


def test_property_random_text_is_refused_or_sent_exactly() -> None:
    rng = random.Random(7)
    alphabet = "0123456789" * 4 + ".eE+-_ \n" + "\u0661\u00b2\uff11" + "nNaIifsty"
    outcomes = {"sent": 0, "refused": 0}
    for _ in range(20_000):
        written = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        try:
            result = decimal_param("x", written, positive=False)
        except InvalidParameterError:
            outcomes["refused"] += 1
            continue
        outcomes["sent"] += 1
        assert type(result) is str
        assert _PLAIN.fullmatch(result)
        assert Decimal(result) == Decimal(written)
        assert not set(written) - set("0123456789.eE+-")
    assert outcomes["sent"] > 500
    assert outcomes["refused"] > 500


# --------------------------------------------------------------------------- time


class LyingDatetime(datetime):
    def timestamp(self) -> float:
        return 0.0

    def utcoffset(self) -> timedelta | None:
        return timedelta(0)

    def __sub__(self, other: Any) -> Any:
        return timedelta(0)

    def __format__(self, spec: str) -> str:
        return "0"

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return "1970-01-01T00:00:00+00:00"


class BrokenZone(tzinfo):
    """A time zone whose utcoffset() returns whatever it was given."""

    def __init__(self, offset: object) -> None:
        self.offset = offset

    def tzname(self, dt: datetime | None) -> str:
        return "broken"

    def utcoffset(self, dt: datetime | None) -> Any:
        return self.offset

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


def test_unix_seconds() -> None:
    assert_wire(unix_seconds("start", datetime(2024, 1, 1, tzinfo=UTC)), NEW_YEAR_2024)
    plus_two = timezone(timedelta(hours=2))
    assert_wire(unix_seconds("start", datetime(2024, 1, 1, 2, tzinfo=plus_two)), NEW_YEAR_2024)
    # Fractions of a second are floored.
    late = datetime(2024, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC)
    assert_wire(unix_seconds("start", late), NEW_YEAR_2024)
    assert_wire(unix_seconds("start", 5), 5)
    assert_wire(unix_seconds("start", 0), 0)
    assert_wire(unix_seconds("start", MAX_UNIX_SECONDS), MAX_UNIX_SECONDS)
    assert_wire(unix_seconds("start", LyingInt(NEW_YEAR_2024)), NEW_YEAR_2024)
    assert_wire(unix_seconds("start", LyingDatetime(2024, 1, 1, tzinfo=UTC)), NEW_YEAR_2024)
    assert datetime(2100, 1, 1, tzinfo=UTC).timestamp() == MAX_UNIX_SECONDS


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (datetime(2024, 1, 1), "timezone-aware"),
        (LyingDatetime(2024, 1, 1), "timezone-aware"),  # its utcoffset() claims UTC
        (datetime(2024, 1, 1, tzinfo=BrokenZone(None)), "timezone-aware"),
        (datetime(2024, 1, 1, tzinfo=BrokenZone("+02:00")), "time zone"),
        (datetime(2024, 1, 1, tzinfo=BrokenZone(timedelta(days=2))), "time zone"),
        (date(2024, 1, 1), "not a date"),
        (-1, "between 0 and"),
        (MAX_UNIX_SECONDS + 1, "between 0 and"),
        (10**400, "between 0 and"),
        # Too long for int's own str(): the message must not need it.
        pytest.param(10**5000, "bits", id="10**5000"),
        (LyingInt(-1), "between 0 and"),
        (datetime(1969, 12, 31, tzinfo=UTC), "between 0 and"),
        (datetime(2100, 1, 1, 0, 0, 1, tzinfo=UTC), "between 0 and"),
        (True, "aware datetime or unix seconds"),
        (1.5, "floats are refused"),
        (1_704_067_200.0, "floats are refused"),
        ("1704067200", "aware datetime or unix seconds"),
        (Decimal(1), "aware datetime or unix seconds"),
    ],
)
def test_bad_unix_seconds(value: object, fragment: str) -> None:
    refused(lambda: unix_seconds("start", value), "start", fragment)


def test_unix_seconds_bounds_are_adjustable() -> None:
    refused(lambda: unix_seconds("since_timestamp", 10, minimum=100), "between 100 and")
    refused(lambda: unix_seconds("since_timestamp", 10, maximum=5), "between 0 and 5")


def test_unix_millis() -> None:
    precise = datetime(2024, 1, 1, 0, 0, 0, 123_999, tzinfo=UTC)
    assert_wire(unix_millis("expire_time", precise), NEW_YEAR_2024 * 1000 + 123)
    assert_wire(unix_millis("expire_time", NEW_YEAR_2024 * 1000), NEW_YEAR_2024 * 1000)
    assert_wire(unix_millis("expire_time", MAX_UNIX_MILLIS), MAX_UNIX_MILLIS)
    refused(lambda: unix_millis("expire_time", MAX_UNIX_MILLIS + 1), "milliseconds")
    refused(lambda: unix_millis("expire_time", 1.0), "expire_time", "floats are refused")
    refused(lambda: unix_millis("expire_time", datetime(2024, 1, 1)), "timezone-aware")


def test_time_range() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert time_range("start", start, "end", NEW_YEAR_2024 + 60) == (
        NEW_YEAR_2024,
        NEW_YEAR_2024 + 60,
    )
    assert time_range("start", 5, "end", 5) == (5, 5)
    refused(lambda: time_range("start", 6, "end", 5), "end (5) must not be before start (6)")
    refused(lambda: time_range("start", datetime(2024, 1, 1), "end", 5), "start", "aware")
    refused(lambda: time_range("start", 5, "end", -1), "end")


def test_future_time() -> None:
    now = 1_000.5
    assert_wire(future_time("good_till", 1_001, now=now), 1_001)
    refused(lambda: future_time("good_till", 1_000, now=now), "good_till", "in the future")
    refused(lambda: future_time("good_till", 1_000, now=1_000.0), "in the future")
    assert_wire(future_time("good_till", 1_001, now=1_000.0), 1_001)
    refused(lambda: future_time("good_till", 0, now=now), "in the future")
    when = datetime(2024, 1, 1, 0, 0, 1, 500_000, tzinfo=UTC)
    assert_wire(
        future_time("good_till", when, now=NEW_YEAR_2024, millis=True), NEW_YEAR_2024 * 1000 + 1500
    )
    refused(lambda: future_time("good_till", when, now=NEW_YEAR_2024 + 2, millis=True), "future")
    # Seconds passed where milliseconds are read land in January 1970: in the past.
    refused(lambda: future_time("good_till", NEW_YEAR_2024 + 60, now=NEW_YEAR_2024, millis=True))
    refused(lambda: future_time("good_till", datetime(2030, 1, 1), now=0.0), "timezone-aware")


# -- the plain-number fast path ---------------------------------------------------------


class _PlainStr(str):
    """A str subclass holding the same text: it always takes the careful path."""


def _outcome(call: Callable[[], object]) -> object:
    try:
        return ("sent", call())
    except InvalidParameterError as error:
        # The careful path also names the subclass it was given: that part may differ.
        return ("refused", re.sub(r" \(an? _Plain\w+\)", "", str(error)))


_NUMBER_TEXTS = [
    "0.001", "30000", "0", "0.0", "00.1", "01", "1.50", "1.5000", "0.010", "1e3", "1E-3",
    "-1", "+1", "1.", ".5", "0.123456789", "9" * 30, "9" * 31, "1" + "0" * 29,
    "0." + "0" * 17 + "1", "0." + "0" * 18 + "1", "\uff11", " 1", "1 ", "1_0", "NaN", "",
    "\u00b2", "1\u00b2", "\u0663", "00", "0.00", "-0", "-0.0", "1.2.3", "5..", "0.5.",
    "1.-5", "0x10", ".", "0.", "10.0", "100", "0.1e1", "Infinity",
]  # fmt: skip


@pytest.mark.parametrize("text", _NUMBER_TEXTS)
@pytest.mark.parametrize("decimals", [None, 0, 1, 2, 8, 18, -1])
@pytest.mark.parametrize("positive", [True, False])
def test_the_fast_path_answers_as_the_careful_path(
    text: str, decimals: int | None, positive: bool
) -> None:
    """An exact str or Decimal may skip the careful reading, never change its answer."""
    for fast, careful in ((text, _PlainStr(text)),) + (
        ((Decimal(text), _PlainDecimal(text)),) if _is_decimal_text(text) else ()
    ):
        for function in (decimal_param, decimal_value):
            got = _outcome(partial(function, "amount", fast, decimals=decimals, positive=positive))
            want = _outcome(
                partial(function, "amount", careful, decimals=decimals, positive=positive)
            )
            assert got == want, (function.__name__, fast, decimals, positive)
            if got[0] == "sent" and function is decimal_value:
                assert type(got[1]) is Decimal


class _PlainDecimal(Decimal):
    """A Decimal subclass holding the same value: it always takes the careful path."""


def _is_decimal_text(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def test_the_fast_path_counts_digits_and_places_from_the_text() -> None:
    assert decimal_param("price", "30000.5", decimals=2) == "30000.5"
    assert decimal_param("price", Decimal("30000.50"), decimals=2) == "30000.50"
    with pytest.raises(InvalidParameterError, match="decimal places"):
        decimal_param("price", "30000.505", decimals=2)
    with pytest.raises(InvalidParameterError, match="greater than zero"):
        decimal_param("amount", "0.00000000", decimals=8)
    with pytest.raises(InvalidParameterError, match="more than 30 digits"):
        decimal_param("amount", "1" * 31)
