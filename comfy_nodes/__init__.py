"""DGX-Pixels ComfyUI node pack: registration only.

ComfyUI imports this folder (under whatever name it has in `custom_nodes/`) and reads
`NODE_CLASS_MAPPINGS` / `NODE_DISPLAY_NAME_MAPPINGS`. Imports are relative so the pack
works under any folder name; nothing heavy (torch) is imported here.
"""

from __future__ import annotations

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
