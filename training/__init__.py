"""Training pixel-art style LoRAs: dataset preparation, the training spec, LoRA file I/O.

The service calls this package; adapters reach it only through `Service`. It may import the
pixel core (`comfy_nodes.pixel`) and the engine's public API, nothing else first-party
(`tests/test_layering.py`). Importing it loads nothing heavy: torch, safetensors and
pydantic are imported by the modules that need them.
"""

from __future__ import annotations

__all__: list[str] = []
