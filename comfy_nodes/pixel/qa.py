"""A QA report per asset that a graph or script can branch on.

It says whether the sprite is game-ready: every cell one colour with hard alpha
(``pixel_perfect``), how sure the grid was, how many colours it uses and how many of its
pixels are in the locked palette, how many background decisions were close calls, and,
for tiles, how visible the wrap-around seams are.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .errors import InvalidImageError
from .grid import GridEstimate
from .palette import Palette

__all__ = ["QAReport", "count_colors", "is_pixel_perfect", "palette_conformance", "qa_report"]

Rgba = NDArray[np.uint8]


@dataclass(frozen=True)
class QAReport:
    """What a pipeline step (or a person) needs to accept or redo an asset.

    Attributes:
        width: Sprite width in pixels.
        height: Sprite height in pixels.
        pixel_perfect: Every cell one colour and alpha only 0 or 255.
        grid_confidence: 0..1 from grid detection (1 when the grid was given).
        already_clean: The input already was a true-size sprite.
        colors: Distinct opaque colours.
        palette_size: Colours in the palette the sprite was locked to (0 if none).
        palette_conformance: Share of opaque pixels whose colour is in that palette.
        transparent_fraction: Share of transparent pixels.
        alpha_ambiguity: Share of pixels whose background decision was a close call.
        seam_score: Wrap-around seam strength (x, y) for tiles, else None.
        warnings: Plain-language problems worth a look.
        notes: Plain-language decisions and why (background kept or removed, palette
            size chosen), for a person reading the report.
    """

    width: int
    height: int
    pixel_perfect: bool
    grid_confidence: float
    already_clean: bool
    colors: int
    palette_size: int
    palette_conformance: float
    transparent_fraction: float
    alpha_ambiguity: float
    seam_score: tuple[float, float] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """JSON-able dict (``json.dumps`` works on it as is)."""
        return {
            "type": "qa_report",
            "width": self.width,
            "height": self.height,
            "pixel_perfect": self.pixel_perfect,
            "grid_confidence": round(float(self.grid_confidence), 4),
            "already_clean": self.already_clean,
            "colors": self.colors,
            "palette_size": self.palette_size,
            "palette_conformance": round(float(self.palette_conformance), 4),
            "transparent_fraction": round(float(self.transparent_fraction), 4),
            "alpha_ambiguity": round(float(self.alpha_ambiguity), 4),
            "seam_score": None
            if self.seam_score is None
            else [round(float(v), 4) for v in self.seam_score],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


def _check(rgba: Rgba) -> None:
    if not isinstance(rgba, np.ndarray) or rgba.dtype != np.uint8 or rgba.ndim != 3:
        raise InvalidImageError(
            f"sprite: expected uint8 [H, W, 4], got {getattr(rgba, 'shape', None)}"
        )
    if rgba.shape[2] != 4 or rgba.shape[0] < 1 or rgba.shape[1] < 1:
        raise InvalidImageError(f"sprite: expected a non-empty [H, W, 4] image, got {rgba.shape}")


def count_colors(rgba: Rgba) -> int:
    """Distinct colours among opaque pixels."""
    opaque = rgba[..., 3] > 0
    packed = rgba[..., :3][opaque].astype(np.uint32) @ np.array([65536, 256, 1], dtype=np.uint32)
    return int(np.unique(packed).size)


def palette_conformance(rgba: Rgba, palette: Palette) -> float:
    """Share of opaque pixels whose exact colour is in ``palette`` (1.0 with none opaque)."""
    opaque = rgba[..., 3] > 0
    if not opaque.any():
        return 1.0
    weights = np.array([65536, 256, 1], dtype=np.uint32)
    pix = rgba[..., :3][opaque].astype(np.uint32) @ weights
    pal = palette.colors.astype(np.uint32) @ weights
    return float(np.isin(pix, pal).mean())


def is_pixel_perfect(image: Rgba, grid: GridEstimate | None = None) -> bool:
    """Every cell of ``grid`` (1 px cells when None) one colour, and alpha hard."""
    _check(image)
    alpha = image[..., 3]
    if not bool(np.isin(alpha, (0, 255)).all()):
        return False
    if grid is None or (grid.cell_w <= 1.0 and grid.cell_h <= 1.0):
        return True
    xs = np.clip(np.floor(grid.lines_x()).astype(np.intp), 0, image.shape[1])
    ys = np.clip(np.floor(grid.lines_y()).astype(np.intp), 0, image.shape[0])
    for y0, y1 in itertools.pairwise(ys):
        band = image[y0:y1]
        for x0, x1 in itertools.pairwise(xs):
            cell = band[:, x0:x1].reshape(-1, 4)
            if cell.size and not bool((cell == cell[0]).all()):
                return False
    return True


def _warnings(
    grid_confidence: float, conformance: float, ambiguity: float, opaque: float
) -> tuple[str, ...]:
    out = []
    if grid_confidence < 0.5:
        out.append("low grid confidence: pass sprite_size (WxH) or check the picture")
    if conformance < 1.0:
        out.append("some pixels are outside the palette")
    if ambiguity > 0.05:
        out.append("many close background calls: try remove_background='key' or a tolerance")
    if opaque == 0.0:
        out.append("the sprite is fully transparent")
    return tuple(out)


def qa_report(
    sprite: Rgba,
    *,
    grid: GridEstimate | None = None,
    palette: Palette | None = None,
    alpha_ambiguity: float = 0.0,
    seam_score: tuple[float, float] | None = None,
    notes: tuple[str, ...] = (),
    extra_warnings: tuple[str, ...] = (),
) -> QAReport:
    """Build the QA report of a finished sprite.

    Args:
        sprite: The grid-exact uint8 RGBA sprite (1 px per cell).
        grid: The grid it was read with (for confidence and clean detection).
        palette: The palette it was locked to, if any.
        alpha_ambiguity: Share of close background calls, from the pipeline.
        seam_score: Tile seam scores, for tiles.
        notes: The pipeline's decisions in words (background, palette size).
        extra_warnings: The pipeline's own warnings (e.g. more colours asked than present).
    """
    _check(sprite)
    opaque = float((sprite[..., 3] > 0).mean())
    conformance = 1.0 if palette is None else palette_conformance(sprite, palette)
    confidence = 1.0 if grid is None else float(grid.confidence)
    return QAReport(
        width=int(sprite.shape[1]),
        height=int(sprite.shape[0]),
        pixel_perfect=is_pixel_perfect(sprite),
        grid_confidence=confidence,
        already_clean=bool(grid.already_clean) if grid is not None else False,
        colors=count_colors(sprite),
        palette_size=0 if palette is None else len(palette.colors),
        palette_conformance=conformance,
        transparent_fraction=1.0 - opaque,
        alpha_ambiguity=float(alpha_ambiguity),
        seam_score=seam_score,
        warnings=_warnings(confidence, conformance, alpha_ambiguity, opaque) + extra_warnings,
        notes=notes,
    )
