"""`dgx-pixels generate PROMPT` and `dgx-pixels batch FILE`: queue jobs, show live progress,
print where the sprites are.

stdout gets the results only: one sprite path per line, or with `--json` one JSON record per
job (id, state, seed, files, error). Progress, notes and errors go to stderr.

Both run a short-lived service in this process (the embedded engine unless `--backend`
or `backends` in the settings name servers) that runs only their own jobs, and stop it when
their jobs are final. While `dgx-pixels serve` holds the data dir, the daemon runs them, in
`-o`'s folder and on the `--backend` URLs. A timeout, Ctrl-C or SIGTERM cancels the jobs not
yet final (see `own_jobs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.adapters.cli.job_command import (
    BackendUrls,
    OutFolder,
    SamplerSteps,
    WaitSeconds,
    command_settings,
    parse_params,
    report_jobs,
    seed_option,
)
from orchestrator.adapters.cli.output import fail, stderr_console

if TYPE_CHECKING:  # the service stack loads when a command runs, not at CLI start
    from orchestrator.service.values import GenerationRequest
    from orchestrator.settings import Settings

__all__ = ["batch_command", "generate_command", "run_requests"]


def run_requests(
    settings: Settings,
    requests: Sequence[GenerationRequest],
    timeout_s: float,
    as_json: bool = False,
    backends: Sequence[str] = (),
    command: str = "generate",
) -> int:
    """Run requests as this command's own jobs with live progress (in the daemon when one
    serves the data dir; see `own_jobs`); returns how many did not succeed.

    The jobs store `settings`' output folder and `backends` (the `--backend` URLs), so
    they hold whichever process runs them.
    """
    from orchestrator.adapters.cli.own_jobs import run_own_jobs

    final = run_own_jobs(
        command,
        settings,
        lambda service: service.submit_many(requests, backends=backends),
        stderr_console(),
        timeout_s,
    )
    return report_jobs(final, settings, as_json)


def generate_command(
    ctx: typer.Context,
    prompt: Annotated[
        str, typer.Argument(metavar="PROMPT", help="What the sprite shows, e.g. 'a red potion'.")
    ],
    template: Annotated[
        str,
        typer.Option(
            "--template",
            "-t",
            metavar="NAME",
            help="Workflow template (`dgx-pixels templates list`).",
        ),
    ] = "single_sprite",
    count: Annotated[
        int,
        typer.Option(
            "--count", "-n", metavar="N", min=1, max=256, help="How many sprites (seed, seed+1 …)."
        ),
    ] = 1,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            metavar="SEED",
            callback=seed_option,
            help="First seed, 0..2**64-1 (random if left out).",
        ),
    ] = None,
    lora: Annotated[
        list[str] | None,
        typer.Option(
            "--lora",
            metavar="NAME[:STRENGTH]",
            help="LoRA, with or without .safetensors; repeatable (`dgx-pixels models list`).",
        ),
    ] = None,
    no_trigger: Annotated[
        bool,
        typer.Option(
            "--no-trigger",
            help="Do not put the LoRAs' trigger words (from their cards) before the prompt.",
        ),
    ] = False,
    palette: Annotated[
        str | None,
        typer.Option(
            "--palette",
            "-p",
            metavar="PALETTE",
            help="Palette name (pico-8, gameboy, …) or a .gpl/.hex file.",
        ),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option(
            "--size", "-s", metavar="WxH", help="True sprite size, e.g. 32x32 (default: detect)."
        ),
    ] = None,
    steps: SamplerSteps = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="KEY=VALUE",
            help="Any template parameter (VALUE as JSON or plain text), repeatable.",
        ),
    ] = None,
    out: OutFolder = None,
    backend: Annotated[
        list[str] | None,
        typer.Option(
            "--backend",
            metavar="URL",
            help="ComfyUI/engine URL, repeatable (default: embedded engine).",
        ),
    ] = None,
    timeout: WaitSeconds = 1800.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON record per job on stdout instead of paths.")
    ] = False,
) -> None:
    """Generate pixel-art sprites from a prompt and print their paths.

    Each sprite is written as a true-size PNG, a scaled preview, the raw render and a
    JSON sidecar with its full provenance, under `OUT/<date>/<prompt>_<job>_<n>.png`.
    A LoRA trained here (`train run`) has a card with its trigger word, which is put before
    the prompt unless --no-trigger.

    Example: dgx-pixels generate "a red potion" -n 4 -p pico-8 -s 32x32 > paths.txt
    """
    from orchestrator.errors import DGXPixelsError
    from orchestrator.service.values import GenerationRequest, LoraSpec, parse_size

    settings = command_settings(ctx, out, backend)
    try:
        params = parse_params(param or [])
        if steps is not None:
            params["steps"] = steps
        request = GenerationRequest(
            template=template,
            prompt=prompt,
            params=params,
            count=count,
            seed=seed,
            loras=tuple(LoraSpec.parse(x) for x in lora or []),
            palette=palette,
            size=parse_size(size) if size else None,
            add_triggers=not no_trigger,
        )
        failed = run_requests(settings, [request], timeout, as_json, backend or ())
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    if failed:
        raise typer.Exit(code=1)


def batch_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            help="A .csv, .jsonl or .toml of prompts.",
        ),
    ],
    template: Annotated[
        str | None,
        typer.Option("--template", "-t", metavar="NAME", help="Template for rows that name none."),
    ] = None,
    out: OutFolder = None,
    backend: BackendUrls = None,
    timeout: WaitSeconds = 3600.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON record per job on stdout instead of paths.")
    ] = False,
) -> None:
    """Generate every prompt of a batch file (all rows are checked before any is queued).

    CSV needs a `prompt` column; `count, seed, palette, size, loras ("a:0.8;b"), template`
    and any template parameter (`steps`, `cfg`, `colors` …) are optional columns. JSONL:
    one object per line with the same keys. TOML: `[[job]]` tables.

    Example: dgx-pixels batch prompts.csv -o sprites/ --json > results.jsonl
    """
    from orchestrator.errors import DGXPixelsError
    from orchestrator.service.batch_file import read_batch_file

    settings = command_settings(ctx, out, backend)
    try:
        requests = read_batch_file(file, {"template": template} if template else None)
        failed = run_requests(settings, requests, timeout, as_json, backend or (), "batch")
    except DGXPixelsError as exc:
        raise fail(exc) from exc
    if failed:
        raise typer.Exit(code=1)
