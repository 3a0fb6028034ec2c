"""Write random-weight SDXL-shaped checkpoints in Stability's original single-file layout.

Used by the demo model (`dgx-pixels models demo`) and by the tests' tiny checkpoint. The key
names follow the SGM UNet (`model.diffusion_model.input_blocks.N...`), HF CLIP-L under
`conditioner.embedders.0.transformer.text_model.`, OpenCLIP bigG names under
`conditioner.embedders.1.model.` and the LDM VAE under `first_stage_model.`, so these files
exercise exactly the loader path a real SDXL file takes. Weights are N(0, std), norms 1,
biases 0, like the generator recorded in the ComfyUI spec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from comfy_nodes.pixel.atomic import atomic_path
from engine.models.architecture import CLIP_G_PREFIX, CLIP_L_PREFIX, UNET_PREFIX, VAE_PREFIX

__all__ = [
    "SDXL_BASE_SPEC",
    "SyntheticSpec",
    "build_shapes",
    "build_state_dict",
    "init_kind",
    "write_checkpoint",
]

Shape = tuple[int, ...]
InitKind = Literal["ones", "zeros", "normal"]
Add = Callable[[str, Shape], None]


@dataclass(frozen=True)
class SyntheticSpec:
    """Sizes of a synthetic SDXL-shaped checkpoint (defaults: the tests' tiny one)."""

    model_channels: int = 32
    channel_mult: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 2
    transformer_depth: tuple[int, ...] = (0, 1, 2)  # per level; level 0 has none, like SDXL
    # Per level (top first), each output block's depth in file order; None: the input depth.
    transformer_depth_output: tuple[tuple[int, ...], ...] | None = None
    # The middle transformer's depth; None: the last level's; -1: one res block; -2: none.
    middle_depth: int | None = None
    clip_l_width: int = 32
    clip_g_width: int = 32
    clip_l_layers: int = 2
    clip_g_layers: int = 2
    vocab_size: int = 49408
    vae_channels: tuple[int, ...] = (32, 32, 64, 64)
    vae_layers: int = 1
    std: float = 0.02
    seed: int = 0
    metadata: dict[str, str] = field(default_factory=dict)

    def output_depths(self, level: int) -> tuple[int, ...]:
        """The transformer depth of each of `level`'s output blocks, in file order."""
        if self.transformer_depth_output is None:
            return (self.transformer_depth[level],) * (self.num_res_blocks + 1)
        return self.transformer_depth_output[level]


# The real SDXL base 1.0 sizes (for shape-only checks; 2.6 B UNet parameters if built).
SDXL_BASE_SPEC = SyntheticSpec(
    model_channels=320,
    channel_mult=(1, 2, 4),
    num_res_blocks=2,
    transformer_depth=(0, 2, 10),
    clip_l_width=768,
    clip_g_width=1280,
    clip_l_layers=12,
    clip_g_layers=32,
    vae_channels=(128, 256, 512, 512),
    vae_layers=2,
)


def _resblock(add: Add, name: str, cin: int, cout: int, emb: int) -> None:
    add(f"{name}.in_layers.0.weight", (cin,))
    add(f"{name}.in_layers.0.bias", (cin,))
    add(f"{name}.in_layers.2.weight", (cout, cin, 3, 3))
    add(f"{name}.in_layers.2.bias", (cout,))
    add(f"{name}.emb_layers.1.weight", (cout, emb))
    add(f"{name}.emb_layers.1.bias", (cout,))
    add(f"{name}.out_layers.0.weight", (cout,))
    add(f"{name}.out_layers.0.bias", (cout,))
    add(f"{name}.out_layers.3.weight", (cout, cout, 3, 3))
    add(f"{name}.out_layers.3.bias", (cout,))
    if cin != cout:
        add(f"{name}.skip_connection.weight", (cout, cin, 1, 1))
        add(f"{name}.skip_connection.bias", (cout,))


def _transformer(add: Add, name: str, ch: int, depth: int, ctx: int) -> None:
    add(f"{name}.norm.weight", (ch,))
    add(f"{name}.norm.bias", (ch,))
    add(f"{name}.proj_in.weight", (ch, ch))
    add(f"{name}.proj_in.bias", (ch,))
    for j in range(depth):
        b = f"{name}.transformer_blocks.{j}"
        for attn, kv in (("attn1", ch), ("attn2", ctx)):
            add(f"{b}.{attn}.to_q.weight", (ch, ch))
            add(f"{b}.{attn}.to_k.weight", (ch, kv))
            add(f"{b}.{attn}.to_v.weight", (ch, kv))
            add(f"{b}.{attn}.to_out.0.weight", (ch, ch))
            add(f"{b}.{attn}.to_out.0.bias", (ch,))
        add(f"{b}.ff.net.0.proj.weight", (ch * 8, ch))
        add(f"{b}.ff.net.0.proj.bias", (ch * 8,))
        add(f"{b}.ff.net.2.weight", (ch, ch * 4))
        add(f"{b}.ff.net.2.bias", (ch,))
        for n in (1, 2, 3):
            add(f"{b}.norm{n}.weight", (ch,))
            add(f"{b}.norm{n}.bias", (ch,))
    add(f"{name}.proj_out.weight", (ch, ch))
    add(f"{name}.proj_out.bias", (ch,))


def _unet_down(add: Add, s: SyntheticSpec, ctx: int) -> list[int]:
    p, mc, emb = UNET_PREFIX, s.model_channels, s.model_channels * 4
    add(p + "input_blocks.0.0.weight", (mc, 4, 3, 3))
    add(p + "input_blocks.0.0.bias", (mc,))
    skips, ch, k = [mc], mc, 1
    for level, mult in enumerate(s.channel_mult):
        for _ in range(s.num_res_blocks):
            _resblock(add, f"{p}input_blocks.{k}.0", ch, mc * mult, emb)
            ch = mc * mult
            if s.transformer_depth[level]:
                _transformer(add, f"{p}input_blocks.{k}.1", ch, s.transformer_depth[level], ctx)
            skips.append(ch)
            k += 1
        if level < len(s.channel_mult) - 1:
            add(f"{p}input_blocks.{k}.0.op.weight", (ch, ch, 3, 3))
            add(f"{p}input_blocks.{k}.0.op.bias", (ch,))
            skips.append(ch)
            k += 1
    return skips


def _middle(add: Add, s: SyntheticSpec, ch: int, ctx: int) -> None:
    """ComfyUI's middle block: res block, transformer, res block; or one res block (-1);
    or nothing (-2)."""
    p, emb = UNET_PREFIX, s.model_channels * 4
    depth = s.transformer_depth[-1] if s.middle_depth is None else s.middle_depth
    if depth == -2:
        return
    _resblock(add, p + "middle_block.0", ch, ch, emb)
    if depth >= 1:
        _transformer(add, p + "middle_block.1", ch, depth, ctx)
        _resblock(add, p + "middle_block.2", ch, ch, emb)


def _unet(add: Add, s: SyntheticSpec) -> None:
    p, mc, emb = UNET_PREFIX, s.model_channels, s.model_channels * 4
    ctx = s.clip_l_width + s.clip_g_width
    add(p + "time_embed.0.weight", (emb, mc))
    add(p + "time_embed.0.bias", (emb,))
    add(p + "time_embed.2.weight", (emb, emb))
    add(p + "time_embed.2.bias", (emb,))
    add(p + "label_emb.0.0.weight", (emb, s.clip_g_width + 6 * 256))
    add(p + "label_emb.0.0.bias", (emb,))
    add(p + "label_emb.0.2.weight", (emb, emb))
    add(p + "label_emb.0.2.bias", (emb,))
    skips = _unet_down(add, s, ctx)
    ch = mc * s.channel_mult[-1]
    _middle(add, s, ch, ctx)
    k = 0
    for level in reversed(range(len(s.channel_mult))):
        out = mc * s.channel_mult[level]
        for i, depth in enumerate(s.output_depths(level)):
            _resblock(add, f"{p}output_blocks.{k}.0", ch + skips.pop(), out, emb)
            ch, slot = out, 1
            if depth:
                _transformer(add, f"{p}output_blocks.{k}.1", ch, depth, ctx)
                slot = 2
            if level and i == s.num_res_blocks:
                add(f"{p}output_blocks.{k}.{slot}.conv.weight", (ch, ch, 3, 3))
                add(f"{p}output_blocks.{k}.{slot}.conv.bias", (ch,))
            k += 1
    add(p + "out.0.weight", (mc,))
    add(p + "out.0.bias", (mc,))
    add(p + "out.2.weight", (4, mc, 3, 3))
    add(p + "out.2.bias", (4,))


def _clip_l(add: Add, s: SyntheticSpec) -> None:
    p, w = CLIP_L_PREFIX, s.clip_l_width
    add(p + "embeddings.token_embedding.weight", (s.vocab_size, w))
    add(p + "embeddings.position_embedding.weight", (77, w))
    for i in range(s.clip_l_layers):
        b = f"{p}encoder.layers.{i}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            add(f"{b}.self_attn.{proj}.weight", (w, w))
            add(f"{b}.self_attn.{proj}.bias", (w,))
        for ln in ("layer_norm1", "layer_norm2"):
            add(f"{b}.{ln}.weight", (w,))
            add(f"{b}.{ln}.bias", (w,))
        add(f"{b}.mlp.fc1.weight", (4 * w, w))
        add(f"{b}.mlp.fc1.bias", (4 * w,))
        add(f"{b}.mlp.fc2.weight", (w, 4 * w))
        add(f"{b}.mlp.fc2.bias", (w,))
    add(p + "final_layer_norm.weight", (w,))
    add(p + "final_layer_norm.bias", (w,))


def _clip_g(add: Add, s: SyntheticSpec) -> None:
    p, w = CLIP_G_PREFIX, s.clip_g_width
    add(p + "token_embedding.weight", (s.vocab_size, w))
    add(p + "positional_embedding", (77, w))
    for i in range(s.clip_g_layers):
        b = f"{p}transformer.resblocks.{i}"
        add(f"{b}.attn.in_proj_weight", (3 * w, w))
        add(f"{b}.attn.in_proj_bias", (3 * w,))
        add(f"{b}.attn.out_proj.weight", (w, w))
        add(f"{b}.attn.out_proj.bias", (w,))
        for ln in ("ln_1", "ln_2"):
            add(f"{b}.{ln}.weight", (w,))
            add(f"{b}.{ln}.bias", (w,))
        add(f"{b}.mlp.c_fc.weight", (4 * w, w))
        add(f"{b}.mlp.c_fc.bias", (4 * w,))
        add(f"{b}.mlp.c_proj.weight", (w, 4 * w))
        add(f"{b}.mlp.c_proj.bias", (w,))
    add(p + "ln_final.weight", (w,))
    add(p + "ln_final.bias", (w,))
    add(p + "text_projection", (w, w))


def _vae_res(add: Add, name: str, cin: int, cout: int) -> None:
    for n, c in (("norm1", cin), ("norm2", cout)):
        add(f"{name}.{n}.weight", (c,))
        add(f"{name}.{n}.bias", (c,))
    add(f"{name}.conv1.weight", (cout, cin, 3, 3))
    add(f"{name}.conv1.bias", (cout,))
    add(f"{name}.conv2.weight", (cout, cout, 3, 3))
    add(f"{name}.conv2.bias", (cout,))
    if cin != cout:
        add(f"{name}.nin_shortcut.weight", (cout, cin, 1, 1))
        add(f"{name}.nin_shortcut.bias", (cout,))


def _vae_mid(add: Add, name: str, ch: int) -> None:
    _vae_res(add, f"{name}.mid.block_1", ch, ch)
    add(f"{name}.mid.attn_1.norm.weight", (ch,))
    add(f"{name}.mid.attn_1.norm.bias", (ch,))
    for n in ("q", "k", "v", "proj_out"):
        add(f"{name}.mid.attn_1.{n}.weight", (ch, ch, 1, 1))
        add(f"{name}.mid.attn_1.{n}.bias", (ch,))
    _vae_res(add, f"{name}.mid.block_2", ch, ch)


def _vae(add: Add, s: SyntheticSpec) -> None:
    p, chs = VAE_PREFIX, s.vae_channels
    enc, dec = p + "encoder", p + "decoder"
    add(f"{enc}.conv_in.weight", (chs[0], 3, 3, 3))
    add(f"{enc}.conv_in.bias", (chs[0],))
    ch = chs[0]
    for i, out in enumerate(chs):
        for j in range(s.vae_layers):
            _vae_res(add, f"{enc}.down.{i}.block.{j}", ch, out)
            ch = out
        if i < len(chs) - 1:
            add(f"{enc}.down.{i}.downsample.conv.weight", (ch, ch, 3, 3))
            add(f"{enc}.down.{i}.downsample.conv.bias", (ch,))
    _vae_mid(add, enc, ch)
    add(f"{enc}.norm_out.weight", (ch,))
    add(f"{enc}.norm_out.bias", (ch,))
    add(f"{enc}.conv_out.weight", (8, ch, 3, 3))
    add(f"{enc}.conv_out.bias", (8,))
    add(p + "quant_conv.weight", (8, 8, 1, 1))
    add(p + "quant_conv.bias", (8,))
    add(p + "post_quant_conv.weight", (4, 4, 1, 1))
    add(p + "post_quant_conv.bias", (4,))
    add(f"{dec}.conv_in.weight", (ch, 4, 3, 3))
    add(f"{dec}.conv_in.bias", (ch,))
    _vae_mid(add, dec, ch)
    for i in reversed(range(len(chs))):
        for j in range(s.vae_layers + 1):
            _vae_res(add, f"{dec}.up.{i}.block.{j}", ch, chs[i])
            ch = chs[i]
        if i:
            add(f"{dec}.up.{i}.upsample.conv.weight", (ch, ch, 3, 3))
            add(f"{dec}.up.{i}.upsample.conv.bias", (ch,))
    add(f"{dec}.norm_out.weight", (ch,))
    add(f"{dec}.norm_out.bias", (ch,))
    add(f"{dec}.conv_out.weight", (3, ch, 3, 3))
    add(f"{dec}.conv_out.bias", (3,))


def build_shapes(spec: SyntheticSpec) -> dict[str, Shape]:
    """The key → shape layout of `spec`, without allocating any tensor."""
    shapes: dict[str, Shape] = {}

    def add(name: str, shape: Shape) -> None:
        shapes[name] = shape

    for part in (_unet, _clip_l, _clip_g, _vae):
        part(add, spec)
    return shapes


def init_kind(name: str, shape: Shape) -> InitKind:
    """How a synthetic tensor is filled: norm weights (1-D ".weight") 1, other 1-D tensors
    and biases 0, everything else N(0, std) — a sane random net."""
    if len(shape) == 1 and name.endswith(".weight"):
        return "ones"
    if len(shape) == 1 or name.endswith("bias"):
        return "zeros"
    return "normal"


def build_state_dict(
    spec: SyntheticSpec, dtype: torch.dtype = torch.float16
) -> dict[str, torch.Tensor]:
    """Random tensors with the full SGM single-file key layout for `spec`."""
    gen = torch.Generator().manual_seed(spec.seed)
    tensors: dict[str, torch.Tensor] = {}

    def add(name: str, shape: Shape) -> None:
        kind = init_kind(name, shape)
        if kind == "ones":
            value = torch.ones(shape)
        elif kind == "zeros":
            value = torch.zeros(shape)
        else:
            value = torch.randn(shape, generator=gen) * spec.std
        tensors[name] = value.to(dtype)

    for part in (_unet, _clip_l, _clip_g, _vae):
        part(add, spec)
    return tensors


def write_checkpoint(path: Path, spec: SyntheticSpec, dtype: torch.dtype = torch.float16) -> Path:
    """Build and save a synthetic checkpoint (atomically: a temp file, then rename)."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(build_state_dict(spec, dtype), str(tmp), metadata=dict(spec.metadata))
    return path
