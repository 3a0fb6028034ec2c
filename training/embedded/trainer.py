"""The embedded trainer backend: diffusers + peft, in this process, on CPU or CUDA.

One run: load the base checkpoint through the engine's public API → cache every image's
latent and caption's conditioning (no VAE or text encoder in the loop) → inject peft LoRA
adapters on kohya's target set → AdamW steps under autocast with gradient checkpointing →
a deterministic validation loss every `validate_every_n_steps` → a checkpoint every
`save_every_n_steps` → the kohya-format `.safetensors` in `work_dir`.

`should_stop()` is polled between steps; when it turns true a checkpoint is saved and
`StopRequested` raised, so `resume=True` continues from exactly that step.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from training.backend import (
    ProgressCallback,
    StopRequested,
    TrainOutcome,
    TrainProgress,
    TrainRequest,
)
from training.embedded.checkpoints import (
    clear_checkpoints,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from training.embedded.data import (
    CachedSample,
    DatasetItem,
    cache_samples,
    draw_batch,
    read_manifest,
    split_held_out,
)
from training.embedded.network import LoraNetwork, attach_lora
from training.embedded.objective import Objective
from training.embedded.precision import Precision, make_optimizer, select_precision
from training.embedded.samples import (
    SamplePrompt,
    encode_sample_prompt,
    render_sample,
    sample_path,
)
from training.errors import CheckpointError, TrainingError
from training.lora_io import LoraMetadata, write_lora

__all__ = ["BACKEND_NAME", "EmbeddedOptions", "EmbeddedTrainer"]

log = logging.getLogger(__name__)

BACKEND_NAME = "embedded"
# The diffusers blocks `EmbeddedOptions.compile_blocks` compiles one by one.
_COMPILED_BLOCKS = frozenset({"BasicTransformerBlock", "ResnetBlock2D"})


@dataclass(frozen=True)
class EmbeddedOptions:
    """Speed knobs that do not change what is trained.

    Attributes:
        compile_unet: torch.compile the UNet's forward (the first steps compile).
        compile_blocks: torch.compile each transformer block and ResNet block instead
            ("regional": the repeated blocks share a few graphs, so it compiles in far less
            time than the whole UNet, and fuses the small ops a batch-1 step launches).
        channels_last: Channels-last memory order for the UNet's convolutions.
        report_every: Progress is reported at least every this many steps.
        compile_backend: The `torch.compile` backend of `compile_unet`/`compile_blocks`
            (`aot_eager` or `eager` trace without generating code: for finding a compile
            problem, and for CPU tests that count graphs).
    """

    compile_unet: bool = False
    compile_blocks: bool = False
    channels_last: bool = False
    report_every: int = 5
    compile_backend: str = "inductor"


@dataclass
class _Run:
    """Everything one run holds while it trains."""

    request: TrainRequest
    precision: Precision
    network: LoraNetwork
    optimizer: torch.optim.Optimizer
    objective: Objective
    train: list[CachedSample]
    held_out: list[CachedSample]
    metadata: LoraMetadata
    record: dict[str, Any]
    scaler: Any = None
    recompile_budget: int = 0  # graphs each compiled block's code may hold (0: none compiled)
    model: Any = None  # the TrainableSDXL: its VAE decodes samples
    sample_prompt: SamplePrompt | None = None
    step: int = 0
    saved_step: int = 0
    resumed_from: int = 0
    val_losses: list[tuple[int, float]] = field(default_factory=list)
    last_loss: float | None = None

    def checkpoint(self) -> None:
        """Save this step's checkpoint (once per step)."""
        if self.step <= self.saved_step:
            return
        state = {
            **self.record,
            "val_losses": self.val_losses,
            "last_loss": self.last_loss,
        }
        save_checkpoint(
            self.request.work_dir,
            self.step,
            self.network.state(),
            self.optimizer.state_dict(),
            state,
        )
        self.saved_step = self.step


