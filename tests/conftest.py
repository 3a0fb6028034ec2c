"""Session fixtures shared by every test folder: a tiny SDXL checkpoint, a tiny LoRA, and a
ComfyUI-style models/ folder holding both (built at test time, nothing committed)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """One OpenMP thread per test process unless the caller chose otherwise.

    The tests run tiny models, where torch's per-op thread fan-out costs more than it
    gives; on a shared 2-core machine the spinning OpenMP workers made the SDXL node tests
    20x slower (25 s vs 1.2 s). Set before any test module imports torch.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Let the suite start where pytest-asyncio / pytest-timeout are not installed (the GPU
    box runs `pytest -m gpu tests/engine/gpu` with neither): pyproject's `asyncio_*` ini keys
    and `--timeout` are then registered here as inert, instead of stopping the run (an
    unknown ini key is a warning, and warnings are errors in this suite)."""
    if not pluginmanager.has_plugin("asyncio"):
        for key in ("asyncio_mode", "asyncio_default_fixture_loop_scope"):
            parser.addini(key, "inert: pytest-asyncio is not installed")
    if not pluginmanager.has_plugin("timeout"):
        parser.addoption("--timeout", default=None, help="inert: pytest-timeout is not installed")


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """Undo the logging set-up of CLI commands run in-process (CliRunner).

    The CLI points the root logger at the `sys.stderr` of the moment, which CliRunner closes
    after the command; a later test's background thread (an engine worker, an aiohttp access
    log) would then log into a closed file ("--- Logging error ---"). pytest's own capture
    handlers are left alone.
    """
    root = logging.getLogger()
    handlers, level = set(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def tiny_sdxl_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to a tiny random SDXL single-file `.safetensors` with the real key layout."""
    from fixtures.tiny_sdxl import write_tiny_checkpoint  # torch: import only when used

    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny_sdxl") / "tiny_sdxl.safetensors")


@pytest.fixture(scope="session")
def tiny_lora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to a kohya-format LoRA (SGM names) for the tiny checkpoint."""
    from fixtures.tiny_sdxl import write_tiny_lora

    return write_tiny_lora(tmp_path_factory.mktemp("tiny_lora") / "tiny_lora.safetensors")


@pytest.fixture(scope="session")
def engine_models_dir(
    tmp_path_factory: pytest.TempPathFactory, tiny_sdxl_checkpoint: Path, tiny_lora: Path
) -> Path:
    """A models/ folder with checkpoints/tiny_sdxl.safetensors and loras/tiny_lora.safetensors."""
    models = tmp_path_factory.mktemp("engine") / "models"
    (models / "checkpoints").mkdir(parents=True)
    (models / "loras").mkdir()
    shutil.copy(tiny_sdxl_checkpoint, models / "checkpoints" / "tiny_sdxl.safetensors")
    shutil.copy(tiny_lora, models / "loras" / "tiny_lora.safetensors")
    return models
