"""Several keys per client: routing by permission, per-key budgets, live rotation, auth
errors that help, and the kill switch, against a mock transport and the emulator."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from aiobitstamp import (
    AuthenticationError,
    BitstampError,
    Client,
    Credentials,
    InvalidParameterError,
    MissingCredentialsError,
    MissingPermissionError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    SlidingWindowLimiter,
)
from aiobitstamp._routes import ROUTES
from aiobitstamp._transport import AiohttpTransport, MockTransport, Request, Response, Timeouts
from aiobitstamp.testing import FakeBitstamp

from ._cli_support import redis_server
from ._keys_support import leaks, no_secret_escapes, rendered, secret

__all__ = ["no_secret_escapes"]  # the autouse fixture, imported to run here

READ_SECRET, TRADE_SECRET, SPARE_SECRET = secret("Read"), secret("Trade"), secret("Spare")
READER = Credentials("readkey1", READ_SECRET, label="reader", permissions={"read"})
TRADER = Credentials("tradekey1", TRADE_SECRET, label="trader", permissions={"trade"})
_GUARD = 30.0  # a failure guard for calls that must not hang, never a synchronisation

ANSWERS: dict[str, object] = {
    "account_balances/": [],
    "open_orders/all/": [],
    "open_orders/": [],
    "cancel_all_orders/": {"canceled": [], "success": True},
    "user_transactions/": [],
    "withdrawal-requests/": [],
}


def answering(
    hook: Callable[[Request], Any] | None = None,
) -> MockTransport:
    """A transport answering the routes above; ``hook`` sees each request first."""

    async def handle(request: Request) -> Response:
        if hook is not None:
            result = hook(request)
            if asyncio.iscoroutine(result):
                result = await result
            if isinstance(result, Response):
                return result
        endpoint = urlsplit(request.url).path.removeprefix("/api/v2/")
        return Response(200, {}, orjson.dumps(ANSWERS[endpoint]))

    return MockTransport(handle)


def key_of(request: Request) -> str:
    return request.headers["X-Auth"].removeprefix("BITSTAMP ")


def client_with(transport: MockTransport, **options: Any) -> Client:
    options.setdefault("keys", [READER, TRADER])
    return Client(transport=transport, validate_markets=False, **options)


# -- routing -------------------------------------------------------------------------------


async def test_each_call_goes_out_with_a_key_that_covers_it() -> None:
    transport = answering()
    async with client_with(transport) as client:
        await client.account_balances()
        await client.cancel_all_orders()
        await client.open_orders()
    assert [key_of(r) for r in transport.requests] == ["readkey1", "tradekey1", "readkey1"]
    assert client.key_for("cancel_all_orders") is TRADER
    assert client.key_for("user_transactions") is READER
    assert list(client.keys) == ["reader", "trader"]


async def test_the_first_key_that_covers_a_call_wins_and_unsaid_means_all() -> None:
    anything = Credentials("allkey1", SPARE_SECRET, label="all")
    transport = answering()
    async with client_with(transport, keys=[READER, anything, TRADER]) as client:
        await client.account_balances()
        await client.cancel_all_orders()
    assert [key_of(r) for r in transport.requests] == ["readkey1", "allkey1"]


async def test_a_call_no_key_covers_fails_before_anything_is_sent() -> None:
    transport = answering()
    async with client_with(transport, keys=[READER]) as client:
        with pytest.raises(MissingPermissionError) as caught:
            await client.cancel_all_orders()
        with pytest.raises(MissingPermissionError):
            client.key_for("withdraw")
    assert transport.requests == []
    error = caught.value
    assert isinstance(error, MissingCredentialsError)
    assert error.permission == "cancel_all_orders"
    message = str(error)
    assert "cancel_all_orders needs the permission 'cancel_all_orders' (scope 'trade')" in message
    assert "keys: 'reader' (read)" in message
    assert "permissions={'trade'}" in message
    assert "[POST /api/v2/cancel_all_orders/]" in message


async def test_a_client_without_keys_says_how_to_give_them() -> None:
    transport = answering()
    async with Client(transport=transport) as client:
        with pytest.raises(MissingCredentialsError) as caught:
            await client.account_balances()
        assert not isinstance(caught.value, MissingPermissionError)
        assert "keys=[Credentials(...)]" in str(caught.value)
        assert client.keys == {}
        with pytest.raises(InvalidParameterError, match="no keys to rotate"):
            await client.rotate_key(READER)
    assert transport.requests == []


async def test_routing_by_route_permission_or_scope() -> None:
    first = Credentials("firstkey1", READ_SECRET, label="first")
    second = Credentials("secondkey1", TRADE_SECRET, label="second")
    transport = answering()
    # The route name is more specific than the scope: open_orders stays with "first".
    routing = {"read": "second", "open_orders": "first", "cancel_all_orders": "second"}
    async with client_with(transport, keys=[first, second], routing=routing) as client:
        await client.account_balances()
        await client.open_orders()
        await client.cancel_all_orders()
        await client.withdrawal_requests()
    assert [key_of(r) for r in transport.requests] == [
        "secondkey1",
        "firstkey1",
        "secondkey1",
        "secondkey1",
    ]


async def test_a_routing_callable_is_asked_once_per_route_not_per_call() -> None:
    asked: list[tuple[str, str]] = []

    def route(name: str, permission: str) -> str | None:
        asked.append((name, permission))
        return "trader" if name == "account_balances" else None

    everything = Credentials("tradekey1", TRADE_SECRET, label="trader")
    transport = answering()
    async with client_with(transport, keys=[READER, everything], routing=route) as client:
        for _ in range(5):
            await client.account_balances()
        await client.open_orders()
    signed = [r.name for r in ROUTES.values() if r.signed]
    assert [name for name, _ in asked] == signed
    assert ("account_balances", "account_balances") in asked
    assert [key_of(r) for r in transport.requests] == ["tradekey1"] * 5 + ["readkey1"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"routing": {"trade": "nobody"}}, "no key has that label"),
        ({"routing": {"tarde": "trader"}}, "no signed route, permission or scope"),
        ({"routing": {"cancel_order": "reader"}}, "whose permissions (read) do not include"),
        ({"routing": lambda name, permission: "ghost"}, "no key has that label"),
        ({"routing": 5}, "routing must be a mapping"),
        ({"keys": [READER, READER.replace(permissions=None)]}, "two keys are labelled 'reader'"),
        ({"keys": []}, "keys is empty"),
        ({"keys": ["key"]}, "keys must hold Credentials"),
        ({"rate_limit_scope": "ip"}, "rate_limit_scope must be 'host' or 'key'"),
    ],
)
def test_a_configuration_that_cannot_work_is_refused_at_once(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        client_with(answering(), **options)
    assert message in str(caught.value)


def test_keys_and_api_key_together_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="not both"):
        Client("readkey1", READ_SECRET, keys=[TRADER])
    with pytest.raises(InvalidParameterError, match="routing needs keys"):
        Client(routing={"read": "reader"})


async def test_one_key_given_as_api_key_is_labelled_default() -> None:
    transport = answering()
    async with Client("plainkey1", SPARE_SECRET, transport=transport) as client:
        await client.account_balances()
        assert client.key_for("account_balances").label == "default"
        assert "plai…" in repr(client) and SPARE_SECRET not in repr(client)
    async with client_with(answering()) as several:
        assert "keys=['reader', 'trader']" in repr(several)


# -- budgets -------------------------------------------------------------------------------


async def test_host_scope_counts_every_key_and_public_call_in_one_limiter() -> None:
    transport = answering()
    async with client_with(transport, rate_limits=((100, 60.0),)) as client:
        assert client.limiter_for("reader") is client.limiter is client.limiter_for("trader")
        await client.account_balances()
        await client.cancel_all_orders()
        await client.open_orders()
        limiter = client.limiter
        assert limiter is not None
        assert await limiter.headroom() == (97,)
        assert sum(lane.sent for lane in limiter.stats.values()) == 3


async def test_key_scope_gives_each_key_a_budget_of_its_own() -> None:
    transport = answering()
    async with client_with(transport, rate_limits=((2, 3600.0),), rate_limit_scope="key") as client:
        read_limiter, trade_limiter = client.limiter_for("reader"), client.limiter_for("trader")
        assert read_limiter is not None and trade_limiter is not None
        assert len({id(read_limiter), id(trade_limiter), id(client.limiter)}) == 3
        async with asyncio.timeout(_GUARD):
            # Two reads exhaust the reader's hour; the trader's budget is untouched, so
            # its calls go out at once (in "host" scope they would wait an hour).
            await client.account_balances()
            await client.open_orders()
            await client.cancel_all_orders()
            await client.cancel_all_orders()
        assert await read_limiter.headroom() == (0,)
        assert await trade_limiter.headroom() == (0,)
        assert client.limiter is not None and await client.limiter.headroom() == (2,)
        # Every send went through exactly one limiter slot.
        sent = sum(
            lane.sent
            for limiter in (read_limiter, trade_limiter, client.limiter)
            for lane in limiter.stats.values()
        )
        assert sent == len(transport.requests) == 4
    # The client made the per-key limiters, and closed them with itself.
    with pytest.raises(BitstampError):
        async with read_limiter.slot(ROUTES["account_balances"].lane):
            pass


async def test_key_scope_with_limiters_of_your_own() -> None:
    own = {"reader": SlidingWindowLimiter(((5, 60.0),)), "trader": SlidingWindowLimiter()}
    transport = answering()
    async with client_with(transport, limiter=own, rate_limit_scope="key") as client:
        assert client.limiter_for("reader") is own["reader"]
        await client.account_balances()
        await client.cancel_all_orders()
    assert await own["reader"].headroom() == (4,)
    # The caller's limiters stay open: the client never closes what it was given.
    async with own["trader"].slot(ROUTES["account_balances"].lane):
        pass
    for limiter in own.values():
        await limiter.aclose()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limiter": {"reader": SlidingWindowLimiter()}}, "use it with rate_limit_scope='key'"),
        (
            {"limiter": {"reader": SlidingWindowLimiter()}, "rate_limit_scope": "key"},
            "no entry for key 'trader'",
        ),
        ({"limiter": SlidingWindowLimiter(), "rate_limit_scope": "key"}, "needs one per key"),
        (
            {
                "limiter": {
                    "reader": SlidingWindowLimiter(),
                    "trader": SlidingWindowLimiter(),
                    "ghost": SlidingWindowLimiter(),
                },
                "rate_limit_scope": "key",
            },
            "names no key labelled 'ghost'",
        ),
    ],
)
def test_per_key_limiters_must_match_the_keys(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        client_with(answering(), **options)
    assert message in str(caught.value)


async def test_key_budgets_against_an_exchange_that_counts_per_key() -> None:
    async with FakeBitstamp(rate_limits=[(3, 600.0)], rate_limit_scope="key") as fake:
        account = fake.add_account("mainkey1", SPARE_SECRET, {"usd": "100"})
        fake.add_api_key(account, "readkey1", READ_SECRET, permissions={"read"})
        fake.add_api_key(account, "tradekey1", TRADE_SECRET, permissions={"trade"})
        async with Client(
            keys=[READER, TRADER],
            base_url=fake.url,
            rate_limits=((3, 600.0),),
            rate_limit_scope="key",
        ) as client:
            async with asyncio.timeout(_GUARD):
                for _ in range(3):
                    await client.account_balances()
                    await client.cancel_all_orders()
        assert fake.stats.rate_limited == 0
        assert fake.stats.requests == 6


# -- rotation ------------------------------------------------------------------------------


async def test_rotation_waits_for_requests_signed_with_the_old_key() -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def hold_the_first(request: Request) -> None:
        if not entered.is_set():
            entered.set()
            await release.wait()

    transport = answering(hold_the_first)
    new = Credentials("readkey2", SPARE_SECRET, label="reader", permissions={"read"})
    async with client_with(transport) as client:
        first = asyncio.create_task(client.account_balances())
        await entered.wait()  # signed with the old key and on the wire
        drained = asyncio.ensure_future(client.rotate_key(new))  # swapped when called
        assert client.keys["reader"] is new
        await client.open_orders()  # the new key, at once
        assert not drained.done()  # the old key still has a request out
        release.set()
        await first
        await drained
        assert client.keys["reader"] is new
    assert [key_of(r) for r in transport.requests] == ["readkey1", "readkey2"]


async def test_a_retry_after_a_rotation_is_signed_with_the_new_key() -> None:
    new = Credentials("readkey2", SPARE_SECRET, label="reader", permissions={"read"})
    rotations: list[Any] = []
    client_box: list[Client] = []

    def first_fails(request: Request) -> Response | None:
        if not rotations:
            rotations.append(client_box[0].rotate_key(new))
            return Response(503, {"Retry-After": "0"}, b'{"status": "error", "reason": "busy"}')
        return None

    transport = answering(first_fails)
    async with client_with(transport) as client:
        client_box.append(client)
        await client.account_balances()
        await rotations[0]
    assert [key_of(r) for r in transport.requests] == ["readkey1", "readkey2"]


async def test_rotation_recomputes_routing_and_refuses_what_breaks_it() -> None:
    transport = answering()
    async with client_with(transport, routing={"open_orders": "reader"}) as client:
        with pytest.raises(InvalidParameterError, match="no key labelled 'ghost'"):
            await client.rotate_key(READER.replace(label="ghost"))
        narrowed = Credentials("readkey2", SPARE_SECRET, label="reader", permissions={"earn"})
        with pytest.raises(InvalidParameterError, match="routing sends open_orders"):
            await client.rotate_key(narrowed)
        assert client.keys["reader"] is READER  # nothing changed
        with pytest.raises(InvalidParameterError, match="takes Credentials"):
            await client.rotate_key("readkey2")  # type: ignore[arg-type]
        # A wider trader takes over reads the reader no longer covers.
        await client.rotate_key(TRADER.replace(permissions=None))
        await client.rotate_key(narrowed.replace(permissions={"open_orders"}))
        await client.account_balances()
        await client.open_orders()
        await client.rotate_key(client.keys["reader"])  # the same key: nothing to do
    assert [key_of(r) for r in transport.requests] == ["tradekey1", "readkey2"]


class CountingTransport(AiohttpTransport):
    """The real transport behind a first-come-first-served queue of ``wire`` sends at a
    time (a slow link: thousands signed and waiting, a hundred on the wire), counting the
    requests in flight and done per API key.

    The queue is the test's, not the client's: with more requests than connections,
    aiohttp hands a freed connection to whoever asks next rather than to the longest
    waiting, and the emulator's listen backlog drops connection attempts beyond it, so a
    few requests could starve into a timeout, which is not what this test is about."""

    def __init__(self, wire: int = 100) -> None:
        super().__init__(timeouts=Timeouts(total=_GUARD * 4), connection_limit=wire)
        self._wire = asyncio.Semaphore(wire)
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.done: collections.Counter[str] = collections.Counter()
        self.total = 0
        self.milestone: tuple[int, asyncio.Event] | None = None

    async def send(self, request: Request, path: str) -> Response:
        key = key_of(request)
        self.in_flight[key] += 1
        try:
            async with self._wire:
                return await super().send(request, path)
        finally:
            self.in_flight[key] -= 1
            self.done[key] += 1
            self.total += 1
            if self.milestone is not None and self.total >= self.milestone[0]:
                self.milestone[1].set()

    async def reach(self, total: int) -> None:
        event = asyncio.Event()
        self.milestone = (total, event)
        if self.total >= total:
            event.set()
        await event.wait()


async def test_thousands_in_flight_while_rotating_repeatedly_lose_nothing() -> None:
    workers, rotations, spacing = 1000, 8, 400
    async with FakeBitstamp(rate_limits=None) as fake:
        account = fake.add_account("mainkey1", SPARE_SECRET, {"usd": "100"})
        keys = [
            Credentials(f"rotkey{n}", secret(f"Rot{n}"), label="bot", permissions={"read"})
            for n in range(rotations + 1)
        ]
        fake.add_api_key(account, keys[0].api_key, keys[0].api_secret, permissions={"read"})
        transport = CountingTransport()
        stop = False
        failures: list[BaseException] = []

        async with Client(
            keys=[keys[0]], base_url=fake.url, transport=transport, rate_limits=None
        ) as client:

            async def worker() -> None:
                while not stop and not failures:
                    try:
                        await client.account_balances()
                    except BitstampError as error:
                        failures.append(error)
                        for milestone in [transport.milestone]:
                            if milestone is not None:
                                milestone[1].set()  # end the test: it has failed

            tasks = [asyncio.create_task(worker()) for _ in range(workers)]
            overlapping = []
            async with asyncio.timeout(120):  # a failure guard
                for n in range(1, rotations + 1):
                    await transport.reach(n * spacing)
                    if failures:
                        break
                    old, new = keys[n - 1], keys[n]
                    fake.add_api_key(account, new.api_key, new.api_secret, permissions={"read"})
                    overlapping.append(transport.in_flight[old.api_key])
                    await client.rotate_key(new)
                    # Returned: nothing signed with the old key awaits an answer, so
                    # deleting it at the exchange cannot fail a request.
                    drained = transport.in_flight[old.api_key] == 0
                    fake.remove_api_key(old.api_key)
                    assert drained
                if not failures:
                    await transport.reach((rotations + 1) * spacing)
                stop = True
                await asyncio.gather(*tasks)
        assert failures == []
        assert fake.stats.auth_failures == collections.Counter()
        assert transport.total >= (rotations + 1) * spacing
        # Every rotation happened with requests of the old key on the wire, and every key
        # carried requests.
        assert min(overlapping) > 0
        assert all(transport.done[key.api_key] > 0 for key in keys)


# -- auth errors that help ------------------------------------------------------------------


async def auth_error(
    fake: FakeBitstamp, credentials: Credentials, call: str = "account_balances"
) -> BitstampError:
    async with Client(keys=[credentials], base_url=fake.url, validate_markets=False) as client:
        with pytest.raises(BitstampError) as caught:
            await getattr(client, call)()
    return caught.value


@pytest.fixture
async def fake() -> Any:
    async with FakeBitstamp(rate_limits=None) as running:
        account = running.add_account("mainkey1", SPARE_SECRET, {"usd": "100"})
        running.add_api_key(account, "readkey1", READ_SECRET, permissions={"read"})
        running.add_api_key(account, "fencedkey1", TRADE_SECRET, allowed_ips={"192.0.2.7"})
        yield running


async def test_api0001_an_unknown_key_says_check_for_typos(fake: FakeBitstamp) -> None:
    error = await auth_error(fake, Credentials("readkey", READ_SECRET, label="bot"))
    assert isinstance(error, AuthenticationError) and error.code == "API0001"
    message = str(error)
    assert message.startswith("API0001: API key not found -- the exchange does not know key 'bot'")
    assert "api_key 'read…', 7 characters" in message
    assert "typos, stray whitespace" in message and "not revoked" in message
    assert error.key_label == "bot" and error.attempts == 1


async def test_api0011_a_malformed_key_says_check_for_typos(fake: FakeBitstamp) -> None:
    error = await auth_error(fake, Credentials("read-key'1", READ_SECRET, label="bot"))
    assert error.code == "API0011"
    assert "key 'bot' (api_key 'read…', 10 characters) is not in the form" in str(error)
    assert "typos, stray whitespace and quotes" in str(error)


async def test_api0002_says_the_address_is_not_on_the_keys_allow_list(fake: FakeBitstamp) -> None:
    error = await auth_error(fake, Credentials("fencedkey1", TRADE_SECRET, label="fenced"))
    assert isinstance(error, PermissionDeniedError) and error.code == "API0002"
    assert "key 'fenced'" in str(error) and "IP allow-list" in str(error)
    assert "add the address to the key's allowed IPs" in str(error)


async def test_api0003_names_the_endpoint_the_key_and_the_permission(fake: FakeBitstamp) -> None:
    unsaid = Credentials("readkey1", READ_SECRET, label="reader")
    error = await auth_error(fake, unsaid, "cancel_all_orders")
    assert isinstance(error, PermissionDeniedError) and error.code == "API0003"
    message = str(error)
    assert (
        "key 'reader' (api_key 'read…', 8 characters) has no permission for "
        "POST /api/v2/cancel_all_orders/: cancel_all_orders needs 'cancel_all_orders' "
        "(scope 'trade')"
    ) in message
    assert "Credentials(..., permissions={'trade'})" in message
    assert "was told" not in message
    # A key said to have it, that has not: the message says the two disagree.
    wrong = Credentials("readkey1", READ_SECRET, label="reader", permissions={"read", "trade"})
    error = await auth_error(fake, wrong, "cancel_all_orders")
    assert "the client was told this key has read, trade, and the exchange disagrees" in str(error)


async def test_api0005_a_wrong_secret_says_check_the_secret(fake: FakeBitstamp) -> None:
    error = await auth_error(fake, Credentials("readkey1", TRADE_SECRET, label="reader"))
    assert error.code == "API0005"
    assert "the signature made with key 'reader'" in str(error)
    assert "check that the secret is the one shown" in str(error)
    assert not leaks([rendered(error)])


async def test_errors_of_signed_calls_name_their_key_and_public_ones_none(
    fake: FakeBitstamp,
) -> None:
    async with Client(keys=[READER], base_url=fake.url) as client:
        with pytest.raises(BitstampError) as caught:
            await client.ticker("nosuchpair")
        assert caught.value.key_label is None
        with pytest.raises(BitstampError) as caught:
            await client.order_status(order_id="424242")
        assert caught.value.key_label == "reader"
        assert "--" not in str(caught.value)  # not an auth error: no advice added


# -- the kill switch -----------------------------------------------------------------------


async def test_the_kill_switch_ends_every_key_and_token_at_once() -> None:
    async with FakeBitstamp(rate_limits=None) as fake:
        account = fake.add_account("mainkey1", SPARE_SECRET, {"usd": "100"})
        fake.add_api_key(account, "readkey1", READ_SECRET, permissions={"read"})
        fake.add_api_key(account, "tradekey1", TRADE_SECRET, permissions={"trade", "kill_switch"})
        other = fake.add_account("otherkey1", secret("Bystander"), {"usd": "1"})
        killer = TRADER.replace(permissions={"trade", "kill_switch"})
        async with Client(keys=[READER, killer], base_url=fake.url) as client:
            token = await client.websockets_token()
            assert fake.check_ws_token(token.token) == account.user_id
            revoked = await client.revoke_all_api_keys()
            assert sorted(revoked.api_keys) == ["mainkey1", "readkey1", "tradekey1"]
            # At once, for every key and for the streams' token.
            assert fake.check_ws_token(token.token) is None
            for call in ("account_balances", "cancel_all_orders", "websockets_token"):
                with pytest.raises(AuthenticationError) as caught:
                    await getattr(client, call)()
                assert caught.value.code == "API0001"
                assert "not revoked" in str(caught.value)
        # Another account's key is untouched.
        assert "otherkey1" in fake.accounts and fake.accounts["otherkey1"] is other


async def test_the_kill_switch_needs_a_key_said_to_have_it() -> None:
    transport = answering()
    async with client_with(transport) as client:
        with pytest.raises(MissingPermissionError, match="scope 'kill_switch'"):
            await client.revoke_all_api_keys()
    assert transport.requests == []


# -- the emulator's keys ---------------------------------------------------------------------


async def test_emulator_keys_answer_with_their_own_secret_and_rules() -> None:
    async with FakeBitstamp(rate_limits=None) as fake:
        account = fake.add_account("mainkey1", SPARE_SECRET, {"usd": "100"})
        extra = fake.add_api_key(account, "readkey1", READ_SECRET, permissions={"read"})
        assert extra.account is account and "readkey1" in fake.accounts
        # require_response_signature: the answer is signed with the extra key's secret.
        async with Client(
            keys=[READER.replace(permissions=None)],
            base_url=fake.url,
            require_response_signature=True,
        ) as client:
            balances = await client.account_balances()
            assert {row.currency for row in balances} >= {"usd"}
            with pytest.raises(PermissionDeniedError):
                await client.cancel_all_orders()
            extra.permissions = frozenset({"read", "cancel_all_orders"})
            await client.cancel_all_orders()
            fake.remove_api_key("readkey1")
            with pytest.raises(AuthenticationError, match="API0001"):
                await client.account_balances()
        with pytest.raises(ValueError, match="already exists"):
            fake.add_api_key(account, "mainkey1", secret("Dup"))
        with pytest.raises(ValueError, match="unknown permissions"):
            fake.add_api_key(account, "newkey1", secret("New"), permissions={"reed"})
        with pytest.raises(ValueError, match="no API key"):
            fake.remove_api_key("readkey1")


async def test_a_rate_limit_names_the_key_and_what_to_do() -> None:
    async with FakeBitstamp(rate_limits=[(1, 600.0)], rate_limit_scope="key") as fake:
        fake.add_account("readkey1", READ_SECRET, {"usd": "1"})
        async with Client(
            keys=[READER],
            base_url=fake.url,
            rate_limits=None,
            retry=RetryPolicy(max_attempts=1),
        ) as client:
            await client.account_balances()
            with pytest.raises(RateLimitError) as caught:
                await client.account_balances()
    error = caught.value
    assert error.key_label == "reader"
    assert str(error).startswith(
        "400.002: Request rejected due to exceeded rate limit. -- rate limited while using "
        "key 'reader' (api_key 'read…', 8 characters): the client paced and retried already"
    )
    assert "RedisLimiter" in str(error) and "rate_limit_scope='host'" in str(error)


async def test_key_scope_through_redis_keeps_one_namespace_per_key(tmp_path: Path) -> None:
    from redis.asyncio import Redis

    from aiobitstamp import RedisLimiter

    with redis_server(tmp_path) as url:
        limits = ((3, 600.0),)
        shared = {
            "reader": RedisLimiter(url, key="bitstamp:readkey1", limits=limits),
            "trader": RedisLimiter(url, key="bitstamp:tradekey1", limits=limits),
        }
        transport = answering()
        async with client_with(transport, limiter=shared, rate_limit_scope="key") as client:
            for _ in range(3):
                await client.account_balances()
            await client.cancel_all_orders()
        assert await shared["reader"].headroom() == (0,)
        assert await shared["trader"].headroom() == (2,)
        redis = Redis.from_url(url)
        names = {name.decode() for name in await redis.keys("aiobitstamp:*")}
        await redis.aclose()
        for limiter in shared.values():
            await limiter.aclose()
    assert {name.split(":window")[0] for name in names if ":window" in name} == {
        "aiobitstamp:{bitstamp:readkey1}",
        "aiobitstamp:{bitstamp:tradekey1}",
    }
