"""PLACEHOLDER owned by the orchestrator-service (list) and engine-models (demo) helper: replace this whole file (keep the name `app`)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Not built yet.", no_args_is_help=True)
