"""The values the `Service` API takes and returns (frozen dataclasses).

`GenerationRequest.to_params` is the one place a request becomes template parameters, so
every adapter (CLI, ZMQ, MCP, TUI) fills templates the same way.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.bounds import MAX_SEED, check_seed, check_size, parse_size
from orchestrator.errors import InvalidRequest

__all__ = [
    "MAX_COUNT",
    "MAX_SEED",
    "BackendInfo",
    "CompareVariant",
    "GenerationRequest",
    "LoraSpec",
    "ModelInfo",
    "check_seed",
    "parse_size",
]

MAX_COUNT = 256


@dataclass(frozen=True)
class LoraSpec:
    """A LoRA file name (as the backend lists it) and its strength."""

    name: str
    strength: float = 1.0

    @classmethod
    def parse(cls, text: str) -> LoraSpec:
        """`"name"` or `"name:0.8"` (the CLI's `--lora`).

        Raises:
            InvalidRequest: Empty name or a strength that is not a number.
        """
        name, sep, strength = text.rpartition(":")
        if not sep:
            name, strength = text, "1.0"
        try:
            value = float(strength)
        except ValueError as exc:
            raise InvalidRequest("lora", text, "expected NAME or NAME:STRENGTH") from exc
        spec = cls(name=name.strip(), strength=value)
        spec.check("lora")
        return spec

    def check(self, field_name: str) -> None:
        """Raise `InvalidRequest` on an empty name or a strength outside -10..10."""
        if not self.name:
            raise InvalidRequest(f"{field_name}.name", self.name, "must not be empty")
        if not -10.0 <= self.strength <= 10.0:
            raise InvalidRequest(f"{field_name}.strength", self.strength, "must be in -10..10")


@dataclass(frozen=True, kw_only=True)
class GenerationRequest:
    """What to generate. Typed fields win over the same keys in `params`.

    Attributes:
        template: Workflow template name (`dgx-pixels templates list`).
        prompt: What the sprite shows.
        params: Any other template parameter (`steps`, `cfg`, `colors` …).
        count: How many jobs (seeds `seed`, `seed+1` …).
        seed: First seed; random when None.
        loras: LoRAs to apply.
        palette: Palette name or .gpl/.hex path.
        size: True sprite size (W, H); None lets the grid detector decide.
        backend: Pin the jobs to this backend URL.
        add_triggers: Put each LoRA's trigger words (from its card) before the prompt.
    """

    template: str = "single_sprite"
    prompt: str
    params: Mapping[str, Any] = field(default_factory=dict)
    count: int = 1
    seed: int | None = None
    loras: tuple[LoraSpec, ...] = ()
    palette: str | None = None
    size: tuple[int, int] | None = None
    backend: str | None = None
    add_triggers: bool = True

    def check(self) -> None:
        """Fail fast on values no template could accept.

        Raises:
            InvalidRequest: Naming the field and the value.
        """
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InvalidRequest("prompt", self.prompt, "must be a non-empty string")
        if not isinstance(self.count, int) or not 1 <= self.count <= MAX_COUNT:
            raise InvalidRequest("count", self.count, f"must be an int in 1..{MAX_COUNT}")
        if self.seed is not None and check_seed(self.seed) + self.count - 1 > MAX_SEED:
            raise InvalidRequest(
                "count",
                self.count,
                f"seeds {self.seed}..{self.seed + self.count - 1} pass {MAX_SEED}; "
                "lower the seed or the count",
            )
        if not isinstance(self.params, Mapping):
            raise InvalidRequest("params", self.params, "must be a mapping of template parameters")
        for i, lora in enumerate(self.loras):
            lora.check(f"loras[{i}]")
        if self.size is not None:
            check_size(self.size, "size")

    def seeds(self, rng: random.Random | None = None) -> list[int]:
        """One seed per job: `seed, seed+1, …`, or a random start."""
        # A drawn seed stays below 2**32, as the templates draw theirs: short in file names.
        first = self.seed if self.seed is not None else (rng or random.Random()).randrange(2**32)
        return [first + i for i in range(self.count)]

    def to_params(self, seed: int) -> dict[str, Any]:
        """Template parameter values for the job with this seed."""
        values: dict[str, Any] = dict(self.params)
        values["prompt"] = self.prompt
        values["seed"] = seed
        if self.loras:
            values["loras"] = [{"name": x.name, "strength": x.strength} for x in self.loras]
        if self.palette is not None:
            values["palette"] = self.palette
        if self.size is not None:
            values["sprite_size"] = f"{self.size[0]}x{self.size[1]}"
        return values


@dataclass(frozen=True)
class CompareVariant:
    """One column of a comparison: a checkpoint and/or LoRA set.

    An empty `label` gets the service's rule (`orchestrator.service.compare.label_of`).
    """

    label: str = ""
    checkpoint: str | None = None
    loras: tuple[LoraSpec, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """A model file a backend can load.

    Attributes:
        name: File name as the backend lists it (what templates take).
        folder: `checkpoints` or `loras`.
        backend: URL of the backend that lists it.
        sha256: Hex digest when the file is local to this machine, else "".
        demo: True for the tiny random demo model (pictures are meaningless).
        triggers: A LoRA's trigger words, from its card (`training.registry`).
        card_error: Why a LoRA's card could not be read ("" when fine or absent).
    """

    name: str
    folder: str
    backend: str
    sha256: str = ""
    demo: bool = False
    triggers: tuple[str, ...] = ()
    card_error: str = ""


@dataclass(frozen=True)
class BackendInfo:
    """Health and figures of one backend as the pool last saw it.

    `done`/`failed` count the jobs this process ran there, `mean_job_s` their mean time from
    send to finished; `last_model` is the model key (checkpoint + LoRAs) of the last job
    sent there; `group` the engine group (`engine://<name>`) that lists it.
    """

    url: str
    healthy: bool
    queue_remaining: int
    in_flight: int
    kind: str
    last_error: str | None = None
    last_checked: float | None = None
    devices: tuple[str, ...] = ()
    group: str | None = None
    last_model: str | None = None
    done: int = 0
    failed: int = 0
    mean_job_s: float | None = None