class _Meter:
    """Training-loss window (kept on the device: no host sync per step) and speed."""

    def __init__(self, start_step: int) -> None:
        self.total: torch.Tensor | None = None
        self.count = 0
        self.mark = (time.perf_counter(), start_step)
        self.rate = 0.0

    def add(self, loss: torch.Tensor) -> None:
        value = loss.detach()
        self.total = value if self.total is None else self.total + value
        self.count += 1

    def flush(self, step: int) -> float | None:
        """The window's mean loss (one host sync), and the steps/s since the last flush."""
        now = time.perf_counter()
        mean = None if self.total is None else float(self.total) / self.count
        began, first = self.mark
        if step > first and now > began:
            self.rate = (step - first) / (now - began)
        self.total, self.count, self.mark = None, 0, (now, step)
        return mean


def _tag_frequency(items: list[DatasetItem], folder: str) -> dict[str, dict[str, int]]:
    tags = Counter(tag.strip() for item in items for tag in item.caption.split(",") if tag.strip())
    return {folder: dict(sorted(tags.items()))}


def _metadata(
    request: TrainRequest, items: list[DatasetItem], digest: str, label: str
) -> LoraMetadata:
    spec = request.spec
    factors = {item.factor for item in items}
    return LoraMetadata(
        output_name=request.output_name,
        rank=spec.rank,
        alpha=spec.alpha,
        steps=spec.steps,
        resolution=f"{spec.resolution},{spec.resolution}",
        mixed_precision=label,
        seed=spec.seed,
        trigger=request.trigger,
        backend=BACKEND_NAME,
        tag_frequency=_tag_frequency(items, request.dataset_dir.name),
        pixel_scale=factors.pop() if len(factors) == 1 else 0,
        dataset_sha256=digest,
        comment=f"embedded trainer (diffusers + peft) on {request.base_checkpoint.name}",
    )


