"""The corner-set (autotile) request: two terrains in, one `autotile` template job.

CLI `generate-autotile` and MCP `generate_autotile` both build their request here and
submit it through `Service.submit`, so the two doors ask for the same job. The template
(`workflows/autotile.json`) renders both terrains, the 16 tiles, the atlas, its layout,
a random map and the edge report; its index convention is `comfy_nodes.pixel.wang`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from orchestrator.errors import InvalidRequest
from orchestrator.service.values import GenerationRequest, LoraSpec

__all__ = ["AUTOTILE_TEMPLATE", "autotile_request"]

AUTOTILE_TEMPLATE: Final[str] = "autotile"


def _terrain(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(name, value, "must name a terrain, e.g. 'grass' or 'water'")
    return value.strip()


def autotile_request(
    lower: str,
    upper: str,
    *,
    seed: int | None = None,
    size: tuple[int, int] | None = None,
    palette: str | None = None,
    loras: Sequence[LoraSpec] = (),
    params: Mapping[str, Any] | None = None,
) -> GenerationRequest:
    """The request for a 16-tile corner set of `lower` (0-corners) and `upper` terrain.

    Args:
        lower: The base terrain, e.g. "grass".
        upper: The terrain laid over it, e.g. "water".
        seed: Seed of the three samplers; None draws one.
        size: Each finished tile's size (the atlas is 4x4 of them); None: the template's.
        palette: A palette name or file for all 16 tiles; None: one built from them.
        loras: LoRAs for every sampler.
        params: Other `autotile` template parameters (`steps`, `blend_denoise`, ...).

    Raises:
        InvalidRequest: an empty terrain, or `upper_terrain` also given in `params`.
    """
    extra = dict(params or {})
    if "upper_terrain" in extra:
        raise InvalidRequest(
            "params.upper_terrain", extra["upper_terrain"], "give the upper terrain as `upper`"
        )
    return GenerationRequest(
        template=AUTOTILE_TEMPLATE,
        prompt=_terrain("lower", lower),
        params={**extra, "upper_terrain": _terrain("upper", upper)},
        seed=seed,
        loras=tuple(loras),
        palette=palette,
        size=size,
    )
