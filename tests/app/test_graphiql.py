"""The offline GraphiQL page and the assets it loads from the app itself."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.graphiql import graphiql_html, graphiql_routes

ATTR_URL = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
SCRIPT_SRC = re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
LINK_HREF = re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
ABSOLUTE_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


async def _page(request: Request) -> HTMLResponse:
    return HTMLResponse(graphiql_html())


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = Starlette(routes=[Route("/graphql", _page), *graphiql_routes()])
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def page(client: TestClient) -> str:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text: str = response.text
    return text


def test_page_references_no_external_url(page: str) -> None:
    urls = ATTR_URL.findall(page)
    assert urls, "the page should load its assets"
    assert [url for url in urls if ABSOLUTE_URL.match(url)] == []
    assert "http://" not in page
    assert "https://" not in page
    assert "unpkg" not in page
    assert "jsdelivr" not in page


def test_page_configures_graphiql(page: str) -> None:
    assert "GraphiQL.createFetcher" in page
    assert "subscriptionUrl" in page
    assert '"/graphql"' in page
    assert "isHeadersEditorEnabled: true" in page
    assert "shouldPersistHeaders: true" in page
    literal = re.search(r"defaultQuery: (\".*\"),\n", page)
    assert literal is not None
    default_query = json.loads(literal.group(1))
    assert "login(email:" in default_query
    assert "accessToken" in default_query
    assert '{"Authorization": "Bearer <accessToken>"}' in default_query


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [(SCRIPT_SRC, "javascript"), (LINK_HREF, "css")],
    ids=["scripts", "stylesheets"],
)
def test_every_asset_is_served(
    client: TestClient, page: str, pattern: re.Pattern[str], kind: str
) -> None:
    urls = pattern.findall(page)
    assert urls
    for url in urls:
        assert url.startswith("/graphiql/static/")
        response = client.get(url)
        assert response.status_code == 200, url
        assert kind in response.headers["content-type"], (url, response.headers["content-type"])
        assert len(response.content) > 10_000, url


def test_graphiql_and_react_are_the_pinned_builds(client: TestClient) -> None:
    react = client.get("/graphiql/static/react.production.min.js").text
    react_dom = client.get("/graphiql/static/react-dom.production.min.js").text
    graphiql = client.get("/graphiql/static/graphiql.min.js").text
    assert "React v17.0.2" in react
    assert "React v17.0.2" in react_dom
    assert "createFetcher" in graphiql


def test_paths_are_configurable() -> None:
    html = graphiql_html(graphql_path="/api/graphql", assets_path="/ide/assets/")
    assert '"/api/graphql"' in html
    assert 'src="/ide/assets/graphiql.min.js"' in html
    assert 'href="/ide/assets/graphiql.min.css"' in html
    app = Starlette(routes=graphiql_routes("/ide/assets/"))
    with TestClient(app) as client:
        assert client.get("/ide/assets/graphiql.min.js").status_code == 200
        assert client.get("/ide/assets/missing.js").status_code == 404


def test_path_is_escaped_in_script() -> None:
    html = graphiql_html(graphql_path="/x</script><script>alert(1)//")
    assert "</script><script>alert" not in html


def test_the_welcome_text_carries_the_demo_login_when_the_server_has_one(settings) -> None:
    from app.graphiql import page_for
    from app.security_headers import script_hashes, security_headers

    assert "you@company.test" in page_for(settings)
    demo = settings.model_copy(update={"graphiql_login": "demo@example.com demo-password"})
    page = page_for(demo)
    assert '\\"demo@example.com\\"' in page
    assert '\\"demo-password\\"' in page
    policy = dict(security_headers(demo, tls=False))[b"content-security-policy"].decode()
    assert all(allowed in policy for allowed in script_hashes(page))  # its script may run
