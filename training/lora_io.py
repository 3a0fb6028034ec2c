"""kohya-format LoRA files for the SDXL UNet: pick the targets, initialise, write, read back.

The format is the one ComfyUI's LoraLoader maps for SDXL (`/work/shared/specs/lora-format.md`
§2.1 and §2.5): per LoRA'd module `lora_unet_<SGM path with _>.lora_down.weight` [r, in],
`.lora_up.weight` [out, r] and a 0-dim `.alpha`, fp16, with `ss_*`, `modelspec.*` and
`dgxpixels.*` string metadata. The target set is kohya's: every Linear (or 1×1 conv) of the
UNet's transformer blocks — attn1/attn2 to_q/k/v/to_out.0, ff.net.0.proj, ff.net.2 — and
each spatial transformer's proj_in/proj_out. UNet only: no `lora_te*` keys.

Pure: torch, safetensors and the atomic-write helper; no model is loaded here. The module
list comes from the caller (a checkpoint's UNet weight names and shapes).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import torch

from comfy_nodes.pixel.atomic import write_atomic
from training.errors import LoraFormatError

__all__ = [
    "KOHYA_UNET_TARGETS",
    "UNET_PREFIX",
    "LoraContents",
    "LoraMetadata",
    "LoraWeights",
    "init_lora",
    "kohya_name",
    "kohya_unet_targets",
    "lora_tensors",
    "read_lora",
    "write_lora",
]

UNET_PREFIX: Final[str] = "lora_unet"

# The module-name endings kohya's networks/lora.py trains inside a Transformer2DModel.
KOHYA_UNET_TARGETS: Final[tuple[str, ...]] = (
    ".attn1.to_q",
    ".attn1.to_k",
    ".attn1.to_v",
    ".attn1.to_out.0",
    ".attn2.to_q",
    ".attn2.to_k",
    ".attn2.to_v",
    ".attn2.to_out.0",
    ".ff.net.0.proj",
    ".ff.net.2",
    ".proj_in",
    ".proj_out",
)

_KEY: Final = re.compile(
    r"^lora_(unet|te1|te2)_[a-z0-9_]+\.(lora_down\.weight|lora_up\.weight|alpha)$"
)
_PARTS: Final[dict[str, str]] = {
    ".lora_down.weight": "down",
    ".lora_up.weight": "up",
    ".alpha": "alpha",
}


@dataclass(frozen=True)
class LoraWeights:
    """One module's low-rank update: `up` [out, r] @ `down` [r, in], scaled by alpha / r."""

    down: torch.Tensor
    up: torch.Tensor
    alpha: float

    @property
    def rank(self) -> int:
        return int(self.down.shape[0])


@dataclass(frozen=True)
class LoraMetadata:
    """What a trained LoRA says about itself (kohya `ss_*`, SAI `modelspec.*`, our keys).

    Attributes:
        output_name: The LoRA's name (`ss_output_name`, `modelspec.title`).
        rank: Network dim.
        alpha: Network alpha (scale = alpha / rank).
        steps: Optimiser steps trained.
        resolution: Training resolution, e.g. "1024,1024".
        mixed_precision: "bf16", "fp16" or "no".
        seed: The training seed.
        trigger: The trigger word captions start with.
        backend: Which trainer wrote the file ("kohya", "embedded", "test").
        tag_frequency: Dataset folder -> caption tag -> count (`ss_tag_frequency`).
        pixel_scale: The integer factor the dataset's sprites were upscaled by (0: mixed).
        dataset_sha256: Hash of the dataset manifest.
        comment: Free text (`ss_training_comment`).
    """

    output_name: str
    rank: int
    alpha: float
    steps: int = 0
    resolution: str = "1024,1024"
    mixed_precision: str = "bf16"
    seed: int = 0
    trigger: str = ""
    backend: str = "embedded"
    tag_frequency: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    pixel_scale: int = 0
    dataset_sha256: str = ""
    comment: str = ""

    def to_strings(self) -> dict[str, str]:
        """The safetensors header metadata: every value a string, as kohya writes it."""
        return {
            "ss_network_module": "networks.lora",
            "ss_network_dim": str(self.rank),
            "ss_network_alpha": _number(self.alpha),
            "ss_base_model_version": "sdxl_base_v1-0",
            "ss_output_name": self.output_name,
            "ss_steps": str(self.steps),
            "ss_resolution": self.resolution,
            "ss_mixed_precision": self.mixed_precision,
            "ss_seed": str(self.seed),
            "ss_tag_frequency": json.dumps(self.tag_frequency, sort_keys=True),
            "ss_training_comment": self.comment,
            "modelspec.sai_model_spec": "1.0.0",
            "modelspec.architecture": "stable-diffusion-xl-v1-base/lora",
            "modelspec.implementation": "https://github.com/Stability-AI/generative-models",
            "modelspec.title": self.output_name,
            "dgxpixels.trigger": self.trigger,
            "dgxpixels.backend": self.backend,
            "dgxpixels.pixel_scale": str(self.pixel_scale),
            "dgxpixels.dataset_sha256": self.dataset_sha256,
        }


