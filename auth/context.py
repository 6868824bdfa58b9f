"""Per-request state handed to every resolver: settings, the viewer, loaders, request id."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from auth.identity import Viewer
from auth.loaders import Loaders
from core.config import Settings
from core.errors import AppError, ErrorCode

SIGN_IN = (
    "authentication required: sign in with the login mutation and send its accessToken in the"
    " header 'Authorization: Bearer <token>' (an API key goes in the same header)"
)


@dataclass
class Context:
    """What resolvers may know about the request they serve."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    request_id: str
    viewer: Viewer | None = None
    auth_error: AppError | None = None
    _loaders: Loaders | None = field(default=None, repr=False)
    # set while a compiled plan runs a root resolver: nothing else resolves beside it, so a
    # lookup by key is fetched at once instead of waiting a loop turn for siblings to batch with
    immediate: bool = field(default=False, repr=False)

    def require_viewer(self) -> Viewer:
        """The signed-in viewer, or the reason there is none."""
        if self.auth_error is not None:
            raise self.auth_error
        if self.viewer is None:
            raise AppError(ErrorCode.UNAUTHENTICATED, SIGN_IN)
        return self.viewer

    @property
    def loaders(self) -> Loaders:
        """This operation's loaders (see ``reset_loaders``)."""
        if self._loaders is None:
            self._loaders = Loaders(self.require_viewer().organization_id)
        return self._loaders

    def reset_loaders(self) -> None:
        """Forget cached loads; called at the start of every operation."""
        self._loaders = None
