"""Travel rule: the contacts (beneficiaries) a crypto withdrawal can name.

Shapes follow Bitstamp's OpenAPI spec (``ContactSchema``, ``RetailInfo``,
``CorporateInfo``). A contact is a retail person or a company; the same two value classes
describe one when creating it (``Client.create_travel_rule_contact``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import _wire as wire

__all__ = ["CorporateInfo", "RetailInfo", "TravelRuleContact"]


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value.__class__ is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _date(value: Any) -> date | None:
    text = _text(value)
    if text is None:
        return None
    # "1980-02-29"; a full timestamp is cut to its date.
    return date.fromisoformat(text[:10])


def _object(cls: type[Any], obj: Any) -> Mapping[str, Any]:
    if obj.__class__ is not dict:
        wire.malformed(cls, TypeError(f"expected an object, got {type(obj).__name__}"))
    return obj


@dataclass(frozen=True, slots=True, kw_only=True)
class RetailInfo:
    """A person: the beneficiary of a withdrawal to a retail client. ``country`` is an
    ISO 3166-1 alpha-2 code (``"SI"``). Every field is optional in the spec."""

    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    street_and_house_number: str | None = None
    zip: str | None = None
    city: str | None = None
    country: str | None = None

    @classmethod
    def from_wire(cls, obj: Any) -> RetailInfo:
        payload = _object(cls, obj)
        try:
            get = payload.get
            return cls(
                first_name=_text(get("first_name")),
                last_name=_text(get("last_name")),
                date_of_birth=_date(get("date_of_birth")),
                street_and_house_number=_text(get("street_and_house_number")),
                zip=_text(get("zip")),
                city=_text(get("city")),
                country=_text(get("country")),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class CorporateInfo:
    """A company: the beneficiary of a withdrawal to a corporate client."""

    company_name: str | None = None
    address: str | None = None
    country: str | None = None

    @classmethod
    def from_wire(cls, obj: Any) -> CorporateInfo:
        payload = _object(cls, obj)
        try:
            get = payload.get
            return cls(
                company_name=_text(get("company_name")),
                address=_text(get("address")),
                country=_text(get("country")),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class TravelRuleContact:
    """A travel-rule contact: ``id`` (a UUID, pass it as ``contact_uuid`` to
    ``withdraw``), your ``description`` of it, and who it is."""

    id: str
    description: str
    retail_info: RetailInfo | None = None
    corporate_info: CorporateInfo | None = None
    raw: Mapping[str, Any] = field(default_factory=wire.empty_mapping, compare=False, repr=False)

    @classmethod
    def from_wire(cls, obj: Any) -> TravelRuleContact:
        """Parse ``{id, description, retail_info?, corporate_info?}``."""
        payload = _object(cls, obj)
        try:
            retail = payload.get("retail_info")
            corporate = payload.get("corporate_info")
            description = payload["description"]
            if description.__class__ is not str:
                raise TypeError("'description' must be a string")
            return cls(
                id=wire.identifier(payload["id"]),
                description=description,
                retail_info=None if retail is None else RetailInfo.from_wire(retail),
                corporate_info=None if corporate is None else CorporateInfo.from_wire(corporate),
                raw=wire.frozen_raw(payload),
            )
        except wire.PARSE_ERRORS as exc:
            wire.malformed(cls, exc)

    @classmethod
    def list_from_wire(cls, obj: Any) -> list[TravelRuleContact]:
        """Parse a page of ``travel_rule/contacts/``: a bare list (the spec), or the
        ``{"data": [...], "pagination": ...}`` envelope the VASP list uses."""
        rows = obj
        if obj.__class__ is dict:
            rows = obj.get("data")
        if rows.__class__ is not list:
            wire.malformed(cls, TypeError("expected a list of contacts"))
        return [cls.from_wire(row) for row in rows]
