"""The provider implementation for a stored configuration, by its kind."""

from __future__ import annotations

import httpx

from db.channel_enums import ProviderKind
from services.messaging.generic import Generic
from services.messaging.provider import Provider, ProviderConfig
from services.messaging.twilio import Twilio


def build(config: ProviderConfig, http: httpx.AsyncClient | None = None) -> Provider:
    """The provider of a configuration (``http``: for sending; not needed to verify)."""
    if config.kind == ProviderKind.TWILIO:
        return Twilio(config, http)
    return Generic(config, http)
