"""Help pages that show names, never Python types.

Typer prints an argument's type next to its name even when it has a metavar
(`IN... <list[Path]>`) and an option's type when it has none (`--host <str>`). Every command
of the app uses `PlainHelpCommand`, which prints the metavar instead: the one given, or the
parameter's name in capitals (click's own convention).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:  # annotations only: typer vendors click as `typer._click` from 0.29 on
    from typer._click import Context, HelpFormatter

__all__ = ["PlainHelpCommand", "use_plain_help"]

_TYPE = re.compile(r"<[^<>]*>(\.\.\.)?")


class PlainHelpCommand(TyperCommand):
    """A command whose help lists `NAME  help`, never `NAME <type>  help`."""

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            metavar = param.metavar or (param.name or "value").upper()
            name = _TYPE.sub(metavar, record[0])
            if param.param_type_name == "argument":
                arguments.append((metavar, record[1]))
            else:
                options.append((name, record[1]))
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def use_plain_help(app: typer.Typer) -> None:
    """Give every command of `app` and of its sub-apps the plain help format."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):  # typer's default; a custom class stays
            info.cls = PlainHelpCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            use_plain_help(group.typer_instance)
