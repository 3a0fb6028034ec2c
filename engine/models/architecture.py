"""Infer an SDXL checkpoint's architecture from its tensor shapes alone.

Original single-file SDXL checkpoints (Stability's SGM layout) carry no config. Like
ComfyUI's `detect_unet_config`, we read the key layout and shapes: model_channels from
`input_blocks.0.0.weight`, levels from the `.op` downsamplers, widths from `out_layers.3`,
transformer depth of every input and output res block and of the middle block from
`transformer_blocks.N`, context width from `attn2.to_k`, `adm_in_channels` from
`label_emb.0.0`; CLIP widths/layers from the embeddings and layer counts; VAE widths from
`encoder.down.N.block.0.conv1`. The result turns into diffusers / transformers configs, so
the real SDXL file and a tiny test file load through one path.

Every SDXL-family layout ComfyUI detects (`COMFY_SDXL_LAYOUTS`: SDXL, SSD-1B, Segmind Vega,
KOALA) is read, including a middle depth other than the last level's, a middle block of one
res block (SSD-1B, Vega) or none, and output depths that vary inside a level (SSD-1B).
What diffusers' blocks cannot hold is refused naming the feature: a level mixing res blocks
with and without attention, levels with different res-block counts, inpainting /
instruct-pix2pix inputs, the refiner.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.configs import ConfigName, load_config
from engine.errors import ModelLoadError

__all__ = [
    "CLIP_G_PREFIX",
    "CLIP_L_PREFIX",
    "COMFY_SDXL_LAYOUTS",
    "MIDDLE_NONE",
    "MIDDLE_RESBLOCK_ONLY",
    "UNET_PREFIX",
    "VAE_PREFIX",
    "ClipShape",
    "SDXLArchitecture",
    "UNetShape",
    "VaeShape",
    "infer_architecture",
]

UNET_PREFIX = "model.diffusion_model."
CLIP_L_PREFIX = "conditioner.embedders.0.transformer.text_model."
CLIP_G_PREFIX = "conditioner.embedders.1.model."
VAE_PREFIX = "first_stage_model."
_REFINER_CLIP_G_PREFIX = "conditioner.embedders.0.model."
_TIME_EMBED_DIMS = 6 * 256
# Keys ComfyUI's SDXL.model_type reads to switch away from EPS prediction.
_PREDICTION_MARKERS = (
    "v_pred",
    "ztsnr",
    "edm_vpred.sigma_max",
    "edm_mean",
)  # SDXL's six size/crop numbers, 256 sinusoidal dims each

# SDXL-family UNet layouts ComfyUI tells apart (`comfy/supported_models.py`): each class is
# matched by its transformer depth per input res block, with model_channels 320, linear
# projections, context 2048 and adm 2816; nothing else is compared (the middle depth and the
# output depths are free). The first match in ComfyUI's list order wins.
COMFY_SDXL_LAYOUTS: dict[str, tuple[int, ...]] = {
    "SDXL": (0, 0, 2, 2, 10, 10),
    "SSD1B": (0, 0, 2, 2, 4, 4),
    "KOALA_700M": (0, 2, 5),
    "KOALA_1B": (0, 2, 6),
    "Segmind_Vega": (0, 0, 1, 1, 2, 2),
}
# ComfyUI's `transformer_depth_middle` sentinels: a middle block that is one res block only
# (SSD-1B, Vega), and no middle block at all.
MIDDLE_RESBLOCK_ONLY = -1
MIDDLE_NONE = -2

Shapes = Mapping[str, tuple[int, ...]]
Depths = tuple[tuple[int, ...], ...]


def _level_depth(depths: tuple[int, ...]) -> int | list[int]:
    """One level's diffusers `transformer_layers_per_block` entry (1 where there is none:
    a block without attention ignores it)."""
    values = [max(d, 1) for d in depths]
    return values[0] if len(set(values)) == 1 else values


@dataclass(frozen=True)
class UNetShape:
    """What the UNet's tensors say about it (per-level lists run from the top level down).

    `input_depths[level]` holds the transformer depth of each input res block of that level,
    `output_depths[level]` that of each output block in the file's order (the deepest level's
    output blocks come first in the file, but the list still starts at the top level), like
    ComfyUI's `transformer_depth` / `transformer_depth_output`. `middle_depth` is the middle
    transformer's depth, `MIDDLE_RESBLOCK_ONLY` or `MIDDLE_NONE`.
    """

    model_channels: int
    channel_mult: tuple[int, ...]
    num_res_blocks: int
    input_depths: Depths
    output_depths: Depths
    middle_depth: int
    context_dim: int
    adm_in_channels: int
    in_channels: int
    out_channels: int
    use_linear_in_transformer: bool

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(self.model_channels * m for m in self.channel_mult)

    @property
    def heads(self) -> tuple[int, ...]:
        """SDXL fixes 64-channel heads; widths under 64 get one head."""
        return tuple(max(1, w // 64) for w in self.widths)

    @property
    def transformer_depth(self) -> tuple[int, ...]:
        """The deepest transformer of each level's input blocks."""
        return tuple(max(level) for level in self.input_depths)

    @property
    def transformer_depth_output(self) -> tuple[int, ...]:
        """The deepest transformer of each level's output blocks."""
        return tuple(max(level) for level in self.output_depths)

    @property
    def comfy_layout(self) -> str | None:
        """The ComfyUI model class this UNet is detected as (`SSD1B`…), None for none."""
        flat = tuple(d for level in self.input_depths for d in level)
        if (self.model_channels, self.context_dim, self.adm_in_channels) != (320, 2048, 2816):
            return None
        if not self.use_linear_in_transformer:
            return None
        return next((name for name, d in COMFY_SDXL_LAYOUTS.items() if d == flat), None)

    def comfy_config(self) -> dict[str, Any]:
        """This UNet in the terms of ComfyUI's `detect_unet_config` (its key names and list
        orders: output depths from the top level, each level's blocks last-first)."""
        return {
            "model_channels": self.model_channels,
            "num_res_blocks": [self.num_res_blocks] * len(self.channel_mult),
            "channel_mult": list(self.channel_mult),
            "transformer_depth": [d for level in self.input_depths for d in level],
            "transformer_depth_output": [
                d for level in self.output_depths for d in reversed(level)
            ],
            "transformer_depth_middle": self.middle_depth,
            "context_dim": self.context_dim,
            "adm_in_channels": self.adm_in_channels,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "use_linear_in_transformer": self.use_linear_in_transformer,
        }

    def _stock_middle_depth(self, down: list[int | list[int]]) -> int:
        """The depth diffusers gives the middle block: the last level's (first) entry."""
        last = down[-1]
        return last if isinstance(last, int) else last[0]

    def middle_override(self) -> int | None:
        """The middle transformer depth to build by hand, where the stock config cannot
        express it (None: diffusers' own mid block is the right one)."""
        down = [_level_depth(d) for d in self.input_depths]
        if self.middle_depth < 1 or self.middle_depth == self._stock_middle_depth(down):
            return None
        return self.middle_depth

    def diffusers_config(self) -> dict[str, Any]:
        """The `UNet2DConditionModel` config, starting from the shipped SDXL one.

        A middle depth that differs from the last level's is not in this config: the
        builder (`engine.models.unet_build`) swaps the middle block (`middle_override`).
        """
        cfg = {k: v for k, v in load_config("sdxl_unet").items() if not k.startswith("_")}
        down = [_level_depth(d) for d in self.input_depths]
        up = [_level_depth(d) for d in reversed(self.output_depths)]
        cfg.update(
            block_out_channels=list(self.widths),
            down_block_types=[
                "CrossAttnDownBlock2D" if max(d) else "DownBlock2D" for d in self.input_depths
            ],
            up_block_types=[
                "CrossAttnUpBlock2D" if max(d) else "UpBlock2D"
                for d in reversed(self.output_depths)
            ],
            layers_per_block=self.num_res_blocks,
            transformer_layers_per_block=down,
            attention_head_dim=list(self.heads),
            cross_attention_dim=self.context_dim,
            projection_class_embeddings_input_dim=self.adm_in_channels,
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            use_linear_projection=self.use_linear_in_transformer,
        )
        if self.middle_depth == MIDDLE_RESBLOCK_ONLY:
            cfg["mid_block_type"] = "UNetMidBlock2D"
        elif self.middle_depth == MIDDLE_NONE:
            cfg["mid_block_type"] = None
        if up != list(reversed(down)) or any(isinstance(d, list) for d in down):
            cfg["reverse_transformer_layers_per_block"] = [
                [max(d, 1) for d in level] for level in reversed(self.output_depths)
            ]
        return cfg


