"""The GraphQL documents the benchmark sends, and the account it signs in with."""

from __future__ import annotations

ORG = "bench"
EMAIL = "bench-admin@example.com"
PASSWORD = "bench-password"
# owners the seeded customers are spread over (the admin is one of them)
AGENT_EMAILS = tuple(f"bench-agent{n}@example.com" for n in range(1, 5))
# the sizes written in the documents below
PAGE_SIZE = 50
NESTED_SIZE = 5

CUSTOMERS = (
    "query BenchCustomers { customers(first: 50) { edges { node {"
    " id name email owner { name } lifetimeValue { amount currency } lastInteractionAt"
    " interactions(first: 5) { edges { node { id channel direction subject occurredAt } } }"
    " } } } }"
)
SEARCH = (
    "query BenchSearch($search: String!) { customers(first: 20, filter: {search: $search})"
    " { edges { node { id name email phone } } } }"
)
LOGIN = (
    "mutation BenchLogin($email: String!, $password: String!) {"
    " login(email: $email, password: $password) { accessToken errors { message } } }"
)
