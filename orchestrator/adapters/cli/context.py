"""What the root callback hands every command: the settings, loaded once."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from orchestrator.settings import Settings

__all__ = ["CliState", "settings_from"]


@dataclass(frozen=True)
class CliState:
    settings: Settings


def settings_from(ctx: typer.Context) -> Settings:
    """The settings the root callback loaded (commands never load their own)."""
    state = ctx.find_root().obj
    if not isinstance(state, CliState):  # a command invoked outside the root app (tests)
        state = CliState(settings=Settings())
        ctx.find_root().obj = state
    return state.settings
