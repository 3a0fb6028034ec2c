"""Bevy tools: list_projects and deploy_asset (a finished job's sprite into assets/)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastmcp import FastMCP
from pydantic import Field

from orchestrator.adapters.mcp.errors import client_errors
from orchestrator.adapters.mcp.views import DeployView, ProjectList, deploy_view, project_list
from orchestrator.deploy import Deployer, DeployRequest, Provenance
from orchestrator.errors import InvalidRequest, JobStateError
from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState

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


@dataclass(frozen=True)
class _Source:
    sprite: Path
    atlas: Path | None
    provenance: Provenance


def _job_source(service: Service, job_id: str, index: int) -> _Source:
    """The files of sprite `index` of a succeeded job, and the job's provenance."""
    job = service.get_job(job_id)
    if job.state != JobState.SUCCEEDED:
        raise JobStateError(
            f"job_id={job_id!r} is {job.state}; only a succeeded job can be deployed"
        )
    sprites = service.outputs(job.id).sprites
    if index >= len(sprites):
        raise InvalidRequest("index", index, f"job {job.id} has {len(sprites)} sprite(s)")
    files = sprites[index]
    atlas = Path(files.atlas) if files.atlas else None
    return _Source(Path(files.sprite), atlas, provenance_of(job))


def _output_source(path: str, output_dir: Path) -> _Source:
    """A file the service wrote (pixelize_image); anything outside its outputs is refused."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_relative_to(output_dir.resolve()):
        raise InvalidRequest("path", path, f"must be a file under the outputs folder {output_dir}")
    return _Source(resolved, None, Provenance(template="pixelize"))


def register_deploy_tools(
    mcp: FastMCP, service: Service, deployer: Deployer, output_dir: Path
) -> None:
    """Add list_projects and deploy_asset to `mcp` (`path` deploys only from `output_dir`)."""

    @mcp.tool
    def list_projects() -> ProjectList:
        """Registered Bevy projects (settings `bevy_projects`): deploy_asset targets."""
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
            if (job_id is None) == (path is None):
                raise InvalidRequest("job_id/path", None, "give exactly one of job_id and path")
            source = (
                _job_source(service, job_id, index)
                if job_id is not None
                else _output_source(str(path), output_dir)
            )
            request = DeployRequest(
                project=project,
                name=name,
                sprite=source.sprite,
                atlas=source.atlas,
                provenance=source.provenance,
                overwrite=overwrite,
            )
            return deploy_view(deployer.deploy(request, dry_run=dry_run))