@dataclass(frozen=True)
class ClipShape:
    """One CLIP text encoder's size."""

    width: int
    layers: int
    intermediate: int
    projection_dim: int
    vocab_size: int
    max_positions: int
    hidden_act: str

    @property
    def heads(self) -> int:
        return max(1, self.width // 64)

    def transformers_config(self, base: ConfigName) -> dict[str, Any]:
        """The `CLIPTextConfig` kwargs, starting from the shipped `base` config."""
        skip = ("architectures", "model_type")
        cfg = {k: v for k, v in load_config(base).items() if k not in skip}
        cfg.update(
            hidden_size=self.width,
            num_hidden_layers=self.layers,
            intermediate_size=self.intermediate,
            num_attention_heads=self.heads,
            projection_dim=self.projection_dim,
            vocab_size=self.vocab_size,
            max_position_embeddings=self.max_positions,
            hidden_act=self.hidden_act,
        )
        return cfg


@dataclass(frozen=True)
class VaeShape:
    """The autoencoder's size (4 levels keep SDXL's latent factor of 8)."""

    block_out_channels: tuple[int, ...]
    layers_per_block: int
    latent_channels: int

    def diffusers_config(self) -> dict[str, Any]:
        cfg = {k: v for k, v in load_config("sdxl_vae").items() if not k.startswith("_")}
        n = len(self.block_out_channels)
        cfg.update(
            block_out_channels=list(self.block_out_channels),
            layers_per_block=self.layers_per_block,
            latent_channels=self.latent_channels,
            down_block_types=["DownEncoderBlock2D"] * n,
            up_block_types=["UpDecoderBlock2D"] * n,
        )
        return cfg


@dataclass(frozen=True)
class SDXLArchitecture:
    """Every part of an SDXL checkpoint, as inferred from its shapes."""

    unet: UNetShape
    clip_l: ClipShape
    clip_g: ClipShape
    vae: VaeShape


def _indices(shapes: Shapes, pattern: str) -> list[int]:
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for k in shapes if (m := rx.match(k))})


