"""Who may call what: every root field declares the least role it needs, checked here only."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from app.context import Context
from app.errors import AppError, ErrorCode
from db.enums import Role


class _RolePermission(BasePermission):
    role: Role = Role.VIEWER

    def has_permission(
        self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any
    ) -> bool:
        viewer = info.context.require_viewer()
        if not viewer.can(self.role):
            raise AppError(
                ErrorCode.FORBIDDEN, f"this operation needs the {self.role.value} role or higher"
            )
        return True


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
