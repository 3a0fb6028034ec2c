"""`SpriteFiles` grew an animation sheet's Bevy atlas and GIF: rows stored before decode."""

from __future__ import annotations

import pytest

from orchestrator.jobs.models import SpriteFiles

OLD_ROW = {
    "sprite": "/o/a.png", "sidecar": "/o/a.json", "preview": None, "raw": None,
    "atlas": "/o/a.atlas.json", "comparison": None, "tiled_preview": None, "qa_warnings": [],
}  # fmt: skip


def test_a_row_stored_before_animation_sheets_decodes_without_them() -> None:
    files = SpriteFiles.from_dict(OLD_ROW)

    assert files.atlas == "/o/a.atlas.json"
    assert files.bevy_atlas is None and files.animation is None


def test_a_sheets_files_round_trip() -> None:
    files = SpriteFiles("/o/a.png", "/o/a.json", bevy_atlas="/o/a.bevy.json", animation="/o/a.gif")

    assert SpriteFiles.from_dict(files.to_dict()) == files


def test_a_malformed_bevy_atlas_path_is_refused() -> None:
    with pytest.raises(TypeError, match="path string or null"):
        SpriteFiles.from_dict({**OLD_ROW, "bevy_atlas": 3})
