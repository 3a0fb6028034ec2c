"""Pseudo pixel art in, a game-ready sprite out: the steps every entry point shares.

``pixelize`` reads as the steps it takes:

1. validate the image and options;
2. detect the grid (or use the given one / the size prior);
3. downscale onto the grid, one colour per cell;
4. remove the background on the grid (before the palette, so no palette slot is spent on it);
5. build or lock the palette (k-means in OKLab, shared across a batch; its size picked
   from the picture unless asked, see ``palette_size``);
6. map to the palette, dithering if asked;
7. clean up: orphan pixels, outline;
8. QA report.

``pixelize_batch`` runs the same steps over frames that share one palette and, for frames
of one size, one grid and phase.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from .alpha import DEFAULT_TOLERANCE, apply_background, decide_background
from .color import srgb_to_oklab
from .downscale import downscale_to_grid
from .errors import InvalidImageError, InvalidParameterError
from .grid import GridEstimate, detect_grid, detect_grid_frames
from .modes import BACKGROUND_MODES, DITHER_MODES, DOWNSCALE_MODES, PALETTE_SIZES
from .orphans import remove_orphans
from .outline import add_outline
from .palette import Palette, parse_hex_color, resolve_palette
from .palette_size import auto_palette, distinct_colors
from .qa import QAReport, qa_report
from .quantize import build_palette, check_n_colors, map_to_palette
from .tiles import seam_score

__all__ = [
    "BatchResult",
    "GridSharing",
    "PixelizeOptions",
    "PixelizeResult",
    "options_from_widgets",
    "parse_size",
    "pixelize",
    "pixelize_batch",
]

Rgba = NDArray[np.uint8]
GridSharing = Literal["shared", "per-image"]
_MAX_SIDE = 8192
_BIN = 4


@dataclass(frozen=True)
class PixelizeOptions:
    """What to make of a picture.

    Attributes:
        size: ``(cols, rows)`` prior for the sprite size, or None to detect it.
        palette: A locked palette, or None to build one of ``n_colors``.
        n_colors: Palette size when building one (2..256); None picks it from the picture.
        dither: A ``dither.DitherMode``.
        remove_background: ``auto | border | key | none`` (True = auto, False = none).
        key_color: RGB for ``remove_background="key"``.
        tolerance: OKLab distance still counted as background.
        outline: Add a 1-px outline (``outline_color`` or auto dark).
        outline_color: RGB of the outline, None = auto.
        cleanup: Remove orphan pixels.
        downscale_mode: A ``downscale.DownscaleMode``.
        palette_method: ``kmeans`` or ``median_cut``.
        seed: Seed of the palette k-means.
        grid: A grid to use as is (skips detection).
        grid_sharing: In a batch: ``shared`` (one grid for same-size frames) or ``per-image``.
        tile: Report the wrap-around seam score.
    """

    size: tuple[int, int] | None = None
    palette: Palette | None = None
    n_colors: int | None = None
    dither: str = "none"
    remove_background: str | bool = "auto"
    key_color: tuple[int, int, int] | None = None
    tolerance: float = DEFAULT_TOLERANCE
    outline: bool = False
    outline_color: tuple[int, int, int] | None = None
    cleanup: bool = False
    downscale_mode: str = "robust"
    palette_method: str = "kmeans"
    seed: int = 0
    grid: GridEstimate | None = None
    grid_sharing: GridSharing = "shared"
    tile: bool = False

    def background_mode(self) -> str:
        """The background mode as a string (booleans mapped to auto / none)."""
        if isinstance(self.remove_background, bool):
            return "auto" if self.remove_background else "none"
        return self.remove_background


@dataclass(frozen=True)
class PixelizeResult:
    """One finished sprite and how it was made."""

    sprite: Rgba
    grid: GridEstimate
    palette: Palette | None
    report: QAReport


@dataclass(frozen=True)
class BatchResult:
    """Sprites of a batch, their grids, the one palette they share, and their reports."""

    results: tuple[PixelizeResult, ...]
    palette: Palette | None

    @property
    def sprites(self) -> list[Rgba]:
        """The sprites in input order."""
        return [r.sprite for r in self.results]

    def report_json(self) -> str:
        """The reports as JSON: one object for a single sprite, else a list."""
        items = [dict(r.report.to_dict(), grid=r.grid.to_dict()) for r in self.results]
        return json.dumps(items[0] if len(items) == 1 else items)


def parse_size(text: str) -> tuple[int, int] | None:
    """``"auto"``/empty to None, ``"WxH"`` (or ``"N"``) to ``(W, H)``.

    Raises:
        InvalidParameterError: anything else, naming the value.
    """
    value = text.strip().lower()
    if value in ("", "auto"):
        return None
    parts = value.replace("×", "x").split("x")
    try:
        dims = [int(p) for p in parts]
    except ValueError as err:
        raise InvalidParameterError(
            f'sprite_size: {text!r} is not "auto" or "WxH" (e.g. "32x32")'
        ) from err
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < 1 or max(dims) > _MAX_SIDE:
        raise InvalidParameterError(
            f'sprite_size: {text!r} must be "auto" or "WxH" with 1..{_MAX_SIDE} each'
        )
    return dims[0], dims[1]


def _parse_color(text: str) -> tuple[int, int, int] | None:
    return parse_hex_color(text) if text.strip() else None


def options_from_widgets(
    *,
    sprite_size: str = "auto",
    palette: str = "auto",
    colors: int = 0,
    dither: str = "none",
    remove_background: str = "auto",
    outline: bool = False,
    seed: int = 0,
    key_color: str = "",
    cleanup: bool = False,
    downscale_mode: str = "robust",
) -> PixelizeOptions:
    """Options from ``DGXP_PixelizeSprite``'s widget values (see nodes/pixelize.py);
    ``colors`` 0 is auto."""
    locked = None if palette.strip().lower() in ("", "auto") else resolve_palette(palette)
    return PixelizeOptions(
        size=parse_size(sprite_size),
        palette=locked,
        n_colors=PALETTE_SIZES.parse(colors),
        dither=dither,
        remove_background=remove_background,
        key_color=_parse_color(key_color),
        outline=outline,
        cleanup=cleanup,
        downscale_mode=downscale_mode,
        seed=seed,
        grid_sharing="per-image",
    )


# 1. validate ---------------------------------------------------------------------------


def _check_options(options: PixelizeOptions) -> None:
    BACKGROUND_MODES.parse(options.background_mode())
    DOWNSCALE_MODES.parse(options.downscale_mode)
    if options.grid_sharing not in get_args(GridSharing):
        raise InvalidParameterError(
            f"grid_sharing: {options.grid_sharing!r} is unknown; valid: shared, per-image"
        )
    DITHER_MODES.parse(options.dither)
    if options.palette is None and options.n_colors is not None:
        check_n_colors(options.n_colors)


def _checked(image: Rgba, index: int) -> Rgba:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
        raise InvalidImageError(
            f"images[{index}]: expected uint8 [H, W, 3|4], got "
            f"{getattr(image, 'dtype', type(image))} {getattr(image, 'shape', None)}"
        )
    if image.shape[2] not in (3, 4) or image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidImageError(f"images[{index}]: expected [H, W, 3|4], got {image.shape}")
    if max(image.shape[:2]) > _MAX_SIDE:
        raise InvalidImageError(
            f"images[{index}]: {image.shape[1]}x{image.shape[0]} is over the "
            f"{_MAX_SIDE}x{_MAX_SIDE} limit; scale it down first"
        )
    return image


# 2. grid -------------------------------------------------------------------------------


def _grids(images: Sequence[Rgba], options: PixelizeOptions) -> list[GridEstimate]:
    if options.grid is not None:
        return [options.grid] * len(images)
    same_size = len({im.shape[:2] for im in images}) == 1
    if options.grid_sharing == "shared" and same_size and len(images) > 1:
        return [detect_grid_frames(images, options.size)] * len(images)
    return [detect_grid(im, options.size) for im in images]


# 4. background -------------------------------------------------------------------------


# 5-6. palette --------------------------------------------------------------------------


def _binned(cells: Rgba) -> Rgba:
    """Cell colours on a 6-bit-per-channel lattice (bin centres): k-means then sees a few
    hundred distinct colours instead of thousands of noisy ones, for the same palette
    within a couple of levels and several times faster."""
    out = cells.copy()
    out[..., :3] = (cells[..., :3] & ~np.uint8(_BIN - 1)) + np.uint8(_BIN // 2)
    return out


@dataclass(frozen=True)
class _PaletteStep:
    palette: Palette | None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _palette(cells: Sequence[Rgba], options: PixelizeOptions) -> _PaletteStep:
    if options.palette is not None:
        return _PaletteStep(options.palette, (f"palette: locked to {options.palette.name}",))
    if not any(bool((c[..., 3] > 0).any()) for c in cells):
        return _PaletteStep(None)
    if options.n_colors is None:
        choice = auto_palette(cells, options.seed)
        return _PaletteStep(_refined(choice.palette, cells), (f"palette {choice.reason}",))
    votes = [_binned(c) for c in cells]
    coarse = build_palette(votes, options.n_colors, options.palette_method, options.seed)
    palette = _refined(coarse, cells)
    asked = (f"palette: {options.n_colors} colours as asked",)
    found = distinct_colors(palette)
    if options.n_colors <= found:
        return _PaletteStep(palette, asked)
    warning = (
        f"colors={options.n_colors} is more than the about {found} distinct colours present "
        f"({len(palette.colors)} used): shades of one colour get split; use colors auto"
    )
    return _PaletteStep(palette, asked, (warning,))


def _refined(palette: Palette, cells: Sequence[Rgba]) -> Palette:
    """Each palette colour becomes the mean of the true cell colours nearest to it, undoing
    the binning (a clean input keeps its exact colours)."""
    rgb = np.concatenate([c[..., :3][c[..., 3] > 0] for c in cells]).astype(np.float64)
    lab = srgb_to_oklab(rgb.astype(np.uint8)).astype(np.float32)
    pal_lab = srgb_to_oklab(palette.colors).astype(np.float32)
    d = (lab * lab).sum(1)[:, None] - 2.0 * lab @ pal_lab.T + (pal_lab * pal_lab).sum(1)[None]
    label = d.argmin(axis=1)
    k = len(palette.colors)
    count = np.bincount(label, minlength=k)
    sums = np.stack([np.bincount(label, weights=rgb[:, i], minlength=k) for i in range(3)], 1)
    mean = np.where(count[:, None] > 0, sums / np.maximum(count, 1)[:, None], palette.colors)
    colors = np.unique(np.clip(np.rint(mean), 0, 255).astype(np.uint8), axis=0)
    return Palette(name=palette.name, colors=colors)


def _map(cells: Rgba, palette: Palette | None, options: PixelizeOptions) -> Rgba:
    return cells if palette is None else map_to_palette(cells, palette, options.dither)


# 7. cleanup ----------------------------------------------------------------------------


def _cleanup(sprite: Rgba, palette: Palette | None, options: PixelizeOptions) -> Rgba:
    if options.cleanup:
        sprite = remove_orphans(sprite)
    if options.outline:  # in a palette colour: the sprite stays 100 % in its palette
        sprite = add_outline(sprite, options.outline_color, palette)
    return sprite


def _seams(sprite: Rgba, options: PixelizeOptions) -> tuple[float, float] | None:
    if not options.tile:
        return None
    return seam_score(sprite)


def pixelize_batch(images: Sequence[Rgba], options: PixelizeOptions) -> BatchResult:
    """Pixelize frames that share one palette (and, for ``shared``, one grid and phase).

    Raises:
        InvalidImageError: an unusable frame (named by index).
        InvalidParameterError: an option out of range or of an unknown mode.
        GridDoesNotFitError: the size prior or the given grid does not fit.
    """
    # 1. validate
    if len(images) == 0:
        raise InvalidImageError("images: nothing to pixelize; pass at least one image")
    _check_options(options)
    frames = [_checked(im, i) for i, im in enumerate(images)]
    # 2. grid
    grids = _grids(frames, options)
    # 3. downscale
    cells = [
        downscale_to_grid(f, g, options.downscale_mode) for f, g in zip(frames, grids, strict=True)
    ]
    # 4. background
    mode = options.background_mode()
    decisions = [decide_background(c, mode, options.key_color, options.tolerance) for c in cells]
    cells = [apply_background(c, d) for c, d in zip(cells, decisions, strict=True)]
    # 5. palette (shared)
    step = _palette(cells, options)
    palette = step.palette
    results = []
    for c, g, bg in zip(cells, grids, decisions, strict=True):
        # 6. map / dither, 7. cleanup
        sprite = _cleanup(_map(c, palette, options), palette, options)
        # 8. QA
        report = qa_report(
            sprite,
            grid=g,
            palette=palette,
            alpha_ambiguity=bg.ambiguity,
            seam_score=_seams(sprite, options),
            notes=(f"background {bg.note}", *step.notes),
            extra_warnings=step.warnings,
        )
        results.append(PixelizeResult(sprite, g, palette, report))
    return BatchResult(tuple(results), palette)


def pixelize(rgba: Rgba, options: PixelizeOptions | None = None) -> PixelizeResult:
    """Pixelize one picture (see the module doc for the steps).

    Raises:
        InvalidImageError: not a uint8 ``[H, W, 3|4]`` image, or over 8192².
        InvalidParameterError: an option out of range or of an unknown mode.
        GridDoesNotFitError: the size prior or the given grid does not fit.
    """
    opts = options if options is not None else PixelizeOptions()
    return pixelize_batch([rgba], replace(opts, grid_sharing="per-image")).results[0]
