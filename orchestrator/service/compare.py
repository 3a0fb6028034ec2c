"""The comparison label rule: how each column of a model comparison is named.

Every adapter (CLI, ZMQ, MCP, TUI) shows the same labels because the service gives them:
a variant's own label, else its checkpoint and LoRA names joined with `+` (file stems,
`tiny_sdxl+pixel_style`), else `base` (the template's checkpoint, no LoRA). Labels must
be unique, so two columns are never confused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from orchestrator.errors import InvalidRequest
from orchestrator.jobs.models import Job
from orchestrator.service.values import CompareVariant

__all__ = ["BASE_LABEL", "ComparedJob", "Comparison", "label_of", "labelled"]

BASE_LABEL = "base"
MAX_LABEL = 200


def _stem(name: str) -> str:
    """`loras/pixel_style.safetensors` -> `pixel_style` (what a person calls the file)."""
    return PurePosixPath(name.replace("\\", "/")).stem or name


def label_of(variant: CompareVariant) -> str:
    """The variant's label: its own, else its model names joined, else `base`."""
    own = variant.label.strip()
    if own:
        return own
    parts = [_stem(variant.checkpoint)] if variant.checkpoint else []
    parts += [_stem(lora.name) for lora in variant.loras]
    return "+".join(parts) or BASE_LABEL


def labelled(variants: Sequence[CompareVariant]) -> list[CompareVariant]:
    """The variants with their labels filled in by `label_of`.

    Raises:
        InvalidRequest: Two variants end up with one label (`variants[i].label`), or a
            label is too long.
    """
    seen: dict[str, int] = {}
    out = []
    for i, variant in enumerate(variants):
        label = label_of(variant)
        if len(label) > MAX_LABEL:
            raise InvalidRequest(f"variants[{i}].label", label, f"is over {MAX_LABEL} characters")
        if label in seen:
            raise InvalidRequest(
                f"variants[{i}].label",
                label,
                f"is also the label of variants[{seen[label]}]; give each variant its own label",
            )
        seen[label] = i
        out.append(replace(variant, label=label))
    return out


@dataclass(frozen=True)
class ComparedJob:
    """One column of a comparison: its label and its job."""

    label: str
    job: Job


@dataclass(frozen=True)
class Comparison:
    """What `Service.compare` queued: one labelled job per variant, in variant order."""

    entries: tuple[ComparedJob, ...]

    @property
    def jobs(self) -> list[Job]:
        """The jobs, in variant order."""
        return [entry.job for entry in self.entries]

    @property
    def labels(self) -> list[str]:
        """The labels, in variant order."""
        return [entry.label for entry in self.entries]