class EmbeddedTrainer:
    """The `TrainerBackend` that trains in this process (diffusers + peft)."""

    def __init__(self, options: EmbeddedOptions | None = None) -> None:
        self.options = options or EmbeddedOptions()

    @property
    def name(self) -> str:
        """ "embedded"."""
        return BACKEND_NAME

    def train(
        self,
        request: TrainRequest,
        on_progress: ProgressCallback,
        should_stop: Callable[[], bool],
    ) -> TrainOutcome:
        """Train `request` to `spec.steps`; see `training.backend.TrainerBackend.train`.

        Raises:
            StopRequested: `should_stop()` turned true; a checkpoint of that step is saved.
            DatasetError: the dataset folder has no usable manifest or images.
            CheckpointError: a checkpoint could not be written (disk full) or resumed.
            TrainingError: a bad device, base checkpoint or rank; out of GPU memory.
        """
        began = time.perf_counter()
        run = self._prepare(request, on_progress)
        try:
            with _recompile_budget(run.recompile_budget):
                self._loop(run, on_progress, should_stop)
        except torch.OutOfMemoryError as exc:
            reason = (
                "out of GPU memory; lower batch_size or resolution, or enable "
                "gradient_checkpointing"
            )
            raise TrainingError("batch_size", request.spec.batch_size, reason) from exc
        path = self._finish(run)
        return TrainOutcome(
            lora_path=path,
            backend=BACKEND_NAME,
            steps=run.step,
            seconds=time.perf_counter() - began,
            final_loss=run.last_loss,
            val_losses=tuple(run.val_losses),
            resumed_from=run.resumed_from,
        )

    # -- set-up ---------------------------------------------------------------------------

    def _prepare(self, request: TrainRequest, on_progress: ProgressCallback) -> _Run:
        from engine import EngineError, load_trainable_sdxl

        spec = request.spec
        total = spec.steps
        precision = select_precision(spec, request.device)
        items, digest = read_manifest(request.dataset_dir)
        train_items, held_items = split_held_out(items, spec.seed)
        on_progress(TrainProgress(0, total, message="loading the base model"))
        try:
            model = load_trainable_sdxl(
                request.base_checkpoint, str(precision.device), precision.weights, precision.vae
            )
        except EngineError as exc:
            raise TrainingError("base_checkpoint", str(request.base_checkpoint), str(exc)) from exc
        every = train_items + held_items

        def cached(done: int) -> None:
            on_progress(TrainProgress(0, total, message=f"caching latents {done}/{len(every)}"))

        with torch.no_grad():
            samples = cache_samples(model, every, spec.resolution, cached)
            prompt = (
                encode_sample_prompt(model, items[0].caption, spec.resolution, precision.device)
                if spec.sample_every_n_steps
                else None
            )
        model.free_encoders()
        samples = [_to_device(s, precision.device) for s in samples]
        train = samples[: len(train_items)]
        held_out = samples[len(train_items) :] or train
        if not held_items:
            log.info("%d image(s): validating on the training images", len(items))
        network = attach_lora(model, spec.rank, spec.alpha, spec.seed)
        unet, blocks = self._ready_unet(model.unet, spec.gradient_checkpointing)
        backend = self.options.compile_backend
        forward = torch.compile(unet, backend=backend) if self.options.compile_unet else unet
        objective = Objective(
            forward=forward,
            alphas_cumprod=model.alphas_cumprod.to(precision.device),
            autocast=precision.autocast,
            seed=spec.seed,
            min_snr_gamma=spec.min_snr_gamma,
            channels_last=self.options.channels_last,
            eager_forward=unet,
        )
        run = _Run(
            request=request,
            precision=precision,
            network=network,
            optimizer=make_optimizer(network.parameters(), spec, precision.device),
            objective=objective,
            train=train,
            held_out=held_out,
            metadata=_metadata(request, items, digest, precision.label),
            record={
                "rank": spec.rank,
                "alpha": spec.alpha,
                "base_checkpoint": request.base_checkpoint.name,
                "dataset_sha256": digest,
            },
            scaler=torch.amp.GradScaler("cuda") if precision.scaled else None,
            model=model,
            sample_prompt=prompt,
            # a block meets one input shape per latent size of the training set
            recompile_budget=blocks * len({s.latent.shape for s in train}),
        )
        self._resume_or_clear(run)
        return run

    def _ready_unet(self, unet: Any, checkpointing: bool) -> tuple[Any, int]:
        """The UNet in train mode, and how many blocks of its most repeated compiled kind
        were compiled (0 unless `compile_blocks`)."""
        unet.train()
        if checkpointing:
            unet.enable_gradient_checkpointing()
        if self.options.channels_last:
            unet.to(memory_format=torch.channels_last)
        compiled: Counter[str] = Counter()
        if self.options.compile_blocks:
            for module in unet.modules():
                if type(module).__name__ in _COMPILED_BLOCKS:
                    module.compile(backend=self.options.compile_backend)
                    compiled[type(module).__name__] += 1
        return unet, max(compiled.values(), default=0)

    @staticmethod
    def _resume_or_clear(run: _Run) -> None:
        work_dir = run.request.work_dir
        if not run.request.resume:
            removed = clear_checkpoints(work_dir)
            if removed:
                log.warning("fresh start: removed %d old checkpoint(s) in %s", removed, work_dir)
            return
        found = latest_checkpoint(work_dir)
        if found is None:
            log.info("resume: no checkpoint in %s, starting afresh", work_dir)
            return
        for key in ("rank", "alpha", "base_checkpoint", "dataset_sha256"):
            if found.state.get(key) != run.record[key]:
                had, has = found.state.get(key), run.record[key]
                reason = f"was trained with {key}={had!r}, this run has {has!r}; resume=False"
                raise CheckpointError("checkpoint", str(found.folder), reason)
        tensors, optimizer_state = load_checkpoint(found)
        run.network.load_state(tensors)
        run.optimizer.load_state_dict(optimizer_state)
        run.step = run.saved_step = run.resumed_from = found.step
        run.val_losses = [(int(s), float(v)) for s, v in found.state.get("val_losses", [])]
        last = found.state.get("last_loss")
        run.last_loss = None if last is None else float(last)
        log.info("resumed from step %d (%s)", found.step, found.folder)

    # -- the loop -------------------------------------------------------------------------

    def _loop(
        self, run: _Run, on_progress: ProgressCallback, should_stop: Callable[[], bool]
    ) -> None:
        spec = run.request.spec
        if not run.val_losses:  # the untrained LoRA's validation loss is the curve's start
            run.val_losses.append((0, run.objective.validation_loss(run.held_out)))
            on_progress(self._progress(run, None, val=run.val_losses[-1][1], msg="training"))
        meter = _Meter(run.step)
        while run.step < spec.steps:
            if should_stop():
                run.checkpoint()
                saved = "checkpoint saved" if run.step else "nothing trained yet"
                raise StopRequested(f"stopped at step {run.step}; {saved}")
            run.step += 1
            meter.add(self._step(run))
            self._after_step(run, meter, on_progress)

    def _step(self, run: _Run) -> torch.Tensor:
        spec = run.request.spec
        batch = draw_batch(run.train, spec.batch_size, spec.seed, run.step)
        loss = run.objective.training_loss(batch, run.step)
        run.optimizer.zero_grad(set_to_none=True)
        if run.scaler is not None:
            run.scaler.scale(loss).backward()
            run.scaler.step(run.optimizer)
            run.scaler.update()
        else:
            loss.backward()  # type: ignore[no-untyped-call]
            run.optimizer.step()
        return loss

    def _after_step(self, run: _Run, meter: _Meter, on_progress: ProgressCallback) -> None:
        spec = run.request.spec
        step, last = run.step, run.step == spec.steps
        val = None
        if step % spec.validate_every_n_steps == 0 or last:
            val = run.objective.validation_loss(run.held_out)
            run.val_losses.append((step, val))
        sample = self._sample(run) if _due(step, spec.sample_every_n_steps) else None
        saved = False
        if step % spec.save_every_n_steps == 0 and not last:
            run.last_loss = meter.flush(step) or run.last_loss
            run.checkpoint()
            saved = True
        notable = saved or val is not None or sample is not None or last or step == 1
        if notable or step % self.options.report_every == 0:
            if not saved:
                run.last_loss = meter.flush(step) or run.last_loss
            message = f"checkpoint saved at {step}" if saved else ""
            on_progress(self._progress(run, meter, val=val, msg=message, sample=sample))

    @staticmethod
    def _sample(run: _Run) -> Path | None:
        """This step's sample image, or None when it could not be written (logged: a sample
        is worth no stopped run)."""
        assert run.sample_prompt is not None
        unet = run.objective.eager_forward or run.objective.forward
        path = sample_path(run.request.work_dir, run.step)
        try:
            return render_sample(unet, run.model, run.sample_prompt, run.precision.autocast, path)
        except OSError as exc:
            log.warning("sample at step %d not written to %s: %s", run.step, path, exc)
            return None

    @staticmethod
    def _progress(
        run: _Run,
        meter: _Meter | None,
        val: float | None,
        msg: str,
        sample: Path | None = None,
    ) -> TrainProgress:
        total = run.request.spec.steps
        rate = meter.rate if meter is not None else 0.0
        eta = (total - run.step) / rate if rate > 0 else None
        return TrainProgress(
            step=run.step,
            total_steps=total,
            loss=run.last_loss,
            lr=run.request.spec.learning_rate,
            it_per_s=rate,
            eta_s=eta,
            val_loss=val,
            message=msg,
            sample=sample,
        )

    # -- the result -----------------------------------------------------------------------

    @staticmethod
    def _finish(run: _Run) -> Path:
        work_dir = run.request.work_dir
        path = work_dir / f"{run.request.output_name}.safetensors"
        try:
            return write_lora(path, run.network.weights(), run.metadata)
        except OSError as exc:
            reason = f"writing the LoRA failed ({exc.strerror or exc}); free space and resume"
            raise CheckpointError("work_dir", str(work_dir), reason) from exc


@contextlib.contextmanager
def _recompile_budget(graphs: int) -> Iterator[None]:
    """Let each compiled block's code object hold `graphs` graphs while the loop runs.

    Every ResnetBlock2D shares one `forward` code object, and dynamo counts the graphs of
    all of them against one `recompile_limit` (8 by default); SDXL's resnets need more (one
    per channel count and size: the H100 run fell back to eager at the 9th, the demo UNet
    does too). The limit is raised only while the loop runs and put back after.
    """
    if graphs <= 0:
        yield
        return
    import torch._dynamo

    config = torch._dynamo.config
    limit = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    total = f"accumulated_{limit}"
    raised = {name: max(int(getattr(config, name)), graphs) for name in (limit, total)}
    with config.patch(raised):
        yield


def _due(step: int, every: int) -> bool:
    """Whether a period of `every` steps (0: never) ends at `step`."""
    return every > 0 and step % every == 0


def _to_device(sample: CachedSample, device: torch.device) -> CachedSample:
    return CachedSample(
        sample.name,
        sample.latent.to(device),
        sample.context.to(device),
        sample.pooled.to(device),
        sample.time_ids.to(device),
    )
