"""Build the diffusers UNet of any SDXL-family layout the architecture reader accepts.

diffusers' `UNet2DConditionModel` config holds per-level and per-res-block transformer
depths (`transformer_layers_per_block`, `reverse_transformer_layers_per_block`), a middle
block of one res block (`UNetMidBlock2D`, SSD-1B and Vega) or none. It ties the middle
transformer's depth to the last level's, though: where a checkpoint's middle depth differs
(ComfyUI builds any `transformer_depth_middle`), the stock middle block is replaced by one
built explicitly with the same arguments and the file's depth. Call it under
`torch.device("meta")` to build without allocating weights.
"""

from __future__ import annotations

import importlib
from typing import Any

from engine.models.architecture import UNetShape

__all__ = ["build_unet"]


def _middle_block(unet: Any, depth: int) -> Any:
    """A cross-attention middle block of `depth` transformer blocks, otherwise exactly
    the arguments `UNet2DConditionModel.__init__` gives its own."""
    blocks = importlib.import_module("diffusers.models.unets.unet_2d_blocks")
    c = unet.config
    heads = c.num_attention_heads or c.attention_head_dim
    cross = c.cross_attention_dim
    return blocks.get_mid_block(
        "UNetMidBlock2DCrossAttn",
        temb_channels=unet.time_embedding.linear_2.out_features,
        in_channels=c.block_out_channels[-1],
        resnet_eps=c.norm_eps,
        resnet_act_fn=c.act_fn,
        resnet_groups=c.norm_num_groups,
        output_scale_factor=c.mid_block_scale_factor,
        transformer_layers_per_block=depth,
        num_attention_heads=heads[-1] if isinstance(heads, list | tuple) else heads,
        cross_attention_dim=cross[-1] if isinstance(cross, list | tuple) else cross,
        dual_cross_attention=c.dual_cross_attention,
        use_linear_projection=c.use_linear_projection,
        upcast_attention=c.upcast_attention,
        resnet_time_scale_shift=c.resnet_time_scale_shift,
        attention_type=c.attention_type,
        dropout=c.dropout,
    )


def build_unet(shape: UNetShape) -> Any:
    """The `UNet2DConditionModel` for `shape`, its middle block rebuilt where needed.

    Args:
        shape: The UNet read from a checkpoint (`engine.models.architecture.infer_unet`).

    Returns:
        The module, with randomly initialised (or meta) weights.
    """
    diffusers = importlib.import_module("diffusers")
    unet = diffusers.UNet2DConditionModel(**shape.diffusers_config())
    depth = shape.middle_override()
    if depth is not None:
        unet.mid_block = _middle_block(unet, depth)
    return unet
