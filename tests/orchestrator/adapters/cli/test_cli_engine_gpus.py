"""`dgx-pixels engine serve --gpus`: a bad spec, port or group name is refused before any
engine process starts, naming the flag's value (exit 2); the help teaches the group."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.adapters.cli.app import app


def _serve(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"DGXP_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(app, ["engine", "serve", *args], env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--gpus", "gpu0", "--port", "9000"], "gpus='gpu0'"),
        (["--gpus", "cpu:0", "--port", "9000"], "gpus='cpu:0'"),
        (["--gpus", "cpu:2", "--port", "0"], "port=0"),
        (["--gpus", "cpu:2", "--port", "65535"], "port=65535"),
        (["--gpus", "cpu:1", "--port", "9000", "--group", "My Group"], "group='My Group'"),
    ],
)
def test_a_bad_group_request_is_refused_naming_it_and_starts_nothing(
    tmp_path: Path, args: list[str], named: str
) -> None:
    handlers = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    code, output = _serve(tmp_path, *args)
    assert code == 2, output
    assert named in output and output.count("error:") == 1
    assert not (tmp_path / "data" / "engine" / "groups").exists()  # nothing published
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers


def test_the_help_says_how_the_daemon_finds_the_group(tmp_path: Path) -> None:
    code, output = _serve(tmp_path, "--help")
    assert code == 0
    flat = " ".join(output.split())
    assert "--gpus" in flat and "--group" in flat and "engine://" in flat
