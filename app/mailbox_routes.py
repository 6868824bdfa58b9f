"""``/dev/mailbox``: the messages the development mailbox caught, for reading in a browser."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from core.config import Settings
from services.email import mailbox

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;line-height:1.4}}table{{border-collapse:collapse;width:100%}}
td,th{{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:1rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status,
                        headers={"Cache-Control": "no-store"})


def routes(settings: Settings) -> list[Route]:
    """The mailbox pages, when the development mailbox is on (none otherwise)."""
    if settings.dev_mailbox_port is None:
        return []

    async def index(request: Request) -> HTMLResponse:
        caught = mailbox.latest(settings)
        if not caught:
            return _page("Development mailbox", "<p>No email yet. Send one with the "
                         "<code>sendEmail</code> mutation; it shows up here within seconds.</p>")
        rows = "".join(
            f'<tr><td>{m.received_at:%Y-%m-%d %H:%M:%S}</td><td>{html.escape(m.to)}</td>'
            f'<td><a href="/dev/mailbox/{m.name}">{html.escape(m.subject or "(no subject)")}'
            f"</a></td></tr>" for m in caught
        )
        return _page("Development mailbox", "<p>Email the server sent, newest first (kept in "
                     f"<code>{html.escape(str(mailbox.folder(settings)))}</code>).</p><table>"
                     f"<tr><th>received (UTC)</th><th>to</th><th>subject</th></tr>{rows}</table>")

    async def message(request: Request) -> HTMLResponse:
        caught = mailbox.one(settings, request.path_params["name"])
        if caught is None:
            return _page("Not found", '<p><a href="/dev/mailbox">Back to the mailbox</a></p>', 404)
        parts = [f"<p><a href=\"/dev/mailbox\">All messages</a></p><table>"
                 f"<tr><th>From</th><td>{html.escape(caught.sender)}</td></tr>"
                 f"<tr><th>To</th><td>{html.escape(caught.to)}</td></tr>"
                 f"<tr><th>Received</th><td>{caught.received_at:%Y-%m-%d %H:%M:%S} UTC</td></tr>"
                 "</table>"]
        if caught.text is not None:
            parts.append(f"<h2>Text</h2><pre>{html.escape(caught.text)}</pre>")
        if caught.html is not None:
            parts.append(f"<details><summary>HTML source</summary><pre>{html.escape(caught.html)}"
                         "</pre></details>")
        return _page(caught.subject or "(no subject)", "".join(parts))

    return [Route("/dev/mailbox", index), Route("/dev/mailbox/{name}", message)]
