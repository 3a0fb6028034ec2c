"""Write a large synthetic checkpoint tensor by tensor, straight into a safetensors file.

`synthetic.write_checkpoint` builds the whole state dict in memory first, fine for tiny
test models; a full-size SDXL (3.5 B parameters, ~7 GB in fp16) would need that much RAM
again and minutes of CPU random numbers. Here the header is computed from the shapes
alone, then each tensor is drawn (on CUDA when present: seconds for all of SDXL), copied
to the host and appended, so memory stays at one tensor. The file is the standard
safetensors layout: 8-byte little-endian header length, JSON header padded with spaces to
8 bytes, then the tensors' bytes back to back.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from pathlib import Path

import torch

from comfy_nodes.pixel.atomic import atomic_path
from engine.models.synthetic import SyntheticSpec, build_shapes, init_kind

__all__ = ["stream_checkpoint"]

_DTYPE_NAMES = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32"}


def _header(
    shapes: dict[str, tuple[int, ...]], dtype: torch.dtype, metadata: dict[str, str]
) -> tuple[bytes, int]:
    """The padded JSON header and the total byte size of the tensor data."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    entries: dict[str, object] = {"__metadata__": dict(metadata)}
    offset = 0
    for name, shape in shapes.items():
        size = math.prod(shape) * itemsize
        entries[name] = {
            "dtype": _DTYPE_NAMES[dtype],
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-(len(raw) + 8) % 8)  # the data starts 8-byte aligned, as safetensors writes
    return raw, offset


def stream_checkpoint(
    path: Path,
    spec: SyntheticSpec,
    dtype: torch.dtype = torch.float16,
    device: str = "auto",
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write `spec`'s random checkpoint to `path` (a temp file renamed at the end).

    Args:
        path: Destination `.safetensors`.
        spec: Sizes and metadata (`synthetic.SDXL_BASE_SPEC`-like for a real-size file).
        dtype: float16, bfloat16 or float32.
        device: Where random numbers are drawn: "auto" (CUDA when present), "cpu", "cuda".
        on_progress: Called with (bytes written, total bytes) after each tensor.

    Raises:
        ValueError: An unsupported dtype (naming the valid ones).
    """
    if dtype not in _DTYPE_NAMES:
        raise ValueError(f"dtype={dtype} is not supported; use one of {list(_DTYPE_NAMES)}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    shapes = build_shapes(spec)
    header, total = _header(shapes, dtype, dict(spec.metadata))
    gen = torch.Generator(device=device).manual_seed(spec.seed)
    report = on_progress or (lambda done, all_bytes: None)
    done = 0
    with atomic_path(path) as tmp, tmp.open("wb") as out:
        out.write(struct.pack("<Q", len(header)))
        out.write(header)
        for name, shape in shapes.items():
            tensor = _draw(name, shape, spec.std, dtype, device, gen)
            out.write(tensor.view(torch.uint8).numpy().data)
            done += tensor.numel() * tensor.element_size()
            report(done, total)
    return path


def _draw(
    name: str,
    shape: tuple[int, ...],
    std: float,
    dtype: torch.dtype,
    device: str,
    gen: torch.Generator,
) -> torch.Tensor:
    """One tensor filled like `synthetic.build_state_dict` (ones / zeros / N(0, std)), on CPU."""
    kind = init_kind(name, shape)
    if kind == "ones":
        return torch.ones(shape, dtype=dtype)
    if kind == "zeros":
        return torch.zeros(shape, dtype=dtype)
    value = torch.randn(shape, generator=gen, device=device, dtype=torch.float32)
    return value.mul_(std).to(dtype).cpu().contiguous()
