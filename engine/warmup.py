"""Warm the engine up at start: load a checkpoint and run each configured shape once.

With compile on, the first prompt of each latent shape compiles the UNet and VAE decoder
for minutes; `engine serve --warmup 1024x1024[,WxH[xB]…]` pays that before the server
listens, and the persistent caches (`engine.models.compile_cache`) make a second start on
the same machine cheap. With compile off it still loads the checkpoint and runs one step
per shape (CUDA context, cuBLAS/cuDNN plans), so the first user prompt is at full speed.

1. `parse_warmup_shapes` reads the flag; each shape must be a multiple of 8, >= 16 px, and
   within the engine's pixel cap.
2. `plan_warmup` picks the checkpoint (the one named, or the only one in models/) and, on a
   GPU, refuses a shape whose estimated memory does not fit the free VRAM, naming it.
3. `run_warmup` runs one small API prompt per shape through a `PromptExecutor` on the
   engine's registry and context, reporting progress after each.

Every refusal is a `WarmupRefused` raised before the server listens.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.context import EngineContext, bind_engine_context
from engine.errors import WarmupRefused
from engine.graph.events import NullSink
from engine.graph.registry import NodeRegistry
from engine.limits import EngineLimits

__all__ = [
    "GIB_PER_MEGAPIXEL",
    "WarmupPlan",
    "WarmupProgress",
    "WarmupShape",
    "check_fits",
    "estimate_bytes",
    "parse_warmup_shapes",
    "plan_from_flags",
    "plan_warmup",
    "run_warmup",
    "warmup_graph",
]

logger = logging.getLogger(__name__)

# GPU memory one 1024² image needs beyond the weights while it denoises (CFG doubles the
# UNet batch) and decodes: SDXL fp16 peaked at 21.1 GiB for batch 8 with ~6.6 GiB of
# weights on an H200 (issue 14), about 1.8 GiB per image; rounded up for headroom.
GIB_PER_MEGAPIXEL = 2.0
_SHAPE = re.compile(r"^(\d+)x(\d+)(?:x(\d+))?$")
_STEPS = 1  # one UNet call per shape compiles its graph; more would only cost time
# (shapes done, shapes in all, what runs now) after the checkpoint load and each shape.
WarmupProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class WarmupShape:
    """One latent shape to warm: image width, height and batch size."""

    width: int
    height: int
    batch: int = 1

    def __str__(self) -> str:
        return f"{self.width}x{self.height}" + (f"x{self.batch}" if self.batch != 1 else "")

    @property
    def megapixels(self) -> float:
        """Pixels of the whole batch in units of one 1024² image."""
        return self.width * self.height * self.batch / float(1024 * 1024)


@dataclass(frozen=True)
class WarmupPlan:
    """What `run_warmup` does: the checkpoint (its file name as nodes see it) and shapes."""

    checkpoint: str
    path: Path
    shapes: tuple[WarmupShape, ...]


def parse_warmup_shapes(text: str, limits: EngineLimits | None = None) -> tuple[WarmupShape, ...]:
    """Shapes from `WxH[xB]` items separated by commas, e.g. "1024x1024,768x1344x4".

    Raises:
        WarmupRefused: An item that is not `WxH[xB]`, a side that is not a multiple of 8 or
            is under 16, a batch under 1, or a shape over `limits.max_pixels`; the message
            names the item.
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise WarmupRefused(f"--warmup {text!r} names no shape; give e.g. 1024x1024")
    shapes = []
    for item in items:
        match = _SHAPE.match(item.lower())
        if match is None:
            raise WarmupRefused(
                f"--warmup shape {item!r} is not WxH or WxHxB; give e.g. 1024x1024 or 1024x1024x8"
            )
        width, height, batch = int(match[1]), int(match[2]), int(match[3] or 1)
        if width % 8 or height % 8 or min(width, height) < 16 or batch < 1:
            raise WarmupRefused(
                f"--warmup shape {item!r}: width and height must be multiples of 8 and at "
                "least 16, the batch at least 1 (SDXL latents are 1/8 of the image)"
            )
        if limits is not None:
            try:
                limits.check_pixels(width, height, batch, f"--warmup shape {item!r}")
            except Exception as exc:  # LimitExceeded: said again as a warm-up refusal
                raise WarmupRefused(str(exc)) from exc
        shapes.append(WarmupShape(width, height, batch))
    return tuple(dict.fromkeys(shapes))  # a repeated shape is warmed once


def estimate_bytes(shape: WarmupShape) -> int:
    """GPU memory one prompt of `shape` needs beyond the model weights (an estimate)."""
    return int(shape.megapixels * GIB_PER_MEGAPIXEL * 2**30)


def check_fits(shapes: Sequence[WarmupShape], free_bytes: int, weights_bytes: int) -> None:
    """Refuse the first shape whose estimate plus the weights to load exceeds free memory.

    Raises:
        WarmupRefused: Naming the shape, its estimate and the free memory.
    """
    for shape in shapes:
        need = estimate_bytes(shape) + weights_bytes
        if need > free_bytes:
            raise WarmupRefused(
                f"--warmup shape {shape} does not fit in GPU memory: it needs about "
                f"{need / 2**30:.1f} GiB ({weights_bytes / 2**30:.1f} GiB of weights to load "
                f"+ {estimate_bytes(shape) / 2**30:.1f} GiB for the batch) but "
                f"{free_bytes / 2**30:.1f} GiB are free; warm a smaller size or batch"
            )


