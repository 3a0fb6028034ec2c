"""`dgx-pixels generate-sheet PROMPT`: one character as an animation sheet, in one job.

stdout gets the results: the sheet PNG, its Aseprite atlas, its Bevy atlas and the GIF
preview, one path per line (or with `--json` the job's record). The sheet's consistency
figures from the QA report (palette, frame sizes, silhouette IoU, pivot drift) and its
warnings go to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.adapters.cli.job_command import (
    BackendUrls,
    OutFolder,
    PaletteChoice,
    SamplerSteps,
    WaitSeconds,
    command_settings,
    parse_params,
    report_jobs,
    seed_option,
)
from orchestrator.adapters.cli.output import emit_result, fail, note, stderr_console

if TYPE_CHECKING:
    from orchestrator.service import Job

__all__ = ["generate_sheet_command", "sheet_summary"]

_DIRECTIONS_HELP = (
    "Sheet rows, comma-separated, from: down, left, right, up, down_left, down_right, "
    "up_left, up_right."
)


def sheet_summary(sheet: dict[str, Any]) -> str:
    """One line of a QA report's `sheet` figures, as the CLI prints it."""
    low = sheet.get("min_silhouette_iou")
    return (
        f"{sheet.get('frame_count')} frames: palette identical "
        f"{'yes' if sheet.get('palette_identical') else 'NO'}, frame sizes identical "
        f"{'yes' if sheet.get('frame_sizes_identical') else 'NO'}, min silhouette IoU "
        f"{'-' if low is None else f'{low:.2f}'}, pivot drift {sheet.get('pivot_drift_px')} px, "
        f"height spread {float(sheet.get('height_spread', 0.0)):.0%}"
    )


def _figures(job: Job) -> None:
    """The consistency figures of each sheet of the job, from its sidecar, on stderr."""
    for files in job.files:
        try:
            report = json.loads(Path(files.sidecar).read_text()).get("qa_report") or {}
        except (OSError, ValueError) as exc:
            note(f"{files.sidecar}: no QA report to show ({exc})")
            continue
        if isinstance(report.get("sheet"), dict):
            note(f"{files.sprite}: {sheet_summary(report['sheet'])}")


def generate_sheet_command(
    ctx: typer.Context,
    prompt: Annotated[
        str, typer.Argument(metavar="PROMPT", help="The character, e.g. 'a knight in blue'.")
    ],
    directions: Annotated[
        str, typer.Option("--directions", metavar="LIST", help=_DIRECTIONS_HELP)
    ] = "down,left,right,up",
    frames: Annotated[
        int,
        typer.Option("--frames", "-f", metavar="N", min=1, max=16, help="Frames per direction."),
    ] = 4,
    denoise: Annotated[
        float | None,
        typer.Option(
            "--denoise",
            metavar="0..1",
            min=0.05,
            max=1.0,
            help="img2img strength of later frames from their direction's first frame "
            "(default 0.45): lower keeps the character, higher allows bigger poses.",
        ),
    ] = None,
    turn_denoise: Annotated[
        float | None,
        typer.Option(
            "--turn-denoise",
            metavar="0..1",
            min=0.05,
            max=1.0,
            help="img2img strength of each further direction's first frame from frame 0 "
            "(default 0.7).",
        ),
    ] = None,
    frame_ms: Annotated[
        int | None,
        typer.Option("--frame-ms", metavar="MS", min=1, max=60000, help="Frame time (150)."),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option("--size", "-s", metavar="WxH", help="Each frame's sprite size (detect)."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            metavar="SEED",
            callback=seed_option,
            help="Seed of frame 0, 0..2**64-1 (random); frame i uses seed+i.",
        ),
    ] = None,
    palette: PaletteChoice = None,
    lora: Annotated[
        list[str] | None,
        typer.Option("--lora", metavar="NAME[:STRENGTH]", help="LoRA, repeatable."),
    ] = None,
    steps: SamplerSteps = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="KEY=VALUE",
            help="Any sprite_sheet parameter (width, colors, animation …), repeatable.",
        ),
    ] = None,
    out: OutFolder = None,
    backend: BackendUrls = None,
    timeout: WaitSeconds = 1800.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="The job's JSON record on stdout instead of paths.")
    ] = False,
) -> None:
    """Generate one character as an animation sheet: every direction x every frame.

    Frame 0 is rendered from the prompt; every other frame is img2img from it (a shared
    prompt plus its direction and walk pose, seed+i), so all frames show one character.
    All frames are pixelized with one grid and one palette, aligned on one pivot (feet
    row, centre column) and packed one row per direction. Written: the sheet PNG,
    `<sheet>.atlas.json` (Aseprite, tags walk_down, walk_left …), `<sheet>.bevy.json`
    (TextureAtlasLayout::from_grid arguments, animations, anchor), `<sheet>.gif` and the
    sidecar whose QA report holds the consistency figures.

    Example: dgx-pixels generate-sheet "a knight in blue armour" --frames 4 -o sheets/
    """
    from orchestrator.adapters.cli.own_jobs import run_own_jobs
    from orchestrator.errors import DGXPixelsError
    from orchestrator.service.sheet_request import sheet_request
    from orchestrator.service.values import LoraSpec, parse_size

    settings = command_settings(ctx, out, backend)
    try:
        params = parse_params(param or [])
        if steps is not None:
            params["steps"] = steps
        request = sheet_request(
            prompt,
            directions=directions,
            frames=frames,
            denoise=denoise,
            turn_denoise=turn_denoise,
            frame_ms=frame_ms,
            seed=seed,
            size=parse_size(size) if size else None,
            palette=palette,
            loras=tuple(LoraSpec.parse(x) for x in lora or []),
            params=params,
        )
        final = run_own_jobs(
            "generate-sheet",
            settings,
            lambda service: service.submit_many([request], backends=backend or ()),
            stderr_console(),
            timeout,
        )
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    failed = report_jobs(final, settings, as_json)
    for job in final:
        _figures(job)
        for files in [] if as_json else job.files:  # the sheet PNG is already out
            for path in (files.atlas, files.bevy_atlas, files.animation):
                if path:
                    emit_result(path)
    if failed:
        raise typer.Exit(code=1)
