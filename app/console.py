"""The console: a single-page app at /console, built on the public GraphQL API only.

Its page loads plain ES modules and a stylesheet from ``app/console_assets`` (shipped inside
the package, so it works offline); the page has no inline script, so the Content-Security-Policy
every response carries (app/security_headers.py) admits it as it is. The app routes by the URL
fragment (``/console#/customers/<id>``), so one server route serves every view.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS_PACKAGE = "app"
ASSETS_DIRECTORY = "console_assets"
ASSETS_PATH = "/console/static"
ENTRY_MODULE = "main.js"
STYLESHEET = "console.css"

PAGE = f"""\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>CRM console</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{ASSETS_PATH}/{STYLESHEET}">
  <script type="module" src="{ASSETS_PATH}/{ENTRY_MODULE}"></script>
</head>
<body>
  <div id="app" data-graphql="/graphql"><p class="loading">Loading the console&hellip;</p></div>
  <noscript>The console needs JavaScript; the API itself is at /graphql.</noscript>
</body>
</html>
"""


async def page(request: Request) -> Response:
    """The console's one HTML page; every view is drawn by its modules."""
    return HTMLResponse(PAGE, headers={"cache-control": "no-cache"})


def routes() -> list[BaseRoute]:
    """The page at /console and its assets under /console/static."""
    static = StaticFiles(packages=[(ASSETS_PACKAGE, ASSETS_DIRECTORY)])
    return [
        Route("/console", page, methods=["GET"]),
        Mount(ASSETS_PATH, app=static, name="console-static"),
    ]
