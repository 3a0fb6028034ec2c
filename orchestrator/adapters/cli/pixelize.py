"""`dgx-pixels pixelize`: turn pictures (SDXL pseudo pixel art, or any image) into sprites.

A thin adapter over `Service.pixelize_files` (the one pixelize use case, also behind MCP):
this module parses the flags, shows progress and QA warnings on stderr and prints each
sprite's path on stdout. The service's refusals name their field; `_flags` turns a field
into the flag that sets it, read from this command's own parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import emit_result, note, stderr_console, warn
from orchestrator.service.pixel_modes import BACKGROUND_MODES, DITHER_MODES, PALETTE_SIZES

if TYPE_CHECKING:
    from rich.progress import Progress

    from orchestrator.errors import InvalidRequest
    from orchestrator.service.pixelize import PixelizeRun, PixelizeStep

__all__ = ["pixelize_command"]

_HELP = """Turn pictures into clean, grid-exact, palette-locked sprites.

Each IN is an image file or a folder of images (not recursive). Each sprite is written to
OUT as `<name>.png` with its sidecar `<name>.json` (source, options, palette, QA report);
its path is printed on stdout. Nothing is half-written if a file fails, and a folder run
reports every bad file at the end (exit code 1). A sprite that QA flags (fully transparent,
off-palette, no clear grid) gets a warning instead of a check mark.

Examples (detect the grid, 16 colours, remove the background; a whole folder locked to
PICO-8 with a 1-px outline; one 12-colour palette for a matching set; keep backgrounds
with an own palette file and an 8x preview next to each sprite):

\b
  dgx-pixels pixelize potion.png -o sprites/
  dgx-pixels pixelize renders/ -o sprites/ --palette pico-8 --outline
  dgx-pixels pixelize hero.png -o hero_32.png --size 32x32 --colors 8 --dither bayer-4
  dgx-pixels pixelize walk/ -o sprites/ --shared-palette --colors 12
  dgx-pixels pixelize tiles/ -o out/ --keep-bg --palette my.gpl --preview-scale 8
  dgx-pixels pixelize potion.png -o sprites/ --compare

