"""The one vocabulary of model precisions (torch-free, so the runner and settings can cite it).

- "auto": fp16 on a GPU, fp32 on a CPU.
- "fp16", "bf16": the UNet and text encoders in that dtype; the VAE in bf16.
- "fp32": everything in fp32 (a CPU always runs this).
- "fp8": bf16, with the UNet's transformer Linear layers quantized to float8 (torchao,
  dynamic per-row activation and weight scales). Needs a GPU of compute capability >= 8.9
  (Ada, Hopper, Blackwell: the GB10 has it) and torchao; refused elsewhere.

`orchestrator.settings` and the CLI restate these names (they may not import the engine);
tests/engine/test_speed_options.py checks that every copy equals `PRECISIONS`.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["PRECISIONS", "Precision"]

Precision = Literal["auto", "fp16", "bf16", "fp32", "fp8"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