def _need(shapes: Shapes, key: str, source: str) -> tuple[int, ...]:
    if key not in shapes:
        raise ModelLoadError(f"{source}: not an SDXL checkpoint, tensor {key!r} is missing")
    return shapes[key]


def _depth(shapes: Shapes, block: str) -> int:
    return len(_indices(shapes, re.escape(block) + r"\.1\.transformer_blocks\.(\d+)\."))


def _uniform(values: list[int], what: str, source: str) -> int:
    if len(set(values)) != 1:
        raise ModelLoadError(f"{source}: unsupported UNet, {what} differs between levels: {values}")
    return values[0]


def _walk_input_blocks(
    shapes: Shapes, mc: int, source: str
) -> tuple[list[int], list[int], list[list[int]]]:
    """Per level: width, res-block count and each res block's transformer depth."""
    p = UNET_PREFIX + "input_blocks."
    widths, counts = [0], [0]
    depths: list[list[int]] = [[]]
    for k in _indices(shapes, re.escape(p) + r"(\d+)\.")[1:]:
        if f"{p}{k}.0.op.weight" in shapes:
            widths.append(0)
            counts.append(0)
            depths.append([])
            continue
        widths[-1] = _need(shapes, f"{p}{k}.0.out_layers.3.weight", source)[0]
        depths[-1].append(_depth(shapes, f"{p}{k}"))
        counts[-1] += 1
    if 0 in counts or widths[0] % mc:
        raise ModelLoadError(f"{source}: UNet input blocks do not form levels (counts {counts})")
    return widths, counts, depths


def _check_level_depths(depths: list[list[int]], blocks: str, source: str) -> None:
    """A diffusers block has attention on every layer or on none."""
    for level, values in enumerate(depths):
        if 0 in values and max(values):
            raise ModelLoadError(
                f"{source}: unsupported UNet, level {level}'s {blocks} blocks mix res blocks "
                f"with and without a transformer (depths {values}); diffusers' blocks hold "
                "attention on every res block of a level or on none"
            )


def _output_depths(shapes: Shapes, levels: int, per_level: int, source: str) -> list[list[int]]:
    """Each output block's transformer depth, grouped per level from the top level down."""
    p = UNET_PREFIX + "output_blocks."
    blocks = _indices(shapes, re.escape(p) + r"(\d+)\.")
    if blocks != list(range(levels * per_level)):
        raise ModelLoadError(
            f"{source}: unsupported UNet, {len(blocks)} output blocks where {levels} levels of "
            f"{per_level - 1} res blocks need {levels * per_level}"
        )
    depths = [
        [_depth(shapes, f"{p}{i}") for i in blocks[level * per_level : (level + 1) * per_level]]
        for level in range(levels)
    ]
    return list(reversed(depths))


