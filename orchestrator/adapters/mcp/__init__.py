"""The DGX-Pixels MCP server: generate, review and deploy sprites from an AI agent.

`build_mcp_server(service, settings)` returns a FastMCP server whose tools call only the
`Service` (generation, jobs, catalogues, pixelize) and `orchestrator.deploy` (Bevy
projects). The CLI (`dgx-pixels mcp`) runs it over stdio or streamable HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastmcp import FastMCP

from orchestrator.adapters.mcp.auth import SharedTokenVerifier
from orchestrator.adapters.mcp.resources import register_resources
from orchestrator.adapters.mcp.tools_deploy import register_deploy_tools
from orchestrator.adapters.mcp.tools_generate import register_generation_tools
from orchestrator.adapters.mcp.tools_jobs import register_job_tools
from orchestrator.adapters.mcp.tools_pixelize import register_pixelize_tool
from orchestrator.adapters.mcp.tools_train import register_train_tools
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["INSTRUCTIONS", "SharedTokenVerifier", "build_mcp_server"]

INSTRUCTIONS = """\
DGX-Pixels turns prompts into game-ready pixel-art sprites and deploys them into Bevy games.
Flow: generate_sprite (or generate_sprite_sheet / generate_tileset) -> look at the returned
image -> deploy_asset(job_id, project, name) into a project from list_projects. The file
lands in <project>/assets/ atomically, so a running Bevy game with file_watcher reloads it.
Use list_palettes / list_loras / list_models for valid names; compare_models to try 2-4
models on one prompt and seed; pixelize_image to clean up an existing picture."""


def build_mcp_server(
    service: Service,
    settings: Settings,
    *,
    token: str | None = None,
) -> FastMCP:
    """The MCP server over `service`.

    Args:
        service: The started service every tool calls.
        settings: Supplies `mcp_token` (the service's settings name the deploy targets).
        token: Bearer token for the HTTP transport; None uses `settings.mcp_token`, ""
            disables the check (stdio and in-memory clients carry no HTTP headers).
    """
    secret = token if token is not None else settings.mcp_token
    mcp = FastMCP(
        name="dgx-pixels",
        instructions=INSTRUCTIONS,
        auth=SharedTokenVerifier(secret) if secret else None,
    )
    register_generation_tools(mcp, service)
    register_pixelize_tool(mcp, service)
    register_job_tools(mcp, service)
    register_deploy_tools(mcp, service)
    register_train_tools(mcp, service)
    register_resources(mcp, service, service.deployer)
    return mcp
