"""`dgx-pixels train eval LORA`: a thin adapter over `Service.evaluate_lora`.

Parse the flags, run the evaluation with a progress bar on stderr, print the report's path
on stdout (or one JSON record with `--json`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import emit_result, fail, note, stderr_console

if TYPE_CHECKING:
    from orchestrator.service.train_eval import EvalRequest, EvalResult
    from orchestrator.settings import Settings

__all__ = ["eval_command"]

_HELP = """Evaluate a trained LoRA against its base model and write report.html.

Every prompt is drawn twice with one seed, by the base checkpoint alone and with the LoRA
(the same path as any base-vs-LoRA comparison), and measured: grid confidence, colour
count, palette distance to the training set (--dataset), pixelize round-trip error, and
SSIM/PSNR against held-out images the LoRA never saw (--held-out; each image's prompt is
NAME.txt beside it, or its file name). The run's validation losses (from the LoRA's card,
or --val-losses) get a convergence verdict. LPIPS is computed only from weights you give
(--lpips-weights twice: torchvision's AlexNet file and the lpips package's alex.pth);
without them the report says it was not computed.

DIR gets report.html (open it in a browser), its PNG plots and report.json, all at once;
its path is printed on stdout.

Example:

\b
  dgx-pixels train eval knight_style --held-out sprites_holdout/ \\
      --dataset datasets/knight -o reports/knight
  dgx-pixels train eval knight_style --prompts prompts.txt -o reports/k2 --steps 8
"""


def _losses(path: Path | None) -> tuple[tuple[int, float], ...] | None:
    """`--val-losses FILE`: a JSON list of [step, loss] pairs (exit 2 naming the file if not)."""
    if path is None:
        return None
    try:
        pairs = json.loads(path.read_text(encoding="utf-8"))
        return tuple((int(step), float(loss)) for step, loss in pairs)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError) as exc:
        why = f"--val-losses={path}: expected a JSON list of [step, loss] pairs ({exc})"
        raise fail(why, code=2) from exc


def _run(settings: Settings, request: EvalRequest) -> EvalResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from orchestrator.composition import build_service
    from orchestrator.service.train_eval import EvalProgress

    with stderr_console().status("starting the service (the engine loads models on demand)…"):
        service = build_service(settings, claim_scope="own")
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn())
    try:
        service.start()
        with Progress(*columns, console=stderr_console(), transient=True) as bar:
            task = bar.add_task("generating", total=None)

            def progress(step: EvalProgress) -> None:
                bar.update(task, completed=step.done, total=step.total)

            return service.evaluate_lora(request, progress)
    finally:
        service.stop()


def eval_command(
    ctx: typer.Context,
    lora: Annotated[
        str, typer.Argument(metavar="LORA", help="LoRA name (`dgx-pixels models list`).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Report folder (new or empty).")
    ],
    prompts: Annotated[
        Path | None,
        typer.Option("--prompts", metavar="FILE", help="One prompt a line (# comments)."),
    ] = None,
    held_out: Annotated[
        Path | None,
        typer.Option("--held-out", metavar="DIR", help="Images not trained on (SSIM/PSNR)."),
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option("--dataset", metavar="DIR", help="The training dataset (palette distance)."),
    ] = None,
    val_losses: Annotated[
        Path | None,
        typer.Option("--val-losses", metavar="FILE", help="JSON [[step, loss], …] (else card)."),
    ] = None,
    trigger: Annotated[
        str | None,
        typer.Option("--trigger", metavar="WORD", help="Trigger word (default: the card's)."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", metavar="SEED", min=0, help="The one seed (default: fixed)."),
    ] = None,
    strength: Annotated[
        float, typer.Option("--strength", metavar="X", help="LoRA strength.")
    ] = 1.0,
    steps: Annotated[
        int | None, typer.Option("--steps", metavar="N", min=1, help="Sampler steps.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", metavar="KEY=VALUE", help="Any template parameter, repeatable."),
    ] = None,
    backend: Annotated[
        list[str] | None,
        typer.Option("--backend", metavar="URL", help="ComfyUI/engine URL, repeatable."),
    ] = None,
    lpips_weights: Annotated[
        list[Path] | None,
        typer.Option("--lpips-weights", metavar="FILE", help="LPIPS weights, repeatable."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Give up after this long.")
    ] = 3600.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record on stdout.")] = False,
) -> None:
    """Evaluate a LoRA against its base model (see the examples below)."""
    from orchestrator.adapters.cli.job_command import parse_params
    from orchestrator.errors import DGXPixelsError
    from orchestrator.service.train_eval import DEFAULT_EVAL_SEED, EvalRequest

    settings = settings_from(ctx)
    if backend:
        settings = settings.model_copy(update={"backends": list(backend)})
    try:
        params: dict[str, Any] = parse_params(param or [])
        if steps is not None:
            params["steps"] = steps
        request = EvalRequest(
            lora, out, prompts, held_out, dataset, _losses(val_losses), trigger,
            DEFAULT_EVAL_SEED if seed is None else seed,
            strength, params, timeout, tuple(lpips_weights or ()),
        )  # fmt: skip
        result = _run(settings, request)
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    evaluation = result.evaluation
    for line in evaluation.notes:
        note(line)
    if as_json:
        record = {
            "report": str(result.report.html),
            "json": str(result.report.json),
            "headline": evaluation.headline(),
            "converged": evaluation.convergence.verdict.converged,
        }
        typer.echo(json.dumps(record, ensure_ascii=False))
        return
    note(evaluation.headline())
    emit_result(str(result.report.html))


eval_command.__doc__ = _HELP
