"""DGX-Pixels ComfyUI node pack: registration only.

ComfyUI imports this folder (under whatever name it has in `custom_nodes/`) and reads
`NODE_CLASS_MAPPINGS` / `NODE_DISPLAY_NAME_MAPPINGS`. Imports are relative so the pack
works under any folder name. The node registry is imported on first access of those
names (PEP 562), so code that only needs the pixel core (`comfy_nodes.pixel.*`, e.g. the
CLI) does not pay for importing every node module; torch is never imported here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import nodes

        return getattr(nodes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
