"""The emulator as a server: lifecycle, public data, auth v2, rate limits, faults, headers.

Every test talks to a real FakeBitstamp on loopback with raw aiohttp requests; private
requests are signed by ``Signer`` with the library's own ``sign_request``. Clocks are
injected wherever time matters, so nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import ssl
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import orjson
import pytest
import trustme

import aiobitstamp.testing
from aiobitstamp._auth import (
    Credentials,
    QuerySigning,
    sign_request,
    verify_response_signature,
)
from aiobitstamp.testing import FakeBitstamp

API = "/api/v2/"
KEY = "emulatorkey1"
SECRET = "emulator-secret-1"
VECTORS = json.loads((Path(__file__).parent / "data" / "auth-v2.json").read_text())
NOW = 1_700_000_000.0


@dataclass
class Reply:
    """A response read to the end: status, headers and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Clock:
    """A settable clock for ``wall_clock`` / ``monotonic_clock``."""

    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Signer:
    """Sends raw requests to an emulator, signing private ones like a real client would."""

    base_url: str
    session: aiohttp.ClientSession
    credentials: Credentials
    server_time: Callable[[], float] = time.time
    query_signing: QuerySigning = QuerySigning.WITHOUT_QUESTION_MARK

    @classmethod
    def of(
        cls, fake: FakeBitstamp, session: aiohttp.ClientSession, key: str, secret: str
    ) -> Signer:
        return cls(fake.url, session, Credentials(key, secret), fake.server_time)

    def headers(
        self, path: str, body: bytes = b"", *, query: str = "", nonce: str | None = None
    ) -> dict[str, str]:
        return sign_request(
            self.credentials,
            "POST",
            urlsplit(self.base_url).netloc,
            path,
            query,
            body,
            nonce=nonce or str(uuid.uuid4()),
            timestamp_ms=int(self.server_time() * 1000),
            query_signing=self.query_signing,
        )

    async def post(
        self, endpoint: str, form: Mapping[str, str] | None = None, *, query: str = ""
    ) -> Reply:
        path = API + endpoint
        body = urlencode(form).encode() if form else b""
        return await self.raw_post(path, body, self.headers(path, body, query=query), query=query)

    async def raw_post(
        self, path: str, body: bytes, headers: Mapping[str, str], *, query: str = ""
    ) -> Reply:
        url = self.base_url + path + (f"?{query}" if query else "")
        # aiohttp adds "Content-Type: application/octet-stream" to every POST unless told not
        # to, and the exchange answers API0020 to that header on an empty body.
        async with self.session.post(
            url, data=body, headers=headers, skip_auto_headers=("Content-Type",)
        ) as response:
            return Reply(response.status, response.headers, await response.read())

    async def get(self, endpoint: str, **headers: str) -> Reply:
        async with self.session.get(self.base_url + API + endpoint, headers=headers) as response:
            return Reply(response.status, response.headers, await response.read())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeBitstamp]:
    async with FakeBitstamp(rate_limits=None, wall_clock=clock, book_depth=400) as exchange:
        exchange.add_account(KEY, SECRET, {"usd": "10000", "btc": "1"})
        yield exchange


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def api(fake: FakeBitstamp, session: aiohttp.ClientSession) -> Signer:
    return Signer.of(fake, session, KEY, SECRET)


def auth_error(code: str, reason: str) -> dict[str, str]:
    return {"status": "error", "reason": reason, "code": code}


# -- lifecycle and surface ---------------------------------------------------------------


def test_public_names_are_sorted_complete_and_documented() -> None:
    names = aiobitstamp.testing.__all__
    # isort-style order, as ruff's RUF022 keeps it: CONSTANTS, Classes, functions.
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    public = {n for n in dir(aiobitstamp.testing) if not n.startswith("_")}
    assert public - {"annotations"} == set(names)
    for name in names:
        assert getattr(aiobitstamp.testing, name).__doc__ or name == "PERMISSIONS"
    assert FakeBitstamp.__test__ is False


async def test_lifecycle_url_and_idempotent_close() -> None:
    fake = FakeBitstamp()
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.url
    await fake.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", fake.url)
    with pytest.raises(RuntimeError, match="already running"):
        await fake.start()
    await fake.close()
    await fake.close()
    with pytest.raises(RuntimeError):
        _ = fake.url


