"""kohya-format LoRA files: read them, match their keys, patch weights the way ComfyUI does.

Keys are `lora_unet_<module path with _>` (SGM names such as
`lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q`, or diffusers names such as
`lora_unet_down_blocks_1_attentions_0_…`), `lora_te1_…` (CLIP-L) and `lora_te2_…` (CLIP-G),
each with `.lora_down.weight`, `.lora_up.weight` and an optional `.alpha`. A weight gets
`W += strength · (alpha / rank) · up @ down` (scale 1 without alpha), 1×1 and 3×3 convs
included. Patching happens on the live module inside `applied(...)` and the original
weights are restored on exit, so the cached base model stays pristine. Unmatched keys are
logged (as ComfyUI's "lora key not loaded") and counted, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine.errors import ModelLoadError

__all__ = [
    "LoraFile",
    "LoraModule",
    "LoraPatch",
    "WeightPatch",
    "applied",
    "clip_key_map",
    "load_lora",
    "match_lora",
    "unet_key_map",
]

log = logging.getLogger(__name__)

_SUFFIXES = {".lora_down.weight": "down", ".lora_up.weight": "up", ".alpha": "alpha"}


@dataclass(frozen=True)
class LoraModule:
    """One low-rank update: `up` [out, r, ...] @ `down` [r, in, ...], scaled by alpha / r."""

    down: torch.Tensor
    up: torch.Tensor
    alpha: float | None

    @property
    def scale(self) -> float:
        rank = self.down.shape[0]
        return self.alpha / rank if self.alpha is not None else 1.0

    def fits(self, shape: torch.Size) -> bool:
        """Whether `up @ down` can be reshaped into a weight of `shape` (same out rows)."""
        rows, inner = self.up.shape[0], self.down[0].numel()
        return (
            self.up.shape[1] == self.down.shape[0]
            and rows == shape[0]
            and rows * inner == shape.numel()
        )

    def delta(
        self, shape: torch.Size, strength: float, device: torch.device | None = None
    ) -> torch.Tensor:
        """The float32 weight update for a weight of `shape`, computed on `device`."""
        up = self.up.to(device=device, dtype=torch.float32).flatten(1)
        down = self.down.to(device=device, dtype=torch.float32).flatten(1)
        return (strength * self.scale * (up @ down)).reshape(shape)


@dataclass(frozen=True)
class LoraFile:
    """A parsed LoRA: module name (the key without suffix) → update."""

    path: Path
    modules: dict[str, LoraModule]
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoraPatch:
    """One entry of a LoRA stack: the file and how strongly it applies to one component."""

    lora: LoraFile
    strength: float


@dataclass(frozen=True)
class WeightPatch:
    """A matched update for the module at `module_path` of one component."""

    module_path: str
    update: LoraModule
    strength: float


def _group(tensors: Mapping[str, torch.Tensor], source: str) -> dict[str, dict[str, torch.Tensor]]:
    grouped: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        for suffix, part in _SUFFIXES.items():
            if key.endswith(suffix):
                grouped.setdefault(key[: -len(suffix)], {})[part] = value
                break
        else:
            log.warning("%s: lora key not loaded (unknown suffix): %s", source, key)
    return grouped


def load_lora(path: Path) -> LoraFile:
    """Read a kohya-format LoRA `.safetensors` file.

    Raises:
        ModelLoadError: The file is missing, corrupt or holds no lora_down/lora_up pairs.
    """
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise ModelLoadError(f"LoRA {str(path)!r} not found; put it in models/loras/")
    try:
        with safe_open(str(path), framework="pt") as handle:
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
            metadata = dict(handle.metadata() or {})
    except (SafetensorError, OSError) as exc:
        raise ModelLoadError(f"{path.name}: not a readable safetensors LoRA ({exc})") from exc
    modules: dict[str, LoraModule] = {}
    for name, parts in _group(tensors, path.name).items():
        if "down" not in parts or "up" not in parts:
            log.warning(
                "%s: lora key not loaded (needs lora_down and lora_up): %s", path.name, name
            )
            continue
        alpha = parts.get("alpha")
        modules[name] = LoraModule(
            parts["down"], parts["up"], float(alpha) if alpha is not None else None
        )
    if not modules:
        raise ModelLoadError(
            f"{path.name}: no kohya LoRA modules (.lora_down.weight/.lora_up.weight) found; "
            "convert the file to kohya format first"
        )
    return LoraFile(path, modules, metadata)


def _patchable(module: torch.nn.Module) -> Iterator[str]:
    for name, sub in module.named_modules():
        if isinstance(sub, torch.nn.Linear | torch.nn.Conv2d):
            yield name


def unet_key_map(unet: torch.nn.Module, sgm_to_diffusers: Mapping[str, str]) -> dict[str, str]:
    """kohya UNet name → diffusers module path, for both SGM and diffusers spellings."""
    paths = set(_patchable(unet))
    keys = {"lora_unet_" + p.replace(".", "_"): p for p in paths}
    for sgm, diffusers in sgm_to_diffusers.items():
        if diffusers in paths:
            keys["lora_unet_" + sgm.replace(".", "_")] = diffusers
    return keys


def clip_key_map(encoder: torch.nn.Module, prefix: str) -> dict[str, str]:
    """kohya text-encoder name (`lora_te1_text_model_encoder_layers_0_…`) → module path."""
    keys = {}
    for path in _patchable(encoder):
        hf = path if path.startswith("text_model.") else "text_model." + path
        keys[prefix + hf.replace(".", "_")] = path
    return keys


def match_lora(
    patches: Iterable[LoraPatch], key_maps: Mapping[str, Mapping[str, str]]
) -> tuple[dict[str, list[WeightPatch]], list[str]]:
    """Sort a stack's modules by component; return them and the unmatched names.

    Args:
        patches: The LoRA stack for one set of components.
        key_maps: Component name → (kohya name → module path), e.g. {"unet": ...}.
    """
    matched: dict[str, list[WeightPatch]] = {component: [] for component in key_maps}
    unmatched: list[str] = []
    for patch in patches:
        for name, update in patch.lora.modules.items():
            hit = next(((c, m[name]) for c, m in key_maps.items() if name in m), None)
            if hit is None:
                unmatched.append(name)
                continue
            matched[hit[0]].append(WeightPatch(hit[1], update, patch.strength))
    return matched, unmatched


def _weight(module: torch.nn.Module, path: str) -> torch.Tensor:
    weight = module.get_submodule(path).weight
    assert isinstance(weight, torch.Tensor)  # Linear/Conv2d only (see _patchable)
    return weight


@contextmanager
def applied(module: torch.nn.Module, patches: list[WeightPatch]) -> Iterator[None]:
    """Add the updates to `module`'s weights for the duration of the block, then restore."""
    backups: dict[str, torch.Tensor] = {}
    try:
        with torch.no_grad():
            for patch in patches:
                weight = _weight(module, patch.module_path)
                if not patch.update.fits(weight.shape):
                    # ComfyUI logs and skips these too (e.g. an SD1.5 LoRA on SDXL).
                    log.warning(
                        "lora %s skipped: update %s x %s does not fit weight %s",
                        patch.module_path,
                        tuple(patch.update.up.shape),
                        tuple(patch.update.down.shape),
                        tuple(weight.shape),
                    )
                    continue
                if patch.module_path not in backups:
                    backups[patch.module_path] = weight.detach().clone()
                delta = patch.update.delta(weight.shape, patch.strength, weight.device)
                weight.copy_((weight.float() + delta).to(weight.dtype))
        yield
    finally:
        with torch.no_grad():
            for path, original in backups.items():
                _weight(module, path).copy_(original)
