"""The pixelize use case: pictures in, sprites out, locally (no backend, no job).

One file layout for every caller: in the output folder, `<stem>.png` (the sprite),
`<stem>@<N>x.png` (a nearest-neighbour preview, when asked) and `<stem>.json` (the
sidecar: source, request, palette, QA report and QA warnings). `out` may instead name the
`.png` of a single input; without `out` the folder is `<outputs>/pixelized`. A folder run
keeps going past a bad file and returns every failure; a failed file leaves nothing behind,
because each file's outputs are computed first and then written all-or-nothing.

Importing this module loads nothing heavy (numpy, PIL, the pixel core load on first use),
so `dgx-pixels pixelize` starts fast.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import InvalidRequest
from orchestrator.jobs.models import SpriteFiles
from orchestrator.service.pixelize_request import PixelizeRequest

if TYPE_CHECKING:
    from comfy_nodes.pixel.palette import Palette
    from comfy_nodes.pixel.pipeline import PixelizeOptions, PixelizeResult

__all__ = [
    "IMAGE_SUFFIXES",
    "PixelizeFailure",
    "PixelizeOutcome",
    "PixelizeRun",
    "PixelizeStep",
    "Pixelizer",
    "Target",
]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
SIDECAR_TYPE = "dgxp_pixelize_sidecar"
SIDECAR_VERSION = 2  # 2: one format for CLI/MCP (request, palette, qa_warnings)
_PREVIEW_TARGET_PX = 256
_MAX_AUTO_PREVIEW = 16


@dataclass(frozen=True)
class Target:
    """One input and where its outputs go."""

    source: Path | bytes
    stem: Path
    preview_scale: int

    @property
    def name(self) -> str:
        """How the input is named in results and errors."""
        return "upload" if isinstance(self.source, bytes) else str(self.source)

    def files(self, width: int, height: int, compare: bool = False) -> SpriteFiles:
        """The paths of this input's sprite, preview (if any), comparison (if asked) and
        sidecar."""
        scale = self.preview_scale
        if scale < 0:  # auto: the preview's long side about 256 px
            scale = max(1, min(_MAX_AUTO_PREVIEW, _PREVIEW_TARGET_PX // max(1, width, height)))
        preview = self.stem.with_name(f"{self.stem.name}@{scale}x.png") if scale > 1 else None
        return SpriteFiles(
            sprite=str(self.stem.with_name(f"{self.stem.name}.png")),
            sidecar=str(self.stem.with_name(f"{self.stem.name}.json")),
            preview=str(preview) if preview else None,
            comparison=str(self.stem.with_name(f"{self.stem.name}_compare.png"))
            if compare
            else None,
        )


@dataclass(frozen=True)
class PixelizeOutcome:
    """What one input became.

    Attributes:
        source: The input file (absolute), or "upload" for bytes.
        files: The sprite, its preview (if any) and sidecar.
        size: Sprite (width, height).
        report: The QA report (`QAReport.to_dict()`).
    """

    source: str
    files: SpriteFiles
    size: tuple[int, int]
    report: dict[str, Any]

    @property
    def qa_warnings(self) -> tuple[str, ...]:
        """What QA found worth a look (fully transparent, off-palette, no clear grid)."""
        return tuple(str(w) for w in self.report.get("warnings", ()))


@dataclass(frozen=True)
class PixelizeFailure:
    """An input that gave no sprite, and why."""

    source: str
    problem: str


@dataclass(frozen=True)
class PixelizeRun:
    """Everything a `pixelize_files` call did.

    Attributes:
        outcomes: The sprites written, in input order.
        failures: Inputs that gave nothing (missing, not an image, unwritable output …).
        total: How many inputs were asked for (files found plus missing paths).
        shared_palette: The hex colours of the run's shared palette, if one was built.
    """

    outcomes: tuple[PixelizeOutcome, ...]
    failures: tuple[PixelizeFailure, ...]
    total: int
    shared_palette: tuple[str, ...] | None = None

    @property
    def qa_warnings(self) -> dict[str, tuple[str, ...]]:
        """Sprite path -> its QA warnings, for sprites that have any."""
        return {o.files.sprite: o.qa_warnings for o in self.outcomes if o.qa_warnings}


@dataclass(frozen=True)
class PixelizeStep:
    """Progress: `done` of `total` inputs of `phase` (`shared palette` or `pixelize`)."""

    phase: str
    done: int
    total: int
    source: str
    outcome: PixelizeOutcome | None = None
    failure: PixelizeFailure | None = field(default=None)


Progress = Callable[[PixelizeStep], None]


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def collect_inputs(paths: Iterable[Path | str]) -> tuple[list[Path], list[PixelizeFailure]]:
    """Expand folders into their image files (not recursive); missing paths are failures.

    Returns:
        The files, in order with duplicates dropped, and the paths that gave none.
    """
    files: list[Path] = []
    failures: list[PixelizeFailure] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found = _images_in(path)
            if not found:
                problem = "folder holds no images (png, jpg, webp, gif, bmp, tif)"
                failures.append(PixelizeFailure(str(path), problem))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            failures.append(PixelizeFailure(str(path), "does not exist"))
    return list(dict.fromkeys(p.resolve() for p in files)), failures


def check_out(paths: Sequence[Path | str], out: Path | None) -> None:
    """Refuse a `.png` output for more than one picture (it can only hold one sprite).

    Raises:
        InvalidRequest: field `out`, naming the folder input or the input count.
    """
    if out is None or out.suffix.lower() != ".png":
        return
    folders = [str(p) for p in paths if Path(p).expanduser().is_dir()]
    if folders:
        raise InvalidRequest(
            "out",
            str(out),
            f"is one .png file, but the input {folders[0]} is a folder of pictures; "
            "give an output folder instead",
        )
    if len(paths) > 1:
        raise InvalidRequest(
            "out", str(out), f"is one .png file for {len(paths)} inputs; give an output folder"
        )


def plan_targets(files: Sequence[Path], out: Path, preview_scale: int) -> list[Target]:
    """Decide every output stem up front, so two inputs never write the same file.

    A single input with `out` ending in `.png` writes exactly there; otherwise `out` is a
    folder and each input gets `<stem>`, `<stem>-2` … so none overwrites another or itself.
    """
    if len(files) == 1 and out.suffix.lower() == ".png":
        return [Target(files[0], out.with_suffix(""), preview_scale)]
    taken: set[Path] = set()
    targets = []
    for source in files:
        stem, counter = out / source.stem, 2
        while stem in taken or stem.with_name(f"{stem.name}.png").resolve() == source:
            stem, counter = out / f"{source.stem}-{counter}", counter + 1
        taken.add(stem)
        targets.append(Target(source, stem, preview_scale))
    return targets


def _sidecar(
    target: Target,
    data: bytes,
    request: PixelizeRequest,
    result: PixelizeResult,
    files: SpriteFiles,
) -> dict[str, Any]:
    height, width = result.sprite.shape[:2]
    report = result.report.to_dict()
    return {
        "type": SIDECAR_TYPE,
        "version": SIDECAR_VERSION,
        "source": target.name,
        "source_sha256": hashlib.sha256(data).hexdigest(),
        "size": [int(width), int(height)],
        "request": request.to_dict(),
        "palette": None if result.palette is None else result.palette.hex_codes(),
        "qa_report": report,
        "qa_warnings": list(result.report.warnings),
        "files": files.to_dict(),
    }


def _write(
    target: Target,
    data: bytes,
    request: PixelizeRequest,
    result: PixelizeResult,
    image: Any = None,
) -> PixelizeOutcome:
    """Write sprite, preview, comparison (`image` is the input) and sidecar all-or-nothing."""
    from comfy_nodes.pixel.atomic import write_files_atomic
    from comfy_nodes.pixel.compare import pixelize_comparison
    from comfy_nodes.pixel.image_io import encode_png
    from comfy_nodes.pixel.upscale import upscale_nearest

    height, width = (int(v) for v in result.sprite.shape[:2])
    files = target.files(width, height, compare=request.compare)
    outputs = {Path(files.sprite): encode_png(result.sprite)}
    if files.preview is not None:
        factor = int(Path(files.preview).stem.rsplit("@", 1)[1].rstrip("x"))
        outputs[Path(files.preview)] = encode_png(upscale_nearest(result.sprite, factor))
    if files.comparison is not None and image is not None:
        colours = result.palette.colors if result.palette is not None else _own_colours(result)
        row = pixelize_comparison(image, result.sprite, colours)
        outputs[Path(files.comparison)] = encode_png(row)
    sidecar = _sidecar(target, data, request, result, files)
    outputs[Path(files.sidecar)] = (json.dumps(sidecar, indent=2) + "\n").encode()
    write_files_atomic(outputs)
    return PixelizeOutcome(target.name, files, (width, height), sidecar["qa_report"])


def _own_colours(result: PixelizeResult) -> Any:
    """The sprite's own visible colours (a sprite left unquantized has no palette)."""
    import numpy as np

    visible = result.sprite[result.sprite[..., 3] > 0][:, :3]
    return np.unique(visible, axis=0)


