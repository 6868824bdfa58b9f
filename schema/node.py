"""The Relay ``Node`` interface and opaque global IDs (``base64url("Customer:42")``)."""

from __future__ import annotations

import base64
import binascii
from typing import Any, get_args

import strawberry

from core.errors import AppError, ErrorCode, not_found


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    """The opaque global ID of row ``pk`` of ``type_name``."""
    head = _HEADS.get(type_name)
    if head is None:
        head = _HEADS[type_name] = _head(type_name)
    if head:
        return strawberry.ID(head + _urlsafe(str(pk).encode()))
    return strawberry.ID(_urlsafe(f"{type_name}:{pk}".encode()))


_URLSAFE = bytes.maketrans(b"+/", b"-_")
# each type's encoded "Name:" when it encodes on its own, else "" (see _head)
_HEADS: dict[str, str] = {}


def _urlsafe(raw: bytes) -> str:
    """``base64.urlsafe_b64encode`` without padding, in one C call and a translate."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).decode().rstrip("=")


def _head(type_name: str) -> str:
    """The encoded ``Name:`` prefix if its length is a multiple of 3 bytes (base64 then writes
    it the same whatever follows: IDs of the type share it), else ""."""
    raw = f"{type_name}:".encode()
    return _urlsafe(raw) if len(raw) % 3 == 0 else ""


def parse_global_id(global_id: str, field: str = "id") -> tuple[str, int]:
    """The type name and primary key inside a global ID; malformed IDs are a user error."""
    if not global_id or len(global_id) > 100:
        raise _invalid(field)
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, pk_text = raw.partition(":")
        pk = int(pk_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid(field) from None
    if not type_name.isidentifier() or not 0 < pk < 2**63 or pk_text != str(pk):
        raise _invalid(field)
    return type_name, pk


def _invalid(field: str) -> AppError:
    return AppError(ErrorCode.BAD_USER_INPUT, f"{field} is not a valid ID", [field])


def decode_id(global_id: str, type_name: str, field: str = "id") -> int:
    """The primary key of a global ID that must name a ``type_name``; other types are not found."""
    actual, pk = parse_global_id(global_id, field)
    if actual != type_name:
        raise not_found(type_name, [field])
    return pk


def resolved(reference: object) -> Any:
    """The class an ``Annotated["Name", strawberry.lazy("module")]`` reference names.

    Types that refer to each other (a customer's interactions, an interaction's customer) name
    one direction lazily; this imports the named module on first use instead of at load time.
    """
    forward, lazy = get_args(reference)[:2]
    return lazy.resolve_forward_ref(forward).resolve_type()
