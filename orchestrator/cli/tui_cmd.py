"""PLACEHOLDER owned by the zmq-tui helper: replace this whole file."""

from __future__ import annotations

import typer


def tui_command(ctx: typer.Context) -> None:
    """Not built yet."""
    raise typer.Exit(code=2)
