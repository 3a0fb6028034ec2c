"""The `train eval` use case: a LoRA against its base model, measured and reported.

Steps (`evaluate_lora`):

1. check every input before anything runs: the report folder, the prompts file, the
   held-out and dataset folders, the validation losses (`training.evaluate.inputs`);
2. find the LoRA among the backends' LoRAs, and its card (`models/loras/NAME.json`, written
   by the registry) for the trigger word and the run's validation losses;
3. queue one comparison per prompt through `Service.compare` (the same path as every
   base-vs-LoRA comparison): base and LoRA, one seed, the full-size render kept;
4. wait for every job, reporting progress;
5. measure each pair and write the report (`training.evaluate`).

A refusal from `training` becomes the service's `InvalidRequest`, naming the same field.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from orchestrator.errors import BackendError, DGXPixelsError, InvalidRequest
from orchestrator.jobs.states import JobState
from orchestrator.service.catalog import is_demo_model
from orchestrator.service.values import CompareVariant, LoraSpec

if TYPE_CHECKING:
    from numpy import uint8
    from numpy.typing import NDArray

    from orchestrator.jobs.models import Job
    from orchestrator.service.core import Service
    from orchestrator.service.train_jobs import TrainParams, TrainResult
    from training.evaluate.assess import Evaluation, GridRow
    from training.evaluate.inputs import HeldOut
    from training.evaluate.lpips import LpipsNet
    from training.evaluate.report import ReportFiles
    from training.registry import LoraCard

__all__ = [
    "DEFAULT_EVAL_SEED",
    "EvalProgress",
    "EvalRequest",
    "EvalResult",
    "after_training",
    "evaluate_lora",
]

log = logging.getLogger(__name__)

DEFAULT_EVAL_SEED: Final[int] = 1234
"""The one seed of every generation of an evaluation, unless asked otherwise."""

LORA_SUFFIX: Final[str] = ".safetensors"


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate and how.

    Attributes:
        lora: The LoRA's name as `models list` shows it (with or without `.safetensors`).
        out: The report folder to create (new, or empty).
        prompts_file: One prompt a line; None: the held-out images' prompts, else
            `training.evaluate.inputs.DEFAULT_PROMPTS`.
        held_out: A folder of images the LoRA was not trained on (SSIM/PSNR), or None.
        dataset: The `train dataset` folder it was trained on (palette distance), or None.
        val_losses: The run's (step, validation loss) pairs; None: read from the card.
        trigger: The trigger word the prompts get; None: the card's (none without a card).
        seed: The seed of every generation.
        strength: The LoRA's strength.
        params: Other template parameters (`checkpoint`, `steps`, `width` …).
        timeout_s: How long to wait for all generations.
        lpips_weights: LPIPS weight files (AlexNet backbone and linear layers,
            `training.evaluate.lpips`); none: no LPIPS figure, and the report says why.
    """

    lora: str
    out: Path
    prompts_file: Path | None = None
    held_out: Path | None = None
    dataset: Path | None = None
    val_losses: tuple[tuple[int, float], ...] | None = None
    trigger: str | None = None
    seed: int = DEFAULT_EVAL_SEED
    strength: float = 1.0
    params: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float = 3600.0
    lpips_weights: tuple[Path, ...] = ()


@dataclass(frozen=True)
class EvalProgress:
    """Generations finished so far, of how many, and a short line."""

    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class EvalResult:
    """The written report and everything it shows."""

    report: ReportFiles
    evaluation: Evaluation


@dataclass(frozen=True)
class _Inputs:
    prompts: tuple[str, ...]
    references: tuple[HeldOut | None, ...]
    colors: NDArray[uint8] | None
    notes: tuple[str, ...]
    lpips: LpipsNet | None = None


