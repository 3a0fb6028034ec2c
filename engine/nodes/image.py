"""Core image nodes with ComfyUI's names, inputs, defaults and ranges.

LoadImage, SaveImage, PreviewImage, ImageScale, ImageScaleBy, ImageBatch (ComfyUI
`nodes.py`) and JoinImageWithAlpha (`comfy_extras/nodes_compositing.py`). IMAGE is float32
`[B, H, W, C]` in 0..1; MASK is float32 `[B, H, W]` with 1 = transparent. Folders come from
the bound `engine.context.engine_context()`. The resizing and batching nodes live in
`image_transform`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PIL import Image, ImageOps, ImageSequence
from PIL.PngImagePlugin import PngInfo

from comfy_nodes.pixel.atomic import write_atomic
from engine.context import engine_context, engine_limits
from engine.errors import EngineError, LimitExceeded
from engine.nodes.image_transform import (
    ImageBatch,
    ImageScale,
    ImageScaleBy,
    JoinImageWithAlpha,
    to_pil,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "NODE_CLASS_MAPPINGS",
    "NODE_DISPLAY_NAME_MAPPINGS",
    "ImageBatch",
    "ImageScale",
    "ImageScaleBy",
    "JoinImageWithAlpha",
    "LoadImage",
    "PreviewImage",
    "SaveImage",
    "annotated_filepath",
    "check_image_pixels",
    "save_image_path",
]

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def _inside(base: Path, candidate: Path) -> bool:
    base_abs = os.path.abspath(base)
    return os.path.commonpath((base_abs, os.path.abspath(candidate))) == base_abs


def annotated_filepath(name: str) -> Path:
    """Path of an input file named like ComfyUI does (`sub/x.png`, `x.png [output]`).

    Raises:
        EngineError: the name escapes its folder.
    """
    paths = engine_context().paths
    base = paths.input
    for suffix, folder in (
        (" [output]", paths.output),
        (" [input]", paths.input),
        (" [temp]", paths.temp),
    ):
        if name.endswith(suffix):
            name, base = name[: -len(suffix)], folder
            break
    candidate = base / name
    if not _inside(base, candidate):
        raise EngineError(f"image {name!r} is outside the {base} folder; name a file inside it")
    return candidate


def check_image_pixels(path: Path, name: str) -> None:
    """Refuse a file whose frames hold more pixels than the engine's cap.

    Reads the header only, so a huge file is refused before it is decoded.

    Raises:
        LimitExceeded: width × height × frames is over `max_pixels`, or PIL itself calls
            the file a decompression bomb.
        OSError: the file is not a readable image.
    """
    what = f"LoadImage image {name!r}"
    try:
        with Image.open(path) as img:
            (width, height), frames = img.size, getattr(img, "n_frames", 1)
    except Image.DecompressionBombError as ex:
        raise LimitExceeded(
            f"{what}: {ex}; the engine's cap is {engine_limits().max_pixels:,} pixels "
            "(max_pixels, `engine serve --max-pixels`)"
        ) from ex
    engine_limits().check_pixels(width, height, frames, what)


class LoadImage:
    """Load an image from input/ as IMAGE (RGB) and MASK (1 − alpha)."""

    CATEGORY = "image"
    RETURN_TYPES = ("IMAGE", "MASK")
    FUNCTION = "load_image"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        folder = engine_context().paths.input
        files = []
        if folder.is_dir():
            files = [
                p.name
                for p in folder.iterdir()
                if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES
            ]
        return {"required": {"image": (sorted(files), {"image_upload": True})}}

    def load_image(self, image: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames of the file as IMAGE `[B,H,W,3]` and MASK `[B,H,W]`."""
        import torch

        path = annotated_filepath(image)
        check_image_pixels(path, image)
        with Image.open(path) as img:
            frames, masks = [], []
            size = None
            for frame in ImageSequence.Iterator(img):
                frame = ImageOps.exif_transpose(frame)
                if frame.mode == "I":
                    frame = frame.point(lambda v: v * (1 / 255))
                rgb = frame.convert("RGB")
                size = size or rgb.size
                if rgb.size != size:
                    continue
                frames.append(torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0)[None,])
                masks.append(_mask_of(frame).unsqueeze(0))
            if len(frames) > 1 and img.format != "MPO":
                return torch.cat(frames, dim=0), torch.cat(masks, dim=0)
        return frames[0], masks[0]

    @classmethod
    def IS_CHANGED(cls, image: str) -> str:
        """The file's sha256, so an overwritten upload re-runs the node."""
        return hashlib.sha256(annotated_filepath(image).read_bytes()).hexdigest()

    @classmethod
    def VALIDATE_INPUTS(cls, image: str) -> bool | str:
        """Accept any existing file under input/ (sub/dir names too) within the pixel cap."""
        try:
            path = annotated_filepath(image)
            if not path.is_file():
                return f"Invalid image file: {image}"
            check_image_pixels(path, image)
        except LimitExceeded as ex:
            return str(ex)
        except EngineError:
            return f"Invalid image file: {image}"
        except OSError:
            pass  # not an image: reported when the node runs, as ComfyUI does
        return True


def _mask_of(frame: Image.Image) -> torch.Tensor:
    import torch

    if "A" in frame.getbands():
        alpha = np.asarray(frame.getchannel("A"), dtype=np.float32) / 255.0
        return 1.0 - torch.from_numpy(alpha)
    if frame.mode == "P" and "transparency" in frame.info:
        alpha = np.asarray(frame.convert("RGBA").getchannel("A"), dtype=np.float32) / 255.0
        return 1.0 - torch.from_numpy(alpha)
    return torch.zeros((64, 64), dtype=torch.float32)


