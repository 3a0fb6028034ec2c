"""What the root callback hands every command: the config file, settings loaded on first use.

Settings load lazily so `dgx-pixels CMD --help` and commands that need none (pixelize with
`-o`) pay nothing for them; a bad config still stops every command that reads settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from orchestrator.adapters.cli.output import fail

if TYPE_CHECKING:
    from orchestrator.settings import Settings

__all__ = ["CliState", "settings_from"]


@dataclass
class CliState:
    """The root options, and the settings once a command asked for them."""

    config: Path | None = None
    verbose: bool = False
    log_format: str | None = None  # --log-format; None: the settings' log_format decides
    settings: Settings | None = field(default=None, repr=False)


def settings_from(ctx: typer.Context) -> Settings:
    """The settings, loaded once per run (exit 2 with one line naming the file/key if bad)."""
    root = ctx.find_root()
    state = root.obj if isinstance(root.obj, CliState) else CliState()
    root.obj = state
    if state.settings is None:
        state.settings = _load(state)
    return state.settings


def _load(state: CliState) -> Settings:
    from orchestrator.errors import ConfigError
    from orchestrator.settings import load_settings

    try:
        settings = load_settings(state.config)
    except ConfigError as exc:
        raise fail(exc, code=2) from exc
    if not state.verbose:  # the root callback logs at INFO until the settings say otherwise
        level = logging.getLevelName(settings.log_level.upper())
        logging.getLogger().setLevel(level if isinstance(level, int) else logging.INFO)
    if state.log_format is None and settings.log_format == "json":  # the option wins
        from orchestrator.adapters.cli.log_format import formatter_for

        for handler in logging.getLogger().handlers:
            handler.setFormatter(formatter_for("json"))
    return settings
