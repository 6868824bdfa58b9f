"""Connecting a messaging provider: checked settings, credentials sealed before they are stored."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.config import Settings
from core.errors import ErrorCode, FieldError, InputError
from db import message_provider as providers
from db import validation
from db.channel_enums import MESSAGING_CHANNELS, PHONE_CHANNELS, ProviderKind
from db.enums import Channel
from services.messaging import credentials

TWILIO_BASE_URL = "https://api.twilio.com"
MIN_SECRET = {ProviderKind.TWILIO: 8, ProviderKind.WEBHOOK: 16}
# settings every provider has: an update may change them, never clear them
_REQUIRED = {"name": "name", "channels": "channels", "sender": "sender", "secret": "secret",
             "base_url": "baseUrl", "account_id": "accountId", "rate_per_second": "ratePerSecond",
             "rate_burst": "rateBurst", "time_zone": "timeZone", "create_leads": "createLeads"}


def _check(data: dict[str, Any], kind: ProviderKind, errors: list[FieldError]) -> None:
    def bad(name: str, message: str) -> None:
        errors.append(FieldError(ErrorCode.BAD_USER_INPUT, ("input", name), message))

    cleared = {key for key in _REQUIRED if key in data and data[key] is None}
    for key in sorted(cleared):
        bad(_REQUIRED[key], "cannot be cleared (null): give a value")
    if cleared:
        return
    if "name" in data and not 1 <= len(data["name"].strip()) <= 100:
        bad("name", "must be 1 to 100 characters")
    channels = data.get("channels")
    if channels is not None:
        allowed = PHONE_CHANNELS if kind == ProviderKind.TWILIO else MESSAGING_CHANNELS
        if not channels or any(Channel(c) not in allowed for c in channels):
            bad("channels", f"give some of {', '.join(c.value for c in allowed)}")
    url = urlparse(data.get("base_url") or "https://x")
    if url.scheme not in ("http", "https") or not url.netloc:
        bad("baseUrl", "must be an http(s) URL")
    elif len(data.get("base_url") or "") > 500:
        bad("baseUrl", "must be at most 500 characters")
    if len(data.get("account_id") or "") > 200:
        bad("accountId", "must be at most 200 characters")
    if kind == ProviderKind.TWILIO and "account_id" in data and not data["account_id"]:
        bad("accountId", "the Account SID is required")
    if kind == ProviderKind.TWILIO and data.get("sender"):
        try:
            data["sender"] = validation.phone(data["sender"])
        except ValueError as exc:
            bad("sender", str(exc))
    if "sender" in data and not 1 <= len(data["sender"] or "") <= 200:
        bad("sender", "must be 1 to 200 characters")
    if "secret" in data and len(data["secret"] or "") < MIN_SECRET[kind]:
        bad("secret", f"must have at least {MIN_SECRET[kind]} characters")
    _check_limits(data, bad)


def _check_limits(data: dict[str, Any], bad: Any) -> None:
    if not 0 < data.get("rate_per_second", 1) <= 1000:
        bad("ratePerSecond", "must be above 0 and at most 1000")
    if not 1 <= data.get("rate_burst", 1) <= 10_000:
        bad("rateBurst", "must be 1 to 10000")
    hours = (data.get("quiet_hours_start"), data.get("quiet_hours_end"))
    if (hours[0] is None) != (hours[1] is None):
        bad("quietHoursStart", "give both quiet hours (start and end) or neither")
    if any(h is not None and not 0 <= h <= 23 for h in hours):
        bad("quietHoursStart", "hours are 0 to 23")
    try:
        ZoneInfo(data.get("time_zone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        bad("timeZone", "must be an IANA time zone such as Europe/Berlin")


def _seal(settings: Settings, kind: ProviderKind, data: dict[str, Any]) -> dict[str, Any]:
    secret = data.pop("secret", None)
    if secret is not None:
        name = "authToken" if kind == ProviderKind.TWILIO else "secret"
        data["credentials"] = credentials.seal(settings, {name: secret})
    if "channels" in data:
        data["channels"] = [Channel(c).value for c in data["channels"]]
    return data


async def create(settings: Settings, *, org_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Connect a provider; ``data`` holds the input's fields (``secret`` in the clear)."""
    kind = ProviderKind(data["kind"])
    if kind == ProviderKind.TWILIO and not data.get("base_url"):
        data["base_url"] = TWILIO_BASE_URL
    errors: list[FieldError] = []
    if not data.get("base_url"):
        errors.append(FieldError(ErrorCode.BAD_USER_INPUT, ("input", "baseUrl"),
                                 "the webhook URL messages are posted to is required"))
        data.pop("base_url", None)
    _check(data, kind, errors)
    if errors:
        raise InputError(errors)
    return await providers.create(org_id=org_id, data=_seal(settings, kind, data))


async def update(settings: Settings, *, org_id: int, provider_id: int, data: dict[str, Any]
                 ) -> dict[str, Any] | None:
    """Change a provider's settings (its kind stays); None if there is no such provider."""
    current = await providers.get(org_id=org_id, provider_id=provider_id)
    if current is None:
        return None
    kind = ProviderKind(current["kind"])
    errors: list[FieldError] = []
    merged = {key: current[key] for key in ("quiet_hours_start", "quiet_hours_end")} | data
    _check(merged, kind, errors)
    if errors:
        raise InputError(errors)
    data = {key: merged[key] for key in data} | (
        {"sender": merged["sender"]} if "sender" in data else {})
    return await providers.update(org_id=org_id, provider_id=provider_id,
                                  data=_seal(settings, kind, data))
