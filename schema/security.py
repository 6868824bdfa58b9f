"""Partner access and the audit log in the API: API keys, their payloads, audit events."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db.sql import Row
from schema.errors import UserError
from schema.node import Node, to_global_id


@strawberry.type(description="A partner's key to your organization (its secret is shown once).")
class ApiKey(Node):
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The first characters of the key.")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = strawberry.field(
        description="When the key was last used (recorded at most once a minute)."
    )
    created_by_id: strawberry.ID | None

    @strawberry.field(description="Neither revoked nor expired.")
    def active(self) -> bool:
        now = datetime.now(self.created_at.tzinfo)
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @classmethod
    def from_row(cls, row: Row) -> ApiKey:
        """The API object of an ``api_key`` row."""
        creator = row["created_by_id"]
        return cls(
            id=to_global_id("ApiKey", row["id"]), name=row["name"], prefix=row["prefix"],
            scopes=list(row["scopes"]), created_at=row["created_at"],
            expires_at=row["expires_at"], revoked_at=row["revoked_at"],
            last_used_at=row["last_used_at"],
            created_by_id=to_global_id("User", creator) if creator else None,
        )


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(
        default=None, description="The key to send as 'Authorization: Bearer'; shown only now."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(
    description="One committed mutation, or one access to personal data in bulk: who did what"
    " to which object."
)
class AuditEvent(Node):
    id: strawberry.ID
    action: str = strawberry.field(
        description="The mutation's name, e.g. updateCustomer, or the access: "
        "exportCustomerData, cliExportCustomers, cliImportCustomers, inboundEmail, "
        "unsubscribe, apiKeyPiiRead (the first request of a key with pii:read in each hour)."
    )
    actor_user_id: strawberry.ID | None
    actor_api_key_id: strawberry.ID | None
    target_id: strawberry.ID | None
    target_type: str | None
    changed_fields: list[str] = strawberry.field(
        description="Names of the arguments given (values are never kept)."
    )
    request_id: str | None
    ip: str | None
    created_at: datetime
    item_count: int | None = strawberry.field(
        description="How many records a bulk access or mutation touched (rows imported or "
        "exported, customers merged); null for one object."
    )

    @classmethod
    def from_row(cls, row: Row) -> AuditEvent:
        """The API object of an ``audit_event`` row."""
        def gid(type_name: str | None, pk: int | None) -> strawberry.ID | None:
            return to_global_id(type_name, pk) if type_name and pk else None

        return cls(
            id=to_global_id("AuditEvent", row["id"]), action=row["action"],
            actor_user_id=gid("User", row["actor_user_id"]),
            actor_api_key_id=gid("ApiKey", row["actor_api_key_id"]),
            target_id=gid(row["target_type"], row["target_id"]),
            target_type=row["target_type"], changed_fields=list(row["changed_fields"]),
            request_id=row["request_id"], ip=row["ip"], created_at=row["created_at"],
            item_count=row["item_count"],
        )


@strawberry.input(description="Conditions on audit events (all optional).")
class AuditEventFilter:
    actions: list[str] | None = None
    actor_id: strawberry.ID | None = strawberry.field(
        default=None, description="A User or ApiKey id."
    )
    target_id: strawberry.ID | None = None
    after: datetime | None = None
    before: datetime | None = None
