"""Two-terrain corner (Wang) tile sets: 16 tiles, their masks, atlas, edge check and a map.

A corner set draws every tile from two terrains, `lower` (e.g. grass) and `upper` (e.g.
water), by which terrain sits at each of the tile's four corners. The tile index is the
corner bitmask, clockwise from the top right::

    index = NE * 1 + SE * 2 + SW * 4 + NW * 8      (1 = upper terrain at that corner)

so 0 is all lower, 15 all upper, 3 (NE+SE) upper on the east half. The atlas holds the 16
tiles 4 across, row-major in index order (tile ``i`` at column ``i % 4``, row ``i // 4``),
which is what a tilemap's texture index counts (bevy_ecs_tilemap's ``TileTextureIndex(i)``,
Bevy's ``TextureAtlasLayout::from_grid`` with 4 columns and 4 rows).

Why the tiles fit together: each mask comes from one field over the whole map, the
bilinear blend of the corner values plus a smooth noise that repeats every tile (scaled
by how close the blend is to the border, so it bends the border but cuts no islands). Along a
tile's edge the field depends only on that edge's two corners, and both terrains are
seamless, so any two tiles that agree on the corners they share continue into each other.
`edge_scores` measures that on the finished tiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .color import linear_to_srgb_uint8, srgb_to_linear
from .errors import InvalidImageError, InvalidParameterError
from .image_io import check_rgba
from .tiles import SEAM_THRESHOLD, join_score

__all__ = [
    "ATLAS_COLUMNS",
    "CORNERS",
    "MAX_MAP_TILES",
    "MIN_WANG_SIDE",
    "WANG_TILES",
    "EdgeScore",
    "atlas_layout",
    "composite_wang",
    "corner_masks",
    "corners_of",
    "edge_pairs",
    "edge_scores",
    "edges_report",
    "lock_edges",
    "pack_atlas",
    "random_map",
    "tile_index",
]

RGBA = npt.NDArray[np.uint8]
Float64Array = npt.NDArray[np.float64]

CORNERS: Final[tuple[str, ...]] = ("NE", "SE", "SW", "NW")  # bit 0 .. bit 3
WANG_TILES: Final[int] = 16
ATLAS_COLUMNS: Final[int] = 4
MIN_WANG_SIDE: Final[int] = 8  # the corner shapes need a few pixels per quarter
MAX_MAP_TILES: Final[int] = 64  # the preview map's side, in tiles
_NOISE_WAVES: Final[int] = 6


def corners_of(index: int) -> dict[str, int]:
    """The corner terrains of tile `index` (``{"NE": 0|1, "SE": …, "SW": …, "NW": …}``).

    Raises:
        InvalidParameterError: `index` outside 0..15.
    """
    if isinstance(index, bool) or not 0 <= int(index) < WANG_TILES:
        raise InvalidParameterError(f"index={index!r} is out of range; choose 0..15")
    return {name: (int(index) >> bit) & 1 for bit, name in enumerate(CORNERS)}


def tile_index(ne: int, se: int, sw: int, nw: int) -> int:
    """The index of the tile with these corner terrains (0 lower, 1 upper)."""
    return (ne & 1) | (se & 1) << 1 | (sw & 1) << 2 | (nw & 1) << 3


def _periodic_noise(height: int, width: int, seed: int) -> Float64Array:
    """A smooth field in -1..1 that repeats exactly every tile (whole-number frequencies)."""
    rng = np.random.default_rng(seed)
    v = (np.arange(height)[:, None] + 0.5) / height
    u = (np.arange(width)[None, :] + 0.5) / width
    field = np.zeros((height, width))
    for _ in range(_NOISE_WAVES):
        fx, fy = rng.integers(1, 3, size=2)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        field += rng.uniform(0.5, 1.0) * np.cos(2.0 * np.pi * (fx * u + fy * v) + phase)
    peak = float(np.abs(field).max())
    return field / peak if peak > 0 else field


def corner_masks(
    height: int, width: int, *, seed: int = 0, roughness: float = 0.1, softness: float = 0.08
) -> Float64Array:
    """Weights of the upper terrain for all 16 tiles, ``[16, H, W]`` in 0..1.

    Args:
        height: Tile height in px.
        width: Tile width in px.
        seed: Seed of the shared noise that makes the borders organic.
        roughness: Noise amplitude, 0 (smooth curves) .. 0.45 (ragged).
        softness: Width of the soft border in field units; 0 gives hard masks.

    Raises:
        InvalidParameterError: a side under `MIN_WANG_SIDE`, or roughness/softness
            out of range.
    """
    if min(height, width) < MIN_WANG_SIDE:
        raise InvalidParameterError(
            f"tile size {width}x{height} is too small for a corner set; "
            f"the minimum is {MIN_WANG_SIDE}x{MIN_WANG_SIDE} px"
        )
    if not 0.0 <= roughness <= 0.45:
        raise InvalidParameterError(f"roughness={roughness!r} is out of range; choose 0..0.45")
    if not 0.0 <= softness <= 0.5:
        raise InvalidParameterError(f"softness={softness!r} is out of range; choose 0..0.5")
    v = (np.arange(height)[:, None] + 0.5) / height
    u = (np.arange(width)[None, :] + 0.5) / width
    # Bilinear weights of each corner, in CORNERS order (NE, SE, SW, NW).
    weights = np.stack([u * (1 - v), u * v, (1 - u) * v, (1 - u) * (1 - v)])
    noise = roughness * _periodic_noise(height, width, seed)
    masks = np.empty((WANG_TILES, height, width))
    for index in range(WANG_TILES):
        bits = np.array([(index >> bit) & 1 for bit in range(4)], dtype=np.float64)
        blend = np.tensordot(bits, weights, axes=1)
        # The noise acts only near the border (most at blend 0.5, none at 0 or 1), so it
        # bends the border without cutting islands out of either terrain.
        field = blend + noise * 4.0 * blend * (1.0 - blend)
        if softness == 0:
            masks[index] = field > 0.5
        else:
            t = np.clip((field - 0.5) / softness + 0.5, 0.0, 1.0)
            masks[index] = t * t * (3.0 - 2.0 * t)  # smoothstep
    return masks


def _check_pair(lower: RGBA, upper: RGBA) -> tuple[RGBA, RGBA]:
    lower = check_rgba(lower, "lower")
    upper = check_rgba(upper, "upper")
    if lower.shape != upper.shape:
        raise InvalidImageError(
            f"lower is {lower.shape[1]}x{lower.shape[0]} but upper is "
            f"{upper.shape[1]}x{upper.shape[0]}; the two terrains must be the same size"
        )
    return lower, upper


def composite_wang(
    lower: RGBA, upper: RGBA, *, seed: int = 0, roughness: float = 0.1, softness: float = 0.08
) -> list[RGBA]:
    """The 16 tiles of a corner set, in index order, mixed in linear light.

    Args:
        lower: The terrain at 0-corners (seamless, RGBA).
        upper: The terrain at 1-corners, the same size.
        seed: Seed of the border noise (`corner_masks`).
        roughness: See `corner_masks`.
        softness: See `corner_masks`.

    Raises:
        InvalidImageError: a terrain is not RGBA or the two differ in size.
        InvalidParameterError: the tiles are too small, or an option out of range.
    """
    lower, upper = _check_pair(lower, upper)
    height, width = lower.shape[:2]
    masks = corner_masks(height, width, seed=seed, roughness=roughness, softness=softness)
    low = np.concatenate([srgb_to_linear(lower[..., :3]), lower[..., 3:] / 255.0], axis=-1)
    up = np.concatenate([srgb_to_linear(upper[..., :3]), upper[..., 3:] / 255.0], axis=-1)
    tiles = []
    for mask in masks:
        mixed = low * (1.0 - mask[..., None]) + up * mask[..., None]
        tile = np.empty_like(lower)
        tile[..., :3] = linear_to_srgb_uint8(mixed[..., :3])
        tile[..., 3] = np.rint(mixed[..., 3] * 255.0).astype(np.uint8)
        tiles.append(tile)
    return tiles


def lock_edges(blended: RGBA, original: RGBA, band: float = 0.0625) -> RGBA:
    """`blended` inside, `original` on a border ring: the ring keeps the composite's
    edges (which match their neighbours) after an img2img pass redrew the tile.

    The ring is `band` of the shorter side wide, then `blended` fades in over as much again.

    Raises:
        InvalidImageError: the two images differ in size.
        InvalidParameterError: `band` outside 0..0.25.
    """
    new = check_rgba(blended, "blended")
    old = check_rgba(original, "original")
    if new.shape != old.shape:
        raise InvalidImageError(
            f"blended is {new.shape[1]}x{new.shape[0]} but original is "
            f"{old.shape[1]}x{old.shape[0]}; they must be the same size"
        )
    if not 0.0 <= band <= 0.25:
        raise InvalidParameterError(f"band={band!r} is out of range; choose 0..0.25")
    height, width = new.shape[:2]
    ring = band * min(height, width)
    if ring == 0:
        return new.copy()
    y = np.arange(height)[:, None]
    x = np.arange(width)[None, :]
    inside = np.minimum(np.minimum(y, height - 1 - y), np.minimum(x, width - 1 - x))
    weight = np.clip((inside + 1 - ring) / ring, 0.0, 1.0)[..., None]
    mixed = new.astype(np.float64) * weight + old.astype(np.float64) * (1.0 - weight)
    locked: RGBA = np.rint(mixed).astype(np.uint8)
    return locked


@dataclass(frozen=True)
class EdgeScore:
    """How well two touching tiles continue into each other.

    Attributes:
        first: Index of the tile on the left (side by side) or on top (stacked).
        second: Index of the tile to its right or below.
        axis: ``"x"`` side by side, ``"y"`` stacked.
        score: `tiles.join_score` of the pair: 0 is no visible join.
    """

    first: int
    second: int
    axis: str
    score: float

    @property
    def matches(self) -> bool:
        """Whether the join stays under `tiles.SEAM_THRESHOLD`."""
        return self.score <= SEAM_THRESHOLD

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"pair": [self.first, self.second], "axis": self.axis, "score": self.score}


def edge_pairs() -> list[tuple[int, int, str]]:
    """Every ordered pair of tiles that can touch in a map: ``(first, second, axis)``.

    Side by side, the right tile's NW/SW corners are the left tile's NE/SE; stacked, the
    lower tile's NW/NE are the upper tile's SW/SE. 64 pairs per axis.
    """
    pairs: list[tuple[int, int, str]] = []
    for a in range(WANG_TILES):
        ca = corners_of(a)
        for b in range(WANG_TILES):
            cb = corners_of(b)
            if cb["NW"] == ca["NE"] and cb["SW"] == ca["SE"]:
                pairs.append((a, b, "x"))
            if cb["NW"] == ca["SW"] and cb["NE"] == ca["SE"]:
                pairs.append((a, b, "y"))
    return pairs


def _check_set(tiles: list[RGBA] | tuple[RGBA, ...]) -> list[RGBA]:
    if len(tiles) != WANG_TILES:
        raise InvalidImageError(f"tiles: a corner set has 16 tiles, got {len(tiles)}")
    checked = [check_rgba(t, f"tiles[{i}]") for i, t in enumerate(tiles)]
    if len({t.shape for t in checked}) != 1:
        sizes = sorted({f"{t.shape[1]}x{t.shape[0]}" for t in checked})
        raise InvalidImageError(f"tiles: all 16 must be one size, got {', '.join(sizes)}")
    return checked


def edge_scores(tiles: list[RGBA] | tuple[RGBA, ...]) -> list[EdgeScore]:
    """The join score of every pair of tiles that can touch (see `edge_pairs`).

    Raises:
        InvalidImageError: not 16 RGBA tiles of one size.
    """
    checked = _check_set(tiles)
    return [
        EdgeScore(a, b, axis, join_score(checked[a], checked[b], 1 if axis == "x" else 0))
        for a, b, axis in edge_pairs()
    ]


def atlas_layout(
    tile_width: int, tile_height: int, image: str = "autotile.png"
) -> dict[str, object]:
    """The atlas description: grid, index convention and each tile's corners and rect.

    ``meta.image`` names the atlas picture, as in Aseprite's JSON, so a deploy that
    renames the picture points the layout at it.
    """
    columns, rows = ATLAS_COLUMNS, WANG_TILES // ATLAS_COLUMNS
    tiles = [
        {
            "index": i,
            "corners": corners_of(i),
            "x": (i % columns) * tile_width,
            "y": (i // columns) * tile_height,
        }
        for i in range(WANG_TILES)
    ]
    return {
        "type": "dgxp_autotile",
        "version": 1,
        "meta": {"image": image, "size": {"w": columns * tile_width, "h": rows * tile_height}},
        "tile_size": [tile_width, tile_height],
        "columns": columns,
        "rows": rows,
        "index": "NE*1 + SE*2 + SW*4 + NW*8; 1 = upper terrain at that corner",
        "order": "row-major: tile i at column i % 4, row i // 4",
        "terrains": ["lower", "upper"],
        "tiles": tiles,
    }


def pack_atlas(
    tiles: list[RGBA] | tuple[RGBA, ...], image: str = "autotile.png"
) -> tuple[RGBA, dict[str, object]]:
    """The 4x4 atlas image of a corner set and its layout (`atlas_layout`).

    Raises:
        InvalidImageError: not 16 RGBA tiles of one size.
    """
    checked = _check_set(tiles)
    height, width = checked[0].shape[:2]
    rows = WANG_TILES // ATLAS_COLUMNS
    atlas = np.zeros((rows * height, ATLAS_COLUMNS * width, 4), dtype=np.uint8)
    for i, tile in enumerate(checked):
        y, x = (i // ATLAS_COLUMNS) * height, (i % ATLAS_COLUMNS) * width
        atlas[y : y + height, x : x + width] = tile
    return atlas, atlas_layout(width, height, image)


def random_map(
    tiles: list[RGBA] | tuple[RGBA, ...], columns: int = 8, rows: int = 8, seed: int = 0
) -> tuple[RGBA, npt.NDArray[np.int64]]:
    """A random map built from the set: random corner terrains, each cell the tile whose
    corners they are. Returns the picture and the ``[rows, columns]`` tile indices.

    Raises:
        InvalidImageError: not 16 RGBA tiles of one size.
        InvalidParameterError: `columns`/`rows` outside 1..64.
    """
    checked = _check_set(tiles)
    for name, value in (("columns", columns), ("rows", rows)):
        if isinstance(value, bool) or not 1 <= int(value) <= MAX_MAP_TILES:
            raise InvalidParameterError(
                f"{name}={value!r} is out of range; choose 1..{MAX_MAP_TILES}"
            )
    corner = np.random.default_rng(seed).integers(0, 2, size=(rows + 1, columns + 1))
    indices = (
        corner[:-1, 1:] * 1 + corner[1:, 1:] * 2 + corner[1:, :-1] * 4 + corner[:-1, :-1] * 8
    ).astype(np.int64)
    height, width = checked[0].shape[:2]
    picture = np.zeros((rows * height, columns * width, 4), dtype=np.uint8)
    for r in range(rows):
        for c in range(columns):
            picture[r * height : (r + 1) * height, c * width : (c + 1) * width] = checked[
                int(indices[r, c])
            ]
    return picture, indices


def edges_report(scores: list[EdgeScore]) -> dict[str, object]:
    """Summary and per-pair figures of an edge check, JSON-ready."""
    values = [s.score for s in scores]
    bad = [s for s in scores if not s.matches]
    return {
        "pairs": len(scores),
        "mismatched": len(bad),
        "max": max(values, default=0.0),
        "mean": round(float(np.mean(values)), 6) if values else 0.0,
        "threshold": SEAM_THRESHOLD,
        "per_pair": [s.to_dict() for s in scores],
    }
