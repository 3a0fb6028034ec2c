"""What the TUI shows of a finished job, fetched over ZeroMQ: an animation sheet plays, a
tileset or autotile set is shown tiled, anything else is its sprite.

The job's `files` say which images it has (`SpriteFilesView.animation`, `.tiled_preview`);
each comes through `get_output` with `file=` naming it. A daemon from before `file` answers
with the sprite (its reply's `file` says so), and a missing or unreadable extra image
leaves the sprite: the gallery never loses a picture to its animation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from orchestrator.adapters.tui.daemon_client import DaemonClient
from orchestrator.adapters.tui.errors import TuiError
from orchestrator.adapters.tui.flipbook import Flipbook, decode_animation
from orchestrator.wire.job_view import ImageFile
from orchestrator.wire.zmq_protocol import GetOutputRequest, OutputResult, WireJob

__all__ = ["JobMedia", "fetch_media"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobMedia:
    """A finished job's pictures for the gallery and preview.

    Attributes:
        still: The image bytes its thumbnail and still preview show (a tileset's tiled
            preview, else the sprite or sheet).
        animation: An animation sheet's frames, played in the preview; None otherwise.
    """

    still: bytes
    animation: Flipbook | None = None


async def _image(client: DaemonClient, job: WireJob, file: ImageFile) -> bytes | None:
    try:
        result, data = await client.request(GetOutputRequest(job_id=job.id, file=file))
    except TuiError as exc:
        logger.info("no %s for job %s: %s", file, job.id, exc)
        return None
    if not isinstance(result, OutputResult) or result.file != file:  # an older daemon
        return None
    return data


async def fetch_media(client: DaemonClient, job: WireJob) -> JobMedia | None:
    """The job's pictures, or None when its sprite cannot be fetched (not written yet,
    gone from the daemon's disk, or the daemon not answering: the sync worker notices)."""
    sprite = await _image(client, job, "sprite")
    if sprite is None:
        return None
    files = job.files[0] if job.files else None
    if files is not None and files.tiled_preview:
        tiled = await _image(client, job, "tiled_preview")
        return JobMedia(tiled or sprite)
    if files is not None and files.animation:
        gif = await _image(client, job, "animation")
        try:
            return JobMedia(sprite, decode_animation(gif) if gif else None)
        except ValueError as exc:
            logger.info("job %s: its animation cannot be played: %s", job.id, exc)
    return JobMedia(sprite)
