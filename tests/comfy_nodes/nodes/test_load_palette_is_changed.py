"""LoadPalette re-runs when its palette file changes (ComfyUI caches by inputs otherwise)."""

from __future__ import annotations

from pathlib import Path

from comfy_nodes.nodes.palette import LoadPalette


def test_is_changed_follows_the_file_content(tmp_path: Path) -> None:
    path = tmp_path / "mine.hex"
    path.write_text("ff0000\n00ff00\n")
    first = LoadPalette.IS_CHANGED("pico-8", file=str(path))
    assert LoadPalette.IS_CHANGED("pico-8", file=str(path)) == first
    path.write_text("0000ff\n00ff00\n")
    assert LoadPalette.IS_CHANGED("pico-8", file=str(path)) != first


def test_is_changed_without_a_file_is_the_builtin_name() -> None:
    assert LoadPalette.IS_CHANGED("gameboy") == "gameboy"
    assert LoadPalette.IS_CHANGED("gameboy", file="  ") == "gameboy"
    assert LoadPalette.IS_CHANGED("nes") != LoadPalette.IS_CHANGED("gameboy")


def test_is_changed_on_a_missing_file_does_not_raise(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.gpl")
    assert LoadPalette.IS_CHANGED("pico-8", file=missing) == f"unreadable:{missing}"
