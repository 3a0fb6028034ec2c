"""Argument types shared by the MCP tools (descriptions become the tools' JSON schema)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from orchestrator.adapters.mcp.views import LoraArg
from orchestrator.errors import InvalidRequest
from orchestrator.service.values import MAX_SEED, LoraSpec, parse_size

__all__ = [
    "Checkpoint",
    "Colors",
    "ExtraParams",
    "JobId",
    "Loras",
    "Palette",
    "Prompt",
    "Seed",
    "Size",
    "Steps",
    "TimeoutS",
    "Wait",
    "lora_specs",
    "size_arg",
]

Prompt = Annotated[
    str,
    Field(min_length=1, max_length=2000, description="What to draw, e.g. 'a red health potion'."),
]
Size = Annotated[
    str,
    Field(
        max_length=16,
        description="True sprite size 'WxH' (each side 1..1024, e.g. '32x32'), or 'auto' to "
        "let the grid detector decide.",
    ),
]
Palette = Annotated[
    str | None,
    Field(
        default=None,
        max_length=200,
        description="Palette name from list_palettes (e.g. 'pico-8'), or None for an "
        "automatic palette.",
    ),
]
Loras = Annotated[
    list[LoraArg] | None,
    Field(default=None, max_length=8, description="LoRAs from list_loras, with strengths."),
]
Seed = Annotated[
    int | None,
    Field(
        default=None,
        ge=0,
        le=MAX_SEED,
        description="Seed 0..2**64-1; the same seed gives the same sprite (None: random).",
    ),
]
Checkpoint = Annotated[
    str | None, Field(default=None, max_length=300, description="Checkpoint from list_models.")
]
Steps = Annotated[int | None, Field(default=None, ge=1, le=150, description="Sampler steps.")]
Colors = Annotated[
    int | None, Field(default=None, ge=2, le=256, description="Colours when no palette is given.")
]
Wait = Annotated[
    bool,
    Field(
        default=True,
        description="Wait for the sprite (with progress notifications); False returns the "
        "job id at once (follow it with job_status).",
    ),
]
TimeoutS = Annotated[
    float,
    Field(
        default=600.0,
        gt=0,
        le=3600,
        description="Stop waiting after this many seconds (the job keeps running).",
    ),
]
ExtraParams = Annotated[
    dict[str, Any] | None,
    Field(
        default=None,
        description="Other template parameters by name (cfg, sampler, width, height …; see "
        "list_templates). Unknown names are refused.",
    ),
]
JobId = Annotated[str, Field(min_length=1, max_length=64, description="A job id.")]


def size_arg(size: str, field_name: str = "size") -> tuple[int, int] | None:
    """`'auto'` -> None, `'32x32'` -> (32, 32).

    Raises:
        InvalidRequest: Anything else, or a side outside 1..1024.
    """
    if size.strip().lower() == "auto":
        return None
    if not size.strip():
        raise InvalidRequest(field_name, size, "expected 'auto' or WIDTHxHEIGHT, e.g. 32x32")
    return parse_size(size, field_name)


def lora_specs(loras: list[LoraArg] | None) -> tuple[LoraSpec, ...]:
    """The service's LoRA values from the tool's arguments."""
    return tuple(LoraSpec(name=lora.name, strength=lora.strength) for lora in loras or [])
