"""The emulator's public market data: books, candles, trades, tickers, catalogue."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from aiobitstamp.testing import FakeBitstamp, Switches
from tests.test_testing import NOW, Clock, Signer

D = Decimal


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def api(clock: Clock, session: aiohttp.ClientSession) -> AsyncIterator[Signer]:
    async with FakeBitstamp(rate_limits=None, wall_clock=clock) as fake:
        yield Signer.of(fake, session, "unused", "unused")


async def get(api: Signer, endpoint: str) -> Any:
    reply = await api.get(endpoint)
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == "application/json"
    return reply.json()


# -- order book --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pair", "price_pattern"),
    [("btcusd", r"[1-9]\d*"), ("ethusd", r"[1-9]\d*\.\d"), ("xrpusd", r"0\.\d{5}")],
)
async def test_main_books_are_deep_sorted_and_exact(
    api: Signer, pair: str, price_pattern: str
) -> None:
    book = await get(api, f"order_book/{pair}/")
    # The snapshot carries the time of the last change applied to it: after genesis (the
    # minute started before NOW), never after now.
    micro = int(book["microtimestamp"])
    assert int(NOW) // 60 * 60 * 10**6 < micro <= int(NOW * 1e6)
    assert book["timestamp"] == str(micro // 10**6)
    bids, asks = book["bids"], book["asks"]
    # The default book_depth, give or take what the first seconds of flow changed.
    assert 4990 <= len(bids) <= 5010 and 4990 <= len(asks) <= 5010
    for rows in (bids, asks):
        for price, amount in rows:
            assert re.fullmatch(price_pattern, price), price
            assert re.fullmatch(r"\d+\.\d{8}", amount) and D(amount) > 0, amount
    bid_prices = [D(p) for p, _ in bids]
    ask_prices = [D(p) for p, _ in asks]
    assert bid_prices == sorted(bid_prices, reverse=True) and len(set(bid_prices)) == len(bids)
    assert ask_prices == sorted(ask_prices) and len(set(ask_prices)) == len(asks)
    assert bid_prices[0] < ask_prices[0]
    ticker = await get(api, f"ticker/{pair}/")
    assert (ticker["bid"], ticker["ask"]) == (bids[0][0], asks[0][0])


async def test_groups_zero_and_two_list_orders_that_group_one_aggregates(api: Signer) -> None:
    levels = await get(api, "order_book/btcusd/?group=1")
    orders = await get(api, "order_book/btcusd/?group=0")
    detailed = await get(api, "order_book/btcusd/")
    assert detailed == levels  # group 1 is the default
    with_ids = await get(api, "order_book/btcusd/?group=2")
    for side in ("bids", "asks"):
        assert len(orders[side]) > len(levels[side])
        totals: Counter[str] = Counter()
        for price, amount in orders[side]:
            totals[price] += int(D(amount) * 10**8)
        assert [[p, f"{D(totals[p]) / 10**8:.8f}"] for p, _ in levels[side]] == levels[side]
        assert [row[:2] for row in with_ids[side]] == orders[side]
        ids = [row[2] for row in with_ids[side]]
        assert all(re.fullmatch(r"[1-9]\d{15}", i) for i in ids) and len(set(ids)) == len(ids)
    reply = await api.get("order_book/btcusd/?group=3")
    assert reply.status == 400
    assert reply.json() == {
        "status": "error",
        "reason": "Invalid GET parameter.",
        "response_code": "400.001",
    }


async def test_books_are_deterministic_per_seed(session: aiohttp.ClientSession) -> None:
    sides = []
    for seed in (7, 7, 8):
        async with FakeBitstamp(seed=seed, book_depth=50, wall_clock=Clock()) as fake:
            api = Signer.of(fake, session, "k", "s")
            levels = await get(api, "order_book/ethbtc/")
            assert 45 <= len(levels["bids"]) <= 55 and 45 <= len(levels["asks"]) <= 55
            book = await get(api, "order_book/ethbtc/?group=2")
            sides.append((book["bids"], book["asks"]))
    assert sides[0] == sides[1]
    assert sides[0] != sides[2]


async def test_coarse_tick_books_stay_positive_and_within_range(api: Signer) -> None:
    book = await get(api, "order_book/ltcusd/")  # 80 USD with a 0.01 tick: 2,000 ticks room
    prices = [D(p) for p, _ in book["bids"]] + [D(p) for p, _ in book["asks"]]
    assert 0 < len(book["bids"]) <= 5000
    assert all(D("59") < p < D("101") for p in prices)


# -- candles -----------------------------------------------------------------------------


async def test_overlapping_ohlc_pages_agree_exactly(api: Signer) -> None:
    start = int(NOW) - int(NOW) % 300 - 100 * 300
    first = (await get(api, f"ohlc/btcusd/?step=300&limit=40&start={start}"))["data"]
    second = (await get(api, f"ohlc/btcusd/?step=300&limit=40&start={start + 20 * 300}"))["data"]
    assert (first["pair"], len(first["ohlc"]), len(second["ohlc"])) == ("BTC/USD", 40, 40)
    assert first["ohlc"][20:] == second["ohlc"][:20]
    candles = first["ohlc"]
    assert [int(c["timestamp"]) for c in candles] == [start + 300 * i for i in range(40)]
    for candle, following in itertools.pairwise(candles):
        assert candle["close"] == following["open"]  # one continuous price path
    for c in candles:
        low, high = D(c["low"]), D(c["high"])
        assert low <= min(D(c["open"]), D(c["close"])) <= max(D(c["open"]), D(c["close"])) <= high
        assert re.fullmatch(r"\d+\.\d{8}", c["volume"])


async def test_ohlc_windows_align_to_step_and_respect_start_end_and_now(api: Signer) -> None:
    hour = (await get(api, "ohlc/btcusd/?step=3600&limit=5"))["data"]["ohlc"]
    newest = int(NOW) - int(NOW) % 3600
    assert [int(c["timestamp"]) for c in hour] == [newest - 3600 * i for i in range(4, -1, -1)]
    closed = await get(api, "ohlc/btcusd/?step=3600&limit=5&exclude_current_candle=true")
    assert closed["data"]["ohlc"][1:] == hour[:-1]  # the open candle left, one older came in

    end = newest - 10 * 3600 + 1234  # not aligned: the candle containing it is the last
    ending = (await get(api, f"ohlc/btcusd/?step=3600&limit=3&end={end}"))["data"]["ohlc"]
    assert [int(c["timestamp"]) for c in ending] == [newest - 3600 * i for i in (12, 11, 10)]
    start = newest - 5 * 3600 - 1  # not aligned: the first candle at or after it
    starting = await get(api, f"ohlc/btcusd/?step=3600&limit=3&start={start}")
    assert [int(c["timestamp"]) for c in starting["data"]["ohlc"]] == [
        newest - 3600 * i for i in (5, 4, 3)
    ]
    # Both: "if both start and end are posted, end will be used" -- start is ignored.
    bounded = await get(
        api, f"ohlc/btcusd/?step=3600&limit=10&start={start}&end={newest - 3 * 3600}"
    )
    assert [int(c["timestamp"]) for c in bounded["data"]["ohlc"]] == [
        newest - 3600 * i for i in range(12, 2, -1)
    ]
    future = await get(api, f"ohlc/btcusd/?step=60&limit=10&start={int(NOW) + 600}")
    assert future["data"]["ohlc"] == []


async def test_ohlc_start_wins_switch_reads_start_capped_at_end(
    session: aiohttp.ClientSession,
) -> None:
    switches = Switches(ohlc_start_wins=True)
    async with FakeBitstamp(rate_limits=None, wall_clock=Clock(), switches=switches) as fake:
        api = Signer.of(fake, session, "unused", "unused")
        newest = int(NOW) - int(NOW) % 3600
        start, end = newest - 5 * 3600 - 1, newest - 3 * 3600
        bounded = await get(api, f"ohlc/btcusd/?step=3600&limit=10&start={start}&end={end}")
        assert [int(c["timestamp"]) for c in bounded["data"]["ohlc"]] == [
            newest - 3600 * i for i in (5, 4, 3)
        ]
        fake.switches.ohlc_start_wins = False  # switchable while serving
        bounded = await get(api, f"ohlc/btcusd/?step=3600&limit=2&start={start}&end={end}")
        assert [int(c["timestamp"]) for c in bounded["data"]["ohlc"]] == [end - 3600, end]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("limit=10", {"step": ["Missing data for required field."]}),
        ("step=60", {"limit": ["Missing data for required field."]}),
        ("step=120&limit=10", {"step": ["Not a valid choice."]}),
        ("step=60&limit=0", {"limit": ["Must be between 1 and 1000."]}),
        ("step=60&limit=1001", {"limit": ["Must be between 1 and 1000."]}),
        (
            "step=sixty&limit=x",
            {"step": ["Not a valid integer."], "limit": ["Not a valid integer."]},
        ),
        ("step=60&limit=5&start=yesterday", {"start": ["Not a valid integer."]}),
        (
            "step=60&limit=5&exclude_current_candle=maybe",
            {"exclude_current_candle": ["Not a valid boolean."]},
        ),
    ],
)
async def test_ohlc_parameters_are_validated(
    api: Signer, query: str, reason: dict[str, Any]
) -> None:
    reply = await api.get(f"ohlc/btcusd/?{query}")
    assert reply.status == 400
    assert reply.json() == {"status": "error", "reason": reason, "response_code": "400.001"}


# -- trades and tickers ------------------------------------------------------------------


async def test_transactions_are_newest_first_within_their_window(api: Signer) -> None:
    windows = {}
    for time, seconds in (("minute", 60), ("hour", 3600), ("day", 86400)):
        rows = await get(api, f"transactions/btcusd/?time={time}")
        dates = [int(r["date"]) for r in rows]
        assert rows and all(NOW - seconds < d <= NOW for d in dates)
        assert dates == sorted(dates, reverse=True)
        assert all(set(r) == {"date", "tid", "amount", "type", "price"} for r in rows)
        assert {r["type"] for r in rows} <= {"0", "1"}
        windows[time] = rows
    assert await get(api, "transactions/btcusd/") == windows["hour"]
    assert windows["hour"][: len(windows["minute"])] == windows["minute"]
    assert len(windows["day"]) > 1000
    assert len({r["tid"] for r in windows["day"]}) == len(windows["day"])
    reply = await api.get("transactions/btcusd/?time=week")
    assert (reply.status, reply.json()["response_code"]) == (400, "400.001")


async def test_tickers_are_strings_consistent_with_trades(api: Signer, clock: Clock) -> None:
    ticker = await get(api, "ticker/btcusd/")
    assert set(ticker) == {
        "timestamp", "open", "high", "low", "last", "volume", "vwap", "bid", "ask",
        "side", "open_24", "percent_change_24", "market_type",
    }  # fmt: skip
    assert all(isinstance(value, str) for value in ticker.values())
    newest = (await get(api, "transactions/btcusd/?time=minute"))[0]
    assert (ticker["last"], ticker["side"]) == (newest["price"], newest["type"])
    assert D(ticker["low"]) <= D(ticker["last"]) <= D(ticker["high"])
    change = (D(ticker["last"]) - D(ticker["open_24"])) * 100 / D(ticker["open_24"])
    assert ticker["percent_change_24"] == f"{change:.2f}"
    hourly = await get(api, "ticker_hour/btcusd/")
    assert "open_24" not in hourly and hourly["last"] == ticker["last"]
    everything = await get(api, "ticker/")
    assert [row["pair"] for row in everything] == [
        "BTC/USD", "BTC/EUR", "ETH/USD", "ETH/EUR", "ETH/BTC",
        "XRP/USD", "LTC/USD", "USDC/USD", "SOL/USD",
    ]  # fmt: skip
    assert {k: v for k, v in everything[0].items() if k != "pair"} == ticker
    reply = await api.get("ticker/btcusd/?x=1")
    assert reply.json() == {
        "status": "error",
        "reason": "GET parameters not allowed for this request.",
        "response_code": "400.018",
    }
    clock.now += 3600
    assert (await get(api, "ticker/btcusd/"))["timestamp"] == str(int(NOW) + 3600)


# -- catalogue ---------------------------------------------------------------------------


async def test_catalogue_endpoints(api: Signer) -> None:
    markets = {m["market_symbol"]: m for m in await get(api, "markets/")}
    assert markets["btcusd"] == {
        "name": "BTC/USD",
        "market_symbol": "btcusd",
        "base_currency": "BTC",
        "base_decimals": 8,
        "counter_currency": "USD",
        "counter_decimals": 0,
        "minimum_order_value": "10",
        "trading": "Enabled",
        "instant_order_counter_decimals": 2,
        "instant_and_market_orders": "Enabled",
        "description": "Bitcoin / U.S. dollar",
        "market_type": "SPOT",
    }
    assert markets["btcusd-perp"]["market_type"] == "PERPETUAL"
    assert markets["btcusd-perp"]["name"] == "BTC/USD-PERP"
    assert markets["ethbtc"]["minimum_order_value"] == "0.0002"
    pairs = {p["url_symbol"]: p for p in await get(api, "trading-pairs-info/")}
    assert "btcusd-perp" not in pairs
    assert (pairs["btcusd"]["counter_decimals"], pairs["btcusd"]["minimum_order"]) == (
        2,
        "10.0 USD",
    )
    assert set(pairs) == set(markets) - {"btcusd-perp"}
    currencies = {c["currency"]: c for c in await get(api, "currencies/")}
    assert currencies["BTC"]["decimals"] == 8 and currencies["USD"]["type"] == "fiat"
    assert currencies["BTC"]["networks"][0]["network"] == "bitcoin"
    rate = await get(api, "eur_usd/")
    assert D(rate["sell"]) < D(rate["buy"])
    vasps = await get(api, "travel_rule/vasps/")
    assert vasps["pagination"] == {"page": 1, "size": 100, "count": 250}
    assert len(vasps["data"]) == 100
    last = await get(api, "travel_rule/vasps/?page=3&per_page=100")
    assert [row["name"] for row in last["data"]] == [f"VASP {i:03d}" for i in range(200, 250)]
