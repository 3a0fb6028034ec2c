"""GPU test fixtures: `@pytest.mark.gpu` tests skip themselves when CUDA is not available.

The default `pytest` run deselects them (`-m 'not gpu'` in pyproject); `pytest -m gpu
tests/engine/gpu` selects them, and on a machine without CUDA each one is skipped with the
reason instead of failing. `cuda_engine_factory` starts real engine servers on CUDA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.runner import EngineConfig, RunningEngine, start_engine


@pytest.fixture(autouse=True)
def _skip_gpu_tests_without_cuda(request: pytest.FixtureRequest) -> None:
    """Skip a `gpu`-marked test on a machine without CUDA (torch imported only here)."""
    if request.node.get_closest_marker("gpu") is None:
        return
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False)")


@pytest.fixture
def cuda_engine_factory(
    tmp_path: Path, engine_models_dir: Path
) -> Iterator[Callable[..., RunningEngine]]:
    """Start engines on CUDA with the tiny models (`EngineConfig` overrides as kwargs)."""
    engines: list[RunningEngine] = []

    def start(**overrides: Any) -> RunningEngine:
        settings: dict[str, Any] = {"device": "cuda", **overrides}
        config = EngineConfig(
            base_dir=tmp_path / f"engine{len(engines)}",
            models_dir=engine_models_dir,
            port=0,
            **settings,
        )
        engines.append(start_engine(config))
        return engines[-1]

    yield start
    for engine in engines:
        engine.stop()
