"""What a job sends as `extra_data` with its prompt, so its PNGs carry ComfyUI provenance.

ComfyUI's SaveImage writes `extra_data.extra_pnginfo` into every PNG as text chunks next to
the `prompt` (API graph) chunk; the web editor opens a PNG through its `workflow` chunk
(UI format). Sending the UI twin of the rendered graph makes our sprites' raw PNGs open in
the editor like ComfyUI-made ones. The twin is derived from the `/object_info` the graph
was just validated against (never fetched again); converting costs ~0.1 ms, so it is not
cached.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from orchestrator.workflows import WorkflowError, api_to_ui

__all__ = ["submit_extra_data"]

logger = logging.getLogger(__name__)


def submit_extra_data(
    job_id: str, graph: Mapping[str, Any], object_info: Mapping[str, Any]
) -> dict[str, Any]:
    """`extra_data` for POST /prompt: our job id and `extra_pnginfo.workflow`.

    Args:
        job_id: The job the prompt runs (lets a restarted service find its prompts).
        graph: The rendered API-format graph being sent.
        object_info: The backend's `/object_info` the graph was validated against.

    Returns:
        The dict; without `extra_pnginfo` if the graph has no UI twin (the job still runs,
        its PNGs then carry only the `prompt` chunk).
    """
    extra: dict[str, Any] = {"dgxp_job_id": job_id}
    try:
        extra["extra_pnginfo"] = {"workflow": api_to_ui(graph, object_info)}
    except WorkflowError as exc:  # provenance is a nicety: never fail the job over it
        logger.warning("job %s: no UI workflow in its PNGs: %s", job_id[:8], exc)
    return extra