@dataclass(frozen=True)
class LoraContents:
    """A LoRA file read back: kohya module name -> update, and its string metadata."""

    modules: dict[str, LoraWeights]
    metadata: dict[str, str]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def kohya_name(module_path: str, prefix: str = UNET_PREFIX) -> str:
    """`input_blocks.4.1.proj_in` -> `lora_unet_input_blocks_4_1_proj_in`."""
    return f"{prefix}_{module_path.replace('.', '_')}"


def _linear_shape(shape: Sequence[int]) -> tuple[int, int] | None:
    """(out, in) of a Linear weight or a 1×1 conv's; None for anything else."""
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    if len(shape) == 4 and tuple(shape[2:]) == (1, 1):
        return int(shape[0]), int(shape[1])
    return None


def kohya_unet_targets(unet_weights: Mapping[str, Sequence[int]]) -> dict[str, tuple[int, int]]:
    """The kohya target set of a UNet, from its weight names and shapes.

    Args:
        unet_weights: UNet parameter name (SGM layout, e.g.
            `input_blocks.4.1.transformer_blocks.0.attn1.to_q.weight`, no checkpoint prefix)
            -> shape.

    Returns:
        Module path -> (out features, in features), sorted by path.

    Raises:
        LoraFormatError: no module of the target set was found (not an SDXL UNet, or the
            checkpoint prefix was left on).
    """
    targets: dict[str, tuple[int, int]] = {}
    for name, shape in sorted(unet_weights.items()):
        if not name.endswith(".weight"):
            continue
        module = name[: -len(".weight")]
        dims = _linear_shape(shape)
        if dims is not None and module.endswith(KOHYA_UNET_TARGETS):
            targets[module] = dims
    if not targets:
        sample = next(iter(unet_weights), None)
        raise LoraFormatError(
            "unet_weights",
            sample,
            "no attention, feed-forward or proj_in/proj_out weight found; pass the UNet's "
            "own weight names (strip the checkpoint's `model.diffusion_model.` prefix)",
        )
    return targets


def init_lora(
    targets: Mapping[str, tuple[int, int]], rank: int, alpha: float, seed: int = 0
) -> dict[str, LoraWeights]:
    """kohya's initialisation: down kaiming-uniform (a=√5, as nn.Linear), up zeros.

    A fresh LoRA therefore changes nothing until trained.

    Raises:
        LoraFormatError: rank < 1, rank larger than a module's smaller side, or alpha <= 0.
    """
    smallest = min(min(dims) for dims in targets.values())
    if not 1 <= rank <= smallest:
        raise LoraFormatError("rank", rank, f"choose a whole number 1..{smallest}")
    if not alpha > 0:
        raise LoraFormatError("alpha", alpha, "choose a positive number (kohya: rank / 2)")
    generator = torch.Generator().manual_seed(seed)
    modules: dict[str, LoraWeights] = {}
    for path, (out_features, in_features) in targets.items():
        bound = 1.0 / math.sqrt(in_features)  # kaiming_uniform_(a=√5) on a [r, in] weight
        down = (torch.rand(rank, in_features, generator=generator) * 2 - 1) * bound
        modules[path] = LoraWeights(down, torch.zeros(out_features, rank), float(alpha))
    return modules


