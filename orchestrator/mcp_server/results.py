"""Tool results for jobs: a short text, the sprite as an image, and the typed view."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastmcp.exceptions import ToolError
from fastmcp.tools.base import ToolResult
from fastmcp.utilities.types import Image

from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState
from orchestrator.mcp_server.media import preview_png
from orchestrator.mcp_server.views import JobList, job_view

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["job_result", "jobs_result"]


def _check_finished(job: Job) -> None:
    if job.state == JobState.FAILED:
        raise ToolError(
            f"job {job.id} failed: {job.error or 'no reason given'}. "
            "Fix the input and generate again, or call job_status for details."
        )
    if job.state == JobState.CANCELLED:
        raise ToolError(f"job {job.id} was cancelled: {job.error or 'cancel requested'}.")


def _parts(
    service: Service, job: Job, label: str | None
) -> tuple[list[str | Image], dict[str, object]]:
    """Text + images + structured view for one job (images only once it succeeded)."""
    if job.state != JobState.SUCCEEDED:
        view = job_view(job, label=label)
        text = (
            f"job {job.id} is {job.state} ({job.progress[0]}/{job.progress[1]} steps); "
            f"call job_status(job_id={job.id!r}) to follow it."
        )
        return [text], view.model_dump(mode="json")
    outputs = service.outputs(job.id)
    view = job_view(job, outputs, label=label)
    content: list[str | Image] = []
    for files in outputs.sprites:
        prefix = f"[{label}] " if label else ""
        content.append(
            f"{prefix}job {job.id} succeeded (seed {job.seed}). sprite: {files.sprite}"
            + (f"; atlas: {files.atlas}" if files.atlas else "")
            + f". Deploy it with deploy_asset(job_id={job.id!r}, project=..., name=...)."
        )
        preview = Path(files.preview) if files.preview else None
        content.append(Image(data=preview_png(Path(files.sprite), preview), format="png"))
    return content, view.model_dump(mode="json")


def job_result(service: Service, job: Job) -> ToolResult:
    """The result for one job: a tool error if it failed, the sprite when it succeeded."""
    _check_finished(job)
    content, structured = _parts(service, job, None)
    return ToolResult(content=content, structured_content=structured)


def jobs_result(service: Service, jobs: list[tuple[str, Job]]) -> ToolResult:
    """The result for labelled jobs (a comparison); failures are reported per job."""
    content: list[str | Image] = []
    views = []
    for label, job in jobs:
        if job.state in (JobState.FAILED, JobState.CANCELLED):
            content.append(f"[{label}] job {job.id} {job.state}: {job.error}")
            views.append(job_view(job, label=label))
            continue
        parts, _ = _parts(service, job, label)
        content.extend(parts)
        outputs = service.outputs(job.id) if job.state == JobState.SUCCEEDED else None
        views.append(job_view(job, outputs, label=label))
    return ToolResult(
        content=content, structured_content=JobList(jobs=views).model_dump(mode="json")
    )
