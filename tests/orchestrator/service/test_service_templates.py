"""Every shipped template runs end to end through the Service on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from orchestrator.composition import build_service
from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.values import GenerationRequest, LoraSpec

TINY = {"checkpoint": "tiny_sdxl.safetensors", "steps": 1}
CASES: dict[str, dict[str, Any]] = {
    "single_sprite": {"width": 64, "height": 64},
    "batch_generation": {"width": 64, "height": 64, "batch_size": 2},
    "tileset": {"width": 64, "height": 64, "sprite_size": "16x16"},
    "sprite_sheet": {"width": 256, "height": 64, "frames": 4},
    "lora_compare": {"width": 64, "height": 64},
    "fast_sprite": {"width": 64, "height": 64},
}
SPRITES = {"batch_generation": 2, "lora_compare": 2}


@pytest.fixture(scope="module")
def template_service(
    orch_engine: Any, engine_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    from orchestrator.settings import Settings

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("templates"),
        models_dir=engine_models_dir,
        backends=[orch_engine.url],
    )
    service = build_service(settings, workers=1).start()
    yield service
    service.stop()


@pytest.mark.parametrize("template", sorted(CASES))
def test_template_runs_to_sprites_with_sidecars(template_service: Service, template: str) -> None:
    assert template in {t.name for t in template_service.templates()}
    loras = (LoraSpec("tiny_lora.safetensors", 0.5),)
    request = GenerationRequest(
        template=template,
        prompt="a mossy stone",
        seed=9,
        params={**TINY, **CASES[template]},
        loras=loras,
    )
    (job,) = template_service.submit(request)
    done = template_service.wait(job.id, 300)
    assert done.state is JobState.SUCCEEDED, done.error
    assert len(done.files) == SPRITES.get(template, 1)
    for files in done.files:
        with Image.open(files.sprite) as sprite:
            assert sprite.mode == "RGBA"
        sidecar = json.loads(Path(files.sidecar).read_text())
        assert sidecar["template"] == template and sidecar["seed"] == 9
        assert isinstance(sidecar["qa_report"], dict) and "pixel_perfect" in sidecar["qa_report"]
    if template == "lora_compare":  # base and LoRA sprites side by side, in one image
        assert done.files[0].comparison is not None
        with (
            Image.open(done.files[0].comparison) as comparison,
            Image.open(done.files[0].sprite) as base,
        ):
            assert comparison.mode == "RGBA" and comparison.width > 2 * base.width
        assert sidecar["backend_kind"] == "engine"  # `engine serve` by URL is the engine
        assert sidecar["qa_warnings"] == list(files.qa_warnings)
    if template == "lora_compare":  # each sidecar names only the models of its own branch
        lora_side, base_side = (json.loads(Path(f.sidecar).read_text()) for f in done.files)
        assert [x["name"] for x in lora_side["loras"]] == ["tiny_lora.safetensors"]
        assert base_side["loras"] == []
        assert [m["name"] for m in base_side["models"]] == ["tiny_sdxl.safetensors"]
        assert all(m["sha256"] for m in lora_side["models"])  # hashed from the local files
    if template == "tileset":  # the 3x3 tiled preview is kept with the tile
        tiled = done.files[0].tiled_preview
        assert tiled is not None
        with Image.open(tiled) as big, Image.open(done.files[0].sprite) as tile:
            assert big.size == (3 * tile.width, 3 * tile.height)
    if template == "sprite_sheet":
        assert done.files[0].atlas is not None
        assert "frames" in json.loads(Path(done.files[0].atlas).read_text())
