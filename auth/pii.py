"""Masking of personal data for viewers who may not read it (see ``Viewer.reads_pii``).

Users read personal data when their organization's PII roles include their role (ADMIN always;
MANAGER and AGENT by default, VIEWER only when an ADMIN grants it); API keys when they hold
``pii:read``. Everyone else sees, on every path (HTTP, compiled plans, websockets): contact
data masked, the values of custom fields the organization marks personal (on customers,
companies and deals) hidden, message
bodies hidden and the addresses in an interaction's metadata masked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from auth.scopes import Scope
from core.errors import AppError, ErrorCode

HIDDEN = "***"
# metadata entries holding addresses (set by sendEmail and inbound email)
ADDRESS_KEYS = ("from", "to", "cc", "bcc", "replyTo")

# A mask: the value and the organization's personal custom-field keys -> what is shown.
Mask = Callable[[Any, frozenset[str]], Any]


class PersonalFields(frozenset[str]):
    """The organization's personal customer custom-field keys (the set itself, as masks have
    always read it) and, in ``deal`` and ``company``, the keys of its personal deal and company
    fields."""

    deal: frozenset[str]
    company: frozenset[str]

    def __new__(
        cls, customer: Iterable[str] = (), deal: Iterable[str] = (), company: Iterable[str] = ()
    ) -> PersonalFields:
        keys = super().__new__(cls, customer)
        keys.deal = frozenset(deal)
        keys.company = frozenset(company)
        return keys


def deal_keys(personal: frozenset[str]) -> frozenset[str]:
    """The personal deal field keys carried by ``personal`` (none for a plain set)."""
    return getattr(personal, "deal", frozenset())


def company_keys(personal: frozenset[str]) -> frozenset[str]:
    """The personal company field keys carried by ``personal`` (none for a plain set)."""
    return getattr(personal, "company", frozenset())


def masking(context: Any) -> frozenset[str] | None:
    """None when this request's viewer reads personal data; else the personal custom-field
    keys of its organization (the one thing masks need to know besides the value)."""
    viewer = getattr(context, "viewer", None)
    if viewer is None or viewer.reads_pii:
        return None
    personal: frozenset[str] = viewer.personal_fields
    return personal


def hides_pii(context: Any) -> bool:
    """Whether this request's viewer may not read personal data."""
    return masking(context) is not None


def mask_email(value: str | None) -> str | None:
    """``jane@example.com`` as ``j***@example.com`` (the domain says little about a person)."""
    if not value:
        return value
    local, at, domain = value.rpartition("@")
    if not at:
        return HIDDEN
    return f"{local[:1]}{HIDDEN}@{domain}"


def mask_phone(value: str | None) -> str | None:
    """``+4930123456`` as ``***56``: enough to tell numbers apart, not to call them."""
    if not value:
        return value
    return HIDDEN + value[-2:] if len(value) > 6 else HIDDEN


def mask_address(value: Any) -> Any:
    """An address with street, postal code and city hidden; region and country stay."""
    if value is None:
        return None
    hidden = {
        name: HIDDEN if getattr(value, name) else getattr(value, name)
        for name in ("street", "postal_code", "city")
    }
    return dataclasses.replace(value, **hidden)


def mask_custom_fields(value: Any, personal: frozenset[str]) -> Any:
    """Custom fields with the values of the organization's personal keys hidden."""
    if not personal or not isinstance(value, dict) or personal.isdisjoint(value):
        return value
    return {k: HIDDEN if k in personal and v is not None else v for k, v in value.items()}


def mask_deal_custom_fields(value: Any, personal: frozenset[str]) -> Any:
    """A deal's custom fields with the values of its organization's personal deal fields
    hidden."""
    return mask_custom_fields(value, deal_keys(personal))


def mask_company_custom_fields(value: Any, personal: frozenset[str]) -> Any:
    """A company's custom fields with the values of its organization's personal company
    fields hidden."""
    return mask_custom_fields(value, company_keys(personal))


def mask_body(value: str | None) -> str | None:
    """A message body, hidden whole (free text: any part of it may be personal)."""
    return HIDDEN if value else value


def mask_metadata(value: Any) -> Any:
    """An interaction's metadata with the addresses in it masked (ids and flags stay)."""
    if not isinstance(value, dict) or not any(key in value for key in ADDRESS_KEYS):
        return value
    return {k: _mask_addresses(v) if k in ADDRESS_KEYS else v for k, v in value.items()}


def _mask_addresses(value: Any) -> Any:
    if isinstance(value, str):
        return mask_email(value)
    if isinstance(value, list):
        return [_mask_addresses(v) for v in value]
    return HIDDEN if value else value


def _plain(mask: Callable[[Any], Any]) -> Mask:
    def run(value: Any, personal: frozenset[str]) -> Any:
        return mask(value)

    run.__name__ = mask.__name__
    return run


MASKS: dict[tuple[str, str], Mask] = {
    ("Customer", "email"): _plain(mask_email),
    ("Customer", "phone"): _plain(mask_phone),
    ("Customer", "address"): _plain(mask_address),
    ("Customer", "customFields"): mask_custom_fields,
    ("Deal", "customFields"): mask_deal_custom_fields,
    ("Company", "customFields"): mask_company_custom_fields,
    ("Interaction", "body"): _plain(mask_body),
    ("Interaction", "metadata"): _plain(mask_metadata),
}


def refuse_hidden_search(context: Any, db_filter: Any) -> None:
    """Search matches emails and phone numbers, so viewers who may not read them may not
    search."""
    if hides_pii(context) and _searches(db_filter):
        raise AppError(
            ErrorCode.FORBIDDEN,
            f"search matches emails and phone numbers: it needs the {Scope.PII_READ.value}"
            " scope (API keys) or a role that reads personal data",
            ["filter", "search"],
        )


def refuse_personal_fields(
    context: Any, keys: set[str], order: Any = None, *, deals: bool = False,
    companies: bool = False,
) -> None:
    """A viewer who may not read personal data may not filter or sort on personal custom
    fields either (the results would tell their values). ``deals``/``companies``: the keys are
    deal or company fields."""
    masked = masking(context)
    personal = masked
    if masked is not None and (deals or companies):
        personal = deal_keys(masked) if deals else company_keys(masked)
    if not personal:
        return
    if keys & personal:
        raise AppError(ErrorCode.FORBIDDEN, f"filtering on personal custom fields needs the"
                       f" {Scope.PII_READ.value} scope or a PII role", ["filter", "customFields"])
    if order is not None and order.key in personal:
        raise AppError(ErrorCode.FORBIDDEN, f"ordering by a personal custom field needs the"
                       f" {Scope.PII_READ.value} scope or a PII role",
                       ["orderByCustomField", "key"])


def _searches(value: Any) -> bool:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(
            (field.name == "search" and bool(getattr(value, field.name)))
            or _searches(getattr(value, field.name))
            for field in dataclasses.fields(value)
        )
    if isinstance(value, list | tuple):
        return any(_searches(item) for item in value)
    return False
