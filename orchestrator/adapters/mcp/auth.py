"""Bearer-token check for the MCP HTTP transport (one shared secret, compared safely)."""

from __future__ import annotations

import hmac

from fastmcp.server.auth import TokenVerifier
from fastmcp.server.auth.auth import AccessToken

__all__ = ["SharedTokenVerifier"]


class SharedTokenVerifier(TokenVerifier):
    """Accepts exactly one token (settings `mcp_token` or `--token`); anything else is 401."""

    def __init__(self, token: str) -> None:
        """Remember the token.

        Args:
            token: The secret clients send as `Authorization: Bearer <token>`.

        Raises:
            ValueError: An empty token (it would protect nothing).
        """
        if not token:
            raise ValueError("token='' would accept nobody's secret; give a non-empty token")
        super().__init__()
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        """The access record for the right token, None (-> 401) for any other."""
        if not hmac.compare_digest(token.encode(), self._token):
            return None
        return AccessToken(token=token, client_id="dgx-pixels-mcp", scopes=[])
