"""`dgx-pixels`: the composition root. Sets up logging once, then dispatches.

Command modules import heavy libraries (pydantic-settings, numpy, torch, diffusers, textual,
rich) inside their command functions, so `dgx-pixels --help` stays instant;
`tests/test_cli_help.py` guards that. Help is click's plain layout (no rich panels): it never
cuts an option name at a narrow terminal and never shows a path split over two lines.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.adapters.cli import (
    autotile_cmd,
    comfy,
    engine_cmd,
    generate,
    jobs,
    mcp_cmd,
    models,
    pixelize,
    serve,
    sheet,
    status,
    templates,
    train,
    tui_cmd,
)
from orchestrator.adapters.cli.context import CliState
from orchestrator.adapters.cli.help_format import use_plain_help
from orchestrator.adapters.cli.log_format import LOG_FORMATS, formatter_for
from orchestrator.adapters.cli.output import choices_metavar

__all__ = ["app", "main"]

app = typer.Typer(
    name="dgx-pixels",
    help=(
        "Game-ready pixel-art sprites from local SDXL.\n\n"
        "Start with `dgx-pixels models demo` (a tiny random model, so everything runs without "
        'weights) and `dgx-pixels generate "a red potion"`. Turn any picture into a clean '
        "sprite with `dgx-pixels pixelize IMAGE -o OUT`.\n\n"
        "Results (paths, or JSON lines with --json) go to stdout; messages, logs and progress "
        "go to stderr.\n\n"
        'Example: dgx-pixels generate "a red potion" -n 4 --palette pico-8 > paths.txt'
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"dgx-pixels {version('dgx-pixels')}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Settings file to read instead of ./dgx-pixels.toml (must exist).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")] = False,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            metavar=choices_metavar(LOG_FORMATS),
            help="Log lines on stderr: text (default), or json: one object per line with "
            "time, level, logger, message, job_id and backend (setting log_format).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Set up logging (stderr, one line per record) for whichever command runs."""
    if log_format is not None and log_format not in LOG_FORMATS:
        raise typer.BadParameter(
            f"{log_format!r} is not one of {', '.join(LOG_FORMATS)}", param_hint="--log-format"
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for("json" if log_format == "json" else "text"))
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, handlers=[handler], force=True)
    ctx.obj = CliState(config=config, verbose=verbose, log_format=log_format)


app.command("pixelize")(pixelize.pixelize_command)
app.command("generate")(generate.generate_command)
app.command("batch")(generate.batch_command)
app.command("generate-sheet")(sheet.generate_sheet_command)
app.command("generate-autotile")(autotile_cmd.generate_autotile_command)
app.command("serve")(serve.serve_command)
app.command("status")(status.status_command)
app.command("tui")(tui_cmd.tui_command)
app.command("mcp")(mcp_cmd.mcp_command)
app.add_typer(jobs.app, name="jobs")
app.add_typer(templates.app, name="templates")
app.add_typer(models.app, name="models")
app.add_typer(engine_cmd.app, name="engine")
app.add_typer(comfy.app, name="comfy")
app.add_typer(train.app, name="train")
use_plain_help(app)


def main() -> None:
    """Console-script entry point."""
    app()
