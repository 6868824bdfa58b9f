"""Exact shortcuts for the usual shapes of email addresses and phone numbers.

Validating an address with email_validator (~20 µs) and parsing a number with phonenumbers
(~10 µs) is most of what cleaning a bulk row costs. Nearly every input has one plain shape: an
ASCII ``local@domain.tld`` or ``+`` and digits. For those the libraries' answer can be had
cheaply, and these functions give it only when it is certain to be the libraries' own; for
anything else they give None and the caller asks the library, which then also words any error.
tests/db/test_contact_shortcuts.py compares them with the libraries on generated inputs.
"""

from __future__ import annotations

import functools
import re

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, EMAIL_MAX_LENGTH
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber
from phonenumbers.phonenumberutil import region_code_for_country_code

# email_validator's ASCII dot-atom local part (DOT_ATOM_TEXT), then an ASCII host name of at
# least two labels; what else a domain must be (label lengths, hyphens, a real top-level
# domain, ...) the library decides, once per domain
_ATEXT = r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+"
_PLAIN_ADDRESS = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:[a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+)")
_MAILBOX_NAMES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)  # the library lower-cases these
# "+", a country code and a national number, digits only; at most 17 digits after the code
_PLAIN_NUMBER = re.compile(r"\+([1-9][0-9]{2,19})")
_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers' bounds of a national significant number


def email(address: str) -> str | None:
    """``validate_email(address, check_deliverability=False).normalized`` for a plain address
    the library accepts; None when the library must be asked."""
    match = _PLAIN_ADDRESS.fullmatch(address)
    if match is None:
        return None
    local, given_domain = match.groups()
    if local.lower() in _MAILBOX_NAMES:
        return None
    domains = _domain(given_domain)
    if domains is None:
        return None
    domain, ascii_domain = domains
    normalized = f"{local}@{domain}"
    # the library's three length checks: as given, normalised, with the IDNA ASCII domain
    longest = max(len(address), len(normalized.encode()), len(local) + 1 + len(ascii_domain))
    return normalized if longest <= EMAIL_MAX_LENGTH else None


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> tuple[str, str] | None:
    """The library's normalised and ASCII forms of a domain, None if it refuses it."""
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def phone_number(value: str) -> PhoneNumber | None:
    """``phonenumbers.parse(value, region)`` (any region) for ``+`` and digits whose country
    code leaves a national number the parser would keep as it is; None otherwise."""
    match = _PLAIN_NUMBER.fullmatch(value)
    if match is None:
        return None
    digits = match.group(1)
    for size in (1, 2, 3):  # the parser takes the shortest known code
        country_code = int(digits[:size])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if not _MIN_NSN <= len(national) <= _MAX_NSN or national[0] == "0":
        return None  # an error, or Italian leading zeros: the parser's business
    prefix = _national_prefix(country_code)
    if prefix is None or prefix.match(national):
        return None  # no metadata, or a national prefix the parser might strip
    return PhoneNumber(country_code=country_code, national_number=int(national))


@functools.cache
def _national_prefix(country_code: int) -> re.Pattern[str] | None:
    """What the parser would try to strip from a national number of ``country_code``, as a
    pattern (one that never matches when it strips nothing); None without metadata."""
    region = region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    return re.compile(metadata.national_prefix_for_parsing or r"(?!)")
