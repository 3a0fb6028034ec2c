"""What Bevy's watcher sees: the final name arrives by a rename from outside assets/.

inotify reports a rename from outside the watched tree as a lone IN_MOVED_TO, which
`notify` (Bevy's watcher) turns into a create event, so Bevy (re)loads the asset. A temp
file renamed inside assets/ would show as an IN_MOVED_FROM/IN_MOVED_TO pair, which Bevy
treats as a rename and ignores; a file written in place can be read half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from inotify_simple import INotify, flags

from orchestrator.deploy import Deployer, DeployRequest

_MASK = (
    flags.CREATE
    | flags.MODIFY
    | flags.CLOSE_WRITE
    | flags.MOVED_FROM
    | flags.MOVED_TO
    | flags.DELETE
    | flags.ATTRIB
)


def _watch(assets: Path) -> tuple[INotify, dict[int, Path]]:
    inotify = INotify()
    folders = [assets, *(p for p in assets.rglob("*") if p.is_dir())]
    return inotify, {inotify.add_watch(str(f), _MASK): f for f in folders}


def _events(inotify: INotify, folders: dict[int, Path]) -> list[tuple[str, set[str]]]:
    seen = []
    for event in inotify.read(timeout=200):
        names = {f.name for f in flags.from_mask(event.mask)}
        seen.append((str(folders[event.wd] / event.name), names))
    return seen


def test_deploy_shows_as_lone_moved_to_of_the_final_name(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    assets = (project / "assets").resolve()
    (assets / "generated").mkdir()
    inotify, folders = _watch(assets)
    try:
        deployer.deploy(DeployRequest("game", "potion", make_png()))
        events = _events(inotify, folders)
    finally:
        inotify.close()
    final = str(assets / "generated" / "potion.png")
    manifest = str(assets / "generated" / "manifest.json")
    # Each final name appears exactly once, by a rename into assets/: never created or
    # written in place (a reader could see half a file), never a rename pair inside assets/.
    assert [names for path, names in events if path == final] == [{"MOVED_TO"}]
    assert [names for path, names in events if path == manifest] == [{"MOVED_TO"}]
    assert not [e for e in events if "MOVED_FROM" in e[1]], events
    # Nothing but the final names ever appears in assets/ (no temp files, no pairs).
    assert {path for path, _ in events} == {final, manifest}


def test_overwrite_also_arrives_as_lone_moved_to(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    deployer.deploy(DeployRequest("game", "potion", make_png(color=(1, 1, 1, 255))))
    assets = (project / "assets").resolve()
    inotify, folders = _watch(assets)
    try:
        deployer.deploy(
            DeployRequest("game", "potion", make_png(color=(2, 2, 2, 255)), overwrite=True)
        )
        events = _events(inotify, folders)
    finally:
        inotify.close()
    final = str(assets / "generated" / "potion.png")
    assert [names for path, names in events if path == final] == [{"MOVED_TO"}]
    assert not [e for e in events if "MOVED_FROM" in e[1]], events


def test_new_folder_then_file_for_a_fresh_subfolder(
    deployer: Deployer, project: Path, make_png: Callable[..., Path]
) -> None:
    assets = (project / "assets").resolve()
    inotify, folders = _watch(assets)
    try:
        deployer.deploy(DeployRequest("game", "items/potion", make_png()))
        events = _events(inotify, folders)
    finally:
        inotify.close()
    # Only assets/ itself was watched: the new folders appear as created, never renamed.
    assert (str(assets / "items"), {"CREATE", "ISDIR"}) in events
    assert not [e for e in events if "MOVED_FROM" in e[1]], events
    assert (assets / "items" / "potion.png").is_file()
