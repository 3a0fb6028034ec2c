"""What a job does: the one vocabulary of job kinds.

A `generate` job renders a workflow template on a ComfyUI-compatible backend; a `train` job
trains a LoRA in the process that runs it (the daemon's trainer thread). Both live in the
same store, under the same states, claims and leases; a worker only ever claims its kind.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["JobKind"]


class JobKind(StrEnum):
    """What a job does (stored in the `kind` column since schema 4)."""

    GENERATE = "generate"
    TRAIN = "train"
