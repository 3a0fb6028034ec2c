"""`dgx-pixels engine serve --gpus`: a bad spec, port or group name is refused before any
engine process starts, naming the flag's value (exit 2); the help teaches the group."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.ports import free_port_pair
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


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_group(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    data_dir = tmp_path / "data"
    command = [
        sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()",
        "engine", "serve", "--gpus", "cpu:2", "--port", str(free_port_pair()),
        "--models", str(tmp_path / "models"),
    ]  # fmt: skip
    env = {**os.environ, "DGXP_DATA_DIR": str(data_dir)}
    with (tmp_path / "group.log").open("wb") as log:  # members write there too
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    members = data_dir / "engine" / "groups" / "local.json"
    _wait(lambda: members.exists() or process.poll() is not None, 60, "the members file")
    assert process.poll() is None, (tmp_path / "group.log").read_text()
    return process, members


def _pids(members: Path) -> list[int]:
    return [int(m["pid"]) for m in json.loads(members.read_text())["members"] if m["pid"]]


def test_sigterm_to_the_supervisor_stops_every_member_and_unpublishes(tmp_path: Path) -> None:
    process, members = _start_group(tmp_path)
    pids = _pids(members)
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0, (tmp_path / "group.log").read_text()
    assert not members.exists()
    _wait(lambda: not any(_alive(p) for p in pids), 10, "the members to exit")


@pytest.mark.slow
def test_members_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    process, members = _start_group(tmp_path)
    pids = _pids(members)
    process.kill()  # no cleanup runs: the members learn it from PR_SET_PDEATHSIG
    process.wait(10)
    _wait(lambda: not any(_alive(p) for p in pids), 60, "the orphaned members to exit")
