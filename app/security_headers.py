"""HTTP hardening: security headers on every response, CORS for single-page apps, trusted hosts.

HSTS is only sent over TLS: when uvicorn serves HTTPS itself, or when a trusted proxy says so
with ``X-Forwarded-Proto: https`` (uvicorn rewrites the scheme for ``--forwarded-allow-ips``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.graphiql import page_for
from core.config import Settings

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hashes(html: str) -> list[str]:
    """CSP sources allowing exactly the inline scripts of ``html``."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def content_security_policy(inline_scripts: Iterable[str]) -> str:
    """Own scripts and the listed inline ones only; styles may be inline (GraphiQL sets them)."""
    scripts = " ".join(["'self'", *inline_scripts])
    return "; ".join([
        "default-src 'self'", f"script-src {scripts}", "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:", "font-src 'self' data:", "connect-src 'self'",
        "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ])


def security_headers(settings: Settings, *, tls: bool) -> list[tuple[bytes, bytes]]:
    """The headers added to every response (HSTS only when ``tls``)."""
    headers = {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "content-security-policy": content_security_policy(script_hashes(page_for(settings))),
    }
    if tls and settings.hsts_max_age_seconds:
        headers["strict-transport-security"] = (
            f"max-age={settings.hsts_max_age_seconds}; includeSubDomains"
        )
    return [(name.encode(), value.encode()) for name, value in headers.items()]


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.plain = security_headers(settings, tls=False)
        self.tls = security_headers(settings, tls=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.tls if scope.get("scheme") == "https" else self.plain

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def middleware(settings: Settings) -> list[Middleware]:
    """Trusted hosts, security headers and CORS, outermost first."""
    stack = [
        Middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts),
        Middleware(SecurityHeadersMiddleware, settings=settings),
    ]
    if settings.cors_allow_origins:
        stack.append(Middleware(
            CORSMiddleware, allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id", "retry-after"], max_age=600,
        ))
    return stack
