"""Bad destinations and sources are refused with clear errors and nothing is written."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from deploy_testkit import make_bevy_project, tree

from orchestrator.deploy import (
    AssetTooLargeError,
    Deployer,
    DeployError,
    DeployLimits,
    DeployRequest,
    InvalidSourceError,
    ProjectRegistry,
    UnknownProjectError,
    UnsafeDestinationError,
)


@pytest.mark.parametrize(
    "name",
    ["../evil", "generated/../../evil.png", "a/../../../b.png", "./x.png", "generated/./x"],
)
def test_traversal_names_are_refused(
    deployer: Deployer, project: Path, make_png: Callable[..., Path], name: str
) -> None:
    with pytest.raises(UnsafeDestinationError, match=r"traversal"):
        deployer.deploy(DeployRequest("game", name, make_png()))
    assert tree(project.parent / "game") == tree(project)
    assert not list(project.parent.glob("evil*"))
    assert list((project / "assets").iterdir()) == []


@pytest.mark.parametrize("name", ["/etc/passwd.png", "/tmp/x.png", "C:/x.png", "~/x.png"])
def test_absolute_paths_are_refused(
    deployer: Deployer, make_png: Callable[..., Path], name: str
) -> None:
    with pytest.raises(UnsafeDestinationError, match=r"absolute"):
        deployer.deploy(DeployRequest("game", name, make_png()))


@pytest.mark.parametrize(
    "name", ["a b.png", ".hidden.png", "x.png.", "a\\b.png", "nul\x00.png", "émoji.png", "x" * 300]
)
def test_odd_names_are_refused(
    deployer: Deployer, make_png: Callable[..., Path], name: str
) -> None:
    with pytest.raises(UnsafeDestinationError, match=r"name="):
        deployer.deploy(DeployRequest("game", name, make_png()))


def test_wrong_extension_names_the_allowed_one(
    deployer: Deployer, make_png: Callable[..., Path]
) -> None:
    with pytest.raises(UnsafeDestinationError, match=r"must end in '\.png'"):
        deployer.deploy(DeployRequest("game", "potion.jpg", make_png()))


def test_folder_symlink_leading_out_of_the_project_is_refused(
    deployer: Deployer, project: Path, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "assets" / "generated").symlink_to(outside)
    with pytest.raises(UnsafeDestinationError, match=r"link"):
        deployer.deploy(DeployRequest("game", "potion", make_png()))
    assert list(outside.iterdir()) == []


def test_nested_symlink_chain_leading_out_is_refused(
    deployer: Deployer, project: Path, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (project / "assets" / "sprites").mkdir()
    (project / "assets" / "sprites" / "hop").symlink_to(project / "assets" / "escape")
    (project / "assets" / "escape").symlink_to(outside)
    with pytest.raises(UnsafeDestinationError, match=r"link"):
        deployer.deploy(DeployRequest("game", "sprites/hop/deep/x.png", make_png()))
    assert list((outside / "deep").iterdir()) == []


def test_final_name_that_is_a_symlink_is_refused(
    deployer: Deployer, project: Path, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"keep me")
    (project / "assets" / "generated").mkdir()
    (project / "assets" / "generated" / "potion.png").symlink_to(victim)
    with pytest.raises(UnsafeDestinationError, match=r"link"):
        deployer.deploy(DeployRequest("game", "potion", make_png(), overwrite=True))
    assert victim.read_bytes() == b"keep me"


def test_symlink_that_stays_inside_assets_is_followed(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    (project / "assets" / "real").mkdir()
    (project / "assets" / "alias").symlink_to(project / "assets" / "real")
    deployer.deploy(DeployRequest("game", "alias/potion.png", make_png()))
    assert (project / "assets" / "real" / "potion.png").is_file()


def test_assets_folder_linked_out_of_the_project_is_refused(
    tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    root = tmp_path / "linked"
    root.mkdir()
    (root / "Cargo.toml").write_text("")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "assets").symlink_to(outside)
    deployer = Deployer(ProjectRegistry([root]))
    with pytest.raises(UnsafeDestinationError, match=r"outside the project"):
        deployer.deploy(DeployRequest("linked", "potion", make_png()))
    assert list(outside.iterdir()) == []
    assert deployer.projects() == []


def test_unregistered_project_is_refused_listing_registered_ones(
    deployer: Deployer, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    other = make_bevy_project(tmp_path / "other")
    for project in ("other", str(other), "nope"):
        with pytest.raises(UnknownProjectError, match=r"registered: game"):
            deployer.deploy(DeployRequest(project, "potion", make_png()))
    assert list((other / "assets").iterdir()) == []


def test_registered_root_without_cargo_toml_is_reported(
    tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    root = tmp_path / "notgame"
    (root / "assets").mkdir(parents=True)
    registry = ProjectRegistry([root])
    assert registry.problems() == {root: "has no Cargo.toml"}
    with pytest.raises(UnsafeDestinationError, match=r"Cargo.toml"):
        Deployer(registry).deploy(DeployRequest("notgame", "x", make_png()))


def test_huge_file_is_refused_naming_the_limit(
    project: Path, make_png: Callable[..., Path]
) -> None:
    deployer = Deployer(ProjectRegistry([project]), DeployLimits(max_sprite_bytes=50))
    with pytest.raises(AssetTooLargeError, match=r"limit of 50 bytes"):
        deployer.deploy(DeployRequest("game", "big", make_png((64, 64), (1, 2, 3, 4))))
    assert list((project / "assets").iterdir()) == []


def test_huge_image_dimensions_are_refused_naming_the_limit(
    project: Path, make_png: Callable[..., Path]
) -> None:
    deployer = Deployer(ProjectRegistry([project]), DeployLimits(max_side=16))
    with pytest.raises(AssetTooLargeError, match=r"17x4 px; the limit is 16x16"):
        deployer.deploy(DeployRequest("game", "wide", make_png((17, 4))))


@pytest.mark.parametrize("content", [b"", b"GIF89a not a png at all", b"\x89PNG\r\n\x1a\n"])
def test_non_png_source_is_refused(deployer: Deployer, tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "fake.png"
    src.write_bytes(content)
    with pytest.raises(InvalidSourceError, match=r"not a PNG"):
        deployer.deploy(DeployRequest("game", "fake", src))


def test_missing_source_and_bad_atlas_are_refused(
    deployer: Deployer, project: Path, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    with pytest.raises(InvalidSourceError, match=r"not an existing regular file"):
        deployer.deploy(DeployRequest("game", "x", tmp_path / "missing.png"))
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    with pytest.raises(InvalidSourceError, match=r"not valid JSON"):
        deployer.deploy(DeployRequest("game", "x", make_png(), atlas=bad))
    assert list((project / "assets").iterdir()) == []


def test_every_refusal_is_a_deploy_error_and_a_value_error() -> None:
    assert issubclass(UnsafeDestinationError, DeployError)
    assert issubclass(DeployError, ValueError)


def test_new_files_are_world_readable(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    deployer.deploy(DeployRequest("game", "potion", make_png()))
    mode = os.stat(project / "assets/generated/potion.png").st_mode & 0o777
    assert mode == 0o644


def test_state_folder_linked_out_of_the_project_is_refused(
    deployer: Deployer, project: Path, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project / ".dgx-pixels").symlink_to(outside)
    with pytest.raises(UnsafeDestinationError, match=r"outside"):
        deployer.deploy(DeployRequest("game", "potion", make_png()))
    assert list(outside.iterdir()) == []
    assert list((project / "assets").iterdir()) == []


def test_backup_folder_linked_out_of_the_project_is_refused(
    deployer: Deployer, project: Path, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    deployer.deploy(DeployRequest("game", "potion", make_png(color=(1, 1, 1, 255))))
    kept = (project / "assets/generated/potion.png").read_bytes()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project / ".dgx-pixels" / "backups").symlink_to(outside)
    with pytest.raises(UnsafeDestinationError, match=r"outside"):
        deployer.deploy(
            DeployRequest("game", "potion", make_png(color=(2, 2, 2, 255)), overwrite=True)
        )
    assert list(outside.iterdir()) == []
    assert (project / "assets/generated/potion.png").read_bytes() == kept
