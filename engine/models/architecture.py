"""Infer an SDXL checkpoint's architecture from its tensor shapes alone.

Original single-file SDXL checkpoints (Stability's SGM layout) carry no config. Like
ComfyUI's `detect_unet_config`, we read the key layout and shapes: model_channels from
`input_blocks.0.0.weight`, levels from the `.op` downsamplers, widths from `out_layers.3`,
transformer depth per level from `transformer_blocks.N`, context width from `attn2.to_k`,
`adm_in_channels` from `label_emb.0.0`; CLIP widths/layers from the embeddings and layer
counts; VAE widths from `encoder.down.N.block.0.conv1`. The result turns into diffusers /
transformers configs, so the real SDXL file and a tiny test file load through one path.
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
_TIME_EMBED_DIMS = 6 * 256
# Keys ComfyUI's SDXL.model_type reads to switch away from EPS prediction.
_PREDICTION_MARKERS = (
    "v_pred",
    "ztsnr",
    "edm_vpred.sigma_max",
    "edm_mean",
)  # SDXL's six size/crop numbers, 256 sinusoidal dims each

Shapes = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True)
class UNetShape:
    """What the UNet's tensors say about it (per level lists run from the top level down)."""

    model_channels: int
    channel_mult: tuple[int, ...]
    num_res_blocks: int
    transformer_depth: tuple[int, ...]
    transformer_depth_output: tuple[int, ...]
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

    def diffusers_config(self) -> dict[str, Any]:
        """The `UNet2DConditionModel` config, starting from the shipped SDXL one."""
        cfg = {k: v for k, v in load_config("sdxl_unet").items() if not k.startswith("_")}
        down = ["CrossAttnDownBlock2D" if d else "DownBlock2D" for d in self.transformer_depth]
        up = [
            "CrossAttnUpBlock2D" if d else "UpBlock2D"
            for d in reversed(self.transformer_depth_output)
        ]
        cfg.update(
            block_out_channels=list(self.widths),
            down_block_types=down,
            up_block_types=up,
            layers_per_block=self.num_res_blocks,
            transformer_layers_per_block=[max(d, 1) for d in self.transformer_depth],
            attention_head_dim=list(self.heads),
            cross_attention_dim=self.context_dim,
            projection_class_embeddings_input_dim=self.adm_in_channels,
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            use_linear_projection=self.use_linear_in_transformer,
        )
        if self.transformer_depth_output != self.transformer_depth:
            rev = reversed(self.transformer_depth_output)
            cfg["reverse_transformer_layers_per_block"] = [
                [max(d, 1)] * (self.num_res_blocks + 1) for d in rev
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
) -> tuple[list[int], list[int], list[int]]:
    """Per level: width, res-block count and transformer depth, in input-block order."""
    p = UNET_PREFIX + "input_blocks."
    widths, counts, depths = [0], [0], [-1]
    for k in _indices(shapes, re.escape(p) + r"(\d+)\.")[1:]:
        if f"{p}{k}.0.op.weight" in shapes:
            widths.append(0)
            counts.append(0)
            depths.append(-1)
            continue
        width = _need(shapes, f"{p}{k}.0.out_layers.3.weight", source)[0]
        depth = _depth(shapes, f"{p}{k}")
        if depths[-1] not in (-1, depth):
            raise ModelLoadError(
                f"{source}: transformer depth changes inside level {len(depths) - 1}"
            )
        widths[-1], depths[-1] = width, depth
        counts[-1] += 1
    if 0 in counts or widths[0] % mc:
        raise ModelLoadError(f"{source}: UNet input blocks do not form levels (counts {counts})")
    return widths, counts, depths


def _output_depths(shapes: Shapes, levels: int, per_level: int) -> list[int]:
    p = UNET_PREFIX + "output_blocks."
    blocks = _indices(shapes, re.escape(p) + r"(\d+)\.")
    depths: list[int] = []
    for level in range(levels):
        ids = blocks[level * per_level : (level + 1) * per_level]
        level_depths = {_depth(shapes, f"{p}{i}") for i in ids}
        depths.append(max(level_depths) if level_depths else 0)
    return list(reversed(depths))


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
    ctx_keys = [k for k in shapes if k.startswith(UNET_PREFIX) and k.endswith("attn2.to_k.weight")]
    if not ctx_keys:
        raise ModelLoadError(f"{source}: the UNet has no cross-attention (attn2.to_k) layers")
    proj_in = [k for k in shapes if k.startswith(UNET_PREFIX) and k.endswith("proj_in.weight")]
    middle = len(
        _indices(shapes, re.escape(UNET_PREFIX + "middle_block.1.transformer_blocks.") + r"(\d+)\.")
    )
    return UNetShape(
        model_channels=mc,
        channel_mult=tuple(w // mc for w in widths),
        num_res_blocks=n_res,
        transformer_depth=tuple(depths),
        transformer_depth_output=tuple(_output_depths(shapes, len(widths), n_res + 1)),
        middle_depth=middle,
        context_dim=shapes[ctx_keys[0]][1],
        adm_in_channels=adm,
        in_channels=conv_in[1],
        out_channels=_need(shapes, UNET_PREFIX + "out.2.weight", source)[0],
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
    if arch.unet.middle_depth != arch.unet.transformer_depth[-1]:
        raise ModelLoadError(
            f"{source}: middle transformer depth {arch.unet.middle_depth} differs from the last "
            f"level's {arch.unet.transformer_depth[-1]}; diffusers cannot build this UNet"
        )
    return arch
