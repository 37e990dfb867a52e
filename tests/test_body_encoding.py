"""Private bodies: form-encoded (the fact sheet) or, for the 8 operations the official spec
declares ``application/json``, JSON (``body_encoding="spec"``). The sources disagree, so
the emulator has a switch and the client is tried against both readings."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from aiobitstamp import AiohttpTransport, AuthenticationError, Client, InvalidParameterError
from aiobitstamp._models.earn import EarnSetting, EarnType
from aiobitstamp._pipeline import json_body
from aiobitstamp._routes import ROUTES, JsonBody
from aiobitstamp._transport import Request, Response
from aiobitstamp.testing import FakeBitstamp
from aiobitstamp.testing._switches import SPEC_JSON_BODY_PATHS

from .test_funding import START, FundingClient
from .test_travel_rule import ANA

KEY, SECRET = "bodyencoding01", "body-encoding-secret"


def test_client_and_emulator_mark_the_same_operations() -> None:
    """Both lists are written from the reference's SOURCE.txt (caveat 6), independently."""
    marked = {route.template for route in ROUTES.values() if route.json_body is not None}
    assert marked == SPEC_JSON_BODY_PATHS
    assert len(marked) == 8
    assert all(ROUTES[name].method == "POST" for name in ROUTES if ROUTES[name].json_body)


def test_json_body_writes_numbers_objects_and_strings_as_the_spec_types_them() -> None:
    spec = JsonBody(numbers=frozenset({"amount"}), objects=frozenset({"retail_info"}))
    form = {
        "amount": "123456789.123456789012",
        "retail_info": '{"first_name":"Ana"}',
        "currency": 'B"TC\\',
    }
    body = json_body(form, spec)
    decoded = json.loads(body, parse_float=Decimal)
    assert decoded == {
        "amount": Decimal("123456789.123456789012"),  # every digit, never a float
        "retail_info": {"first_name": "Ana"},
        "currency": 'B"TC\\',
    }


class Recording(AiohttpTransport):
    """The real transport, keeping the Content-Type and body of each signed POST."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, bytes]] = []

    async def send(self, request: Request, path: str) -> Response:
        if request.method == "POST" and request.body:
            self.sent.append((path, request.headers.get("Content-Type", ""), request.body))
        return await super().send(request, path)


Call = Callable[[FundingClient], Awaitable[object]]


async def _order_status(client: FundingClient) -> object:
    bid = (await client.ticker("btcusd")).bid
    order = await client.buy_limit("btcusd", "0.001", (bid * Decimal("0.9")).quantize(1))
    return await client.order_status(order.id, omit_transactions=True)


CALLS: dict[str, Call] = {
    "{currency}_address/": lambda c: c.deposit_address("btc", network="bitcoin"),
    "fees/withdrawal/{currency}/": lambda c: c.withdrawal_fee("eth", network="ethereum"),
    "order_status/": _order_status,
    "earn/subscribe/": lambda c: c.earn_subscribe("usdc", "100.5", EarnType.LENDING),
    "earn/subscriptions/setting/": lambda c: c.earn_subscription_setting(
        "eth", EarnType.STAKING, EarnSetting.OPT_IN
    ),
    "travel_rule/contacts/": lambda c: c.create_travel_rule_contact("Ana", retail_info=ANA),
}


async def _run(
    path: str, *, client_encoding: str, spec_json_bodies: bool
) -> tuple[Any, list[tuple[str, str, bytes]]]:
    async with FakeBitstamp(rate_limits=None, message_rate=0) as exchange:
        exchange.switches.spec_json_bodies = spec_json_bodies
        exchange.add_account(KEY, SECRET, dict(START))
        transport = Recording()
        async with FundingClient(
            KEY,
            SECRET,
            base_url=exchange.url,
            rate_limits=None,
            transport=transport,
            body_encoding=client_encoding,
        ) as client:
            result = await CALLS[path](client)
        return result, transport.sent


@pytest.mark.parametrize("path", sorted(CALLS))
async def test_spec_json_bodies_are_accepted_where_the_spec_declares_them(path: str) -> None:
    result, sent = await _run(path, client_encoding="spec", spec_json_bodies=True)
    assert result is not None or path.startswith("earn/")  # earn writes answer nothing
    bodies = [(kind, body) for sent_path, kind, body in sent if _is(path, sent_path)]
    assert bodies and all(content_type == "application/json" for content_type, _ in bodies)
    assert all(isinstance(json.loads(body), dict) for _, body in bodies)


@pytest.mark.parametrize("path", sorted(CALLS))
async def test_form_bodies_work_under_both_readings(path: str) -> None:
    for spec_json_bodies in (False, True):
        _, sent = await _run(path, client_encoding="form", spec_json_bodies=spec_json_bodies)
        types = {content_type for sent_path, content_type, _ in sent if _is(path, sent_path)}
        assert types == {"application/x-www-form-urlencoded"}


@pytest.mark.parametrize("path", sorted(CALLS))
async def test_json_bodies_meet_the_fact_sheets_reading_with_api0019(path: str) -> None:
    """Where the exchange takes only forms, the spec's reading fails loudly, never quietly."""
    with pytest.raises(AuthenticationError) as info:
        await _run(path, client_encoding="spec", spec_json_bodies=False)
    assert info.value.code == "API0019"


async def test_other_routes_stay_form_encoded_in_spec_mode() -> None:
    _, sent = await _run("order_status/", client_encoding="spec", spec_json_bodies=True)
    buys = [content_type for path, content_type, _ in sent if path.endswith("/buy/btcusd/")]
    assert buys == ["application/x-www-form-urlencoded"]


def test_body_encoding_is_checked() -> None:
    with pytest.raises(InvalidParameterError, match="body_encoding"):
        Client(body_encoding="json")


def _is(template: str, sent_path: str) -> bool:
    """Whether ``sent_path`` (``/api/v2/btc_address/``) is an instance of ``template``."""
    head, _, tail = template.partition("{currency}")
    rest = sent_path.removeprefix("/api/v2/")
    if not _:
        return rest == template
    return rest.startswith(head) and rest.endswith(tail) and rest != head + tail


async def test_earn_amounts_go_as_json_numbers_and_contacts_as_nested_objects() -> None:
    _, sent = await _run("earn/subscribe/", client_encoding="spec", spec_json_bodies=True)
    (body,) = [body for path, _, body in sent if path.endswith("/earn/subscribe/")]
    assert json.loads(body, parse_float=Decimal)["amount"] == Decimal("100.5")
    assert b'"amount":100.5' in body
    _, sent = await _run("travel_rule/contacts/", client_encoding="spec", spec_json_bodies=True)
    (body,) = [body for path, _, body in sent if path.endswith("/travel_rule/contacts/")]
    assert json.loads(body)["retail_info"]["first_name"] == "Ana"


@pytest.mark.parametrize("seed", range(5))
def test_json_body_round_trips_any_text(seed: int) -> None:
    """Strings of any characters (quotes, backslashes, controls, emoji) come back as sent."""
    import random

    rng = random.Random(seed)
    alphabet = 'aZ09 "\\/\n\t\x00\x1fé€😀&=+%'
    form = {
        f"f{index}": "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        for index in range(20)
    }
    assert json.loads(json_body(form, JsonBody())) == form