def _pick_checkpoint(context: EngineContext, name: str | None) -> tuple[str, Path]:
    from engine.nodes.sdxl.files import list_model_files, resolve_model_file

    folders = context.paths.checkpoint_dirs
    names = [n for n in list_model_files(folders) if n.endswith(".safetensors")]
    if name is None:
        if len(names) != 1:
            found = ", ".join(names) if names else "none"
            raise WarmupRefused(
                f"--warmup needs one checkpoint to warm but models/checkpoints holds {found}; "
                "name it with --warmup-checkpoint NAME"
            )
        name = names[0]
    elif name not in names:
        raise WarmupRefused(
            f"--warmup-checkpoint {name!r} is not in models/checkpoints; "
            f"valid: {', '.join(names) or 'none'}"
        )
    return name, resolve_model_file(name, folders, "checkpoint")


def plan_warmup(
    context: EngineContext,
    shapes: Sequence[WarmupShape],
    checkpoint: str | None = None,
    free_bytes: Callable[[], int] | None = None,
) -> WarmupPlan:
    """Check the warm-up before anything runs: the checkpoint exists and, on a GPU, every
    shape fits the free memory (`free_bytes` defaults to CUDA's free memory).

    Raises:
        WarmupRefused: No shape, no single checkpoint to warm, an unknown one, or a shape
            that does not fit.
    """
    if not shapes:
        raise WarmupRefused("--warmup names no shape; give e.g. 1024x1024")
    name, path = _pick_checkpoint(context, checkpoint)
    if context.device == "cuda" or free_bytes is not None:
        loaded = context.models is not None and str(path) in context.models.loaded()
        weights = 0 if loaded else path.stat().st_size
        check_fits(shapes, (free_bytes or _cuda_free_bytes)(), weights)
    return WarmupPlan(name, path, tuple(shapes))


def plan_from_flags(
    shapes: str, checkpoint: str | None, context: EngineContext
) -> WarmupPlan | None:
    """The plan for `--warmup SHAPES [--warmup-checkpoint NAME]`; None when no shapes.

    Raises:
        WarmupRefused: See `parse_warmup_shapes` and `plan_warmup`; also a checkpoint
            named without shapes.
    """
    if not shapes.strip():
        if checkpoint is not None:
            raise WarmupRefused(
                f"--warmup-checkpoint {checkpoint!r} needs --warmup SHAPES, e.g. 1024x1024"
            )
        return None
    return plan_warmup(context, parse_warmup_shapes(shapes, context.limits), checkpoint)


def _cuda_free_bytes() -> int:
    import torch

    free, _ = torch.cuda.mem_get_info()
    return int(free)


def warmup_graph(checkpoint: str, shape: WarmupShape) -> dict[str, Any]:
    """The API prompt that warms one shape: load, encode, one sampler step, decode."""
    return {
        "ckpt": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"text": "warm-up", "clip": ["ckpt", 1]}},
        "neg": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["ckpt", 1]}},
        "latent": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": shape.width, "height": shape.height, "batch_size": shape.batch},
        },
        "sample": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 0,
                "steps": _STEPS,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["ckpt", 0],
                "positive": ["pos", 0],
                "negative": ["neg", 0],
                "latent_image": ["latent", 0],
            },
        },
        "decode": {
            "class_type": "VAEDecode",
            "inputs": {"samples": ["sample", 0], "vae": ["ckpt", 2]},
        },
    }


def run_warmup(
    plan: WarmupPlan,
    registry: NodeRegistry,
    context: EngineContext,
    on_progress: WarmupProgress | None = None,
) -> dict[str, float]:
    """Run the plan's shapes one by one; returns seconds per shape (the first includes the
    checkpoint load).

    Raises:
        WarmupRefused: A shape's prompt failed (out of memory, a compile error, a bad
            checkpoint); the message names the shape and the node's error.
    """
    from engine.graph.executor import PromptExecutor

    report = on_progress or (lambda done, total, what: None)
    executor = PromptExecutor(registry, NullSink())
    total = len(plan.shapes)
    seconds: dict[str, float] = {}
    for index, shape in enumerate(plan.shapes):
        report(index, total, f"{plan.checkpoint} at {shape}")
        began = time.perf_counter()
        with bind_engine_context(context):
            outcome = executor.execute(
                warmup_graph(plan.checkpoint, shape), f"warmup-{shape}", {}, ["decode"]
            )
        if not outcome.success:
            raise WarmupRefused(f"--warmup shape {shape} failed: {_error_of(outcome.messages)}")
        seconds[str(shape)] = round(time.perf_counter() - began, 3)
        logger.info("warmed %s at %s in %.1f s", plan.checkpoint, shape, seconds[str(shape)])
    report(total, total, "done")
    return seconds


def _error_of(messages: list[list[Any]]) -> str:
    for event, data in messages:
        if event == "execution_error":
            return f"{data.get('node_type')}: {str(data.get('exception_message', '')).strip()}"
    return "the prompt did not complete"
