"""`dgx-pixels pixelize`: turn pictures (SDXL pseudo pixel art, or any image) into sprites.

Each input file becomes ``OUT/<name>.png`` (plus a scaled preview and a QA report when
asked). A folder run keeps going past a bad file and lists every failure at the end; a
failed file leaves nothing behind, because every file is written whole (temp + rename)
only after all of its outputs were computed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from orchestrator.adapters.cli.context import settings_from

if TYPE_CHECKING:
    from rich.progress import Progress

    from comfy_nodes.pixel.palette import Palette
    from comfy_nodes.pixel.pipeline import PixelizeOptions

__all__ = [
    "IMAGE_SUFFIXES",
    "Target",
    "collect_inputs",
    "pixelize_command",
    "plan_targets",
    "process_file",
    "shared_palette",
]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})

_HELP = """Turn pictures into clean, grid-exact, palette-locked sprites.

Each IN is an image file or a folder of images (not recursive). Sprites are written to OUT
as `<name>.png`; nothing is half-written if a file fails, and a folder run reports every
bad file at the end (exit code 1).

**Examples**

- `dgx-pixels pixelize potion.png -o sprites/` — detect the grid, 16 colours, remove the
  background.
- `dgx-pixels pixelize renders/ -o sprites/ --palette pico-8 --outline` — a whole folder,
  locked to PICO-8, with a dark 1-px outline.
- `dgx-pixels pixelize hero.png -o hero_32.png --size 32x32 --colors 8 --dither bayer-4`
- `dgx-pixels pixelize walk/ -o sprites/ --shared-palette --colors 12` — one 12-colour
  palette for the whole set, so the sprites match.
- `dgx-pixels pixelize tiles/ -o out/ --keep-bg --palette my_palette.gpl --preview-scale 8`
  — keep backgrounds (tiles), own palette file, and an 8x preview next to each sprite.

