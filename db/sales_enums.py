"""Enumerations of companies, deals and tasks (the API exposes the same names)."""

from enum import StrEnum


class CompanySize(StrEnum):
    """Head count bands."""

    MICRO = "MICRO"  # 1-9
    SMALL = "SMALL"  # 10-49
    MEDIUM = "MEDIUM"  # 50-249
    LARGE = "LARGE"  # 250-999
    ENTERPRISE = "ENTERPRISE"  # 1000 and more


class DealStatus(StrEnum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"


class TaskStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class TaskPriority(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


# the default pipeline every organization gets (also in migrations/0017, copied)
DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES = (("Qualification", 10), ("Needs analysis", 25), ("Proposal", 50),
                  ("Negotiation", 75))
