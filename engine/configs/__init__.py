"""Shipped SDXL model configs (diffusers/transformers JSON) and the CLIP tokenizer builder.

The JSON files hold the published SDXL base values, so nothing is fetched from a hub at run
time. `load_config` returns a fresh dict each call; callers may edit it freely.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal

__all__ = ["ConfigName", "load_config"]

ConfigName = Literal["sdxl_unet", "sdxl_vae", "sdxl_clip_l", "sdxl_clip_g"]
_NAMES: tuple[str, ...] = ("sdxl_unet", "sdxl_vae", "sdxl_clip_l", "sdxl_clip_g")


def load_config(name: ConfigName) -> dict[str, Any]:
    """Read one shipped config.

    Args:
        name: Which config; one of `sdxl_unet`, `sdxl_vae`, `sdxl_clip_l`, `sdxl_clip_g`.

    Returns:
        The config as a new dict (keys starting with `_` are diffusers bookkeeping).

    Raises:
        ValueError: `name` is not a shipped config.
    """
    if name not in _NAMES:
        raise ValueError(f"unknown config name={name!r}; valid names: {', '.join(_NAMES)}")
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
