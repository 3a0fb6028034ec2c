"""Graph expansion: one template graph grown into the frames of an animation sheet.

The `sprite_sheet` template holds two frames as data: frame 0 (txt2img, the reference that
fixes the character) and one prototype img2img frame that starts from frame 0's latent,
joined by core `ImageBatch` into the sheet node. Its sidecar's `expand` names those nodes.
`expand_frames` turns the prototype into every frame of `directions` x `frames`:

- frame 0 of the first direction is the reference, as rendered;
- frame 0 of every other direction starts from the reference's latent at `turn_denoise`
  (enough freedom to turn the character round);
- every later frame of a direction starts from that direction's frame 0 at `denoise`
  (the same character, with a new pose);
- each frame's prompt is the shared prompt plus its direction and walk phase, its seed
  the job's seed plus its index (a seed family: seed, seed+1, ...);
- the decoded frames are joined, in sheet order, by a chain of `ImageBatch` nodes, and
  whatever read the template's batch reads the whole chain.

Only ComfyUI core nodes are added, so the expanded graph runs in a real ComfyUI as one
prompt. The vocabulary of directions is `SHEET_DIRECTIONS`; pure, no I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from orchestrator.workflows.errors import TemplateDefinitionError, TemplateParameterError
from orchestrator.workflows.sidecar import FrameExpansion

__all__ = [
    "EXPANSION_PARAMETERS",
    "SHEET_DIRECTIONS",
    "WALK_PHASES",
    "check_expansion",
    "expand_frames",
    "frame_count",
    "frame_pose",
    "parse_directions",
]

SHEET_DIRECTIONS: Final[Mapping[str, str]] = {
    "down": "facing the viewer, front view",
    "left": "facing left, side view",
    "right": "facing right, side view",
    "up": "facing away from the viewer, back view",
    "down_left": "facing down-left, three-quarter front view",
    "down_right": "facing down-right, three-quarter front view",
    "up_left": "facing up-left, three-quarter back view",
    "up_right": "facing up-right, three-quarter back view",
}
"""Every direction a sheet row can face, with the words its frames are prompted with."""

WALK_PHASES: Final[tuple[str, ...]] = (
    "walking, left foot forward",
    "walking, legs passing",
    "walking, right foot forward",
    "walking, legs passing",
)
"""A walk cycle in four key poses; N frames sample it evenly."""

EXPANSION_PARAMETERS: Final[tuple[str, ...]] = (
    "directions",
    "frames",
    "denoise",
    "turn_denoise",
    "seed",
)
"""The template parameters an expansion reads (checked when the template loads)."""

_SEED_SPAN = 1 << 64  # ComfyUI's seed range: a family past 2**64-1 wraps round
_MAX_DIRECTIONS = len(SHEET_DIRECTIONS)


def parse_directions(text: object) -> tuple[str, ...]:
    """`"down,left,right,up"` -> `("down", "left", "right", "up")`.

    Raises:
        TemplateParameterError: not text, empty, an unknown or repeated direction.
    """
    if not isinstance(text, str):
        raise TemplateParameterError("directions", text, "must be text like 'down,left,right,up'")
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    if not 1 <= len(names) <= _MAX_DIRECTIONS:
        raise TemplateParameterError(
            "directions", text, f"must name 1..{_MAX_DIRECTIONS} directions, e.g. 'down,up'"
        )
    unknown = [n for n in names if n not in SHEET_DIRECTIONS]
    if unknown:
        raise TemplateParameterError(
            "directions",
            text,
            f"{', '.join(unknown)} unknown; valid: {', '.join(SHEET_DIRECTIONS)}",
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise TemplateParameterError("directions", text, f"{', '.join(repeated)} given twice")
    return names


def frame_count(values: Mapping[str, Any]) -> int:
    """Frames a sheet of these (resolved) values renders: directions x frames."""
    return len(parse_directions(values.get("directions"))) * int(values.get("frames", 1))


def frame_pose(direction: str, frame: int, frames: int) -> str:
    """The words that make frame `frame` of `frames` of a row facing `direction`."""
    phase = WALK_PHASES[frame * len(WALK_PHASES) // frames] if frames > 1 else "standing"
    return f"{SHEET_DIRECTIONS[direction]}, {phase}"


def check_expansion(graph: Mapping[str, Any], spec: FrameExpansion, params: set[str]) -> None:
    """Raise `TemplateDefinitionError` unless the nodes and parameters `spec` needs exist."""
    for role, node_id in spec.nodes().items():
        if not isinstance(graph.get(node_id), dict):
            raise TemplateDefinitionError(
                f"expand.{role} names node {node_id!r}, which is not in the graph"
            )
    missing = sorted(set(EXPANSION_PARAMETERS) - params)
    if missing:
        raise TemplateDefinitionError(f"expand needs the parameters {', '.join(missing)}")
    image1 = graph[spec.batch]["inputs"].get("image1")
    if not (isinstance(image1, list) and len(image1) == 2):
        raise TemplateDefinitionError(
            f"expand.batch node {spec.batch!r} must read frame 0 on image1, found {image1!r}"
        )


def _next_id(graph: Mapping[str, Any]) -> int:
    return max((int(k) for k in graph if str(k).isdigit()), default=0) + 1


def _add(graph: dict[str, Any], node: dict[str, Any], node_id: str | None) -> str:
    new_id = node_id if node_id is not None else str(_next_id(graph))
    graph[new_id] = node
    return new_id


def _frame_nodes(
    graph: dict[str, Any],
    proto: dict[str, dict[str, Any]],
    text: str,
    seed: int,
    source: list[Any],
    denoise: float,
    ids: dict[str, str] | None,
) -> tuple[str, str]:
    """One img2img frame from the prototype's nodes; returns (sampler id, decode id)."""
    own = ids or {}
    encoder = copy.deepcopy(proto["text"])
    encoder["inputs"]["text"] = text
    text_id = _add(graph, encoder, own.get("text"))
    sampler = copy.deepcopy(proto["sampler"])
    sampler["inputs"].update(seed=seed, latent_image=source, denoise=denoise, positive=[text_id, 0])
    sampler_id = _add(graph, sampler, own.get("sampler"))
    decode = copy.deepcopy(proto["decode"])
    decode["inputs"]["samples"] = [sampler_id, 0]
    return sampler_id, _add(graph, decode, own.get("decode"))


