"""MCP resources: a job's record, files and provenance, and the deploy manifests.

    dgx-pixels://jobs/{job_id}                the job (JSON)
    dgx-pixels://jobs/{job_id}/sidecar        the sprite's provenance sidecar (JSON)
    dgx-pixels://jobs/{job_id}/sprite         the true-size sprite (PNG)
    dgx-pixels://jobs/{job_id}/preview        the scaled preview (PNG)
    dgx-pixels://jobs/{job_id}/atlas          a sprite sheet's atlas (JSON)
    dgx-pixels://projects                     the registered Bevy projects (JSON)
    dgx-pixels://projects/{project}/manifest  a project's deploy manifest (JSON)

Paths are never taken from the URI: files come from the service's record of the job,
the manifest from the registered project, so a URI cannot read anything else.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fastmcp import FastMCP
from fastmcp.exceptions import ResourceError

from orchestrator.adapters.mcp.media import preview_png
from orchestrator.adapters.mcp.views import project_list
from orchestrator.errors import DGXPixelsError
from orchestrator.service import MANIFEST_NAME, Deployer, SpriteFiles
from orchestrator.wire.job_view import job_view

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["register_resources"]

_MAX_READ = 16 * 1024 * 1024


@contextlib.contextmanager
def _resource_errors() -> Iterator[None]:
    try:
        yield
    except (DGXPixelsError, OSError) as exc:
        raise ResourceError(str(exc)) from exc


def _read(path: str | None, what: str, job_id: str) -> bytes:
    if not path:
        raise ResourceError(f"job {job_id} has no {what} file")
    file = Path(path)
    if not file.is_file():
        raise ResourceError(f"job {job_id}: {what} file {file} is gone (outputs were removed?)")
    if file.stat().st_size > _MAX_READ:
        raise ResourceError(f"job {job_id}: {what} file {file} is over {_MAX_READ} bytes")
    return file.read_bytes()


def register_resources(mcp: FastMCP, service: Service, deployer: Deployer) -> None:
    """Add the job and project resources to `mcp`."""
    _register_job_resources(mcp, service)
    _register_project_resources(mcp, deployer)


def _register_job_resources(mcp: FastMCP, service: Service) -> None:

    def first_files(job_id: str) -> SpriteFiles:
        outputs = service.outputs(job_id)
        if not outputs.sprites:
            raise ResourceError(f"job {job_id} has no files yet; check job_status")
        return outputs.sprites[0]

    @mcp.resource("dgx-pixels://jobs/{job_id}", mime_type="application/json")
    def job_record(job_id: str) -> str:
        """The job: state, parameters, progress, error and files."""
        with _resource_errors():
            return job_view(service.get_job(job_id)).model_dump_json(indent=2)

    @mcp.resource("dgx-pixels://jobs/{job_id}/sidecar", mime_type="application/json")
    def job_sidecar(job_id: str) -> str:
        """Provenance of the job's sprite: prompt, seed, models, LoRAs, hashes, QA report."""
        with _resource_errors():
            return _read(first_files(job_id).sidecar, "sidecar", job_id).decode()

    @mcp.resource("dgx-pixels://jobs/{job_id}/sprite", mime_type="image/png")
    def job_sprite(job_id: str) -> bytes:
        """The true-size sprite PNG."""
        with _resource_errors():
            return _read(first_files(job_id).sprite, "sprite", job_id)

    @mcp.resource("dgx-pixels://jobs/{job_id}/preview", mime_type="image/png")
    def job_preview(job_id: str) -> bytes:
        """A crisp, scaled preview PNG of the sprite."""
        with _resource_errors():
            files = first_files(job_id)
            preview = Path(files.preview) if files.preview else None
            return preview_png(Path(files.sprite), preview)

    @mcp.resource("dgx-pixels://jobs/{job_id}/atlas", mime_type="application/json")
    def job_atlas(job_id: str) -> str:
        """The atlas JSON of a sprite-sheet job (Aseprite format)."""
        with _resource_errors():
            return _read(first_files(job_id).atlas, "atlas", job_id).decode()


def _register_project_resources(mcp: FastMCP, deployer: Deployer) -> None:
    @mcp.resource("dgx-pixels://projects", mime_type="application/json")
    def projects() -> str:
        """The registered Bevy projects."""
        listing = project_list(deployer.projects(), deployer.registry.problems())
        return listing.model_dump_json(indent=2)

    @mcp.resource("dgx-pixels://projects/{project}/manifest", mime_type="application/json")
    def project_manifest(project: str) -> str:
        """What was deployed into the project, with provenance."""
        with _resource_errors():
            found = deployer.registry.get(project)
            manifest = found.assets / MANIFEST_NAME
            if not manifest.is_file():
                return json.dumps({"type": "dgx-pixels.manifest", "version": 1, "entries": {}})
            return manifest.read_text()
