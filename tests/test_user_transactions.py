"""user_transactions: rows typed by kind with every column exact, checks before sending, and
walks that give every row exactly once while the exchange keeps adding rows.

Most tests run against ``Ledger``, a MockTransport handler that answers like Bitstamp's
documented ``user_transactions/`` (offset <= 200,000, limit <= 1000, since_id forcing 1000,
timestamps at most 30 days old) and can add rows after every page, cap its pages, or refuse
deep offsets. The last tests run against the emulator.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest

from aiobitstamp import (
    BadRequestError,
    BitstampError,
    Client,
    InvalidParameterError,
    MockTransport,
    Request,
    Response,
    Side,
    UnexpectedResponseError,
)
from aiobitstamp._api import account as account_api
from aiobitstamp._models import TransactionType, UserTransaction

from .test_client import BASE, KEY, SECRET, exchange, json_response, paths

NOW = 1_790_000_000  # the wall clock of the client and of Ledger in every test
DAY = 86_400
UTC = timezone.utc
PATH = "/api/v2/user_transactions/"


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def wire_time(seconds: int) -> str:
    return at(seconds).strftime("%Y-%m-%d %H:%M:%S.%f")


def bad_request(code: str, reason: str) -> Response:
    return json_response({"status": "error", "reason": reason, "response_code": code}, 400)


@dataclass
class Ledger:
    """A fake ``user_transactions/`` endpoint over ascending ids (and times)."""

    first_time: int = NOW - 10 * DAY
    step: int = 60  # seconds between two rows
    cap: int | None = None  # rows per page at most, whatever limit says
    arrivals: int = 0  # rows added after each page is answered
    arrival_pages: int | None = None  # rows arrive after this many pages only (None: all)
    same_second: bool = False  # arrivals carry the newest row's time, not a later one
    max_offset: int = 200_000
    max_requests: int = 300  # a walk that never ends fails instead of hanging
    rows: list[dict[str, Any]] = field(default_factory=list)
    forms: list[dict[str, str]] = field(default_factory=list)
    served: list[list[int]] = field(default_factory=list)
    existing: list[list[int]] = field(default_factory=list)  # ids present at each request
    next_id: int = 1_000

    def add(self, count: int) -> None:
        for _ in range(count):
            number = self.next_id
            self.next_id += 1
            if self.same_second and self.rows:
                moment = self.rows[-1]["_time"]
            else:
                moment = self.first_time + self.step * len(self.rows)
            sign = -1 if number % 3 == 0 else 1  # every third row is a sell
            self.rows.append(
                {
                    "id": number,
                    "datetime": wire_time(moment),
                    "type": "2",
                    "fee": "0.12",
                    "usd": f"{-sign * 30}.00",
                    "btc": f"{sign * Decimal('0.00050000')}",
                    "eur": 0,
                    "btc_usd": 60000.5,
                    "order_id": 1_600_000_000_000_000 + number,
                    "_time": moment,
                }
            )

    def ids(self) -> list[int]:
        return [row["id"] for row in self.rows]

    def handle(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode()))
        self.forms.append(form)
        assert len(self.forms) <= self.max_requests, "the walk does not end"
        self.existing.append(self.ids())
        try:
            offset = int(form.get("offset", "0"))
            limit = int(form.get("limit", "100"))
        except ValueError:
            return bad_request("400.010", "Invalid offset.")
        if not 0 <= offset <= self.max_offset:
            return bad_request("400.010", "Invalid offset.")
        if not 1 <= limit <= 1000:
            return bad_request("400.011", "Invalid limit.")
        sort = form.get("sort", "desc")
        since = int(form.get("since_timestamp", "0"))
        until = int(form.get("until_timestamp", str(10**12)))
        for stamp in ("since_timestamp", "until_timestamp"):
            if stamp in form and int(form[stamp]) < NOW - 30 * DAY:
                return bad_request("400.013", f"Invalid {stamp}.")
        since_id = int(form.get("since_id", "0"))
        if "since_id" in form:
            limit = 1000
        if self.cap is not None:
            limit = min(limit, self.cap)
        chosen = [
            row for row in self.rows if since <= row["_time"] <= until and row["id"] >= since_id
        ]
        if sort == "desc":
            chosen.reverse()
        page = chosen[offset : offset + limit]
        self.served.append([row["id"] for row in page])
        body = orjson.dumps([{k: v for k, v in row.items() if k != "_time"} for row in page])
        if self.arrival_pages is None or len(self.forms) <= self.arrival_pages:
            self.add(self.arrivals)
        return Response(200, {"Content-Type": "application/json"}, body)


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


def transport_for(ledger: Ledger) -> MockTransport:
    return exchange({PATH: ledger.handle, "/api/v2/user_transactions/btcusd/": ledger.handle})


@asynccontextmanager
async def client_for(transport: MockTransport) -> AsyncIterator[Client]:
    """A client with keys, no rate limit, and its wall clock fixed at NOW."""
    async with Client(KEY, SECRET, transport=transport, rate_limits=None) as client:
        client._wall_clock = lambda: NOW
        yield client


async def walk(ledger: Ledger, **kwargs: Any) -> list[UserTransaction]:
    async with client_for(transport_for(ledger)) as client:
        return [row async for row in client.iter_user_transactions(**kwargs)]


def numbers(rows: list[UserTransaction]) -> list[int]:
    return [int(row.id) for row in rows]


# ---------------------------------------------------------------------------- the model

# Written by hand: JSON numbers as the exchange sends them (0, 0.0, long decimals), which
# no encoder of Decimal would reproduce.
RAW_PAGE = b"""[
 {"id": 9223372036854775809, "datetime": "2026-09-08 09:00:31.123456", "type": "2",
  "fee": "0.11250", "usd": "1462.50", "btc": "-0.00500000", "eur": 0, "eth": 0.0,
  "gbp": 0.00, "btc_usd": 292500.12345678901234567,
  "order_id": 9007199254740993, "self_trade": true, "self_trade_order_id": 9007199254740995},
 {"id": 7, "datetime": "2026-09-08 09:00:32", "type": 0, "fee": 0,
  "usd": 0, "btc": "0.50000000", "eur": 0.0},
 {"id": 8, "datetime": "2026-09-08 09:00:33", "type": "99", "fee": "0.00", "usd": "-5.00",
  "leverage_rate": "10", "margin_mode": "CROSS", "market": "BTC/USD",
  "client_order_id": "123", "usd_btc_note": "7", "xrp_usd": "0.5"}
]"""


async def page_of(raw: bytes) -> list[UserTransaction]:
    transport = exchange({PATH: lambda r: Response(200, {"Content-Type": "application/json"}, raw)})
    async with client_for(transport) as client:
        return list(await client.user_transactions())


async def test_every_currency_column_is_kept_exactly_as_sent() -> None:
    trade, deposit, _ = await page_of(RAW_PAGE)
    assert {k: str(v) for k, v in trade.amounts.items()} == {
        "usd": "1462.50",
        "btc": "-0.00500000",
        "eur": "0",
        "eth": "0.0",
        "gbp": "0.00",
    }
    assert {k: str(v) for k, v in deposit.amounts.items()} == {
        "usd": "0",
        "btc": "0.50000000",
        "eur": "0.0",
    }
    # Beyond a float's 17 digits, and ids beyond 2**53 and 2**64, all exact.
    assert trade.rate == Decimal("292500.12345678901234567")
    assert trade.id == "9223372036854775809"
    assert trade.order_id == "9007199254740993"
    assert trade.self_trade is True
    assert trade.self_trade_order_id == "9007199254740995"
    assert trade.fee == Decimal("0.11250")
    assert trade.timestamp == datetime(2026, 9, 8, 9, 0, 31, 123456, tzinfo=UTC)
    assert deposit.fee == Decimal(0)


async def test_a_trade_knows_its_market_side_and_both_amounts() -> None:
    trade, deposit, _ = await page_of(RAW_PAGE)
    assert trade.type is TransactionType.MARKET_TRADE and trade.is_trade
    assert trade.market == "btcusd"
    assert (trade.base_currency, trade.counter_currency) == ("btc", "usd")
    assert trade.rates == {"btc_usd": Decimal("292500.12345678901234567")}
    assert trade.side is Side.SELL  # the base column is negative
    assert trade.base_amount == Decimal("-0.005")
    assert trade.counter_amount == Decimal("1462.50")
    assert deposit.type is TransactionType.DEPOSIT and not deposit.is_trade
    assert (deposit.market, deposit.side, deposit.rate, deposit.base_amount) == (
        None,
        None,
        None,
        None,
    )
    buy = UserTransaction.from_wire(
        {"id": 9, "datetime": "2026-09-08 09:00:31", "type": 2, "btc": "0.1", "usd": "-1",
         "btc_usd": "10"}
    )  # fmt: skip
    assert buy.side is Side.BUY


async def test_unknown_codes_and_fields_are_kept_not_mistaken() -> None:
    *_, odd = await page_of(RAW_PAGE)
    assert odd.type.value == 99 and not odd.type.known
    assert odd.type is TransactionType.from_wire(99)  # one member per unknown code
    assert odd.type.name == "UNKNOWN_99"
    # Numeric fields that are not currencies, and a rate whose currencies the row does not
    # carry, are neither amounts nor a market; raw still has them.
    assert dict(odd.amounts) == {"usd": Decimal("-5.00")}
    assert dict(odd.rates) == {} and odd.market is None
    assert odd.raw["leverage_rate"] == "10" and odd.raw["xrp_usd"] == "0.5"


def test_every_documented_type_code_has_a_name() -> None:
    codes = {0, 1, 2, 14, 25, 26, 27, 32, 33, 35}
    assert {member.value for member in TransactionType} == codes
    assert all(TransactionType.from_wire(str(code)).known for code in codes)
    assert TransactionType.from_wire("14") is TransactionType.SUB_ACCOUNT_TRANSFER
    with pytest.raises(UnexpectedResponseError):
        TransactionType.from_wire(True)
    with pytest.raises(UnexpectedResponseError):
        TransactionType.from_wire("2.0")


@pytest.mark.parametrize(
    "row",
    [
        {"id": 1, "datetime": "yesterday", "type": "2"},
        {"id": "12a", "datetime": "2026-09-08 09:00:31", "type": "2"},
        {"id": 1, "datetime": "2026-09-08 09:00:31", "type": "deposit"},
        {"datetime": "2026-09-08 09:00:31", "type": "2"},
        {"id": 1, "datetime": "2026-09-08 09:00:31", "type": "2", "self_trade": "maybe"},
    ],
)
async def test_a_malformed_row_in_a_walk_is_an_unexpected_response(row: dict[str, Any]) -> None:
    good = {"id": 1, "datetime": "2026-09-08 09:00:30", "type": "2"}
    transport = exchange({PATH: lambda r: json_response([good, row])})
    async with client_for(transport) as client:
        seen: list[UserTransaction] = []
        with pytest.raises(UnexpectedResponseError):
            async for item in client.iter_user_transactions():
                seen.append(item)
    assert seen == []  # the page is refused whole, not half given


async def test_a_malformed_row_read_from_a_page_is_an_unexpected_response() -> None:
    transport = exchange({PATH: lambda r: json_response([{"id": 1, "type": "2"}])})
    async with client_for(transport) as client:
        page = await client.user_transactions()
    with pytest.raises(UnexpectedResponseError):
        page[0]


# ---------------------------------------------------------------------------- one page


def sent_form(transport: MockTransport) -> dict[str, str]:
    [request] = [r for r in transport.requests if "/user_transactions/" in r.url]
    return dict(parse_qsl(request.body.decode()))


async def test_parameters_go_on_the_wire_as_documented(ledger: Ledger) -> None:
    ledger.add(3)
    transport = transport_for(ledger)
    async with client_for(transport) as client:
        rows = await client.user_transactions(
            "btcusd",
            offset=200_000,
            limit=1000,
            sort="asc",
            since_timestamp=NOW - 30 * DAY,  # exactly 30 days old: still allowed
            until_timestamp=at(NOW - DAY),
        )
        assert list(rows) == []
        await client.user_transactions(since_id=1001)
    first, second = [r for r in transport.requests if "/user_transactions/" in r.url]
    assert first.url == BASE + "/api/v2/user_transactions/btcusd/"
    assert dict(parse_qsl(first.body.decode())) == {
        "offset": "200000",
        "limit": "1000",
        "sort": "asc",
        "since_timestamp": str(NOW - 30 * DAY),
        "until_timestamp": str(NOW - DAY),
    }
    assert second.url == BASE + PATH
    assert dict(parse_qsl(second.body.decode())) == {"since_id": "1001"}


async def test_nothing_extra_is_sent_by_default(ledger: Ledger) -> None:
    ledger.add(5)
    transport = transport_for(ledger)
    async with client_for(transport) as client:
        rows = await client.user_transactions()
    assert sent_form(transport) == {}
    assert numbers(list(rows)) == [1004, 1003, 1002, 1001, 1000]  # the exchange's default


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"offset": -1}, "offset must be at least 0"),
        ({"offset": 200_001}, "offset must be at most 200000"),
        ({"offset": 5.0}, "floats are refused"),
        ({"offset": True}, "offset must be an int"),
        ({"limit": 0}, "limit must be at least 1"),
        ({"limit": 1001}, "limit must be at most 1000"),
        ({"sort": "ASC"}, "sort must be one of"),
        ({"since_timestamp": NOW - 30 * DAY - 1}, "at most 30 days old"),
        ({"until_timestamp": at(NOW - 31 * DAY)}, "at most 30 days old"),
        ({"since_timestamp": datetime(2026, 9, 1)}, "timezone-aware"),
        ({"since_timestamp": NOW - DAY, "until_timestamp": NOW - 2 * DAY}, "must not be before"),
        ({"since_id": 5, "limit": 100}, "leave limit out or pass 1000"),
        ({"since_id": "12a"}, "since_id must be"),
        ({"since_id": 0}, "since_id must be"),
        ({"pair": "BTC/USD"}, "market symbol"),
    ],
)
async def test_bad_parameters_send_nothing(kwargs: dict[str, Any], fragment: str) -> None:
    transport = exchange({})
    async with client_for(transport) as client:
        with pytest.raises(InvalidParameterError, match=fragment):
            await client.user_transactions(**kwargs)
    assert transport.requests == []


async def test_the_30_day_rule_reads_the_injected_clock() -> None:
    transport = exchange({PATH: lambda r: json_response([])})
    async with client_for(transport) as client:
        stamp = NOW - 30 * DAY + 100
        await client.user_transactions(since_timestamp=stamp)  # 100 s inside the window
        client._wall_clock = lambda: NOW + 101  # the same stamp is now 1 s too old
        with pytest.raises(InvalidParameterError, match="30 days"):
            await client.user_transactions(since_timestamp=stamp)
    assert paths(transport) == [PATH]


async def test_limit_1000_with_since_id_is_sent(ledger: Ledger) -> None:
    transport = transport_for(ledger)
    async with client_for(transport) as client:
        await client.user_transactions(since_id="42", limit=1000)
    assert sent_form(transport) == {"since_id": "42", "limit": "1000"}


# ---------------------------------------------------------------------------- walks


async def test_oldest_first_gives_every_row_once_while_rows_arrive(ledger: Ledger) -> None:
    ledger.add(2_500)
    ledger.arrivals = 7  # after every page, seven new rows
    rows = await walk(ledger)
    # Every row that existed when the last page was asked for, in id order, once.
    assert numbers(rows) == sorted(ledger.existing[-1])
    assert len(ledger.existing[-1]) > 2_500
    assert all(form["sort"] == "asc" and form["limit"] == "1000" for form in ledger.forms)


async def test_newest_first_pins_itself_so_new_rows_do_not_shift(ledger: Ledger) -> None:
    ledger.add(2_500)
    ledger.arrivals = 50  # later seconds than any row so far
    rows = await walk(ledger, newest_first=True)
    assert numbers(rows) == sorted(ledger.existing[0], reverse=True)
    newest = ledger.rows[2_499]["_time"]
    assert "until_timestamp" not in ledger.forms[0]
    assert all(form["until_timestamp"] == str(newest + 1) for form in ledger.forms[1:])
    served = [n for page in ledger.served for n in page]
    assert len(served) == len(set(served))  # no page repeated a row


async def test_newest_first_gives_the_rows_of_its_start_once_though_offsets_shift(
    ledger: Ledger,
) -> None:
    ledger.add(2_500)
    ledger.arrivals = 3
    ledger.same_second = True  # inside the pin: these still shift the pages
    rows = await walk(ledger, newest_first=True)
    assert numbers(rows) == sorted(ledger.existing[0], reverse=True)
    # The exchange really did shift: a later page began with rows already served.
    assert ledger.served[1][0] in ledger.served[0]


async def test_newest_first_survives_more_new_rows_than_a_page() -> None:
    # Rows too old to pin to (over 30 days), then bursts of 2,500 new rows after each of
    # the first two pages: whole pages of nothing the walk still owes.
    ledger = Ledger(first_time=NOW - 60 * DAY, arrivals=2_500, arrival_pages=2)
    ledger.add(3_000)
    rows = await walk(ledger, newest_first=True)
    assert numbers(rows) == sorted(ledger.existing[0], reverse=True)
    assert all("until_timestamp" not in form for form in ledger.forms)
    earlier: set[int] = set()
    start = set(ledger.existing[0])
    pages_of_nothing_new = 0
    for page in ledger.served:
        if page and all(n in earlier or n not in start for n in page):
            pages_of_nothing_new += 1
        earlier.update(page)
    assert pages_of_nothing_new >= 2


@pytest.mark.parametrize("newest_first", [False, True])
async def test_short_pages_are_not_taken_for_the_end(ledger: Ledger, newest_first: bool) -> None:
    ledger.add(1_234)
    ledger.cap = 300  # the server returns at most 300 rows, whatever the limit
    rows = await walk(ledger, newest_first=newest_first)
    assert sorted(numbers(rows)) == ledger.ids()
    assert len(set(numbers(rows))) == len(rows)


async def test_walks_of_an_empty_account_ask_once(ledger: Ledger) -> None:
    assert await walk(ledger) == []
    assert await walk(ledger, newest_first=True) == []
    assert len(ledger.forms) == 2


async def test_starting_from_an_id_pages_by_since_id(ledger: Ledger) -> None:
    ledger.add(2_600)
    ledger.arrivals = 5
    rows = await walk(ledger, since=2_000)
    assert numbers(rows) == [n for n in sorted(ledger.existing[-1]) if n >= 2_000]
    # since_id from the first request (one below, so inclusive or not the row comes back),
    # then the last id given; never an offset.
    assert ledger.forms[0] == {"sort": "asc", "limit": "1000", "since_id": "1999"}
    assert all("offset" not in form for form in ledger.forms)
    assert [int(f["since_id"]) for f in ledger.forms[1:]] == sorted(
        {int(f["since_id"]) for f in ledger.forms[1:]}
    )


async def test_newest_first_stops_at_the_id_it_starts_from(ledger: Ledger) -> None:
    ledger.add(2_600)
    rows = await walk(ledger, since="2000", newest_first=True)
    assert numbers(rows) == list(range(3_599, 1_999, -1))
    assert len(ledger.forms) == 2  # the walk stops there, without reading older pages


async def test_starting_from_a_recent_time_sends_since_timestamp(ledger: Ledger) -> None:
    ledger.add(3_000)  # 60 s apart from 10 days ago
    start = ledger.first_time + 60 * 1_234 + 30  # between two rows
    rows = await walk(ledger, since=at(start))
    assert numbers(rows) == [row["id"] for row in ledger.rows if row["_time"] >= start]
    assert ledger.forms[0] == {"sort": "asc", "limit": "1000", "since_timestamp": str(start)}
    # Then by id from the last row read, so the timestamp cannot age out mid-walk.
    assert ledger.forms[1] == {"sort": "asc", "limit": "1000", "since_id": str(rows[999].id)}
    assert all(set(form) == {"sort", "limit", "since_id"} for form in ledger.forms[1:])


async def test_a_start_older_than_30_days_is_read_from_the_beginning() -> None:
    ledger = Ledger(first_time=NOW - 60 * DAY, step=3_600)  # an hour apart, 60 days back
    ledger.add(1_300)
    start = NOW - 40 * DAY
    rows = await walk(ledger, since=at(start))
    assert numbers(rows) == [row["id"] for row in ledger.rows if row["_time"] >= start]
    assert all("since_timestamp" not in form for form in ledger.forms)


@pytest.mark.parametrize("newest_first", [False, True])
async def test_until_stops_the_walk_at_that_second(ledger: Ledger, newest_first: bool) -> None:
    ledger.add(2_000)
    since = ledger.first_time + 60 * 100
    until = ledger.first_time + 60 * 1_500
    rows = await walk(ledger, since=at(since), until=at(until), newest_first=newest_first)
    expected = [row["id"] for row in ledger.rows if since <= row["_time"] <= until]
    assert sorted(numbers(rows)) == expected
    assert numbers(rows) == sorted(expected, reverse=newest_first)


async def test_past_the_deepest_offset_the_walk_continues_by_since_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same logic as at 200,000, with a ledger that refuses offsets past 3,000.
    monkeypatch.setattr(account_api, "MAX_OFFSET", 3_000)
    ledger = Ledger(max_offset=3_000, arrivals=11)
    ledger.add(5_500)
    rows = await walk(ledger)
    assert numbers(rows) == sorted(ledger.existing[-1])
    offsets = [int(form.get("offset", "0")) for form in ledger.forms if "since_id" not in form]
    assert offsets == [0, 1000, 2000, 3000]
    assert "since_id" in ledger.forms[len(offsets)]


async def test_past_the_deepest_offset_newest_first_reanchors_by_until_timestamp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(account_api, "MAX_OFFSET", 3_000)
    ledger = Ledger(max_offset=3_000, arrivals=11, step=30)
    ledger.add(6_500)
    rows = await walk(ledger, newest_first=True)
    assert numbers(rows) == sorted(ledger.existing[0], reverse=True)
    assert any("until_timestamp" in form for form in ledger.forms)


async def test_newest_first_says_so_when_history_is_out_of_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(account_api, "MAX_OFFSET", 3_000)
    ledger = Ledger(max_offset=3_000, first_time=NOW - 90 * DAY, step=600)
    ledger.add(5_000)  # the oldest reachable row is far more than 30 days old
    seen: list[UserTransaction] = []
    async with client_for(transport_for(ledger)) as client:
        with pytest.raises(BitstampError, match="newest_first=False"):
            async for row in client.iter_user_transactions(newest_first=True):
                seen.append(row)
    assert numbers(seen) == ledger.ids()[::-1][:4_000]  # all it could reach, once


async def test_a_pair_walks_its_own_route(ledger: Ledger) -> None:
    ledger.add(10)
    transport = transport_for(ledger)
    async with client_for(transport) as client:
        rows = [r async for r in client.iter_user_transactions("btcusd")]
    assert numbers(rows) == ledger.ids()
    assert set(paths(transport)) == {"/api/v2/markets/", "/api/v2/user_transactions/btcusd/"}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"since": 0}, "since must be"),
        ({"since": "1e5"}, "since must be"),
        ({"since": datetime(2026, 9, 1)}, "timezone-aware"),
        ({"until": NOW}, "until must be an aware datetime"),
        ({"since": at(NOW), "until": at(NOW - 5)}, "must not be before"),
        ({"newest_first": 1}, "newest_first must be True or False"),
        ({"pair": "btc usd"}, "market symbol"),
    ],
)
async def test_bad_walk_arguments_send_nothing(kwargs: dict[str, Any], fragment: str) -> None:
    transport = exchange({})
    async with client_for(transport) as client:
        with pytest.raises(InvalidParameterError, match=fragment):
            async for _ in client.iter_user_transactions(**kwargs):
                pass
    assert transport.requests == []


async def test_an_exchange_error_mid_walk_surfaces(ledger: Ledger) -> None:
    ledger.add(2_500)
    ledger.max_offset = 1_000  # refuses the third page, as past 200,000 it would
    async with client_for(transport_for(ledger)) as client:
        seen: list[UserTransaction] = []
        with pytest.raises(BadRequestError, match="offset"):
            async for row in client.iter_user_transactions():
                seen.append(row)
    assert numbers(seen) == ledger.ids()[:2_000]


# ---------------------------------------------------------------------------- emulator

EMULATOR_KEY, EMULATOR_SECRET = "historykey01", "history-secret"


@pytest.fixture
async def emulated() -> AsyncIterator[Client]:
    from aiobitstamp.testing import FakeBitstamp

    async with FakeBitstamp(rate_limits=None) as fake:
        fake.add_account(EMULATOR_KEY, EMULATOR_SECRET, {"usd": "100000", "btc": "2"})
        async with Client(EMULATOR_KEY, EMULATOR_SECRET, base_url=fake.url) as client:
            yield client


async def test_the_emulator_answers_typed_trades(emulated: Client) -> None:
    bought = await emulated.buy_market("btcusd", "0.01")
    sold = await emulated.sell_market("btcusd", "0.004")
    rows = list(await emulated.user_transactions("btcusd", sort="asc", limit=1000))
    assert rows and all(row.is_trade and row.market == "btcusd" for row in rows)
    by_order: dict[str | None, list[UserTransaction]] = {}
    for row in rows:
        by_order.setdefault(row.order_id, []).append(row)
    assert {row.side for row in by_order[bought.id]} == {Side.BUY}
    assert {row.side for row in by_order[sold.id]} == {Side.SELL}
    assert sum(row.base_amount or 0 for row in by_order[bought.id]) == Decimal("0.01")
    assert sum(row.base_amount or 0 for row in by_order[sold.id]) == Decimal("-0.004")
    for row in rows:
        assert row.rate and row.fee is not None and row.counter_amount
        assert (row.counter_amount < 0) == (row.side is Side.BUY)


async def test_the_emulator_walks_agree_with_its_pages(emulated: Client) -> None:
    for _ in range(6):
        await emulated.buy_market("btcusd", "0.002")
    page = list(await emulated.user_transactions(limit=1000, sort="asc"))
    up = [row async for row in emulated.iter_user_transactions()]
    down = [row async for row in emulated.iter_user_transactions(newest_first=True)]
    middle = page[len(page) // 2]
    tail = [row async for row in emulated.iter_user_transactions(since=middle.id)]
    assert numbers(up) == sorted(numbers(page))
    assert numbers(down) == sorted(numbers(page), reverse=True)
    assert numbers(tail) == [n for n in sorted(numbers(page)) if n >= int(middle.id)]
    assert up == page


def test_ledger_rows_are_valid_json_for_the_exact_decoder() -> None:
    # Guards the fixture itself: what Ledger sends is what the client's decoder reads.
    ledger = Ledger()
    ledger.add(3)
    body = ledger.handle(Request("POST", BASE + PATH, {}, b"sort=asc")).body
    assert [row["id"] for row in json.loads(body)] == [1000, 1001, 1002]
