"""Typed replies of ComfyUI's HTTP API (frozen dataclasses built from the JSON answers)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HistoryEntry",
    "OutputImage",
    "PromptResult",
    "QueueState",
    "SubmitResult",
    "SystemStats",
    "UploadResult",
    "parse_version",
]


@dataclass(frozen=True)
class SubmitResult:
    """POST /prompt accepted the graph. `node_errors` may list dropped outputs even so."""

    prompt_id: str
    number: float
    node_errors: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryEntry:
    """One finished prompt as `/history/{id}` reports it."""

    prompt_id: str
    outputs: dict[str, dict[str, Any]]
    status_str: str
    completed: bool
    messages: list[tuple[str, dict[str, Any]]]

    @property
    def succeeded(self) -> bool:
        return self.status_str == "success"

    def message(self, kind: str) -> dict[str, Any] | None:
        """The data of the first status message of `kind` (e.g. `execution_error`)."""
        for name, data in self.messages:
            if name == kind:
                return data
        return None


@dataclass(frozen=True)
class UploadResult:
    """Where POST /upload/image stored a file: use `path` as LoadImage's `image` value."""

    name: str
    subfolder: str
    type: str

    @property
    def path(self) -> str:
        return f"{self.subfolder}/{self.name}" if self.subfolder else self.name


@dataclass(frozen=True)
class QueueState:
    """Prompt ids running now and waiting, in the backend's order."""

    running: tuple[str, ...]
    pending: tuple[str, ...]

    @property
    def load(self) -> int:
        """How busy the backend is: running plus pending prompts."""
        return len(self.running) + len(self.pending)


@dataclass(frozen=True)
class SystemStats:
    """`/system_stats`: health, versions and devices."""

    comfyui_version: str
    python_version: str
    pytorch_version: str
    devices: tuple[dict[str, Any], ...]
    raw: dict[str, Any]

    @property
    def version(self) -> tuple[int, ...]:
        """`"0.3.64"` → `(0, 3, 64)`; `()` when the backend reports none."""
        return parse_version(self.comfyui_version)

    @property
    def is_embedded_engine(self) -> bool:
        """True for DGX-Pixels' own engine (it adds `system.engine`)."""
        system = self.raw.get("system")
        return isinstance(system, dict) and "dgx-pixels" in str(system.get("engine", ""))


def parse_version(text: str) -> tuple[int, ...]:
    """Leading numeric parts of a version string (`"v0.3.64-rc1"` → `(0, 3, 64)`)."""
    parts: list[int] = []
    for piece in text.strip().lstrip("v").split("."):
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@dataclass(frozen=True)
class PromptResult:
    """A prompt that ran to the end on the backend.

    Attributes:
        prompt_id: the id the backend ran it under.
        outputs: `{node_id: ui dict}` as history reports (images, text, ...).
        status: ComfyUI's `status_str` (`success`).
        messages: the status messages from history (`execution_start`, ...).
        reconnects: how many times the event stream was re-opened while waiting.
    """

    prompt_id: str
    outputs: dict[str, dict[str, Any]]
    status: str
    messages: list[tuple[str, dict[str, Any]]]
    reconnects: int = 0

    def images(self) -> list[tuple[str, dict[str, Any]]]:
        """`(node_id, image_ref)` for every image output, in node order."""
        return [
            (node_id, ref)
            for node_id, ui in self.outputs.items()
            for ref in ui.get("images", [])
            if isinstance(ref, dict)
        ]


@dataclass(frozen=True)
class OutputImage:
    """An output file fetched through `/view`."""

    node_id: str
    filename: str
    subfolder: str
    type: str
    data: bytes