def save_image_path(
    prefix: str, output_dir: Path, width: int, height: int
) -> tuple[Path, str, int, str]:
    """Folder, file stem, next counter and subfolder for `prefix` (ComfyUI's rules).

    The counter continues after the highest `<stem>_NNNNN_` already in the folder.

    Raises:
        EngineError: the prefix would write outside `output_dir`.
    """
    if "%" in prefix:
        now = time.localtime()
        for key, value in (
            ("%width%", str(width)),
            ("%height%", str(height)),
            ("%year%", str(now.tm_year)),
            ("%month%", f"{now.tm_mon:02d}"),
            ("%day%", f"{now.tm_mday:02d}"),
            ("%hour%", f"{now.tm_hour:02d}"),
            ("%minute%", f"{now.tm_min:02d}"),
            ("%second%", f"{now.tm_sec:02d}"),
        ):
            prefix = prefix.replace(key, value)
    normalized = os.path.normpath(prefix)
    subfolder, stem = os.path.dirname(normalized), os.path.basename(normalized)
    folder = output_dir / subfolder
    if not _inside(output_dir, folder):
        raise EngineError(
            f"filename_prefix {prefix!r} would save outside the output folder {output_dir}; "
            "use a relative prefix such as 'sprites/hero'"
        )
    folder.mkdir(parents=True, exist_ok=True)
    counter = 1
    for entry in os.listdir(folder):
        head, number = entry[: len(stem) + 1], entry[len(stem) + 1 :].split("_")[0]
        if os.path.normcase(head[:-1]) == os.path.normcase(stem) and head[-1:] == "_":
            counter = max(counter, (int(number) if number.isdigit() else 0) + 1)
    return folder, stem, counter, subfolder


class SaveImage:
    """Save images to output/ as PNG with the prompt and workflow embedded."""

    CATEGORY = "image"
    RETURN_TYPES = ()
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    DESCRIPTION = "Saves the input images to your ComfyUI output directory."
    kind: ClassVar[str] = "output"
    compress_level: ClassVar[int] = 4

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The images to save."}),
                "filename_prefix": (
                    "STRING",
                    {
                        "default": "ComfyUI",
                        "tooltip": "The prefix for the file to save. This may include formatting "
                        "information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to "
                        "include values from nodes.",
                    },
                ),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    def _output_dir(self) -> Path:
        return engine_context().paths.output

    def _prefix(self, prefix: str) -> str:
        return prefix

    def save_images(
        self,
        images: torch.Tensor,
        filename_prefix: str = "ComfyUI",
        prompt: dict[str, Any] | None = None,
        extra_pnginfo: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write each image as PNG and return ComfyUI's `ui.images` list (batch order).

        The images of a batch are encoded and written in parallel (zlib releases the GIL):
        a batch of 1024² renders costs about one encode, not one per image.
        """
        output_dir = self._output_dir()
        folder, stem, counter, subfolder = save_image_path(
            self._prefix(filename_prefix), output_dir, images[0].shape[1], images[0].shape[0]
        )
        metadata = PngInfo()
        if prompt is not None:
            metadata.add_text("prompt", json.dumps(prompt))
        for key, value in (extra_pnginfo or {}).items():
            metadata.add_text(key, json.dumps(value))
        names = [
            f"{stem.replace('%batch_num%', str(number))}_{counter + number:05}_.png"
            for number in range(len(images))
        ]

        def write(number: int) -> None:
            buffer = io.BytesIO()
            to_pil(images[number]).save(
                buffer, format="PNG", pnginfo=metadata, compress_level=self.compress_level
            )
            # Whole files only: the orchestrator may fetch /view the moment it sees the name.
            write_atomic(folder / names[number], buffer.getvalue())

        workers = min(len(images), os.cpu_count() or 1)
        if workers <= 1:
            for number in range(len(images)):
                write(number)
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="dgxp-png") as pool:
                list(pool.map(write, range(len(images))))  # re-raises the first failure
        results = [{"filename": n, "subfolder": subfolder, "type": self.kind} for n in names]
        return {"ui": {"images": results}}


class PreviewImage(SaveImage):
    """Save images to temp/ for a quick look (`ComfyUI_temp_xxxxx_00001_.png`)."""

    DESCRIPTION = "Saves the input images to the temp directory for previewing."
    kind: ClassVar[str] = "temp"
    compress_level: ClassVar[int] = 1

    def __init__(self) -> None:
        self.prefix_append = "_temp_" + "".join(
            random.choice("abcdefghijklmnopqrstupvxyz") for _ in range(5)
        )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {"images": ("IMAGE",)},
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    def _output_dir(self) -> Path:
        return engine_context().paths.temp

    def _prefix(self, prefix: str) -> str:
        return prefix + self.prefix_append


NODE_CLASS_MAPPINGS: dict[str, type] = {
    "LoadImage": LoadImage,
    "SaveImage": SaveImage,
    "PreviewImage": PreviewImage,
    "ImageScale": ImageScale,
    "ImageScaleBy": ImageScaleBy,
    "ImageBatch": ImageBatch,
    "JoinImageWithAlpha": JoinImageWithAlpha,
}

NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {
    "LoadImage": "Load Image",
    "SaveImage": "Save Image",
    "PreviewImage": "Preview Image",
    "ImageScale": "Upscale Image",
    "ImageScaleBy": "Upscale Image By",
    "ImageBatch": "Batch Images",
    "JoinImageWithAlpha": "Join Image with Alpha",
}
