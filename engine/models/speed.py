"""The engine's GPU speed levers, applied once per loaded checkpoint.

Each lever is measured one by one beside plain diffusers by `bench/throughput.py` (see
`bench/baselines/throughput-*.json`); the defaults below are the ones that paid there.

- `cuda_graphs`: capture the UNet step as a CUDA graph per input shape and replay it
  (eager only; `compile="reduce-overhead"` is torch.compile's own CUDA-graph mode). Batch 1
  is bound by the CPU launching ~2,350 kernels per step; a replay launches one. Only up to
  `GRAPH_MAX_BATCH` UNet rows (1-2 images): larger batches are GPU-bound, a graph there
  gains nothing and holds memory.
- `fuse_qkv`: one projection for self-attention's q, k and v (diffusers'
  `fuse_qkv_projections`). A LoRA cannot patch the fused copy, so a fused UNet refuses one.
- `attention`: the SDPA backend the UNet's attention must use (flash, cudnn, efficient,
  math); "auto" lets PyTorch pick. A forced backend that cannot run the inputs raises
  PyTorch's own "No available kernel" error: never a silent fallback.
- `vae_slice`: decode at most this many latents at once (0 = the whole batch). Default 4:
  batch 8 at 1024² peaks at 13.5 GiB in the decoder instead of 20.4 GiB, for 5 % more
  decode time (0.4 % of the batch); batch 1-4 are unchanged.
- precision "fp8" (`quantize_fp8`): the UNet's transformer Linear layers in float8 with
  dynamic per-row activation and weight scales (torchao), on GPUs of compute capability
  8.9 or newer; refused elsewhere. Eagerly it is SLOWER than bf16 (measured 1.7-1.8x on an
  H100: the per-call quantization is not fused); it is meant for torch.compile, where
  inductor fuses it (not yet measured: see bench/baselines/throughput-*-fp8.json).

Options are resolved against the device at engine start (`resolve_speed`): an explicit
"on" that the device cannot honour is refused there, "auto" picks what the device can do.

Measured on one H100 (bench/baselines/throughput-nvidia-h100-80gb-hbm3.json, batch 1, eager,
UNet step at CFG batch 2): plain 53.0 ms; CUDA graphs 44.3 ms (on by default); fused QKV
51.4 ms, SDPA flash 51.8, cudnn 53.9, efficient 56.2 (left to "auto"); channels_last 53.8
(compile only); CFG as two calls 103.5 ms (the engine batches it).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch
from torch.utils import _pytree as pytree

__all__ = [
    "ATTENTION_BACKENDS",
    "FP8_MIN_CAPABILITY",
    "GRAPH_MAX_BATCH",
    "TOGGLES",
    "AttentionBackend",
    "CudaGraphForward",
    "Speed",
    "SpeedOptions",
    "Toggle",
    "check_fp8_support",
    "fp8_linear_filter",
    "quantize_fp8",
    "resolve_speed",
    "sdpa_backend",
    "with_attention",
]

log = logging.getLogger(__name__)

Toggle = Literal["auto", "on", "off"]
TOGGLES: tuple[str, ...] = get_args(Toggle)
AttentionBackend = Literal["auto", "flash", "cudnn", "efficient", "math"]
ATTENTION_BACKENDS: tuple[str, ...] = get_args(AttentionBackend)
FP8_MIN_CAPABILITY = (8, 9)  # Ada, Hopper, Blackwell (the GB10 is 12.1)
GRAPH_MAX_BATCH = 4  # UNet rows: images x 2 with CFG (see CudaGraphForward)


@dataclass(frozen=True)
class SpeedOptions:
    """What was asked for (settings / EngineConfig); `resolve_speed` checks it on a device."""

    cuda_graphs: str = "auto"
    fuse_qkv: str = "auto"
    attention: str = "auto"
    vae_slice: int = 4


@dataclass(frozen=True)
class Speed:
    """The levers in force for one engine, resolved for its device and compile mode."""

    cuda_graphs: bool = False
    fuse_qkv: bool = False
    attention: str = "auto"
    vae_slice: int = 0


def _toggle(name: str, value: str) -> str:
    if value not in TOGGLES:
        raise ValueError(f"unknown {name}={value!r}; valid: {', '.join(TOGGLES)}")
    return value


def resolve_speed(options: SpeedOptions, device_type: str, compile_mode: str = "off") -> Speed:
    """The levers for a device: "auto" picks the measured winner the device can run.

    Raises:
        ValueError: An unknown value (naming the valid ones), a lever set "on" (or a forced
            attention backend other than "math") on a device that is not CUDA, CUDA graphs
            "on" together with torch.compile, or a negative `vae_slice`.
    """
    graphs = _toggle("cuda_graphs", options.cuda_graphs)
    fuse = _toggle("fuse_qkv", options.fuse_qkv)
    if options.attention not in ATTENTION_BACKENDS:
        raise ValueError(
            f"unknown attention={options.attention!r}; valid: {', '.join(ATTENTION_BACKENDS)}"
        )
    if isinstance(options.vae_slice, bool) or not isinstance(options.vae_slice, int):
        raise ValueError(f"vae_slice={options.vae_slice!r} is not a whole number (0 = off)")
    if options.vae_slice < 0:
        raise ValueError(f"vae_slice={options.vae_slice} is negative; use 0 (off) or a size")
    cuda = device_type == "cuda"
    if not cuda:
        for name, value in (("cuda_graphs", graphs), ("fuse_qkv", fuse)):
            if value == "on":
                raise ValueError(
                    f"{name}='on' needs a CUDA GPU but the engine runs on {device_type!r}; "
                    f"use {name} 'auto' or 'off' on a CPU"
                )
        if options.attention not in ("auto", "math"):
            raise ValueError(
                f"attention={options.attention!r} needs a CUDA GPU but the engine runs on "
                f"{device_type!r}; use attention 'auto' or 'math' on a CPU"
            )
    if graphs == "on" and compile_mode != "off":
        raise ValueError(
            f"cuda_graphs='on' captures the eager UNet, but compile={compile_mode!r} is set; "
            "use compile 'reduce-overhead' for CUDA graphs with torch.compile"
        )
    return Speed(
        # Measured (bench/baselines/throughput-*.json): graphs win at batch 1 in eager.
        cuda_graphs=cuda and compile_mode == "off" and graphs != "off",
        # Fusing pays only under torch.compile, and a fused UNet takes no LoRA: opt-in.
        fuse_qkv=cuda and fuse == "on",
        attention=options.attention,
        vae_slice=options.vae_slice,
    )


def sdpa_backend(name: str) -> AbstractContextManager[None]:
    """A context that forces SDPA onto one backend ("auto": PyTorch's own choice)."""
    if name == "auto":
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backend = {
        "flash": SDPBackend.FLASH_ATTENTION,
        "cudnn": SDPBackend.CUDNN_ATTENTION,
        "efficient": SDPBackend.EFFICIENT_ATTENTION,
        "math": SDPBackend.MATH,
    }[name]
    return sdpa_kernel([backend])


def with_attention(forward: Callable[..., Any], backend: str) -> Callable[..., Any]:
    """`forward` run inside `sdpa_backend(backend)` ("auto" returns it unchanged)."""
    if backend == "auto":
        return forward

    def run(*args: Any, **kwargs: Any) -> Any:
        with sdpa_backend(backend):
            return forward(*args, **kwargs)

    return run


@dataclass
class _Captured:
    graph: torch.cuda.CUDAGraph
    inputs: list[torch.Tensor]
    output: Any


def _signature(leaves: list[Any]) -> tuple[Any, ...]:
    return tuple(
        (tuple(x.shape), x.dtype, x.device) if isinstance(x, torch.Tensor) else x for x in leaves
    )


def _clone_output(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.clone()
    if isinstance(out, tuple):
        return tuple(_clone_output(x) for x in out)
    if hasattr(out, "sample"):  # diffusers' UNet2DConditionOutput
        return type(out)(sample=out.sample.clone())
    raise TypeError(f"cannot clone a CUDA-graph output of type {type(out).__name__}")


class CudaGraphForward:
    """Replay a CUDA graph of `forward`, captured once per input signature.

    The first call with new shapes/dtypes (or new non-tensor arguments) runs `forward` twice
    on a side stream to warm up, then captures it with static input buffers; later calls copy
    their tensors into those buffers and replay. Weights are read in place, so a LoRA that
    patches them in place (`engine.models.lora.applied`) is honoured by the replay. The
    output is cloned, so a caller may keep it past the next call. All graphs share one memory
    pool: they never run at once.

    A call whose first tensor has more than `max_batch` rows runs `forward` eagerly: at UNet
    batch 16 (8 images with CFG) a graph saved 0.3 % on an H100 and kept 1.5 GiB more
    reserved, while at batch 2 it saves 16 % (bench/baselines/throughput-nvidia-h100-*.json).

    Args:
        forward: The module's eager forward (tensors and plain values in, tensors out).
        name: Used in the log line of each capture.
        max_batch: The largest leading dimension that is captured (0: no limit).
    """

    def __init__(
        self, forward: Callable[..., Any], name: str = "UNet", max_batch: int = GRAPH_MAX_BATCH
    ) -> None:
        self._forward = forward
        self._name = name
        self._max_batch = max_batch
        self._graphs: dict[tuple[Any, ...], _Captured] = {}
        self._pool: Any = None

    @property
    def captured(self) -> int:
        """How many signatures have a graph."""
        return len(self._graphs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves, spec = pytree.tree_flatten((args, kwargs))
        first = next((x for x in leaves if isinstance(x, torch.Tensor) and x.ndim > 0), None)
        if self._max_batch and first is not None and first.shape[0] > self._max_batch:
            return self._forward(*args, **kwargs)
        key = (spec, _signature(leaves))
        found = self._graphs.get(key)
        if found is None:
            found = self._capture(leaves, spec)
            self._graphs[key] = found
        tensors = (x for x in leaves if isinstance(x, torch.Tensor))
        for static, given in zip(found.inputs, tensors, strict=True):
            static.copy_(given)
        found.graph.replay()
        return _clone_output(found.output)

    def _capture(self, leaves: list[Any], spec: Any) -> _Captured:
        # Plain (not inference) tensors: the engine runs nodes under inference_mode, a
        # warm-up or a benchmark may not, and an inference tensor cannot be updated in place
        # outside it.
        with torch.inference_mode(False):
            static = [x.clone() if isinstance(x, torch.Tensor) else x for x in leaves]
        args, kwargs = pytree.tree_unflatten(static, spec)
        side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.no_grad():
            for _ in range(2):  # cuBLAS/cuDNN handles and workspaces before the capture
                self._forward(*args, **kwargs)
        torch.cuda.current_stream().wait_stream(side)
        if self._pool is None:
            self._pool = torch.cuda.graph_pool_handle()
        graph = torch.cuda.CUDAGraph()
        with (
            torch.no_grad(),
            torch.cuda.graph(graph, pool=self._pool, capture_error_mode="thread_local"),
        ):
            output = self._forward(*args, **kwargs)
        shapes = [tuple(x.shape) for x in static if isinstance(x, torch.Tensor)]
        log.info("%s: captured a CUDA graph for input shapes %s", self._name, shapes[:1])
        return _Captured(graph, [x for x in static if isinstance(x, torch.Tensor)], output)


def check_fp8_support(device: torch.device) -> None:
    """Refuse precision "fp8" where it cannot run.

    Raises:
        ValueError: Not a CUDA device, a GPU older than compute capability 8.9, or torchao
            not installed; the message says what to use instead.
    """
    if device.type != "cuda":
        raise ValueError(
            f"precision='fp8' needs a CUDA GPU with fp8 (compute capability >= 8.9) but the "
            f"engine runs on {device.type!r}; use precision 'auto' (fp32 on a CPU)"
        )
    capability = torch.cuda.get_device_capability(device)
    if capability < FP8_MIN_CAPABILITY:
        name = torch.cuda.get_device_name(device)
        raise ValueError(
            f"precision='fp8' needs compute capability >= 8.9 (Ada, Hopper, Blackwell) but "
            f"{name} is {capability[0]}.{capability[1]}; use precision 'bf16' or 'fp16'"
        )
    if importlib.util.find_spec("torchao") is None:
        raise ValueError(
            "precision='fp8' needs torchao, which is not installed; "
            "pip install 'dgx-pixels[fp8]' (or torchao matching your torch)"
        )


def fp8_linear_filter(module: torch.nn.Module, fqn: str) -> bool:
    """The Linear layers fp8 pays on: inside the transformer blocks (many rows per call)
    and with both dimensions multiples of 16 (what fp8 matrix products need)."""
    return (
        isinstance(module, torch.nn.Linear)
        and ("transformer_blocks" in fqn or fqn.endswith(("proj_in", "proj_out")))
        and module.in_features % 16 == 0
        and module.out_features % 16 == 0
    )


def quantize_fp8(unet: torch.nn.Module) -> int:
    """Quantize the UNet's transformer Linear layers to float8 (dynamic per-row scales).

    Returns:
        The number of Linear layers quantized.
    """
    from torchao.quantization import (  # type: ignore[import-not-found,unused-ignore]
        Float8DynamicActivationFloat8WeightConfig,
        PerRow,
        quantize_,
    )

    count = sum(1 for fqn, m in unet.named_modules() if fp8_linear_filter(m, fqn))
    quantize_(
        unet,
        Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()),
        filter_fn=fp8_linear_filter,
    )
    log.info("fp8: %d Linear layers of the UNet quantized (torchao, per-row scales)", count)
    return count
