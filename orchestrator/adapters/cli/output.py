"""Where the CLI's text goes: results on stdout, everything else on stderr, never wrapped.

stdout carries results only (one path per line, or one JSON record per line with `--json`)
so scripts can read it; notes, warnings, errors, logs and progress go to stderr. Nothing
here wraps a line at the terminal width: a path must survive copy-paste and grep whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "choices_metavar",
    "emit_record",
    "emit_result",
    "fail",
    "note",
    "stderr_console",
    "warn",
]


def emit_result(line: str) -> None:
    """One result (usually a path) on stdout."""
    typer.echo(line)


def emit_record(record: Mapping[str, Any]) -> None:
    """One result as a single JSON line on stdout (`--json`)."""
    typer.echo(json.dumps(record, ensure_ascii=False, default=str))


def note(message: str) -> None:
    """Information for the person at the terminal, on stderr."""
    typer.echo(message, err=True)


def warn(message: str) -> None:
    """A warning on stderr (yellow on a terminal)."""
    typer.secho(f"warning: {message}", fg="yellow", err=True)


def fail(message: object, code: int = 1) -> typer.Exit:
    """Print `error: MESSAGE` as one stderr line and return the `Exit` to raise.

    Args:
        message: The error (its `str` names the argument and value).
        code: 1 for a failed operation, 2 for a usage or configuration error.
    """
    typer.secho("error:", fg="red", err=True, nl=False)
    typer.echo(f" {message}", err=True)
    return typer.Exit(code=code)


def stderr_console() -> Console:
    """A rich console for tables and progress on stderr that never soft-wraps lines."""
    from rich.console import Console  # rich only where a table or a bar is drawn

    return Console(stderr=True, soft_wrap=True)


def choices_metavar(choices: type[Enum] | Iterable[str]) -> str:
    """`[a|b|c]` for help, from the one registry of the values (an enum or a name list)."""
    names = [str(m.value) for m in choices] if isinstance(choices, type) else list(choices)
    return "[" + "|".join(names) + "]"
