"""`dgx-pixels models …`: the checkpoints and LoRAs the backends can load.

`list` is the orchestrator-service's; `demo` (write the tiny random demo checkpoint) is
engine-models' and lives below in this same group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import emit_result, fail, note, stderr_console, warn

if TYPE_CHECKING:
    from orchestrator.service.values import ModelInfo

__all__ = ["app"]

app = typer.Typer(
    help="Checkpoints and LoRAs (`models list`); `models demo` writes a tiny demo model.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Checkpoints and LoRAs: asked from the configured backends, or read from the local
    models folder when the embedded engine is used (nothing is started to list them).
    A LoRA with a card (trained here) shows its trigger words, which `generate --lora`
    puts before the prompt.

    Example: dgx-pixels models list --json
    """
    from orchestrator.composition import build_service
    from orchestrator.errors import DGXPixelsError

    settings = settings_from(ctx)
    try:
        service = build_service(settings, backends=bool(settings.backends))
        try:
            items = [*service.models(), *service.loras()]
        finally:
            service.stop()
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    if as_json:
        typer.echo(json.dumps([m.__dict__ for m in items], indent=2))
        return
    if not items:
        note(
            f"no models in {settings.resolved_models_dir}; put SDXL .safetensors files in "
            "checkpoints/ and loras/ there, or run `dgx-pixels models demo`"
        )
        return
    for model in items:  # one line each: names stay whole at any width
        emit_result(f"{model.folder}/{model.name}\t{model.backend}{_remark(model)}")
        if model.card_error:
            warn(f"{model.name}: card unreadable ({model.card_error}); listed without triggers")


def _remark(model: ModelInfo) -> str:
    """The line's last column: the demo warning, or a LoRA's trigger words."""
    if model.demo:
        return "\tdemo: tiny random weights, meaningless pictures"
    if model.triggers:
        return f"\ttrigger: {', '.join(model.triggers)}"
    return ""


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Rewrite the demo file if it exists.")
    ] = False,
    full_size: Annotated[
        bool,
        typer.Option(
            "--full-size",
            help="Write the REAL SDXL layout at real sizes instead (~7 GB fp16, random "
            "weights; drawn on CUDA when present): for GPU speed measurements.",
        ),
    ] = False,
) -> None:
    """Write a small random-weight SDXL-shaped checkpoint, so everything runs with no weights.

    The file is `checkpoints/DEMO-random-weights-sdxl.safetensors` in the models folder
    (`DGXP_MODELS_DIR`, default DATA_DIR/models). Its pictures are meaningless noise: it
    exists to try the whole pipeline (generate, pixelize, TUI, MCP) on any machine. Put a
    real SDXL checkpoint next to it for real sprites.

    With `--full-size` it writes `DEMO-random-weights-sdxl-fullsize.safetensors` instead:
    real SDXL base sizes (3.5 B parameters), so `repro/run.sh` with
    `CHECKPOINT=DEMO-random-weights-sdxl-fullsize.safetensors` measures real-size speed on a
    GPU box without weights. Pictures are still meaningless.

    Example: dgx-pixels models demo
    """
    models_dir = settings_from(ctx).resolved_models_dir
    if full_size:
        _write_fullsize(models_dir, force)
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = stderr_console()
    from orchestrator.composition import demo_model_stages, write_demo_model  # loads torch

    stages = demo_model_stages()

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("demo model", total=len(stages))

        def on_stage(stage: str) -> None:
            bar.update(task, description=stage, completed=stages.index(stage))

        result = write_demo_model(models_dir, overwrite=force, on_stage=on_stage)
        bar.update(task, description="done", completed=len(stages))
    verb = "wrote" if result.written else "already present (use --force to rewrite)"
    note(f"{verb} ({result.size_bytes / 1e6:.1f} MB):")
    emit_result(str(result.path))
    warn(
        "DEMO model: random weights, the pictures it makes are meaningless. Try "
        f'`dgx-pixels generate "a red potion" --param checkpoint={result.path.name}`.'
    )


def _write_fullsize(models_dir: Path, force: bool) -> None:
    """`models demo --full-size`: stream the ~7 GB random SDXL file with a byte progress bar."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from orchestrator.composition import write_fullsize_demo_model  # loads torch

    console = stderr_console()

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("full-size random SDXL", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = write_fullsize_demo_model(models_dir, overwrite=force, on_progress=on_progress)
    verb = "wrote" if result.written else "already present (use --force to rewrite)"
    note(f"{verb} ({result.size_bytes / 1e9:.2f} GB):")
    emit_result(str(result.path))
    warn(
        "DEMO model at real SDXL size: random weights, for speed measurements; "
        "the pictures it makes are meaningless."
    )
