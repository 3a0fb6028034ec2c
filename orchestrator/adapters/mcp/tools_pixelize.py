"""`pixelize_image`: turn an existing picture (a file path or base64) into a clean sprite.

A thin call of `Service.pixelize_file` (the pixelize use case the CLI shares: same layout,
same sidecar, same refusals, no backend). Base64 is decoded strictly and size-capped here,
so garbage gets a tool error naming `image_base64`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import anyio
from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from fastmcp.utilities.types import Image
from pydantic import Field

from orchestrator.adapters.mcp.args import Colors, Palette, Size
from orchestrator.adapters.mcp.errors import client_errors
from orchestrator.adapters.mcp.media import decode_base64_image, preview_png
from orchestrator.adapters.mcp.views import PixelizeView, jsonable
from orchestrator.errors import InvalidRequest
from orchestrator.service.pixel_modes import (
    BACKGROUND_MODES,
    DITHER_MODES,
    BackgroundChoice,
    DitherChoice,
)
from orchestrator.service.pixelize_request import PixelizeRequest
from orchestrator.wire.job_view import files_view

if TYPE_CHECKING:
    from orchestrator.service import Service

__all__ = ["register_pixelize_tool"]


def _source(path: str | None, image_base64: str | None) -> Path | bytes:
    if (path is None) == (image_base64 is None):
        raise InvalidRequest(
            "path/image_base64", None, "give exactly one: a file path or base64 image bytes"
        )
    if image_base64 is not None:
        return decode_base64_image(image_base64)
    # Not looked at here: the service decides which files a remote caller may read, and
    # says so without telling whether a file outside those folders exists.
    return Path(str(path))


def register_pixelize_tool(mcp: FastMCP, service: Service) -> None:
    """Add `pixelize_image` to `mcp`."""

    @mcp.tool
    async def pixelize_image(
        path: Annotated[
            str | None,
            Field(
                max_length=4096,
                description="Image file in the server's data dir: palettes/ or outputs/.",
            ),
        ] = None,
        image_base64: Annotated[
            str | None, Field(description="PNG/JPEG/WebP bytes, base64 (or a data: URL).")
        ] = None,
        size: Size = "auto",
        palette: Palette = None,
        colors: Colors = None,
        dither: DitherChoice = DITHER_MODES.default,
        remove_background: BackgroundChoice = BACKGROUND_MODES.default,
        key_color: Annotated[
            str | None,
            Field(max_length=16, description='"#RRGGBB" removed by remove_background="key".'),
        ] = None,
        outline: Annotated[
            bool, Field(description="Add a dark 1-px outline (a colour of the palette).")
        ] = False,
        cleanup: Annotated[bool, Field(description="Remove stray single pixels.")] = False,
    ) -> ToolResult:
        """Turn a picture into a clean, grid-exact, palette-locked sprite (no GPU needed)."""
        with client_errors():
            source = _source(path, image_base64)
            request = PixelizeRequest(
                size=size,
                palette=palette,
                colors=colors,
                dither=dither,
                background=remove_background,
                key_color=key_color,
                outline=outline,
                cleanup=cleanup,
            )
            run = partial(service.pixelize_file, source, request, origin="remote")
            outcome = await anyio.to_thread.run_sync(run)
            files = outcome.files
            view = PixelizeView(
                files=files_view(files),
                width=outcome.size[0],
                height=outcome.size[1],
                report=jsonable(outcome.report),
                qa_warnings=list(outcome.qa_warnings),
            )
            preview = Path(files.preview) if files.preview else None
            image = Image(data=preview_png(Path(files.sprite), preview), format="png")
        text = f"pixelized to {outcome.size[0]}x{outcome.size[1]}: {files.sprite}"
        if outcome.qa_warnings:  # a sprite QA flags is not a clean success
            text += f"\nQA warnings: {'; '.join(outcome.qa_warnings)}"
        return ToolResult(content=[text, image], structured_content=view.model_dump(mode="json"))
