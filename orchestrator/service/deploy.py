"""The deploy use case: a finished job's sprite, or a file the service wrote, into a Bevy
project's `assets/` (through `orchestrator.deploy`, which keeps it safe and atomic).

What may be deployed is decided here, once for every adapter: a sprite of a succeeded
job (with its atlas and its provenance for the manifest), or a PNG under the outputs
folder (a pixelized file); never an arbitrary file of the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.deploy import Deployer, DeployRequest, DeployResult, Provenance
from orchestrator.errors import InvalidRequest, JobStateError
from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState

__all__ = ["AssetDeploy", "provenance_of"]


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
    bevy_atlas: Path | None = None


class AssetDeploy:
    """Deploys job sprites and output files through one `Deployer`.

    Args:
        deployer: The registered projects and the safe, atomic copy.
        get_job: Looks a job up by id or prefix (raises `JobNotFound`).
        output_dir: The outputs root: the only folder `path` may name a file in.
    """

    def __init__(self, deployer: Deployer, get_job: Callable[[str], Job], output_dir: Path):
        self.deployer = deployer
        self._get_job = get_job
        self._output_dir = output_dir

    def deploy(
        self,
        project: str,
        name: str,
        *,
        job_id: str | None = None,
        path: str | Path | None = None,
        index: int = 0,
        overwrite: bool = False,
        dry_run: bool = False,
    ) -> DeployResult:
        """Copy sprite `index` of job `job_id` (or the file `path`) to `assets/<name>`.

        Raises:
            InvalidRequest: Neither or both of `job_id` and `path`, an `index` the job
                lacks, or a `path` outside the outputs folder.
            JobStateError: The job has not succeeded.
            JobNotFound: No such job.
            DeployError: The project, name or file is refused (see `orchestrator.deploy`).
        """
        # 1. the source, 2. the request, 3. the deployer's checks and atomic copy
        if (job_id is None) == (path is None):
            raise InvalidRequest("job_id/path", None, "give exactly one of job_id and path")
        source = self._job_source(job_id, index) if job_id is not None else self._file(path)
        request = DeployRequest(
            project=project,
            name=name,
            sprite=source.sprite,
            atlas=source.atlas,
            bevy_atlas=source.bevy_atlas,
            provenance=source.provenance,
            overwrite=overwrite,
        )
        return self.deployer.deploy(request, dry_run=dry_run)

    def _job_source(self, job_id: str, index: int) -> _Source:
        """The files of sprite `index` of a succeeded job, and the job's provenance."""
        job = self._get_job(job_id)
        if job.state != JobState.SUCCEEDED:
            raise JobStateError(
                f"job_id={job_id!r} is {job.state}; only a succeeded job can be deployed"
            )
        if not 0 <= index < len(job.files):
            raise InvalidRequest("index", index, f"job {job.id} has {len(job.files)} sprite(s)")
        files = job.files[index]
        atlas = Path(files.atlas) if files.atlas else None
        bevy = Path(files.bevy_atlas) if files.bevy_atlas else None
        return _Source(Path(files.sprite), atlas, provenance_of(job), bevy)

    def _file(self, path: str | Path | None) -> _Source:
        """A file the service wrote (pixelize); anything outside its outputs is refused."""
        resolved = Path(str(path)).expanduser().resolve()
        if not resolved.is_relative_to(self._output_dir.resolve()):
            raise InvalidRequest(
                "path", str(path), f"must be a file under the outputs folder {self._output_dir}"
            )
        return _Source(resolved, None, Provenance(template="pixelize"))
