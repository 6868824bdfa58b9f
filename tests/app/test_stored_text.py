"""Text PostgreSQL cannot store (a NUL character) is refused as a user error, never a 500."""

from __future__ import annotations

import json

from tests.factories import Api, gid, make_customer

SEARCH = "query($s: String!) { customers(first: 1, filter: {search: $s}) { nodes { id } } }"


async def test_a_nul_in_a_variable_is_a_user_error_naming_it(api, org) -> None:
    body = await api(SEARCH, s="ab\x00c")
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": ["$s"]}
    assert "NUL" in error["message"]
    assert body.get("data") is None


async def test_a_nul_deep_in_an_input_variable(api, org) -> None:
    customer = await make_customer(org, name="Before")
    body = await api(
        "mutation($input: UpdateCustomerInput!)"
        " { updateCustomer(input: $input) { errors { code } } }",
        input={"id": gid(customer), "name": "A\x00B", "tags": ["ok", "x\x00"]},
    )
    fields = [e["extensions"]["field"] for e in body["errors"]]
    assert fields == [["$input", "name"], ["$input", "tags", 1]]
    await customer.refresh_from_db()
    assert customer.name == "Before"  # nothing written


async def test_a_nul_in_a_literal_and_at_login(http, api) -> None:
    literal = await api('{ customers(first: 1, filter: {search: "a\\u0000"}) { nodes { id } } }')
    assert literal["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    login = await Api(http)(
        "mutation($e: String!) { login(email: $e, password: \"p\") { accessToken } }",
        e="a\x00b@example.com",
    )
    assert login["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "INTERNAL_SERVER_ERROR" not in str(literal) + str(login)


async def test_other_control_characters_still_work(api, org) -> None:
    body = await api(SEARCH, s="tab\there")
    assert body["data"] == {"customers": {"nodes": []}}


async def test_an_unpaired_surrogate_is_a_user_error_naming_it(http, api, org) -> None:
    """Found by fuzzing: JSON's "\\ud800" decodes to text UTF-8 cannot encode (a 500 at the
    driver), in any text variable, literal or JSON key."""
    customer = await make_customer(org, name="Before")
    document = ("mutation($input: UpdateCustomerInput!)"
                " { updateCustomer(input: $input) { errors { code } } }")
    variables = {"input": {"id": gid(customer), "company": "a\ud800b",
                           "customFields": {"\udfff": 1}}}
    response = await http.post(
        "/graphql", headers={**api.headers, "content-type": "application/json"},
        content=json.dumps({"query": document, "variables": variables}).encode(),
    )
    body = response.json()
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "BAD_USER_INPUT", "field": ["$input", "company"]},
        {"code": "BAD_USER_INPUT", "field": ["$input", "customFields"]},
    ]
    assert "unpaired surrogate" in body["errors"][0]["message"]
    # in a literal, graphql-core's lexer already refuses the escape as a syntax error
    literal = await api('{ customers(first: 1, filter: {search: "a\\ud800"}) { nodes { id } } }')
    assert literal["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    await customer.refresh_from_db()
    assert customer.company is None  # nothing written
