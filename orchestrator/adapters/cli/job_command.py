"""What every command that makes generation jobs shares (`generate`, `batch`,
`generate-sheet`, `generate-autotile`; `train eval` reads `--param` the same way).

Its settings with `-o`/`--backend` applied, the `--seed` check, `--param KEY=VALUE`
parsing, and the report of its final jobs: one sprite path per line on stdout (or one
JSON record per job), failures, QA warnings and the demo-model note on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import emit_record, emit_result, note, warn

if TYPE_CHECKING:  # the service stack loads when a command runs, not at CLI start
    from orchestrator.service import Job
    from orchestrator.settings import Settings

__all__ = [
    "BackendUrls",
    "OutFolder",
    "PaletteChoice",
    "SamplerSteps",
    "WaitSeconds",
    "command_settings",
    "parse_params",
    "report_jobs",
    "seed_option",
]

# The options every generation command spells the same way (typer reads them off the
# annotation; each command keeps its own default).
OutFolder = Annotated[
    Path | None,
    typer.Option("--out", "-o", metavar="DIR", help="Output folder (default: DATA_DIR/outputs)."),
]
BackendUrls = Annotated[
    list[str] | None,
    typer.Option("--backend", metavar="URL", help="ComfyUI/engine URL, repeatable."),
]
WaitSeconds = Annotated[
    float, typer.Option("--timeout", metavar="SECONDS", help="Give up waiting after this long.")
]
PaletteChoice = Annotated[
    str | None,
    typer.Option("--palette", "-p", metavar="PALETTE", help="Palette name or .gpl/.hex file."),
]
SamplerSteps = Annotated[
    int | None, typer.Option("--steps", metavar="N", min=1, help="Sampler steps.")
]

_DEMO_NOTE = (
    "checkpoint {name!r} is the tiny random-weight demo model: the pipeline runs end to end, "
    "but the pictures are meaningless. Put a real SDXL checkpoint in {models}/checkpoints "
    "and pass `--param checkpoint=NAME`."
)


def command_settings(
    ctx: typer.Context, out: Path | None, backend: Sequence[str] | None
) -> Settings:
    """The loaded settings with `--out` as the output folder and `--backend` URLs, if given."""
    settings = settings_from(ctx)
    update: dict[str, Any] = {}
    if out is not None:
        update["output_dir"] = out
    if backend:
        update["backends"] = list(backend)
    return settings.model_copy(update=update) if update else settings


def seed_option(value: int | None) -> int | None:
    """`--seed`'s callback: the service's own check (0..2**64-1), before any engine starts."""
    from orchestrator.errors import InvalidRequest
    from orchestrator.service.values import check_seed

    if value is None:
        return None
    try:
        return check_seed(value)
    except InvalidRequest as exc:
        raise typer.BadParameter(exc.reason) from exc


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """`--param KEY=VALUE` items as a dict; a VALUE that is JSON is decoded, else kept as text.

    Raises:
        InvalidRequest: an item without `=` or with an empty KEY (named as `--param`).
    """
    from orchestrator.errors import InvalidRequest

    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidRequest("--param", item, "expected KEY=VALUE")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw  # plain strings need no quotes
    return params


def report_jobs(jobs: Sequence[Job], settings: Settings, as_json: bool) -> int:
    """Results on stdout (paths, or one JSON record per job), failures on stderr; returns
    how many jobs did not succeed."""
    from orchestrator.adapters.cli.jobs import job_dict
    from orchestrator.service import JobState
    from orchestrator.service.catalog import is_demo_model

    failed = 0
    demo = set()
    for job in jobs:
        checkpoint = str(job.params.get("checkpoint", ""))
        if is_demo_model(checkpoint):
            demo.add(checkpoint)
        if job.state is not JobState.SUCCEEDED:
            failed += 1
            note(f"job {job.short_id} {job.state.value}: {job.error or 'no reason recorded'}")
        for files in job.files:  # the QA report's findings, next to the sprite they concern
            if files.qa_warnings:
                warn(f"{files.sprite}: {'; '.join(files.qa_warnings)}")
        if as_json:
            emit_record(job_dict(job))
            continue
        for files in job.files:
            emit_result(str(files.sprite))
    for name in sorted(demo):
        warn(_DEMO_NOTE.format(name=name, models=settings.resolved_models_dir))
    return failed
