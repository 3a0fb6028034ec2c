"""The deploy lock and the manifest are opened without following links (issue 9): real
symlinks in a real project; the link's target is left untouched and the error names the
path that is a link."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from deploy_testkit import tree

from orchestrator.deploy import Deployer, DeployRequest, UnsafeDestinationError
from orchestrator.deploy.nofollow import open_nofollow, read_nofollow


def test_a_state_folder_linked_inside_the_project_is_refused(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    # Inside the root, so the "resolves outside" check alone would let it through.
    target = project / "assets" / "state"
    target.mkdir()
    (project / ".dgx-pixels").symlink_to(target)
    state = str(project / ".dgx-pixels")
    with pytest.raises(UnsafeDestinationError, match=rf"path='{state}' is a symbolic link"):
        deployer.deploy(DeployRequest("game", "potion", make_png()))
    assert list(target.iterdir()) == []  # no deploy.lock created through the link
    assert not (project / "assets/generated").exists()


@pytest.mark.parametrize("dangling", [False, True])
def test_a_linked_lock_file_is_refused_and_its_target_untouched(
    deployer: Deployer,
    project: Path,
    tmp_path: Path,
    make_png: Callable[..., Path],
    dangling: bool,
) -> None:
    victim = tmp_path / "victim.txt"
    if not dangling:
        victim.write_bytes(b"keep me")
    (project / ".dgx-pixels").mkdir()
    lock = project / ".dgx-pixels" / "deploy.lock"
    lock.symlink_to(victim)
    with pytest.raises(UnsafeDestinationError, match=rf"path='{lock}' is a symbolic link"):
        deployer.deploy(DeployRequest("game", "potion", make_png()))
    if dangling:
        assert not victim.exists()  # a+b would have created it
    else:
        assert victim.read_bytes() == b"keep me"
    assert not (project / "assets/generated").exists()


def test_a_linked_manifest_is_refused_and_its_target_untouched(
    deployer: Deployer, project: Path, tmp_path: Path, make_png: Callable[..., Path]
) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"entries": "top secret"}')
    manifest = project / "assets" / "generated" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.symlink_to(secret)
    before = tree(project / "assets")
    with pytest.raises(UnsafeDestinationError, match=rf"{manifest}.*link"):
        deployer.deploy(DeployRequest("game", "potion", make_png()))
    assert secret.read_text() == '{"entries": "top secret"}'
    assert tree(project / "assets") == before  # only the lock file was created


def test_open_nofollow_refuses_a_linked_folder_on_the_way(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "file").write_bytes(b"x")
    (root / "alias").symlink_to(root / "real")
    assert read_nofollow(root / "real" / "file", root) == b"x"
    assert read_nofollow(root / "real" / "missing", root) is None
    with pytest.raises(UnsafeDestinationError, match=rf"path='{root / 'alias'}'"):
        read_nofollow(root / "alias" / "file", root)
    with pytest.raises(UnsafeDestinationError, match="not inside"):
        open_nofollow(tmp_path / "elsewhere", root, os.O_RDONLY)


def test_a_normal_deploy_creates_a_plain_lock_file(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    deployer.deploy(DeployRequest("game", "potion", make_png()))
    lock = project / ".dgx-pixels" / "deploy.lock"
    assert lock.is_file() and not lock.is_symlink()
    assert (project / "assets/generated/manifest.json").is_file()
