"""`dgx-pixels templates list|show`: the workflow templates and their parameters."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import emit_result, fail

if TYPE_CHECKING:
    from rich.console import Console

    from orchestrator.service import ParamSpec, TemplateLibrary

__all__ = ["app"]

app = typer.Typer(
    help="Workflow templates: what each makes and the parameters it takes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _console() -> Console:
    from rich.console import Console

    return Console()  # table cells wrap; names are short


def _library(ctx: typer.Context) -> TemplateLibrary:
    # Reading template files needs no backend, so no service (and no engine) starts here.
    from orchestrator.composition import build_templates

    return build_templates(settings_from(ctx))


def _range(spec: ParamSpec) -> str:
    if spec.choices:
        return " | ".join(spec.choices)
    low = "" if spec.min is None else f"{spec.min:g}"
    high = "" if spec.max is None else f"{spec.max:g}"
    text = f"{low}..{high}" if low or high else ""
    return f"{text} ×{spec.multiple_of}" if spec.multiple_of else text


@app.command("list")
def list_command(ctx: typer.Context) -> None:
    """Every template with a one-line description.

    Example: dgx-pixels templates list
    """
    from orchestrator.errors import DGXPixelsError
    from orchestrator.service import WorkflowError

    try:
        infos = _library(ctx).list()
    except (WorkflowError, DGXPixelsError) as exc:
        raise fail(exc) from exc
    for info in infos:  # one line each: names stay whole at any width, scripts can cut -f1
        emit_result(f"{info.name}\t{info.description} (parameters: {', '.join(info.parameters)})")


@app.command("show")
def show_command(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Template name (`dgx-pixels templates list`).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="The parameter sheet as JSON.")] = False,
) -> None:
    """One template's parameters: type, default, range and what each does.

    Example: dgx-pixels templates show single_sprite --json
    """
    from rich.table import Table

    from orchestrator.service import WorkflowError

    try:
        template = _library(ctx).get(name)
    except WorkflowError as exc:
        raise fail(exc) from exc
    console = _console()
    if as_json:
        typer.echo(json.dumps(template.sidecar.model_dump(mode="json"), indent=2))
        return
    console.print(f"[bold]{template.name}[/]: {template.description}")
    table = Table("parameter", "type", "default", "range / choices", "description")
    for spec in template.params:
        default = "random" if spec.default is None and spec.random_when_none else spec.default
        table.add_row(spec.name, spec.type, json.dumps(default), _range(spec), spec.description)
    _console().print(table)
    console.print(f"outputs: {', '.join(f'{r}=node {n}' for r, n in template.outputs.items())}")
