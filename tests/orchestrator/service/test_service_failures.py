"""A job the backend fails: the reason is recorded once, cleanly, and the service goes on."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.job_events import JobEvent, JobEventKind
from orchestrator.service.values import GenerationRequest

FAST = {"steps": 1, "width": 64, "height": 64}


@pytest.fixture
def engine_with_a_broken_checkpoint(engine_models_dir: Path, tmp_path: Path) -> Iterator[Any]:
    """An engine whose models include `broken.safetensors`: listed, but not loadable."""
    from engine.runner import EngineConfig, start_engine

    models = tmp_path / "models"
    shutil.copytree(engine_models_dir, models)
    (models / "checkpoints" / "broken.safetensors").write_bytes(b"not a safetensors file")
    engine = start_engine(
        EngineConfig(base_dir=tmp_path / "engine", models_dir=models, port=0, device="cpu")
    )
    yield engine
    engine.stop()


def test_backend_error_text_is_stored_without_trailing_newlines(
    engine_with_a_broken_checkpoint: Any, make_service: Callable[..., Service]
) -> None:
    service = make_service([engine_with_a_broken_checkpoint.url])
    failed: list[JobEvent] = []
    service.subscribe(lambda e: failed.append(e) if e.kind is JobEventKind.FAILED else None)
    params = {**FAST, "checkpoint": "broken.safetensors"}
    (job,) = service.submit(GenerationRequest(prompt="a potion", seed=1, params=params))
    done = service.wait(job.id, 120)
    assert done.state is JobState.FAILED and done.error
    # ComfyUI (and the engine) end exception_message with "\n": tables must not show it.
    assert done.error == done.error.strip() and "broken.safetensors" in done.error
    assert "CheckpointLoaderSimple" in done.error
    assert [e.message for e in failed] == [done.error]
    assert service.get_job(job.id).error == done.error
