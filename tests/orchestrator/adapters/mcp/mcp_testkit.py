"""Helpers for the MCP tests (importable: test folders are not packages)."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from PIL import Image

# Small and quick on CPU: the tiny checkpoint, 2 steps, a 64x64 render, an 8x8 sprite.
TINY: dict[str, Any] = {
    "checkpoint": "tiny_sdxl.safetensors",
    "steps": 2,
    "size": "8x8",
    "params": {"width": 64, "height": 64},
}


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its content (to prove nothing changed)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def png_image(data: str | bytes) -> Image.Image:
    """Open PNG bytes (or base64 of them) as a PIL image."""
    raw = base64.b64decode(data) if isinstance(data, str) else data
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image


def checker_png(size: int = 64, cell: int = 8) -> bytes:
    """A two-colour checkerboard of `cell`-px squares: clean pseudo pixel art."""
    image = Image.new("RGBA", (size, size))
    for y in range(size):
        for x in range(size):
            on = (x // cell + y // cell) % 2 == 0
            image.putpixel((x, y), (200, 30, 30, 255) if on else (30, 30, 200, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def post_status(url: str, token: str | None) -> int:
    """HTTP status of a raw JSON-RPC `tools/list` POST with this bearer token (or none)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def forged_post(url: str, token: str | None = None, **headers: str) -> tuple[int, str]:
    """Status and body of an MCP `initialize` POST to `url` (200 when answered) carrying
    these extra headers (`host=`, `origin=`): what a DNS-rebinding web page would send."""
    import requests

    sent = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update({name.title(): value for name, value in headers.items()})
    hello = {"name": "forged", "version": "0"}
    params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": hello}
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    response = requests.post(url, json=body, headers=sent, timeout=10)
    return response.status_code, response.text
