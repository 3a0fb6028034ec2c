"""`dgx-pixels mcp`: serve the MCP server over stdio (default) or streamable HTTP.

Composition: settings (from the root callback) -> `composition.build_service` (the same
composition as the daemon: job store, backend pool, templates, embedded engine when no
backend is configured) -> `build_mcp_server`. Over stdio, stdout *is* the protocol, so
logging is moved to stderr before anything else runs.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.adapters.cli.context import settings_from

if TYPE_CHECKING:
    from orchestrator.service import Service
    from orchestrator.settings import Settings

__all__ = ["mcp_command"]

logger = logging.getLogger(__name__)


def _log_to_stderr(level: int) -> None:
    """Send every log record to stderr (stdout carries MCP messages in stdio mode)."""
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[logging.StreamHandler(sys.stderr)],
        force=True,
    )


def _start_service(settings: Settings) -> Service:
    """The started service, or a clear error and exit code 1."""
    from orchestrator.composition import build_service
    from orchestrator.errors import DGXPixelsError

    try:
        service = build_service(settings)
    except DGXPixelsError as exc:
        logger.error("cannot build the service: %s", exc)
        raise typer.Exit(code=1) from exc
    try:
        return service.start()
    except DGXPixelsError as exc:
        service.stop()
        logger.error("cannot start the service: %s", exc)
        raise typer.Exit(code=1) from exc


def mcp_command(
    ctx: typer.Context,
    http: bool = typer.Option(
        False, "--http", help="Serve streamable HTTP (at http://HOST:PORT/mcp) instead of stdio."
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="HTTP bind address. Keep 127.0.0.1 unless you set a token."
    ),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="HTTP port."),
    token: str | None = typer.Option(
        None,
        "--token",
        help="Bearer token HTTP clients must send (default: settings `mcp_token`, "
        "DGXP_MCP_TOKEN). Without one, any local process can call the tools.",
    ),
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="Host name clients may use besides localhost/127.0.0.1/[::1], repeatable "
            "(default: settings `mcp_allowed_hosts`); needs a token.",
        ),
    ] = None,
) -> None:
    """Serve DGX-Pixels to AI agents over MCP (generate, review, deploy into Bevy).

    Example (stdio, what most agents launch): `claude mcp add dgx-pixels -- dgx-pixels mcp`.
    **HTTP**: `dgx-pixels mcp --http --port 8765 --token SECRET`, then point the client at
    `http://127.0.0.1:8765/mcp` with `Authorization: Bearer SECRET`.

    Register Bevy projects for `deploy_asset` with `bevy_projects` in dgx-pixels.toml
    (or `DGXP_BEVY_PROJECTS='["/path/to/game"]'`). See docs/mcp.md.
    """
    settings = settings_from(ctx)
    level = logging.getLogger().getEffectiveLevel()
    if not http:
        _log_to_stderr(level)
    secret = token if token is not None else settings.mcp_token
    if http:
        from orchestrator.adapters.mcp.http import check_http_exposure  # the daemon's rule too
        from orchestrator.errors import InvalidRequest

        allowed = allowed_host if allowed_host is not None else settings.mcp_allowed_hosts
        try:
            check_http_exposure(host, secret, "--host", allowed, "--allowed-host")
        except InvalidRequest as exc:
            raise typer.BadParameter(f"{exc} (or pass --token)", param_hint=exc.field) from exc
    # Heavy imports (fastmcp, the service and its engine) only once the command runs.
    from orchestrator.adapters.mcp import build_mcp_server

    service = _start_service(settings)
    try:
        # Over stdio the client is the parent process: no HTTP, so no token to check.
        server = build_mcp_server(service, settings, token=(secret or "") if http else "")
        if http:
            from orchestrator.adapters.mcp.http import McpHttpServer, mcp_http_app

            logger.info(
                "MCP token required: %s; Host/Origin allowed: loopback%s",
                bool(secret),
                "".join(f", {h}" for h in allowed),
            )
            McpHttpServer(mcp_http_app(server, allowed), host, port).run_foreground()
        else:
            server.run(transport="stdio", show_banner=False)
    finally:
        service.stop()
