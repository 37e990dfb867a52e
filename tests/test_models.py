"""Tests for aiobitstamp._models: exact Decimals, exact ids, UTC times, the lazy order book."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from aiobitstamp import _models
from aiobitstamp._exceptions import MalformedFieldError, UnexpectedResponseError
from aiobitstamp._json import loads_exact
from aiobitstamp._models import (
    Balance,
    CancelAllResult,
    CanceledOrder,
    Candle,
    Currency,
    EurUsdRate,
    Market,
    OpenOrder,
    OrderBook,
    OrderFill,
    OrderPlaced,
    OrderState,
    OrderStatus,
    PriceLevel,
    PriceLevels,
    Side,
    Ticker,
    Trade,
    TradingPairInfo,
    Vasp,
    WebSocketToken,
    _wire,
    market_data,
)

DATA = Path(__file__).parent / "data"
UTC = timezone.utc


def load(name: str) -> Any:
    return orjson.loads((DATA / name).read_bytes())


def load_exact(name: str) -> Any:
    """For recorded answers that carry JSON numbers, decoded as the client decodes them."""
    return loads_exact((DATA / name).read_bytes())


# --- module surface ----------------------------------------------------------------------


AREAS = [
    importlib.import_module(f"{_models.__name__}.{info.name}")
    for info in pkgutil.iter_modules(_models.__path__)
    if not info.name.startswith("_")
]


def test_all_is_sorted_and_complete() -> None:
    assert _models.__all__ == sorted(_models.__all__)
    assert {module.__name__.rpartition(".")[2] for module in AREAS} >= {
        "account",
        "market_data",
        "orders",
    }
    # Every name an area module exports is re-exported by the package, and Rows from _wire.
    exported = {name for module in AREAS for name in module.__all__} | {"Rows"}
    assert exported == set(_models.__all__)
    for module in [*AREAS, _wire]:
        assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))
        for name in module.__all__:
            assert getattr(module, name).__doc__, f"{module.__name__}.{name}"


@pytest.mark.parametrize("name", _models.__all__)
def test_every_public_name_has_a_docstring(name: str) -> None:
    assert getattr(_models, name).__doc__


@pytest.mark.parametrize(
    "model",
    [value for value in map(vars(_models).get, _models.__all__) if dataclasses.is_dataclass(value)],
)
def test_models_are_frozen_and_slotted(model: type) -> None:
    assert model.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert "__slots__" in vars(model)
    assert callable(getattr(model, "from_wire", None))


def test_assignment_raises() -> None:
    ticker = Ticker.from_wire(load("ticker_btcusd.json"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ticker.wire = {}  # type: ignore[misc]
    # Ticker's values are read-only properties; CPython before 3.12 reports the frozen
    # slotted class's refusal as a TypeError (gh-90562).
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
        ticker.last = Decimal("1")  # type: ignore[misc]
    with pytest.raises(TypeError):
        ticker.wire["last"] = "1"  # type: ignore[index]
    balance = Balance.from_wire(load("account_balance_btc.json"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        balance.total = Decimal("1")  # type: ignore[misc]
    # No __dict__: new attributes are refused too (CPython 3.10/3.11 raise TypeError here
    # for frozen slotted dataclasses, gh-90562; later versions raise an AttributeError).
    with pytest.raises((AttributeError, TypeError)):
        ticker.extra = 1  # type: ignore[attr-defined]
    assert not hasattr(ticker, "__dict__")


# --- Side / OrderState ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "side"), [(0, Side.BUY), ("0", Side.BUY), (1, Side.SELL), ("1", Side.SELL)]
)
def test_side_from_wire(wire: Any, side: Side) -> None:
    assert Side.from_wire(wire) is side


@pytest.mark.parametrize("wire", [2, "2", "", None, True, False, 1.0, 0.0, "BUY", [1], {}])
def test_side_rejects_unknown_values(wire: Any) -> None:
    # True == 1 and 1.0 == 1 would find SELL in a lookup table; a list cannot be looked up.
    with pytest.raises(MalformedFieldError, match="unknown side"):
        Side.from_wire(wire)


def test_order_state_wire_values() -> None:
    assert OrderState("In Queue") is OrderState.IN_QUEUE
    assert OrderState.from_wire("Cancel pending") is OrderState.CANCEL_PENDING
    for bad in ("open", "", None, 1, ["Open"]):
        with pytest.raises(MalformedFieldError, match="order status"):
            OrderState.from_wire(bad)
    assert OrderState("Cancel pending") is OrderState.CANCEL_PENDING
    assert OrderState.CANCELED.is_final and not OrderState.OPEN.is_final


# --- Ticker ----------------------------------------------------------------------------------


def test_ticker_exact_values() -> None:
    ticker = Ticker.from_wire(load("ticker_btcusd.json"))
    assert ticker.timestamp == datetime(2023, 11, 28, 12, 0, 32, tzinfo=UTC)
    assert ticker.timestamp.utcoffset() is not None
    assert ticker.last == Decimal("37991")
    assert ticker.volume == Decimal("1563.73842105")
    assert isinstance(ticker.volume, Decimal)
    assert ticker.open_24 == Decimal("37653")
    assert ticker.percent_change_24 == Decimal("0.90")
    assert str(ticker.percent_change_24) == "0.90"  # exact spelling kept, no float detour
    assert ticker.side is Side.SELL
    assert ticker.pair is None


def test_ticker_hour_tolerates_null_optionals_and_int_side() -> None:
    ticker = Ticker.from_wire(load("ticker_hour_btcusd.json"))
    assert ticker.open_24 is None
    assert ticker.percent_change_24 is None
    assert ticker.side is Side.BUY
    assert ticker.volume == Decimal("48.20417935")


def test_all_tickers_carry_pair_and_tolerate_missing_fields() -> None:
    tickers = [Ticker.from_wire(row) for row in load("tickers_all.json")]
    assert [t.pair for t in tickers] == ["BTC/USD", "XLM/BTC", "EUR/USD"]
    assert tickers[1].last == Decimal("0.00002478")
    assert tickers[1].percent_change_24 == Decimal("-1.63")
    eurusd = tickers[2]
    assert eurusd.side is None and eurusd.open_24 is None and eurusd.percent_change_24 is None


def test_ticker_missing_required_field_names_model_and_field() -> None:
    wire = load("ticker_btcusd.json")
    del wire["bid"]
    with pytest.raises(MalformedFieldError, match=r"^malformed Ticker answer, at bid: missing$"):
        Ticker.from_wire(wire)


def test_ticker_bad_number_fails_when_read_and_repr_still_works() -> None:
    wire = load("ticker_btcusd.json")
    wire["last"] = "n/a"
    wire["pair"] = 7
    ticker = Ticker.from_wire(wire)  # values are read lazily...
    assert ticker.bid == Decimal("37990")
    with pytest.raises(MalformedFieldError, match=r"^malformed Ticker answer, at last: ") as info:
        ticker.last  # ...and a bad one fails when read, naming the field  # noqa: B018
    assert isinstance(info.value, UnexpectedResponseError)
    assert "n/a" not in str(info.value)  # the value is never echoed
    with pytest.raises(MalformedFieldError, match="at pair"):
        ticker.pair  # noqa: B018
    # repr() is for logs: it never raises, and shows what it could not read.
    assert repr(ticker).startswith("Ticker(pair=<malformed>, timestamp=datetime.datetime(")
    assert "last=<malformed>, bid=Decimal('37990')" in repr(ticker)


def test_ticker_equality_and_hash_follow_values() -> None:
    wire = load("ticker_btcusd.json")
    respelled = {**wire, "last": "37991.00"}
    assert Ticker.from_wire(wire) == Ticker.from_wire(respelled)
    assert hash(Ticker.from_wire(wire)) == hash(Ticker.from_wire(respelled))
    assert Ticker.from_wire(wire) != Ticker.from_wire({**wire, "last": "1"})
    assert "last=Decimal('37991')" in repr(Ticker.from_wire(wire))


# --- Order book ------------------------------------------------------------------------------


def test_order_book_parses_timestamps_exactly() -> None:
    book = OrderBook.from_wire(load("order_book_btcusd.json"))
    assert book.timestamp == datetime(2023, 11, 28, 12, 0, 32, tzinfo=UTC)
    assert book.microtimestamp == datetime(2023, 11, 28, 12, 0, 32, 4321, tzinfo=UTC)
    assert book.microtimestamp.microsecond == 4321


@pytest.mark.parametrize(
    ("micros", "expected"),
    [
        ("1583656800000000", datetime(2020, 3, 8, 8, 40, tzinfo=UTC)),
        ("1583656800000001", datetime(2020, 3, 8, 8, 40, 0, 1, tzinfo=UTC)),
        ("1583656800999999", datetime(2020, 3, 8, 8, 40, 0, 999999, tzinfo=UTC)),
        ("1583656800237527", datetime(2020, 3, 8, 8, 40, 0, 237527, tzinfo=UTC)),
        ("4102444799999999", datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_microtimestamp_is_exact(micros: str, expected: datetime) -> None:
    wire = load("order_book_btcusd.json")
    wire["microtimestamp"] = micros
    parsed = OrderBook.from_wire(wire).microtimestamp
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_order_book_levels_exact() -> None:
    book = OrderBook.from_wire(load("order_book_btcusd.json"))
    assert len(book.bids) == 5 and len(book.asks) == 5
    assert book.bids[0] == PriceLevel(Decimal("37990"), Decimal("0.26324000"))
    assert book.bids[3].amount == Decimal("0.00002478")
    assert book.bids[-1].price == Decimal("37980")
    assert book.asks[-1] == PriceLevel(Decimal("38000"), Decimal("7.50000000"), None)
    assert [level.price for level in book.bids] == sorted(
        (level.price for level in book.bids), reverse=True
    )
    assert [level.price for level in book.asks] == sorted(level.price for level in book.asks)
    with pytest.raises(IndexError):
        book.bids[5]


def test_order_book_best_and_spread() -> None:
    book = OrderBook.from_wire(load("order_book_btcusd.json"))
    assert book.best_bid == PriceLevel(Decimal("37990"), Decimal("0.26324000"))
    assert book.best_ask == PriceLevel(Decimal("37991"), Decimal("0.04800000"))
    assert book.spread == Decimal("1")


def test_order_book_empty_side() -> None:
    wire = load("order_book_btcusd.json")
    wire["asks"] = []
    book = OrderBook.from_wire(wire)
    assert book.best_ask is None
    assert book.spread is None
    assert book.best_bid is not None
    assert list(book.asks) == []
    assert not book.asks
    assert repr(book.asks) == "PriceLevels(0 levels)"
    wire["bids"] = []
    assert OrderBook.from_wire(wire).best_bid is None


def test_group2_rows_carry_order_ids() -> None:
    book = OrderBook.from_wire(load("order_book_btcusd_group2.json"))
    first, second, _ = book.bids
    assert first == PriceLevel(Decimal("8732.02"), Decimal("0.00002478"), "1207590500704256")
    assert second.price == first.price and second.order_id == "1207590500704257"
    assert book.best_ask is not None and book.best_ask.order_id == "1207590693249024"
    assert book.spread == Decimal("3.65")


def _big_book(levels: int) -> bytes:
    bids = [[f"{40000 - i * 0.01:.2f}", f"{(i % 97) / 7:.8f}"] for i in range(levels)]
    asks = [[f"{40000.01 + i * 0.01:.2f}", f"{(i % 89) / 3:.8f}"] for i in range(levels)]
    return orjson.dumps(
        {
            "timestamp": "1701172832",
            "microtimestamp": "1701172832004321",
            "bids": bids,
            "asks": asks,
        }
    )


def test_from_wire_on_5000_levels_builds_no_price_level(monkeypatch: pytest.MonkeyPatch) -> None:
    wire = orjson.loads(_big_book(5000))
    calls = 0
    real = market_data._level

    def counting(row: Any) -> PriceLevel:
        nonlocal calls
        calls += 1
        return real(row)

    monkeypatch.setattr(market_data, "_level", counting)
    book = OrderBook.from_wire(wire)
    assert calls == 0
    # The decoded lists are kept as they are: no copy, no conversion.
    assert book.bids.raw_rows is wire["bids"]
    assert book.asks.raw_rows is wire["asks"]
    assert len(book.bids) == 5000
    # Reading the top of book converts exactly the rows read.
    assert book.best_bid == PriceLevel(Decimal("40000.00"), Decimal("0E-8"))
    assert book.spread == Decimal("0.01")
    assert calls == 3  # best_bid, then best_ask and best_bid inside spread
    text = repr(book)
    assert "5000 levels" in text and len(text) < 1000
    assert calls == 5  # repr shows the first level of each side only


def test_lazy_levels_index_slice_iterate() -> None:
    wire = orjson.loads(_big_book(5000))
    bids = OrderBook.from_wire(wire).bids
    assert bids[-1].price == Decimal("39950.01")
    assert bids[-5000] == bids[0]
    top = bids[:10]
    assert isinstance(top, PriceLevels)
    assert len(top) == 10
    assert top[9].price == Decimal("39999.91")
    assert [level.price for level in bids[10:13]] == [
        Decimal("39999.90"),
        Decimal("39999.89"),
        Decimal("39999.88"),
    ]
    assert len(bids[::2]) == 2500
    assert len(bids[6000:]) == 0
    assert sum(1 for _ in bids) == 5000
    assert next(reversed(bids)) == bids[-1]
    assert bids.index(bids[42]) == 42
    assert bids[1] in bids
    with pytest.raises(TypeError):
        bids["0"]  # type: ignore[call-overload]


def test_price_levels_are_read_only_and_compare_by_value() -> None:
    levels = PriceLevels([["1.0", "2"]])
    with pytest.raises(TypeError):
        levels[0] = PriceLevel(Decimal(1), Decimal(1))  # type: ignore[index]
    assert PriceLevels([["1.0", "2"]]) == PriceLevels([["1.00", "2.0"]])
    assert PriceLevels([["1.0", "2"]]) != PriceLevels([["1.0", "3"]])
    assert PriceLevels([]) != PriceLevels([["1.0", "3"]])
    with pytest.raises(TypeError):
        hash(levels)
    with pytest.raises(MalformedFieldError, match="expected a list"):
        PriceLevels((("1", "2"),))  # type: ignore[arg-type]


def test_malformed_row_fails_when_read_naming_its_index() -> None:
    book = OrderBook.from_wire(
        {
            "timestamp": "1",
            "microtimestamp": "1000000",
            "bids": [["1", "1"], ["x", "1"]],
            "asks": [["1"]],
        }
    )
    with pytest.raises(MalformedFieldError, match=r"PriceLevel answer, at \[1\]\.price: "):
        book.bids[1]
    with pytest.raises(MalformedFieldError, match=r"at \[1\]\.price"):
        book.bids[-1]
    with pytest.raises(MalformedFieldError, match=r"at \[1\]\.price"):
        list(book.bids)
    with pytest.raises(MalformedFieldError, match=r"at \[1\]\.price"):
        list(reversed(book.bids))
    with pytest.raises(MalformedFieldError, match=r"at \[0\]: expected \[price, amount\]"):
        book.asks[0]
    assert repr(book.asks) == "PriceLevels(1 levels, first=<malformed>)"
    assert "first=<malformed>" in repr(book)


@pytest.mark.parametrize(
    "row",
    [
        "59",  # a string of two characters: was read as price 5, amount 9
        "5",
        ["1", "2", "3", "4"],
        ["1"],
        [],
        {"price": "1", "amount": "2"},
        ["1", None],
        ["1", True],
        [True, "1"],
        ["1", 2.5],
        ["NaN", "1"],
        ["Infinity", "1"],
        ["1e999999", "1"],
        ["\u0661\u0662", "1"],  # Arabic-Indic digits: Decimal() would read 12
        ["\uff11", "1"],  # a fullwidth 1
        [" 1", "1"],
        ["1_000", "1"],
        ["1", "2", 1.5],
        ["1", "2", "an id with spaces"],
        ["1", "2", -1],
    ],
)
def test_price_level_refuses_wrong_shapes(row: Any) -> None:
    with pytest.raises(MalformedFieldError, match="PriceLevel"):
        PriceLevel.from_wire(row)


def test_order_book_requires_lists() -> None:
    with pytest.raises(MalformedFieldError, match=r"OrderBook answer, at microtimestamp: missing"):
        OrderBook.from_wire({"timestamp": "1", "bids": [], "asks": []})
    with pytest.raises(MalformedFieldError, match="OrderBook answer, at bids: expected a list"):
        OrderBook.from_wire({"timestamp": "1", "microtimestamp": "1", "bids": None, "asks": []})
    with pytest.raises(MalformedFieldError, match="at asks: expected a list, got a string"):
        OrderBook.from_wire({"timestamp": "1", "microtimestamp": "1", "bids": [], "asks": "[]"})


def test_price_level_from_exact_json_numbers_is_exact() -> None:
    row = loads_exact(b"[8302.92, 0.14406384, 1207733769326592]")
    level = PriceLevel.from_wire(row)
    assert level == PriceLevel(Decimal("8302.92"), Decimal("0.14406384"), "1207733769326592")
    # The same row decoded by orjson carries floats, which have lost digits: refused.
    with pytest.raises(MalformedFieldError, match=r"at price: .*got a float.*loads_exact"):
        PriceLevel.from_wire(orjson.loads(b"[8302.92, 0.14406384]"))


# --- Trades and candles ----------------------------------------------------------------------


def test_trades_keep_big_ids_exact() -> None:
    trades = [Trade.from_wire(row) for row in load("transactions_btcusd.json")]
    assert trades[0].id == "9007199254740993"  # 2**53 + 1: a float would give ...992
    assert int(trades[0].id) == 2**53 + 1
    assert trades[0].side is Side.SELL and trades[1].side is Side.BUY
    assert trades[0].amount == Decimal("0.00120000")
    assert trades[1].price == Decimal("37990")
    assert trades[0].timestamp == datetime(2023, 11, 28, 12, 0, 32, tzinfo=UTC)


def test_float_ids_are_rejected() -> None:
    row = load("transactions_btcusd.json")[1]
    row["tid"] = 311482007.0
    with pytest.raises(MalformedFieldError, match="Trade answer, at tid"):
        Trade.from_wire(row)


def test_ohlc_list_from_wire() -> None:
    candles = Candle.list_from_wire(load("ohlc_btcusd.json"))
    assert isinstance(candles, list) and len(candles) == 2
    assert candles[0] == Candle(
        timestamp=datetime(2023, 11, 28, 11, 58, tzinfo=UTC),
        open=Decimal("37960"),
        high=Decimal("37999"),
        low=Decimal("37951"),
        close=Decimal("37990"),
        volume=Decimal("0.39457928"),
    )
    assert candles[1].timestamp - candles[0].timestamp == timedelta(minutes=1)
    with pytest.raises(MalformedFieldError, match=r"Candle answer, at data: missing"):
        Candle.list_from_wire({"pair": "BTC/USD", "ohlc": []})
    with pytest.raises(MalformedFieldError, match=r"at data\.ohlc: expected a list, got null"):
        Candle.list_from_wire({"data": {"pair": "BTC/USD", "ohlc": None}})
    bad = load("ohlc_btcusd.json")
    bad["data"]["ohlc"][1]["volume"] = True
    with pytest.raises(MalformedFieldError, match=r"at data\.ohlc\[1\]\.volume: .*boolean"):
        Candle.list_from_wire(bad)
    assert Candle.list_from_wire({"data": {"pair": "BTC/USD", "ohlc": []}}) == []


# --- Reference data --------------------------------------------------------------------------


def test_markets_spot_and_perp() -> None:
    btc, doge, perp = (Market.from_wire(row) for row in load("markets.json"))
    assert btc.market_symbol == "btcusd" and btc.base_currency == "BTC"
    assert btc.counter_decimals == 0 and btc.base_decimals == 8
    assert btc.minimum_order_value == Decimal("10")
    assert btc.trading_enabled is True and btc.instant_and_market_orders_enabled is True
    assert btc.market_type == "SPOT"
    assert btc.contract_size is None and btc.isin is None and btc.maximum_order_value is None
    assert doge.instant_and_market_orders_enabled is False
    assert doge.minimum_order_value == Decimal("10.00000")
    assert perp.market_type == "PERPETUAL"
    assert perp.maximum_order_value == Decimal("2000000")
    assert perp.minimum_order_amount == Decimal("0.0001")
    assert perp.maximum_order_amount == Decimal("50")
    assert perp.contract_size == Decimal("1")
    assert perp.payoff_type == "Linear" and perp.underlying_asset == "BTC"


def test_trading_pairs_info_splits_minimum_order() -> None:
    btc, doge, eth = (TradingPairInfo.from_wire(row) for row in load("trading_pairs_info.json"))
    assert btc.minimum_order_value == Decimal("20.0")
    assert btc.minimum_order_currency == "USD"
    assert btc.trading_enabled is True
    assert doge.minimum_order_value == Decimal("10.00000")
    assert doge.minimum_order_currency == "EUR"
    assert doge.trading_enabled is False and doge.instant_and_market_orders_enabled is False
    assert eth.minimum_order_value == Decimal("0.00020000")
    assert eth.minimum_order_currency == "BTC"
    assert eth.instant_order_counter_decimals is None


def test_trading_pairs_info_minimum_without_currency_uses_counter() -> None:
    row = load("trading_pairs_info.json")[0]
    row["minimum_order"] = "10"
    info = TradingPairInfo.from_wire(row)
    assert info.minimum_order_value == Decimal("10")
    assert info.minimum_order_currency == "USD"


def test_currencies_parse_defensively() -> None:
    btc, usd, token = (Currency.from_wire(row) for row in load("currencies.json"))
    assert btc.currency == "BTC" and btc.currency_type == "crypto" and btc.decimals == 8
    assert btc.available_supply == Decimal("19554743.0")
    assert btc.deposit_enabled is True and btc.withdrawal_enabled is True
    assert btc.networks[0]["network"] == "bitcoin"
    assert usd.withdrawal_enabled is False and usd.logo is None and usd.available_supply is None
    assert token.symbol == "STK" and token.currency is None and token.decimals is None
    assert token.deposit_enabled is None and token.networks == ()
    # Nothing is lost, and raw is neither compared nor printed.
    assert btc.raw["logo"].endswith("btc.svg")
    assert "raw=" not in repr(btc)
    assert dataclasses.replace(btc, raw={}) == btc
    with pytest.raises(TypeError):
        btc.raw["name"] = "x"  # type: ignore[index]


def test_eur_usd_rate_keeps_extra_fields() -> None:
    wire = load("eur_usd.json")
    rate = EurUsdRate.from_wire(wire)
    assert rate.buy == Decimal("1.0912") and rate.sell == Decimal("1.0836")
    wire["mid"] = "1.0874"
    assert EurUsdRate.from_wire(wire).raw["mid"] == "1.0874"
    with pytest.raises(MalformedFieldError, match=r"EurUsdRate answer, at sell: missing"):
        EurUsdRate.from_wire({"buy": "1.09"})


def test_vasps_envelope_and_bare_list() -> None:
    wire = load("vasps.json")
    vasps = Vasp.list_from_wire(wire)
    assert [v.name for v in vasps] == ["Example Exchange Ltd.", "Sample Custody GmbH"]
    assert vasps[0].uuid == "0b4a2b04-3e6c-4c37-9a10-2f1f7b0a9f11"
    assert vasps[1].raw["country"] == "DE"
    assert "raw=" not in repr(vasps[1])
    assert Vasp.list_from_wire(wire["data"]) == vasps
    assert Vasp.from_wire(wire["data"][0]) == vasps[0]
    with pytest.raises(MalformedFieldError, match=r"Vasp answer, at name: missing"):
        Vasp.from_wire({"uuid": "0b4a2b04"})
    with pytest.raises(MalformedFieldError, match="Vasp answer, at data: missing"):
        Vasp.list_from_wire({"pagination": {}})
    with pytest.raises(MalformedFieldError, match=r"Vasp answer, at data\[1\]\.name"):
        Vasp.list_from_wire({"data": [wire["data"][0], {"uuid": "x", "name": 5}]})
    with pytest.raises(MalformedFieldError, match=r"Vasp answer, at \[0\]: expected an object"):
        Vasp.list_from_wire(["not a vasp"])


# --- Account and orders ----------------------------------------------------------------------


def test_balances() -> None:
    usd, btc = (Balance.from_wire(row) for row in load("account_balances.json"))
    assert usd == Balance(
        currency="usd",
        total=Decimal("1523.47"),
        available=Decimal("1023.47"),
        reserved=Decimal("500.00"),
    )
    assert btc.available + btc.reserved == btc.total
    assert Balance.from_wire(load("account_balance_btc.json")) == btc


def test_order_placed_limit() -> None:
    order = OrderPlaced.from_wire(load("order_placed_buy_limit.json"))
    assert order.id == "1713462436651008"
    assert order.created_at == datetime(2023, 11, 28, 12, 0, 32, 445000, tzinfo=UTC)
    assert order.side is Side.BUY
    assert order.price == Decimal("37500") and order.amount == Decimal("0.01000000")
    assert order.client_order_id == "my-bot-0001"
    assert order.market == "BTC/USD"


def test_order_placed_falls_back_to_currency_pair() -> None:
    order = OrderPlaced.from_wire(load("order_placed_sell_market.json"))
    assert order.market == "XRP/BTC"
    assert order.client_order_id is None
    assert order.side is Side.SELL
    assert order.created_at == datetime(2019, 1, 31, 21, 23, 36, tzinfo=UTC)
    assert order.price == Decimal("0.00007360")


def test_order_placed_integer_id_becomes_exact_string() -> None:
    wire = load("order_placed_buy_limit.json")
    wire["id"] = 2**53 + 1
    assert OrderPlaced.from_wire(wire).id == "9007199254740993"


def test_open_orders() -> None:
    first, second = (OpenOrder.from_wire(row) for row in load("open_orders.json"))
    assert first.amount == Decimal("0.00600000")
    assert first.amount_at_create == Decimal("0.01000000")
    assert first.limit_price is None and first.client_order_id == "my-bot-0001"
    assert first.created_at.tzinfo is UTC
    assert second.side is Side.SELL and second.market == "XRP/EUR"
    assert second.limit_price == Decimal("0.54000")
    assert second.amount_at_create is None and second.client_order_id is None


def test_order_status_with_fills_keyed_by_currency() -> None:
    # The recorded answer carries one amount as a JSON number, as Bitstamp's fills can.
    with pytest.raises(MalformedFieldError, match=r"at transactions\[1\]\.btc: .*float"):
        OrderStatus.from_wire(load("order_status.json"))
    status = OrderStatus.from_wire(load_exact("order_status.json"))
    assert status.id == "1713462436651008"
    assert status.status is OrderState.OPEN
    assert status.side is Side.BUY
    assert status.market == "BTC/USD"
    assert status.amount_remaining == Decimal("0.00600000")
    assert status.client_order_id == "my-bot-0001"
    first, second = status.transactions
    assert first == OrderFill(
        id="311482101",
        timestamp=datetime(2023, 11, 28, 12, 0, 32, 445000, tzinfo=UTC),
        price=Decimal("37500"),
        fee=Decimal("0.22500"),
        base_amount=Decimal("0.00300000"),
        counter_amount=Decimal("112.50"),
        transaction_type=2,
        amounts={"btc": Decimal("0.00300000"), "usd": Decimal("112.50")},
    )
    # A JSON-number amount decoded exactly is kept exactly.
    assert second.base_amount == Decimal("0.001")
    assert str(second.base_amount) == "0.001"
    assert second.id == "9007199254740993"
    assert second.timestamp == datetime(2023, 11, 28, 12, 0, 40, 500000, tzinfo=UTC)


def test_order_status_legacy_shape_without_datetime_and_type() -> None:
    status = OrderStatus.from_wire(load("order_status_finished_legacy.json"))
    assert status.status is OrderState.FINISHED
    assert status.created_at is None and status.side is None and status.market is None
    (fill,) = status.transactions
    # Without the market the base/counter roles are unknown, but no amount is lost.
    assert fill.base_amount is None and fill.counter_amount is None
    assert fill.amounts == {"xrp": Decimal("300.00000000"), "eur": Decimal("165.03000")}
    row = load("order_status_finished_legacy.json")["transactions"][0]
    with_market = OrderFill.from_wire(row, market="XRP/EUR")
    assert with_market.base_amount == Decimal("300.00000000")
    assert with_market.counter_amount == Decimal("165.03000")


def test_order_fill_of_perp_market() -> None:
    fill = OrderFill.from_wire(
        {"tid": 1, "price": "37500", "btc": "0.1", "usd": "3750", "fee": "1", "datetime": "1"},
        market="BTC/USD-PERP",
    )
    assert (fill.base_amount, fill.counter_amount) == (Decimal("0.1"), Decimal("3750"))


def test_order_status_unknown_state_is_rejected() -> None:
    wire = load("order_status.json")
    wire["status"] = "Exploded"
    with pytest.raises(MalformedFieldError, match="OrderStatus answer, at status: unknown"):
        OrderStatus.from_wire(wire)


def test_order_status_omitted_transactions() -> None:
    wire = load("order_status.json")
    del wire["transactions"]
    assert OrderStatus.from_wire(wire).transactions == ()


def test_cancel_order_numbers_are_exact() -> None:
    canceled = CanceledOrder.from_wire(load_exact("cancel_order.json"))
    assert canceled == CanceledOrder(
        id="1713462436651008",
        price=Decimal("37500"),
        amount=Decimal("0.006"),
        side=Side.BUY,
        market="BTC/USD",
    )


def test_cancel_all_orders() -> None:
    result = CancelAllResult.from_wire(load_exact("cancel_all_orders.json"))
    assert result.success is True
    assert [order.id for order in result.canceled] == ["1713462436651008", "1713462490361856"]
    assert result.canceled[1].price == Decimal("0.5501")
    assert str(result.canceled[1].amount) == "300.0"  # spelled as sent
    assert result.canceled[1].side is Side.SELL
    assert result.canceled[1].market == "XRP/EUR"
    assert CancelAllResult.from_wire({"canceled": [], "success": False}).success is False
    for not_a_bool in ("true", 1, None):  # was read as False, silently
        with pytest.raises(MalformedFieldError, match="at success: expected true or false"):
            CancelAllResult.from_wire({"canceled": [], "success": not_a_bool})


def test_websocket_token_is_hidden_from_repr() -> None:
    token = WebSocketToken.from_wire(load("websockets_token.json"))
    assert token.token == "siPaT4m6VGQCdsDCVbLBemiphHQs552e"
    assert token.user_id == "4848701"
    assert token.valid_sec == 60
    assert "siPaT4m6" not in repr(token)
    assert "siPaT4m6" not in str(token)
    assert repr(token) == "WebSocketToken(user_id='4848701', valid_sec=60)"


def test_error_messages_do_not_echo_the_payload() -> None:
    wire = load("websockets_token.json")
    del wire["valid_sec"]
    with pytest.raises(MalformedFieldError, match="WebSocketToken") as info:
        WebSocketToken.from_wire(wire)
    assert "siPaT4m6" not in str(info.value)
    wire = load("websockets_token.json")
    wire["token"] = wire["token"] + " \n"  # a bad token is refused without being shown
    with pytest.raises(MalformedFieldError, match="at token") as info:
        WebSocketToken.from_wire(wire)
    assert "siPaT4m6" not in str(info.value) and "siPaT4m6" not in repr(info.value)


# --- Datetime forms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2019-01-31 21:23:36", datetime(2019, 1, 31, 21, 23, 36, tzinfo=UTC)),
        ("2021-11-25 12:59:59.322000", datetime(2021, 11, 25, 12, 59, 59, 322000, tzinfo=UTC)),
        ("2021-11-25 12:59:59.32", datetime(2021, 11, 25, 12, 59, 59, 320000, tzinfo=UTC)),
        ("2025-10-17T14:23:01.725000Z", datetime(2025, 10, 17, 14, 23, 1, 725000, tzinfo=UTC)),
        ("2025-10-17T16:23:01+02:00", datetime(2025, 10, 17, 14, 23, 1, tzinfo=UTC)),
        ("1646127778", datetime(2022, 3, 1, 9, 42, 58, tzinfo=UTC)),
        ("2021-11-25 12:59:59.000001", datetime(2021, 11, 25, 12, 59, 59, 1, tzinfo=UTC)),
        ("2024-02-29 00:00:00", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_private_datetime_forms(wire: str, expected: datetime) -> None:
    parsed = _wire.utc_datetime(wire)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_odd_fraction_lengths() -> None:
    # Python 3.10's fromisoformat rejects 1-, 2-, 4- and 5-digit fractions; these are read.
    expected = datetime(2021, 11, 25, 12, 59, 59, 500000, tzinfo=UTC)
    assert _wire.utc_datetime("2021-11-25 12:59:59.5") == expected
    assert _wire.utc_datetime("2021-11-25 12:59:59.50000") == expected


@pytest.mark.parametrize(
    "wire",
    [
        "yesterday",
        "",
        "2021-02-30 00:00:00",  # no such day
        "2021-11-25 24:00:00",
        "2021-11-25 12:59:59.1234567",  # a 7th digit would be rounded away
        "2021-11-25 12:59:59+24:00",
        "0000-01-01 00:00:00",
        "0001-01-01 00:00:00+01:00",  # before datetime's range once made UTC
        "9999-12-31 23:59:59-01:00",  # after it
        "\u0662\u0660\u0662\u0661-11-25 12:59:59",  # non-ASCII digits
        "2021-11-25",
        " 2021-11-25 12:59:59",
        "2021-W47-4 12:59:59",  # an ISO week date, which fromisoformat alone would read
        "2021-11-25 12:59:5\u0669",  # a non-ASCII digit where the shape wants one
        "2021-11-25\u00a012:59:59",
        "2021-11-25 12:59:59.",
        "99999999999999",  # unix seconds after year 9999
        "-1",
        1.5,
        True,
        None,
        ["2021-11-25 12:59:59"],
        2**70,
    ],
)
def test_private_datetime_refuses_what_it_cannot_read_exactly(wire: Any) -> None:
    with pytest.raises(MalformedFieldError):
        _wire.utc_datetime(wire)


# --- The wire primitives: what they take, what they refuse (issue 6, defects 6 and 8) -------


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("37991.00", "37991.00"),
        ("-0.00500000", "-0.00500000"),
        ("1E-8", "1E-8"),
        ("1.5e+2", "1.5E+2"),
        (0, "0"),
        (-5, "-5"),
        (2**64, "18446744073709551616"),
        (Decimal("123456789.12345678"), "123456789.12345678"),
        # 29 significant digits: more than Decimal's context precision, kept, not rounded.
        ("1.1234567890123456789012345678", "1.1234567890123456789012345678"),
        (Decimal("0.0000000000000000000000000001"), "1E-28"),
    ],
)
def test_decimal_keeps_every_digit(wire: Any, expected: str) -> None:
    parsed = _wire.decimal(wire)
    assert type(parsed) is Decimal
    assert str(parsed) == expected


@pytest.mark.parametrize(
    "wire",
    [
        0.1,  # a float has already lost digits; decode with loads_exact
        8302.92,
        True,
        False,
        None,
        "",
        "-",
        ".",
        "1.2.3",
        "--5",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "sNaN",
        "1e999999",
        "1e100",  # three exponent digits
        " 1",
        "1 ",
        "1\n",
        "1_000",
        "+1",
        "0x10",
        "\u0661\u0662",
        "\uff11",
        "\u00b2",
        "9" * 101,
        10**100,
        -(10**100),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("1E+999999"),
        Decimal("1E-999999"),
        Decimal("1" * 101),
        [],
        ["1"],
        {},
    ],
)
def test_decimal_refuses_what_is_not_an_exact_plain_number(wire: Any) -> None:
    with pytest.raises(MalformedFieldError) as info:
        _wire.decimal(wire)
    assert isinstance(info.value, UnexpectedResponseError)
    assert "got " in str(info.value)


def test_float_refusal_says_how_to_fix_it() -> None:
    with pytest.raises(MalformedFieldError, match=r"got a float \(decode with loads_exact\)"):
        _wire.decimal(0.1)


@pytest.mark.parametrize(
    ("primitive", "good", "bad"),
    [
        (
            _wire.identifier,
            ["1713462436651008", 0, 2**64 - 1, "0b4a2b04-3e6c"],
            ["", "has space", "tab\t", "\u00e9", "x" * 129, -1, 2**64, True, 1.0, None, []],
        ),
        (_wire.text, ["", "BTC/USD", "\u20bf"], [None, 5, True, [], "\ud800"]),
        (
            _wire.currency_code,
            ["usd", "BTC", "1inch"],
            ["", "us d", "u$d", "\u00fcsd", None, 5, "x" * 21],
        ),
        (
            _wire.integer,
            [0, 8, "8", 2**63 - 1],
            [-1, 2**63, True, 8.0, "8.0", "-1", "\u0668", "", None, "9" * 20],
        ),
        (_wire.boolean, [True, False], [1, 0, "true", None, "True"]),
        (
            _wire.enabled,
            [True, "Enabled", "enabled", "Disabled", "Suspended"],
            [None, 1, 0, [], {}],
        ),
        (
            _wire.unix_seconds,
            [0, "1701172832", 253402300799],
            [-1, "-1", 253402300800, "1701172832.5", 1701172832.0, True, "\u0661", None],
        ),
        (
            _wire.unix_micros,
            [0, "1701172832004321"],
            [-1, 253402300800 * 10**6, 1.5, True, "1e6", None],
        ),
        (_wire.array, [[], [1]], [None, "[]", (), {}]),
    ],
)
def test_primitives_take_exact_types_only(
    primitive: Callable[[Any], Any], good: list[Any], bad: list[Any]
) -> None:
    for value in good:
        primitive(value)
    for value in bad:
        with pytest.raises(MalformedFieldError):
            primitive(value)


def test_enabled_reads_an_unknown_status_as_not_enabled() -> None:
    # An unknown status must not let orders through; a wrong type is refused above.
    assert _wire.enabled("Suspended") is False
    assert _wire.enabled("ENABLED") is True


@pytest.mark.parametrize("currency", [None, 5, "", "us d", True, ["usd"]])
def test_balance_refuses_a_currency_that_is_not_a_code(currency: Any) -> None:
    wire = load("account_balance_btc.json")
    wire["currency"] = currency
    with pytest.raises(MalformedFieldError, match="Balance answer, at currency: expected"):
        Balance.from_wire(wire)


@pytest.mark.parametrize("field", ["total", "available", "reserved"])
@pytest.mark.parametrize("value", [True, 1.5, None, "1e999999", "\u0661", [], {}])
def test_balance_refuses_a_number_of_the_wrong_shape(field: str, value: Any) -> None:
    wire = load("account_balance_btc.json")
    wire[field] = value
    with pytest.raises(MalformedFieldError, match=f"Balance answer, at {field}: "):
        Balance.from_wire(wire)


def test_fields_reader_names_nested_paths() -> None:
    fields = _wire.Fields("Outer", {"a": {"b": [{"c": "1"}, {"c": "x"}]}, "n": None})
    inner = fields.object("a")
    with pytest.raises(MalformedFieldError, match=r"^malformed Outer answer, at a\.b\[1\]\.c: "):
        inner.required(
            "b", _wire.tuple_of(lambda row: _wire.Fields("Row", row).required("c", _wire.decimal))
        )
    with pytest.raises(MalformedFieldError, match=r"at a\.missing: missing"):
        inner.required("missing", _wire.text)
    assert fields.optional("n", _wire.decimal) is None
    assert fields.optional("absent", _wire.decimal) is None
    with pytest.raises(MalformedFieldError, match=r"at n: expected a plain|got null"):
        fields.required("n", _wire.decimal)
    with pytest.raises(MalformedFieldError, match="expected an object, got a list"):
        _wire.Fields("Outer", [])


def test_legacy_try_blocks_still_name_the_model() -> None:
    # Code written as `try: ... except wire.PARSE_ERRORS as exc: wire.malformed(cls, exc)`.
    def parse(obj: Any) -> Decimal:
        try:
            return _wire.decimal(obj["price"])
        except _wire.PARSE_ERRORS as exc:
            _wire.malformed("Legacy", exc)

    with pytest.raises(MalformedFieldError, match=r"^malformed Legacy answer, at price: missing$"):
        parse({})
    with pytest.raises(MalformedFieldError, match=r"^malformed Legacy answer: expected a plain"):
        parse({"price": "x"})
    with pytest.raises(
        MalformedFieldError, match=r"^malformed Legacy answer: unreadable \(TypeError\)$"
    ):
        parse("a string, not an object")


def test_positional_constructor_builds_what_the_dataclass_builds() -> None:
    import dataclasses
    from datetime import datetime, timezone

    from aiobitstamp._models import OrderPlaced, Side
    from aiobitstamp._models._wire import positional_constructor

    build = positional_constructor(OrderPlaced)
    values = {
        "id": "1",
        "created_at": datetime(2026, 1, 2, tzinfo=timezone.utc),
        "side": Side.SELL,
        "price": Decimal("1.50"),
        "amount": Decimal("2"),
        "client_order_id": "c",
        "market": "BTC/USD",
        "reconciled": False,
    }
    built = build(*values.values())
    expected = OrderPlaced(**values)
    assert type(built) is OrderPlaced
    assert built == expected and hash(built) == hash(expected) and repr(built) == repr(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.price = Decimal(0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        build(*list(values.values())[:-1])  # every field, always


def test_positional_constructor_refuses_what_it_cannot_build_faithfully() -> None:
    import dataclasses

    from aiobitstamp._models._wire import positional_constructor

    @dataclasses.dataclass(slots=True)
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, NoSlots, Checked):
        with pytest.raises(TypeError):
            positional_constructor(cls)


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "3677913551212544", "datetime": "2026-11-28 08:57:06.178692", "type": "0",
         "price": "50863", "amount": "0.00100000", "client_order_id": "c8", "market": "BTC/USD"},
        {"id": 18446744073709551615, "datetime": "2026-11-28 08:57:06", "type": 1,
         "price": "1.5", "amount": "2", "currency_pair": "BTC/EUR"},
        {"id": "1", "datetime": 1583691851, "type": "sell", "price": 3, "amount": "0.1",
         "client_order_id": "", "market": "", "currency_pair": "ETH/USD"},
        {"id": "1", "datetime": "2021-11-25T12:59:59.32Z", "type": "0", "price": "1",
         "amount": "1", "client_order_id": None},
    ],
)  # fmt: skip
def test_order_placed_fast_path_reads_as_the_field_by_field_path(payload: dict[str, Any]) -> None:
    import dataclasses

    from aiobitstamp._models import OrderPlaced

    class Careful(OrderPlaced):  # a subclass always takes the field-by-field path
        __slots__ = ()

    assert dataclasses.asdict(OrderPlaced.from_wire(payload)) == dataclasses.asdict(
        Careful.from_wire(payload)
    )


# --- OrderPlaced: price and amount made Decimal when read --------------------------------

_PLACED = {
    "id": "3677913551212544", "datetime": "2026-11-28 08:57:06.178692", "type": "0",
    "price": "50863.10", "amount": "0.00100000", "client_order_id": "c8", "market": "BTC/USD",
}  # fmt: skip


def test_order_placed_price_and_amount_are_exact_decimals_however_read() -> None:
    import copy
    import dataclasses
    import pickle

    from aiobitstamp._models import OrderPlaced

    def placed() -> OrderPlaced:
        return OrderPlaced.from_wire(dict(_PLACED))

    order = placed()
    assert order.created_at == datetime(2026, 11, 28, 8, 57, 6, 178692, tzinfo=UTC)
    assert order.created_at.tzinfo is not None and order.created_at is order.created_at
    assert type(order.price) is Decimal and str(order.price) == "50863.10"
    assert type(order.amount) is Decimal and str(order.amount) == "0.00100000"
    assert order.price is order.price  # made once, then kept
    # Each of these on an order whose values were never read:
    assert placed() == order and hash(placed()) == hash(order)
    assert "price=Decimal('50863.10')" in repr(placed())
    assert dataclasses.asdict(placed())["amount"] == Decimal("0.00100000")
    assert type(dataclasses.asdict(placed())["amount"]) is Decimal
    assert pickle.loads(pickle.dumps(placed())) == order
    assert type(pickle.loads(pickle.dumps(placed())).price) is Decimal
    assert copy.copy(placed()).price == Decimal("50863.10")
    assert dataclasses.replace(placed(), amount=Decimal(2)).price == Decimal("50863.10")
    match placed():
        case OrderPlaced(price=price):
            assert type(price) is Decimal
    with pytest.raises(dataclasses.FrozenInstanceError):
        placed().price = Decimal(1)  # type: ignore[misc]
    # Built by hand with text that is no number or time: handed back as given, and
    # repr() does not raise.
    odd = dataclasses.replace(order, price="n/a", created_at="yesterday")  # type: ignore[arg-type]
    assert odd.price == "n/a" and odd.created_at == "yesterday"
    assert "price='n/a'" in repr(odd)


@pytest.mark.parametrize(
    "price",
    ["NaN", "Infinity", "1e999999", "\u0661", "1_000", " 1", "", ".", "-", "1.2.3", "0x10",
     True, 1.5, None, [1], {"v": 1}],
)  # fmt: skip
def test_order_placed_refuses_a_malformed_price_with_the_answer(price: object) -> None:
    from aiobitstamp._models import OrderPlaced

    with pytest.raises(MalformedFieldError, match="price"):
        OrderPlaced.from_wire({**_PLACED, "price": price})


@pytest.mark.parametrize(
    "when",
    ["2021-02-29 00:00:00", "2021-13-01 00:00:00", "2021-04-31 00:00:00", "0000-01-01 00:00:00",
     "2021-01-01 24:00:00", "2021-01-01 00:60:00", "2021-01-01 00:00:60", "2021-00-10 00:00:00",
     "2021-01-00 00:00:00", "1900-02-29 00:00:00.000000"],
)  # fmt: skip
def test_order_placed_refuses_a_time_that_does_not_exist_with_the_answer(when: str) -> None:
    from aiobitstamp._models import OrderPlaced

    with pytest.raises(MalformedFieldError, match="datetime"):
        OrderPlaced.from_wire({**_PLACED, "datetime": when})


def test_the_text_check_of_a_time_agrees_with_datetime_everywhere() -> None:
    """Every month, days 00 to 32, leap and common years (1900, 2000, 2023, 2024), the
    first and last years, and times at and past each limit: the check deferring a time
    lets through exactly what datetime itself accepts."""
    from aiobitstamp._models._wire import _is_real_time

    years = ["0000", "0001", "1900", "2000", "2023", "2024", "9999"]
    times = ["00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "19:99:00"]
    checked = 0
    for year in years:
        for month in range(0, 14):
            for day in range(0, 33):
                for clock in times:
                    for fraction in ("", ".000000", ".999999"):
                        text = f"{year}-{month:02d}-{day:02d} {clock}{fraction}"
                        try:
                            datetime.fromisoformat(text + "+00:00")
                            exists = True
                        except ValueError:
                            exists = False
                        assert _is_real_time(text) is exists, text
                        checked += 1
    assert checked == 7 * 14 * 33 * 6 * 3
