"""Validation of an organization's money and calendar settings: ISO 4217 currency codes, IANA
time zones and BCP 47 locale tags (canonical case)."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

# ISO 4217 active currency codes (fund codes, precious metals and XXX/XTS left out)
_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
CURRENCIES = frozenset(_CODES.split())
# language[-script][-region][-variant...], RFC 5646 without extensions and private use
_LOCALE = re.compile(
    r"^(?P<language>[a-z]{2,3})(?:-(?P<script>[a-z]{4}))?(?:-(?P<region>[a-z]{2}|\d{3}))?"
    r"(?P<variants>(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*)$",
    re.IGNORECASE,
)


def currency(value: str) -> str:
    """An active ISO 4217 code, upper-cased."""
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise ValueError("must be an ISO 4217 currency code such as EUR or USD")
    return code


@cache
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def time_zone(value: str) -> str:
    """An IANA time zone name in its canonical spelling (``europe/berlin`` -> ``Europe/Berlin``)."""
    name = _zones().get(value.strip().lower())
    if name is None:
        raise ValueError("must be an IANA time zone such as Europe/Berlin or UTC")
    return name


def locale(value: str) -> str:
    """A BCP 47 language tag in canonical case (``EN-us`` -> ``en-US``, ``zh-hant-tw`` ->
    ``zh-Hant-TW``)."""
    found = _LOCALE.match(value.strip())
    if found is None or len(value.strip()) > 35:
        raise ValueError("must be a BCP 47 language tag such as en-US, de-DE or zh-Hant-TW")
    parts = [found["language"].lower()]
    if found["script"]:
        parts.append(found["script"].title())
    if found["region"]:
        parts.append(found["region"].upper())
    parts.extend(v.lower() for v in found["variants"].split("-") if v)
    return "-".join(parts)
