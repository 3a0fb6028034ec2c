"""The CLI's front door: help teaches (an example per command, no Python types, one meaning
per short flag), `--version` answers, and starting the CLI loads nothing heavy.

Every command is found by walking the typer app, so a new command is checked too.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app

_ROOT = typer.main.get_command(app)


def _commands(
    group: Any = _ROOT, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf command of the app with its path (`("jobs", "list")`)."""
    if hasattr(group, "commands"):  # a group (typer vendors its own click)
        for name, command in group.commands.items():
            yield from _commands(command, (*path, name))
    else:
        yield path, group


COMMANDS = dict(_commands())
# A type in help looks like `<str>`, `<int range>`, `<list[Path]>`, `<path>`.
_PYTHON_TYPE = re.compile(r"<(str|int|float|bool|path|list\[[^>]*\]|[a-z]+ range)[^>]*>")


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_walk_finds_every_command_group() -> None:
    groups = {path[0] for path in COMMANDS}
    assert {"pixelize", "generate", "batch", "jobs", "engine", "models", "comfy"} <= groups
    assert len(COMMANDS) >= 15


def test_root_help_lists_the_main_commands() -> None:
    output = _help(())
    for command in ("pixelize", "generate", "jobs", "engine", "models", "tui", "mcp"):
        assert command in output


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_help_has_an_example_and_no_python_types(path: tuple[str, ...]) -> None:
    output = _help(path)
    assert "Example" in output, f"{' '.join(path)}: no example in its help"
    options_part = output[output.find("Options:") :]
    arguments_part = output[output.find("Arguments:") :] if "Arguments:" in output else ""
    assert _PYTHON_TYPE.search(options_part + arguments_part) is None, output


def test_a_short_flag_means_one_thing_on_every_command() -> None:
    meaning: dict[str, set[str]] = {}
    for command in COMMANDS.values():
        for param in command.params:
            longs = [o for o in param.opts if o.startswith("--")]
            for short in (o for o in param.opts if re.fullmatch(r"-\w", o)):
                meaning.setdefault(short, set()).add(longs[0] if longs else short)
    assert {s: m for s, m in meaning.items() if len(m) > 1} == {}
    assert meaning["-o"] == {"--out"} and meaning["-p"] == {"--palette"}


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"dgx-pixels {version('dgx-pixels')}"


def test_starting_the_cli_imports_no_heavy_module() -> None:
    heavy = ("torch", "diffusers", "requests", "numpy", "PIL", "scipy", "pydantic_settings")
    code = (
        "import sys; import orchestrator.adapters.cli.app; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert loaded.stdout.decode().split() == []


def test_help_at_40_columns_keeps_every_option_name_whole() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator.adapters.cli", "engine", "serve", "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "40", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    for option in ("--precision", "--compile-mode", "--custom-nodes", "--preview"):
        assert option in proc.stdout
