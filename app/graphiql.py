"""A GraphiQL IDE that works offline.

Strawberry's built-in IDE page loads React and GraphiQL from a CDN. This module serves the
same kind of page from the app itself: the JS/CSS builds come from the pinned PyPI package
``graphene-django-graphiql-static`` (GraphiQL 2.4.7 with React 17.0.2 UMD builds). Only its
static files are used; its Django views are never imported, and it has no dependencies.
"""

from __future__ import annotations

import html
import json

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from core.config import Settings

ASSETS_PACKAGE = "graphene_django_graphiql_static"
"""The installed package whose static files are served."""

ASSETS_DIRECTORY = "static/graphene_django_graphiql_static"
"""Where the built assets sit inside ``ASSETS_PACKAGE``."""

STYLESHEETS = ("graphiql.min.css",)
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")

DEFAULT_QUERY = """\
# Welcome to the CRM GraphQL API.
#
# 1. Log in to get an access token:
#
#    mutation Login {
#      login(email: "{email}",
#            password: "{password}") {
#        accessToken
#        expiresAt
#        errors { message }
#      }
#    }
#
# 2. Open the "Headers" tab below and paste the token:
#
#    {"Authorization": "Bearer <accessToken>"}
#
#    Headers are kept in this browser until you
#    change them.
#
# 3. Write queries here: Ctrl-Enter runs them,
#    Ctrl-Space completes, and the book icon on the
#    left opens the schema docs.

query Me {
  viewer {
    user {
      id
      name
      email
    }
  }
}
"""

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>GraphiQL</title>
  <style>html, body, #graphiql {{ height: 100%; margin: 0; overflow: hidden; }}</style>
{stylesheets}
{scripts}
</head>
<body>
  <div id="graphiql">Loading GraphiQL&hellip;</div>
  <script>
    (function () {{
      var url = new URL({graphql_path}, window.location.href);
      var subscriptionUrl = new URL(url.href);
      subscriptionUrl.protocol = url.protocol.endsWith("s:") ? "wss:" : "ws:";
      var fetcher = GraphiQL.createFetcher({{
        url: url.href,
        subscriptionUrl: subscriptionUrl.href,
      }});
      ReactDOM.render(
        React.createElement(GraphiQL, {{
          fetcher: fetcher,
          defaultQuery: {default_query},
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: true,
          defaultEditorToolsVisibility: "headers",
        }}),
        document.getElementById("graphiql"),
      );
    }})();
  </script>
</body>
</html>
"""


def welcome(login: tuple[str, str] | None = None) -> str:
    """The editor's first text, with ``login``'s email and password when given (the demo's)."""
    email, password = login or ("you@company.test", "your password")
    return DEFAULT_QUERY.replace("{email}", email).replace("{password}", password)


def page_for(settings: Settings) -> str:
    """The GraphiQL page this server serves (``CRM_GRAPHIQL_LOGIN`` fills in the login)."""
    hint = settings.graphiql_login
    email, _, password = (hint or "").partition(" ")
    return graphiql_html(login=(email, password) if hint else None)


def _js_string(value: str) -> str:
    """Return ``value`` as a JavaScript string literal that is safe inside a <script>."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


def graphiql_html(
    graphql_path: str = "/graphql", assets_path: str = "/graphiql/static",
    login: tuple[str, str] | None = None,
) -> str:
    """Return the GraphiQL page, loading every asset from ``assets_path`` on this server.

    The page talks to ``graphql_path`` over HTTP, and over WebSocket (graphql-ws) for
    subscriptions, on the same host as the page. The headers editor is open by default and
    its contents persist in the browser, so a partner pastes the bearer token only once.
    """
    base = html.escape(assets_path.rstrip("/"), quote=True)
    stylesheets = "\n".join(
        f'  <link rel="stylesheet" href="{base}/{name}">' for name in STYLESHEETS
    )
    scripts = "\n".join(f'  <script src="{base}/{name}"></script>' for name in SCRIPTS)
    return _PAGE.format(
        stylesheets=stylesheets,
        scripts=scripts,
        graphql_path=_js_string(graphql_path),
        default_query=_js_string(welcome(login)),
    )


def graphiql_routes(assets_path: str = "/graphiql/static") -> list[BaseRoute]:
    """Return the routes that serve the GraphiQL assets under ``assets_path``.

    Raises at construction time if the assets package is not installed.
    """
    static = StaticFiles(packages=[(ASSETS_PACKAGE, ASSETS_DIRECTORY)])
    return [Mount(assets_path.rstrip("/"), app=static, name="graphiql-static")]
