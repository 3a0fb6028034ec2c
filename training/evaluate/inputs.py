"""What `train eval` reads besides the LoRA, each checked before anything is generated.

- the prompts: a UTF-8 text file, one prompt a line (blank lines and `#` comments skipped),
  or `DEFAULT_PROMPTS`;
- the held-out images: a folder of PNG/WebP/GIF images the LoRA was not trained on, each
  with its prompt from `NAME.txt` beside it (a `train dataset` folder has them) or, without
  one, from its file name (`red_potion.png` -> "red potion");
- the training colours: every colour of a `train dataset` folder's images except its key
  colour (the background it flattened transparency onto).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.errors import PixelArtError
from comfy_nodes.pixel.image_io import load_image
from comfy_nodes.pixel.palette import parse_hex_color
from training.errors import EvaluationError

__all__ = [
    "DEFAULT_PROMPTS",
    "HELD_OUT_SUFFIXES",
    "MAX_PROMPTS",
    "HeldOut",
    "read_held_out",
    "read_prompts",
    "training_colors",
    "with_trigger",
]

DEFAULT_PROMPTS: Final[tuple[str, ...]] = (
    "a knight with a sword",
    "a red health potion",
    "a wooden treasure chest",
    "a green slime monster",
)
"""The grid's prompts when neither a prompts file nor held-out images give any."""

MAX_PROMPTS: Final[int] = 32
"""Most prompts one evaluation runs (each is two generations)."""

HELD_OUT_SUFFIXES: Final[tuple[str, ...]] = (".png", ".webp", ".gif")


@dataclass(frozen=True)
class HeldOut:
    """One held-out image (its file and pixels) and the prompt that should draw its like."""

    path: Path
    prompt: str
    rgba: NDArray[np.uint8]


def with_trigger(prompt: str, trigger: str) -> str:
    """`prompt` starting with the LoRA's trigger word (unchanged if it has it or none)."""
    if not trigger or trigger in prompt.replace(",", " ").split():
        return prompt
    return f"{trigger}, {prompt}"


def _read_text(path: Path, field: str) -> str:
    if not path.is_file():
        raise EvaluationError(field, str(path), "does not exist or is not a file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EvaluationError(field, str(path), f"is not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise EvaluationError(field, str(path), f"cannot be read ({exc.strerror})") from exc


def read_prompts(path: Path) -> tuple[str, ...]:
    """The prompts of a text file: one a line, blank lines and `#` comments skipped.

    Raises:
        EvaluationError: The file is missing, unreadable, not UTF-8, holds no prompt or more
            than `MAX_PROMPTS` (field `prompts`).
    """
    lines = (line.strip() for line in _read_text(path, "prompts").splitlines())
    prompts = tuple(line for line in lines if line and not line.startswith("#"))
    if not prompts:
        raise EvaluationError("prompts", str(path), "holds no prompt; write one prompt a line")
    if len(prompts) > MAX_PROMPTS:
        raise EvaluationError(
            "prompts", str(path), f"holds {len(prompts)} prompts; the limit is {MAX_PROMPTS}"
        )
    return prompts


def _prompt_for(image: Path) -> str:
    sidecar = image.with_suffix(".txt")
    text = _read_text(sidecar, f"held_out/{sidecar.name}").strip() if sidecar.exists() else ""
    return text or image.stem.replace("_", " ").replace("-", " ").strip() or image.stem


def read_held_out(folder: Path) -> list[HeldOut]:
    """The held-out images of `folder` (not recursive), sorted by name, with their prompts.

    Raises:
        EvaluationError: The folder is missing, holds no image, more than `MAX_PROMPTS`, or
            an image is unreadable (field `held_out` or `held_out/NAME`).
    """
    if not folder.is_dir():
        raise EvaluationError("held_out", str(folder), "does not exist or is not a folder")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in HELD_OUT_SUFFIXES)
    if not images:
        listed = ", ".join(HELD_OUT_SUFFIXES)
        raise EvaluationError("held_out", str(folder), f"holds no image ({listed})")
    if len(images) > MAX_PROMPTS:
        raise EvaluationError(
            "held_out", str(folder), f"holds {len(images)} images; the limit is {MAX_PROMPTS}"
        )
    out = []
    for path in images:
        try:
            rgba = load_image(path)
        except PixelArtError as exc:
            raise EvaluationError(f"held_out/{path.name}", str(path), str(exc)) from exc
        out.append(HeldOut(path, _prompt_for(path), rgba))
    return out


def _manifest(folder: Path) -> tuple[str, list[str]]:
    """The key colour and the image names of a dataset folder's manifest."""
    path = folder / "manifest.json"
    if not path.is_file():
        raise EvaluationError(
            "dataset", str(folder), "has no manifest.json; give a `dgx-pixels train dataset` folder"
        )
    try:
        record = json.loads(_read_text(path, "dataset"))
    except json.JSONDecodeError as exc:
        raise EvaluationError("dataset", str(path), f"is not valid JSON ({exc.msg})") from exc
    images = record.get("images") if isinstance(record, dict) else None
    if not isinstance(images, list):
        raise EvaluationError("dataset", str(path), "is not a dataset manifest (no image list)")
    names = [str(entry.get("name", "")) for entry in images if isinstance(entry, dict)]
    return str(record.get("key_color", "#FF00FF")), [name for name in names if name]


def training_colors(folder: Path) -> NDArray[np.uint8]:
    """Every distinct colour of a `train dataset` folder's images but its key colour.

    Returns:
        [N, 3] uint8, N >= 1.

    Raises:
        EvaluationError: No manifest, an unreadable image, or no colour but the key colour.
    """
    key_color, names = _manifest(folder)
    try:
        key = parse_hex_color(key_color)
    except PixelArtError as exc:
        raise EvaluationError("dataset", key_color, f"manifest key_color: {exc}") from exc
    found: set[tuple[int, int, int]] = set()
    for name in names:
        try:
            rgba = load_image(folder / name)
        except PixelArtError as exc:
            raise EvaluationError(f"dataset/{name}", str(folder / name), str(exc)) from exc
        rgb = rgba[..., :3][rgba[..., 3] > 0].astype(np.uint32)
        packed = np.unique((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2])  # 1-D: fast
        found.update((int(c >> 16), int(c >> 8) & 255, int(c) & 255) for c in packed)
    found.discard(key)
    if not found:
        raise EvaluationError("dataset", str(folder), "has no image colour besides the key colour")
    return np.array(sorted(found), dtype=np.uint8)
