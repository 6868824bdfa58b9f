"""What training one kind of model produced, and the words for how it went."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIVATED, NOT_ACTIVATED, NOT_ENOUGH_DATA = "ACTIVATED", "NOT_ACTIVATED", "NOT_ENOUGH_DATA"


@dataclass
class Outcome:
    """What training one kind of model produced."""

    kind: str
    status: str
    message: str
    metrics: dict[str, Any] = field(default_factory=dict)
    artifact: Any = None
    features: tuple[str, ...] = ()
    train_samples: int = 0
    validation_samples: int = 0
    train_window: tuple[float, float] | None = None
    validation_window: tuple[float, float] | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON-friendly part stored with the run."""
        return {"kind": self.kind, "status": self.status, "message": self.message,
                "metrics": self.metrics}
