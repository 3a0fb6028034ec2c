"""The sidecar of a workflow template: its parameters and the node inputs they bind to.

A template is an API-format graph (`workflows/<name>.json`); its sidecar
(`workflows/sidecars/<name>.json`) names each parameter, its type, default, range and the
inputs it writes, as `"<node_id>.<input>"` or `{"target": ..., "format": "{value}, side"}`.
A `loras` parameter binds the inputs that consume the checkpoint loader's MODEL/CLIP; the
renderer threads a `LoraLoader` chain in front of exactly those inputs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Binding",
    "FrameExpansion",
    "ParamSpec",
    "ParamType",
    "TemplateSidecar",
    "parse_target",
]

ParamType = Literal["int", "float", "str", "bool", "enum", "loras", "size"]


def parse_target(target: str) -> tuple[str, str]:
    """`"12.text"` → `("12", "text")`.

    Raises:
        ValueError: the target is not `<node_id>.<input>`.
    """
    node_id, sep, input_name = target.partition(".")
    if not sep or not node_id or not input_name:
        raise ValueError(f"binding target {target!r} must look like '<node_id>.<input>'")
    return node_id, input_name


class Binding(BaseModel):
    """One node input a parameter writes; `format` wraps the value (`{value}` placeholder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str
    format: str | None = None

    @field_validator("target")
    @classmethod
    def _target_shape(cls, target: str) -> str:
        parse_target(target)
        return target

    @property
    def node_id(self) -> str:
        return parse_target(self.target)[0]

    @property
    def input(self) -> str:
        return parse_target(self.target)[1]


class ParamSpec(BaseModel):
    """One template parameter.

    Attributes:
        name: what callers pass (`prompt`, `seed`, `loras`, ...).
        type: int | float | str | bool | enum | loras | size.
        default: used when the caller gives nothing; None with `random_when_none` (seed)
            draws a value at render time and records it.
        min, max: inclusive range (int/float; per side for size).
        multiple_of: ints must be a multiple of this (latent sizes: 8).
        choices: the allowed values of an enum.
        description: one line for `templates show` and MCP tool schemas.
        binds: node inputs the value is written to.
        enables: output roles (of the sidecar's `outputs`) a bool switches on: when the
            value is false their nodes are left out of the graph, so nothing is encoded
            or written for them (e.g. `save_raw` enables the `raw` render).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: ParamType
    default: Any = None
    min: float | None = None
    max: float | None = None
    multiple_of: int | None = None
    choices: tuple[str, ...] | None = None
    description: str = ""
    random_when_none: bool = False
    binds: tuple[Binding, ...] = ()
    enables: tuple[str, ...] = ()

    @field_validator("binds", mode="before")
    @classmethod
    def _strings_are_targets(cls, binds: Any) -> Any:
        if isinstance(binds, list | tuple):
            return [{"target": b} if isinstance(b, str) else b for b in binds]
        return binds

    @model_validator(mode="after")
    def _enum_has_choices(self) -> ParamSpec:
        if self.type == "enum" and not self.choices:
            raise ValueError(f"parameter {self.name!r} is an enum without choices")
        if self.enables and self.type != "bool":
            raise ValueError(
                f"parameter {self.name!r} enables outputs {list(self.enables)} but is "
                f"{self.type}; only a bool parameter can switch outputs on and off"
            )
        return self


class FrameExpansion(BaseModel):
    """The nodes an animation sheet grows its frames from (`workflows.expansion`).

    Attributes:
        kind: The one expansion there is: `animation_frames`.
        reference_text: Frame 0's positive prompt (CLIPTextEncode).
        reference_sampler: Frame 0's KSampler (txt2img; its latent feeds the others).
        frame_text: The prototype frame's positive prompt.
        frame_sampler: The prototype frame's KSampler (img2img from frame 0's latent).
        frame_decode: The prototype frame's VAEDecode.
        batch: The ImageBatch joining frame 0 (`image1`) and the prototype (`image2`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["animation_frames"] = "animation_frames"
    reference_text: str
    reference_sampler: str
    frame_text: str
    frame_sampler: str
    frame_decode: str
    batch: str

    def nodes(self) -> dict[str, str]:
        """Role -> node id of every node named here."""
        return {k: v for k, v in self.model_dump().items() if k != "kind"}


class TemplateSidecar(BaseModel):
    """A template's parameter sheet and which output nodes play which role."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["dgxp_template_sidecar"] = "dgxp_template_sidecar"
    version: Literal[1] = 1
    name: str
    description: str = ""
    # Role ("sprite", "raw", "preview", "frames", "atlas", "report", "base", ...) → node id.
    outputs: dict[str, str] = Field(default_factory=dict)
    parameters: tuple[ParamSpec, ...]
    # Grows the graph at render time (animation sheets); None renders the graph as is.
    expand: FrameExpansion | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> TemplateSidecar:
        names = [p.name for p in self.parameters]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"parameters defined twice: {', '.join(duplicates)}")
        return self
