"""Images for MCP clients: scaled previews out, base64 pictures in.

Previews are nearest-neighbour upscales (pixel art must stay crisp) capped in size so a
tool result stays small; incoming base64 is decoded strictly so garbage is a clear error.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path

from PIL import Image

from orchestrator.errors import InvalidRequest

__all__ = [
    "MAX_BASE64_CHARS",
    "MAX_SOURCE_BYTES",
    "PREVIEW_SIDE",
    "decode_base64_image",
    "preview_png",
]

PREVIEW_SIDE = 256
MAX_BASE64_CHARS = 24 * 1024 * 1024
MAX_SOURCE_BYTES = 16 * 1024 * 1024
_DATA_URL = re.compile(r"^data:image/[\w.+-]+;base64,", re.IGNORECASE)


def decode_base64_image(text: str) -> bytes:
    """Bytes of a base64 (or `data:image/...;base64,` URL) image.

    Raises:
        InvalidRequest: Too long, or not valid base64.
    """
    if len(text) > MAX_BASE64_CHARS:
        raise InvalidRequest(
            "image_base64", f"<{len(text)} chars>", f"is over the limit of {MAX_BASE64_CHARS} chars"
        )
    body = _DATA_URL.sub("", text.strip(), count=1)
    body = re.sub(r"\s+", "", body)
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        shown = text[:40] + ("…" if len(text) > 40 else "")
        raise InvalidRequest(
            "image_base64", shown, f"is not valid base64 ({exc}); send the PNG bytes base64-encoded"
        ) from exc
    if not data:
        raise InvalidRequest("image_base64", text[:40], "decodes to no bytes")
    return data


def preview_png(sprite: Path, preview: Path | None = None, side: int = PREVIEW_SIDE) -> bytes:
    """A crisp preview PNG: the job's own preview if present, else an upscaled sprite.

    The result is scaled by a whole factor so its longest side is at most `side` (a
    sprite bigger than that is shrunk with nearest-neighbour instead).
    """
    source = preview if preview is not None and preview.is_file() else sprite
    if source.stat().st_size > MAX_SOURCE_BYTES:
        raise InvalidRequest("sprite", str(source), "is too large to preview")
    with Image.open(source) as opened:
        image = opened.convert("RGBA")
    longest = max(image.size)
    if longest <= side:
        factor = max(1, side // longest)
        size = (image.width * factor, image.height * factor)
    else:
        size = (max(1, image.width * side // longest), max(1, image.height * side // longest))
    if size != image.size:
        image = image.resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
