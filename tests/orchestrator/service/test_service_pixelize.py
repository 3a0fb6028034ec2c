"""`Service.pixelize_files`/`pixelize_file`: pictures become sprites, previews and sidecars
with no backend, in one layout; bad requests are refused before anything is written."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from orchestrator.composition import build_service
from orchestrator.errors import InvalidRequest
from orchestrator.service import PixelizeRequest, Service
from orchestrator.settings import Settings


def _blocky_png() -> bytes:
    """An 8x8 sprite drawn at 8x (64x64), the shape SDXL's pseudo pixel art has."""
    rng = np.random.default_rng(1)
    sprite = rng.integers(0, 4, size=(8, 8)) * 80
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0] = sprite
    rgba[..., 1] = 255 - sprite
    rgba[..., 3] = 255
    big = np.repeat(np.repeat(rgba, 8, axis=0), 8, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(big, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def service(make_settings: Callable[..., Settings]) -> Iterator[Service]:
    service = build_service(make_settings([]), backends=False)  # no backend at all
    yield service
    service.stop()


def test_pixelize_file_writes_sprite_preview_and_sidecar(service: Service, tmp_path: Path) -> None:
    source = tmp_path / "hero.png"
    source.write_bytes(_blocky_png())
    request = PixelizeRequest(size="8x8", background="none")
    outcome = service.pixelize_file(source, request)
    assert outcome.size == (8, 8)
    with Image.open(outcome.files.sprite) as sprite:
        assert sprite.size == (8, 8)
    assert (
        outcome.files.preview and Path(outcome.files.preview).name == "hero@16x.png"
    )  # auto, at most 16x
    sidecar = json.loads(Path(outcome.files.sidecar).read_text())
    assert sidecar["source"] == str(source) and sidecar["qa_report"] == outcome.report
    assert Path(outcome.files.sprite).parent == service.settings.resolved_output_dir / "pixelized"
    again = service.pixelize_file(source.read_bytes(), request)  # bytes work too
    assert Path(again.files.sprite).name.startswith("upload_")
    assert json.loads(Path(again.files.sidecar).read_text())["source"] == "upload"


def test_pixelize_file_refuses_a_non_image(service: Service) -> None:
    with pytest.raises(ValueError, match="image"):
        service.pixelize_file(b"not a picture", PixelizeRequest())


def test_pixelize_files_and_pixelize_file_share_one_layout_and_sidecar(
    service: Service, tmp_path: Path
) -> None:
    source = tmp_path / "hero.png"
    source.write_bytes(_blocky_png())
    request = PixelizeRequest(size="8x8", background="none", preview_scale=4)
    run = service.pixelize_files([tmp_path], request, out=tmp_path / "a")
    one = service.pixelize_file(source, request)
    (outcome,) = run.outcomes
    assert run.failures == () and run.total == 1
    names = [Path(p).name for p in (outcome.files.sprite, outcome.files.preview)]
    assert names == ["hero.png", "hero@4x.png"]
    first = json.loads(Path(outcome.files.sidecar).read_text())
    second = json.loads(Path(one.files.sidecar).read_text())
    assert set(first) == set(second) and first["type"] == "dgxp_pixelize_sidecar"
    assert first["qa_report"] == second["qa_report"] and first["request"] == request.to_dict()


@pytest.mark.parametrize(
    ("request_", "out", "field"),
    [
        (PixelizeRequest(palette="pico-8", colors=8), None, "palette/colors"),
        (PixelizeRequest(), "x.png", "out"),
        (PixelizeRequest(dither="atkinson"), None, "dither"),
        (PixelizeRequest(background="magic"), None, "background"),
        (PixelizeRequest(palette="vaporwave"), None, "palette"),
        (PixelizeRequest(size="32by32"), None, "size"),
        (PixelizeRequest(colors=1), None, "colors"),
        (PixelizeRequest(background="key"), None, "key_color"),
        (PixelizeRequest(outline_color="navy"), None, "outline_color"),
        (PixelizeRequest(preview_scale=65), None, "preview_scale"),
    ],
)
def test_bad_requests_are_refused_naming_the_field_before_anything_is_written(
    service: Service, tmp_path: Path, request_: PixelizeRequest, out: str | None, field: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "hero.png").write_bytes(_blocky_png())
    target = tmp_path / (out or "out")
    with pytest.raises(InvalidRequest) as caught:
        service.pixelize_files([folder], request_, out=target)
    assert caught.value.field == field
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "in"] or not target.exists()


def test_a_folder_run_reports_bad_files_and_keeps_the_good_ones(
    service: Service, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.png").write_bytes(_blocky_png())
    (folder / "bad.png").write_bytes(b"text")
    steps: list[str] = []
    run = service.pixelize_files(
        [folder, tmp_path / "missing.png"],
        PixelizeRequest(size="8x8"),
        out=tmp_path / "out",
        progress=lambda step: steps.append(f"{step.phase} {step.done}/{step.total}"),
    )
    assert [Path(o.files.sprite).name for o in run.outcomes] == ["good.png"]
    assert sorted(Path(f.source).name for f in run.failures) == ["bad.png", "missing.png"]
    assert run.total == 3 and steps == ["pixelize 1/2", "pixelize 2/2"]


def test_dotted_names_and_a_source_inside_the_output_folder_are_never_overwritten(
    service: Service, tmp_path: Path
) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "hero.v2.png").write_bytes(_blocky_png())
    (folder / "hero.png").write_bytes(_blocky_png())
    original = (folder / "hero.png").read_bytes()
    run = service.pixelize_files([folder], PixelizeRequest(size="8x8"), out=folder)
    names = sorted(Path(o.files.sprite).name for o in run.outcomes)
    assert names == ["hero-2.png", "hero.v2-2.png"]  # next to, never over, the pictures
    assert (folder / "hero.png").read_bytes() == original
