"""Deploys land inside assets/, record provenance, keep backups and honour dry runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from deploy_testkit import png_bytes, tree

from orchestrator.deploy import (
    AssetExistsError,
    Deployer,
    DeployRequest,
    Provenance,
    UnsafeDestinationError,
    read_manifest,
)

PROV = Provenance(
    job_id="job-1", prompt="a red potion", seed=7, model="tiny_sdxl.safetensors",
    template="single_sprite", loras=(("tiny_lora", 0.8),),
)  # fmt: skip


def test_bare_name_lands_in_generated_with_manifest_entry(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    src = make_png()
    result = deployer.deploy(DeployRequest("game", "potion", src, provenance=PROV))
    final = project / "assets" / "generated" / "potion.png"
    assert result.sprite_path == final.resolve()
    assert final.read_bytes() == src.read_bytes()
    entry = read_manifest(project / "assets" / "generated" / "manifest.json").manifest.entries[
        "generated/potion.png"
    ]
    assert (entry.job_id, entry.prompt, entry.seed, entry.model) == (
        "job-1", "a red potion", 7, "tiny_sdxl.safetensors",
    )  # fmt: skip
    assert entry.loras[0].name == "tiny_lora" and entry.loras[0].strength == 0.8
    assert entry.sources == [str(src)]
    assert len(entry.sha256) == 64 and entry.bytes == len(src.read_bytes())
    assert [w.action for w in result.plan.writes] == ["create", "create"]


def test_project_can_be_named_by_its_root_path(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    deployer.deploy(DeployRequest(str(project), "ui/icons/star.png", make_png()))
    assert (project / "assets" / "ui" / "icons" / "star.png").is_file()


def test_existing_asset_is_not_overwritten_without_flag(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    deployer.deploy(DeployRequest("game", "potion", make_png(color=(1, 2, 3, 255))))
    before = tree(project / "assets")
    with pytest.raises(AssetExistsError, match=r"overwrite=true"):
        deployer.deploy(DeployRequest("game", "potion", make_png(color=(9, 9, 9, 255))))
    assert tree(project / "assets") == before


def test_overwrite_keeps_the_old_file_as_a_backup(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    old = png_bytes(color=(1, 2, 3, 255))
    first = make_png(color=(1, 2, 3, 255))
    deployer.deploy(DeployRequest("game", "potion", first))
    second = make_png(color=(9, 9, 9, 255))
    result = deployer.deploy(DeployRequest("game", "potion", second, overwrite=True))
    sprite = result.plan.writes[0]
    assert sprite.action == "overwrite" and sprite.backup is not None
    assert sprite.backup.read_bytes() == old
    assert sprite.backup.is_relative_to(project.resolve() / ".dgx-pixels" / "backups")
    assert (project / "assets" / "generated" / "potion.png").read_bytes() == second.read_bytes()
    entry = read_manifest(project / "assets/generated/manifest.json").manifest.entries
    assert entry["generated/potion.png"].replaced_backup == str(sprite.backup)


def test_dry_run_plans_every_write_and_touches_nothing(
    deployer: Deployer, project: Path, make_png: Callable[..., Path], atlas_file: Path
) -> None:
    deployer.deploy(DeployRequest("game", "hero", make_png()))
    before = tree(project)
    request = DeployRequest("game", "hero", make_png(), atlas=atlas_file, overwrite=True)
    result = deployer.deploy(request, dry_run=True)
    assert result.dry_run and result.written == ()
    assert [(w.role, w.asset, w.action) for w in result.plan.writes] == [
        ("atlas", "generated/hero.json", "create"),
        ("sprite", "generated/hero.png", "overwrite"),
        ("manifest", "generated/manifest.json", "overwrite"),
    ]
    assert "overwrite generated/hero.png" in "\n".join(result.plan.describe())
    assert tree(project) == before


def test_sprite_sheet_gets_its_atlas_pointing_at_the_deployed_image(
    deployer: Deployer, project: Path, make_png: Callable[..., Path], atlas_file: Path
) -> None:
    deployer.deploy(DeployRequest("game", "chars/knight", make_png((4, 2)), atlas=atlas_file))
    atlas = json.loads((project / "assets/chars/knight.json").read_text())
    assert atlas["meta"]["image"] == "knight.png"
    assert atlas["frames"]["walk 0"]["duration"] == 100
    entries = read_manifest(project / "assets/generated/manifest.json").manifest.entries
    assert entries["chars/knight.png"].atlas == "chars/knight.json"


def test_corrupt_manifest_is_backed_up_and_replaced(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    manifest = project / "assets/generated/manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{not json")
    result = deployer.deploy(DeployRequest("game", "potion", make_png()))
    assert any("not readable JSON" in w for w in result.plan.warnings)
    backups = list((project / ".dgx-pixels/backups").rglob("manifest.json.corrupt"))
    assert [b.read_text() for b in backups] == ["{not json"]
    assert list(read_manifest(manifest).manifest.entries) == ["generated/potion.png"]


def test_partly_invalid_manifest_keeps_every_valid_entry(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    deployer.deploy(DeployRequest("game", "a", make_png()))
    manifest = project / "assets/generated/manifest.json"
    data = json.loads(manifest.read_text())
    data["entries"]["generated/broken.png"] = {"asset": 3}
    manifest.write_text(json.dumps(data))
    result = deployer.deploy(DeployRequest("game", "b", make_png()))
    assert any("generated/broken.png" in w for w in result.plan.warnings)
    entries = read_manifest(manifest).manifest.entries
    assert sorted(entries) == ["generated/a.png", "generated/b.png"]
    assert list((project / ".dgx-pixels/backups").rglob("manifest.json.corrupt"))


def test_asset_named_like_the_manifest_is_refused(
    deployer: Deployer, make_png: Callable[..., Path], atlas_file: Path
) -> None:
    with pytest.raises(UnsafeDestinationError, match="manifest"):
        deployer.deploy(DeployRequest("game", "manifest", make_png(), atlas=atlas_file))


def test_staging_happens_outside_assets(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    deployer.deploy(DeployRequest("game", "potion", make_png()))
    assert (project / ".dgx-pixels" / "staging").is_dir()
    assert sorted(p.name for p in (project / "assets" / "generated").iterdir()) == [
        "manifest.json",
        "potion.png",
    ]
    assert list((project / ".dgx-pixels" / "staging").iterdir()) == []


def test_dry_run_into_a_fresh_project_leaves_no_trace(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    before = tree(project)
    result = deployer.deploy(DeployRequest("game", "potion", make_png()), dry_run=True)
    assert [w.action for w in result.plan.writes] == ["create", "create"]
    assert tree(project) == before
    assert not (project / ".dgx-pixels").exists()


def test_concurrent_deploys_keep_every_manifest_entry(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sources = [make_png(color=(i, 0, 0, 255)) for i in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(
                lambda i: deployer.deploy(DeployRequest("game", f"s{i}", sources[i])), range(8)
            )
        )
    entries = read_manifest(project / "assets/generated/manifest.json").manifest.entries
    assert sorted(entries) == sorted(f"generated/s{i}.png" for i in range(8))
    for i in range(8):
        assert (project / f"assets/generated/s{i}.png").read_bytes() == sources[i].read_bytes()
