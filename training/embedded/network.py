"""The LoRA network of the embedded trainer: peft adapters on kohya's target set of the UNet.

Targets are chosen by `training.lora_io.kohya_unet_targets` on the checkpoint's SGM weight
names (the names the kohya file will carry) and found in the diffusers UNet through the
engine's SGM → diffusers name map. Initial weights are kohya's (`init_lora`, seeded), copied
into peft's `lora_A`/`lora_B`; peft's scale is alpha / rank, as kohya's. Adapter weights
stay float32 whatever the frozen base weights are (bf16 on a GPU).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from training.errors import CheckpointError
from training.lora_io import LoraWeights, init_lora, kohya_unet_targets

if TYPE_CHECKING:
    from engine import TrainableSDXL

__all__ = ["LoraNetwork", "attach_lora"]

_ADAPTER = "default"


@dataclass(frozen=True)
class LoraNetwork:
    """The injected adapters: SGM module path → the peft layer that holds them."""

    layers: Mapping[str, Any]
    rank: int
    alpha: float

    def parameters(self) -> list[torch.nn.Parameter]:
        """Every trainable tensor, in a fixed order (down then up, by module path)."""
        params: list[torch.nn.Parameter] = []
        for path in sorted(self.layers):
            layer = self.layers[path]
            params += [layer.lora_A[_ADAPTER].weight, layer.lora_B[_ADAPTER].weight]
        return params

    def weights(self) -> dict[str, LoraWeights]:
        """The current update of every module, as float32 CPU tensors ([r, in], [out, r])."""
        out = {}
        for path, layer in self.layers.items():
            down = layer.lora_A[_ADAPTER].weight.detach().float().cpu().flatten(1)
            up = layer.lora_B[_ADAPTER].weight.detach().float().cpu().flatten(1)
            out[path] = LoraWeights(down.clone(), up.clone(), self.alpha)
        return out

    def state(self) -> dict[str, torch.Tensor]:
        """Checkpoint tensors: `<path>.down` / `<path>.up`, float32 on the CPU."""
        tensors = {}
        for path, weights in self.weights().items():
            tensors[f"{path}.down"] = weights.down.contiguous()
            tensors[f"{path}.up"] = weights.up.contiguous()
        return tensors

    def load_state(self, tensors: Mapping[str, torch.Tensor]) -> None:
        """Put checkpointed weights back (the inverse of `state`).

        Raises:
            CheckpointError: a module is missing or its shape differs (another rank or base).
        """
        for path, layer in self.layers.items():
            for part, module in (("down", layer.lora_A[_ADAPTER]), ("up", layer.lora_B[_ADAPTER])):
                key = f"{path}.{part}"
                saved = tensors.get(key)
                if saved is None or saved.numel() != module.weight.numel():
                    reason = "the checkpoint does not fit this run (another rank or base model)"
                    raise CheckpointError("checkpoint", key, reason)
                with torch.no_grad():
                    module.weight.copy_(saved.reshape(module.weight.shape))


def attach_lora(model: TrainableSDXL, rank: int, alpha: float, seed: int) -> LoraNetwork:
    """Inject rank-`rank` adapters into `model.unet` on kohya's target set.

    Raises:
        LoraFormatError: `rank` is larger than a target's smaller side, or alpha <= 0.
    """
    from peft import LoraConfig, inject_adapter_in_model

    targets = kohya_unet_targets(model.unet_shapes)
    initial = init_lora(targets, rank, alpha, seed)
    names = {path: model.unet_names[path] for path in targets}
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,  # type: ignore[arg-type]  # peft divides it by r: a float is fine
        lora_dropout=0.0,
        target_modules=sorted(names.values()),
        init_lora_weights=True,
    )
    inject_adapter_in_model(config, model.unet, adapter_name=_ADAPTER)
    layers = {path: model.unet.get_submodule(name) for path, name in names.items()}
    with torch.no_grad():
        for path, layer in layers.items():
            for part, value in (
                (layer.lora_A, initial[path].down),
                (layer.lora_B, initial[path].up),
            ):
                module = part[_ADAPTER]
                module.to(torch.float32)
                module.weight.copy_(value.reshape(module.weight.shape))
                module.weight.requires_grad_(True)
            # Under autocast peft's cast of every input to the adapters' float32 would copy
            # each activation twice (to float32, then back to bf16 for the matmul); autocast
            # alone gives the same bf16 product. Without autocast the dtypes already agree.
            layer.cast_input_dtype_enabled = False
    return LoraNetwork(layers, rank, float(alpha))
