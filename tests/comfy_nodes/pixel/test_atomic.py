"""The one atomic writer: whole files, normal permissions, and every writer goes through it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from comfy_nodes.pixel.atomic import (
    atomic_path,
    write_atomic,
    write_files_atomic,
    write_folder_atomic,
)

REPO = Path(__file__).resolve().parents[3]

# Write one file from a fresh process started with a real umask (subprocess's `umask=`).
_WRITE = (
    "import sys; from comfy_nodes.pixel.atomic import write_atomic; write_atomic(sys.argv[1], b'x')"
)


def _write_under_umask(path: Path, umask: int) -> None:
    subprocess.run([sys.executable, "-c", _WRITE, str(path)], check=True, cwd=REPO, umask=umask)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_a_new_file_gets_the_umask_mode(tmp_path: Path, umask: int, expected: int) -> None:
    target = tmp_path / "sprite.png"
    _write_under_umask(target, umask)
    assert _mode(target) == expected
    assert target.read_bytes() == b"x"


@pytest.mark.parametrize("kept", [0o600, 0o640, 0o755])
def test_replacing_a_file_keeps_its_mode(tmp_path: Path, kept: int) -> None:
    target = tmp_path / "sprite.png"
    target.write_bytes(b"old")
    target.chmod(kept)
    _write_under_umask(target, 0o022)
    assert _mode(target) == kept
    assert target.read_bytes() == b"x"


def test_replacing_a_link_replaces_the_link_not_its_target(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_bytes(b"precious")
    link = tmp_path / "out" / "sprite.png"
    link.parent.mkdir()
    link.symlink_to(elsewhere)
    write_atomic(link, b"new")
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"
    assert elsewhere.read_bytes() == b"precious"


def test_the_parent_folder_is_created_and_no_temp_file_is_left(tmp_path: Path) -> None:
    written = write_atomic(tmp_path / "a" / "b" / "sprite.png", b"data")
    assert written.read_bytes() == b"data"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "sprite.png"]


def test_a_very_long_name_still_gets_a_valid_temp_name(tmp_path: Path) -> None:
    target = tmp_path / ("s" * 250)
    write_atomic(target, b"data")
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_staging_folder_holds_the_temp_file_and_is_left_empty(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    target = tmp_path / "assets" / "sprite.png"
    target.parent.mkdir()
    write_atomic(target, b"data", temp_dir=staging)
    assert target.read_bytes() == b"data"
    assert list(staging.iterdir()) == []
    assert [p.name for p in target.parent.iterdir()] == ["sprite.png"]


def test_a_folder_target_is_refused_naming_it_and_nothing_is_written(tmp_path: Path) -> None:
    first = tmp_path / "first.png"
    folder = tmp_path / "taken"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="taken is a folder"):
        write_files_atomic({first: b"1", folder: b"2"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_failed_write_touches_no_target_and_leaves_no_temp(tmp_path: Path) -> None:
    first = tmp_path / "first.png"
    first.write_bytes(b"old")
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"a file, so nothing can be created under it")
    with pytest.raises(OSError):
        write_files_atomic({first: b"new", blocker / "second.png": b"2"})
    assert first.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "first.png"]


def test_atomic_path_renames_what_the_block_wrote_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old")
    target.chmod(0o640)
    with atomic_path(target) as temp:
        assert temp.parent == tmp_path and temp != target
        with temp.open("wb") as stream:  # as a library given a file name would
            stream.write(b"new")
        assert target.read_bytes() == b"old"  # nothing visible before the block ends
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_atomic_path_removes_the_temp_and_keeps_the_target_when_the_block_fails(
    tmp_path: Path,
) -> None:
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="generator broke"), atomic_path(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("generator broke")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_atomic_path_refuses_a_folder_naming_it(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a folder"), atomic_path(tmp_path):
        pass


# Calls that write a file under a temp name and rename it: only atomic.py may make them.
_TEMP_AND_RENAME = {"replace", "rename", "mkstemp", "NamedTemporaryFile"}
_PACKAGES = ("comfy_nodes", "engine", "orchestrator", "bench", "training", "scripts")


def _temp_and_rename_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(REPO)}:{node.lineno} {node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _TEMP_AND_RENAME
        and (_is_module_call(node.func, {"os", "tempfile"}) or _is_path_rename(node))
    ]


def _is_module_call(func: ast.Attribute, modules: set[str]) -> bool:
    return isinstance(func.value, ast.Name) and func.value.id in modules


def _is_path_rename(call: ast.Call) -> bool:
    # `Path.replace(target)` / `.rename(target)` take one argument; `str.replace` takes two.
    return len(call.args) == 1 and not call.keywords


def test_every_writer_goes_through_the_one_atomic_helper() -> None:
    helper = REPO / "comfy_nodes" / "pixel" / "atomic.py"
    sources = [
        path
        for package in _PACKAGES
        if (REPO / package).is_dir()
        for path in sorted((REPO / package).rglob("*.py"))
        # hidden folders are not ours: bench/.peers-venv (bench/peers.sh) holds the peers'
        # own site-packages
        if path != helper and not any(p.startswith(".") for p in path.relative_to(REPO).parts)
    ]
    assert sources, "no source files found: the repository layout changed"
    offenders = [call for path in sources for call in _temp_and_rename_calls(path)]
    assert offenders == [], "write through comfy_nodes.pixel.atomic instead"


def test_the_helper_itself_is_found_by_the_scan() -> None:
    # Guards the scan above: it must see the calls it forbids, or it would pass vacuously.
    calls = _temp_and_rename_calls(REPO / "comfy_nodes" / "pixel" / "atomic.py")
    assert any(call.endswith(" replace") for call in calls)


def test_a_folder_appears_whole_and_a_non_empty_one_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "dataset"
    write_folder_atomic({"a.txt": b"a", "sub/b.txt": b"b"}, target)
    assert (target / "a.txt").read_bytes() == b"a"
    assert (target / "sub" / "b.txt").read_bytes() == b"b"
    with pytest.raises(OSError):
        write_folder_atomic({"c.txt": b"c"}, target)  # not empty: never merged or replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]  # no staging left
    assert not (target / "c.txt").exists()
