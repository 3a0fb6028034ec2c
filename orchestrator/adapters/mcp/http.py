"""MCP over streamable HTTP in a background thread: the daemon's MCP adapter.

`dgx-pixels serve --mcp-port N` attaches `start_mcp_http(service, settings)` next to the
ZeroMQ bridge; `dgx-pixels mcp --http` runs the same server in the foreground. Both apply
the same rules: a bind address other than loopback needs a bearer token
(`check_http_exposure`), and every request's Host/Origin must name a loopback host or one of
`mcp_allowed_hosts`, which in turn needs the token (`mcp_http_app`, `HostOriginGuard`).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from orchestrator.errors import InvalidRequest
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from fastmcp import FastMCP

    from orchestrator.service import Service

__all__ = [
    "McpHttpServer",
    "check_http_exposure",
    "is_loopback",
    "mcp_http_app",
    "start_mcp_http",
]

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_http_exposure(
    host: str,
    token: str | None,
    field_name: str = "host",
    allowed_hosts: Sequence[str] = (),
    allowed_field: str = "mcp_allowed_hosts",
) -> None:
    """Refuse to serve the tools beyond this machine without a token.

    Raises:
        InvalidRequest: `host` is not loopback, or `allowed_hosts` names other hosts, and
            `token` is empty.
    """
    if not is_loopback(host) and not token:
        raise InvalidRequest(
            field_name,
            host,
            "exposes the MCP tools beyond this machine; set a token (mcp_token, "
            "DGXP_MCP_TOKEN) or bind to 127.0.0.1",
        )
    if allowed_hosts and not token:
        raise InvalidRequest(
            allowed_field,
            list(allowed_hosts),
            "lets other host names reach the MCP tools; set a token too (mcp_token, "
            "DGXP_MCP_TOKEN, --token) or leave it empty to answer loopback names only",
        )


def mcp_http_app(server: FastMCP, allowed_hosts: Sequence[str] = ()) -> Any:
    """The server's streamable-HTTP ASGI app behind the Host/Origin guard.

    FastMCP's own guard is switched off so that one rule (ours) decides.
    """
    from starlette.middleware import Middleware

    from orchestrator.adapters.mcp.host_guard import HostOriginGuard

    guard = Middleware(HostOriginGuard, allowed_hosts=tuple(allowed_hosts))
    return server.http_app(host_origin_protection=False, middleware=[guard])


class McpHttpServer:
    """A FastMCP server's HTTP app served by uvicorn on a thread, until `stop()`.

    Args:
        app: The ASGI app (`FastMCP.http_app()`).
        host: Bind address.
        port: Bind port (0 picks a free one; `url` then names it).
    """

    def __init__(self, app: Any, host: str, port: int) -> None:
        import uvicorn

        self.host = host
        self._server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", ws="none")
        )
        self._thread = threading.Thread(target=self._run, name="mcp-http", daemon=True)
        self.port = port

    @property
    def url(self) -> str:
        """Where clients connect (`http://host:port/mcp`)."""
        return f"http://{self.host}:{self.port}/mcp"

    def _run(self) -> None:
        try:
            self._server.run()
        except SystemExit:  # uvicorn exits on a bind failure (already logged); start() reports
            logger.debug("mcp http server thread ended at startup")

    def start(self, timeout_s: float = 30.0) -> McpHttpServer:
        """Serve; return once the socket is bound.

        Raises:
            InvalidRequest: The port cannot be bound (in use, no permission), naming it.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise InvalidRequest(
                    "mcp_port",
                    self.port,
                    f"cannot serve MCP on {self.host}:{self.port} (in use, or no permission?); "
                    "pick another port with --mcp-port / DGXP_MCP_PORT",
                )
            time.sleep(0.02)
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        logger.info("MCP over HTTP at %s", self.url)
        return self

    def run_foreground(self) -> None:
        """Serve in this thread until Ctrl-C / SIGTERM (uvicorn handles the signals)."""
        logger.info("MCP over HTTP at %s", self.url)
        self._server.run()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving (in-flight requests get `timeout_s` to finish)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)


def start_mcp_http(service: Service, settings: Settings) -> McpHttpServer:
    """The `serve` adapter: MCP over streamable HTTP on `settings.mcp_host:mcp_port`.

    The token is `settings.mcp_token` (DGXP_MCP_TOKEN), as for `dgx-pixels mcp --http`;
    requests must name a loopback host or one of `settings.mcp_allowed_hosts`.

    Raises:
        InvalidRequest: No port set, a non-loopback host or allowed hosts without a token,
            or a port that cannot be bound.
    """
    from orchestrator.adapters.mcp import build_mcp_server

    if settings.mcp_port is None:
        raise InvalidRequest("mcp_port", None, "set a port to serve MCP over HTTP")
    allowed = settings.mcp_allowed_hosts
    check_http_exposure(settings.mcp_host, settings.mcp_token, "mcp_host", allowed)
    app = mcp_http_app(build_mcp_server(service, settings), allowed)
    return McpHttpServer(app, settings.mcp_host, settings.mcp_port).start()
