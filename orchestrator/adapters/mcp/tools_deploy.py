"""Bevy tools: list_projects and deploy_asset, thin calls of `Service.deploy` (which
decides what may be deployed and records the job's provenance)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastmcp import FastMCP
from pydantic import Field

from orchestrator.adapters.mcp.errors import client_errors
from orchestrator.adapters.mcp.views import DeployView, ProjectList, deploy_view, project_list

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["register_deploy_tools"]


def register_deploy_tools(mcp: FastMCP, service: Service) -> None:
    """Add list_projects and deploy_asset to `mcp`."""

    @mcp.tool
    def list_projects() -> ProjectList:
        """Registered Bevy projects (settings `bevy_projects`): deploy_asset targets."""
        deployer = service.deployer
        return project_list(deployer.projects(), deployer.registry.problems())

    @mcp.tool
    def deploy_asset(
        project: Annotated[str, Field(max_length=500, description="Project name or root.")],
        name: Annotated[
            str,
            Field(
                max_length=200,
                description="Asset path under assets/: 'potion' means 'generated/potion.png'; "
                "'items/potion.png' is assets/items/potion.png.",
            ),
        ],
        job_id: Annotated[
            str | None,
            Field(default=None, max_length=64, description="A succeeded generation job."),
        ] = None,
        path: Annotated[
            str | None,
            Field(
                default=None,
                max_length=4096,
                description="Instead of job_id: a sprite PNG under the server's outputs "
                "folder (e.g. from pixelize_image).",
            ),
        ] = None,
        overwrite: Annotated[
            bool, Field(description="Replace an existing asset (it is backed up first).")
        ] = False,
        dry_run: Annotated[
            bool, Field(description="Only say what would be written; write nothing.")
        ] = False,
        index: Annotated[int, Field(ge=0, le=255, description="Which sprite of a batch job.")] = 0,
    ) -> DeployView:
        """Copy a finished job's sprite (and atlas), or a pixelized file, into a Bevy
        project's assets/.

        The file appears atomically, so a running game with `file_watcher` hot-reloads it;
        assets/generated/manifest.json records where it came from.
        """
        with client_errors():
            result = service.deploy(
                project,
                name,
                job_id=job_id,
                path=path,
                index=index,
                overwrite=overwrite,
                dry_run=dry_run,
            )
            return deploy_view(result)