async def test_serves_https_with_a_given_ssl_context(session: aiohttp.ClientSession) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    async with FakeBitstamp(ssl_context=server_context) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
        async with session.get(fake.url + API + "eur_usd/", ssl=client_context) as response:
            assert response.status == 200
            assert set(await response.json()) == {"buy", "sell"}


def test_add_account_rejects_keys_the_exchange_could_never_issue(fake: FakeBitstamp) -> None:
    with pytest.raises(ValueError, match="letters and digits"):
        fake.add_account("bad-key", "secret")
    with pytest.raises(ValueError, match="already exists"):
        fake.add_account(KEY, "other")
    with pytest.raises(ValueError, match="unknown permissions"):
        fake.add_account("key2", "secret", permissions={"withdraw_everything"})
    assert "emulator-secret" not in repr(fake.accounts[KEY])


# -- routing, errors and headers ---------------------------------------------------------


async def test_unknown_path_pair_and_wrong_verb_answer_json(api: Signer) -> None:
    reply = await api.get("no_such_endpoint/")
    assert (reply.status, reply.json()["response_code"]) == (404, "404.001")
    assert reply.headers["Content-Type"] == "application/json"
    reply = await api.get("ticker/btcxyz/")
    assert reply.status == 404
    assert reply.json() == {
        "status": "error",
        "reason": "Currency pair not found for corresponding request.",
        "response_code": "404.003",
    }
    reply = await api.get("account_balances/")
    assert reply.status == 405
    assert reply.json() == {
        "status": "error",
        "reason": "GET method not allowed for this request.",
        "response_code": "405.001",
    }
    async with api.session.post(api.base_url + API + "ticker/btcusd/") as response:
        assert response.status == 405
        assert (await response.json())["response_code"] == "405.001"


async def test_date_header_follows_the_skewed_exchange_clock(
    api: Signer, fake: FakeBitstamp, clock: Clock
) -> None:
    fake.clock_offset = 3600.0
    for reply in (await api.get("ticker/btcusd/"), await api.get("nope/")):
        assert reply.headers["Date"] == formatdate(NOW + 3600.0, usegmt=True)
    assert (await api.get("ticker/btcusd/")).json()["timestamp"] == str(int(NOW + 3600))


