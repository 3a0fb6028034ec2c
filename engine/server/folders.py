"""Which real file an HTTP request names inside input/, output/ or temp/.

Paths are resolved the way the OS will open them (`os.path.realpath`, symlinks followed)
and must stay inside the folder's own real path. A symlink inside the folder that points
outside it, or a symlinked subfolder, is refused with 403 naming the file. This is stricter
than ComfyUI, which checks the spelled path only (docs/comfyui-compat.md).

Upload names follow ComfyUI's storage: `a/b/c.png` with subfolder `s` is stored at
`s/a/b/c.png`; the reply then names `c.png` in subfolder `s/a/b`, which `/view` serves.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from engine.server.state import client_error

__all__ = ["MAX_NAME_BYTES", "UploadTarget", "inside_real", "real_file", "upload_target"]


# Room for the " (NNN)" a renamed duplicate gets, under the usual NAME_MAX of 255 bytes.
MAX_NAME_BYTES = 240


def _check_spelling(field: str, value: str) -> None:
    """400 for a path part the OS cannot take: a NUL byte or a too-long file name."""
    if "\x00" in value:
        raise client_error(
            400, "invalid_filename", f"{field} contains a NUL byte", f"{field} {value!r}", field
        )
    for part in value.split("/"):
        if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise client_error(
                400,
                "invalid_filename",
                f"{field} has a name longer than {MAX_NAME_BYTES} bytes",
                f"{field} {value[:40]!r}…; use a shorter name",
                field,
            )


def _lexically_inside(base: str, candidate: str) -> bool:
    base = os.path.abspath(base)
    return os.path.commonpath((base, os.path.abspath(candidate))) == base


def inside_real(base: Path, candidate: Path) -> bool:
    """Whether `candidate`, symlinks resolved, is `base` (resolved) or lies under it."""
    real_base = os.path.realpath(base)
    real = os.path.realpath(candidate)
    return real == real_base or real.startswith(real_base.rstrip(os.sep) + os.sep)


def real_file(folder: Path, kind: str, subfolder: str, filename: str) -> Path:
    """The path of `subfolder/filename` inside `folder`, checked through symlinks.

    Args:
        folder: the input/output/temp folder.
        kind: its name (`output`), for messages.
        subfolder: the request's subfolder ("" for none).
        filename: a plain file name (no folders).

    Raises:
        web.HTTPForbidden: the subfolder or the file leads outside `folder`, spelled so
            or through a symlink.
        web.HTTPNotFound: there is no such file.
        web.HTTPBadRequest: a NUL byte or an over-long name.
    """
    _check_spelling("subfolder", subfolder)
    _check_spelling("filename", filename)
    directory = os.path.join(folder, subfolder)
    if not _lexically_inside(str(folder), directory) or not inside_real(folder, Path(directory)):
        raise client_error(
            403,
            "path_outside_folder",
            f"subfolder {subfolder!r} leads outside the {kind} folder",
            f"subfolder {subfolder!r}; name a folder inside {kind}/ (symlinks leading out "
            "are refused)",
            "subfolder",
        )
    file = Path(directory) / filename
    if not inside_real(folder, file):
        raise client_error(
            403,
            "path_outside_folder",
            f"file {filename!r} leads outside the {kind} folder through a symlink",
            f"filename {filename!r} in subfolder {subfolder!r}",
            "filename",
        )
    if not file.is_file():
        raise client_error(
            404, "file_not_found", f"no file {filename!r} in that folder", f"{kind}/{subfolder}"
        )
    return file  # as spelled: a link that stays inside keeps its own name in the reply


@dataclass(frozen=True)
class UploadTarget:
    """Where an upload goes: `folder/name`, replied as `name` in `subfolder`."""

    folder: Path
    name: str
    subfolder: str


def _split_upload_name(subfolder: str, filename: str) -> tuple[str, str]:
    """(reply subfolder, bare name): folders in the filename move into the subfolder."""
    head, name = posixpath.split(filename)
    if name in ("", ".", ".."):
        raise client_error(
            400,
            "invalid_filename",
            f"upload filename {filename!r} names no file",
            f"filename {filename!r}; send a file name such as sprite.png",
            "image",
        )
    if not head:
        return subfolder, name  # ComfyUI replies the subfolder exactly as sent
    return posixpath.normpath(posixpath.join(subfolder, head)), name


def upload_target(folder: Path, kind: str, subfolder: str, filename: str) -> UploadTarget:
    """Where an upload named `filename` into `subfolder` of `folder` is stored.

    Raises:
        web.HTTPBadRequest: the name is empty, `.` or `..`, names an existing folder, or the
            spelled path leaves `folder` (ComfyUI's 400).
        web.HTTPForbidden: the path leaves `folder` through a symlink.
    """
    _check_spelling("subfolder", subfolder)
    _check_spelling("image", filename)
    reply_subfolder, name = _split_upload_name(subfolder, filename)
    directory = os.path.join(folder, os.path.normpath(reply_subfolder or "."))
    if not _lexically_inside(str(folder), os.path.join(directory, name)):
        raise client_error(
            400,
            "path_outside_folder",
            f"subfolder {subfolder!r} or filename {filename!r} escapes {kind}/",
            "name a file and subfolder inside the folder, without '..' or a leading '/'",
            "subfolder",
        )
    target = Path(directory) / name
    if not inside_real(folder, target):
        raise client_error(
            403,
            "path_outside_folder",
            f"upload {filename!r} would be written outside the {kind} folder through a symlink",
            f"subfolder {reply_subfolder!r}, filename {name!r}",
            "subfolder",
        )
    if target.is_dir():
        raise client_error(
            400,
            "invalid_filename",
            f"upload filename {name!r} is an existing folder in {kind}/{reply_subfolder}",
            "send a file name, not a folder name",
            "image",
        )
    return UploadTarget(Path(directory), name, reply_subfolder)
