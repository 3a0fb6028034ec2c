"""`engine serve --max-pixels/--max-outputs/--max-prompt-chars/--max-upload-mb` reach the
served engine (the first three default to the settings, which the in-process engine uses
too), their help states the engine's real defaults, and a bad value is refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fixtures.ports import free_port
from typer.testing import CliRunner

from engine.limits import DEFAULT_LIMITS, EngineLimits
from engine.runner import EngineConfig, RunningEngine
from orchestrator.adapters.cli.app import app
from orchestrator.composition import start_in_process_engine
from orchestrator.settings import Settings

NODE_PACKS = Path(__file__).parent / "node_packs"
CLI = [sys.executable, "-c", "from orchestrator.adapters.cli.app import main; main()"]


def test_help_names_each_cap_with_an_example_and_the_engine_default() -> None:
    result = CliRunner().invoke(app, ["engine", "serve", "--help"], terminal_width=300)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    defaults = {
        "--max-pixels": DEFAULT_LIMITS.max_pixels,
        "--max-outputs": DEFAULT_LIMITS.max_outputs,
        "--max-prompt-chars": DEFAULT_LIMITS.max_prompt_chars,
        "--max-upload-mb": EngineConfig().max_upload_mb,
    }
    for flag, default in defaults.items():
        entry = re.search(rf"{flag} (N|MB) (.*?)\[x>=1\]", text)
        assert entry is not None, flag
        assert f"E.g. {flag} " in entry.group(2) or f"e.g. {flag} " in entry.group(2)
        assert re.search(rf"Default: [^.]*\b{default}\b", entry.group(2)), (flag, entry.group(2))


def test_a_cap_below_one_is_refused_naming_the_flag(tmp_path: Path) -> None:
    env = {**os.environ, "DGXP_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "40"}
    result = subprocess.run(
        [*CLI, "engine", "serve", "--port", "0", "--cpu", "--max-outputs", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "'--max-outputs'" in result.stderr
    assert not (tmp_path / "data" / "engine").exists()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`engine serve` in a real subprocess with small caps; yields its URL."""
    port = free_port()
    # max_outputs comes from the settings (environment), the others from flags.
    env = {**os.environ, "DGXP_DATA_DIR": str(tmp_path / "data"), "DGXP_MAX_OUTPUTS": "1"}
    command = [
        *CLI, "engine", "serve", "--port", str(port), "--cpu",
        "--models", str(tmp_path / "models"), "--custom-nodes", str(NODE_PACKS),
        "--max-pixels", "4096", "--max-prompt-chars", "5",
    ]  # fmt: skip
    log = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=sink)
        try:
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    requests.get(f"{url}/system_stats", timeout=2)
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            assert process.poll() is None, log.read_text()
            yield url
        finally:
            process.terminate()
            process.wait(timeout=60)


def test_served_engine_applies_the_caps_from_flags_and_settings(served: str) -> None:
    latent = {"width": 128, "height": 64, "batch_size": 1}  # 8192 pixels > 4096
    graph = {
        "1": {"class_type": "EmptyLatentImage", "inputs": latent},
        "2": {"class_type": "DGXPTest_ShowText", "inputs": {"value": ["1", 0]}},
    }
    answer = requests.post(f"{served}/prompt", json={"prompt": graph}, timeout=30).json()
    assert answer["node_errors"]["1"]["errors"][0]["type"] == "pixels_over_limit"
    graph["3"] = {"class_type": "DGXPTest_ShowText", "inputs": {"value": "abcdef"}}
    answer = requests.post(f"{served}/prompt", json={"prompt": graph}, timeout=30).json()
    assert answer["error"]["type"] == "prompt_too_many_outputs"
    save = {"images": ["4", 0], "filename_prefix": "abcdef"}
    graph = {
        "4": {"class_type": "DGXPTest_SolidImage", "inputs": {"width": 2, "height": 2}},
        "5": {"class_type": "SaveImage", "inputs": save},
    }
    answer = requests.post(f"{served}/prompt", json={"prompt": graph}, timeout=30).json()
    assert [e["type"] for e in answer["node_errors"]["5"]["errors"]] == ["value_too_long"]


def test_the_in_process_engine_takes_its_caps_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", max_pixels=5000, max_outputs=3, max_prompt_chars=70
    )
    engine = start_in_process_engine(settings)
    try:
        assert isinstance(engine, RunningEngine)
        assert engine.context.limits == EngineLimits(5000, 3, 70)
    finally:
        engine.stop()