async def test_dispatch_boundary_turns_an_emulator_bug_into_500_json(
    api: Signer,
    fake: FakeBitstamp,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(fake._endpoints, "_top", broken)
    reply = await api.get("ticker/btcusd/")
    assert reply.status == 500
    assert reply.json() == {
        "status": "error",
        "reason": "Unknown server error.",
        "response_code": "500.001",
    }
    assert fake.stats.server_errors == 1
    assert "emulator failed on GET /api/v2/ticker/btcusd/" in caplog.text


async def test_stats_count_requests_paths_and_auth_failures(
    api: Signer, fake: FakeBitstamp
) -> None:
    await api.get("ticker/btcusd/")
    await api.get("ticker/btcusd/")
    await api.raw_post(API + "account_balances/", b"", {})
    assert fake.stats.requests == 3
    assert fake.stats.paths[API + "ticker/btcusd/"] == 2
    assert fake.stats.auth_failures == {"API0012": 1}
    fake.stats.reset()
    assert (fake.stats.requests, sum(fake.stats.paths.values())) == (0, 0)


# -- fault injection ---------------------------------------------------------------------


async def test_injected_fault_answers_raw_once_then_the_api_answers(
    api: Signer, fake: FakeBitstamp
) -> None:
    fake.inject_fault()
    reply = await api.get("ticker/btcusd/")
    assert reply.status == 502
    assert reply.headers["Content-Type"] == "text/html"
    assert b"<h1>502 Bad Gateway</h1>" in reply.body
    assert "Date" in reply.headers
    assert (await api.get("ticker/btcusd/")).status == 200
    assert fake.stats.faults_served == 1


async def test_faults_match_their_path_and_repeat_times(api: Signer, fake: FakeBitstamp) -> None:
    maintenance = b'{"error": "Bitstamp.net is under scheduled maintenance. We\'ll be back soon."}'
    fake.inject_fault(
        "ticker/ethusd/", status=503, body=maintenance, content_type="application/json"
    )
    fake.inject_fault(API + "eur_usd/", status=200, body=b'{"buy": "1.0', times=2)
    assert (await api.get("ticker/btcusd/")).status == 200  # other path: untouched
    reply = await api.get("ticker/ethusd/")
    assert (reply.status, reply.body) == (503, maintenance)
    for _ in range(2):
        reply = await api.get("eur_usd/")
        assert (reply.status, reply.body) == (200, b'{"buy": "1.0')  # truncated JSON
    assert (await api.get("eur_usd/")).json().keys() == {"buy", "sell"}
    fake.inject_fault(times=5)
    fake.clear_faults()
    assert (await api.get("eur_usd/")).status == 200


# -- rate limits -------------------------------------------------------------------------


async def test_strict_window_admits_exactly_count_and_rejects_the_rest(
    session: aiohttp.ClientSession,
) -> None:
    window = Clock(100.0)
    async with FakeBitstamp(rate_limits=((5, 1.0),), monotonic_clock=window) as fake:
        api = Signer.of(fake, session, KEY, SECRET)
        replies = await asyncio.gather(*(api.get("ticker/btcusd/") for _ in range(8)))
        assert sorted(r.status for r in replies) == [200] * 5 + [400] * 3
        for reply in replies:
            if reply.status == 400:
                assert reply.json() == {
                    "status": "error",
                    "reason": "Request rejected due to exceeded rate limit.",
                    "response_code": "400.002",
                }
                assert "Retry-After" not in reply.headers
        assert fake.stats.rate_limited == 3
        window.now = 100.999  # the five admitted arrivals are still inside the window
        assert (await api.get("eur_usd/")).status == 400
        window.now = 101.0  # ... and now they have left it; rejections never occupied it
        assert [(await api.get("eur_usd/")).status for _ in range(6)] == [200] * 5 + [400]


async def test_every_window_applies_at_once_and_counts_all_requests(
    session: aiohttp.ClientSession,
) -> None:
    window = Clock(0.0)
    limits = ((2, 1.0), (3, 10.0))
    async with FakeBitstamp(
        rate_limits=limits, monotonic_clock=window, rate_limit_http_status=429, retry_after=2.5
    ) as fake:
        fake.add_account(KEY, SECRET)
        api = Signer.of(fake, session, KEY, SECRET)
        assert (await api.get("ticker/btcusd/")).status == 200
        assert (await api.post("account_balances/")).status == 200  # private counts too
        rejected = await api.get("no_such_path/")  # so does anything else
        assert rejected.status == 429
        assert rejected.headers["Retry-After"] == "3"
        window.now = 1.0
        assert (await api.get("ticker/btcusd/")).status == 200  # third in ten seconds
        assert (await api.get("ticker/btcusd/")).status == 429  # fourth: the long window
        window.now = 10.0
        assert (await api.get("ticker/btcusd/")).status == 200


async def test_rate_limit_comes_before_auth(session: aiohttp.ClientSession) -> None:
    async with FakeBitstamp(rate_limits=((1, 60.0),), monotonic_clock=Clock(0.0)) as fake:
        api = Signer.of(fake, session, KEY, SECRET)
        assert (await api.raw_post(API + "account_balances/", b"", {})).status == 403
        reply = await api.raw_post(API + "account_balances/", b"", {})
        assert reply.json()["response_code"] == "400.002"
        assert fake.stats.auth_failures == {"API0012": 1}


async def test_key_scope_gives_each_key_its_own_window(session: aiohttp.ClientSession) -> None:
    async with FakeBitstamp(
        rate_limits=((1, 60.0),), rate_limit_scope="key", monotonic_clock=Clock(0.0)
    ) as fake:
        fake.add_account("keyA", "secretA")
        fake.add_account("keyB", "secretB")
        first = Signer.of(fake, session, "keyA", "secretA")
        second = Signer.of(fake, session, "keyB", "secretB")
        assert (await first.post("account_balances/")).status == 200
        assert (await second.post("account_balances/")).status == 200
        assert (await first.post("account_balances/")).status == 400


async def test_record_arrivals_keeps_every_arrival_time(session: aiohttp.ClientSession) -> None:
    window = Clock(5.0)
    async with FakeBitstamp(record_arrivals=True, monotonic_clock=window) as fake:
        api = Signer.of(fake, session, KEY, SECRET)
        await api.get("eur_usd/")
        window.now = 7.5
        await api.get("nope/")
        assert fake.arrivals == [5.0, 7.5]


# -- auth v2 -----------------------------------------------------------------------------


async def test_valid_request_is_accepted_and_its_answer_signed(api: Signer) -> None:
    path = API + "account_balances/"
    headers = api.headers(path)
    reply = await api.raw_post(path, b"", headers)
    assert reply.status == 200
    assert verify_response_signature(
        api.credentials,
        reply.headers["X-Server-Auth-Signature"],
        headers["X-Auth-Nonce"],
        headers["X-Auth-Timestamp"],
        reply.headers["Content-Type"],
        reply.body,
    )
    assert not verify_response_signature(
        api.credentials,
        reply.headers["X-Server-Auth-Signature"],
        headers["X-Auth-Nonce"],
        headers["X-Auth-Timestamp"],
        reply.headers["Content-Type"],
        reply.body + b" ",
    )


async def test_response_signing_can_be_switched_off_at_runtime(
    api: Signer, fake: FakeBitstamp
) -> None:
    fake.sign_responses = False
    reply = await api.post("account_balances/")
    assert reply.status == 200
    assert "X-Server-Auth-Signature" not in reply.headers
    rejected = await api.raw_post(API + "account_balances/", b"", {})
    assert "X-Server-Auth-Signature" not in rejected.headers


@pytest.mark.parametrize(
    ("header", "code", "reason"),
    [
        ("X-Auth", "API0012", "X-Auth header is required"),
        ("X-Auth-Signature", "API0013", "X-Auth-Signature header is required"),
        ("X-Auth-Nonce", "API0014", "X-Auth-Nonce header is required"),
        ("X-Auth-Timestamp", "API0015", "X-Auth-Timestamp header is required"),
        ("X-Auth-Version", "API0016", "X-Auth-Version header is required"),
    ],
)
async def test_each_missing_auth_header_has_its_code(
    api: Signer, fake: FakeBitstamp, header: str, code: str, reason: str
) -> None:
    path = API + "account_balances/"
    headers = api.headers(path)
    del headers[header]
    reply = await api.raw_post(path, b"", headers)
    assert reply.status == 403
    assert reply.json() == auth_error(code, reason)
    assert fake.stats.auth_failures[code] == 1


async def test_private_post_without_any_auth_header_is_api0012(api: Signer) -> None:
    reply = await api.raw_post(API + "buy/btcusd/", b"amount=1&price=1", {})
    assert (reply.status, reply.json()) == (403, auth_error("API0012", "X-Auth header is required"))


@pytest.mark.parametrize(
    ("override", "code", "reason"),
    [
        ({"X-Auth-Version": "v1"}, "API0010", "Invalid version"),
        ({"X-Auth": f"BITSTAMP{KEY}"}, "API0011", "Wrong API key format"),
        ({"X-Auth": "BITSTAMP key-with-dash"}, "API0011", "Wrong API key format"),
        ({"X-Auth": "HMAC " + KEY}, "API0011", "Wrong API key format"),
        ({"X-Auth": "BITSTAMP unknownKey9"}, "API0001", "API key not found"),
        ({"X-Auth-Timestamp": "17e11"}, "API0018", "X-Auth-Timestamp header is invalid"),
        ({"X-Auth-Timestamp": "-1"}, "API0018", "X-Auth-Timestamp header is invalid"),
        ({"X-Auth-Signature": "0" * 64}, "API0005", "Invalid signature"),
    ],
)
async def test_malformed_auth_headers(
    api: Signer, override: dict[str, str], code: str, reason: str
) -> None:
    path = API + "account_balances/"
    headers = {**api.headers(path), **override}
    reply = await api.raw_post(path, b"", headers)
    assert (reply.status, reply.json()) == (403, auth_error(code, reason))


async def test_url_longer_than_2000_characters_is_api0021(api: Signer) -> None:
    query = "padding=" + "x" * 2000
    path = API + "account_balances/"
    reply = await api.raw_post(path, b"", api.headers(path, query=query), query=query)
    assert reply.json() == auth_error(
        "API0021", "Please make sure url query string is not too long"
    )
    short = "padding=" + "x" * 100
    reply = await api.raw_post(path, b"", api.headers(path, query=short), query=short)
    assert reply.status == 200


async def test_content_type_must_match_the_body(api: Signer) -> None:
    path = API + "account_balances/"
    headers = {**api.headers(path), "Content-Type": "application/x-www-form-urlencoded"}
    reply = await api.raw_post(path, b"", headers)
    assert reply.json() == auth_error("API0020", "Content-Type header should not be present")
    body = b'{"offset": 1}'
    headers = {**api.headers(path, body), "Content-Type": "application/json"}
    reply = await api.raw_post(path, body, headers)
    assert reply.json() == auth_error("API0019", "Content-Type header is not accepted")


async def test_signature_covers_body_host_and_is_case_insensitive(api: Signer) -> None:
    path = API + "account_balances/"
    body = b"foo=bar"  # ccxt's dummy body for otherwise empty POSTs
    headers = api.headers(path, body)
    reply = await api.raw_post(path, b"foo=baz", headers)
    assert reply.json()["code"] == "API0005"
    headers = api.headers(path, body)
    headers["Host"] = "www.bitstamp.net"  # signed for another host than the one named
    assert (await api.raw_post(path, body, headers)).json()["code"] == "API0005"
    headers = api.headers(path, body)
    headers["X-Auth-Signature"] = headers["X-Auth-Signature"].upper()
    assert (await api.raw_post(path, body, headers)).status == 200


async def test_reused_nonce_is_rejected_but_forgeries_do_not_burn_nonces(api: Signer) -> None:
    path = API + "account_balances/"
    forged = {**api.headers(path, nonce="shared-nonce"), "X-Auth-Signature": "ab" * 32}
    assert (await api.raw_post(path, b"", forged)).json()["code"] == "API0005"
    assert (await api.raw_post(path, b"", api.headers(path, nonce="shared-nonce"))).status == 200
    reply = await api.raw_post(path, b"", api.headers(path, nonce="shared-nonce"))
    assert (reply.status, reply.json()) == (403, auth_error("API0004", "Invalid nonce"))


async def test_nonces_are_forgotten_after_150_seconds(session: aiohttp.ClientSession) -> None:
    window = Clock(0.0)
    async with FakeBitstamp(monotonic_clock=window, rate_limits=None) as fake:
        fake.add_account(KEY, SECRET)
        api = Signer.of(fake, session, KEY, SECRET)
        path = API + "account_balances/"
        assert (await api.raw_post(path, b"", api.headers(path, nonce="n1"))).status == 200
        window.now = 149.9
        assert (await api.raw_post(path, b"", api.headers(path, nonce="n1"))).status == 403
        window.now = 150.0
        assert (await api.raw_post(path, b"", api.headers(path, nonce="n1"))).status == 200


async def test_timestamp_window_is_150_seconds_of_the_exchange_clock(
    api: Signer, fake: FakeBitstamp
) -> None:
    path = API + "account_balances/"
    headers = api.headers(path)  # signed with the exchange's time ...
    fake.clock_offset = 150.001  # ... which then moves on
    reply = await api.raw_post(path, b"", headers)
    assert reply.json() == auth_error("API0017", "X-Auth-Timestamp header is out of boundaries")
    assert reply.headers["Date"] == formatdate(NOW + 150.001, usegmt=True)
    headers = api.headers(path)
    fake.clock_offset -= 150.0
    assert (await api.raw_post(path, b"", headers)).status == 200


@pytest.mark.parametrize(
    ("setup", "code", "reason"),
    [
        ({"frozen": True}, "API0006", "Your account is frozen"),
        ({"allowed_ips": {"10.9.8.7"}}, "API0002", "IP address not allowed"),
        ({"permissions": {"open_orders"}}, "API0003", "No permission found"),
    ],
)
async def test_account_rules_are_checked_after_the_signature(
    api: Signer, fake: FakeBitstamp, setup: dict[str, Any], code: str, reason: str
) -> None:
    fake.add_account("ruled", "secret", **setup)
    ruled = Signer.of(fake, api.session, "ruled", "secret")
    reply = await ruled.post("account_balances/")
    assert (reply.status, reply.json()) == (403, auth_error(code, reason))
    wrong = Signer.of(fake, api.session, "ruled", "not-the-secret")
    assert (await wrong.post("account_balances/")).json()["code"] == "API0005"


async def test_allowed_ip_and_granted_permission_pass(api: Signer, fake: FakeBitstamp) -> None:
    account = fake.add_account(
        "ruled", "secret", allowed_ips={"127.0.0.1"}, permissions={"account_balances"}
    )
    ruled = Signer.of(fake, api.session, "ruled", "secret")
    assert (await ruled.post("account_balances/")).status == 200
    reply = await ruled.post("open_orders/all/")
    assert reply.json()["code"] == "API0003"
    account.frozen = True
    assert (await ruled.post("account_balances/")).json()["code"] == "API0006"


async def test_public_endpoints_ignore_auth_headers(api: Signer) -> None:
    garbage = {"X-Auth": "nonsense", "X-Auth-Version": "v9", "X-Auth-Signature": "zz"}
    assert (await api.get("ticker/btcusd/", **garbage)).status == 200


async def test_query_string_is_signed_in_the_configured_form(
    api: Signer, fake: FakeBitstamp
) -> None:
    path = API + "account_balances/"
    query = "a=1&b=2"
    assert (await api.post("account_balances/", query=query)).status == 200
    fake.query_signing = QuerySigning.WITH_QUESTION_MARK
    reply = await api.raw_post(path, b"", api.headers(path, query=query), query=query)
    assert reply.json()["code"] == "API0005"
    api.query_signing = QuerySigning.WITH_QUESTION_MARK
    assert (await api.post("account_balances/", query=query)).status == 200


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS["requests"] if v["method"] == "POST"],
    ids=lambda v: v["name"][:30],
)
async def test_known_answer_vectors_are_accepted_verbatim(
    session: aiohttp.ClientSession, vector: dict[str, str]
) -> None:
    """The vectors' literal signatures, sent with their Host, pass the emulator's check."""
    wall = Clock(int(vector["timestamp"]) / 1000)
    async with FakeBitstamp(wall_clock=wall, rate_limits=None) as fake:
        fake.add_account(VECTORS["key"], VECTORS["secret"], {"usd": "1000"})
        headers = {
            "Host": vector["host"],
            "X-Auth": "BITSTAMP " + VECTORS["key"],
            "X-Auth-Signature": vector["signature"],
            "X-Auth-Nonce": vector["nonce"],
            "X-Auth-Timestamp": vector["timestamp"],
            "X-Auth-Version": "v2",
        }
        if vector["content_type"]:
            headers["Content-Type"] = vector["content_type"]
        body = vector["body"].encode()
        api = Signer.of(fake, session, VECTORS["key"], VECTORS["secret"])
        reply = await api.raw_post(vector["path"], body, headers)
        assert reply.status == 200, reply.body
        tampered = {**headers, "X-Auth-Nonce": str(uuid.uuid4())}
        assert (await api.raw_post(vector["path"], body, tampered)).json()["code"] == "API0005"


