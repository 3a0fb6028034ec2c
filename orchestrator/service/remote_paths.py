"""Which files a remote caller (ZMQ, MCP) may make the service read, decided in one place.

The local CLI runs as the user, so any path the user names is fine. A remote client is
anything that talks to the daemon over a socket; it must not read `~/.ssh/id_rsa` through
a `palette` argument, or learn a line of it from a parse error. So for `origin="remote"`:

- a palette is a built-in name, or a `.gpl`/`.hex` file inside `DATA_DIR/palettes/` or
  the outputs folder (`DATA_DIR/outputs/` by default);
- a picture to pixelize is a file inside one of those folders;
- paths are resolved (links included) before the check; a relative path is looked up in
  those folders in order;
- errors name the argument, the value and the allowed folders, never the file's content.

The adapters only say who is calling (`origin`); `Service` holds the one `PathPolicy`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from orchestrator.errors import InvalidRequest

if TYPE_CHECKING:
    from orchestrator.service.values import GenerationRequest
    from orchestrator.settings import Settings

__all__ = ["REMOTE_PALETTE_SUFFIXES", "Origin", "PathPolicy"]

Origin = Literal["local", "remote"]
"""Who is calling: `local` (the CLI, as the user) or `remote` (a ZMQ or MCP client)."""

REMOTE_PALETTE_SUFFIXES = (".gpl", ".hex")
_KEYWORDS = ("auto", "none")  # template palette keywords, not files
_LINE = re.compile(r":(\d+):")


@dataclass(frozen=True)
class PathPolicy:
    """The folders remote callers may read files from.

    Args:
        folders: Allowed folders, in lookup order for relative paths.
    """

    folders: tuple[Path, ...]

    @classmethod
    def for_settings(cls, settings: Settings) -> PathPolicy:
        """`DATA_DIR/palettes/` and the outputs folder."""
        return cls((settings.data_dir / "palettes", settings.resolved_output_dir))

    def _where(self, suffixes: tuple[str, ...] = ()) -> str:
        kinds = "/".join(suffixes) + " files" if suffixes else "files"
        folders = " or ".join(str(f) for f in self.folders)
        return f"remote clients may only name {kinds} under {folders}"

    def file(self, field: str, value: str | Path, suffixes: tuple[str, ...] = ()) -> Path:
        """The real path of `value` when it is an existing file in an allowed folder.

        Raises:
            InvalidRequest: Outside the folders (links resolved), missing, or a wrong suffix;
                naming `field`, the value and the allowed folders.
        """
        given = Path(value).expanduser()
        candidates = [given] if given.is_absolute() else [f / given for f in self.folders]
        for candidate in candidates:
            real = candidate.resolve()
            inside = any(real.is_relative_to(f.resolve()) for f in self.folders)
            if inside and real.is_file():
                if suffixes and real.suffix.lower() not in suffixes:
                    raise InvalidRequest(field, str(value), self._where(suffixes))
                return real
        raise InvalidRequest(
            field, str(value), f"is not an existing file there; {self._where(suffixes)}"
        )

    def palette(self, value: str | None, origin: Origin, field: str = "palette") -> str | None:
        """The palette value to use: unchanged for local callers, built-in names and the
        template keywords; for a remote file, its checked real path (read once here so that
        a malformed file is refused without quoting it).

        Raises:
            InvalidRequest: Unknown built-in name (listing the valid ones), or a file a
                remote caller may not name or that is not a palette.
        """
        if origin == "local" or value is None or not isinstance(value, str):
            return value
        from comfy_nodes.pixel.palettes_builtin import builtin_palette, builtin_palette_names

        names = {n.lower() for n in builtin_palette_names()}
        if value.lower() in names or value.lower() in _KEYWORDS:
            return value
        looks_like_file = "/" in value or "\\" in value or Path(value).suffix != ""
        if not looks_like_file:  # never a file in the daemon's working directory
            try:
                builtin_palette(value)
            except ValueError as exc:
                raise InvalidRequest(field, value, str(exc)) from exc
            return value
        real = self.file(field, value, REMOTE_PALETTE_SUFFIXES)
        _load_quietly(field, value, real)
        return str(real)

    def request(self, request: GenerationRequest, origin: Origin) -> GenerationRequest:
        """`request` with its palettes (the typed field and `params["palette"]`) checked."""
        if origin == "local":
            return request
        params = self.params(request.params, origin) or request.params
        return replace(request, palette=self.palette(request.palette, origin), params=params)

    def params(self, params: Mapping[str, Any] | None, origin: Origin) -> Mapping[str, Any] | None:
        """Template parameters with `palette` checked (for compare)."""
        if origin == "local" or not isinstance(params, Mapping) or "palette" not in params:
            return params
        return {**params, "palette": self.palette(params["palette"], origin, "params.palette")}

    def source(self, source: Path | str | bytes, origin: Origin) -> Path | str | bytes:
        """A picture to pixelize: bytes pass; a remote path must be an allowed file."""
        if origin == "local" or isinstance(source, bytes):
            return source
        return self.file("path", source)


def _load_quietly(field: str, value: str, real: Path) -> None:
    """Parse the palette file; on failure say where, never what the file holds."""
    from comfy_nodes.pixel.palette import resolve_palette

    try:
        resolve_palette(real)
    except (ValueError, OSError) as exc:
        line = _LINE.search(str(exc))
        where = f" (line {line.group(1)})" if line else ""
        raise InvalidRequest(
            field,
            value,
            f"is not a valid {real.suffix} palette file{where}; its content is not shown "
            "to remote clients: check the file on the server",
        ) from exc
