"""Tool results for jobs: a short text, the sprite as an image, and the typed view."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastmcp.exceptions import ToolError
from fastmcp.tools.base import ToolResult
from fastmcp.utilities.types import Image

from orchestrator.adapters.mcp.media import preview_png
from orchestrator.adapters.mcp.views import JobList
from orchestrator.service import Job, JobState
from orchestrator.wire.job_view import JobView, job_view

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["MAX_PREVIEWS", "job_result", "jobs_result"]

MAX_PREVIEWS = 8


def _check_finished(job: Job) -> None:
    if job.state == JobState.FAILED:
        raise ToolError(
            f"job {job.id} failed: {job.error or 'no reason given'}. "
            "Fix the input and generate again, or call job_status for details."
        )
    if job.state == JobState.CANCELLED:
        raise ToolError(f"job {job.id} was cancelled: {job.error or 'cancel requested'}.")


def _parts(service: Service, job: Job, label: str | None) -> tuple[list[str | Image], JobView]:
    """Text + images + typed view for one job (images only once it succeeded)."""
    if job.state != JobState.SUCCEEDED:
        text = (
            f"job {job.id} is {job.state} ({job.progress[0]}/{job.progress[1]} steps); "
            f"call job_status(job_id={job.id!r}) to follow it."
        )
        return [text], job_view(job, label=label)
    outputs = service.outputs(job.id)
    content: list[str | Image] = []
    prefix = f"[{label}] " if label else ""
    for n, files in enumerate(outputs.sprites):
        content.append(
            f"{prefix}job {job.id} sprite {n} (seed {job.seed}): {files.sprite}"
            + (f"; atlas: {files.atlas}" if files.atlas else "")
            + (f"; Bevy atlas: {files.bevy_atlas}" if files.bevy_atlas else "")
            + (f"; animation: {files.animation}" if files.animation else "")
            + (f"; tiled preview: {files.tiled_preview}" if files.tiled_preview else "")
            + f". Deploy it with deploy_asset(job_id={job.id!r}, index={n}, project=..., name=...)."
            # a sprite QA flags (fully transparent, off-palette …) is not a clean success
            + (f" QA warnings: {'; '.join(files.qa_warnings)}." if files.qa_warnings else "")
        )
        if n < MAX_PREVIEWS:  # a 16-sprite batch would make a huge reply; paths suffice
            preview = Path(files.preview) if files.preview else None
            content.append(Image(data=preview_png(Path(files.sprite), preview), format="png"))
    return content, job_view(job, outputs, label=label)


def job_result(service: Service, job: Job) -> ToolResult:
    """The result for one job: a tool error if it failed, the sprite when it succeeded."""
    _check_finished(job)
    content, view = _parts(service, job, None)
    return ToolResult(content=content, structured_content=view.model_dump(mode="json"))


def jobs_result(service: Service, jobs: list[tuple[str, Job]]) -> ToolResult:
    """The result for labelled jobs (a comparison); failures are reported per job."""
    content: list[str | Image] = []
    views: list[JobView] = []
    for label, job in jobs:
        if job.state in (JobState.FAILED, JobState.CANCELLED):
            content.append(f"[{label}] job {job.id} {job.state}: {job.error}")
            views.append(job_view(job, label=label))
            continue
        parts, view = _parts(service, job, label)
        content.extend(parts)
        views.append(view)
    return ToolResult(
        content=content, structured_content=JobList(jobs=views).model_dump(mode="json")
    )