Palettes: pico-8, gameboy, nes, endesga-32, sweetie-16, or a .hex / .gpl / .pal / .png file.
"""


@dataclass(frozen=True)
class Target:
    """One input file and where its outputs go."""

    source: Path
    sprite: Path
    preview: Path | None
    report: Path | None


def collect_inputs(inputs: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand folders into their image files; missing paths become failures.

    Returns:
        The files to process (in order, duplicates dropped) and ``(path, problem)`` pairs.
    """
    files: list[Path] = []
    failures: list[tuple[Path, str]] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
            )
            if not found:
                failures.append((path, "folder holds no images (png, jpg, webp, gif, bmp, tif)"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            failures.append((path, "does not exist"))
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique, failures


def plan_targets(
    files: Sequence[Path], output: Path, preview_scale: int, report: bool
) -> list[Target]:
    """Decide every output path up front, so two inputs never write the same file.

    A single input with ``-o something.png`` writes exactly there; otherwise OUT is a folder.
    """
    single_file = len(files) == 1 and output.suffix.lower() == ".png"
    taken: set[Path] = set()
    targets = []
    for source in files:
        sprite = output if single_file else output / f"{source.stem}.png"
        counter = 2
        while sprite.resolve() in taken or sprite.resolve() == source.resolve():
            sprite = sprite.with_name(f"{source.stem}-{counter}.png")
            counter += 1
        taken.add(sprite.resolve())
        preview = (
            sprite.with_name(f"{sprite.stem}@{preview_scale}x.png") if preview_scale > 1 else None
        )
        report_path = sprite.with_suffix(".json") if report else None
        targets.append(Target(source, sprite, preview, report_path))
    return targets


def _build_options(**values: Any) -> PixelizeOptions:
    """Validate the options once, before any file is touched (usage errors exit 2)."""
    from comfy_nodes.pixel.errors import PixelArtError
    from comfy_nodes.pixel.palette import parse_hex_color, resolve_palette
    from comfy_nodes.pixel.pipeline import PixelizeOptions, parse_size
    from comfy_nodes.pixel.quantize import check_n_colors

    checks = (
        ("--palette", lambda: resolve_palette(values["palette"]) if values["palette"] else None),
        ("--colors", lambda: check_n_colors(values["colors"])),
        ("--size", lambda: parse_size(values["size"])),
        (
            "--key-color",
            lambda: parse_hex_color(values["key_color"]) if values["key_color"] else None,
        ),
        (
            "--outline-color",
            lambda: parse_hex_color(values["outline_color"]) if values["outline_color"] else None,
        ),
    )
    parsed: dict[str, Any] = {}
    for hint, check in checks:
        try:
            parsed[hint] = check()
        except PixelArtError as error:
            raise typer.BadParameter(str(error), param_hint=hint) from error
    options = PixelizeOptions(
        size=parsed["--size"],
        palette=parsed["--palette"],
        n_colors=values["colors"],
        dither=values["dither"],
        remove_background=values["background"] if values["remove_bg"] else "none",
        key_color=parsed["--key-color"],
        outline=values["outline"],
        outline_color=parsed["--outline-color"],
        cleanup=values["cleanup"],
        seed=values["seed"],
    )
    _check_modes(options)
    return options


def _check_modes(options: PixelizeOptions) -> None:
    from comfy_nodes.pixel.alpha import BACKGROUND_MODES
    from comfy_nodes.pixel.dither import parse_dither_mode
    from comfy_nodes.pixel.errors import PixelArtError

    try:
        parse_dither_mode(options.dither)
    except PixelArtError as error:
        raise typer.BadParameter(str(error), param_hint="--dither") from error
    if options.background_mode() not in BACKGROUND_MODES:
        valid = ", ".join(mode for mode in BACKGROUND_MODES if mode != "none")
        raise typer.BadParameter(
            f"{options.remove_background!r} is unknown; choose one of: {valid}",
            param_hint="--bg-mode",
        )
    if options.background_mode() == "key" and options.key_color is None:
        raise typer.BadParameter(
            "--bg-mode key needs --key-color '#RRGGBB'", param_hint="--key-color"
        )


def process_file(target: Target, options: PixelizeOptions, preview_scale: int) -> tuple[int, int]:
    """Pixelize one file and write its outputs all-or-nothing.

    Returns:
        The sprite's ``(width, height)``.

    Raises:
        PixelArtError: the input is not usable (not an image, too large, grid misfit...).
        OSError: an output could not be written (nothing is left behind, and files from an
            earlier run at those paths are untouched).
    """
    from comfy_nodes.pixel.atomic import write_files_atomic
    from comfy_nodes.pixel.image_io import encode_png, load_image
    from comfy_nodes.pixel.pipeline import pixelize
    from comfy_nodes.pixel.upscale import upscale_nearest

    # 1. compute every output in memory
    result = pixelize(load_image(target.source), options)
    outputs = {target.sprite: encode_png(result.sprite)}
    if target.preview is not None:
        outputs[target.preview] = encode_png(upscale_nearest(result.sprite, preview_scale))
    if target.report is not None:
        report = dict(result.report.to_dict(), source=str(target.source))
        outputs[target.report] = (json.dumps(report, indent=2) + "\n").encode()
    # 2. write them all, or none
    write_files_atomic(outputs)
    return int(result.sprite.shape[1]), int(result.sprite.shape[0])


def _progress(console: Console, total: int, visible: bool) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console, disable=not visible, transient=True)


def shared_palette(
    targets: Sequence[Target], options: PixelizeOptions, progress: Progress
) -> tuple[Palette | None, list[tuple[Path, str]]]:
    """First pass of ``--shared-palette``: one palette built over every sprite of the run.

    Each picture is pixelized with its own palette first; the shared palette is then the
    k-means of all those sprites together, so the set keeps each sprite's key colours.
    """
    from dataclasses import replace

    from comfy_nodes.pixel.errors import PixelArtError
    from comfy_nodes.pixel.image_io import load_image
    from comfy_nodes.pixel.pipeline import pixelize
    from comfy_nodes.pixel.quantize import build_palette

    draft = replace(options, dither="none", outline=False)
    sprites, failures = [], []
    task = progress.add_task("building the shared palette", total=len(targets))
    for target in targets:
        try:
            sprites.append(pixelize(load_image(target.source), draft).sprite)
        except PixelArtError as error:
            failures.append((target.source, str(error)))
        progress.advance(task)
    if not any(bool((sprite[..., 3] > 0).any()) for sprite in sprites):
        return None, failures
    return build_palette(sprites, options.n_colors, options.palette_method, options.seed), failures


def _run_all(
    targets: Sequence[Target], options: PixelizeOptions, preview_scale: int, console: Console
) -> list[tuple[Path, str]]:
    from comfy_nodes.pixel.errors import PixelArtError

    failures: list[tuple[Path, str]] = []
    with _progress(console, len(targets), visible=len(targets) > 1) as progress:
        task = progress.add_task("pixelizing", total=len(targets))
        for target in targets:
            progress.update(task, description=f"pixelizing {target.source.name}")
            try:
                width, height = process_file(target, options, preview_scale)
            except (PixelArtError, OSError) as error:
                failures.append((target.source, str(error)))
            else:
                console.print(
                    f"[green]✓[/] {target.source.name} → {target.sprite} ({width}x{height})"
                )
            progress.advance(task)
    return failures


def _lock_shared_palette(
    targets: list[Target], options: PixelizeOptions, console: Console
) -> tuple[list[Target], PixelizeOptions, list[tuple[Path, str]]]:
    from dataclasses import replace

    with _progress(console, len(targets), visible=len(targets) > 1) as progress:
        palette, failures = shared_palette(targets, options, progress)
    failed = {path for path, _ in failures}
    remaining = [target for target in targets if target.source not in failed]
    if palette is not None:
        console.print(f"shared palette: {' '.join(palette.hex_codes())}")
        options = replace(options, palette=palette)
    return remaining, options, failures


def pixelize_command(
    ctx: typer.Context,
    inputs: Annotated[
        list[Path], typer.Argument(metavar="IN...", help="Image files and/or folders of images.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Output folder, or a .png path for one input "
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
        int,
        typer.Option("--colors", "-c", help="Palette size to build, 2..256 (not with --palette)."),
    ] = 16,
    size: Annotated[
        str, typer.Option("--size", "-s", help='Sprite size prior "WxH" (e.g. 32x32), or "auto".')
    ] = "auto",
    dither: Annotated[
        str,
        typer.Option("--dither", "-d", help="none, floyd-steinberg, bayer-2, bayer-4, bayer-8."),
    ] = "none",
    remove_bg: Annotated[
        bool, typer.Option("--remove-bg/--keep-bg", help="Make the background transparent.")
    ] = True,
    background: Annotated[
        str, typer.Option("--bg-mode", help="auto, border, or key (with --key-color).")
    ] = "auto",
    key_color: Annotated[
        str, typer.Option("--key-color", help='Background colour "#RRGGBB" for --bg-mode key.')
    ] = "",
    outline: Annotated[bool, typer.Option("--outline", help="Add a 1-px outer outline.")] = False,
    outline_color: Annotated[
        str, typer.Option("--outline-color", help='Outline colour "#RRGGBB" (default: auto dark).')
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
    report: Annotated[
        bool, typer.Option("--report", help="Also write NAME.json with the QA report.")
    ] = False,
    share: Annotated[
        bool,
        typer.Option(
            "--shared-palette",
            help="One palette for every sprite of this run (a matching set); needs no --palette.",
        ),
    ] = False,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Palette k-means seed (same seed, same palette).")
    ] = 0,
) -> None:
    """Turn pictures into clean sprites (see the examples below)."""
    # soft_wrap: one line per file, so logs and grep see whole paths and messages.
    console = Console(stderr=True, soft_wrap=True)
    options = _build_options(
        palette=palette, colors=colors, size=size, dither=dither, remove_bg=remove_bg,
        background=background, key_color=key_color, outline=outline,
        outline_color=outline_color, cleanup=cleanup, seed=seed,
    )  # fmt: skip
    destination = output or settings_from(ctx).resolved_output_dir / "pixelized"
    files, failures = collect_inputs(inputs)
    targets = plan_targets(files, destination, preview_scale, report)
    total = len(targets) + len(failures)
    if share and options.palette is None:
        targets, options, first_pass_failures = _lock_shared_palette(targets, options, console)
        failures += first_pass_failures
    failures += _run_all(targets, options, preview_scale, console)
    if failures:
        console.print(f"[red]{len(failures)} of {total} input(s) failed:[/]")
        for path, problem in failures:
            console.print(f"  [red]✗[/] {path}: {problem}")
        raise typer.Exit(code=1)


pixelize_command.__doc__ = _HELP
