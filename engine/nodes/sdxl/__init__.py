"""The engine's SDXL core nodes, under ComfyUI's class names (merged by `engine.nodes`)."""

from __future__ import annotations

from engine.nodes.sdxl.conditioning import CLIPTextEncode, CLIPTextEncodeSDXL
from engine.nodes.sdxl.latent import EmptyLatentImage, VAEDecode, VAEEncode
from engine.nodes.sdxl.loaders import CheckpointLoaderSimple, LoraLoader, LoraLoaderModelOnly
from engine.nodes.sdxl.samplers import KSampler, KSamplerAdvanced

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]

NODE_CLASS_MAPPINGS: dict[str, type] = {
    "CheckpointLoaderSimple": CheckpointLoaderSimple,
    "LoraLoader": LoraLoader,
    "LoraLoaderModelOnly": LoraLoaderModelOnly,
    "CLIPTextEncode": CLIPTextEncode,
    "CLIPTextEncodeSDXL": CLIPTextEncodeSDXL,
    "EmptyLatentImage": EmptyLatentImage,
    "KSampler": KSampler,
    "KSamplerAdvanced": KSamplerAdvanced,
    "VAEDecode": VAEDecode,
    "VAEEncode": VAEEncode,
}

NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {
    "CheckpointLoaderSimple": "Load Checkpoint",
    "LoraLoader": "Load LoRA",
    "LoraLoaderModelOnly": "LoraLoaderModelOnly",
    "CLIPTextEncode": "CLIP Text Encode (Prompt)",
    "CLIPTextEncodeSDXL": "CLIPTextEncodeSDXL",
    "EmptyLatentImage": "Empty Latent Image",
    "KSampler": "KSampler",
    "KSamplerAdvanced": "KSampler (Advanced)",
    "VAEDecode": "VAE Decode",
    "VAEEncode": "VAE Encode",
}
