"""`dgx-pixels generate-autotile LOWER UPPER`: a 16-tile two-terrain corner set in one job.

stdout gets the results: the atlas PNG, its JSON layout and the random-map preview, one
path per line (or with `--json` the job's record). The edge check and the terrains' seam
figures from the QA report, and its warnings, go to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

__all__ = ["generate_autotile_command"]


def _figures(job: Job) -> None:
    """The QA report's notes (edge pairs, terrain seams) of the job's atlas, on stderr."""
    for files in job.files:
        try:
            sidecar = json.loads(Path(files.sidecar).read_text())
        except (OSError, ValueError) as exc:
            note(f"{files.sidecar}: no QA report to show ({exc})")
            continue
        report = sidecar.get("qa_report") or {}
        for line in report.get("notes", []):
            note(f"{files.sprite}: {line}")


def generate_autotile_command(
    ctx: typer.Context,
    lower: Annotated[
        str, typer.Argument(metavar="LOWER", help="Base terrain (0-corners), e.g. 'grass'.")
    ],
    upper: Annotated[
        str, typer.Argument(metavar="UPPER", help="Terrain laid over it (1-corners), e.g. 'water'.")
    ],
    size: Annotated[
        str | None,
        typer.Option("--size", "-s", metavar="WxH", help="Each tile's size (default 32x32)."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", metavar="SEED", callback=seed_option, help="Seed, 0..2**64-1 (random)."
        ),
    ] = None,
    palette: PaletteChoice = None,
    steps: SamplerSteps = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="KEY=VALUE",
            help="Any autotile parameter (blend_denoise, width, map_size …), repeatable.",
        ),
    ] = None,
    out: OutFolder = None,
    backend: BackendUrls = None,
    timeout: WaitSeconds = 1800.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="The job's JSON record on stdout instead of paths.")
    ] = False,
) -> None:
    """Generate a 16-tile corner (Wang) set of two terrains for tilemaps.

    Both terrains are rendered seamless, composited through the 16 corner masks, blended
    by a low-denoise img2img pass and pixelized with one palette. Written: the 4x4 atlas
    (tile index = NE*1 + SE*2 + SW*4 + NW*8, 1 = UPPER at that corner; tile i at column
    i % 4, row i // 4), `<atlas>.atlas.json` with that layout, `<atlas>_tiled.png` (a
    random map made from the set) and the sidecar whose QA report scores every pair of
    touching edges.

    Example: dgx-pixels generate-autotile grass water -s 16x16 -o tiles/
    """
    from orchestrator.adapters.cli.own_jobs import run_own_jobs
    from orchestrator.errors import DGXPixelsError
    from orchestrator.service.autotile import autotile_request
    from orchestrator.service.values import parse_size

    settings = command_settings(ctx, out, backend)
    try:
        params = parse_params(param or [])
        if steps is not None:
            params["steps"] = steps
        request = autotile_request(
            lower,
            upper,
            seed=seed,
            size=parse_size(size) if size else None,
            palette=palette,
            params=params,
        )
        final = run_own_jobs(
            "generate-autotile",
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
        for files in [] if as_json else job.files:  # the atlas PNG is already out
            for path in (files.atlas, files.tiled_preview):
                if path:
                    emit_result(path)
    if failed:
        raise typer.Exit(code=1)
