"""PLACEHOLDER owned by the mcp-bevy helper: replace this whole file."""

from __future__ import annotations

import typer


def mcp_command(ctx: typer.Context) -> None:
    """Not built yet."""
    raise typer.Exit(code=2)
