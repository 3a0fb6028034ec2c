"""The demo checkpoint: a small random-weight SDXL-shaped file so everything runs without weights.

`dgx-pixels models demo` writes `checkpoints/DEMO-random-weights-sdxl.safetensors` into the
models folder. It has the real single-file key layout (so it loads through exactly the
path a real SDXL file takes) but tiny widths, and no attention in the two top UNet levels
so a 1024² picture (128² latent) samples on a 2-core CPU in seconds. Its safetensors
metadata carries `dgxpixels.demo=true`; the loader and the samplers then warn that the
pictures are meaningless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.models.architecture import infer_architecture
from engine.models.checkpoint import DEMO_METADATA_KEY, read_header
from engine.models.synthetic import SyntheticSpec, build_state_dict

__all__ = ["DEMO_FILENAME", "DEMO_SPEC", "STAGES", "DemoResult", "write_demo_checkpoint"]

log = logging.getLogger(__name__)

DEMO_FILENAME = "DEMO-random-weights-sdxl.safetensors"

DEMO_SPEC = SyntheticSpec(
    model_channels=32,
    # 64 channels below the top level: GroupNorm(32) needs 2+ values per group even when a
    # 16-32 px picture shrinks to 1x1 there.
    channel_mult=(1, 2, 2),
    num_res_blocks=1,
    transformer_depth=(0, 0, 1),  # attention only at 1/4 resolution: 1024² stays cheap on a CPU
    clip_l_width=32,
    clip_g_width=32,
    clip_l_layers=2,
    clip_g_layers=2,
    vae_channels=(32, 32, 32, 32),  # 32 is GroupNorm's floor; the VAE dominates a CPU 1024² run
    vae_layers=1,
    seed=20240,
    metadata={
        DEMO_METADATA_KEY: "true",
        "modelspec.title": "DGX-Pixels DEMO (random weights)",
        "dgxpixels.note": "random weights: generated pictures are meaningless noise",
    },
)

# Stages reported to `on_stage`, in order.
STAGES = ("build random weights", "write file", "verify it loads as SDXL")


@dataclass(frozen=True)
class DemoResult:
    """Where the demo checkpoint is and whether this call wrote it."""

    path: Path
    written: bool
    size_bytes: int


def write_demo_checkpoint(
    models_dir: Path,
    overwrite: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> DemoResult:
    """Write the demo checkpoint into `models_dir/checkpoints/`.

    Args:
        models_dir: The ComfyUI-style models folder (created if missing).
        overwrite: Replace an existing demo file.
        on_stage: Called with each entry of `STAGES` as it starts (for a progress bar).

    Returns:
        The path, whether it was written now, and its size.
    """
    from safetensors.torch import save_file

    path = models_dir / "checkpoints" / DEMO_FILENAME
    if path.is_file() and not overwrite:
        return DemoResult(path, False, path.stat().st_size)
    report = on_stage or (lambda stage: None)
    report(STAGES[0])
    tensors = build_state_dict(DEMO_SPEC, torch.float16)
    report(STAGES[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    save_file(tensors, str(tmp), metadata=dict(DEMO_SPEC.metadata))
    report(STAGES[2])
    shapes, _ = read_header(tmp)
    infer_architecture(shapes, tmp.name)
    tmp.replace(path)
    log.warning("wrote %s: random weights, its pictures are meaningless", path)
    return DemoResult(path, True, path.stat().st_size)
