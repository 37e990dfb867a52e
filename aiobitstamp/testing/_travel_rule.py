"""Travel-rule contacts on the emulated exchange (``travel_rule/contacts/``).

Written from Bitstamp's OpenAPI spec (``TravelRulePrivateApi``, ``ContactSchema``,
``RetailInfo``, ``CorporateInfo``). A contact belongs to the account that made it; its id is
a UUID. Crypto withdrawals may name one (``contact_uuid``); ``_funding`` asks
:meth:`ContactBook.has`.

The spec declares a JSON body for creating a contact, which the emulator's router (like the
client's pipeline) does not carry: it reads a form. ``description`` is a plain field;
``retail_info`` and ``corporate_info``, objects in the spec, are read as form fields holding
their JSON text. That encoding has no source; it is the one place the emulator and the
client share a rule nobody confirmed (see ``aiobitstamp._api.travel_rule``).

The list is a bare array (the spec's ``[ContactSchema]``) paged by ``page`` and
``per_page``; its order is a switch (``contacts_newest_first``).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import orjson

from ._accounts import FakeAccount
from ._errors import ApiError
from ._funding import FundingSwitches

__all__ = ["Contact", "ContactBook"]

PrivateEndpoint = Callable[[FakeAccount, dict[str, str], Mapping[str, str]], object]

_RETAIL_FIELDS: Final = (
    "first_name",
    "last_name",
    "date_of_birth",
    "street_and_house_number",
    "zip",
    "city",
    "country",
)
_CORPORATE_FIELDS: Final = ("company_name", "address", "country")
_COUNTRY: Final = re.compile(r"[A-Z]{2}")
_MAX_PER_PAGE: Final = 1000


@dataclass(frozen=True)
class Contact:
    """One contact: who made it, its id, and its wire object."""

    owner: FakeAccount
    id: str
    payload: dict[str, object]


def _bad(name: str, message: str) -> ApiError:
    return ApiError.coded("400.001", {name: [message]})


class ContactBook:
    """Every account's travel-rule contacts."""

    def __init__(self, *, switches: FundingSwitches, seed: int = 1) -> None:
        self.switches = switches
        self._random = random.Random(f"{seed}:contacts")
        self._contacts: dict[str, Contact] = {}

    def handlers(self) -> dict[str, PrivateEndpoint]:
        """Route name -> handler, for every travel-rule contact route."""
        return {
            "travel_rule_contacts": self.list,
            "travel_rule_contact": self.get,
            "create_travel_rule_contact": self.create,
        }

    def has(self, account: FakeAccount, contact_uuid: str) -> bool:
        """Whether ``account`` made the contact ``contact_uuid``."""
        found = self._contacts.get(contact_uuid.lower())
        return found is not None and found.owner is account

    def create(
        self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]
    ) -> object:
        """``POST travel_rule/contacts/``: the new ``ContactSchema``."""
        description = form.get("description", "")
        if not description.strip():
            raise _bad("description", "Missing data for required field.")
        payload: dict[str, object] = {"description": description}
        retail = self._nested(form, "retail_info", _RETAIL_FIELDS)
        corporate = self._nested(form, "corporate_info", _CORPORATE_FIELDS)
        if retail is not None:
            payload["retail_info"] = retail
        if corporate is not None:
            payload["corporate_info"] = corporate
        contact_id = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        payload = {"id": contact_id, **payload}
        self._contacts[contact_id] = Contact(account, contact_id, payload)
        return payload

    @staticmethod
    def _nested(
        form: Mapping[str, str], name: str, fields: tuple[str, ...]
    ) -> dict[str, str] | None:
        text = form.get(name)
        if text is None or text == "":
            return None
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _bad(name, "Not a valid object.") from None
        if not isinstance(value, dict):
            raise _bad(name, "Not a valid object.")
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise _bad(f"{name}.{unknown[0]}", "Unknown field.")
        checked: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(item, str):
                raise _bad(f"{name}.{key}", "Not a valid string.")
            if key == "country" and not _COUNTRY.fullmatch(item):
                raise _bad(f"{name}.country", "Not a valid ISO 3166-1 alpha-2 country code.")
            if key == "date_of_birth":
                try:
                    dt.date.fromisoformat(item)
                except ValueError:
                    raise _bad(f"{name}.date_of_birth", "Not a valid date.") from None
            checked[key] = item
        return checked

    def list(self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]) -> object:
        """``GET travel_rule/contacts/?page=&per_page=``: one page, a bare list."""
        page = self._positive(form, "page", 1, 10**6)
        per_page = self._positive(form, "per_page", 100, _MAX_PER_PAGE)
        mine = [c.payload for c in self._contacts.values() if c.owner is account]
        if self.switches.contacts_newest_first:
            mine.reverse()
        start = (page - 1) * per_page
        return mine[start : start + per_page]

    @staticmethod
    def _positive(form: Mapping[str, str], name: str, default: int, high: int) -> int:
        text = form.get(name)
        if text is None or text == "":
            return default
        if not text.isdigit() or not 1 <= int(text) <= high:
            raise _bad(name, f"Must be between 1 and {high}.")
        return int(text)

    def get(self, account: FakeAccount, form: dict[str, str], match: Mapping[str, str]) -> object:
        """``GET travel_rule/contacts/{contact_uuid}/``."""
        found = self._contacts.get(match["contact_uuid"].lower())
        if found is None or found.owner is not account:
            raise ApiError.coded("404.001", "Contact with given contact uuid is not found.")
        return found.payload