def _readers(graph: Mapping[str, Any], node_id: str) -> list[tuple[str, str]]:
    """(node, input) pairs linked to output 0 of `node_id`."""
    return [
        (reader, name)
        for reader, node in graph.items()
        for name, value in node.get("inputs", {}).items()
        if isinstance(value, list) and len(value) == 2 and [str(value[0]), value[1]] == [node_id, 0]
    ]


def expand_frames(graph: dict[str, Any], values: Mapping[str, Any], spec: FrameExpansion) -> None:
    """Grow the prototype frame into every frame of the sheet, in place (module doc).

    Args:
        graph: The rendered graph (values bound, LoRA chain threaded).
        values: The resolved template values (`directions`, `frames`, `denoise`,
            `turn_denoise`, `seed`).
        spec: Which nodes are the reference and the prototype frame.

    Raises:
        TemplateParameterError: unknown or repeated directions.
    """
    directions = parse_directions(values["directions"])
    frames = int(values["frames"])
    seed = int(values["seed"])
    base_text = str(graph[spec.reference_text]["inputs"]["text"])
    graph[spec.reference_text]["inputs"]["text"] = (
        f"{base_text}, {frame_pose(directions[0], 0, frames)}"
    )
    proto = {
        "text": graph.pop(spec.frame_text),
        "sampler": graph.pop(spec.frame_sampler),
        "decode": graph.pop(spec.frame_decode),
    }
    readers = _readers(graph, spec.batch)  # the sheet node: it will read the whole chain
    batch = graph.pop(spec.batch)
    joined: list[Any] = list(batch["inputs"]["image1"])  # frame 0's picture
    reused: dict[str, str] | None = {
        "text": spec.frame_text, "sampler": spec.frame_sampler, "decode": spec.frame_decode,
        "batch": spec.batch,
    }  # fmt: skip
    row_start = [spec.reference_sampler, 0]
    for index in range(1, len(directions) * frames):
        direction, frame = directions[index // frames], index % frames
        if frame == 0:
            source, denoise = [spec.reference_sampler, 0], float(values["turn_denoise"])
        else:
            source, denoise = list(row_start), float(values["denoise"])
        text = f"{base_text}, {frame_pose(direction, frame, frames)}"
        sampler_id, decode_id = _frame_nodes(
            graph, proto, text, (seed + index) % _SEED_SPAN, source, denoise, reused
        )
        if frame == 0:
            row_start = [sampler_id, 0]
        node = {**copy.deepcopy(batch), "inputs": {"image1": joined, "image2": [decode_id, 0]}}
        joined = [_add(graph, node, reused["batch"] if reused else None), 0]
        reused = None  # the first frame keeps the template's ids; later ones get new ids
    for reader, name in readers:
        graph[reader]["inputs"][name] = list(joined)
