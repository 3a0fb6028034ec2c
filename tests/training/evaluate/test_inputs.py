"""The prompts file, the held-out folder and the training colours, each checked by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.dataset import DatasetOptions, prepare_dataset
from training.errors import EvaluationError
from training.evaluate.inputs import (
    MAX_PROMPTS,
    read_held_out,
    read_prompts,
    training_colors,
    with_trigger,
)


def test_prompts_skip_blank_lines_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "prompts.txt"
    path.write_text("# heroes\n  a knight  \n\na potion\n")
    assert read_prompts(path) == ("a knight", "a potion")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"# nothing\n\n", "holds no prompt"),
        (b"\xff\xfe\x00bad", "is not UTF-8"),
        ("\n".join(["p"] * (MAX_PROMPTS + 1)).encode(), f"the limit is {MAX_PROMPTS}"),
    ],
)
def test_bad_prompts_files_are_refused_naming_prompts(
    tmp_path: Path, content: bytes, needle: str
) -> None:
    path = tmp_path / "prompts.txt"
    path.write_bytes(content)
    with pytest.raises(EvaluationError, match=needle) as caught:
        read_prompts(path)
    assert caught.value.field == "prompts"
    with pytest.raises(EvaluationError, match="does not exist"):
        read_prompts(tmp_path / "missing.txt")


def test_held_out_prompts_come_from_sidecars_else_file_names(tmp_path: Path) -> None:
    for name in ("red_potion.png", "blue-knight.webp"):
        Image.new("RGBA", (4, 4), (200, 10, 10, 255)).save(tmp_path / name, lossless=True)
    (tmp_path / "blue-knight.txt").write_text("pxl, a blue knight\n")
    (tmp_path / "readme.md").write_text("not an image")
    held = read_held_out(tmp_path)
    assert [(h.path.name, h.prompt) for h in held] == [
        ("blue-knight.webp", "pxl, a blue knight"),
        ("red_potion.png", "red potion"),
    ]
    assert held[1].rgba.shape == (4, 4, 4)


def test_bad_held_out_folders_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="holds no image") as caught:
        read_held_out(tmp_path)
    assert caught.value.field == "held_out"
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(EvaluationError) as caught:
        read_held_out(tmp_path)
    assert caught.value.field == "held_out/broken.png"
    with pytest.raises(EvaluationError, match="not a folder"):
        read_held_out(tmp_path / "broken.png")


def test_training_colours_are_the_dataset_colours_without_the_key(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    palette = np.array([[200, 40, 40, 255], [40, 40, 160, 255], [0, 0, 0, 0]], dtype=np.uint8)
    for i in range(5):
        cells = palette[np.random.default_rng(i).integers(0, 3, (8, 8))]
        Image.fromarray(np.repeat(np.repeat(cells, 2, 0), 2, 1)).save(src / f"s{i}.png")
    prepare_dataset(src, tmp_path / "ds", DatasetOptions("pxl", key_color="#FF00FF"))
    colors = training_colors(tmp_path / "ds")
    assert colors.tolist() == [[40, 40, 160], [200, 40, 40]]  # magenta key left out
    with pytest.raises(EvaluationError, match=r"no manifest\.json") as caught:
        training_colors(src)
    assert caught.value.field == "dataset"


def test_the_trigger_is_added_once() -> None:
    assert with_trigger("a knight", "pxl") == "pxl, a knight"
    assert with_trigger("pxl, a knight", "pxl") == "pxl, a knight"
    assert with_trigger("a knight", "") == "a knight"
