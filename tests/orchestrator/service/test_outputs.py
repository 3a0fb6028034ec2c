"""Writing a job's files: stable names, exact previews, provenance, atomic and idempotent."""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from comfy_nodes.pixel.animation_sheet import SheetLayout, assemble_sheet
from comfy_nodes.pixel.pipeline import PixelizeOptions
from orchestrator.jobs.models import Job, SpriteFiles
from orchestrator.jobs.states import JobState
from orchestrator.service.outputs import (
    FileHasher,
    RenderedImage,
    collect_outputs,
    slugify,
    upscale_png,
    write_atomic,
)

CREATED = 1_790_000_000.0  # 2026-09-21 UTC


def _png(rgba: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgba.astype(np.uint8), "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def _sprite(w: int = 4, h: int = 2) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(h, w, 4), dtype=np.uint8)


def _job(prompt: str = "A Red Potion!") -> Job:
    return Job(
        id="0123456789abcdef0123456789abcdef",
        state=JobState.RUNNING,
        template="single_sprite",
        params={"prompt": prompt, "negative_prompt": "blurry", "steps": 2},
        seed=42,
        backend="http://127.0.0.1:1",
        prompt_id="p1",
        created_at=CREATED,
    )


def _collect(
    tmp_path: Path, images: list[RenderedImage], roles: dict[str, str]
) -> tuple[SpriteFiles, ...]:
    history = {"12": {"text": [json.dumps({"pixel_perfect": True, "colors": 5})]}}
    return collect_outputs(_job(), images, history, roles, tmp_path, {"backend": "http://b"})


def test_names_are_dated_slugged_and_carry_the_job_id(tmp_path: Path) -> None:
    sprite = RenderedImage("12", "s_00001_.png", _png(_sprite()))
    (files,) = _collect(tmp_path, [sprite], {"sprite": "12"})
    assert files.sprite == str(tmp_path / "2026-09-21" / "a-red-potion_01234567_0.png")
    assert Path(files.sprite).read_bytes() == sprite.data
    assert files.preview is not None and files.preview.endswith("_0@16x.png")


def test_preview_is_an_exact_nearest_neighbour_upscale(tmp_path: Path) -> None:
    rgba = _sprite()
    (files,) = _collect(tmp_path, [RenderedImage("12", "s.png", _png(rgba))], {"sprite": "12"})
    preview = np.asarray(Image.open(str(files.preview)).convert("RGBA"))
    assert preview.shape == (2 * 16, 4 * 16, 4)
    np.testing.assert_array_equal(preview[::16, ::16], rgba)
    np.testing.assert_array_equal(preview[15::16, 15::16], rgba)


def test_raw_render_is_paired_by_role_and_sidecar_has_provenance(tmp_path: Path) -> None:
    raw = RenderedImage("9", "raw.png", _png(np.zeros((256, 256, 4))))
    sprite = RenderedImage("12", "s.png", _png(_sprite()))
    (files,) = _collect(tmp_path, [raw, sprite], {"sprite": "12", "raw": "9"})
    assert files.raw is not None and Path(files.raw).read_bytes() == raw.data
    sidecar = json.loads(Path(files.sidecar).read_text())
    assert sidecar["prompt"] == "A Red Potion!" and sidecar["negative_prompt"] == "blurry"
    assert (sidecar["seed"], sidecar["template"], sidecar["backend"]) == (
        42,
        "single_sprite",
        "http://b",
    )
    assert sidecar["qa_report"] == {"pixel_perfect": True, "colors": 5}
    assert sidecar["size"] == [4, 2] and sidecar["files"]["raw"] == files.raw


def test_without_roles_big_images_are_raw_and_small_are_sprites(tmp_path: Path) -> None:
    raw = RenderedImage("1", "raw.png", _png(np.zeros((300, 300, 4))))
    sprite = RenderedImage("2", "s.png", _png(_sprite()))
    (files,) = _collect(tmp_path, [raw, sprite], {})
    assert Path(files.sprite).read_bytes() == sprite.data
    assert files.raw is not None


def test_collecting_twice_rewrites_the_same_files_only(tmp_path: Path) -> None:
    images = [RenderedImage("12", f"s{i}.png", _png(_sprite(3 + i))) for i in range(2)]
    first = _collect(tmp_path, images, {"sprite": "12"})
    listing = sorted(p.name for p in tmp_path.rglob("*"))
    second = _collect(tmp_path, images, {"sprite": "12"})
    assert first == second
    assert sorted(p.name for p in tmp_path.rglob("*")) == listing
    assert len([n for n in listing if n.endswith(".json")]) == 2


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.png"
    write_atomic(target, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_upscale_factor_one_keeps_pixels(tmp_path: Path) -> None:
    rgba = _sprite()
    out = np.asarray(Image.open(io.BytesIO(upscale_png(_png(rgba), 1))).convert("RGBA"))
    np.testing.assert_array_equal(out, rgba)


def test_slug_is_file_name_safe() -> None:
    assert slugify("  Hero / Knight: idle!! ") == "hero-knight-idle"
    assert slugify("!!!") == "sprite"
    assert len(slugify("x" * 200)) == 40


def test_hasher_hashes_once_and_misses_quietly(tmp_path: Path) -> None:
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"abc")
    hasher = FileHasher()
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hasher.sha256(model) == expected
    assert hasher.sha256(tmp_path / "missing.safetensors") == ""


def test_reports_from_the_report_nodes_ui_text_reach_each_sidecar(tmp_path: Path) -> None:
    # DGXP_SpriteReport's ui text: one JSON object per sprite (a list in one text counts too)
    sprites = [RenderedImage("12", f"s{n}.png", _png(_sprite())) for n in range(3)]
    reports = [{"pixel_perfect": n != 1, "colors": n} for n in range(3)]
    ui = {"text": [json.dumps(reports[0]), json.dumps(reports[1:])]}
    history = {"12": {"images": []}, "13": ui}
    roles = {"sprite": "12", "report": "13"}
    written = collect_outputs(_job(), sprites, history, roles, tmp_path, {})
    sidecars = [json.loads(Path(f.sidecar).read_text()) for f in written]
    assert [s["qa_report"] for s in sidecars] == reports


def test_an_atlas_in_the_sheet_nodes_ui_is_written_instead_of_rebuilt(tmp_path: Path) -> None:
    atlas = {"frames": [{"filename": "from-the-node"}], "meta": {"image": "sheet.png"}}
    sheet = RenderedImage("11", "sheet.png", _png(_sprite()))
    history = {"15": {"text": [json.dumps(atlas, indent=1)]}}
    roles = {"sprite": "11", "atlas": "15", "frames": "16"}
    (files,) = collect_outputs(_job(), [sheet], history, roles, tmp_path, {})
    assert files.atlas is not None
    written = json.loads(Path(files.atlas).read_text())
    assert written["frames"] == atlas["frames"]
    assert written["meta"]["image"] == Path(files.sprite).name  # the sheet as written


def _sheet_job(**params: object) -> Job:
    values = {"prompt": "a knight", "directions": "down,up", "frames": 2, "animation": "walk"}
    return replace(_job(), template="sprite_sheet", params={**values, **params})


def _walk_frames() -> list[np.ndarray]:
    """Four 16x16-cell renders of one figure (8 px cells), a cell lower every other frame."""
    frames = []
    for i in range(4):
        cells = np.zeros((16, 16, 4), np.uint8)
        cells[...] = (180, 180, 180, 255)
        cells[4 + i % 2 : 13 + i % 2, 5:10] = (200, 30, 30, 255)
        frames.append(np.repeat(np.repeat(cells, 8, 0), 8, 1))
    return frames


def test_a_sheet_atlas_rebuilt_without_the_nodes_ui_has_the_nodes_tags(tmp_path: Path) -> None:
    # what the sheet node makes of these frames: its aligned frames and its atlas
    layout = SheetLayout.parse("down,up", 2, "walk", 120)
    made = assemble_sheet(_walk_frames(), layout, PixelizeOptions(), image_name="k.png")
    sheet = RenderedImage("11", "sheet.png", _png(made.sheet))
    frames = [RenderedImage("16", f"f{i}.png", _png(f)) for i, f in enumerate(made.frames)]
    history = {"24": {"images": []}}  # a backend that kept the atlas text to itself
    roles = {"sprite": "11", "frames": "16", "atlas": "24"}
    job = _sheet_job(frame_ms=120, sheet_name="k.png")

    (files,) = collect_outputs(job, [sheet, *frames], history, roles, tmp_path, {})

    assert files.atlas is not None
    rebuilt = json.loads(Path(files.atlas).read_text())
    tags = [(t["name"], t["from"], t["to"]) for t in rebuilt["meta"]["frameTags"]]
    assert tags == [("walk_down", 0, 1), ("walk_up", 2, 3)]
    assert rebuilt["frames"] == made.aseprite["frames"]
    assert rebuilt["meta"]["frameTags"] == made.aseprite["meta"]["frameTags"]


def test_a_sheet_whose_params_do_not_fit_its_frames_is_kept_without_an_atlas(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frames = [RenderedImage("16", f"f{i}.png", _png(_sprite(4, 4))) for i in range(4)]
    sheet = RenderedImage("11", "sheet.png", _png(_sprite(8, 8)))
    roles = {"sprite": "11", "frames": "16", "atlas": "24"}
    for bad in ({"frames": 3}, {"directions": "down,down"}):
        with caplog.at_level("WARNING", logger="orchestrator.service.outputs"):
            (files,) = collect_outputs(
                _sheet_job(**bad), [sheet, *frames], {}, roles, tmp_path / str(bad), {}
            )
        assert files.atlas is None and Path(files.sprite).is_file()
    messages = [r.getMessage() for r in caplog.records]
    assert any("could not rebuild the sheet atlas" in m and "frames" in m for m in messages)
    assert any("directions='down,down'" in m for m in messages)


def test_the_hash_cache_outlives_the_process_and_follows_size_and_mtime(tmp_path: Path) -> None:
    model, cache = tmp_path / "m.safetensors", tmp_path / "data" / "model_hashes.json"
    model.write_bytes(b"abc")
    stamp = model.stat().st_mtime_ns
    first = FileHasher(cache).sha256(model)
    assert first == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    model.write_bytes(b"xyz")  # same size; the old mtime put back: the cache is trusted
    os.utime(model, ns=(stamp, stamp))
    assert FileHasher(cache).sha256(model) == first  # a new process did not re-hash
    os.utime(model, ns=(stamp + 10**9, stamp + 10**9))  # the file changed: hashed again
    assert FileHasher(cache).sha256(model) != first


def test_a_corrupt_hash_cache_only_costs_a_rehash(tmp_path: Path) -> None:
    model, cache = tmp_path / "m.safetensors", tmp_path / "model_hashes.json"
    model.write_bytes(b"abc")
    cache.write_text("{not json")
    assert FileHasher(cache).sha256(model).startswith("ba7816bf")
    assert json.loads(cache.read_text())["type"] == "dgxp_model_hashes"  # rewritten whole


def test_the_tiled_preview_is_kept_with_the_tile_not_taken_as_a_sprite(tmp_path: Path) -> None:
    tile = _sprite(4, 4)
    tiled = np.tile(tile, (3, 3, 1))
    images = [RenderedImage("11", "t.png", _png(tile)), RenderedImage("14", "p.png", _png(tiled))]
    (files,) = _collect(tmp_path, images, {"sprite": "11", "tiled_preview": "14"})
    assert files.tiled_preview is not None and files.tiled_preview.endswith("_0_tiled.png")
    assert Path(files.tiled_preview).read_bytes() == images[1].data
    assert (
        json.loads(Path(files.sidecar).read_text())["files"]["tiled_preview"] == files.tiled_preview
    )


def test_each_sidecar_names_only_the_models_upstream_of_its_sprite(tmp_path: Path) -> None:
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "c.safetensors"}},
        "32": {
            "class_type": "LoraLoader",
            "inputs": {"model": ["4", 0], "lora_name": "l.safetensors", "strength_model": 0.5},
        },
        "11": {"class_type": "SaveImage", "inputs": {"images": ["4", 0]}},
        "21": {"class_type": "SaveImage", "inputs": {"images": ["32", 0]}},
    }
    provenance = {
        "models": [
            {"name": "c.safetensors", "sha256": "aa"},
            {"name": "l.safetensors", "sha256": "bb"},
        ],
        "loras": [{"name": "l.safetensors", "strength": 0.5}],
    }
    images = [
        RenderedImage("21", "l.png", _png(_sprite())),
        RenderedImage("11", "b.png", _png(_sprite())),
    ]
    roles = {"sprite": "21", "base": "11"}
    written = collect_outputs(_job(), images, {}, roles, tmp_path, provenance, graph=graph)
    lora_side, base_side = (json.loads(Path(f.sidecar).read_text()) for f in written)
    assert lora_side["loras"] == [{"name": "l.safetensors", "strength": 0.5}]
    assert [m["name"] for m in lora_side["models"]] == ["c.safetensors", "l.safetensors"]
    assert base_side["loras"] == [] and base_side["models"] == [
        {"name": "c.safetensors", "sha256": "aa"}
    ]
    assert base_side["checkpoint"] == "c.safetensors"


def test_a_fully_transparent_sprite_carries_its_qa_warning(tmp_path: Path) -> None:
    clear = np.zeros((4, 4, 4), dtype=np.uint8)
    (files,) = collect_outputs(
        _job(), [RenderedImage("12", "s.png", _png(clear))], {}, {"sprite": "12"}, tmp_path, {}
    )
    assert "the sprite is fully transparent" in files.qa_warnings
    assert json.loads(Path(files.sidecar).read_text())["qa_warnings"] == list(files.qa_warnings)
