"""An email as sendEmail would render it, without sending it."""

from __future__ import annotations

import strawberry

from schema.email import EmailError


@strawberry.type(description="The rendered subject and bodies of an email for one customer.")
class EmailPreview:
    subject: str
    text: str
    html: str | None = strawberry.field(description="Null when the content has no HTML part.")


@strawberry.type
class EmailPreviewPayload:
    preview: EmailPreview | None = None
    errors: list[EmailError] = strawberry.field(default_factory=list)
