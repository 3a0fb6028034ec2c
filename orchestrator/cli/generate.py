"""PLACEHOLDER owned by the orchestrator-service helper: replace this whole file."""

from __future__ import annotations

import typer


def generate_command(ctx: typer.Context) -> None:
    """Not built yet."""
    raise typer.Exit(code=2)


def batch_command(ctx: typer.Context) -> None:
    """Not built yet."""
    raise typer.Exit(code=2)
