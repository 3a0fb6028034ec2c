"""QA reports for tiles and corner sets: the sprite QA report plus seam and edge figures.

A tile's report adds ``seams``: the render's wrap-around scores before and after it was
made seamless (from `tiles.fix_seams`) and the finished tile's own. A corner set's report
(of its atlas) adds ``autotile``: the two terrains' seam figures and the join score of
every pair of tiles that can touch (`wang.edge_scores`). Scores over
`tiles.SEAM_THRESHOLD` become warnings that name the tile or pair.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import InvalidParameterError
from .qa import qa_report
from .tiles import SEAM_THRESHOLD, seam_score
from .wang import edge_scores, edges_report

__all__ = ["autotile_report", "seam_entries", "tile_report"]

RGBA = npt.NDArray[np.uint8]
_RENDER_KEYS = ("before", "after", "made_seamless")
_LISTED_MISMATCHES = 4


def seam_entries(seam_json: str, count: int) -> list[dict[str, Any]]:
    """`count` seam entries from `DGXP_MakeSeamless`'s JSON (a list, one per tile; an
    empty text gives empty entries).

    Raises:
        InvalidParameterError: not JSON, or a list whose length is neither 1 nor `count`.
    """
    if not seam_json.strip():
        return [{} for _ in range(count)]
    try:
        parsed = json.loads(seam_json)
    except json.JSONDecodeError as exc:
        raise InvalidParameterError(f"seam_json is not JSON: {exc}") from exc
    items = parsed if isinstance(parsed, list) else [parsed]
    if len(items) not in (1, count) or not all(isinstance(i, Mapping) for i in items):
        raise InvalidParameterError(
            f"seam_json has {len(items)} entries for {count} tiles; give one per tile"
        )
    return [dict(items[i % len(items)]) for i in range(count)]


def _render_seams(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in _RENDER_KEYS if key in entry}


def tile_report(tile: RGBA, render_seams: Mapping[str, Any]) -> dict[str, Any]:
    """A tile's QA report with ``seams`` (render before/after, the tile's own score)."""
    own = seam_score(tile)
    report: dict[str, Any] = qa_report(tile, seam_score=own).to_dict()
    report["seams"] = {
        "render": _render_seams(render_seams),
        "tile": list(own),
        "threshold": SEAM_THRESHOLD,
    }
    if max(own) > SEAM_THRESHOLD:
        report["warnings"] = [
            *report["warnings"],
            f"the tile shows a seam when repeated (score {max(own):.3f} > {SEAM_THRESHOLD})",
        ]
    return report


def autotile_report(
    atlas: RGBA, tiles: Sequence[RGBA], terrain_seams: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The atlas's QA report with ``autotile``: terrain seams and every edge pair's score.

    Args:
        atlas: The packed atlas (what is saved and reported on).
        tiles: The 16 finished tiles in index order.
        terrain_seams: ``{"lower": entry, "upper": entry}`` from `DGXP_MakeSeamless`.

    Raises:
        InvalidImageError: not 16 RGBA tiles of one size.
    """
    scores = edge_scores(list(tiles))
    edges = edges_report(scores)
    report: dict[str, Any] = qa_report(atlas).to_dict()
    report["autotile"] = {
        "terrain_seams": {k: _render_seams(v) for k, v in terrain_seams.items()},
        "edges": edges,
    }
    bad = [s for s in scores if not s.matches]
    notes = [
        f"edges: {edges['pairs']} touching pairs checked, {len(bad)} over {SEAM_THRESHOLD} "
        f"(max {edges['max']:.4f}, mean {edges['mean']:.4f})"
    ]
    for name, entry in terrain_seams.items():
        if "before" in entry:
            notes.append(
                f"{name} terrain seams {entry['before']} -> {entry.get('after')}"
                + (" (made seamless)" if entry.get("made_seamless") else "")
            )
    report["notes"] = [*report["notes"], *notes]
    if bad:
        listed = ", ".join(
            f"{s.first}|{s.second} ({s.axis}) {s.score:.3f}" for s in bad[:_LISTED_MISMATCHES]
        )
        more = f" and {len(bad) - _LISTED_MISMATCHES} more" if len(bad) > _LISTED_MISMATCHES else ""
        report["warnings"] = [
            *report["warnings"],
            f"{len(bad)} of {len(scores)} touching edge pairs do not match: {listed}{more}",
        ]
    return report
