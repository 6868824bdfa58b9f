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
        field = f"{info._raw_info.parent_type.name}.{info.field_name}"
        if viewer.is_key:
            check_key(viewer, field)
        elif not viewer.can(self.role):
            raise AppError(
                ErrorCode.FORBIDDEN, f"this operation needs the {self.role.value} role or higher"
            )
        elif not viewer.reads_pii and scopes.Scope.PII_READ in (scopes.required(field) or ()):
            raise AppError(
                ErrorCode.FORBIDDEN, "this operation shows personal data, which your role may"
                " not read in this organization (see privacySettings)",
            )
        return True


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
