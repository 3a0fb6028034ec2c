"""The engine's core node set: image nodes here, SDXL nodes from `engine.nodes.sdxl`."""

from __future__ import annotations

import importlib
import logging

__all__ = ["core_display_names", "core_node_classes"]

logger = logging.getLogger(__name__)


def _sdxl_module() -> object | None:
    # Imported lazily: it pulls in diffusers, and the server must work before it exists.
    # A broken SDXL module is logged like ComfyUI logs a failing comfy_extras file: the
    # server still starts and serves the image nodes.
    try:
        return importlib.import_module("engine.nodes.sdxl")
    except ImportError:
        logger.exception("engine.nodes.sdxl did not import; serving the image nodes only")
        return None


def core_node_classes() -> dict[str, type]:
    """Every core node class by ComfyUI name (image nodes plus SDXL nodes when present)."""
    from engine.nodes import image

    classes = dict(image.NODE_CLASS_MAPPINGS)
    sdxl = _sdxl_module()
    if sdxl is not None:
        classes.update(getattr(sdxl, "NODE_CLASS_MAPPINGS", {}))
    return classes


def core_display_names() -> dict[str, str]:
    """Display names of the core nodes."""
    from engine.nodes import image

    names = dict(image.NODE_DISPLAY_NAME_MAPPINGS)
    sdxl = _sdxl_module()
    if sdxl is not None:
        names.update(getattr(sdxl, "NODE_DISPLAY_NAME_MAPPINGS", {}))
    return names
