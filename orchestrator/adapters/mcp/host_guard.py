"""Host/Origin checks for MCP over HTTP, against DNS rebinding (as the MCP spec advises).

A web page on `evil.example` can make its name resolve to 127.0.0.1 and then talk to a
server on this machine from the victim's browser; its requests still carry
`Host: evil.example` and `Origin: http://evil.example`. So the server answers only names it
knows: the loopback names, plus `mcp_allowed_hosts` (which needs a token). A `Host` with a
port must carry the port actually served. A missing `Origin` is fine (agents and CLIs send
none); a present one must name an allowed host.

FastMCP 4.2 has `HostOriginGuardMiddleware`, but it also trusts whatever address the socket
is bound to, ignores the port and answers a bare "Misdirected Request"; this guard says
which header was refused and how to allow a name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse

__all__ = ["LOOPBACK_NAMES", "HostOriginGuard", "Refusal", "host_refusal", "origin_refusal"]

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_NAME = re.compile(r"^([a-z0-9_.-]+|[0-9a-f:.]+)$")  # a DNS name, IPv4, or IPv6 sans brackets
_HOW_TO_ALLOW = (
    "to reach this server by another name, set a token and list the name in "
    "mcp_allowed_hosts (--allowed-host / DGXP_MCP_ALLOWED_HOSTS)"
)


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: HTTP status and a message for the client."""

    status: int
    message: str


def _split_host(value: str) -> tuple[str, int | None] | None:
    """(`name`, port or None) of a Host header value; None when it does not parse."""
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    name = (parts.hostname or "").lower()
    if not _NAME.match(name) or parts.username is not None or parts.password is not None:
        return None
    return name, port


def host_refusal(host: str | None, allowed: Iterable[str], port: int | None) -> Refusal | None:
    """None when `host` (the Host header) names an allowed host and the served port.

    Args:
        host: The header value (`localhost:8765`), None when absent.
        allowed: Allowed host names, lower case, without brackets or ports.
        port: The port this server listens on (None: not checked).
    """
    names = ", ".join(f"[{n}]" if ":" in n else n for n in allowed)
    if not host:
        return Refusal(400, f"missing Host header; this MCP server answers only {names}")
    parsed = _split_host(host)
    if parsed is None:
        return Refusal(400, f"Host header {host!r} is not a host name (with an optional port)")
    name, given_port = parsed
    if name not in allowed:
        return Refusal(
            421,
            f"Host header {host!r} is not allowed (DNS-rebinding guard); this MCP server "
            f"answers only {names}; {_HOW_TO_ALLOW}",
        )
    if given_port is not None and port is not None and given_port != port:
        return Refusal(421, f"Host header {host!r} names port {given_port}, not {port}")
    return None


def origin_refusal(origin: str | None, allowed: Iterable[str]) -> Refusal | None:
    """None when there is no Origin header or it names an allowed host over http(s)."""
    if origin is None:
        return None
    names = tuple(allowed)
    try:
        parts = urlsplit(origin)
        scheme, hostname = parts.scheme, (parts.hostname or "").lower()
    except ValueError:
        scheme, hostname = "", ""
    if scheme in ("http", "https") and hostname in names:
        return None
    shown = ", ".join(f"[{n}]" if ":" in n else n for n in names)
    return Refusal(
        403,
        f"Origin header {origin!r} is not allowed (DNS-rebinding guard); web pages may call "
        f"this MCP server only from {shown}; {_HOW_TO_ALLOW}",
    )


class HostOriginGuard:
    """ASGI middleware: refuse HTTP requests whose Host or Origin names a foreign host.

    Args:
        app: The wrapped ASGI app.
        allowed_hosts: Names allowed besides the loopback ones (`sprites.lan`, `10.0.0.5`).
    """

    def __init__(self, app: Any, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        extra = (h.strip().strip("[]").lower() for h in allowed_hosts)
        self.allowed = tuple(dict.fromkeys([*LOOPBACK_NAMES, *(h for h in extra if h)]))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        server = scope.get("server")
        port = int(server[1]) if server and server[1] is not None else None
        refusal = host_refusal(headers.get("host"), self.allowed, port) or origin_refusal(
            headers.get("origin"), self.allowed
        )
        if refusal is None:
            await self.app(scope, receive, send)
            return
        logger.warning("MCP HTTP request refused (%d): %s", refusal.status, refusal.message)
        await PlainTextResponse(refusal.message, status_code=refusal.status)(scope, receive, send)
