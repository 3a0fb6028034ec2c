"""The CLI's front door: `--help` teaches and loads nothing heavy."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app


def test_root_help_lists_the_main_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("pixelize", "generate", "jobs", "engine", "models", "tui", "mcp"):
        assert command in result.output


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from orchestrator.adapters.cli.app import app; "
        "assert 'torch' not in sys.modules, 'torch imported at CLI start'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
