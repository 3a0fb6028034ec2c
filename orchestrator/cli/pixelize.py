"""PLACEHOLDER owned by the pixel-tools helper: replace this whole file."""

from __future__ import annotations

import typer


def pixelize_command(ctx: typer.Context) -> None:
    """Not built yet."""
    raise typer.Exit(code=2)
