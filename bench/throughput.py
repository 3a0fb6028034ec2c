"""SDXL speed of the embedded engine beside plain diffusers, in ONE process on one GPU.

Both sides run the same UNet and VAE objects (the real SDXL architecture with random
weights, or `--checkpoint`), 1024², 30 Euler steps, CFG 7, and time the same stages: the
sampling loop plus the VAE decode (no text encoding, no PIL on either side; both hand back
a float image on the CPU). The engine runs its real sampling path
(`engine.sampling.ksampler.sample` over `SDXLModel`/`SDXLVae`); diffusers runs
`StableDiffusionXLPipeline(...)(prompt_embeds=..., output_type="latent")` and
`vae.decode`. Every engine figure is recorded with its ratio to diffusers from this run
(only same-process ratios are meaningful on a VM with a noisy CPU).

Sections, in this order, each written to the JSON as soon as it ends (a crash or the time
budget keeps what was done; a section that fails records its error and the next runs):

  eager        batch 1 and batch N: diffusers, engine with no levers, engine defaults
               (CUDA graphs) -> s/img, img/min, UNet step ms, VAE ms, peak VRAM, ratios
  compiled     torch.compile (--compile-mode, default reduce-overhead) of the engine's
               UNet and VAE decoder, batch 1 and N, compile seconds
  few_step     lcm + sgm_uniform, 4 and 8 steps, CFG 1, compiled, batch N (then batch 1)
  levers       batch 1, eager, one lever at a time against the plain engine: CUDA graphs,
               fused QKV, SDPA flash / cudnn / efficient, channels_last, CFG not batched
  vae          decode alone: fp32 (the official VAE's upcast) vs bf16 vs fp16, and batch N
               in slices of 4 / 2 / 1 (peak VRAM)
  fp8          precision fp8 (torchao) against bf16 on the same seed: speed, PSNR and the
               pixelized sprites' agreement (refused with the reason on other devices)
  fp8_compiled the fp8 UNet compiled (when the budget allows)
  reference_compiled  diffusers over the compiled UNet (when the budget allows)

    .venv/bin/python bench/throughput.py                      # GPU, all sections
    .venv/bin/python bench/throughput.py --budget-s 480 --copy-to "$OUT"
    .venv/bin/python bench/throughput.py --sections eager levers
    .venv/bin/python bench/throughput.py --tiny --device cpu  # CPU check: tiny model, 64²

The JSON goes to bench/baselines/throughput-<gpu>.json (`--out` to change), with
torch.cuda.get_device_name in it.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import platform
import shutil
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ helpers, also when loaded by path

from baseline import write_baseline

from engine.models.architecture import SDXLArchitecture, infer_architecture
from engine.models.checkpoint import LoadedCheckpoint, load_checkpoint
from engine.models.compile import CompiledWithFallback, tune_checkpoint
from engine.models.device import DeviceChoice, select_device
from engine.models.sdxl import SDXLModel, SDXLVae
from engine.models.speed import (
    CudaGraphForward,
    Speed,
    check_fp8_support,
    quantize_fp8,
    with_attention,
)
from engine.models.synthetic import SDXL_BASE_SPEC, SyntheticSpec, build_shapes
from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.guidance import CFGDenoiser
from engine.sampling.ksampler import SampleRequest, sample
from engine.sampling.noise import prepare_noise

logger = logging.getLogger("bench.throughput")

BASELINES = Path(__file__).resolve().parent / "baselines"
SECTIONS = (
    "eager",
    "compiled",
    "few_step",
    "levers",
    "vae",
    "fp8",
    "fp8_compiled",
    "reference_compiled",
)
# Rough seconds each section takes at full size on an H100/H200 (compiles included): a
# section that would not fit in what is left of --budget-s is skipped and says so.
ESTIMATE_S = {
    "eager": 90,
    "compiled": 200,
    "few_step": 25,
    "levers": 55,
    "vae": 20,
    "fp8": 50,
    "fp8_compiled": 170,
    "reference_compiled": 150,
}
WEIGHT_SEED = 1234


@dataclass(frozen=True)
class RunTiming:
    """One generation: sampling seconds, decode seconds, images, peak VRAM."""

    sample_s: float
    decode_s: float
    images: int
    peak_vram_gib: float | None
    peak_reserved_gib: float | None = None

    @property
    def total_s(self) -> float:
        return self.sample_s + self.decode_s


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def _peak_reserved(device: torch.device) -> float | None:
    # Reserved, not allocated: a CUDA graph's private pool holds its intermediates there.
    return torch.cuda.max_memory_reserved(device) / 2**30 if device.type == "cuda" else None


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _build_unet(arch: SDXLArchitecture, device: torch.device, dtype: torch.dtype) -> Any:
    """The UNet from the shipped config, random weights from WEIGHT_SEED (same every call)."""
    import diffusers

    lib: Any = diffusers  # untyped constructors
    torch.manual_seed(WEIGHT_SEED)
    with torch.device(device):
        unet = lib.UNet2DConditionModel(**arch.unet.diffusers_config()).to(dtype)
    return unet.eval().requires_grad_(False)


def _random_checkpoint(arch: SDXLArchitecture, choice: DeviceChoice) -> LoadedCheckpoint:
    """The UNet and VAE built straight from configs on the device, random init."""
    import diffusers

    lib: Any = diffusers
    unet = _build_unet(arch, choice.device, choice.dtype)
    with torch.device(choice.device):
        vae = lib.AutoencoderKL(**arch.vae.diffusers_config()).to(choice.vae_dtype)
    vae.eval().requires_grad_(False)
    return LoadedCheckpoint(Path("<random weights>"), arch, unet, None, None, vae)


def _conditioning(arch: SDXLArchitecture, seed: int) -> list[list[Any]]:
    # Text encoding is ~0.05% of the FLOPs; random embeddings of the right shape stand in.
    gen = torch.Generator().manual_seed(seed)
    context = torch.randn(1, 77, arch.unet.context_dim, generator=gen)
    pooled = torch.randn(1, arch.clip_g.projection_dim, generator=gen)
    return [[context, {"pooled_output": pooled}]]


@dataclass(frozen=True)
class Workload:
    """What one timed generation is: size, batch, steps, CFG, sampler and scheduler."""

    size: int
    batch: int
    steps: int
    cfg: float
    sampler: str = "euler"
    scheduler: str = "normal"
    seed: int = 42

    def request(self) -> SampleRequest:
        return SampleRequest(
            steps=self.steps,
            cfg=self.cfg,
            sampler_name=self.sampler,
            scheduler=self.scheduler,
            seed=self.seed,
        )


def run_engine(
    ckpt: LoadedCheckpoint, work: Workload, keep: list[torch.Tensor] | None = None
) -> RunTiming:
    """The engine's path: KSampler's `sample` on SDXLModel, then SDXLVae.decode."""
    model, vae = SDXLModel(ckpt, DiscreteSchedule()), SDXLVae(ckpt)
    device = model.device
    arch = ckpt.architecture
    latent = torch.zeros(work.batch, 4, work.size // 8, work.size // 8)
    noise = prepare_noise(latent, work.seed)
    positive, negative = _conditioning(arch, 1), _conditioning(arch, 2)
    _reset_peak(device)
    _sync(device)
    start = time.perf_counter()
    with model.patched():
        out = sample(model, noise, positive, negative, latent, work.request())
    _sync(device)
    sampled = time.perf_counter()
    image = vae.decode(out)
    done = time.perf_counter()
    if keep is not None:
        keep.append(image)
    return RunTiming(
        sampled - start, done - sampled, work.batch, _peak(device), _peak_reserved(device)
    )


def _pipeline(ckpt: LoadedCheckpoint) -> Any:
    """StableDiffusionXLPipeline over the checkpoint's own UNet and VAE, no text encoders."""
    import diffusers

    lib: Any = diffusers
    scheduler = lib.EulerDiscreteScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="leading",
        steps_offset=1,
    )
    pipe = lib.StableDiffusionXLPipeline(
        vae=ckpt.vae,
        text_encoder=None,
        text_encoder_2=None,
        tokenizer=None,
        tokenizer_2=None,
        unet=ckpt.unet,
        scheduler=scheduler,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run_diffusers(pipe: Any, ckpt: LoadedCheckpoint, work: Workload) -> RunTiming:
    """Plain diffusers: the pipeline's loop to latents, then `vae.decode` + postprocess."""
    unet = ckpt.unet
    param = next(unet.parameters())
    device, dtype = param.device, param.dtype
    (ctx, extra), (nctx, nextra) = (
        _conditioning(ckpt.architecture, 1)[0],
        _conditioning(ckpt.architecture, 2)[0],
    )
    kwargs = {
        "prompt_embeds": ctx.to(device, dtype),
        "negative_prompt_embeds": nctx.to(device, dtype),
        "pooled_prompt_embeds": extra["pooled_output"].to(device, dtype),
        "negative_pooled_prompt_embeds": nextra["pooled_output"].to(device, dtype),
    }
    _reset_peak(device)
    _sync(device)
    start = time.perf_counter()
    latents = pipe(
        **kwargs,
        num_images_per_prompt=work.batch,
        num_inference_steps=work.steps,
        guidance_scale=work.cfg,
        height=work.size,
        width=work.size,
        output_type="latent",
        generator=torch.Generator().manual_seed(work.seed),
    ).images
    _sync(device)
    sampled = time.perf_counter()
    vae = pipe.vae
    vae_param = next(vae.parameters())
    with torch.no_grad():
        image = vae.decode(
            latents.to(vae_param.dtype) / vae.config.scaling_factor, return_dict=False
        )[0]
        image = pipe.image_processor.postprocess(image, output_type="pt").float().cpu()
    done = time.perf_counter()
    return RunTiming(
        sampled - start, done - sampled, work.batch, _peak(device), _peak_reserved(device)
    )


def summarize(timings: list[RunTiming], steps: int, warmup_s: float | None) -> dict[str, Any]:
    """Median s/img, img/min, UNet step and VAE ms, peak VRAM and every run's seconds."""
    images = timings[0].images
    med_total = statistics.median(t.total_s for t in timings)
    med_sample = statistics.median(t.sample_s for t in timings)
    peaks = [t.peak_vram_gib for t in timings if t.peak_vram_gib is not None]
    reserved = [t.peak_reserved_gib for t in timings if t.peak_reserved_gib is not None]
    return {
        "images": images,
        "seconds_median": round(med_total, 4),
        "seconds_per_image": round(med_total / images, 4),
        "images_per_min": round(60.0 * images / med_total, 2),
        "unet_step_ms": round(1000.0 * med_sample / steps, 2),
        "vae_decode_ms": round(1000.0 * statistics.median(t.decode_s for t in timings), 2),
        "peak_vram_gib": round(max(peaks), 3) if peaks else None,
        "peak_reserved_gib": round(max(reserved), 3) if reserved else None,
        "warmup_s": None if warmup_s is None else round(warmup_s, 2),
        "runs_s": [round(t.total_s, 4) for t in timings],
    }


def measure(run: Callable[[], RunTiming], repeats: int, label: str, steps: int) -> dict[str, Any]:
    """One warm-up call (compile, graph capture, cuDNN set-up), then `repeats` timed ones."""
    began = time.perf_counter()
    run()
    warmup = time.perf_counter() - began
    timings = [run() for _ in range(repeats)]
    out = summarize(timings, steps, warmup)
    logger.info(
        "%-34s %7.3f s/img %7.1f img/min  step %6.1f ms  VAE %6.1f ms  peak %s GiB",
        label,
        out["seconds_per_image"],
        out["images_per_min"],
        out["unet_step_ms"],
        out["vae_decode_ms"],
        out["peak_vram_gib"],
    )
    return out


def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    """s/img of `a` over s/img of `b` (below 1: `a` is faster)."""
    if not a or not b:
        return None
    return round(a["seconds_per_image"] / b["seconds_per_image"], 3)


@contextmanager
def plain_forward(unet: Any) -> Iterator[None]:
    """The UNet's class forward for the block (no wrapper the engine or a lever put on it)."""
    saved = unet.__dict__.pop("forward", None)
    try:
        yield
    finally:
        if saved is not None:
            unet.forward = saved


@contextmanager
def wrapped_forward(unet: Any, wrap: Callable[[Any], Any]) -> Iterator[Any]:
    """`unet.forward = wrap(current forward)` for the block, then the previous one back."""
    saved = unet.__dict__.get("forward")  # None: the class's own forward
    wrapper = wrap(unet.forward)
    unet.forward = wrapper
    try:
        yield wrapper
    finally:
        if saved is None:
            unet.__dict__.pop("forward", None)
        else:
            unet.forward = saved
        if torch.cuda.is_available():
            gc.collect()  # the wrapper's CUDA graphs hold a memory pool until collected
            torch.cuda.empty_cache()


@contextmanager
def unbatched_cfg() -> Iterator[None]:
    """CFG as two UNet calls (uncond, then cond) instead of one call at twice the batch."""
    original = CFGDenoiser._guided

    def guided(self: CFGDenoiser, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if math.isclose(self.cfg, 1.0):
            return self._mean(x, sigma, self.positive)
        cond, uncond = self._mean(x, sigma, self.positive), self._mean(x, sigma, self.negative)
        return uncond + (cond - uncond) * self.cfg

    CFGDenoiser._guided = guided  # type: ignore[method-assign]
    try:
        yield
    finally:
        CFGDenoiser._guided = original  # type: ignore[method-assign]


@contextmanager
def fused_qkv(unet: Any) -> Iterator[None]:
    """diffusers' fused q/k/v projections for the block."""
    with torch.no_grad():
        unet.fuse_qkv_projections()
    try:
        yield
    finally:
        unet.unfuse_qkv_projections()


@contextmanager
def channels_last(unet: Any) -> Iterator[None]:
    """The UNet's weights in channels_last for the block (eager)."""
    unet.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        unet.to(memory_format=torch.contiguous_format)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio of two 0..1 images, in dB (inf when equal)."""
    mse = float(torch.mean((a.float() - b.float()) ** 2))
    return math.inf if mse == 0 else round(10.0 * math.log10(1.0 / mse), 2)


def sprite_agreement(a: torch.Tensor, b: torch.Tensor, cells: int = 64) -> dict[str, Any]:
    """Pixelize `a`, then `b` on `a`'s grid and palette: the share of equal sprite pixels."""
    import numpy as np

    from comfy_nodes.pixel.pipeline import PixelizeOptions, pixelize

    def rgba(img: torch.Tensor) -> Any:
        rgb = (img.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])

    base = PixelizeOptions(size=(cells, cells), n_colors=16, remove_background="none")
    first = pixelize(rgba(a), base)
    second = pixelize(rgba(b), replace(base, palette=first.palette, grid=first.grid))
    same = first.sprite.shape == second.sprite.shape
    share = float(np.mean(np.all(first.sprite == second.sprite, axis=-1))) if same else 0.0
    return {"cells": list(first.sprite.shape[:2]), "equal_pixels": round(share, 4)}


class Bench:
    """One benchmark run: the model, the budget, and the JSON written after every section."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.began = time.perf_counter()
        self.choice = select_device(args.device, args.precision)
        self.device = self.choice.device
        self.cuda = self.device.type == "cuda"
        self.steps = args.steps or (2 if args.tiny else 30)
        self.size = args.size or (64 if args.tiny else 1024)
        self.repeats = args.repeats or (1 if args.tiny else 3)
        torch.backends.cuda.matmul.allow_tf32 = True
        self.arch, self.ckpt = self._build()
        self.pipe = _pipeline(self.ckpt)
        self.result = self._header()
        self.out = args.out or BASELINES / f"throughput-{_slug(self.result['device'])}.json"

    def _build(self) -> tuple[SDXLArchitecture, LoadedCheckpoint]:
        args, choice = self.args, self.choice
        if args.checkpoint:
            ckpt = load_checkpoint(
                args.checkpoint, str(self.device), choice.dtype, choice.vae_dtype
            )
            return ckpt.architecture, ckpt
        spec = SyntheticSpec() if args.tiny else SDXL_BASE_SPEC
        arch = infer_architecture(build_shapes(spec), "config")
        return arch, _random_checkpoint(arch, choice)

    def _header(self) -> dict[str, Any]:
        import diffusers

        return {
            "benchmark": "throughput",
            "model": str(self.args.checkpoint or "")
            or ("tiny test config" if self.args.tiny else "SDXL base 1.0 architecture, random"),
            "unet_params_m": round(sum(p.numel() for p in self.ckpt.unet.parameters()) / 1e6, 1),
            "device": _device_name(self.device),
            "capability": list(torch.cuda.get_device_capability(self.device))
            if self.cuda
            else None,
            "dtype": str(self.choice.dtype).removeprefix("torch."),
            "vae_dtype": str(self.choice.vae_dtype).removeprefix("torch."),
            "torch": torch.__version__,
            "diffusers": diffusers.__version__,
            "python": platform.python_version(),
            "resolution": self.size,
            "steps": self.steps,
            "cfg": self.args.cfg,
            "batch": self.args.batch,
            "repeats": self.repeats,
            "timed": "sampling loop + VAE decode to a float image on the CPU, both sides",
            "reference": "diffusers StableDiffusionXLPipeline (EulerDiscrete, leading spacing), "
            "same UNet/VAE objects, same process",
            "budget_s": self.args.budget_s,
            "note": self.args.note,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sections": {},
        }

    # --- plumbing -----------------------------------------------------------------------------
    def work(self, batch: int, **changes: Any) -> Workload:
        base = Workload(self.size, batch, self.steps, self.args.cfg)
        return replace(base, **changes)

    def engine(
        self,
        label: str,
        work: Workload,
        ckpt: LoadedCheckpoint | None = None,
        repeats: int | None = None,
    ) -> Any:
        ckpt = ckpt or self.ckpt
        repeats = repeats or (self.repeats if work.batch == 1 else max(1, self.repeats - 2))
        return measure(lambda: run_engine(ckpt, work), repeats, label, work.steps)

    def diffusers(self, label: str, work: Workload) -> Any:
        repeats = self.repeats if work.batch == 1 else max(1, self.repeats - 2)
        return measure(
            lambda: run_diffusers(self.pipe, self.ckpt, work), repeats, label, work.steps
        )

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def save(self) -> None:
        self.result["elapsed_s"] = round(self.elapsed(), 1)
        write_baseline(self.out, self.result)
        if self.args.copy_to:
            self.args.copy_to.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.out, self.args.copy_to / self.out.name)

    def run_section(self, name: str, body: Callable[[dict[str, Any]], None]) -> None:
        """Run one section into its own dict; a skip or an error is recorded, not raised."""
        record: dict[str, Any] = {}
        self.result["sections"][name] = record
        budget = self.args.budget_s
        scale = 1.0 if not self.args.tiny else 0.0
        if budget is not None and self.elapsed() + ESTIMATE_S[name] * scale > budget:
            record["skipped"] = (
                f"time budget: {self.elapsed():.0f} s used of {budget} s, "
                f"this section needs ~{ESTIMATE_S[name]} s"
            )
            logger.info("%s: skipped (%s)", name, record["skipped"])
            self.save()
            return
        began = time.perf_counter()
        logger.info("== %s (at %.0f s)", name, self.elapsed())
        try:
            body(record)
        except Exception as exc:  # a failed section must not lose the others
            record["error"] = f"{type(exc).__name__}: {exc}"[:2000]
            logger.error("%s failed:\n%s", name, traceback.format_exc())
        record["section_s"] = round(time.perf_counter() - began, 1)
        self.save()

    # --- sections -----------------------------------------------------------------------------
    def eager(self, rec: dict[str, Any]) -> None:
        graphs = Speed(cuda_graphs=self.cuda)
        for batch in sorted({1, self.args.batch}):
            work = self.work(batch)
            row: dict[str, Any] = {}
            rec[f"batch_{batch}"] = row
            with plain_forward(self.ckpt.unet):
                row["diffusers"] = self.diffusers(f"diffusers eager b{batch}", work)
                row["engine_plain"] = self.engine(f"engine eager plain b{batch}", work)
                if graphs.cuda_graphs:
                    with wrapped_forward(self.ckpt.unet, CudaGraphForward):
                        row["engine"] = self.engine(f"engine eager + CUDA graphs b{batch}", work)
                else:
                    row["engine"] = row["engine_plain"]
            row["engine_levers"] = "cuda_graphs" if graphs.cuda_graphs else "none (CPU)"
            row["engine_over_diffusers"] = ratio(row["engine"], row["diffusers"])
            row["engine_plain_over_diffusers"] = ratio(row["engine_plain"], row["diffusers"])
            self.save()

    def levers(self, rec: dict[str, Any]) -> None:
        work, unet = self.work(1), self.ckpt.unet
        if self.ckpt.compile_mode != "off":  # the compiled section left channels_last weights
            unet.to(memory_format=torch.contiguous_format)
        with plain_forward(unet):
            rec["plain"] = base = self.engine("lever: none", work, repeats=1)
            variants: dict[str, Callable[[], Any]] = {
                "cfg_not_batched": unbatched_cfg,
                "fused_qkv": lambda: fused_qkv(unet),
                "channels_last": lambda: channels_last(unet),
            }
            if self.cuda:
                variants["cuda_graphs"] = lambda: wrapped_forward(unet, CudaGraphForward)
                for backend in ("flash", "cudnn", "efficient"):
                    variants[f"sdpa_{backend}"] = _attention_lever(unet, backend)
                variants["cuda_graphs+sdpa_cudnn"] = _graphs_with(unet, "cudnn")
                variants["cuda_graphs+fused_qkv"] = _graphs_fused(unet)
            for name, lever in variants.items():
                try:
                    with lever():
                        rec[name] = self.engine(f"lever: {name}", work, repeats=1)
                    rec[name]["over_plain"] = ratio(rec[name], base)
                except Exception as exc:  # an unsupported backend says so, the rest goes on
                    rec[name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
                self.save()

    def vae(self, rec: dict[str, Any]) -> None:
        with plain_forward(self.ckpt.vae.decoder):  # eager: a dtype change would recompile
            self._vae(rec)
        rec["decoder"] = "eager (the class forward), whatever the compiled section did"

    def _vae(self, rec: dict[str, Any]) -> None:
        vae = self.ckpt.vae
        for batch in sorted({1, self.args.batch}):
            latent = torch.randn(batch, 4, self.size // 8, self.size // 8, device=self.device)
            row: dict[str, Any] = {}
            rec[f"batch_{batch}"] = row
            # Dtypes at batch 1 only: batch 8 in fp32 needs ~30 GiB for the decoder alone.
            dtypes = (
                (torch.float32, torch.bfloat16, torch.float16) if self.cuda and batch == 1 else ()
            )
            for dtype in dtypes:
                row[str(dtype).removeprefix("torch.")] = self._decode(vae.to(dtype), latent, 0)
            vae.to(self.choice.vae_dtype)
            if batch > 1:
                for step in (0, 4, 2, 1):
                    row[f"slice_{step}"] = self._decode(vae, latent, step)
        rec["note"] = "fp32 = the official SDXL VAE's upcast; bf16 is the engine's default"

    def _decode(self, vae: Any, latent: torch.Tensor, step: int) -> dict[str, Any]:
        ckpt = replace(self.ckpt, vae=vae, vae_slice=step)
        dec = SDXLVae(ckpt)
        dec.decode(latent)  # warm-up
        _reset_peak(self.device)
        times, nan = [], False
        for _ in range(self.repeats):
            began = time.perf_counter()
            image = dec.decode(latent)
            times.append(time.perf_counter() - began)
            nan = nan or bool(torch.isnan(image).any())
        return {
            "ms": round(1000 * statistics.median(times), 2),
            "peak_vram_gib": None if not self.cuda else round(_peak(self.device) or 0.0, 3),
            "nan": nan,
        }

    def fp8(self, rec: dict[str, Any]) -> None:
        try:
            check_fp8_support(self.device)
        except ValueError as exc:
            rec["refused"] = str(exc)
            return
        ckpt = self._bf16_checkpoint()
        work = self.work(1)
        images: list[torch.Tensor] = []
        rec["bf16_b1_eager"] = self.engine("bf16 eager b1", work, ckpt)
        run_engine(ckpt, work, images)
        with wrapped_forward(ckpt.unet, CudaGraphForward):
            rec["bf16_b1"] = self.engine("bf16 b1 + graphs", work, ckpt)
        big = self.work(self.args.batch)
        if self.args.batch > 1:
            rec[f"bf16_b{big.batch}_eager"] = self.engine(f"bf16 eager b{big.batch}", big, ckpt)
        rec["quantized_linear_layers"] = quantize_fp8(ckpt.unet)
        ckpt.fp8 = True
        self._fp8_ckpt = ckpt
        rec["fp8_b1_eager"] = self.engine("fp8 eager b1", work, ckpt)
        run_engine(ckpt, work, images)
        rec["fp8_eager_over_bf16_eager_b1"] = ratio(rec["fp8_b1_eager"], rec["bf16_b1_eager"])
        rec["psnr_db_vs_bf16"] = psnr(images[0], images[1])
        rec["weights"] = "random (no real checkpoint on the device)"
        self.save()
        rec["sprite_agreement"] = sprite_agreement(images[0][0], images[1][0])
        self.save()
        with wrapped_forward(ckpt.unet, CudaGraphForward):
            rec["fp8_b1"] = self.engine("fp8 b1 + graphs", work, ckpt)
        rec["fp8_over_bf16_b1"] = ratio(rec["fp8_b1"], rec["bf16_b1"])
        self.save()
        if self.args.batch > 1:
            fp8_big = self.engine(f"fp8 eager b{big.batch}", big, ckpt)
            rec[f"fp8_b{big.batch}_eager"] = fp8_big
            rec[f"fp8_over_bf16_b{big.batch}_eager"] = ratio(
                fp8_big, rec[f"bf16_b{big.batch}_eager"]
            )

    def _bf16_checkpoint(self) -> LoadedCheckpoint:
        unet = _build_unet(self.arch, self.device, torch.bfloat16)
        return replace(self.ckpt, unet=unet, compile_mode="off", compiled_shapes=set())

    def compiled(self, rec: dict[str, Any]) -> None:
        if not self.cuda:
            rec["skipped"] = "torch.compile runs on CUDA only (engine.models.compile)"
            return
        mode = self.args.compile_mode
        tune_checkpoint(self.ckpt, mode, Speed())
        rec["mode"], rec["levers"] = mode, "channels_last, dynamic batch"
        eager = self.result["sections"].get("eager", {})
        for batch in sorted({1, self.args.batch}):
            row = self.engine(f"engine compiled b{batch}", self.work(batch))
            row["over_diffusers_eager"] = ratio(
                row, eager.get(f"batch_{batch}", {}).get("diffusers")
            )
            rec[f"batch_{batch}"] = row
            self.save()
        rec["compile_failed"] = _compile_failures(self.ckpt)

    def few_step(self, rec: dict[str, Any]) -> None:
        if self.ckpt.compile_mode == "off":
            rec["note"] = "eager: the compiled section did not run"
        batches = [self.args.batch, 1] if self.args.batch != 1 else [1]
        for batch in batches:
            for steps in (4, 8):
                if self._over_budget(150 if batch == 1 and steps == 4 else 10):
                    rec[f"batch_{batch}_steps_{steps}"] = {"skipped": "time budget"}
                    continue
                work = self.work(
                    batch, steps=steps, cfg=1.0, sampler="lcm", scheduler="sgm_uniform"
                )
                rec[f"batch_{batch}_steps_{steps}"] = self.engine(
                    f"lcm/sgm_uniform {steps} steps b{batch}", work
                )
                self.save()

    def fp8_compiled(self, rec: dict[str, Any]) -> None:
        fp8 = getattr(self, "_fp8_ckpt", None)
        if fp8 is None or not self.cuda:
            rec["skipped"] = "the fp8 section did not run or was refused"
            return
        tune_checkpoint(fp8, self.args.compile_mode, Speed())
        for batch in sorted({1, self.args.batch}):
            rec[f"batch_{batch}"] = self.engine(f"fp8 compiled b{batch}", self.work(batch), fp8)
            bf16 = self.result["sections"].get("compiled", {}).get(f"batch_{batch}")
            rec[f"batch_{batch}"]["over_fp16_compiled"] = ratio(rec[f"batch_{batch}"], bf16)
            self.save()
        rec["compile_failed"] = _compile_failures(fp8)

    def reference_compiled(self, rec: dict[str, Any]) -> None:
        if self.ckpt.compile_mode == "off":
            rec["skipped"] = "the compiled section did not run"
            return
        compiled = self.result["sections"].get("compiled", {})
        for batch in sorted({1, self.args.batch}):
            row = self.diffusers(f"diffusers compiled b{batch}", self.work(batch))
            rec[f"batch_{batch}"] = row
            row["engine_over_this"] = ratio(compiled.get(f"batch_{batch}"), row)
            self.save()

    def _over_budget(self, need_s: float) -> bool:
        budget = self.args.budget_s
        return bool(budget is not None and not self.args.tiny and self.elapsed() + need_s > budget)


def _attention_lever(unet: Any, backend: str) -> Callable[[], Any]:
    return lambda: wrapped_forward(unet, lambda f: with_attention(f, backend))


def _graphs_with(unet: Any, backend: str) -> Callable[[], Any]:
    return lambda: wrapped_forward(unet, lambda f: CudaGraphForward(with_attention(f, backend)))


@contextmanager
def _fused_graphs(unet: Any) -> Iterator[None]:
    with fused_qkv(unet), wrapped_forward(unet, CudaGraphForward):
        yield


def _graphs_fused(unet: Any) -> Callable[[], Any]:
    return lambda: _fused_graphs(unet)


def _compile_failures(ckpt: LoadedCheckpoint) -> dict[str, str | None]:
    """Per part: None when it ran compiled, else why it ran eagerly."""
    parts = {
        "unet": ckpt.unet.__dict__.get("forward"),
        "vae": ckpt.vae.decoder.__dict__.get("forward"),
    }
    return {
        name: fn.failed if isinstance(fn, CompiledWithFallback) else "not compiled"
        for name, fn in parts.items()
    }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()})"


def _slug(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower())
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug.strip("-") if not name.startswith("cpu") else "cpu-tiny"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--checkpoint", type=Path, help="A real SDXL .safetensors (default: random weights)."
    )
    p.add_argument("--tiny", action="store_true", help="Tiny test model at 64², 2 steps (CPU).")
    p.add_argument("--steps", type=int, help="Sampling steps (default 30, tiny 2).")
    p.add_argument("--size", type=int, help="Square resolution (default 1024, tiny 64).")
    p.add_argument("--batch", type=int, default=8, help="The throughput batch (default 8).")
    p.add_argument(
        "--repeats",
        type=int,
        help="Timed runs at batch 1 (default 3, tiny 1); batch N runs one fewer.",
    )
    p.add_argument("--cfg", type=float, default=7.0, help="CFG scale (default 7).")
    p.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="Which sections to run, in the fixed order above (default: all).",
    )
    p.add_argument(
        "--compile-mode",
        default="reduce-overhead",
        choices=("default", "reduce-overhead", "max-autotune"),
        help="torch.compile mode of the compiled sections (default reduce-overhead).",
    )
    p.add_argument(
        "--budget-s",
        type=float,
        help="Skip a section that would end past this many seconds (for a device call).",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N.")
    p.add_argument("--precision", default="auto", help="auto (fp16 on CUDA) | fp16 | bf16.")
    p.add_argument("--out", type=Path, help="JSON path (default bench/baselines/...).")
    p.add_argument("--copy-to", type=Path, help="Also copy the JSON here after each section.")
    p.add_argument("--note", default="", help="Free text stored in the JSON.")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the chosen sections and write the JSON after each; returns the result dict."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bench = Bench(args)
    logger.info("%s, torch %s: %s", bench.result["device"], torch.__version__, bench.out)
    for name in SECTIONS:
        if name in args.sections:
            bench.run_section(name, getattr(bench, name))
    bench.save()
    return bench.result


if __name__ == "__main__":
    main()
