"""Text-encoding nodes: CLIPTextEncode and CLIPTextEncodeSDXL (ComfyUI's inputs and layout).

CONDITIONING is `[[tensor [1, 77, 2048], {"pooled_output": tensor [1, 1280], ...}]]`.
"""

from __future__ import annotations

from typing import Any

from engine.models.sdxl import SDXLClip

__all__ = ["CLIPTextEncode", "CLIPTextEncodeSDXL"]

MAX_RESOLUTION = 16384


class CLIPTextEncode:
    """Encode one prompt with both SDXL text encoders."""

    DESCRIPTION = (
        "Encodes a text prompt using a CLIP model into an embedding that can be used to guide "
        "the diffusion model towards generating specific images."
    )
    RETURN_TYPES = ("CONDITIONING",)
    OUTPUT_TOOLTIPS = (
        "A conditioning containing the embedded text used to guide the diffusion model.",
    )
    FUNCTION = "encode"
    CATEGORY = "conditioning"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "text": (
                    "STRING",
                    {
                        "multiline": True,
                        "dynamicPrompts": True,
                        "tooltip": "The text to be encoded.",
                    },
                ),
                "clip": ("CLIP", {"tooltip": "The CLIP model used for encoding the text."}),
            }
        }

    def encode(self, clip: SDXLClip, text: str) -> tuple[list[list[Any]]]:
        if clip is None:
            raise RuntimeError(
                "ERROR: clip input is invalid: None\n\nIf the clip is from a checkpoint loader "
                "node your checkpoint does not contain a valid clip or text encoder model."
            )
        cond, pooled = clip.encode(text, text)
        return ([[cond, {"pooled_output": pooled}]],)


def _int(default: int, maximum: int = MAX_RESOLUTION) -> tuple[str, dict[str, int]]:
    return ("INT", {"default": default, "min": 0, "max": maximum})


class CLIPTextEncodeSDXL:
    """Encode separate CLIP-G / CLIP-L prompts with SDXL's size and crop conditioning."""

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "encode"
    CATEGORY = "advanced/conditioning"
    # Where ComfyUI defines it; object_info reports this as python_module.
    RELATIVE_PYTHON_MODULE = "comfy_extras.nodes_clip_sdxl"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "clip": ("CLIP",),
                "width": _int(1024),
                "height": _int(1024),
                "crop_w": _int(0),
                "crop_h": _int(0),
                "target_width": _int(1024),
                "target_height": _int(1024),
                "text_g": ("STRING", {"multiline": True, "dynamicPrompts": True}),
                "text_l": ("STRING", {"multiline": True, "dynamicPrompts": True}),
            }
        }

    def encode(
        self,
        clip: SDXLClip,
        width: int,
        height: int,
        crop_w: int,
        crop_h: int,
        target_width: int,
        target_height: int,
        text_g: str,
        text_l: str,
    ) -> tuple[list[list[Any]]]:
        cond, pooled = clip.encode(text_l, text_g)
        extra = {
            "pooled_output": pooled,
            "width": width,
            "height": height,
            "crop_w": crop_w,
            "crop_h": crop_h,
            "target_width": target_width,
            "target_height": target_height,
        }
        return ([[cond, extra]],)
