"""The value ranges every layer checks the same way: seeds and sprite sizes.

A leaf next to `errors` and `settings`: the service validates requests with it, and the
wire types and the TUI (which may not import the service) bound their fields with it, so
a seed or size is refused with the same message whichever door it came through.
"""

from __future__ import annotations

import re

from orchestrator.errors import InvalidRequest

__all__ = ["MAX_SEED", "MAX_SPRITE_SIDE", "check_seed", "check_size", "parse_size"]

MAX_SEED = 0xFFFF_FFFF_FFFF_FFFF  # ComfyUI's KSampler seed range: 0..2**64-1
MAX_SPRITE_SIDE = 1024
_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def parse_size(text: str, field_name: str = "size") -> tuple[int, int]:
    """`"32x32"` -> (32, 32), each side 1..1024.

    Raises:
        InvalidRequest: Not `WxH` or a side out of range.
    """
    match = _SIZE.match(text)
    if not match:
        raise InvalidRequest(field_name, text, "expected WIDTHxHEIGHT, e.g. 32x32")
    size = (int(match.group(1)), int(match.group(2)))
    check_size(size, field_name)
    return size


def check_seed(value: object, field_name: str = "seed") -> int:
    """The one seed check every adapter (CLI, ZMQ, MCP) and the service share.

    Returns:
        The seed, an int in 0..`MAX_SEED` (ComfyUI's KSampler range, 2**64-1).

    Raises:
        InvalidRequest: Not an int (bools are refused) or out of that range.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise InvalidRequest(field_name, value, f"must be an int in 0..{MAX_SEED} (2**64-1)")
    return value


def check_size(size: tuple[int, int], field_name: str = "size") -> None:
    """Refuse a (width, height) unless both sides are ints in 1..`MAX_SPRITE_SIDE`.

    Raises:
        InvalidRequest: Not two ints, or a side out of range.
    """
    if len(size) != 2 or not all(isinstance(v, int) and 1 <= v <= MAX_SPRITE_SIDE for v in size):
        raise InvalidRequest(field_name, size, f"each side must be an int in 1..{MAX_SPRITE_SIDE}")