def _read_inputs(request: EvalRequest) -> _Inputs:
    """Step 1: every file input, checked (raises `TrainingError`)."""
    from training.evaluate.assess import LPIPS_NOT_COMPUTED
    from training.evaluate.inputs import (
        DEFAULT_PROMPTS,
        read_held_out,
        read_prompts,
        training_colors,
    )
    from training.evaluate.report import check_out

    check_out(request.out)
    lpips = None
    if request.lpips_weights:
        from training.evaluate.lpips import load_lpips

        lpips = load_lpips(request.lpips_weights)
    notes = [] if lpips else [LPIPS_NOT_COMPUTED]
    held = read_held_out(request.held_out) if request.held_out is not None else []
    if request.prompts_file is not None:
        prompts = read_prompts(request.prompts_file)
    else:
        prompts = tuple(h.prompt for h in held) or DEFAULT_PROMPTS
    if request.prompts_file is not None and held:
        notes.append(
            "SSIM/PSNR/LPIPS not computed: --prompts replaces the held-out images' prompts"
        )
        held = []
    if request.held_out is None:
        notes.append("SSIM/PSNR/LPIPS not computed: no held-out images given (--held-out)")
    colors = training_colors(request.dataset) if request.dataset is not None else None
    if colors is None:
        notes.append("palette distance not computed: no training dataset given (--dataset)")
    references = tuple(held) if held else (None,) * len(prompts)
    return _Inputs(prompts, references, colors, tuple(notes), lpips)


def _lora_name(service: Service, name: str) -> str:
    """Step 2: the LoRA as the backends list it (raises `InvalidRequest` naming `lora`)."""
    names = [m.name for m in service.loras()]
    for candidate in (name, f"{name}{LORA_SUFFIX}"):
        if candidate in names:
            return candidate
    listed = ", ".join(names) or "none"
    raise InvalidRequest("lora", name, f"no such LoRA on the backends (installed: {listed})")


def _card(service: Service, lora: str) -> LoraCard | None:
    """The registry's card of `lora` (`NAME.json` beside it), or None for a LoRA copied in
    by hand (raises `RegistryError` for a corrupt card, naming it)."""
    from training.registry import read_card

    stem = lora[: -len(LORA_SUFFIX)] if lora.endswith(LORA_SUFFIX) else lora
    return read_card(service.settings.resolved_models_dir / "loras", stem)


def _queue(
    service: Service, request: EvalRequest, lora: str, prompts: Sequence[str]
) -> list[tuple[Job, Job]]:
    """Step 3: one base-vs-LoRA comparison per prompt, all queued before any wait."""
    params = {**request.params, "save_raw": True}  # grid confidence reads the render
    variants = [
        CompareVariant("base", request.params.get("checkpoint")),
        CompareVariant(
            "lora", request.params.get("checkpoint"), (LoraSpec(lora, request.strength),)
        ),
    ]
    pairs = []
    for prompt in prompts:
        comparison = service.compare(prompt, request.seed, variants, params)
        base, with_lora = comparison.jobs
        pairs.append((base, with_lora))
    return pairs


def _cancel_unfinished(service: Service, jobs: Sequence[Job], reason: str) -> None:
    for job in jobs:
        if not service.get_job(job.id).state.is_terminal:
            service.cancel(job.id, reason)


def _wait_all(
    service: Service,
    pairs: Sequence[tuple[Job, Job]],
    timeout_s: float,
    progress: Callable[[EvalProgress], None],
) -> list[tuple[Job, Job]]:
    """Step 4: every job final and succeeded; on a failure, the timeout or an interrupt the
    jobs not yet final are cancelled (none is left behind) and the error goes on."""
    deadline = time.monotonic() + timeout_s
    jobs = [job for pair in pairs for job in pair]
    done: dict[str, Job] = {}
    try:
        for job in jobs:
            final = service.wait(job.id, max(0.0, deadline - time.monotonic()))
            if final.state is not JobState.SUCCEEDED:
                why = final.error if final.state.is_terminal else f"not done after {timeout_s:g} s"
                raise BackendError(
                    f"evaluation: generation job {job.id[:8]} is {final.state} ({why}); "
                    "no report was written"
                )
            done[job.id] = final
            progress(EvalProgress(len(done), len(jobs), str(final.params.get("prompt", ""))))
    except BaseException as exc:  # cleanup only: the error itself goes on unchanged
        _cancel_unfinished(service, jobs, f"evaluation stopped: {type(exc).__name__}")
        raise
    return [(done[a.id], done[b.id]) for a, b in pairs]


