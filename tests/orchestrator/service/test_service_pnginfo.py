"""A job's PNGs carry ComfyUI provenance: the API graph (`prompt`) and its UI twin
(`workflow`), so they open in the ComfyUI editor like ComfyUI-made PNGs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image
from service_testkit import FAST, MakeService, tiny_request

from orchestrator.jobs.states import JobState
from orchestrator.service.pnginfo import submit_extra_data


def _text_chunks(path: str) -> dict[str, str]:
    with Image.open(path) as image:
        image.load()
        return dict(image.text)  # type: ignore[attr-defined]


def test_sprite_and_raw_pngs_carry_the_api_graph_and_its_ui_workflow(
    orch_engine: Any, make_service: MakeService
) -> None:
    service = make_service([orch_engine.url], workers=1)
    (job,) = service.submit(tiny_request(params={**FAST, "save_raw": True}))
    done = service.wait(job.id, 120)
    assert done.state is JobState.SUCCEEDED, done.error
    graph = service.template(done.template).render(done.params)
    files = service.outputs(done.id)
    for path in (files.sprite, files.raw):
        assert path and Path(path).is_file()
        chunks = _text_chunks(path)
        assert json.loads(chunks["prompt"]) == graph
        workflow = json.loads(chunks["workflow"])
        assert workflow["links"], path
        types = sorted(node["type"] for node in workflow["nodes"])
        assert types == sorted(node["class_type"] for node in graph.values())


def test_graph_without_a_ui_twin_still_gets_its_job_id_and_no_workflow() -> None:
    graph = {"1": {"class_type": "NoSuchNode", "inputs": {}}}
    extra = submit_extra_data("0123456789abcdef", graph, {"SaveImage": {}})
    assert extra == {"dgxp_job_id": "0123456789abcdef"}


def test_extra_data_names_the_job_and_holds_the_ui_workflow() -> None:
    info = {
        "LoadImage": {
            "input": {"required": {"image": [["a.png"], {}]}},
            "input_order": {"required": ["image"]},
            "output": ["IMAGE", "MASK"],
            "output_name": ["IMAGE", "MASK"],
        },
        "SaveImage": {
            "input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}},
            "input_order": {"required": ["images", "filename_prefix"]},
            "output": [],
            "output_name": [],
        },
    }
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
    }
    extra = submit_extra_data("job-1", graph, info)
    workflow = extra["extra_pnginfo"]["workflow"]
    assert extra["dgxp_job_id"] == "job-1"
    assert [n["type"] for n in workflow["nodes"]] == ["LoadImage", "SaveImage"]
    assert workflow["links"] == [[1, 1, 0, 2, 0, "IMAGE"]]
