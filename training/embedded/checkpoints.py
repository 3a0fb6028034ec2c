"""Training checkpoints: `work_dir/checkpoints/step-NNNNNNNN/` folders, each published whole.

A checkpoint holds the adapter weights (`lora.safetensors`, float32), the optimiser state
(`optimizer.pt`) and `state.json` (step, losses so far, what the run was). It is written
with `write_folder_atomic`, so a folder under a `step-…` name is always complete; a kill -9
or a full disk mid-write leaves only a hidden staging folder, which is removed. The two
newest checkpoints are kept. The random draws of a step are a function of (seed, step), so
the step number is the whole RNG state a resumed run needs.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import torch

from comfy_nodes.pixel.atomic import write_folder_atomic
from training.errors import CheckpointError

__all__ = [
    "CHECKPOINTS_DIR",
    "Checkpoint",
    "clear_checkpoints",
    "latest_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]

log = logging.getLogger(__name__)

CHECKPOINTS_DIR: Final[str] = "checkpoints"
_NAME: Final = re.compile(r"^step-(\d{8})$")
_KEEP: Final[int] = 2


@dataclass(frozen=True)
class Checkpoint:
    """A complete checkpoint on disk."""

    step: int
    folder: Path
    state: dict[str, Any]


def _folder(work_dir: Path) -> Path:
    return work_dir / CHECKPOINTS_DIR


def _complete(work_dir: Path) -> list[tuple[int, Path]]:
    root = _folder(work_dir)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def save_checkpoint(
    work_dir: Path,
    step: int,
    lora_state: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any],
    state: dict[str, Any],
) -> Path:
    """Publish the checkpoint of `step` and drop all but the newest two.

    Raises:
        CheckpointError: the write failed (a full disk, say); nothing of it is left and the
            previous checkpoints are untouched.
    """
    from safetensors.torch import save

    buffer = io.BytesIO()
    torch.save(optimizer_state, buffer)
    files = {
        "lora.safetensors": save(lora_state),
        "optimizer.pt": buffer.getvalue(),
        "state.json": json.dumps({**state, "step": step}, indent=2).encode("utf-8"),
    }
    target = _folder(work_dir) / f"step-{step:08d}"
    try:
        write_folder_atomic(files, target)
    except OSError as exc:
        previous = _complete(work_dir)
        kept = f"the checkpoint of step {previous[-1][0]} is intact" if previous else "none kept"
        why = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        reason = f"writing the step {step} checkpoint failed: {why}; {kept}; free space and resume"
        raise CheckpointError("work_dir", str(work_dir), reason) from exc
    for _, old in _complete(work_dir)[:-_KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    log.info("checkpoint saved at step %d: %s", step, target)
    return target


def latest_checkpoint(work_dir: Path) -> Checkpoint | None:
    """The newest complete checkpoint in `work_dir`, or None.

    Raises:
        CheckpointError: its state.json is unreadable (a damaged disk: say which folder).
    """
    found = _complete(work_dir)
    if not found:
        return None
    step, folder = found[-1]
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = f"its state.json is unreadable ({exc}); delete the folder to resume earlier"
        raise CheckpointError("checkpoint", str(folder), reason) from exc
    return Checkpoint(step, folder, state)


def load_checkpoint(checkpoint: Checkpoint) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(adapter tensors, optimiser state) of a checkpoint.

    Raises:
        CheckpointError: a file of it is missing or unreadable.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(checkpoint.folder / "lora.safetensors"))
        optimizer = torch.load(checkpoint.folder / "optimizer.pt", weights_only=True)
    except (OSError, SafetensorError, RuntimeError, ValueError) as exc:
        reason = f"unreadable ({exc}); delete the folder to resume from an earlier one"
        raise CheckpointError("checkpoint", str(checkpoint.folder), reason) from exc
    return tensors, optimizer


def clear_checkpoints(work_dir: Path) -> int:
    """Remove every checkpoint of an earlier run (a fresh start); returns how many."""
    root = _folder(work_dir)
    count = len(_complete(work_dir))
    if root.is_dir():
        shutil.rmtree(root)
    return count