def _middle_depth(shapes: Shapes, source: str) -> int:
    """ComfyUI's `transformer_depth_middle`: the depth, or a MIDDLE_* sentinel."""
    p = UNET_PREFIX + "middle_block."
    if p + "1.proj_in.weight" in shapes:
        depth = len(_indices(shapes, re.escape(p + "1.transformer_blocks.") + r"(\d+)\."))
        if depth == 0:
            raise ModelLoadError(
                f"{source}: unsupported UNet, the middle block has a transformer with no "
                "transformer blocks"
            )
        return depth
    if p + "0.in_layers.0.weight" in shapes:
        return MIDDLE_RESBLOCK_ONLY
    return MIDDLE_NONE


def _refuse_unsupported_io(in_channels: int, out_channels: int, source: str) -> None:
    """Inpainting (9 channels in) and instruct-pix2pix (8) UNets need image conditioning."""
    if in_channels != 4:
        kind = {9: " (an inpainting model)", 8: " (an instruct-pix2pix model)"}.get(in_channels, "")
        raise ModelLoadError(
            f"{source}: unsupported UNet, it takes {in_channels} input channels{kind}; the "
            "engine's KSampler feeds 4-channel latents only, use a real ComfyUI backend"
        )
    if out_channels != 4:
        raise ModelLoadError(
            f"{source}: unsupported UNet, it predicts {out_channels} channels; SDXL latents have 4"
        )


