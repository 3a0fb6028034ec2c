"""`dgx-pixels`: the composition root. Loads settings and logging once, then dispatches.

Command modules import heavy libraries (torch, diffusers, textual) inside their command
functions, so `dgx-pixels --help` stays instant.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.logging import RichHandler

from orchestrator.adapters.cli import (
    comfy,
    engine_cmd,
    generate,
    jobs,
    mcp_cmd,
    models,
    pixelize,
    serve,
    templates,
    tui_cmd,
)
from orchestrator.adapters.cli.context import CliState
from orchestrator.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="dgx-pixels",
    help=(
        "Game-ready pixel-art sprites from local SDXL.\n\n"
        "Start with `dgx-pixels models demo` (a tiny random model, so everything runs without "
        'weights) and `dgx-pixels generate "a red potion"`. Turn any picture into a clean '
        "sprite with `dgx-pixels pixelize IMAGE -o OUT`."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="A dgx-pixels.toml to read instead of ./dgx-pixels.toml."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")] = False,
) -> None:
    """Load settings and logging once for whichever command runs."""
    settings = Settings(_toml_file=config) if config else Settings()  # type: ignore[call-arg]
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, rich_tracebacks=True)],
        force=True,
    )
    ctx.obj = CliState(settings=settings)


app.command("pixelize")(pixelize.pixelize_command)
app.command("generate")(generate.generate_command)
app.command("batch")(generate.batch_command)
app.command("serve")(serve.serve_command)
app.command("tui")(tui_cmd.tui_command)
app.command("mcp")(mcp_cmd.mcp_command)
app.add_typer(jobs.app, name="jobs")
app.add_typer(templates.app, name="templates")
app.add_typer(models.app, name="models")
app.add_typer(engine_cmd.app, name="engine")
app.add_typer(comfy.app, name="comfy")


def main() -> None:
    """Console-script entry point."""
    app()
