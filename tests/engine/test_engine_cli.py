"""`dgx-pixels engine serve` serves the API until interrupted, on the folders it was given."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from fixtures.ports import free_port
from typer.testing import CliRunner

from engine.errors import EngineError
from engine.runner import EngineConfig, start_engine
from orchestrator.adapters.cli.app import app


def test_engine_serve_help_names_the_options() -> None:
    result = CliRunner().invoke(app, ["engine", "serve", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--models", "--out", "--input", "--custom-nodes", "--cpu"):
        assert option in result.output


def test_engine_serve_runs_until_sigint(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DGXP_DATA_DIR": str(tmp_path / "data")}
    command = [
        sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()",
        "engine", "serve", "--port", str(port), "--cpu",
        "--models", str(tmp_path / "models"), "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        stats = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                stats = requests.get(f"http://127.0.0.1:{port}/system_stats", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert stats is not None and stats.status_code == 200, (
            process.stdout and process.stdout.read()
        )
        assert stats.json()["devices"][0]["type"] == "cpu"
        assert (tmp_path / "data" / "engine" / "input").is_dir()
        assert (tmp_path / "out").is_dir() and (tmp_path / "models" / "checkpoints").is_dir()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = EngineConfig(base_dir=tmp_path, port=port, device="cpu", load_comfy_nodes=False)
        with pytest.raises(EngineError, match=f"could not serve on 127.0.0.1:{port}"):
            start_engine(config)


def test_config_without_base_dir_names_the_missing_folder() -> None:
    with pytest.raises(EngineError, match="needs base_dir or models_dir"):
        EngineConfig(port=0).paths()
