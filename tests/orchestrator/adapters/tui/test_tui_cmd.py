"""`dgx-pixels tui` command line: help teaches, a bad graphics mode is named."""

from __future__ import annotations

from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app


def test_help_says_a_daemon_is_needed_and_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["tui", "--help"])
    assert result.exit_code == 0
    for text in ("dgx-pixels serve", "--router", "--pub", "--graphics"):
        assert text in result.output


def test_unknown_graphics_mode_is_refused_naming_the_valid_ones() -> None:
    result = CliRunner().invoke(app, ["tui", "--graphics", "ascii"])
    assert result.exit_code == 2
    assert "ascii" in result.output and "halfcell" in result.output
