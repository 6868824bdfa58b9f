"""Refresh tokens and sign-out."""

from __future__ import annotations

import strawberry

from auth import tokens
from core.errors import AppError, ErrorCode
from resolvers.user import signed_in
from schema.errors import UserError
from schema.viewer import LoginPayload, LogoutPayload


@strawberry.type
class TokenMutation:
    @strawberry.mutation(name="refreshToken")
    async def refresh_token(self, info: strawberry.Info, token: str) -> LoginPayload:
        """Exchange a refresh token for a new access token and a new refresh token.

        Each refresh token works once; presenting a used one signs its session out.
        """
        try:
            row, refresh = await tokens.rotate(token, info.context.settings)
        except AppError as exc:
            return LoginPayload(errors=[UserError(code=exc.code, field=None, message=exc.message)])
        return await signed_in(row, info.context.settings, refresh)

    @strawberry.mutation
    async def logout(
        self, info: strawberry.Info, refresh_token: str | None = None, everywhere: bool = False
    ) -> LogoutPayload:
        """Revoke a session's refresh tokens, or with ``everywhere`` all of the viewer's.

        Access tokens already issued stay valid until they expire (minutes).
        """
        if everywhere:
            viewer = info.context.require_viewer()
            if viewer.user_id is None:
                raise AppError(ErrorCode.FORBIDDEN, "API keys have no sessions to sign out of")
            return LogoutPayload(revoked=await tokens.revoke_all(viewer.user_id))
        if refresh_token is None:
            message = "give the refreshToken to revoke, or everywhere: true"
            error = UserError(
                code=ErrorCode.BAD_USER_INPUT, field=["refreshToken"], message=message
            )
            return LogoutPayload(errors=[error])
        return LogoutPayload(revoked=await tokens.revoke(refresh_token))
