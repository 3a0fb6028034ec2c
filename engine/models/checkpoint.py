"""Load an original single-file SDXL checkpoint into diffusers / transformers modules.

Steps: read the safetensors header (shapes + metadata) → infer the architecture from the
shapes → read the tensors straight onto the target device (a GPU load never builds a host
copy of the state dict) → convert names with diffusers' own single-file helpers → build
each module on the meta device and assign the converted tensors (no random init, no copy:
`load_state_dict(assign=True)`; a cast only where the file's dtype differs) → eval mode.
Each step's seconds go into `LoadedCheckpoint.load_seconds` and the log. Anything wrong
with the file raises `ModelLoadError` naming the file and the problem.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from engine.errors import ModelLoadError
from engine.models.architecture import (
    CLIP_G_PREFIX,
    CLIP_L_PREFIX,
    UNET_PREFIX,
    VAE_PREFIX,
    SDXLArchitecture,
    infer_architecture,
)
from engine.models.unet_build import build_unet

__all__ = [
    "DEMO_METADATA_KEY",
    "LoadedCheckpoint",
    "build_modules",
    "import_builders",
    "load_checkpoint",
    "read_header",
    "sgm_to_diffusers_names",
]

log = logging.getLogger(__name__)

DEMO_METADATA_KEY = "dgxpixels.demo"
# Keys real checkpoints carry that the diffusers modules have no slot for.
_IGNORED_SUFFIXES = ("position_ids", "logit_scale")


@dataclass
class LoadedCheckpoint:
    """The four modules of one SDXL checkpoint plus what we learnt while loading it."""

    path: Path
    architecture: SDXLArchitecture
    unet: Any  # diffusers.UNet2DConditionModel
    text_encoder_l: Any  # transformers.CLIPTextModel
    text_encoder_g: Any  # transformers.CLIPTextModelWithProjection
    vae: Any  # diffusers.AutoencoderKL
    metadata: dict[str, str] = field(default_factory=dict)
    unet_names: dict[str, str] = field(default_factory=dict)  # SGM module → diffusers module
    # torch.compile state (see `engine.models.compile`): the mode applied and the input
    # shapes already compiled, so the first prompt of a new shape is logged as slow.
    compile_mode: str = "off"
    compiled_shapes: set[tuple[str, tuple[int, ...]]] = field(default_factory=set)
    # Seconds per load step: header, imports (diffusers + transformers, first load of a
    # process only), read (to the device), build (convert + assign), names.
    load_seconds: dict[str, float] = field(default_factory=dict)
    # Speed levers in force (see `engine.models.speed` / `compile.tune_checkpoint`): an fp8 or
    # QKV-fused UNet refuses LoRAs (they patch weights these no longer read); the VAE decodes
    # at most `vae_slice` latents at once (0 = the whole batch).
    fp8: bool = False
    qkv_fused: bool = False
    vae_slice: int = 0

    @property
    def is_demo(self) -> bool:
        """True for random-weight demo files: their pictures are meaningless."""
        return self.metadata.get(DEMO_METADATA_KEY, "").lower() == "true"


def read_header(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """Tensor shapes and metadata of a safetensors file, without reading the tensors.

    Raises:
        ModelLoadError: The file is missing, not safetensors, or truncated/corrupt.
    """
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise ModelLoadError(f"checkpoint {str(path)!r} not found; put it in models/checkpoints/")
    try:
        with safe_open(str(path), framework="pt") as handle:
            shapes = {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}  # noqa: SIM118
            metadata = dict(handle.metadata() or {})
    except (SafetensorError, OSError) as exc:
        raise ModelLoadError(
            f"{path.name}: not a readable safetensors file ({exc}); the file is corrupt or "
            "truncated, download or copy it again"
        ) from exc
    return shapes, metadata


def _read_tensors(path: Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Every tensor of the file, read straight onto `device` (no host copy for a GPU)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=device)
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise ModelLoadError(
            f"{path.name}: reading the tensors failed ({exc}); the file is corrupt"
        ) from exc


def _diffusers(module: str = "") -> Any:
    """diffusers (or a submodule) typed as Any: its converters carry no type hints."""
    import importlib

    return importlib.import_module("diffusers" + (f".{module}" if module else ""))


def _single_file_utils() -> Any:
    return _diffusers("loaders.single_file_utils")


def import_builders() -> float:
    """Import the model code of diffusers and transformers; the seconds it took.

    Seconds on a first call (a process's first load pays it), about 0 after. Never on a
    background thread: diffusers' lazy module, imported from two threads at once, answers
    the other thread `module 'diffusers' has no attribute 'AutoencoderKL'` (seen here).
    """
    began = time.perf_counter()
    _single_file_utils()
    for name in ("UNet2DConditionModel", "AutoencoderKL"):
        getattr(_diffusers(), name)  # diffusers imports its model classes lazily
    from transformers import CLIPTextModel, CLIPTextModelWithProjection  # noqa: F401

    return time.perf_counter() - began


def sgm_to_diffusers_names(
    checkpoint_keys: list[str], unet_config: Mapping[str, Any]
) -> dict[str, str]:
    """Map SGM UNet module names to diffusers ones, using diffusers' converter itself.

    The converter only moves values between names, so feeding it each key's own name as
    the value yields the exact name mapping (used to match kohya LoRA keys).
    """
    names = {k: k for k in checkpoint_keys if k.startswith(UNET_PREFIX)}
    converted = _single_file_utils().convert_ldm_unet_checkpoint(names, dict(unet_config))
    mapping: dict[str, str] = {}
    for new, old in converted.items():
        if new.endswith(".weight") and isinstance(old, str):
            mapping[old[len(UNET_PREFIX) : -len(".weight")]] = new[: -len(".weight")]
    return mapping


def _assign(
    module: torch.nn.Module,
    state: dict[str, torch.Tensor],
    part: str,
    source: str,
    dtype: torch.dtype,
) -> None:
    """Load `state` into a meta-device module; every parameter must be provided."""
    # `.to` returns the tensor itself when the file already has `dtype`: no copy.
    state = {k: v.to(dtype) for k, v in state.items() if not k.endswith(_IGNORED_SUFFIXES)}
    try:
        result = module.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as exc:
        raise ModelLoadError(f"{source}: {part} tensor shapes do not fit together ({exc})") from exc
    if result.missing_keys or result.unexpected_keys:
        raise ModelLoadError(
            f"{source}: {part} tensors do not fit the inferred architecture "
            f"(missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]})"
        )
    for name, buf in list(module.named_buffers()):
        if buf.is_meta and name.endswith("position_ids"):
            owner = module.get_submodule(name.rsplit(".", 1)[0])
            owner.position_ids = torch.arange(buf.shape[-1]).expand((1, -1))
        elif buf.is_meta:
            raise ModelLoadError(f"{source}: {part} buffer {name!r} was left uninitialised")


def _build_unet(
    ckpt: dict[str, torch.Tensor], arch: SDXLArchitecture, source: str, dtype: torch.dtype
) -> Any:
    config = arch.unet.diffusers_config()
    with torch.device("meta"):
        unet = build_unet(arch.unet)
    _assign(
        unet, _single_file_utils().convert_ldm_unet_checkpoint(ckpt, config), "UNet", source, dtype
    )
    return unet


def _build_vae(
    ckpt: dict[str, torch.Tensor], arch: SDXLArchitecture, source: str, dtype: torch.dtype
) -> Any:
    config = arch.vae.diffusers_config()
    with torch.device("meta"):
        vae = _diffusers().AutoencoderKL(**config)
    _assign(
        vae, _single_file_utils().convert_ldm_vae_checkpoint(ckpt, config), "VAE", source, dtype
    )
    return vae


def _build_clip_l(
    ckpt: dict[str, torch.Tensor], arch: SDXLArchitecture, source: str, dtype: torch.dtype
) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel

    with torch.device("meta"):
        model = CLIPTextModel(CLIPTextConfig(**arch.clip_l.transformers_config("sdxl_clip_l")))
    state = _single_file_utils().convert_ldm_clip_checkpoint(ckpt)
    if not hasattr(model, "text_model"):  # transformers >= 5.6 flattened CLIPTextModel
        state = {k.removeprefix("text_model."): v for k, v in state.items()}
    _assign(model, state, "CLIP-L", source, dtype)
    return model


def _build_clip_g(
    ckpt: dict[str, torch.Tensor], arch: SDXLArchitecture, source: str, dtype: torch.dtype
) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    with torch.device("meta"):
        model = CLIPTextModelWithProjection(
            CLIPTextConfig(**arch.clip_g.transformers_config("sdxl_clip_g"))
        )
    state = _single_file_utils().convert_open_clip_checkpoint(model, ckpt, prefix=CLIP_G_PREFIX)
    _assign(model, state, "CLIP-G", source, dtype)
    return model


def build_modules(
    tensors: dict[str, torch.Tensor],
    arch: SDXLArchitecture,
    source: str,
    dtype: torch.dtype = torch.float32,
    vae_dtype: torch.dtype | None = None,
) -> tuple[Any, Any, Any, Any]:
    """Convert SGM/LDM tensors and assign them to (UNet, CLIP-L, CLIP-G, VAE), in eval mode.

    Consumes `tensors`: each part's entries are removed once that part is built.

    Raises:
        ModelLoadError: A tensor is missing, left over or has the wrong shape.
    """
    builders = (
        (_build_unet, UNET_PREFIX, dtype),
        (_build_clip_l, CLIP_L_PREFIX, dtype),
        (_build_clip_g, CLIP_G_PREFIX, dtype),
        (_build_vae, VAE_PREFIX, vae_dtype or dtype),
    )
    modules = []
    for build, prefix, part_dtype in builders:
        modules.append(build(tensors, arch, source, part_dtype))
        # Drop the file's copies as each part is built: loading an fp16 file into fp32 on a
        # CPU would otherwise hold both copies of all 3.5 B parameters at once.
        for key in [k for k in tensors if k.startswith(prefix)]:
            del tensors[key]
    for module in modules:
        module.eval().requires_grad_(False)
    return modules[0], modules[1], modules[2], modules[3]


def load_checkpoint(
    path: Path,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    vae_dtype: torch.dtype | None = None,
) -> LoadedCheckpoint:
    """Load an SDXL single-file checkpoint.

    Args:
        path: The `.safetensors` file (original SGM/LDM key layout).
        device: Torch device for all modules.
        dtype: Weight dtype of the UNet and text encoders.
        vae_dtype: Weight dtype of the VAE (default: `dtype`).

    Returns:
        The modules in eval mode on `device`.

    Raises:
        ModelLoadError: Missing, corrupt, truncated or non-SDXL file.
    """
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    shapes, metadata = read_header(path)
    arch = infer_architecture(shapes, path.name)
    if metadata.get(DEMO_METADATA_KEY, "").lower() == "true":
        log.warning(
            "%s is a DEMO checkpoint with random weights: its pictures are meaningless", path.name
        )
    seconds["header"], began = _lap(began, device)
    import_builders()
    seconds["imports"], began = _lap(began, device)
    tensors = _read_tensors(path, device)
    seconds["read"], began = _lap(began, device)
    unet, clip_l, clip_g, vae = build_modules(tensors, arch, path.name, dtype, vae_dtype)
    # Only buffers made while building (CLIP position ids) are still on the host.
    unet, clip_l, clip_g, vae = (m.to(device) for m in (unet, clip_l, clip_g, vae))
    seconds["build"], began = _lap(began, device)
    names = sgm_to_diffusers_names(list(shapes), arch.unet.diffusers_config())
    seconds["names"], _ = _lap(began, device)
    log.info(
        "loaded %s (UNet %s×%s, ComfyUI layout %s, device %s, %s) in %.2f s (%s)",
        path.name,
        arch.unet.model_channels,
        list(arch.unet.channel_mult),
        arch.unet.comfy_layout or "none (custom SDXL-shaped)",
        device,
        dtype,
        sum(seconds.values()),
        ", ".join(f"{step} {value:.2f} s" for step, value in seconds.items()),
    )
    loaded = LoadedCheckpoint(path, arch, unet, clip_l, clip_g, vae, metadata, names)
    loaded.load_seconds = seconds
    return loaded


def _lap(began: float, device: str) -> tuple[float, float]:
    """Seconds since `began` (the device's queued copies included) and a new start."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    now = time.perf_counter()
    return now - began, now
