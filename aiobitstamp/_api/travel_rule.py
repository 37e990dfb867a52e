"""Travel rule: contacts, the beneficiaries a crypto withdrawal can name.

A withdrawal to an address in someone else's name carries ``contact_thirdparty=True`` and
the ``contact_uuid`` of a contact made here (see ``FundingAPI.withdraw``); the exchange
announced that this becomes mandatory.

**How a new contact travels.** The spec declares a JSON body for ``POST
travel_rule/contacts/``, but this client's request pipeline sends form bodies only (as the
fact sheet says every private POST takes). The flat field ``description`` goes as it is;
the nested ``retail_info`` and ``corporate_info`` objects go as form fields holding their
JSON text, with the spec's field names. That encoding is unconfirmed: no source shows the
endpoint taking a form body. It lives in ``_contact_form`` alone, to be replaced by a JSON
body once the pipeline can send one.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import AsyncIterator

import orjson

from .. import _params as params
from .._exceptions import InvalidParameterError
from .._models.travel_rule import CorporateInfo, RetailInfo, TravelRuleContact
from ._base import ApiBase

__all__ = ["TravelRuleAPI"]

_MAX_PER_PAGE = 1000
_MAX_TEXT = 200
_MAX_DESCRIPTION = 255


class TravelRuleAPI(ApiBase):
    """Travel-rule contacts (the VASP list is public: ``travel_rule_vasps``)."""

    async def travel_rule_contacts(
        self, *, page: int = 1, per_page: int = 100
    ) -> list[TravelRuleContact]:
        """One page of the contacts made so far. See ``iter_travel_rule_contacts``."""
        query: dict[str, str | int] = {
            # No documented bound; a page past a million is a bug, not a request.
            "page": params.integer("page", page, minimum=1, maximum=1_000_000),
            "per_page": params.page_size("per_page", per_page, maximum=_MAX_PER_PAGE),
        }
        return await self._call(
            "travel_rule_contacts", TravelRuleContact.list_from_wire, query=query
        )

    async def iter_travel_rule_contacts(
        self, *, per_page: int = 100
    ) -> AsyncIterator[TravelRuleContact]:
        """Every contact, page by page, each once.

        >>> names = [c.description async for c in client.iter_travel_rule_contacts()]
        ... # doctest: +SKIP

        A contact created while the walk runs may push one already given onto the next
        page; contacts are recognised by id and not given twice. The walk ends at the
        first page shorter than ``per_page``.
        """
        size = params.page_size("per_page", per_page, maximum=_MAX_PER_PAGE)
        seen: set[str] = set()
        page = 1
        while True:
            found = await self.travel_rule_contacts(page=page, per_page=size)
            for contact in found:
                if contact.id in seen:
                    continue
                seen.add(contact.id)
                yield contact
            if len(found) < size:
                return
            page += 1

    async def travel_rule_contact(self, contact_uuid: str | uuid.UUID) -> TravelRuleContact:
        """One contact by its UUID."""
        ref = params.path_segment("contact_uuid", params.uuid_param("contact_uuid", contact_uuid))
        return await self._call(
            "travel_rule_contact", TravelRuleContact.from_wire, path={"contact_uuid": ref}
        )

    async def create_travel_rule_contact(
        self,
        description: str,
        *,
        retail_info: RetailInfo | None = None,
        corporate_info: CorporateInfo | None = None,
    ) -> TravelRuleContact:
        """Make a contact: a person (``retail_info``) or a company (``corporate_info``),
        with your own ``description`` of it. Sent at most once.

        >>> contact = await client.create_travel_rule_contact(
        ...     "Ana at home", retail_info=RetailInfo(first_name="Ana", last_name="Novak",
        ...     country="SI"))  # doctest: +SKIP
        >>> await client.withdraw("btc", "0.1", address, contact_thirdparty=True,
        ...                       contact_uuid=contact.id)  # doctest: +SKIP
        """
        form = _contact_form(description, retail_info, corporate_info)
        return await self._call(
            "create_travel_rule_contact", TravelRuleContact.from_wire, form=form
        )


def _contact_form(
    description: object, retail_info: object, corporate_info: object
) -> dict[str, str]:
    """The checked wire form of a new contact (see the module docstring)."""
    form = {"description": params.text("description", description, max_length=_MAX_DESCRIPTION)}
    if retail_info is not None and corporate_info is not None:
        raise InvalidParameterError(
            "a contact is a person or a company: give one of "
            "retail_info and corporate_info, not both"
        )
    if retail_info is not None:
        if type(retail_info) is not RetailInfo:
            raise InvalidParameterError("retail_info must be a RetailInfo")
        form["retail_info"] = _json(_retail(retail_info))
    if corporate_info is not None:
        if type(corporate_info) is not CorporateInfo:
            raise InvalidParameterError("corporate_info must be a CorporateInfo")
        form["corporate_info"] = _json(_corporate(corporate_info))
    return form


def _json(fields: dict[str, str]) -> str:
    return orjson.dumps(fields).decode()


def _optional(fields: dict[str, str], name: str, value: object) -> None:
    if value is not None:
        fields[name] = params.text(name, value, max_length=_MAX_TEXT)


def _country(fields: dict[str, str], name: str, value: object) -> None:
    if value is not None:
        fields[name] = params.text(name, value, max_length=2, pattern=params.COUNTRY_CODE_PATTERN)


def _retail(info: RetailInfo) -> dict[str, str]:
    fields: dict[str, str] = {}
    _optional(fields, "first_name", info.first_name)
    _optional(fields, "last_name", info.last_name)
    born = info.date_of_birth
    if born is not None:
        if type(born) is not _dt.date:
            raise InvalidParameterError("date_of_birth must be a datetime.date (not a datetime)")
        if born >= _dt.date.today():
            raise InvalidParameterError("date_of_birth must be in the past")
        fields["date_of_birth"] = born.isoformat()
    _optional(fields, "street_and_house_number", info.street_and_house_number)
    _optional(fields, "zip", info.zip)
    _optional(fields, "city", info.city)
    _country(fields, "country", info.country)
    return fields


def _corporate(info: CorporateInfo) -> dict[str, str]:
    fields: dict[str, str] = {}
    _optional(fields, "company_name", info.company_name)
    _optional(fields, "address", info.address)
    _country(fields, "country", info.country)
    return fields
