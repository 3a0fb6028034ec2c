"""Caps on what one request may ask for, checked in admission so every adapter gets them.

One request must not hold the queue for minutes or a backend's memory: `RequestCaps`
bounds the pixels of one latent/image batch (width × height × batch_size; an animation
sheet's frames are one image batch), the images one request makes (count × batch_size,
or count × frames of a sheet) and the characters of its prompt texts. The names
and defaults are the embedded engine's (`engine.limits.EngineLimits`, which checks each
prompt again on the backend); a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from comfy_nodes.pixel.wang import WANG_TILES
from orchestrator.errors import InvalidRequest

if TYPE_CHECKING:
    from orchestrator.settings import Settings

__all__ = ["RequestCaps"]

_TEXTS = ("prompt", "negative_prompt")
# Templates whose graph renders a fixed batch at width x height whatever `batch_size` says:
# the corner set's img2img pass blends all 16 tiles in one latent batch.
_FIXED_BATCH = {"autotile": WANG_TILES}


def _int(value: Any, default: int = 1) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True)
class RequestCaps:
    """Caps one request must stay under (settings `max_pixels`, `max_outputs`,
    `max_prompt_chars`; `DGXP_MAX_*`)."""

    max_pixels: int
    max_outputs: int
    max_prompt_chars: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestCaps:
        """The caps the settings configure."""
        return cls(settings.max_pixels, settings.max_outputs, settings.max_prompt_chars)

    def check_texts(self, values: Mapping[str, Any]) -> None:
        """Refuse a prompt text longer than `max_prompt_chars` (the value is not echoed).

        Raises:
            InvalidRequest: Naming the field, its length and the cap.
        """
        for name in _TEXTS:
            text = values.get(name)
            if isinstance(text, str) and len(text) > self.max_prompt_chars:
                raise InvalidRequest(
                    name,
                    f"<{len(text):,} characters>",
                    f"is over the cap of {self.max_prompt_chars:,} characters "
                    "(max_prompt_chars, DGXP_MAX_PROMPT_CHARS); shorten it",
                )

    def check_params(self, params: Mapping[str, Any], count: int, template: str = "") -> None:
        """Refuse a batch over `max_pixels` or a request over `max_outputs` images.

        Args:
            params: One job's resolved template parameters (width, height, batch_size).
            count: Jobs in the request.
            template: The template's name: one that renders a fixed batch (the 16 tiles
                of `autotile`) is counted with it.

        Raises:
            InvalidRequest: Naming the template, the fields, their values, the total and
                the cap.
        """
        width, height = _int(params.get("width")), _int(params.get("height"))
        fixed = _FIXED_BATCH.get(template)
        batch = fixed if fixed is not None else _int(params.get("batch_size"))
        pixels = width * height * batch
        if pixels > self.max_pixels:
            what = f"template {template!r}'s {fixed} tiles" if fixed is not None else "one batch"
            raise InvalidRequest(
                "params.width*height" + ("" if fixed is not None else "*batch_size"),
                f"{width}*{height}*{batch}",
                f"= {pixels:,} pixels in {what}, over the cap of {self.max_pixels:,} "
                "(max_pixels, DGXP_MAX_PIXELS); lower the size or the batch",
            )
        if count * batch > self.max_outputs:
            raise InvalidRequest(
                "count*batch_size",
                f"{count}*{batch}",
                f"= {count * batch:,} images in one request, over the cap of "
                f"{self.max_outputs:,} (max_outputs, DGXP_MAX_OUTPUTS); send fewer",
            )

    def check_sheet(self, params: Mapping[str, Any], count: int, frames: int) -> None:
        """Refuse an animation sheet whose frames, joined into one image batch, pass
        `max_pixels`, or whose requests make more than `max_outputs` frames.

        Args:
            params: One job's resolved template parameters (width, height of a frame).
            count: Jobs (sheets) in the request.
            frames: Frames of one sheet (directions x frames).

        Raises:
            InvalidRequest: Naming the fields, their values, the total and the cap.
        """
        width, height = _int(params.get("width")), _int(params.get("height"))
        pixels = frames * width * height
        if pixels > self.max_pixels:
            raise InvalidRequest(
                "params.directions*frames*width*height",
                f"{frames}*{width}*{height}",
                f"= {pixels:,} pixels in the sheet's frame batch, over the cap of "
                f"{self.max_pixels:,} (max_pixels, DGXP_MAX_PIXELS); render fewer or "
                "smaller frames",
            )
        if count * frames > self.max_outputs:
            raise InvalidRequest(
                "count*directions*frames",
                f"{count}*{frames}",
                f"= {count * frames:,} frames in one request, over the cap of "
                f"{self.max_outputs:,} (max_outputs, DGXP_MAX_OUTPUTS); send fewer",
            )
