"""`dgx-pixels train …`: LoRA training. `dataset` prepares a folder of sprites for it.

A thin adapter over `Service.prepare_dataset`: parse the flags, call the service, print
the dataset folder on stdout (or one JSON record with `--json`) and every warning and
per-image note on stderr.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import choices_metavar, emit_result, fail, note, warn
from orchestrator.adapters.cli.train_eval_cmd import eval_command
from orchestrator.adapters.cli.train_run import run_command
from orchestrator.adapters.cli.train_status import status_command
from orchestrator.service.train_dataset import DATASET_ALPHA_MODES

if TYPE_CHECKING:
    from orchestrator.service import DatasetResult

__all__ = ["app"]

app = typer.Typer(
    help="Train pixel-art style LoRAs; `train dataset` prepares the sprites, `train eval` "
    "reports on a trained LoRA.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_DATASET_HELP = """Prepare a folder of sprites as a LoRA training dataset.

Every distinct PNG/WebP image of SRC (a GIF gives its first frame) is brought to 1 px per
cell, its transparency flattened onto a key colour, enlarged by a whole factor (nearest
neighbour, never resampled) into an SDXL bucket and captioned "TRIGGER, own text, auto
tags". Own text comes from NAME.txt beside each image, or from --captions FILE.csv
(file,caption rows). DIR gets NAME.png and NAME.txt per image and manifest.json; it is
written all at once, so a bad input leaves nothing behind. The folder's path is printed on
stdout; warnings (duplicates, not pixel art, mixed sizes) go to stderr.

Example:

\b
  dgx-pixels train dataset sprites/ -o datasets/knight --trigger pxlknight
  dgx-pixels train dataset sprites/ -o ds/ --trigger pxl --alpha mask --json
"""


def _show(result: DatasetResult, as_json: bool) -> None:
    for warning in result.warnings:
        warn(warning)
    for image in result.images:
        (w, h), (bw, bh) = image.sprite_size, image.bucket
        note(f"✓ {image.name}: {w}x{h} sprite, x{image.factor} in {bw}x{bh}")
    if as_json:
        record = {
            "out": str(result.out),
            "manifest": str(result.manifest),
            "manifest_sha256": result.manifest_sha256,
            "images": [asdict(image) for image in result.images],
            "warnings": result.warnings,
        }
        typer.echo(json.dumps(record, ensure_ascii=False))
        return
    emit_result(str(result.out))


def dataset_command(
    ctx: typer.Context,
    src: Annotated[Path, typer.Argument(metavar="SRC", help="Folder of sprites.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Dataset folder (new or empty).")
    ],
    trigger: Annotated[
        str,
        typer.Option("--trigger", metavar="WORD", help="Trigger word, e.g. pxlknight."),
    ],
    min_images: Annotated[
        int, typer.Option("--min-images", metavar="N", help="Fewest distinct images.")
    ] = 5,
    alpha: Annotated[
        str,
        typer.Option(
            "--alpha",
            metavar=choices_metavar(DATASET_ALPHA_MODES),
            help="key: flatten transparency onto --key-color; mask: also write masks/NAME.png.",
        ),
    ] = DATASET_ALPHA_MODES[0],
    key_color: Annotated[
        str,
        typer.Option("--key-color", metavar="#RRGGBB", help="Colour behind transparent pixels."),
    ] = "#FF00FF",
    captions: Annotated[
        Path | None,
        typer.Option("--captions", metavar="FILE", help="CSV of file,caption rows."),
    ] = None,
    auto_tags: Annotated[
        bool,
        typer.Option("--auto-tags/--no-auto-tags", help="Tag colour count, size, transparency."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record on stdout.")] = False,
) -> None:
    """Prepare a folder of sprites as a training dataset (see the examples below)."""
    from orchestrator.composition import build_service
    from orchestrator.errors import InvalidRequest

    if alpha not in DATASET_ALPHA_MODES:
        raise fail(f"--alpha={alpha!r}: choose {', '.join(DATASET_ALPHA_MODES)}", code=2)
    service = build_service(settings_from(ctx), backends=False)
    try:
        result = service.prepare_dataset(
            src, out, trigger, min_images=min_images, alpha=alpha,
            key_color=key_color, captions_csv=captions, auto_tags=auto_tags,
        )  # fmt: skip
    except InvalidRequest as exc:
        raise fail(exc) from exc
    except OSError as exc:
        raise fail(f"writing {out} failed ({exc}); nothing was written") from exc
    finally:
        service.stop()
    _show(result, as_json)


dataset_command.__doc__ = _DATASET_HELP
app.command("dataset")(dataset_command)
app.command("run")(run_command)
app.command("status")(status_command)
app.command("eval")(eval_command)
