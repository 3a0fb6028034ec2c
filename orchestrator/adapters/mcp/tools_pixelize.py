"""`pixelize_image`: turn an existing picture (a file path or base64) into a clean sprite.

Runs locally through `Service.pixelize_file` (no backend). Base64 is decoded strictly and
size-capped here, so garbage gets a tool error naming `image_base64`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import anyio
from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from fastmcp.utilities.types import Image
from pydantic import Field

from comfy_nodes.pixel.palette import resolve_palette
from comfy_nodes.pixel.pipeline import PixelizeOptions
from orchestrator.adapters.mcp.args import Colors, Palette, Size, size_arg
from orchestrator.adapters.mcp.errors import client_errors
from orchestrator.adapters.mcp.media import MAX_SOURCE_BYTES, decode_base64_image, preview_png
from orchestrator.adapters.mcp.views import PixelizeView, files_view, jsonable
from orchestrator.errors import InvalidRequest

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["pixelize_options", "register_pixelize_tool"]

Dither = Literal["none", "floyd-steinberg", "bayer-2", "bayer-4", "bayer-8"]
Background = Literal["auto", "border", "none"]


def pixelize_options(
    size: tuple[int, int] | None,
    palette: str | None,
    colors: int | None,
    dither: str,
    remove_background: str,
    outline: bool,
    cleanup: bool = False,
) -> PixelizeOptions:
    """The pixel core's options from the tool's arguments (palette names resolved here)."""
    return PixelizeOptions(
        size=size,
        palette=resolve_palette(palette) if palette else None,
        n_colors=colors or 16,
        dither=dither,
        remove_background=remove_background,
        cleanup=cleanup,
        outline=outline,
    )


def _source(path: str | None, image_base64: str | None) -> Path | bytes:
    if (path is None) == (image_base64 is None):
        raise InvalidRequest(
            "path/image_base64", None, "give exactly one: a file path or base64 image bytes"
        )
    if image_base64 is not None:
        return decode_base64_image(image_base64)
    file = Path(str(path)).expanduser()
    if not file.is_file():
        raise InvalidRequest("path", str(path), "is not an existing image file on the server")
    if file.stat().st_size > MAX_SOURCE_BYTES:
        raise InvalidRequest("path", str(path), f"is over the limit of {MAX_SOURCE_BYTES} bytes")
    return file


def register_pixelize_tool(mcp: FastMCP, service: Service) -> None:
    """Add `pixelize_image` to `mcp`."""

    @mcp.tool
    async def pixelize_image(
        path: Annotated[
            str | None, Field(max_length=4096, description="Image file on the server's machine.")
        ] = None,
        image_base64: Annotated[
            str | None, Field(description="PNG/JPEG/WebP bytes, base64 (or a data: URL).")
        ] = None,
        size: Size = "auto",
        palette: Palette = None,
        colors: Colors = None,
        dither: Dither = "none",
        remove_background: Background = "auto",
        outline: Annotated[bool, Field(description="Add a dark 1-px outline.")] = False,
        cleanup: Annotated[bool, Field(description="Remove stray single pixels.")] = False,
    ) -> ToolResult:
        """Turn a picture into a clean, grid-exact, palette-locked sprite (no GPU needed)."""
        with client_errors():
            source = _source(path, image_base64)
            options = pixelize_options(
                size_arg(size), palette, colors, dither, remove_background, outline, cleanup
            )
            outcome = await anyio.to_thread.run_sync(service.pixelize_file, source, options)
            files = outcome.files
            view = PixelizeView(
                files=files_view(files),
                width=outcome.size[0],
                height=outcome.size[1],
                report=jsonable(outcome.report),
            )
            preview = Path(files.preview) if files.preview else None
            image = Image(data=preview_png(Path(files.sprite), preview), format="png")
        text = f"pixelized to {outcome.size[0]}x{outcome.size[1]}: {files.sprite}"
        return ToolResult(content=[text, image], structured_content=view.model_dump(mode="json"))
