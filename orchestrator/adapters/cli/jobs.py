"""`dgx-pixels jobs list|show|cancel|retry`: the job history in the data directory.

These commands start no backend: they read and update the job database through the
service. `cancel` also interrupts and deletes the prompt on the job's stored backend URL,
even when no process follows the job; cancelling a cancelled job is a no-op that says so.
`retry` is the exception: it runs the job again and follows it like `generate` (in the
daemon when `dgx-pixels serve` holds the data dir, else in this process), or with
`--queue-only` leaves it queued for `dgx-pixels serve`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import choices_metavar, emit_result, fail, note
from orchestrator.errors import DGXPixelsError
from orchestrator.service import JobState

if TYPE_CHECKING:
    from orchestrator.service import Job, Service

__all__ = ["app", "job_dict"]

app = typer.Typer(
    help="List, inspect, cancel and retry jobs (`dgx-pixels jobs list`).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@contextmanager
def _service(ctx: typer.Context) -> Iterator[Service]:
    from orchestrator.composition import build_service

    try:
        service = build_service(settings_from(ctx), backends=False)
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    try:
        yield service
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    finally:
        service.store.close()


def _when(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S") if stamp else "-"


def job_dict(job: Job) -> dict[str, Any]:
    """A job as plain JSON-able data (`--json`)."""
    return {
        "id": job.id,
        "state": job.state.value,
        "template": job.template,
        "prompt": job.prompt,
        "params": dict(job.params),
        "seed": job.seed,
        "backend": job.backend,
        "prompt_id": job.prompt_id,
        "attempts": job.attempts,
        "created_at": job.created_at,
        "submitted_at": job.submitted_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "retryable": job.retryable,
        "hashes": dict(job.hashes),
        "files": [f.to_dict() for f in job.files],
        "qa_warnings": list(job.qa_warnings),
        "out_dir": job.out_dir,
        "backends_asked": list(job.wanted_backends),
        "lease_owner": job.lease.owner if job.lease else None,
        "lease_expires_at": job.lease.expires_at if job.lease else None,
    }


@app.command("list")
def list_command(
    ctx: typer.Context,
    state: Annotated[
        JobState | None,
        typer.Option("--state", metavar=choices_metavar(JobState), help="Only jobs in this state."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, max=10_000, help="How many.")
    ] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Recent jobs, newest first.

    Example: dgx-pixels jobs list --state failed --json
    """
    from rich.console import Console
    from rich.table import Table

    with _service(ctx) as service:
        jobs = service.list_jobs(state, limit)
    if as_json:
        typer.echo(json.dumps([job_dict(j) for j in jobs], indent=2))
        return
    table = Table()
    for column, width in (("id", 8), ("state", 9), ("template", 0), ("prompt", 0), ("seed", 0)):
        table.add_column(column, no_wrap=True, overflow="ellipsis", min_width=width or None)
    table.add_column("created", no_wrap=True, min_width=19)
    table.add_column("sprites", no_wrap=True)
    for job in jobs:
        table.add_row(
            job.short_id,
            job.state.value,
            job.template,
            job.prompt[:40],
            str(job.seed),
            _when(job.created_at),
            str(len(job.outputs)),
        )
    Console().print(table if jobs else 'no jobs yet — try `dgx-pixels generate "a red potion"`')


@app.command("show")
def show_command(
    ctx: typer.Context,
    job_id: Annotated[
        str, typer.Argument(metavar="JOB", help="Job id or a unique prefix (≥ 4 characters).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines.")] = False,
) -> None:
    """Everything recorded about one job: parameters, backend, timings, files.

    Example: dgx-pixels jobs show 3f2a --json
    """
    with _service(ctx) as service:
        job = service.get_job(job_id)
    data = job_dict(job)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():  # plain `key: value` lines: paths must never wrap
        shown = _when(value) if key.endswith("_at") else value
        if isinstance(shown, dict | list):
            shown = json.dumps(shown)
        emit_result(f"{key}: {'' if shown is None else shown}")


@app.command("cancel")
def cancel_command(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="JOB", help="Job id or a unique prefix.")],
) -> None:
    """Cancel a queued or running job, interrupting and deleting its backend prompt.

    A succeeded or failed job cannot be cancelled; a cancelled one is left as it is.

    Example: dgx-pixels jobs cancel 3f2a
    """
    with _service(ctx) as service:
        before = service.get_job(job_id)
        job = service.cancel(before.id)
    if before.state is JobState.CANCELLED:
        emit_result(f"job {job.short_id}: already cancelled, nothing to do ({job.error})")
        return
    emit_result(f"job {job.short_id}: {job.state.value}")


@app.command("retry")
def retry_command(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="JOB", help="Job id or a unique prefix.")],
    queue_only: Annotated[
        bool,
        typer.Option("--queue-only", help="Only queue it again; `dgx-pixels serve` runs it."),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="Give up waiting (and cancel it)."),
    ] = 1800.0,
) -> None:
    """Run a failed or cancelled job again (same parameters, seed, output folder and
    backends) and print its sprite paths.

    Example: dgx-pixels jobs retry 3f2a
    """
    if queue_only:
        with _service(ctx) as service:
            job = service.retry(job_id)
        emit_result(f"job {job.short_id}: {job.state.value}")
        note("it runs when `dgx-pixels serve` is running")
        return
    from orchestrator.adapters.cli.output import stderr_console
    from orchestrator.adapters.cli.own_jobs import run_own_jobs

    try:
        (job,) = run_own_jobs(
            "jobs retry",
            settings_from(ctx),
            lambda service: [service.retry(job_id)],
            stderr_console(),
            timeout,
        )
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    emit_result(f"job {job.short_id}: {job.state.value}")
    for files in job.files:
        emit_result(files.sprite)
    if job.state is not JobState.SUCCEEDED:
        raise typer.Exit(code=1)
