"""The animation-sheet request: one character, N directions x M frames, one `sprite_sheet` job.

CLI `generate-sheet` and MCP `generate_sprite_sheet` both build their request here and submit
it through `Service.submit`, so the two doors ask for the same job and are checked the same
way (the directions against `SHEET_DIRECTIONS`, the sheet against the request caps in
admission). The template (`workflows/sprite_sheet.json`) grows one img2img frame per
direction and pose from a txt2img reference (`orchestrator.workflows.expansion`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from orchestrator.errors import InvalidRequest
from orchestrator.service.values import GenerationRequest, LoraSpec
from orchestrator.workflows import TemplateParameterError
from orchestrator.workflows.expansion import SHEET_DIRECTIONS, parse_directions

__all__ = [
    "DEFAULT_DIRECTIONS",
    "SHEET_DIRECTIONS",
    "SHEET_TEMPLATE",
    "sheet_request",
]

SHEET_TEMPLATE: Final[str] = "sprite_sheet"
DEFAULT_DIRECTIONS: Final[tuple[str, ...]] = ("down", "left", "right", "up")

# Named arguments that are also template parameters: given twice is a mistake.
_OWN = ("directions", "frames", "denoise", "turn_denoise", "frame_ms", "animation")


def _directions(value: str | Sequence[str]) -> str:
    text = value if isinstance(value, str) else ",".join(value)
    try:
        return ",".join(parse_directions(text))
    except TemplateParameterError as exc:
        raise InvalidRequest("directions", text, exc.reason) from exc


def sheet_request(
    prompt: str,
    *,
    directions: str | Sequence[str] = DEFAULT_DIRECTIONS,
    frames: int = 4,
    denoise: float | None = None,
    turn_denoise: float | None = None,
    frame_ms: int | None = None,
    animation: str | None = None,
    seed: int | None = None,
    size: tuple[int, int] | None = None,
    palette: str | None = None,
    loras: Sequence[LoraSpec] = (),
    params: Mapping[str, Any] | None = None,
    count: int = 1,
) -> GenerationRequest:
    """The request for `count` sheets of one character walking in `directions`.

    Args:
        prompt: The character, e.g. "a knight in blue armour".
        directions: Sheet rows, in order (`SHEET_DIRECTIONS`): a list or "down,left,...".
        frames: Frames per direction (the sheet's columns).
        denoise: img2img strength of later frames from their direction's first frame.
        turn_denoise: img2img strength of each further direction's first frame from frame 0.
        frame_ms: How long each frame shows.
        animation: The tags' prefix ("walk" gives walk_down, walk_left ...).
        seed: Seed of frame 0 (frame i uses seed+i); None draws one.
        size: Each frame's sprite size; None detects the one grid they share.
        palette: A palette name or file for every frame; None builds one from them all.
        loras: LoRAs for every sampler.
        params: Other `sprite_sheet` parameters (`steps`, `width`, `colors`, ...).
        count: How many sheets; sheet k's frame 0 uses seed+k (as `generate -n`).

    Raises:
        InvalidRequest: an unknown or repeated direction, or one of this function's
            arguments also given in `params`.
    """
    extra = dict(params or {})
    twice = sorted(set(extra) & set(_OWN))
    if twice:
        raise InvalidRequest(
            f"params.{twice[0]}", extra[twice[0]], f"give {twice[0]} as its own argument"
        )
    own: dict[str, Any] = {"directions": _directions(directions), "frames": frames}
    optional = {"denoise": denoise, "turn_denoise": turn_denoise, "frame_ms": frame_ms}
    own.update({k: v for k, v in {**optional, "animation": animation}.items() if v is not None})
    return GenerationRequest(
        template=SHEET_TEMPLATE,
        prompt=prompt,
        params={**extra, **own},
        count=count,
        seed=seed,
        loras=tuple(loras),
        palette=palette,
        size=size,
    )
