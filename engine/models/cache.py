"""The engine's model cache: checkpoints and LoRAs stay loaded between prompts.

Checkpoints are keyed by resolved path + mtime (a changed file reloads), LoRA files the
same way; MODEL/CLIP wrappers carry their LoRA stack on top (see `engine.models.sdxl`), so
one cached base serves every stack. `free()` drops everything (the `/free` route).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.models.checkpoint import LoadedCheckpoint, load_checkpoint
from engine.models.compile import tune_checkpoint, validate_compile_mode
from engine.models.device import DeviceChoice, select_device
from engine.models.hashing import FileHasher
from engine.models.lora import LoraFile, load_lora
from engine.models.sdxl import SDXLClip, SDXLModel, SDXLVae, Tokenizers
from engine.models.speed import Speed, SpeedOptions, resolve_speed
from engine.sampling.discrete import DiscreteSchedule

__all__ = ["LoadedModels", "ModelCache"]

log = logging.getLogger(__name__)

_Key = tuple[str, int]


@dataclass(frozen=True)
class LoadedModels:
    """What CheckpointLoaderSimple returns: (MODEL, CLIP, VAE)."""

    model: SDXLModel
    clip: SDXLClip
    vae: SDXLVae


def _key(path: Path) -> _Key:
    resolved = path.resolve()
    return (str(resolved), resolved.stat().st_mtime_ns)


class ModelCache:
    """Loaded checkpoints and LoRAs of one engine.

    Args:
        device: "auto", "cpu", "cuda" or "cuda:N".
        precision: "auto", "fp16", "bf16", "fp32" or "fp8" (see `select_device`).
        max_loaded: Checkpoints kept at once, least recently used dropped first. Default:
            1 on a CPU (a real SDXL is ~14 GB in fp32), 3 on a GPU.
        compile_mode: "off", or a torch.compile mode applied to each checkpoint once, when it
            is loaded (CUDA only; see `engine.models.compile`).
        speed: The speed levers asked for (`engine.models.speed`), resolved for the device.

    Raises:
        ValueError: Unknown precision, compile mode or speed lever, CUDA asked for but
            missing, compilation or a GPU-only lever asked for on a CPU, fp8 where it
            cannot run.
    """

    def __init__(
        self,
        device: str = "auto",
        precision: str = "auto",
        max_loaded: int | None = None,
        compile_mode: str = "off",
        speed: SpeedOptions | None = None,
    ) -> None:
        self.choice: DeviceChoice = select_device(device, precision)
        self.compile_mode = validate_compile_mode(compile_mode, self.choice.device.type)
        self.speed: Speed = resolve_speed(
            speed or SpeedOptions(), self.choice.device.type, self.compile_mode
        )
        self.max_loaded = max_loaded or (3 if self.choice.device.type == "cuda" else 1)
        self.hasher = FileHasher()
        self._checkpoints: OrderedDict[_Key, LoadedCheckpoint] = OrderedDict()
        self._loras: dict[_Key, LoraFile] = {}
        self._tokenizers: Tokenizers | None = None
        self._schedule = DiscreteSchedule()
        self._lock = threading.Lock()

    def tokenizers(self) -> Tokenizers:
        """Both SDXL tokenizers, built once from the shipped BPE file."""
        from engine.configs.tokenizer import build_sdxl_tokenizers

        if self._tokenizers is None:
            self._tokenizers = Tokenizers(*build_sdxl_tokenizers())
        return self._tokenizers

    def checkpoint(self, path: Path) -> LoadedCheckpoint:
        """The loaded checkpoint at `path`, loading it on first use or after it changed."""
        from engine.errors import ModelLoadError

        if not path.is_file():
            raise ModelLoadError(
                f"checkpoint {str(path)!r} not found; put it in models/checkpoints/"
            )
        key = _key(path)
        with self._lock:
            if key not in self._checkpoints:
                stale = [k for k in self._checkpoints if k[0] == key[0]]
                for k in stale:  # the file changed on disk: drop the old copy first
                    del self._checkpoints[k]
                while len(self._checkpoints) >= self.max_loaded:
                    dropped, _ = self._checkpoints.popitem(last=False)
                    log.info("unloading %s to make room", Path(dropped[0]).name)
                gc.collect()
                c = self.choice
                loaded = load_checkpoint(path, str(c.device), c.dtype, c.vae_dtype)
                # Once per loaded checkpoint: the compiled forward, the CUDA graphs and the
                # fp8 weights live on the cached modules.
                tune_checkpoint(loaded, self.compile_mode, self.speed, fp8=c.fp8)
                self._checkpoints[key] = loaded
            self._checkpoints.move_to_end(key)
            return self._checkpoints[key]

    def load(self, path: Path) -> LoadedModels:
        """(MODEL, CLIP, VAE) wrappers over the cached checkpoint, with no LoRAs."""
        ckpt = self.checkpoint(path)
        return LoadedModels(
            SDXLModel(ckpt, self._schedule), SDXLClip(ckpt, self.tokenizers()), SDXLVae(ckpt)
        )

    def lora(self, path: Path) -> LoraFile:
        """The parsed LoRA at `path` (re-read when the file changes)."""
        from engine.errors import ModelLoadError

        if not path.is_file():
            raise ModelLoadError(f"LoRA {str(path)!r} not found; put it in models/loras/")
        key = _key(path)
        with self._lock:
            if key not in self._loras:
                self._loras[key] = load_lora(path)
            return self._loras[key]

    def loaded(self) -> list[str]:
        """Paths of the checkpoints currently held."""
        return [k[0] for k in self._checkpoints]

    def free(self) -> None:
        """Unload every model (ComfyUI's `/free` with unload_models)."""
        with self._lock:
            count = len(self._checkpoints)
            self._checkpoints.clear()
            self._loras.clear()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        log.info("freed %d checkpoint(s)", count)