def lora_tensors(
    modules: Mapping[str, LoraWeights], dtype: torch.dtype = torch.float16
) -> dict[str, torch.Tensor]:
    """The kohya state dict: three contiguous tensors per module, cast to `dtype`."""
    tensors: dict[str, torch.Tensor] = {}
    for path, weights in modules.items():
        name = kohya_name(path)
        tensors[f"{name}.lora_down.weight"] = weights.down.detach().to(dtype).contiguous()
        tensors[f"{name}.lora_up.weight"] = weights.up.detach().to(dtype).contiguous()
        tensors[f"{name}.alpha"] = torch.tensor(weights.alpha, dtype=dtype)
    return tensors


def write_lora(
    path: Path,
    modules: Mapping[str, LoraWeights],
    metadata: LoraMetadata,
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Write a kohya-format `.safetensors` all at once (temp file, then rename).

    Args:
        path: The destination file.
        modules: UNet module path (SGM layout) -> update.
        metadata: Written as the header's string metadata.
        dtype: Tensor precision (fp16 loads everywhere).

    Returns:
        `path`.

    Raises:
        LoraFormatError: no modules, or a module whose down/up shapes disagree.
        OSError: the write failed; an existing file at `path` is untouched.
    """
    from safetensors.torch import save

    if not modules:
        raise LoraFormatError("modules", {}, "a LoRA needs at least one module")
    for module, weights in modules.items():
        _check_pair(module, weights.down, weights.up)
    data = save(lora_tensors(modules, dtype), metadata=metadata.to_strings())
    return write_atomic(path, data)


def _check_pair(name: str, down: torch.Tensor, up: torch.Tensor) -> None:
    if down.ndim != 2 or up.ndim != 2 or up.shape[1] != down.shape[0]:
        raise LoraFormatError(
            name,
            f"down {tuple(down.shape)}, up {tuple(up.shape)}",
            "expected down [r, in] and up [out, r] with the same rank r",
        )


def _group(tensors: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    grouped: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if not _KEY.match(key):
            raise LoraFormatError(
                "key",
                key,
                "not a kohya LoRA key (lora_unet_…/lora_te1_…/lora_te2_… with .lora_down.weight, "
                ".lora_up.weight or .alpha)",
            )
        suffix = next(s for s in _PARTS if key.endswith(s))
        grouped.setdefault(key[: -len(suffix)], {})[_PARTS[suffix]] = value
    return grouped


def _module(name: str, parts: Mapping[str, torch.Tensor]) -> LoraWeights:
    missing = sorted({"down", "up", "alpha"} - set(parts))
    if missing:
        raise LoraFormatError(name, sorted(parts), f"missing its {', '.join(missing)} tensor(s)")
    _check_pair(name, parts["down"], parts["up"])
    if parts["alpha"].ndim != 0:
        raise LoraFormatError(
            f"{name}.alpha", tuple(parts["alpha"].shape), "alpha must be a 0-dim scalar"
        )
    return LoraWeights(parts["down"], parts["up"], float(parts["alpha"]))


def read_lora(path: Path) -> LoraContents:
    """Read a kohya LoRA and check it: key names, complete down/up/alpha triplets, shapes.

    Returns:
        Module names keyed as in the file (`lora_unet_…`, without suffix) and the metadata.

    Raises:
        LoraFormatError: a missing or unreadable file, a non-kohya key, an incomplete
            triplet or shapes that disagree (the message names the key).
    """
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise LoraFormatError("path", str(path), "no such file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
            metadata = dict(handle.metadata() or {})
    except (SafetensorError, OSError) as exc:
        reason = f"not a readable safetensors file ({exc})"
        raise LoraFormatError("path", str(path), reason) from exc
    modules = {name: _module(name, parts) for name, parts in _group(tensors).items()}
    if not modules:
        raise LoraFormatError("path", str(path), "holds no LoRA modules")
    return LoraContents(modules, metadata)