# -- standalone --------------------------------------------------------------------------


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_standalone_process_prints_url_serves_and_stops_cleanly(
    session: aiohttp.ClientSession, stop_signal: signal.Signals
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiobitstamp.testing",
        "--port",
        "0",
        "--account",
        "standalone1:standalonesecret",
        "--balance",
        "usd=123.45",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        match = re.search(r"serving (http://\S+) accounts standalone1:<as given>", line)
        assert match, line
        assert "standalonesecret" not in line  # a secret the caller gave is not echoed
        url = match.group(1)
        async with session.get(url + API + "ticker/btcusd/") as response:
            assert response.status == 200
            assert "last" in await response.json()
        signer = Signer(url, session, Credentials("standalone1", "standalonesecret"))
        reply = await signer.post("account_balances/usd/")
        assert reply.json() == {
            "currency": "usd",
            "total": "123.45",
            "available": "123.45",
            "reserved": "0.00",
        }
    finally:
        process.send_signal(stop_signal)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()  # handled, not killed by the signal


def test_standalone_flags_set_pace_and_switches(capsys: pytest.CaptureFixture[str]) -> None:
    from aiobitstamp.testing._standalone import _parser

    flags = ["--speed", "60", "--message-rate", "0", "--switch", "ohlc_start_wins=true"]
    flags += ["--switch", "open_orders_cache_seconds=2.5", "--switch", "my_markets_method=GET"]
    args = _parser().parse_args(flags)
    assert (args.speed, args.message_rate) == (60.0, 0.0)
    assert dict(args.switch) == {
        "ohlc_start_wins": True,
        "open_orders_cache_seconds": 2.5,
        "my_markets_method": "GET",
    }
    for bad in (["--speed", "0"], ["--message-rate", "-1"], ["--switch", "no_such=1"]):
        with pytest.raises(SystemExit):
            _parser().parse_args(bad)
    assert "NAME one of" in capsys.readouterr().err
