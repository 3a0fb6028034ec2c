"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a
Perceptual Metric"), AlexNet variant, from weights the user provides; plain torch.

Nothing is downloaded and nothing is made up: without weights there is no LPIPS figure
(the report says so). The weights are the two files the reference implementation uses,
given together (`--lpips-weights` twice, or one merged file):

- the AlexNet backbone in torchvision's layout (`features.0.weight` … `features.10.bias`,
  e.g. `alexnet-owt-7be5be79.pth`; only its five convolutions are read);
- LPIPS's linear layers (`lin0.model.1.weight` … `lin4.model.1.weight`, the `alex.pth` of
  the `lpips` package, v0.1).

The network follows the reference: inputs scaled to [-1, 1] then shifted and scaled per
channel, the five ReLU outputs of AlexNet's features, each unit-normalised over channels,
squared differences weighted by the linear layers, averaged over space, summed over layers.
torchvision itself is not used (it breaks beside the CPU torch build).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray

from training.errors import EvaluationError

if TYPE_CHECKING:
    import torch

__all__ = ["LPIPS_KEYS", "LPIPS_MIN_SIDE", "LpipsNet", "load_lpips", "lpips_distance"]

# (features index, stride, padding, max-pool before it) of AlexNet's five convolutions.
_CONVS: Final[tuple[tuple[int, int, int, bool], ...]] = (
    (0, 4, 2, False),
    (3, 1, 2, True),
    (6, 1, 1, True),
    (8, 1, 1, False),
    (10, 1, 1, False),
)
_SHIFT: Final[tuple[float, float, float]] = (-0.030, -0.088, -0.188)
_SCALE: Final[tuple[float, float, float]] = (0.458, 0.448, 0.450)
_EPS: Final[float] = 1e-10

LPIPS_KEYS: Final[tuple[str, ...]] = tuple(
    [f"features.{i}.{part}" for i, *_ in _CONVS for part in ("weight", "bias")]
    + [f"lin{k}.model.1.weight" for k in range(len(_CONVS))]
)
"""Every tensor the network needs, as the two reference files name them."""

LPIPS_MIN_SIDE: Final[int] = 64
"""Pictures are enlarged (nearest neighbour, one whole factor) to at least this side."""


@dataclass(frozen=True)
class LpipsNet:
    """The loaded weights (`LPIPS_KEYS` -> float32 tensor) and the files they came from."""

    tensors: Mapping[str, torch.Tensor]
    sources: tuple[Path, ...]


def _read(path: Path) -> dict[str, torch.Tensor]:
    import pickle

    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise EvaluationError("lpips_weights", str(path), "does not exist or is not a file")
    unreadable = (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError)
    try:
        if path.suffix == ".safetensors":
            return dict(load_file(str(path)))
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (*unreadable, SafetensorError) as exc:
        raise EvaluationError("lpips_weights", str(path), f"cannot be read ({exc})") from exc
    if not isinstance(loaded, dict):
        raise EvaluationError("lpips_weights", str(path), "is not a state dict")
    return {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}


def _check_shapes(tensors: Mapping[str, torch.Tensor]) -> None:
    channels = 3
    for k, (index, *_) in enumerate(_CONVS):
        weight = tensors[f"features.{index}.weight"]
        lin = tensors[f"lin{k}.model.1.weight"]
        if weight.ndim != 4 or weight.shape[1] != channels:
            raise EvaluationError(
                f"features.{index}.weight", tuple(weight.shape), "is not AlexNet's layout"
            )
        channels = int(weight.shape[0])
        if tuple(lin.shape) != (1, channels, 1, 1):
            raise EvaluationError(
                f"lin{k}.model.1.weight", tuple(lin.shape), f"expected (1, {channels}, 1, 1)"
            )


def load_lpips(paths: Sequence[Path]) -> LpipsNet:
    """The LPIPS network from the given weight files (`.pth` or `.safetensors`).

    Raises:
        EvaluationError: A file is missing or unreadable, a needed tensor is missing (named,
            with the files read), or a tensor has the wrong shape.
    """
    merged: dict[str, torch.Tensor] = {}
    for path in paths:
        merged.update(_read(Path(path)))
    missing = [key for key in LPIPS_KEYS if key not in merged]
    if missing:
        files = ", ".join(str(p) for p in paths)
        raise EvaluationError(
            "lpips_weights",
            files,
            f"lacks {missing[0]} ({len(missing)} of {len(LPIPS_KEYS)} tensors missing); give "
            "torchvision's AlexNet weights and LPIPS's alex.pth linear layers",
        )
    tensors = {key: merged[key].detach().float() for key in LPIPS_KEYS}
    _check_shapes(tensors)
    return LpipsNet(tensors, tuple(Path(p) for p in paths))


def _tensor(rgb: NDArray[np.float64]) -> torch.Tensor:
    import torch

    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float()[None] / 127.5 - 1
    shift = torch.tensor(_SHIFT).view(1, 3, 1, 1)
    scale = torch.tensor(_SCALE).view(1, 3, 1, 1)
    return (x - shift) / scale


def _features(net: LpipsNet, x: torch.Tensor) -> list[torch.Tensor]:
    import torch.nn.functional as F

    taps = []
    for index, stride, padding, pool in _CONVS:
        if pool:
            x = F.max_pool2d(x, kernel_size=3, stride=2)
        weight, bias = (
            net.tensors[f"features.{index}.weight"],
            net.tensors[f"features.{index}.bias"],
        )
        x = F.relu(F.conv2d(x, weight, bias, stride=stride, padding=padding))
        taps.append(x)
    return taps


def lpips_distance(net: LpipsNet, a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """LPIPS between two RGB pictures of one size (0..255 floats, [H, W, 3]); 0: identical.

    Raises:
        EvaluationError: The pictures differ in size.
    """
    import torch

    if a.shape != b.shape:
        raise EvaluationError("lpips", f"{a.shape} vs {b.shape}", "pictures must be one size")
    factor = max(1, -(-LPIPS_MIN_SIDE // min(a.shape[:2])))
    a, b = (np.repeat(np.repeat(x, factor, 0), factor, 1) for x in (a, b))
    total = 0.0
    with torch.no_grad():
        for k, (fa, fb) in enumerate(
            zip(_features(net, _tensor(a)), _features(net, _tensor(b)), strict=True)
        ):
            na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + _EPS)
            nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + _EPS)
            weighted = (net.tensors[f"lin{k}.model.1.weight"] * (na - nb).pow(2)).sum(1)
            total += float(weighted.mean())
    return total