Palettes: pico-8, gameboy, nes, endesga-32, sweetie-16, or a .hex / .gpl / .pal / .png file.
"""


def _flags(ctx: typer.Context, exc: InvalidRequest) -> str:
    """The flag(s) behind a refused field (`palette/colors` -> `--palette / --colors`)."""
    names = {param.name: param.opts[0] for param in ctx.command.params if param.opts}
    return " / ".join(names.get(field, field) for field in exc.field.split("/"))


def _progress_bar(disable: bool) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    return Progress(
        *columns,
        TimeElapsedColumn(),
        console=stderr_console(),
        disable=disable,
        transient=True,
    )


def _show(step: PixelizeStep) -> None:
    """One line per finished sprite: its path on stdout; QA warnings (no ✓) on stderr."""
    outcome = step.outcome
    if outcome is None:
        return
    width, height = outcome.size
    if outcome.qa_warnings:
        warn(f"{outcome.source} -> {outcome.files.sprite}: {'; '.join(outcome.qa_warnings)}")
    else:
        note(f"✓ {Path(outcome.source).name} -> {outcome.files.sprite} ({width}x{height})")
    if outcome.files.comparison:
        note(f"  compare: {outcome.files.comparison}")
    emit_result(outcome.files.sprite)


def _report(run: PixelizeRun) -> None:
    if run.failures:
        note(f"{len(run.failures)} of {run.total} input(s) failed:")
        for failure in run.failures:
            note(f"  ✗ {failure.source}: {failure.problem}")
        raise typer.Exit(code=1)


def pixelize_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(metavar="IN...", help="Image files and/or folders of images.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output folder, or a .png path for one input file "
            "(default: DATA_DIR/outputs/pixelized).",
        ),
    ] = None,
    palette: Annotated[
        str | None,
        typer.Option(
            "--palette",
            "-p",
            help="Lock to a palette: pico-8, gameboy, nes, endesga-32, sweetie-16, or a "
            ".hex/.gpl/.pal/.png file. Default: build one per image.",
        ),
    ] = None,
    colors: Annotated[
        str | None,
        typer.Option(
            "--colors",
            "-c",
            help=f"Palette size to build: {PALETTE_SIZES.describe()} (default auto: picked "
            "from each picture, or the set with --shared-palette; a number is not for --palette).",
        ),
    ] = None,
    size: Annotated[
        str, typer.Option("--size", "-s", help='Sprite size prior "WxH" (e.g. 32x32), or "auto".')
    ] = "auto",
    dither: Annotated[
        str,
        typer.Option("--dither", "-d", help=f"{', '.join(DITHER_MODES)}."),
    ] = DITHER_MODES.default,
    remove_bg: Annotated[
        bool, typer.Option("--remove-bg/--keep-bg", help="Make the background transparent.")
    ] = True,
    background: Annotated[
        str,
        typer.Option(
            "--bg-mode",
            help=f"{', '.join(m for m in BACKGROUND_MODES if m != 'none')} "
            "(key with --key-color); --keep-bg is none.",
        ),
    ] = BACKGROUND_MODES.default,
    key_color: Annotated[
        str, typer.Option("--key-color", help='Background colour "#RRGGBB" for --bg-mode key.')
    ] = "",
    outline: Annotated[
        bool, typer.Option("--outline", help="Add a 1-px outer outline in a palette colour.")
    ] = False,
    outline_color: Annotated[
        str,
        typer.Option(
            "--outline-color",
            help='Outline colour "#RRGGBB" (default: the darkest palette colour; with a '
            "palette, its nearest colour).",
        ),
    ] = "",
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Remove orphan (lone) pixels.")
    ] = False,
    preview_scale: Annotated[
        int,
        typer.Option(
            "--preview-scale",
            min=0,
            max=64,
            help="Also write NAME@Nx.png, N times larger (0 or 1: none).",
        ),
    ] = 0,
    shared_palette: Annotated[
        bool,
        typer.Option(
            "--shared-palette",
            help="One palette for every sprite of this run (a matching set); needs no --palette.",
        ),
    ] = False,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Palette k-means seed (same seed, same palette).")
    ] = 0,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Also write NAME_compare.png: input | sprite (enlarged) | palette swatch.",
        ),
    ] = False,
) -> None:
    """Turn pictures into clean sprites (see the examples below)."""
    from orchestrator.composition import build_service
    from orchestrator.errors import InvalidRequest
    from orchestrator.service import PixelizeRequest

    request = PixelizeRequest(
        size=size, palette=palette, colors=colors, dither=dither,
        background=background if remove_bg else "none", key_color=key_color or None,
        outline=outline, outline_color=outline_color or None, cleanup=cleanup, seed=seed,
        preview_scale=preview_scale, compare=compare,
    )  # fmt: skip
    service = build_service(settings_from(ctx), backends=False)
    try:
        one_file = len(paths) == 1 and not Path(paths[0]).is_dir()  # a folder gets a bar too
        with _progress_bar(disable=one_file) as bar:
            task = bar.add_task("pixelizing", total=None)

            def progress(step: PixelizeStep) -> None:
                bar.update(task, description=step.phase, completed=step.done, total=step.total)
                _show(step)

            run = service.pixelize_files(
                paths, request, out=out, shared_palette=shared_palette, progress=progress
            )
    except InvalidRequest as exc:
        raise typer.BadParameter(str(exc), param_hint=_flags(ctx, exc)) from exc
    finally:
        service.stop()
    if run.shared_palette:
        note(f"shared palette: {' '.join(run.shared_palette)}")
    _report(run)


pixelize_command.__doc__ = _HELP
