"""Every GraphQL block in README.md runs as written against the demo data, without errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.demo import Demo
from tests.factories import Api, token_for

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^ *```graphql\n(.*?)^ *```", README.read_text(), re.DOTALL | re.MULTILINE)


def test_the_readme_has_graphql_to_try() -> None:
    assert BLOCKS


@pytest.mark.parametrize("document", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
async def test_a_readme_query_runs_on_the_demo(document: str, demo: Demo, http, settings) -> None:
    body = await Api(http, token_for(demo.admin, settings))(document)
    assert "errors" not in body, body["errors"]
    assert body["data"]
