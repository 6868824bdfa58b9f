"""The email and phone shortcuts agree with email_validator and phonenumbers, errors included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from db import contact_shortcuts, validation

PROPERTY = settings(max_examples=600, deadline=None, derandomize=True, database=None)
ATEXT = "abcXYZ019_!#$%&'*+-/=?^`{|}~"
ODD = ".@ \"<>()[],;:\\üß\u0301\t"
LABELS = ["example", "EXAMPLE", "com", "de", "test", "local", "localhost", "invalid", "onion",
          "arpa", "xn--mller-kva", "xn--zz", "mañana", "123", "c", "a-b", "-ab", "ab-", "ab--cd",
          "x" * 63, "x" * 64, "sub_domain", "", "co", "uk"]
REGIONS = [None, "DE", "US", "GB", "IT", "FR", "AR", "BR", "MX", "RU", "CN", "IN", "001", "de",
           "ZZ", "XX"]


def library_email(value: str) -> str:
    """validation.email as it was before the shortcut."""
    if len(value) > 254:
        raise ValueError("must be at most 254 characters")
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None


def library_phone(value: str, region: str | None) -> str:
    """validation.phone as it was before the shortcut."""
    if len(value) > 40:
        raise ValueError("must be at most 40 characters")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        hint = "" if region else " (start with + and the country code)"
        raise ValueError(f"is not a valid phone number{hint}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def outcome(clean: Callable[..., str], *args: Any) -> tuple[str, str]:
    try:
        return "ok", clean(*args)
    except ValueError as exc:
        return "error", str(exc)
    except Exception as exc:  # the same crash, if the library crashes
        return "crash", type(exc).__name__


atoms = st.text(st.sampled_from(ATEXT), min_size=1, max_size=12)
plain_addresses = st.builds(
    lambda atoms, labels: f"{'.'.join(atoms)}@{'.'.join(labels)}",
    st.lists(atoms, min_size=1, max_size=4) | st.sampled_from([["Postmaster"], ["x" * 65]]),
    st.lists(st.sampled_from(LABELS), min_size=2, max_size=4),
)
messy_addresses = st.builds(
    lambda local, labels, pad: f"{pad}{local}@{'.'.join(labels)}{pad}",
    st.text(st.sampled_from(ATEXT + ODD), max_size=70)
    | st.sampled_from(["ABUSE", "info", "a.b", ".a", "a.", "a..b"]),
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=5)
    | st.lists(st.text("abcz09-", min_size=1, max_size=70), min_size=2, max_size=5),
    st.sampled_from(["", " ", "\t"]),
)
addresses = plain_addresses | messy_addresses
numbers = st.builds(
    lambda code, digits: f"+{code}{digits}",
    st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)) | st.integers(0, 999),
    st.text("0123456789", max_size=19),
) | st.text("+0123456789 -()x", max_size=24)


@PROPERTY
@given(address=addresses)
def test_email_matches_the_library(address: str) -> None:
    plain = contact_shortcuts.email(address)
    if plain is not None:
        assert plain == validate_email(address, check_deliverability=False).normalized
    assert outcome(validation.email, address) == outcome(library_email, address)


@pytest.mark.parametrize("address", [
    "kunde1@example.com", "Kunde.Eins+crm@Example.COM", "x@xn--mller-kva.de", "Postmaster@a.de",
    "a@b.test", "a@b.local", "a@123.com", "a@b.123", "a@-b.de", "a@b-.de", "a@ab--cd.de",
    f"{'x' * 64}@{'d' * 60}.{'e' * 60}.{'f' * 60}.de", f"{'x' * 10}@{'d' * 63}.{'e' * 63}.com",
    f"{'x' * 120}@{'d' * 63}.{'e' * 63}.com", "a@b", "a@b.c", "ä@b.de", " a@b.de ", "a@b..de",
])
def test_email_edge_cases_match_the_library(address: str) -> None:
    assert outcome(validation.email, address) == outcome(library_email, address)


def test_email_takes_the_shortcut_for_plain_addresses() -> None:
    assert contact_shortcuts.email("Kunde.Eins+crm@Example.COM") == "Kunde.Eins+crm@example.com"
    assert contact_shortcuts.email("a@b.test") is None  # refused: the library words why
    assert contact_shortcuts.email("INFO@example.com") is None  # the library lower-cases it


@PROPERTY
@given(value=numbers, region=st.sampled_from(REGIONS))
def test_phone_matches_the_library(value: str, region: str | None) -> None:
    number = contact_shortcuts.phone_number(value)
    if number is not None:
        parsed = phonenumbers.parse(value, region)
        assert vars(number) == vars(parsed)
    assert outcome(validation.phone, value, region) == outcome(library_phone, value, region)


def test_phone_matches_the_library_for_every_region_example() -> None:
    """Every region's example numbers, as given and with their last digit changed."""
    taken = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
                     phonenumbers.PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            for value in (e164, e164[:-1] + str((int(e164[-1]) + 1) % 10), e164 + "1"):
                number = contact_shortcuts.phone_number(value)
                if number is not None:
                    taken += 1
                    assert vars(number) == vars(phonenumbers.parse(value, region))
                for given_region in (None, region):
                    assert (outcome(validation.phone, value, given_region)
                            == outcome(library_phone, value, given_region)), value
    assert taken > 500  # the shortcut serves nearly all of them


def test_phone_takes_the_shortcut_for_plain_numbers() -> None:
    assert contact_shortcuts.phone_number("+49301234567") is not None
    assert contact_shortcuts.phone_number("+49 30 1234567") is None
    assert contact_shortcuts.phone_number("+3906123456") is None  # Italian leading zero
