"""Helpers shared by the deploy tests: Bevy-shaped projects and real PNG bytes."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def make_bevy_project(root: Path) -> Path:
    """A folder that looks like a Bevy project: Cargo.toml and assets/."""
    (root / "assets").mkdir(parents=True)
    (root / "Cargo.toml").write_text('[package]\nname = "game"\nversion = "0.1.0"\n')
    return root


def png_bytes(size: tuple[int, int] = (4, 4), color: tuple[int, ...] = (255, 0, 0, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, color).save(buf, format="PNG")
    return buf.getvalue()


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its content, to prove nothing changed."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
