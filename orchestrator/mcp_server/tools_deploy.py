"""Bevy tools: list_projects and deploy_asset (a finished job's sprite into assets/)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastmcp import FastMCP
from pydantic import Field

from orchestrator.deploy import Deployer, DeployRequest, Provenance
from orchestrator.errors import InvalidRequest, JobStateError
from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState
from orchestrator.mcp_server.args import JobId
from orchestrator.mcp_server.errors import client_errors
from orchestrator.mcp_server.views import DeployView, ProjectList, deploy_view, project_list

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["provenance_of", "register_deploy_tools"]


def _loras(value: Any) -> tuple[tuple[str, float], ...]:
    """LoRAs from a job's template parameters (`[{name, strength}]`)."""
    if not isinstance(value, list):
        return ()
    return tuple(
        (str(item["name"]), float(item.get("strength", 1.0)))
        for item in value
        if isinstance(item, dict) and "name" in item
    )


def provenance_of(job: Job) -> Provenance:
    """What the manifest records about the job a sprite came from."""
    checkpoint = job.params.get("checkpoint")
    return Provenance(
        job_id=job.id,
        prompt=job.prompt,
        seed=job.seed,
        model=str(checkpoint) if checkpoint is not None else None,
        template=job.template,
        loras=_loras(job.params.get("loras")),
    )


def register_deploy_tools(mcp: FastMCP, service: Service, deployer: Deployer) -> None:
    """Add list_projects and deploy_asset to `mcp`."""

    @mcp.tool
    def list_projects() -> ProjectList:
        """Registered Bevy projects (settings `bevy_projects`): deploy_asset targets."""
        return project_list(deployer.projects(), deployer.registry.problems())

    @mcp.tool
    def deploy_asset(
        job_id: JobId,
        project: Annotated[str, Field(max_length=500, description="Project name or root.")],
        name: Annotated[
            str,
            Field(
                max_length=200,
                description="Asset path under assets/: 'potion' means 'generated/potion.png'; "
                "'items/potion.png' is assets/items/potion.png.",
            ),
        ],
        overwrite: Annotated[
            bool, Field(description="Replace an existing asset (it is backed up first).")
        ] = False,
        dry_run: Annotated[
            bool, Field(description="Only say what would be written; write nothing.")
        ] = False,
        index: Annotated[int, Field(ge=0, le=255, description="Which sprite of a batch job.")] = 0,
    ) -> DeployView:
        """Copy a finished job's sprite (and atlas) into a Bevy project's assets/.

        The file appears atomically, so a running game with `file_watcher` hot-reloads it;
        assets/generated/manifest.json records where it came from.
        """
        with client_errors():
            job = service.get_job(job_id)
            if job.state != JobState.SUCCEEDED:
                raise JobStateError(
                    f"job_id={job_id!r} is {job.state}; only a succeeded job can be deployed"
                )
            outputs = service.outputs(job_id)
            if index >= len(outputs.sprites):
                raise InvalidRequest(
                    "index", index, f"job {job_id} has {len(outputs.sprites)} sprite(s)"
                )
            files = outputs.sprites[index]
            request = DeployRequest(
                project=project,
                name=name,
                sprite=Path(files.sprite),
                atlas=Path(files.atlas) if files.atlas else None,
                provenance=provenance_of(job),
                overwrite=overwrite,
            )
            return deploy_view(deployer.deploy(request, dry_run=dry_run))