class Pixelizer:
    """The pixelize use case over one outputs folder (what `Service` delegates to).

    Args:
        output_dir: The outputs root; the default folder is `<output_dir>/pixelized`.
        resolve_palette: Turns a palette name into a `Palette` (the service's policy).
    """

    def __init__(self, output_dir: Path, resolve_palette: Callable[[str], Palette]) -> None:
        self.default_out = output_dir / "pixelized"
        self._resolve = resolve_palette

    def pixelize_files(
        self,
        paths: Sequence[Path | str],
        request: PixelizeRequest,
        *,
        out: Path | None = None,
        shared_palette: bool = False,
        progress: Progress | None = None,
    ) -> PixelizeRun:
        """Pixelize files and folders of pictures (see the module doc for the layout).

        Raises:
            InvalidRequest: A bad field, `palette` with `colors`, or a `.png` `out` for a
                folder or several inputs; raised before any file is read or written.
        """
        # 1. check the request and the output, 2. find the inputs, 3. plan the outputs,
        # 4. the shared palette (a first pass), 5. pixelize and write each input.
        options = request.to_options(self._resolve)
        check_out(paths, out)
        if shared_palette and request.palette is not None:
            raise InvalidRequest(
                "shared_palette/palette", request.palette, "a locked palette is already shared"
            )
        files, failures = collect_inputs(paths)
        total = len(files) + len(failures)
        scale = -1 if request.preview_scale is None else request.preview_scale
        targets = plan_targets(files, (out or self.default_out).expanduser().absolute(), scale)
        shared: tuple[str, ...] | None = None
        if shared_palette:
            targets, options, shared, bad = self._lock_shared_palette(targets, options, progress)
            failures += bad
        outcomes = []
        for done, target in enumerate(targets, start=1):
            outcome, failure = self._one(target, request, options)
            failures += [failure] if failure else []
            outcomes += [outcome] if outcome else []
            if progress is not None:
                step = PixelizeStep("pixelize", done, len(targets), target.name, outcome, failure)
                progress(step)
        return PixelizeRun(tuple(outcomes), tuple(failures), total, shared)

    def pixelize_source(
        self, source: Path | str | bytes, request: PixelizeRequest, *, out: Path | None = None
    ) -> PixelizeOutcome:
        """One picture (a path, or bytes named `upload_<sha8>`), its errors raised.

        Raises:
            InvalidRequest: A bad field.
            ValueError: The pixel core's errors (not an image, grid misfit …).
            OSError: An output could not be written (nothing is left behind).
        """
        options = request.to_options(self._resolve)
        folder = (out or self.default_out).expanduser().absolute()
        scale = -1 if request.preview_scale is None else request.preview_scale
        if isinstance(source, bytes):
            stem = folder / f"upload_{hashlib.sha256(source).hexdigest()[:8]}"
            target = Target(source, stem, scale)
        else:
            path = Path(source).expanduser().resolve()
            (target,) = plan_targets([path], out or folder, scale)
        return self._run(target, request, options)

    def _one(
        self, target: Target, request: PixelizeRequest, options: PixelizeOptions
    ) -> tuple[PixelizeOutcome | None, PixelizeFailure | None]:
        from comfy_nodes.pixel.errors import PixelArtError

        try:
            return self._run(target, request, options), None
        except (PixelArtError, OSError) as exc:
            return None, PixelizeFailure(target.name, str(exc))

    @staticmethod
    def _run(target: Target, request: PixelizeRequest, options: PixelizeOptions) -> PixelizeOutcome:
        from comfy_nodes.pixel.image_io import load_image
        from comfy_nodes.pixel.pipeline import pixelize

        source = target.source
        data = source if isinstance(source, bytes) else source.read_bytes()
        image = load_image(data)
        return _write(target, data, request, pixelize(image, options), image)

    def _lock_shared_palette(
        self, targets: list[Target], options: PixelizeOptions, progress: Progress | None
    ) -> tuple[list[Target], PixelizeOptions, tuple[str, ...] | None, list[PixelizeFailure]]:
        """The run's targets that survived the first pass, locked to the shared palette."""
        palette, failures = self._shared_palette(targets, options, progress)
        failed = {f.source for f in failures}
        targets = [t for t in targets if t.name not in failed]
        if palette is None:  # every sprite empty: nothing to build a palette from
            return targets, options, None, failures
        return targets, replace(options, palette=palette), tuple(palette.hex_codes()), failures

    @staticmethod
    def _shared_palette(
        targets: Sequence[Target], options: PixelizeOptions, progress: Progress | None
    ) -> tuple[Palette | None, list[PixelizeFailure]]:
        """One palette over every sprite of the run: each picture is pixelized with its own
        palette first, then the k-means of all those sprites together keeps each one's key
        colours. Inputs that fail here are reported once and skipped later."""
        from comfy_nodes.pixel.errors import PixelArtError
        from comfy_nodes.pixel.image_io import load_image
        from comfy_nodes.pixel.palette_size import auto_palette
        from comfy_nodes.pixel.pipeline import pixelize
        from comfy_nodes.pixel.quantize import build_palette

        draft = replace(options, dither="none", outline=False)
        sprites, failures = [], []
        for done, target in enumerate(targets, start=1):
            try:
                sprites.append(pixelize(load_image(target.source), draft).sprite)
            except (PixelArtError, OSError) as exc:
                failures.append(PixelizeFailure(target.name, str(exc)))
            if progress is not None:
                progress(PixelizeStep("shared palette", done, len(targets), target.name))
        if not any(bool((sprite[..., 3] > 0).any()) for sprite in sprites):
            return None, failures
        if options.n_colors is None:  # auto: the size the set itself holds
            return auto_palette(sprites, options.seed).palette, failures
        palette = build_palette(sprites, options.n_colors, options.palette_method, options.seed)
        return palette, failures
