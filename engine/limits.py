"""The engine's caps on what one prompt may ask for, and the checks that enforce them.

A single prompt must not be able to hold the queue for minutes or the machine's memory:
`EngineLimits` caps the pixels of one latent/image batch (width × height × batch), the
number of output nodes per prompt and the characters of one text input. `/prompt`
refuses a graph over a cap before it is queued (400 `prompt_outputs_failed_validation`
naming the node and input), and the nodes that allocate check again at run time, since a
size that comes through a link is only known then.

The defaults are the single source of the engine's caps (`EngineConfig` and the
`engine serve` flags derive theirs from `DEFAULT_LIMITS`); the orchestrator's admission
uses the same names and values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from engine.errors import EngineError, LimitExceeded

__all__ = ["DEFAULT_LIMITS", "EngineLimits", "pixel_count"]


def pixel_count(width: int, height: int, batch: int = 1) -> int:
    """Pixels of a batch of `batch` images of `width` × `height` (negatives count as 0)."""
    return max(0, width) * max(0, height) * max(0, batch)


@dataclass(frozen=True)
class EngineLimits:
    """Caps one prompt must stay under; each must be at least 1.

    Attributes:
        max_pixels: width × height × batch of one latent or image batch (a latent counts
            the pixels it decodes to). 67,108,864 = 4096² × 4 = 1024² × 64.
        max_outputs: output nodes (SaveImage, PreviewImage, ...) in one prompt.
        max_prompt_chars: characters in one text (STRING) input of a node.
    """

    max_pixels: int = 4096 * 4096 * 4
    max_outputs: int = 256
    max_prompt_chars: int = 10_000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise EngineError(
                    f"{field.name}={value!r} is not a positive whole number; "
                    f"use e.g. {field.name}={field.default}"
                )

    def check_pixels(self, width: int, height: int, batch: int, what: str) -> None:
        """Refuse a `width` × `height` × `batch` allocation over `max_pixels`.

        Args:
            width: image width in pixels.
            height: image height in pixels.
            batch: images in the batch.
            what: who asks (node and input), named in the error.

        Raises:
            LimitExceeded: the batch holds more than `max_pixels` pixels.
        """
        pixels = pixel_count(width, height, batch)
        if pixels > self.max_pixels:
            raise LimitExceeded(
                f"{what}: {width}x{height} x batch {batch} = {pixels:,} pixels is over the "
                f"engine's cap of {self.max_pixels:,} (max_pixels, `engine serve "
                f"--max-pixels`); make the image or batch smaller"
            )


DEFAULT_LIMITS = EngineLimits()
