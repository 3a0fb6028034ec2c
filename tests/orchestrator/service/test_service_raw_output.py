"""A job writes the full-size raw render only when asked (`save_raw`): by default only the
sprite, its preview and sidecar reach the output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from service_testkit import FAST, MakeService, tiny_request

from orchestrator.jobs.states import JobState


def test_a_default_job_writes_no_raw_render(orch_engine: Any, make_service: MakeService) -> None:
    service = make_service([orch_engine.url], workers=1)
    (job,) = service.submit(tiny_request())

    done = service.wait(job.id, 120)

    assert done.state is JobState.SUCCEEDED, done.error
    files = service.outputs(done.id)
    assert files.raw is None and files.sprite and Path(files.sprite).is_file()
    assert not list(Path(files.sprite).parent.glob("*_raw.png"))
    assert done.params["save_raw"] is False  # recorded with the job, as every value


def test_save_raw_writes_the_full_size_render_next_to_the_sprite(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url], workers=1)
    (job,) = service.submit(tiny_request(params={**FAST, "save_raw": True}))

    done = service.wait(job.id, 120)

    assert done.state is JobState.SUCCEEDED, done.error
    files = service.outputs(done.id)
    assert files.raw is not None and files.raw.endswith("_raw.png")
    with Image.open(files.raw) as raw:
        assert raw.size == (FAST["width"], FAST["height"])
