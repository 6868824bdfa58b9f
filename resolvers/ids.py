"""Global IDs in mutation inputs, decoded with the input path of each (for payload errors)."""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import AppError, FieldError, InputError
from schema.node import decode_id


def pk(value: str, type_name: str, *path: str) -> int:
    """The primary key of a global ID of ``type_name`` given at input ``path``."""
    try:
        return decode_id(value, type_name, ".".join(path))
    except AppError as exc:
        raise InputError([FieldError(exc.code, path, exc.message)]) from None


def maybe_pk(value: str | None, type_name: str, *path: str) -> int | None:
    """``pk`` of an optional ID."""
    return None if value is None else pk(value, type_name, *path)


def pks(values: Iterable[str], type_name: str, *path: str) -> list[int]:
    """``pk`` of each ID of a list, its index in the path."""
    return [pk(v, type_name, *path, str(i)) for i, v in enumerate(values)]
