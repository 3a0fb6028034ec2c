"""`dgx-pixels tui`: the interactive terminal UI, a client of the daemon over ZeroMQ.

Textual and pyzmq are imported inside the command so `dgx-pixels --help` stays instant.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import typer

from orchestrator.adapters.cli.context import settings_from

__all__ = ["tui_command"]


def tui_command(
    ctx: typer.Context,
    router: str | None = typer.Option(
        None, "--router", help="Daemon request endpoint (default: setting zmq_router)."
    ),
    pub: str | None = typer.Option(
        None, "--pub", help="Daemon event endpoint (default: setting zmq_pub)."
    ),
    graphics: str | None = typer.Option(
        None,
        "--graphics",
        help="Draw images with auto (detect), kitty, sixel or halfcell blocks.",
    ),
) -> None:
    """Open the terminal UI: type a prompt, watch jobs run, see sprites, compare models.

    It talks to a running daemon, so start one first with `dgx-pixels serve` (in another
    terminal or as a service). The UI shows when the daemon is down and reconnects by
    itself. Press `?` inside for the keys. Log lines go to DATA_DIR/tui.log meanwhile.

    Example: dgx-pixels serve & dgx-pixels tui
    """
    settings = settings_from(ctx)
    from orchestrator.adapters.tui.graphics import detect_graphics

    try:
        mode = detect_graphics(graphics or settings.tui_graphics, os.environ, sys.stdout.isatty())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--graphics") from exc

    from orchestrator.adapters.tui.app import PixelsApp
    from orchestrator.adapters.tui.daemon_client import DaemonClient

    log_path = _log_to_file(settings.data_dir / "tui.log")
    client = DaemonClient(router or settings.zmq_router, pub or settings.zmq_pub)
    PixelsApp(client, mode).run()
    typer.echo(f"log: {log_path}")


def _log_to_file(path: Path) -> Path:
    # Log lines written to the terminal would tear through Textual's screen: send them to a
    # file for as long as the UI runs (the root callback configured a terminal handler).
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().handlers = [handler]
    return path
