"""The delivery status of an outbound email, shown as ``Interaction.email``."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db.email_enums import EmailStatus
from db.enums import Channel, Direction
from db.sql import Row
from schema.node import decode_id

strawberry.enum(EmailStatus)


@strawberry.type(description="Where an outbound email is on its way to the customer.")
class EmailDelivery:
    status: EmailStatus
    attempts: int = strawberry.field(description="Delivery attempts so far.")
    last_error: str | None = strawberry.field(
        description="The last failure, e.g. the SMTP server's reply."
    )
    sent_at: datetime | None = strawberry.field(description="When the SMTP server accepted it.")
    message_id: str = strawberry.field(description="The Message-ID header, kept on retries.")

    @classmethod
    def from_row(cls, row: Row) -> EmailDelivery:
        return cls(
            status=EmailStatus(row["status"]), attempts=row["attempts"],
            last_error=row["last_error"], sent_at=row["sent_at"], message_id=row["message_id"],
        )


async def delivery_of(
    info: strawberry.Info, interaction_id: str, channel: str, direction: str
) -> EmailDelivery | None:
    """The delivery of an outbound email interaction (batched per operation), else None."""
    if channel != Channel.EMAIL or direction != Direction.OUTBOUND:
        return None
    row = await info.context.loaders.email_delivery.load(decode_id(interaction_id, "Interaction"))
    return EmailDelivery.from_row(row) if row else None
