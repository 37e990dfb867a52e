"""Malformed answers of every shape, fed to every parser of ``aiobitstamp._models``.

The promise under test: only ``BitstampError`` subclasses come out of a parser, when the
answer is parsed and when any public attribute, row, ``==``, ``hash()``, ``repr()`` or
``str()`` of what it returned is read; ``repr()`` and ``str()`` never raise at all; and what
a parser accepts holds no float, no unbounded ``Decimal`` and no naive datetime.

Parsers are discovered (every class of the package with a ``from_wire`` or
``list_from_wire`` classmethod, every ``Rows`` subclass, and ``Rows`` over every model), so
a model added tomorrow is covered the day it is added, and must bring a recorded payload
in ``tests/data/`` (see ``SAMPLES``), which the mutation sweep then takes apart.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiobitstamp import _models
from aiobitstamp._exceptions import (
    BitstampError,
    MalformedFieldError,
    UnexpectedResponseError,
    error_from_undecodable,
)
from aiobitstamp._json import JSONDecodeError, loads, loads_exact
from aiobitstamp._models import _wire
from aiobitstamp._models._wire import LazyField, Rows

DATA = Path(__file__).parent / "data"
MARKER = "S3cretMarkerValue"  # must never appear in an error message

# --------------------------------------------------------------------------------------------
# Discovery


def _modules() -> list[Any]:
    return [
        importlib.import_module(f"{_models.__name__}.{info.name}")
        for info in pkgutil.iter_modules(_models.__path__)
    ]


def discover() -> dict[str, Callable[[Any], Any]]:
    """Every parser in the package, by a name that says what it is."""
    found: dict[str, Callable[[Any], Any]] = {}
    for module in _modules():
        for value in vars(module).values():
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            for method in ("from_wire", "list_from_wire"):
                if isinstance(inspect.getattr_static(value, method, None), classmethod) and (
                    _takes_one_answer(getattr(value, method))
                ):
                    key = value.__name__ if method == "from_wire" else f"{value.__name__}.{method}"
                    found[key] = getattr(value, method)
            if issubclass(value, Rows) and value is not Rows:
                found[value.__name__] = value
    # Every model as the client serves a JSON array of it: lazy Rows.
    for name, parse in list(found.items()):
        if "." not in name and not (isinstance(parse, type) and issubclass(parse, Rows)):
            found[f"Rows[{name}]"] = Rows.of(parse)
    return found


def _takes_one_answer(parse: Callable[..., Any]) -> bool:
    """A parser of one answer; ``CryptoTransaction.from_wire(row, kind)`` is reached
    through the parser of its page instead."""
    required = [
        parameter
        for parameter in inspect.signature(parse).parameters.values()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    return len(required) == 1


PARSERS = discover()


# --------------------------------------------------------------------------------------------
# Recorded payloads, decoded as the client decodes them (exact numbers)


def one(name: str) -> Any:
    return loads_exact((DATA / name).read_bytes())


def _samples() -> dict[str, list[Any]]:
    book, group2 = one("order_book_btcusd.json"), one("order_book_btcusd_group2.json")
    status, legacy = one("order_status.json"), one("order_status_finished_legacy.json")
    ohlc, vasps = one("ohlc_btcusd.json"), one("vasps.json")
    history = one("funding_rate_history_btcusd_perp.json")
    convert, contacts = one("instant_convert_info.json"), one("travel_rule_contacts.json")
    samples: dict[str, list[Any]] = {
        "Balance": [*one("account_balances.json"), one("account_balance_btc.json")],
        "WebSocketToken": [one("websockets_token.json")],
        "FundingRate": [one("funding_rate_btcusd_perp.json")],
        "FundingRateHistory": [history],
        "FundingRatePoint": history["funding_rate_history"],
        "Ticker": [
            one("ticker_btcusd.json"),
            one("ticker_hour_btcusd.json"),
            *one("tickers_all.json"),
        ],
        "PriceLevel": [*book["bids"][:2], *group2["asks"]],
        "PriceLevels": [book["bids"], group2["asks"]],
        "OrderBook": [book, group2],
        "Trade": one("transactions_btcusd.json"),
        "Candle": ohlc["data"]["ohlc"],
        "Candle.list_from_wire": [ohlc],
        "Market": one("markets.json"),
        "TradingPairInfo": one("trading_pairs_info.json"),
        "Currency": one("currencies.json"),
        "EurUsdRate": [one("eur_usd.json")],
        "Vasp": vasps["data"],
        "Vasp.list_from_wire": [vasps, vasps["data"]],
        "Side": ["0", "1", 0, 1, "buy", "sell"],
        "OrderState": ["Open", "Finished", "Expired", "Canceled", "In Queue", "Cancel pending"],
        "OrderPlaced": [one("order_placed_buy_limit.json"), one("order_placed_sell_market.json")],
        "OpenOrder": one("open_orders.json"),
        "OrderFill": [*status["transactions"], *legacy["transactions"]],
        "OrderStatus": [status, legacy],
        "CanceledOrder": [one("cancel_order.json"), one("cancel_order_exact.json")],
        "CancelAllResult": [one("cancel_all_orders.json")],
        "ReplacedOrder": [one("replace_order.json")],
        # fees.py
        "TradingFee": one("trading_fees.json"),
        "WithdrawalFee": one("withdrawal_fees.json"),
        "AccountMarket": one("my_markets.json"),
        "RevokedApiKeys": [one("revoke_all_api_keys.json")],
        # transactions.py
        "UserTransaction": one("user_transactions.json"),
        "TransactionType": [0, "2", 14, "35"],
        "CryptoTransactions": [one("crypto_transactions.json")],
        "OrderEvent": one("order_data.json"),
        # funding.py
        "WithdrawalRequest": one("withdrawal_requests.json"),
        "WithdrawalStatus": [0, "2", 4],
        "WithdrawalPlaced": [one("withdrawal_placed.json")],
        "BankWithdrawalStatus": [one("withdrawal_status.json")],
        "CanceledWithdrawal": [one("withdrawal_canceled.json")],
        "DepositAddress": one("deposit_address.json"),
        "UnconfirmedBtc": [one("btc_unconfirmed.json")],
        "UnconfirmedDeposit": one("btc_unconfirmed.json"),
        "InstantConvertAddressInfo": [convert],
        "ConvertOrder": convert["transactions"],
        "ConvertTrade": convert["transactions"][0]["trades"],
        # earn.py
        "EarnSubscription": one("earn_subscriptions.json"),
        "EarnTransaction": one("earn_transactions.json"),
        # travel_rule.py
        "TravelRuleContact": contacts["data"],
        "TravelRuleContact.list_from_wire": [contacts, contacts["data"]],
        "RetailInfo": [contacts["data"][0]["retail_info"]],
        "CorporateInfo": [contacts["data"][1]["corporate_info"]],
    }
    for name in list(samples):
        if f"Rows[{name}]" in PARSERS:
            samples[f"Rows[{name}]"] = [samples[name][:2]]
    return samples


SAMPLES = _samples()


# --------------------------------------------------------------------------------------------
# What a malformed answer may hold

HOSTILE: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    2**63,
    2**64,
    -(2**64),
    10**400,
    0.5,
    1.0,
    -0.0,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    Decimal("0.1"),
    Decimal("-5"),
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("-Infinity"),
    Decimal("1E+999999"),
    Decimal("1E-999999"),
    Decimal("1" * 150),
    "",
    " ",
    "0",
    "1",
    "-1",
    "1.5",
    "1e999999",
    "-1E-999999",
    "1e5",
    "NaN",
    "Infinity",
    "-inf",
    "1_000",
    " 1",
    "1\n",
    "0x10",
    "1,5",
    "\u0661\u0662\u0663",  # Arabic-Indic digits
    "\uff11\uff12",  # fullwidth digits
    "\u00b2",  # superscript two: isdigit() says yes
    "\U0001d7d9",  # mathematical double-struck one
    "\x00",
    "\u00e9",
    MARKER,
    "x" * 10_000,
    "9" * 5000,
    "2019-01-31 21:23:36",
    "9999-12-31 23:59:59",
    "Enabled",
    "buy",
    "Open",
    [],
    [None],
    ["1", "2"],
    [["1", "2"]],
    {},
    {"": None},
    {"a": {"b": []}},
]


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def walk(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path in a decoded JSON value, the root first."""
    yield path
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from walk(value, (*path, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from walk(value, (*path, index))


def _at(obj: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        obj = obj[step]
    return obj


def replaced(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(obj)
    _at(copied, path[:-1])[path[-1]] = value
    return copied


def deleted(obj: Any, path: tuple[Any, ...]) -> Any:
    copied = copy.deepcopy(obj)
    del _at(copied, path[:-1])[path[-1]]
    return copied


def mutations(sample: Any) -> Iterator[tuple[str, Any]]:
    """Each way to break ``sample`` at each of its paths: every hostile value, the key or
    item removed, the value wrapped in a list or an object."""
    for path in walk(sample):
        node = _at(sample, path)
        where = "/".join(map(str, path)) or "<root>"
        for value in HOSTILE:
            yield f"{where} = {_describe(value)}", replaced(sample, path, value)
        if path:
            yield f"del {where}", deleted(sample, path)
        yield f"{where} wrapped in a list", replaced(sample, path, [node])
        yield f"{where} wrapped in an object", replaced(sample, path, {"value": node})


# --------------------------------------------------------------------------------------------
# The check


RAW_FIELDS = frozenset({"raw", "wire", "networks"})  # kept as decoded, on purpose


def _check_value(value: Any, where: str) -> None:
    """What an accepted answer may hold."""
    assert not isinstance(value, float), f"{where}: a float leaked through"
    if isinstance(value, Decimal):
        assert value.is_finite(), f"{where}: {value!r}"
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        assert len(value.as_tuple().digits) <= _wire.MAX_DIGITS, where
        assert exponent >= -2 * _wire.MAX_EXPONENT and value.adjusted() <= _wire.MAX_EXPONENT
        value + value, value * value
    elif isinstance(value, datetime):
        assert value.tzinfo is timezone.utc, f"{where}: {value!r} is not UTC"


def _read(read: Callable[[], Any], where: str) -> tuple[bool, Any]:
    """Read one thing; only a malformed-answer error may come out."""
    try:
        return True, read()
    except UnexpectedResponseError as error:
        assert MARKER not in str(error), f"{where}: the error echoes the payload"
        return False, None


def touch(value: Any, where: str = "result", depth: int = 0) -> None:
    """Read everything public about ``value``, as a caller might."""
    assert depth < 12, where
    text = repr(value), str(value)  # never raise, whatever the payload
    assert all(isinstance(part, str) for part in text)
    _check_value(value, where)
    if isinstance(value, Rows):
        rows: Rows[Any] = value
        for index in range(len(rows)):
            ok, row = _read(lambda index=index: rows[index], f"{where}[{index}]")  # type: ignore[misc]
            if ok:
                touch(row, f"{where}[{index}]", depth + 1)
        _read(lambda: list(value), f"list({where})")
        _read(lambda: list(reversed(value)), f"reversed({where})")
        _read(lambda: value == list(value), f"{where} == list")
        return
    if isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            touch(item, f"{where}[{index}]", depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            touch(item, f"{where}[{key!r}]", depth + 1)
        return
    if isinstance(value, enum.Enum) or not hasattr(type(value), "__dict__"):
        return
    if not (dataclasses.is_dataclass(value) or type(value).__module__.startswith(_models.__name__)):
        return
    names: list[str] = []
    if dataclasses.is_dataclass(value):
        names = [field.name for field in dataclasses.fields(value)]
    for name, attribute in inspect.getmembers(type(value)):
        if not name.startswith("_") and isinstance(attribute, (property, LazyField)):
            names.append(name)
    for name in names:
        ok, attribute_value = _read(partial(getattr, value, name), f"{where}.{name}")
        if ok and name not in RAW_FIELDS:
            touch(attribute_value, f"{where}.{name}", depth + 1)
    _read(lambda: value == value, f"{where} == itself")
    if type(value).__hash__ is not None:
        _read(lambda: hash(value), f"hash({where})")


def check(parse: Callable[[Any], Any], payload: Any, what: str) -> bool:
    """True when ``parse`` accepted ``payload``; fails the test on anything but a
    malformed-answer error, at parse time or when the result is read."""
    try:
        result = parse(payload)
    except UnexpectedResponseError as error:
        assert isinstance(error, BitstampError)
        message = str(error)
        assert message and repr(error), what
        assert MARKER not in message and "x" * 100 not in message, f"{what}: echoes the payload"
        return False
    except Exception as error:  # the defect this file exists for
        pytest.fail(f"{what}: {type(error).__name__} escaped the error tree: {error}"[:500])
    try:
        touch(result)
    except AssertionError as failure:
        pytest.fail(f"{what}: {failure}"[:500])
    except Exception as error:
        pytest.fail(f"{what}: reading the result raised {type(error).__name__}: {error}"[:500])
    return True


# --------------------------------------------------------------------------------------------
# Tests


# Defects found by this file in modules of other areas, reported to their owners. Each is
# a strict xfail: the day it is fixed, the test says so and the entry must go.
_ENUM_TYPE_ERROR = "raises a bare TypeError/ValueError for a value that is not a code"
KNOWN_DEFECTS: dict[str, tuple[str, frozenset[str]]] = {}


def cases(names: list[str], test: str) -> list[Any]:
    marked = []
    for name in names:
        reason, tests = KNOWN_DEFECTS.get(name, ("", frozenset()))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if test in tests else []
        marked.append(pytest.param(name, marks=marks, id=name))
    return marked


# Rows hands each row to a model's parser, which is taken apart on its own.
MODEL_PARSERS = sorted(name for name in PARSERS if not name.startswith("Rows["))


def test_discovery_finds_every_parser() -> None:
    # The models the client depends on are all there; a new one is found without a change.
    for name in ("Ticker", "OrderBook", "PriceLevels", "Rows[Trade]", "Candle.list_from_wire"):
        assert name in PARSERS
    assert len(PARSERS) >= 45


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_parser_has_recorded_payloads_that_parse(name: str) -> None:
    assert SAMPLES.get(name), f"add a recorded payload for {name} to tests/data and SAMPLES"
    for index, sample in enumerate(SAMPLES[name]):
        assert check(PARSERS[name], sample, f"{name} sample {index}"), f"{name} {index} refused"


@pytest.mark.parametrize("name", cases(sorted(PARSERS), "top"))
def test_hostile_answers_at_the_top(name: str) -> None:
    for value in HOSTILE:
        check(PARSERS[name], value, f"{name}({_describe(value)})")


@pytest.mark.parametrize("name", cases(MODEL_PARSERS, "sweep"))
def test_every_field_of_a_recorded_answer_broken_every_way(name: str) -> None:
    refused = accepted = 0
    for sample in SAMPLES.get(name, [])[:2]:
        for what, payload in mutations(sample):
            if check(PARSERS[name], payload, f"{name}: {what}"):
                accepted += 1
            else:
                refused += 1
    # Both happen: optional fields take null, required ones refuse it.
    assert refused > 0


def json_values() -> st.SearchStrategy[Any]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats()
        | st.decimals()
        | st.text(max_size=12)
        | st.sampled_from([v for v in HOSTILE if not isinstance(v, (list, dict))])
    )
    keys = st.text(max_size=8) | st.sampled_from(
        sorted(
            {
                step
                for samples in SAMPLES.values()
                for sample in samples
                for path in walk(sample)
                for step in path
                if isinstance(step, str)
            }
        )
    )
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6)
        ),
        max_leaves=16,
    )


FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", cases(MODEL_PARSERS, "any"))
@FUZZ
@given(value=json_values())
def test_any_json_value(name: str, value: Any) -> None:
    check(PARSERS[name], value, f"{name}({_describe(value)})")


@pytest.mark.parametrize("name", cases(MODEL_PARSERS, "path"))
@FUZZ
@given(data=st.data())
def test_any_json_value_at_any_path_of_a_recorded_answer(name: str, data: st.DataObject) -> None:
    samples = SAMPLES.get(name) or [{}]
    sample = data.draw(st.sampled_from(samples))
    path = data.draw(st.sampled_from(list(walk(sample))))
    value = data.draw(json_values())
    check(PARSERS[name], replaced(sample, path, value), f"{name}: {path} = {_describe(value)}")


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.json")))
def test_broken_bodies_become_errors_of_the_tree(name: str) -> None:
    body = (DATA / name).read_bytes()
    for cut in sorted({0, 1, len(body) // 3, len(body) // 2, len(body) - 2}):
        broken = body[:cut]
        for decode in (loads, loads_exact):
            with pytest.raises(JSONDecodeError):
                decode(broken)
        error = error_from_undecodable(200, broken, "application/json", method="GET", path="/p")
        assert isinstance(error, UnexpectedResponseError)


# --------------------------------------------------------------------------------------------
# Recorded answers parse to exact values


def test_json_numbers_are_kept_exactly_when_decoded_exactly() -> None:
    body = (DATA / "cancel_order_exact.json").read_bytes()
    canceled = _models.CanceledOrder.from_wire(loads_exact(body))
    assert canceled.id == "18446744073709551615"  # 2**64 - 1: beyond a float and a signed long
    assert canceled.amount == Decimal("123456789.12345678")  # no float holds this
    # 29 significant digits, more than Decimal's default context: parsing never rounds.
    assert canceled.price == Decimal("1.1234567890123456789012345678")
    assert str(canceled.price) == "1.1234567890123456789012345678"
    assert canceled.side is _models.Side.SELL
    # Decoded the fast way, the float would have rounded: it is refused, naming the field.
    with pytest.raises(MalformedFieldError, match=r"CanceledOrder answer, at price: .*float"):
        _models.CanceledOrder.from_wire(orjson.loads(body))


def test_funding_rates_recorded() -> None:
    rate = _models.FundingRate.from_wire(one("funding_rate_btcusd_perp.json"))
    assert rate.funding_rate == Decimal("0.0001250000")
    assert rate.timestamp == datetime(2025, 10, 17, 16, tzinfo=timezone.utc)
    assert rate.next_funding_time == datetime(2025, 10, 18, tzinfo=timezone.utc)
    history = _models.FundingRateHistory.from_wire(one("funding_rate_history_btcusd_perp.json"))
    assert [point.funding_rate for point in history.rates] == [
        Decimal("0.0001000000"),
        Decimal("-0.0000375000"),
    ]


def test_replaced_order_recorded() -> None:
    order = _models.ReplacedOrder.from_wire(one("replace_order.json"))
    assert order.id == "1713462436651300"
    assert order.orig_order_id == "1713462436651008"
    assert order.created_at == datetime(2025, 10, 17, 14, 23, 1, 725000, tzinfo=timezone.utc)
    assert order.price == Decimal("37600") and order.amount == Decimal("0.01000000")
    assert order.status is _models.OrderState.OPEN and order.side is _models.Side.BUY


def test_json_number_columns_of_user_transactions_are_exact() -> None:
    # "usd": 0, "btc": 0.003, "btc_usd": 37500.0 as JSON numbers, decoded exactly.
    first, second, third = (
        _models.UserTransaction.from_wire(row) for row in one("user_transactions.json")
    )
    assert first.amounts == {"usd": Decimal("-112.50"), "btc": Decimal("0.003"), "eur": 0}
    assert str(first.amounts["btc"]) == "0.003" and str(first.rates["btc_usd"]) == "37500.0"
    assert first.order_id == "1713462436651008"
    assert str(second.amounts["usd"]) == "0.0"
    assert third.rates == {"eth_usdt": Decimal("2050.5")}
    # The same answer decoded by orjson holds floats, refused rather than rounded.
    with pytest.raises(MalformedFieldError, match="UserTransaction"):
        _models.UserTransaction.from_wire(
            orjson.loads((DATA / "user_transactions.json").read_bytes())[0]
        )
