"""`/view`, `/upload/image` and `/upload/mask` with ComfyUI's path rules.

`/view`: a leading `/` or any `..` in the filename is a 400, a subfolder escaping the type
folder a 403, a missing file a 404. Uploads: a name or subfolder escaping the folder is a
400; identical bytes under an existing name keep the name (sha256); different bytes get
`name (1).ext`; bodies over the limit are refused with 413 by aiohttp itself.

Stricter than ComfyUI: paths are resolved through symlinks and must stay inside their
folder (403 otherwise), an upload named `.`, `..` or like an existing folder is a 400, and
errors are JSON naming the file (`engine.server.folders`).
"""

from __future__ import annotations

import hashlib
import io
import json
import mimetypes
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from comfy_nodes.pixel.atomic import write_atomic
from engine.server.folders import inside_real, real_file, upload_target
from engine.server.state import ServerState, bad_request

__all__ = ["FileRoutes", "file_routes"]

_ANNOTATIONS = {" [output]": "output", " [input]": "input", " [temp]": "temp"}
_DOWNLOAD_ONLY = {
    "text/html",
    "text/html-sandboxed",
    "application/xhtml+xml",
    "text/javascript",
    "text/css",
}


def _image_response(image: Image.Image, fmt: str, filename: str, **save: Any) -> web.Response:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt.upper(), **save)
    return web.Response(
        body=buffer.getvalue(),
        content_type=f"image/{fmt}",
        headers={"Content-Disposition": f'filename="{filename}"'},
    )


def _preview(file: Path, filename: str, preview: str, channel: str) -> web.Response:
    parts = preview.split(";")
    fmt = parts[0] if parts[0] in ("webp", "jpeg") and "a" not in channel else "webp"
    quality = int(parts[-1]) if parts[-1].isdigit() else 90
    with Image.open(file) as img:
        out = img.convert("RGB") if fmt == "jpeg" or channel == "rgb" else img.copy()
    return _image_response(out, fmt, filename, quality=quality)


def _channel(file: Path, filename: str, channel: str) -> web.Response:
    with Image.open(file) as img:
        if channel == "rgb":
            return _image_response(img.convert("RGB"), "png", filename)
        alpha = img.getchannel("A") if img.mode == "RGBA" else Image.new("L", img.size, 255)
        alpha_image = Image.new("RGBA", img.size)
        alpha_image.putalpha(alpha)
        return _image_response(alpha_image, "png", filename)


async def _read_form(request: web.Request) -> Any:
    """The multipart form; a clear 400 when it is malformed (bad boundary, headers, text)."""
    try:
        return await request.post()
    except (ValueError, HttpProcessingError) as ex:  # 413 is an HTTPException: passes
        raise bad_request(
            "invalid_form",
            "Request body is not a valid multipart form",
            f"{type(ex).__name__}: {str(ex)[:80]}; send multipart/form-data with an 'image' file",
        ) from ex


