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
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from comfy_nodes.pixel.atomic import atomic_path
from engine.errors import ModelLoadError
from engine.models.architecture import infer_architecture
from engine.models.checkpoint import DEMO_METADATA_KEY, read_header
from engine.models.synthetic import SDXL_BASE_SPEC, SyntheticSpec, build_state_dict

__all__ = [
    "DEMO_FILENAME",
    "DEMO_SPEC",
    "FULLSIZE_FILENAME",
    "FULLSIZE_SPEC",
    "STAGES",
    "DemoResult",
    "write_demo_checkpoint",
    "write_fullsize_demo_checkpoint",
]

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

FULLSIZE_FILENAME = "DEMO-random-weights-sdxl-fullsize.safetensors"

# The real SDXL base 1.0 layout and sizes (3.5 B parameters, ~7 GB in fp16): for measuring
# real-size generation end to end on a GPU box that has no weights (`models demo --full-size`).
FULLSIZE_SPEC = replace(
    SDXL_BASE_SPEC,
    seed=20241,
    metadata={
        DEMO_METADATA_KEY: "true",
        "modelspec.title": "DGX-Pixels DEMO full-size SDXL (random weights)",
        "dgxpixels.note": "random weights at real SDXL sizes: for speed measurements only; "
        "generated pictures are meaningless noise",
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
    with atomic_path(path) as tmp:  # a half-written checkpoint never carries the name
        save_file(tensors, str(tmp), metadata=dict(DEMO_SPEC.metadata))
        report(STAGES[2])
        shapes, _ = read_header(tmp)
        infer_architecture(shapes, path.name)
    log.warning("wrote %s: random weights, its pictures are meaningless", path)
    return DemoResult(path, True, path.stat().st_size)


def write_fullsize_demo_checkpoint(
    models_dir: Path,
    overwrite: bool = False,
    device: str = "auto",
    on_progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Write the full-size random SDXL checkpoint into `models_dir/checkpoints/`.

    Tensors are drawn on CUDA when present and streamed into the file one at a time (see
    `engine.models.streaming`), so ~7 GB take seconds on a GPU box and little RAM. The
    written header is checked to infer as SDXL (the file is removed if it does not).

    Args:
        models_dir: The ComfyUI-style models folder (created if missing).
        overwrite: Replace an existing file.
        device: Where random numbers are drawn ("auto", "cpu", "cuda").
        on_progress: Called with (bytes written, total bytes).
    """
    from engine.models.streaming import stream_checkpoint

    path = models_dir / "checkpoints" / FULLSIZE_FILENAME
    if path.is_file() and not overwrite:
        return DemoResult(path, False, path.stat().st_size)
    stream_checkpoint(path, FULLSIZE_SPEC, torch.float16, device, on_progress)
    try:
        shapes, _ = read_header(path)
        infer_architecture(shapes, path.name)
    except ModelLoadError:
        path.unlink(missing_ok=True)  # a broken file must not sit under a checkpoint name
        raise
    log.warning("wrote %s: full-size random weights, its pictures are meaningless", path)
    return DemoResult(path, True, path.stat().st_size)
