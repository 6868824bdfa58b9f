"""Global IDs: the fast encoder writes exactly what base64url of ``Type:pk`` is."""

from __future__ import annotations

import base64

import pytest

from core.errors import AppError
from schema.node import parse_global_id, to_global_id

# names whose "Name:" is 0, 1 and 2 bytes past a multiple of 3, and non-ASCII
TYPES = (
    "Customer", "Interaction", "User", "Deal", "Company", "Order", "A", "Ab", "Abc", "Café",
    "Ab~~",
)
PKS = (1, 9, 10, 99, 100, 12_345, 2**31, 2**62 + 7)


@pytest.mark.parametrize("type_name", TYPES)
def test_ids_are_base64url_of_type_and_key_without_padding(type_name: str) -> None:
    for pk in PKS:
        expected = base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")
        assert to_global_id(type_name, pk) == expected
        assert to_global_id(type_name, pk) == expected  # the cached prefix, second time
        if type_name.isidentifier():
            assert parse_global_id(expected) == (type_name, pk)


def test_ids_use_the_urlsafe_alphabet() -> None:
    # standard base64 of "Ab~~:1" is "QWJ+fjox": the prefix path and the whole-text path
    assert to_global_id("Ab~~", 1) == "QWJ-fjox"
    assert to_global_id("Ab~~~~", 1) == "QWJ-fn5-OjE"


def test_a_malformed_id_is_a_user_error() -> None:
    with pytest.raises(AppError):
        parse_global_id("not an id!")
