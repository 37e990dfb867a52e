"""Travel rule: contacts (checks before sending, create, get, list, a walk that gives each
contact once while new ones arrive) and the travel-rule fields of crypto withdrawals."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest

from aiobitstamp import (
    ExchangeError,
    InvalidParameterError,
    NotFoundError,
    Request,
    Response,
    UnexpectedResponseError,
)
from aiobitstamp._models.travel_rule import CorporateInfo, RetailInfo, TravelRuleContact

from .test_client import json_response
from .test_funding import BTC_ADDRESS, FundingClient, emulator, form_of, mock, unchecked

ANA = RetailInfo(
    first_name="Ana",
    last_name="Novak",
    date_of_birth=dt.date(1990, 5, 17),
    street_and_house_number="Presernova 1",
    zip="1000",
    city="Ljubljana",
    country="SI",
)

REFUSALS: list[tuple[str, Callable[[FundingClient], Any], str]] = [
    ("empty description", lambda c: c.create_travel_rule_contact(""), "description"),
    ("description with a tab", lambda c: c.create_travel_rule_contact("a\tb"), "printable"),
    (
        "both a person and a company",
        lambda c: c.create_travel_rule_contact(
            "x", retail_info=ANA, corporate_info=CorporateInfo(company_name="F")
        ),
        "not both",
    ),
    (
        "country in lower case",
        lambda c: c.create_travel_rule_contact("x", retail_info=RetailInfo(country="si")),
        "country",
    ),
    (
        "born tomorrow",
        lambda c: c.create_travel_rule_contact(
            "x", retail_info=RetailInfo(date_of_birth=dt.date.today() + dt.timedelta(days=1))
        ),
        "past",
    ),
    (
        "born at a time of day",
        lambda c: c.create_travel_rule_contact(
            "x", retail_info=RetailInfo(date_of_birth=dt.datetime(1990, 1, 1))
        ),  # type: ignore[arg-type]
        "date",
    ),
    (
        "a dict for retail info",
        lambda c: c.create_travel_rule_contact("x", retail_info={"first_name": "Ana"}),
        "RetailInfo",
    ),  # type: ignore[arg-type]
    (
        "company name with a newline",
        lambda c: c.create_travel_rule_contact(
            "x", corporate_info=CorporateInfo(company_name="A\nB")
        ),
        "printable",
    ),
    ("contact id not a uuid", lambda c: c.travel_rule_contact("ana"), "contact_uuid"),
    ("per_page 0", lambda c: c.travel_rule_contacts(per_page=0), "per_page"),
    ("page 0", lambda c: c.travel_rule_contacts(page=0), "page"),
    (
        "walk per_page above 1000",
        lambda c: anext(c.iter_travel_rule_contacts(per_page=1001)),
        "per_page",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"), [pytest.param(call, message, id=name) for name, call, message in REFUSALS]
)
async def test_refusals_send_nothing(call: Callable[[FundingClient], Any], message: str) -> None:
    async with emulator() as (exchange, client, _):
        with pytest.raises(InvalidParameterError, match=message):
            await call(client)
        assert exchange.stats.requests == 0


async def test_create_get_and_list_contacts() -> None:
    async with emulator() as (_, client, _account):
        ana = await client.create_travel_rule_contact("Ana at home", retail_info=ANA)
        firm = await client.create_travel_rule_contact(
            "Supplier", corporate_info=CorporateInfo(company_name="Firm d.o.o.", country="SI")
        )
        assert uuid.UUID(ana.id) and ana.retail_info == ANA and ana.corporate_info is None
        assert firm.corporate_info == CorporateInfo(company_name="Firm d.o.o.", country="SI")
        assert await client.travel_rule_contact(ana.id) == ana
        assert await client.travel_rule_contact(uuid.UUID(firm.id)) == firm
        assert await client.travel_rule_contacts() == [ana, firm]
        with pytest.raises(NotFoundError):
            await client.travel_rule_contact(uuid.uuid4())


async def test_contacts_are_the_account_s_own() -> None:
    async with emulator() as (exchange, client, _account):
        exchange.add_account("otherkey1", "othersecret1")
        mine = await client.create_travel_rule_contact("mine")
        async with FundingClient(
            "otherkey1", "othersecret1", base_url=exchange.url, rate_limits=None
        ) as other:
            assert await other.travel_rule_contacts() == []
            with pytest.raises(NotFoundError):
                await other.travel_rule_contact(mine.id)


@pytest.mark.parametrize("newest_first", [False, True])
async def test_walk_gives_each_contact_once_while_new_ones_arrive(newest_first: bool) -> None:
    async with emulator() as (exchange, client, _account):
        exchange.funding_switches.contacts_newest_first = newest_first
        before = {(await client.create_travel_rule_contact(f"c{n}")).id for n in range(11)}
        added: set[str] = set()
        given: list[str] = []
        async for contact in client.iter_travel_rule_contacts(per_page=3):
            given.append(contact.id)
            if len(given) % 3 == 0:
                added.add((await client.create_travel_rule_contact(f"new{len(given)}")).id)
        assert len(given) == len(set(given))
        assert before <= set(given)
        if not newest_first:
            assert added <= set(given)


async def test_withdrawal_to_a_third_party_names_a_contact() -> None:
    async with emulator() as (exchange, client, account):
        contact = await client.create_travel_rule_contact("Ana", retail_info=ANA)
        [vasp] = (await client.travel_rule_vasps())[:1]
        placed = await client.withdraw(
            "btc",
            "0.1",
            BTC_ADDRESS,
            contact_thirdparty=True,
            contact_uuid=contact.id,
            vasp_uuid=vasp.uuid,
        )
        assert exchange.withdrawal(placed.id).details == {
            "contact_uuid": contact.id,
            "vasp_uuid": vasp.uuid,
        }
        with pytest.raises(ExchangeError, match="Contact does not exist"):
            await client.withdraw(
                "btc", "0.1", BTC_ADDRESS, contact_thirdparty=True, contact_uuid=uuid.uuid4()
            )
        with pytest.raises(ExchangeError, match="Vasp does not exist"):
            await client.withdraw("btc", "0.1", BTC_ADDRESS, vasp_uuid=uuid.uuid4())
        assert account.balance("btc").reserved == exchange.withdrawal(placed.id).amount + (
            exchange.withdrawal(placed.id).fee
        )


async def test_when_the_travel_rule_is_mandatory() -> None:
    async with emulator() as (exchange, client, _account):
        exchange.funding_switches.travel_rule_required = True
        with pytest.raises(ExchangeError, match="contact_thirdparty: This field is required"):
            await client.withdraw("btc", "0.1", BTC_ADDRESS)
        placed = await client.withdraw("btc", "0.1", BTC_ADDRESS, contact_thirdparty=False)
        assert exchange.withdrawal(placed.id).amount == Decimal("0.1")


async def test_wire_of_a_new_contact_and_of_a_page() -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        if request.method == "GET":
            return json_response({"data": [], "pagination": {"page": 2}})
        return json_response(
            {"id": str(uuid.uuid4()), **form_of(request)}
            | {"retail_info": json.loads(form_of(request)["retail_info"])}
        )

    transport = mock({"/api/v2/travel_rule/contacts/": answer})
    async with unchecked(transport) as client:
        created = await client.create_travel_rule_contact("Ana", retail_info=ANA)
        assert await client.travel_rule_contacts(page=2, per_page=50) == []
    form = form_of(seen[0])
    assert form["description"] == "Ana"
    assert json.loads(form["retail_info"]) == {
        "first_name": "Ana",
        "last_name": "Novak",
        "date_of_birth": "1990-05-17",
        "street_and_house_number": "Presernova 1",
        "zip": "1000",
        "city": "Ljubljana",
        "country": "SI",
    }
    assert created.retail_info == ANA
    assert seen[1].method == "GET" and "X-Auth" in seen[1].headers
    assert dict(parse_qsl(seen[1].url.split("?", 1)[1])) == {"page": "2", "per_page": "50"}


@pytest.mark.parametrize(
    "payload",
    [
        [{"description": "no id"}],
        [{"id": "x", "description": 5}],
        [{"id": "x", "description": "d", "retail_info": {"date_of_birth": "17.5.1990"}}],
        {"data": "nope"},
    ],
)
async def test_malformed_contacts_raise_unexpected_response(payload: object) -> None:
    transport = mock({"/api/v2/travel_rule/contacts/": lambda r: json_response(payload)})
    async with unchecked(transport) as client:
        with pytest.raises(UnexpectedResponseError):
            await client.travel_rule_contacts()


def test_contact_list_reads_a_bare_list_or_an_envelope() -> None:
    row = {"id": "6f1c", "description": "d"}
    assert TravelRuleContact.list_from_wire([row]) == TravelRuleContact.list_from_wire(
        {"data": [row], "pagination": {"page": 1, "size": 100}}
    )
