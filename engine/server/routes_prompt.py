"""`/prompt`, `/queue`, `/interrupt`, `/free` and `/history`, as ComfyUI's server.py has them."""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import uuid
from typing import Any

from aiohttp import web

from engine.context import bind_engine_context
from engine.graph.validation import ValidationResult, validate_prompt
from engine.server.body import flag, id_list, optional_id, read_json
from engine.server.jsonio import json_response
from engine.server.queue import QueueItem
from engine.server.state import ServerState, bad_request

__all__ = ["PromptRoutes", "prompt_routes"]

logger = logging.getLogger(__name__)

_SENSITIVE = ("auth_token_comfy_org", "api_key_comfy_org")


def _number(state: ServerState, body: dict[str, Any]) -> float | int:
    if "number" in body:
        try:
            number = float(body["number"])
        except (TypeError, ValueError, OverflowError) as ex:
            raise bad_request(
                "invalid_prompt", "number must be a number", repr(body["number"])[:80], "number"
            ) from ex
        if not math.isfinite(number):  # NaN would break the queue's heap order
            raise bad_request("invalid_prompt", "number must be finite", repr(number), "number")
        return number
    counter = state.next_number()
    return -counter if flag(body, "front") else counter


def _partial_targets(body: dict[str, Any]) -> list[str] | None:
    if body.get("partial_execution_targets") is None:
        return None
    return id_list(body, "partial_execution_targets")


def _extra_data(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    extra = body.get("extra_data", {})
    if not isinstance(extra, dict):
        raise bad_request(
            "invalid_prompt", "extra_data must be a JSON object", repr(extra)[:80], "extra_data"
        )
    extra = dict(extra)
    if "client_id" in body:
        extra["client_id"] = optional_id(body, "client_id")
    sensitive = {key: extra.pop(key) for key in _SENSITIVE if key in extra}
    return extra, sensitive


class PromptRoutes:
    """Handlers over one `ServerState`."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def _validate(self, prompt: dict[str, Any], targets: list[str] | None) -> ValidationResult:
        with bind_engine_context(self.state.context):
            return validate_prompt(
                prompt, self.state.registry, targets, limits=self.state.context.limits
            )

    async def get_prompt(self, request: web.Request) -> web.Response:
        """GET /prompt: `{exec_info: {queue_remaining}}`."""
        return json_response(self.state.queue_info())

    async def post_prompt(self, request: web.Request) -> web.Response:
        """POST /prompt: validate, then queue (200) or ComfyUI's error JSON (400)."""
        body = await read_json(request)
        number = _number(self.state, body)
        if "prompt" not in body:
            raise bad_request("no_prompt", "No prompt provided", "No prompt provided")
        prompt = copy.deepcopy(body["prompt"])
        if not isinstance(prompt, dict):
            raise bad_request(
                "invalid_prompt",
                "prompt must be an API-format object {node_id: {class_type, inputs}}",
                f"got {type(prompt).__name__}",
            )
        prompt_id = optional_id(body, "prompt_id") or str(uuid.uuid4())
        targets = _partial_targets(body)
        extra, sensitive = _extra_data(body)
        # Off the event loop: INPUT_TYPES/VALIDATE_INPUTS may scan folders and read files.
        result = await asyncio.to_thread(self._validate, prompt, targets)
        if not result.ok:
            logger.warning("invalid prompt: %s", result.error)
            return json_response(
                {"error": result.error, "node_errors": result.node_errors}, status=400
            )
        self.state.timings.queued(prompt_id)
        self.state.queue.put(QueueItem(number, prompt_id, prompt, extra, result.outputs, sensitive))
        return json_response(
            {"prompt_id": prompt_id, "number": number, "node_errors": result.node_errors}
        )

    async def get_queue(self, request: web.Request) -> web.Response:
        """GET /queue: running and pending items."""
        running, pending = self.state.queue.current()
        return json_response({"queue_running": running, "queue_pending": pending})

    async def post_queue(self, request: web.Request) -> web.Response:
        """POST /queue: `clear` and/or `delete` pending items."""
        body = await read_json(request)
        clear, delete = flag(body, "clear"), id_list(body, "delete")  # both checked first
        if clear:
            self.state.queue.wipe_queue()
        for prompt_id in delete:
            self.state.queue.delete_pending(prompt_id)
        return web.Response(status=200)

    async def post_interrupt(self, request: web.Request) -> web.Response:
        """POST /interrupt: everything, or only the named running prompt."""
        body = await read_json(request, optional=True)
        prompt_id = optional_id(body, "prompt_id")
        if not prompt_id:
            logger.info("Global interrupt (no prompt_id specified)")
            self.state.executor.interrupt()
        elif prompt_id in self.state.queue.running_ids():
            logger.info("Interrupting prompt %s", prompt_id)
            self.state.executor.interrupt()
        else:
            logger.info("Prompt %s is not currently running, skipping interrupt", prompt_id)
        return web.Response(status=200)

    async def post_free(self, request: web.Request) -> web.Response:
        """POST /free: flag model unloading / cache reset for the idle worker."""
        body = await read_json(request, optional=True)
        unload, free = flag(body, "unload_models"), flag(body, "free_memory")
        if unload:
            self.state.queue.set_flag("unload_models", True)
        if free:
            self.state.queue.set_flag("free_memory", True)
        return web.Response(status=200)

    @staticmethod
    def _int_query(request: web.Request, name: str) -> int | None:
        raw = request.rel_url.query.get(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError as ex:
            raise bad_request("invalid_query", f"{name} must be an integer", raw) from ex

    async def get_history(self, request: web.Request) -> web.Response:
        """GET /history: a window of entries (`max_items`, `offset`)."""
        max_items = self._int_query(request, "max_items")
        offset = self._int_query(request, "offset")
        return json_response(
            self.state.queue.history(max_items=max_items, offset=-1 if offset is None else offset)
        )

    async def get_history_item(self, request: web.Request) -> web.Response:
        """GET /history/{id}: one entry, `{}` while queued or running."""
        return json_response(self.state.queue.history(prompt_id=request.match_info["prompt_id"]))

    async def post_history(self, request: web.Request) -> web.Response:
        """POST /history: `clear` and/or `delete` entries."""
        body = await read_json(request)
        clear, delete = flag(body, "clear"), id_list(body, "delete")  # both checked first
        if clear:
            self.state.queue.wipe_history()
        for prompt_id in delete:
            self.state.queue.delete_history(prompt_id)
        return web.Response(status=200)

    def routes(self) -> list[web.RouteDef]:
        """Route definitions bound to this state."""
        return [
            web.get("/prompt", self.get_prompt),
            web.post("/prompt", self.post_prompt),
            web.get("/queue", self.get_queue),
            web.post("/queue", self.post_queue),
            web.post("/interrupt", self.post_interrupt),
            web.post("/free", self.post_free),
            web.get("/history", self.get_history),
            web.get("/history/{prompt_id}", self.get_history_item),
            web.post("/history", self.post_history),
        ]


def prompt_routes(state: ServerState) -> list[web.RouteDef]:
    """Route definitions bound to `state`."""
    return PromptRoutes(state).routes()
