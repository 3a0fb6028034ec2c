"""`dgx-pixels models …`: the checkpoints and LoRAs the backends can load.

`list` is the orchestrator-service's; `demo` (write the tiny random demo checkpoint) is
engine-models' and lives below in this same group.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.cli.context import settings_from
from orchestrator.errors import DGXPixelsError

__all__ = ["app"]

app = typer.Typer(
    help="Checkpoints and LoRAs (`models list`); `models demo` writes a tiny demo model.",
    no_args_is_help=True,
)
console = Console()


@app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Checkpoints and LoRAs: asked from the configured backends, or read from the local
    models folder when the embedded engine is used (nothing is started to list them)."""
    from orchestrator.service import Service

    settings = settings_from(ctx)
    try:
        service = Service.from_settings(settings, backends=bool(settings.backends))
        try:
            items = [*service.models(), *service.loras()]
        finally:
            service.stop()
    except DGXPixelsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=1) from exc
    if as_json:
        typer.echo(json.dumps([m.__dict__ for m in items], indent=2))
        return
    if not items:
        console.print(
            f"no models in {settings.resolved_models_dir}; put SDXL .safetensors files in "
            "checkpoints/ and loras/ there, or run `dgx-pixels models demo`"
        )
        return
    table = Table("folder", "name", "backend", "note")
    for model in items:
        note = "demo: tiny random weights, meaningless pictures" if model.demo else ""
        table.add_row(model.folder, model.name, model.backend, note)
    console.print(table)
