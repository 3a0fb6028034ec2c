"""`/dgxp/timings/{prompt_id}`: the engine's own timing of one finished prompt.

Not a ComfyUI route (ComfyUI clients never call it, and every ComfyUI route keeps its
shape); the `dgxp` prefix keeps it apart. `bench/e2e.py` reads it to split a job's time
into the engine's stages (per node) and the orchestrator's.
"""

from __future__ import annotations

from aiohttp import web

from engine.server.jsonio import json_response
from engine.server.state import ServerState, client_error

__all__ = ["debug_routes"]


def debug_routes(state: ServerState) -> list[web.RouteDef]:
    """Route definitions bound to `state`."""

    async def get_timings(request: web.Request) -> web.Response:
        """GET /dgxp/timings/{id}: queued/started/executed/history times and node seconds."""
        prompt_id = request.match_info["prompt_id"]
        entry = state.timings.get(prompt_id)
        if entry is None:
            raise client_error(
                404,
                "unknown_prompt",
                "no timings for this prompt",
                f"prompt_id {prompt_id[:80]!r} has not finished on this engine (or was "
                "dropped); ask again once /history/{prompt_id} lists it",
                "prompt_id",
            )
        return json_response(entry)

    return [web.get("/dgxp/timings/{prompt_id}", get_timings)]
