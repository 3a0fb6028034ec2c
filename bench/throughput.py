"""SDXL throughput of the embedded engine: the real architecture, 1024², 30 steps, CFG.

Builds the full SDXL base UNet and VAE from `engine/configs` with random weights (timing
does not depend on weight values) or loads a real checkpoint with `--checkpoint`, then
runs the ENGINE's own sampling path (`engine.sampling.ksampler.sample` over the engine's
MODEL/VAE wrappers: CFG-batched UNet calls, ComfyUI noise, euler/normal) and VAE decode.
It reports batch-1 latency (s/image), batch-N images/min, peak VRAM and the per-component
split (UNet step ms, VAE decode ms) as JSON in `bench/baselines/`.

    .venv/bin/python bench/throughput.py                 # GPU: writes throughput-<device>.json
    .venv/bin/python bench/throughput.py --compile       # torch.compile UNet + VAE decoder
    .venv/bin/python bench/throughput.py --compile --compile-mode reduce-overhead  # + CUDA graphs
    .venv/bin/python bench/throughput.py --tiny          # CPU check: tiny model, 256², 2 steps

Reference on one H200 (plain diffusers): 2.49 s/image at batch 1, 51 img/min at batch 8;
torch.compile + channels_last: 1.12 s/image.
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ helpers, also when loaded by path

from baseline import write_baseline

from engine.models.architecture import SDXLArchitecture, infer_architecture
from engine.models.checkpoint import LoadedCheckpoint, load_checkpoint
from engine.models.compile import compile_checkpoint
from engine.models.device import DeviceChoice, select_device
from engine.models.sdxl import SDXLModel, SDXLVae
from engine.models.synthetic import SDXL_BASE_SPEC, SyntheticSpec, build_shapes
from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.ksampler import SampleRequest, sample
from engine.sampling.noise import prepare_noise

logger = logging.getLogger("bench.throughput")

BASELINES = Path(__file__).resolve().parent / "baselines"
REFERENCE = {
    "diffusers_eager_s_per_image_b1": 2.49,
    "diffusers_eager_img_per_min_b8": 51.0,
    "diffusers_compile_s_per_image_b1": 1.12,
    "device": "NVIDIA H200",
}


@dataclass(frozen=True)
class RunTiming:
    """One generation: sampling seconds, decode seconds, images, peak VRAM."""

    sample_s: float
    decode_s: float
    images: int
    peak_vram_gib: float | None

    @property
    def total_s(self) -> float:
        return self.sample_s + self.decode_s


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _random_checkpoint(arch: SDXLArchitecture, choice: DeviceChoice) -> LoadedCheckpoint:
    """The UNet and VAE built straight from configs on the device, random init."""
    import diffusers

    lib: Any = diffusers  # untyped constructors
    with torch.device(choice.device):
        unet = lib.UNet2DConditionModel(**arch.unet.diffusers_config()).to(choice.dtype)
        vae = lib.AutoencoderKL(**arch.vae.diffusers_config()).to(choice.vae_dtype)
    for module in (unet, vae):
        module.eval().requires_grad_(False)
    return LoadedCheckpoint(Path("<random weights>"), arch, unet, None, None, vae)


def _conditioning(arch: SDXLArchitecture, seed: int) -> list[list[Any]]:
    # Text encoding is ~0.05% of the FLOPs; random embeddings of the right shape stand in.
    gen = torch.Generator().manual_seed(seed)
    context = torch.randn(1, 77, arch.unet.context_dim, generator=gen)
    pooled = torch.randn(1, arch.clip_g.projection_dim, generator=gen)
    return [[context, {"pooled_output": pooled}]]


def _run_once(
    model: SDXLModel,
    vae: SDXLVae,
    arch: SDXLArchitecture,
    size: int,
    batch: int,
    request: SampleRequest,
) -> RunTiming:
    device = model.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    latent = torch.zeros(batch, 4, size // 8, size // 8)
    noise = prepare_noise(latent, request.seed)
    positive, negative = _conditioning(arch, 1), _conditioning(arch, 2)
    _sync(device)
    start = time.perf_counter()
    with model.patched():
        out = sample(model, noise, positive, negative, latent, request)
    _sync(device)
    sampled = time.perf_counter()
    vae.decode(out)
    _sync(device)
    done = time.perf_counter()
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return RunTiming(sampled - start, done - sampled, batch, peak)


def _measure(run: Callable[[], RunTiming], repeats: int, label: str) -> list[RunTiming]:
    logger.info("%s: warm-up", label)
    run()  # first call pays compile/cudnn autotune/allocator growth
    timings = []
    for i in range(repeats):
        timings.append(run())
        logger.info("%s: run %d/%d %.3f s", label, i + 1, repeats, timings[-1].total_s)
    return timings


def _summary(timings: list[RunTiming], steps: int) -> dict[str, Any]:
    best = min(timings, key=lambda t: t.total_s)
    med_total = statistics.median(t.total_s for t in timings)
    med_sample = statistics.median(t.sample_s for t in timings)
    return {
        "images": best.images,
        "seconds_median": round(med_total, 4),
        "seconds_per_image": round(med_total / best.images, 4),
        "images_per_min": round(60.0 * best.images / med_total, 2),
        "unet_step_ms": round(1000.0 * med_sample / steps, 2),
        "vae_decode_ms": round(1000.0 * statistics.median(t.decode_s for t in timings), 2),
        "peak_vram_gib": round(max(t.peak_vram_gib or 0.0 for t in timings), 3)
        if best.peak_vram_gib
        else None,
        "runs_s": [round(t.total_s, 4) for t in timings],
    }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()})"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--checkpoint", type=Path, help="A real SDXL .safetensors (default: random weights)."
    )
    p.add_argument(
        "--tiny", action="store_true", help="Tiny test model at 256², 2 steps (CPU check)."
    )
    p.add_argument("--steps", type=int, help="Sampling steps (default 30, tiny 2).")
    p.add_argument("--size", type=int, help="Square resolution (default 1024, tiny 256).")
    p.add_argument("--batch", type=int, default=8, help="Batch for the throughput run (default 8).")
    p.add_argument("--repeats", type=int, help="Timed runs per batch size (default 3, tiny 1).")
    p.add_argument("--cfg", type=float, default=7.0, help="CFG scale (default 7; CFG batches 2x).")
    p.add_argument(
        "--compile", action="store_true", help="torch.compile UNet + VAE decoder, channels_last."
    )
    p.add_argument(
        "--compile-mode",
        default="default",
        help="torch.compile mode: default | reduce-overhead (CUDA graphs) | max-autotune.",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N.")
    p.add_argument("--precision", default="auto", help="auto (fp16 on CUDA) | fp16 | bf16 | fp32.")
    p.add_argument(
        "--out", type=Path, help="JSON path (default bench/baselines/throughput-<device>.json)."
    )
    p.add_argument("--note", default="", help="Free text stored in the JSON (e.g. 'CPU shared').")
    return p.parse_args(argv)


def _build(
    args: argparse.Namespace, choice: DeviceChoice
) -> tuple[SDXLArchitecture, LoadedCheckpoint]:
    if args.checkpoint:
        ckpt = load_checkpoint(args.checkpoint, str(choice.device), choice.dtype, choice.vae_dtype)
        return ckpt.architecture, ckpt
    arch = infer_architecture(
        build_shapes(SyntheticSpec() if args.tiny else SDXL_BASE_SPEC), "config"
    )
    return arch, _random_checkpoint(arch, choice)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and write its JSON; returns the result dict."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    steps = args.steps or (2 if args.tiny else 30)
    size = args.size or (256 if args.tiny else 1024)
    choice = select_device(args.device, args.precision)
    torch.backends.cuda.matmul.allow_tf32 = True
    # 1. build the model (random weights from the shipped configs, or a real checkpoint)
    arch, ckpt = _build(args, choice)
    if args.compile:
        compile_checkpoint(ckpt, args.compile_mode)
    model, vae = SDXLModel(ckpt, DiscreteSchedule()), SDXLVae(ckpt)
    request = SampleRequest(
        steps=steps, cfg=args.cfg, sampler_name="euler", scheduler="normal", seed=42
    )
    # 2. batch 1 latency, then 3. batch-N throughput, each after a warm-up run
    repeats = args.repeats or (1 if args.tiny else 3)
    b1 = _measure(lambda: _run_once(model, vae, arch, size, 1, request), repeats, "batch 1")
    bn = _measure(
        lambda: _run_once(model, vae, arch, size, args.batch, request),
        repeats,
        f"batch {args.batch}",
    )
    # 4. write the JSON next to the other baselines
    import diffusers

    name = _device_name(choice.device)
    result = {
        "benchmark": "throughput",
        "model": "tiny test config"
        if args.tiny
        else (
            str(args.checkpoint)
            if args.checkpoint
            else "SDXL base 1.0 architecture, random weights"
        ),
        "unet_params_m": round(sum(p.numel() for p in ckpt.unet.parameters()) / 1e6, 1),
        "device": name,
        "dtype": str(choice.dtype).removeprefix("torch."),
        "vae_dtype": str(choice.vae_dtype).removeprefix("torch."),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "resolution": size,
        "steps": steps,
        "cfg": args.cfg,
        "sampler": "euler/normal (engine.sampling.ksampler.sample)",
        "compile": args.compile,
        "compile_mode": args.compile_mode if args.compile else None,
        "batch_1": _summary(b1, steps),
        f"batch_{args.batch}": _summary(bn, steps),
        "reference_plain_diffusers": REFERENCE,
        "note": args.note,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    mode = "" if args.compile_mode == "default" else f"-{args.compile_mode}"
    suffix = ("-tiny" if args.tiny else "") + (f"-compile{mode}" if args.compile else "")
    out = (
        args.out
        or BASELINES
        / f"throughput-{_slug(name if choice.device.type == 'cuda' else 'cpu')}{suffix}.json"
    )
    write_baseline(out, result)
    logger.info(
        "batch 1: %.3f s/image, batch %d: %.1f img/min, UNet step %.1f ms, VAE %.1f ms -> %s",
        result["batch_1"]["seconds_per_image"],
        args.batch,
        result[f"batch_{args.batch}"]["images_per_min"],
        result["batch_1"]["unet_step_ms"],
        result["batch_1"]["vae_decode_ms"],
        out,
    )
    return result


if __name__ == "__main__":
    main()
