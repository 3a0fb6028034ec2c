"""A sheet's animation for the TUI: the frames and durations of the daemon's GIF preview.

An animation sheet's job writes a looping GIF whose frame durations are the atlas's
(`comfy_nodes.pixel.animation_preview`); the TUI fetches it over ZeroMQ (`get_output`,
`file="animation"`) and plays it frame by frame on a Textual timer (`PreviewPane`). The
GIF is enlarged by a whole factor for people looking at it in a browser; `decode_animation`
undoes that, so the terminal draws true-size pixel art at its own scale. Pure: Pillow +
numpy, nothing at import time.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image, ImageSequence

from orchestrator.adapters.tui.halfcell import RGBA

__all__ = ["DEFAULT_FRAME_MS", "MAX_FRAMES", "Flipbook", "decode_animation", "undo_enlargement"]

DEFAULT_FRAME_MS: Final[int] = 100  # a GIF frame without a delay plays at 10 fps, as browsers do
MAX_FRAMES: Final[int] = 256  # a sheet is a few dozen frames; more is not a sheet's preview


@dataclass(frozen=True)
class Flipbook:
    """An animation's frames (`[H, W, 4]` uint8 RGBA, one size) and each one's duration.

    Raises:
        ValueError: no frames, frames of different sizes, or a count of durations that
            differs from the frames'.
    """

    frames: tuple[RGBA, ...]
    durations_ms: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.frames:
            raise ValueError("frames=(): an animation needs at least one frame")
        if len(self.durations_ms) != len(self.frames):
            raise ValueError(
                f"durations_ms has {len(self.durations_ms)} entries for {len(self.frames)} frames"
            )
        sizes = {frame.shape for frame in self.frames}
        if len(sizes) > 1:
            raise ValueError(f"frames differ in size: {sorted(sizes)}")

    def delay_s(self, index: int) -> float:
        """How long frame `index` stays on screen, in seconds."""
        return self.durations_ms[index] / 1000


def undo_enlargement(frames: list[RGBA]) -> list[RGBA]:
    """The frames at true size: each divided by the largest whole factor k such that every
    frame is made of k x k blocks of one colour (a nearest-neighbour enlargement)."""
    height, width = frames[0].shape[:2]
    for k in range(np.gcd(height, width), 1, -1):
        if height % k or width % k:
            continue
        small = [frame[::k, ::k] for frame in frames]
        if all(
            np.array_equal(np.repeat(np.repeat(s, k, axis=0), k, axis=1), f)
            for s, f in zip(small, frames, strict=True)
        ):
            return [np.ascontiguousarray(s) for s in small]
    return frames


def decode_animation(data: bytes) -> Flipbook:
    """A GIF (or any animated image Pillow reads) -> its true-size frames and durations.

    Raises:
        ValueError: The bytes are not an image Pillow can read, or hold more than
            `MAX_FRAMES` frames.
    """
    frames: list[RGBA] = []
    durations: list[int] = []
    try:
        with Image.open(io.BytesIO(data)) as img:
            for frame in ImageSequence.Iterator(img):
                if len(frames) == MAX_FRAMES:
                    raise ValueError(f"animation has more than {MAX_FRAMES} frames")
                frames.append(np.asarray(frame.convert("RGBA"), dtype=np.uint8))
                durations.append(int(frame.info.get("duration") or DEFAULT_FRAME_MS))
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"animation of {len(data)} bytes cannot be decoded: {exc}") from exc
    if not frames:
        raise ValueError(f"animation of {len(data)} bytes has no frames")
    return Flipbook(tuple(undo_enlargement(frames)), tuple(durations))
