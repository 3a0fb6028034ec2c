"""Reading what is about to be deployed: size limits, PNG and atlas checks.

Files are checked before a byte is written: a sprite must be a PNG under the byte and
dimension limits, an atlas must be a JSON object under its byte limit. The atlas's
Aseprite `meta.image` (and a Bevy atlas's `image`) is pointed at the deployed sprite's
file name so Bevy-side loaders that follow it find the right image.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.deploy.errors import AssetTooLargeError, InvalidSourceError

__all__ = ["DeployLimits", "SourceFile", "read_atlas", "read_bevy_atlas", "read_sprite"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class DeployLimits:
    """Refuse anything bigger than these (a sprite is small; a huge file is a mistake).

    Attributes:
        max_sprite_bytes: Largest sprite PNG accepted.
        max_atlas_bytes: Largest atlas JSON accepted.
        max_side: Largest width or height of a sprite in pixels.
    """

    max_sprite_bytes: int = 16 * 1024 * 1024
    max_atlas_bytes: int = 4 * 1024 * 1024
    max_side: int = 8192


@dataclass(frozen=True)
class SourceFile:
    """Checked content about to be written.

    Attributes:
        origin: Where it was read from (None when built in memory).
        data: The bytes to write.
        sha256: Hex digest of `data`.
    """

    origin: Path | None
    data: bytes
    sha256: str

    @classmethod
    def of(cls, data: bytes, origin: Path | None = None) -> SourceFile:
        """Wrap `data`, computing its digest."""
        return cls(origin, data, hashlib.sha256(data).hexdigest())


def _read_limited(path: Path, what: str, limit: int) -> bytes:
    """Read a regular file after checking its size against `limit`."""
    if not path.is_file():
        raise InvalidSourceError(
            f"{what}={str(path)!r} is not an existing regular file; check the job's outputs."
        )
    size = path.stat().st_size
    if size > limit:
        raise AssetTooLargeError(
            f"{what}={str(path)!r} is {size} bytes, over the limit of {limit} bytes; "
            "deploy a smaller sprite or raise the deploy limit."
        )
    return path.read_bytes()


def _check_png(path: Path, data: bytes, limits: DeployLimits) -> None:
    """Refuse non-PNG data and images wider or taller than `limits.max_side`."""
    if len(data) < 24 or not data.startswith(_PNG_MAGIC) or data[12:16] != b"IHDR":
        raise InvalidSourceError(f"sprite={str(path)!r} is not a PNG file; only PNGs are deployed.")
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0 or max(width, height) > limits.max_side:
        raise AssetTooLargeError(
            f"sprite={str(path)!r} is {width}x{height} px; the limit is "
            f"{limits.max_side}x{limits.max_side} px and both sides must be positive."
        )


def read_sprite(path: Path, limits: DeployLimits) -> SourceFile:
    """Read and check a sprite PNG.

    Raises:
        InvalidSourceError: missing, not a regular file, or not a PNG.
        AssetTooLargeError: over the byte or pixel limit.
    """
    data = _read_limited(path, "sprite", limits.max_sprite_bytes)
    _check_png(path, data, limits)
    return SourceFile.of(data, path)


def _read_json_object(path: Path, what: str, limits: DeployLimits) -> dict[str, Any]:
    raw = _read_limited(path, what, limits.max_atlas_bytes)
    try:
        atlas: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidSourceError(f"{what}={str(path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(atlas, dict):
        raise InvalidSourceError(f"{what}={str(path)!r} must hold a JSON object.")
    return atlas


def read_bevy_atlas(path: Path, image_name: str, limits: DeployLimits) -> SourceFile:
    """Read an animation sheet's Bevy atlas JSON and point its `image` at the sprite.

    Raises:
        InvalidSourceError: missing, not JSON, or not a JSON object.
        AssetTooLargeError: over the byte limit.
    """
    atlas = _read_json_object(path, "bevy_atlas", limits)
    atlas["image"] = image_name
    return SourceFile.of((json.dumps(atlas, indent=2) + "\n").encode(), path)


def read_atlas(path: Path, image_name: str, limits: DeployLimits) -> SourceFile:
    """Read an atlas JSON and point its `meta.image` at the deployed sprite.

    Raises:
        InvalidSourceError: missing, not JSON, or not a JSON object.
        AssetTooLargeError: over the byte limit.
    """
    atlas = _read_json_object(path, "atlas", limits)
    meta = atlas.get("meta")
    if isinstance(meta, dict):
        meta["image"] = image_name
    data = (json.dumps(atlas, indent=2) + "\n").encode()
    return SourceFile.of(data, path)
