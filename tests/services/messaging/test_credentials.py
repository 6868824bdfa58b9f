"""Provider credentials are sealed with a key derived from the secret key."""

from __future__ import annotations

import pytest

from core.config import Settings
from services.messaging.credentials import seal, unseal


def test_credentials_round_trip_and_need_the_same_secret_key(settings: Settings) -> None:
    token = seal(settings, {"authToken": "tok-123456"})
    assert "tok-123456" not in token
    assert unseal(settings, token) == {"authToken": "tok-123456"}
    other = settings.model_copy(update={"secret_key": "another-secret-" + "y" * 40})
    with pytest.raises(ValueError, match="cannot be decrypted"):
        unseal(other, token)