def _files(service: Service, job: Job) -> tuple[Path, Path]:
    outputs = service.outputs(job.id)
    if not outputs.sprite or not outputs.raw:
        raise BackendError(f"evaluation: job {job.id[:8]} wrote no sprite and render")
    return Path(outputs.sprite), Path(outputs.raw)


def _measure(
    service: Service,
    request: EvalRequest,
    inputs: _Inputs,
    prompts: Sequence[str],
    pairs: Sequence[tuple[Job, Job]],
) -> tuple[GridRow, ...]:
    """Step 5: each prompt's pair measured (raises `TrainingError` on an unreadable file)."""
    from training.evaluate.assess import assess_row

    rows = []
    for prompt, (base, lora), reference in zip(prompts, pairs, inputs.references, strict=True):
        base_files, lora_files = _files(service, base), _files(service, lora)
        row = assess_row(
            prompt, request.seed, base_files, lora_files, reference, inputs.colors, inputs.lpips
        )
        rows.append(row)
    return tuple(rows)


def evaluate_lora(
    service: Service,
    request: EvalRequest,
    progress: Callable[[EvalProgress], None] | None = None,
) -> EvalResult:
    """See `Service.evaluate_lora`."""
    from training.errors import TrainingError
    from training.evaluate.assess import Evaluation
    from training.evaluate.convergence import convergence_verdict
    from training.evaluate.inputs import with_trigger
    from training.evaluate.report import write_report

    report = progress or (lambda _: None)
    try:
        inputs = _read_inputs(request)  # 1.
        lora = _lora_name(service, request.lora)  # 2.
        card = _card(service, lora)
        losses = request.val_losses
        if losses is None:
            losses = card.val_losses if card else ()
        convergence = convergence_verdict(losses)
        trigger = request.trigger
        if trigger is None:
            trigger = card.trigger_words[0] if card and card.trigger_words else ""
        prompts = [with_trigger(p, trigger) for p in inputs.prompts]
        pairs = _wait_all(
            service, _queue(service, request, lora, prompts), request.timeout_s, report
        )
        rows = _measure(service, request, inputs, prompts, pairs)  # 5.
        checkpoint = str(pairs[0][0].params.get("checkpoint", ""))
        evaluation = Evaluation(
            lora, checkpoint, trigger, request.seed, rows, losses, convergence,
            inputs.notes, is_demo_model(checkpoint),
        )  # fmt: skip
        files = write_report(evaluation, request.out)
    except TrainingError as exc:
        raise InvalidRequest(exc.field, exc.value, exc.reason) from exc
    log.info("evaluation of %s: %s -> %s", lora, evaluation.headline(), files.html)
    return EvalResult(files, evaluation)


def _new_folder(parent: Path, name: str) -> Path:
    """`parent/name`, or `name-2`, `name-3` … when it is taken (a resumed run evaluates again)."""
    candidate, number = parent / name, 1
    while candidate.exists():
        number += 1
        candidate = parent / f"{name}-{number}"
    return candidate


def after_training(
    service: Service, params: Mapping[str, Any] | None = None
) -> Callable[[TrainResult, TrainParams, Path], TrainResult]:
    """The training runner's `evaluate` step (`TrainingParts.evaluate`): a registered LoRA
    evaluated against the checkpoint it was trained on, with its training dataset, the
    card's validation losses and the default prompts; the report goes to the run folder's
    `eval/`. A failed evaluation is logged and leaves the result as it was: the LoRA stands.

    Args:
        service: The service whose workers run the generations.
        params: Template parameters for every generation (default: the template's).
    """
    extra = dict(params or {})

    def evaluate(result: TrainResult, run: TrainParams, work_dir: Path) -> TrainResult:
        request = EvalRequest(
            lora=Path(result.lora_path).name,
            out=_new_folder(work_dir, "eval"),
            dataset=run.dataset_dir,
            trigger=run.trigger or None,
            params={"checkpoint": run.base_checkpoint.name, **extra},
        )
        try:
            done = evaluate_lora(service, request)
        except DGXPixelsError as exc:
            log.warning("evaluation of %s failed: %s", run.name, exc)
            return result
        return replace(result, report_path=str(done.report.html))

    return evaluate