class FileRoutes:
    """Handlers over one `ServerState`'s input/output/temp folders."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def folder(self, kind: str | None) -> Path | None:
        """The input/output/temp folder named by `kind`, or None."""
        paths = self.state.context.paths
        return {"input": paths.input, "output": paths.output, "temp": paths.temp}.get(kind or "")

    def _resolve_view(self, request: web.Request) -> Path:
        query = request.rel_url.query
        if "filename" not in query:
            raise web.HTTPNotFound()
        filename, folder_kind = query["filename"], None
        for suffix, kind in _ANNOTATIONS.items():
            if filename.endswith(suffix):
                filename, folder_kind = filename[: -len(suffix)], kind
                break
        if not filename or filename[0] == "/" or ".." in filename:
            raise bad_request(
                "invalid_filename",
                f"filename {filename!r} is not allowed",
                "no leading '/', no '..'; pass folders in `subfolder`",
                "filename",
            )
        folder_name = folder_kind or query.get("type") or "output"
        folder = self.folder(folder_name)
        if folder is None:
            raise bad_request(
                "invalid_type",
                f"type {folder_name!r} is not one of output, input, temp",
                "",
                "type",
            )
        return real_file(
            folder, folder_name, query.get("subfolder", ""), os.path.basename(filename)
        )

    async def view(self, request: web.Request) -> web.StreamResponse:
        """GET /view: a stored file, optionally re-encoded or one channel."""
        file = self._resolve_view(request)
        query = request.rel_url.query
        channel = query.get("channel", "rgba")
        try:
            if "preview" in query:
                return _preview(file, file.name, query["preview"], query.get("channel", ""))
            if channel in ("rgb", "a"):
                return _channel(file, file.name, channel)
        except OSError as ex:
            raise bad_request(
                "invalid_image", f"{file.name} is not a readable image", str(ex), "filename"
            ) from ex
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type in _DOWNLOAD_ONLY:
            content_type = "application/octet-stream"
        headers = {"Content-Disposition": f'filename="{file.name}"', "Content-Type": content_type}
        return web.FileResponse(file, headers=headers)

    async def upload_image(self, request: web.Request) -> web.Response:
        """POST /upload/image: store a multipart image."""
        post = await _read_form(request)
        return self._upload(post, None)

    async def upload_mask(self, request: web.Request) -> web.Response:
        """POST /upload/mask: store `original_ref` with the mask's alpha."""
        post = await _read_form(request)
        return self._upload(post, self._mask_saver(post))

    def _mask_saver(self, post: Any) -> Callable[[bytes, Path], None]:
        try:
            original = json.loads(str(post.get("original_ref", "")))
        except (json.JSONDecodeError, RecursionError) as ex:
            raise bad_request(
                "invalid_json", "original_ref is not JSON", str(ex)[:80], "original_ref"
            ) from ex
        if not isinstance(original, dict):
            raise bad_request(
                "invalid_json", "original_ref must be a JSON object", "", "original_ref"
            )
        name = str(original.get("filename", ""))
        if not name or name[0] == "/" or ".." in name:
            raise bad_request(
                "invalid_filename",
                f"original_ref filename {name!r} is not allowed",
                "",
                "original_ref",
            )
        kind = str(original.get("type", "output"))
        folder = self.folder(kind)
        if folder is None:
            raise bad_request(
                "invalid_type",
                "original_ref type must be output, input or temp",
                kind,
                "original_ref",
            )
        source = real_file(folder, kind, str(original.get("subfolder", "") or ""), name)

        def save(data: bytes, target: Path) -> None:
            """Write the original image with the uploaded mask's alpha to `target`."""
            with Image.open(source) as original_image:
                metadata = PngInfo()
                for key, value in getattr(original_image, "text", {}).items():
                    metadata.add_text(key, value)
                rgba = original_image.convert("RGBA")
            with Image.open(io.BytesIO(data)) as mask:
                rgba.putalpha(mask.convert("RGBA").getchannel("A"))
            buffer = io.BytesIO()
            rgba.save(buffer, format="PNG", compress_level=4, pnginfo=metadata)
            write_atomic(target, buffer.getvalue())

        return save

    def _upload(self, post: Any, saver: Callable[[bytes, Path], None] | None) -> web.Response:
        image = post.get("image")
        if image is None or not hasattr(image, "file"):
            raise bad_request("missing_file", "multipart field 'image' (a file) is required")
        upload_type = str(post.get("type") or "input")
        folder = self.folder(upload_type)
        if folder is None:
            raise bad_request(
                "invalid_type",
                f"type {upload_type!r} is not one of input, temp, output",
                "",
                "type",
            )
        if not image.filename:
            raise bad_request("invalid_filename", "the uploaded file has no filename", "", "image")
        target = upload_target(folder, upload_type, str(post.get("subfolder", "")), image.filename)
        data = image.file.read()
        name = self._store(
            data, target.folder, target.name, post.get("overwrite") in ("true", "1"), saver
        )
        return web.json_response({"name": name, "subfolder": target.subfolder, "type": upload_type})

    @staticmethod
    def _store(
        data: bytes,
        folder: Path,
        filename: str,
        overwrite: bool,
        saver: Callable[[bytes, Path], None] | None,
    ) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        stem, suffix = os.path.splitext(filename)
        target = folder / filename
        digest = hashlib.sha256(data).hexdigest()
        counter = 1
        while not overwrite and (target.exists() or target.is_symlink()):
            # Only a regular file inside the folder is read; anything else just takes a number.
            regular = target.is_file() and inside_real(folder, target)
            if regular and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
                return target.name  # the same bytes are already there: keep the name
            target = folder / f"{stem} ({counter}){suffix}"
            counter += 1
        if saver is not None:
            try:
                saver(data, target)
            except OSError as ex:
                raise bad_request(
                    "invalid_image", "the uploaded mask is not a readable image", str(ex), "image"
                ) from ex
        else:
            write_atomic(target, data)
        return target.name

    def routes(self) -> list[web.RouteDef]:
        """Route definitions of these handlers."""
        return [
            web.get("/view", self.view),
            web.post("/upload/image", self.upload_image),
            web.post("/upload/mask", self.upload_mask),
        ]


def file_routes(state: ServerState) -> list[web.RouteDef]:
    """Route definitions bound to `state`."""
    return FileRoutes(state).routes()