def infer_unet(shapes: Shapes, source: str) -> UNetShape:
    """Read the UNet's architecture from `model.diffusion_model.*` shapes."""
    conv_in = _need(shapes, UNET_PREFIX + "input_blocks.0.0.weight", source)
    mc = conv_in[0]
    adm = _need(shapes, UNET_PREFIX + "label_emb.0.0.weight", source)[1]
    widths, counts, depths = _walk_input_blocks(shapes, mc, source)
    if any(w % mc for w in widths):
        raise ModelLoadError(f"{source}: level widths {widths} are not multiples of {mc}")
    if any(w % 32 for w in widths):
        raise ModelLoadError(f"{source}: level widths {widths} must be multiples of 32 (GroupNorm)")
    n_res = _uniform(counts, "the number of res blocks", source)
    outputs = _output_depths(shapes, len(widths), n_res + 1, source)
    _check_level_depths(depths, "input", source)
    _check_level_depths(outputs, "output", source)
    ctx_keys = [k for k in shapes if k.startswith(UNET_PREFIX) and k.endswith("attn2.to_k.weight")]
    if not ctx_keys:
        raise ModelLoadError(f"{source}: the UNet has no cross-attention (attn2.to_k) layers")
    proj_in = [k for k in shapes if k.startswith(UNET_PREFIX) and k.endswith("proj_in.weight")]
    out_channels = _need(shapes, UNET_PREFIX + "out.2.weight", source)[0]
    _refuse_unsupported_io(conv_in[1], out_channels, source)
    return UNetShape(
        model_channels=mc,
        channel_mult=tuple(w // mc for w in widths),
        num_res_blocks=n_res,
        input_depths=tuple(tuple(d) for d in depths),
        output_depths=tuple(tuple(d) for d in outputs),
        middle_depth=_middle_depth(shapes, source),
        context_dim=shapes[ctx_keys[0]][1],
        adm_in_channels=adm,
        in_channels=conv_in[1],
        out_channels=out_channels,
        use_linear_in_transformer=len(shapes[proj_in[0]]) == 2 if proj_in else True,
    )


def infer_clip_l(shapes: Shapes, source: str) -> ClipShape:
    """CLIP-L from HF names under `conditioner.embedders.0.transformer.text_model.`."""
    p = CLIP_L_PREFIX
    tok = _need(shapes, p + "embeddings.token_embedding.weight", source)
    layers = _indices(shapes, re.escape(p + "encoder.layers.") + r"(\d+)\.")
    return ClipShape(
        width=tok[1],
        layers=len(layers),
        intermediate=_need(shapes, p + "encoder.layers.0.mlp.fc1.weight", source)[0],
        projection_dim=tok[1],
        vocab_size=tok[0],
        max_positions=_need(shapes, p + "embeddings.position_embedding.weight", source)[0],
        hidden_act="quick_gelu",
    )


def infer_clip_g(shapes: Shapes, source: str) -> ClipShape:
    """CLIP-G (OpenCLIP ViT-bigG names) under `conditioner.embedders.1.model.`."""
    p = CLIP_G_PREFIX
    tok = _need(shapes, p + "token_embedding.weight", source)
    layers = _indices(shapes, re.escape(p + "transformer.resblocks.") + r"(\d+)\.")
    return ClipShape(
        width=tok[1],
        layers=len(layers),
        intermediate=_need(shapes, p + "transformer.resblocks.0.mlp.c_fc.weight", source)[0],
        projection_dim=_need(shapes, p + "text_projection", source)[1],
        vocab_size=tok[0],
        max_positions=_need(shapes, p + "positional_embedding", source)[0],
        hidden_act="gelu",
    )


def infer_vae(shapes: Shapes, source: str) -> VaeShape:
    """The VAE from LDM names under `first_stage_model.`."""
    p = VAE_PREFIX + "encoder.down."
    levels = _indices(shapes, re.escape(p) + r"(\d+)\.")
    if len(levels) != 4:
        raise ModelLoadError(
            f"{source}: the VAE has {len(levels)} levels; SDXL needs 4 (latent factor 8)"
        )
    widths = tuple(_need(shapes, f"{p}{i}.block.0.conv1.weight", source)[0] for i in levels)
    per_level = _indices(shapes, re.escape(f"{p}0.block.") + r"(\d+)\.")
    latent = _need(shapes, VAE_PREFIX + "post_quant_conv.weight", source)[0]
    return VaeShape(
        block_out_channels=widths, layers_per_block=len(per_level), latent_channels=latent
    )


def _refuse_refiner(shapes: Shapes, source: str) -> None:
    """ComfyUI's SDXLRefiner: CLIP-G alone as embedder 0, context 1280, adm 2560."""
    has_clip_l = any(k.startswith(CLIP_L_PREFIX) for k in shapes)
    if not has_clip_l and any(k.startswith(_REFINER_CLIP_G_PREFIX) for k in shapes):
        raise ModelLoadError(
            f"{source}: an SDXL refiner checkpoint (CLIP-G alone as {_REFINER_CLIP_G_PREFIX}*, "
            "no CLIP-L); the refiner layout is not supported by the engine, use an SDXL "
            "base-family checkpoint or a real ComfyUI backend"
        )


def infer_architecture(shapes: Shapes, source: str) -> SDXLArchitecture:
    """Infer every component and check they fit together as SDXL.

    Args:
        shapes: Tensor name → shape for the whole checkpoint.
        source: The file name, used in error messages.

    Raises:
        ModelLoadError: A part is missing or the parts do not fit together as SDXL.
    """
    markers = [m for m in _PREDICTION_MARKERS if m in shapes]
    if markers:
        raise ModelLoadError(
            f"{source}: a v-prediction/EDM checkpoint (marker {markers[0]!r}); the engine samples "
            "EPS models only, use an EPS SDXL checkpoint or a real ComfyUI backend"
        )
    _refuse_refiner(shapes, source)
    for prefix, part in (
        (UNET_PREFIX, "UNet"),
        (CLIP_L_PREFIX, "CLIP-L"),
        (CLIP_G_PREFIX, "CLIP-G"),
        (VAE_PREFIX, "VAE"),
    ):
        if not any(k.startswith(prefix) for k in shapes):
            raise ModelLoadError(
                f"{source}: not an SDXL single-file checkpoint, no {part} tensors ({prefix}*); "
                "use an SDXL base checkpoint such as sd_xl_base_1.0.safetensors"
            )
    arch = SDXLArchitecture(
        unet=infer_unet(shapes, source),
        clip_l=infer_clip_l(shapes, source),
        clip_g=infer_clip_g(shapes, source),
        vae=infer_vae(shapes, source),
    )
    ctx = arch.clip_l.width + arch.clip_g.width
    if arch.unet.context_dim != ctx:
        raise ModelLoadError(
            f"{source}: UNet context width {arch.unet.context_dim} != CLIP-L {arch.clip_l.width} "
            f"+ CLIP-G {arch.clip_g.width}; not an SDXL base checkpoint"
        )
    if arch.unet.adm_in_channels != arch.clip_g.projection_dim + _TIME_EMBED_DIMS:
        raise ModelLoadError(
            f"{source}: UNet adm_in_channels {arch.unet.adm_in_channels} does not match pooled "
            f"width {arch.clip_g.projection_dim} + {_TIME_EMBED_DIMS}; not an SDXL base checkpoint"
        )
    return arch
