"""Who may call what: users by the least role a root field declares, keys by its scopes."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from auth import scopes
from auth.context import Context
from auth.identity import Viewer
from core.errors import AppError, ErrorCode
from db.enums import Role


class _RolePermission(BasePermission):
    role: Role = Role.VIEWER

    def has_permission(
        self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any
    ) -> bool:
        viewer = info.context.require_viewer()
        refused = refusal(viewer, self.role, f"{info._raw_info.parent_type.name}.{info.field_name}")
        if refused is not None:
            raise refused
        return True


def refusal(viewer: Viewer, role: Role, field: str) -> AppError | None:
    """Why ``viewer`` may not call root ``field`` (``Type.name``) that needs ``role``, or None."""
    if viewer.is_key:
        try:
            check_key(viewer, field)
        except AppError as exc:
            return exc
        return None
    if not viewer.can(role):
        return AppError(
            ErrorCode.FORBIDDEN, f"this operation needs the {role.value} role or higher"
        )
    if not viewer.reads_pii and scopes.Scope.PII_READ in (scopes.required(field) or ()):
        return AppError(
            ErrorCode.FORBIDDEN, "this operation shows personal data, which your role may"
            " not read in this organization (see privacySettings)",
        )
    return None


def role_of(permission_classes: Any) -> Role | None:
    """The role a root field's permission classes ask for, when that is all they ask."""
    classes = list(permission_classes or ())
    if len(classes) != 1 or not issubclass(classes[0], _RolePermission):
        return None
    if classes[0].has_permission is not _RolePermission.has_permission:
        return None
    role: Role = classes[0].role
    return role


def check_key(viewer: Viewer, field: str) -> None:
    """Refuse an API key lacking a scope that root ``field`` needs (see auth/scopes.py)."""
    needed = scopes.required(field)
    if needed is None:
        raise AppError(ErrorCode.FORBIDDEN, "this operation is for signed-in users only")
    missing = [scope.value for scope in needed if not viewer.has_scope(scope)]
    if missing:
        raise AppError(ErrorCode.FORBIDDEN, f"this API key needs the {missing[0]} scope")


class IsAuthenticated(_RolePermission):
    """Any signed-in user (VIEWER and up)."""

    role = Role.VIEWER


class IsAgent(_RolePermission):
    """Users who may write customers, interactions and orders."""

    role = Role.AGENT


class IsManager(_RolePermission):
    """Users who may delete and restore customers."""

    role = Role.MANAGER


class IsAdmin(_RolePermission):
    """Users who manage the organization."""

    role = Role.ADMIN
