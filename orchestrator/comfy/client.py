"""HTTP client for ComfyUI's API: real ComfyUI servers and the embedded engine alike.

Every call has a timeout; a refused/reset/timed-out connection becomes `BackendUnreachable`,
an answer that is not JSON or not the documented shape becomes `BackendProtocolError`, and
both name the URL. The WebSocket side lives in `ws.py`, the submit-and-wait loop in `run.py`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from orchestrator.comfy.errors import (
    BackendProtocolError,
    BackendUnreachable,
    OutputNotFound,
    PromptRejected,
)
from orchestrator.comfy.models import (
    HistoryEntry,
    QueueState,
    SubmitResult,
    SystemStats,
    UploadResult,
)

if TYPE_CHECKING:
    import requests

__all__ = ["MIN_COMFYUI_VERSION", "ComfyClient"]

# The API facts this client relies on were verified on ComfyUI 0.3.64 (see the API spec).
# Caller-chosen prompt ids and the feature-flags handshake are recent additions, so older
# releases are refused rather than half-working; the floor is conservative, not verified.
MIN_COMFYUI_VERSION: tuple[int, ...] = (0, 3, 40)

logger = logging.getLogger(__name__)


def _queue_ids(items: Any, url: str) -> tuple[str, ...]:
    if not isinstance(items, list):
        raise BackendProtocolError(f"{url} answered a queue list that is not a list", url)
    ids: list[str] = []
    for item in items:
        if not isinstance(item, list) or len(item) < 2:
            raise BackendProtocolError(f"{url} answered a queue item of the wrong shape", url)
        ids.append(str(item[1]))
    return tuple(ids)


def _history_entry(prompt_id: str, entry: Any, url: str) -> HistoryEntry:
    if not isinstance(entry, dict):
        raise BackendProtocolError(f"{url} answered a history entry that is not an object", url)
    outputs = entry.get("outputs", {})
    status = entry.get("status") or {}
    if not isinstance(outputs, dict) or not isinstance(status, dict):
        raise BackendProtocolError(f"{url} answered history outputs/status of the wrong shape", url)
    messages: list[tuple[str, dict[str, Any]]] = []
    for message in status.get("messages") or []:
        if isinstance(message, list) and len(message) == 2 and isinstance(message[0], str):
            messages.append((message[0], message[1] if isinstance(message[1], dict) else {}))
    return HistoryEntry(
        prompt_id=prompt_id,
        outputs={str(k): v for k, v in outputs.items() if isinstance(v, dict)},
        status_str=str(status.get("status_str", "success")),
        completed=bool(status.get("completed", True)),
        messages=messages,
    )


class ComfyClient:
    """Talks to one ComfyUI-compatible backend over HTTP.

    Args:
        base_url: e.g. `http://127.0.0.1:8188` (a trailing slash is ignored).
        timeout: seconds for each HTTP call (connect and read).
    """

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        import requests  # here, not at import: `dgx-pixels pixelize` builds a service, no HTTP

        self._session = requests.Session()
        self._object_info: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"ComfyClient({self.base_url!r})"

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def __enter__(self) -> ComfyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        import requests

        url = f"{self.base_url}{path}"
        try:
            response = self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            raise BackendUnreachable(
                f"{method} {url} timed out after {self.timeout:g} s; is the backend overloaded?",
                url,
            ) from exc
        except requests.ConnectionError as exc:
            raise BackendUnreachable(
                f"cannot reach {url}: {exc.__class__.__name__}; is the backend running there?",
                url,
            ) from exc
        except requests.RequestException as exc:
            raise BackendProtocolError(f"{method} {url} failed: {exc}", url) from exc
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        self._expect_ok(response)
        return self._decode(response)

    @staticmethod
    def _decode(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise BackendProtocolError(
                f"{response.url} answered non-JSON ({response.headers.get('Content-Type')}): "
                f"{response.text[:120]!r}; is this a ComfyUI server?",
                response.url,
            ) from exc

    def _json_object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self._json(method, path, **kwargs)
        if not isinstance(body, dict):
            url = f"{self.base_url}{path}"
            raise BackendProtocolError(f"{url} answered {type(body).__name__}, not an object", url)
        return body

    # --- prompts -----------------------------------------------------------------------------

    def submit(
        self,
        graph: dict[str, Any],
        client_id: str,
        extra_data: dict[str, Any] | None = None,
        front: bool = False,
        prompt_id: str | None = None,
        number: float | None = None,
    ) -> SubmitResult:
        """Queue an API-format graph. Events go to the WebSocket of `client_id`.

        Args:
            graph: API-format graph (`{node_id: {class_type, inputs}}`).
            client_id: the id our event stream connected with.
            extra_data: free dict; `extra_pnginfo.workflow` ends up in the PNGs.
            front: jump the queue.
            prompt_id: our own id instead of the backend's uuid.
            number: explicit priority (lowest runs first).

        Raises:
            PromptRejected: the backend refused the graph (400); nothing was queued.
        """
        body: dict[str, Any] = {"prompt": graph, "client_id": client_id}
        body["extra_data"] = {**(extra_data or {}), "client_id": client_id}
        if front:
            body["front"] = True
        if prompt_id is not None:
            body["prompt_id"] = prompt_id
        if number is not None:
            body["number"] = number
        response = self._request("POST", "/prompt", json=body)
        if response.status_code == 400:
            answer = self._decode(response)
            error = answer.get("error") if isinstance(answer, dict) else None
            node_errors = answer.get("node_errors") if isinstance(answer, dict) else None
            raise PromptRejected(
                error if isinstance(error, dict) else {"message": str(error or answer)},
                node_errors if isinstance(node_errors, dict) else {},
                response.url,
            )
        self._expect_ok(response)
        answer = self._decode(response)
        if not isinstance(answer, dict) or not isinstance(answer.get("prompt_id"), str):
            raise BackendProtocolError(
                f"{response.url} accepted the prompt but sent no prompt_id: {answer!r}",
                response.url,
            )
        logger.debug("submitted prompt %s to %s", answer["prompt_id"], self.base_url)
        return SubmitResult(
            prompt_id=answer["prompt_id"],
            number=float(answer.get("number", 0)),
            node_errors=answer.get("node_errors") or {},
        )

    def history(self, prompt_id: str) -> HistoryEntry | None:
        """The finished prompt's entry, or None while it is queued, running or unknown."""
        body = self._json_object("GET", f"/history/{quote(prompt_id, safe='')}")
        if prompt_id not in body:
            return None
        return _history_entry(prompt_id, body[prompt_id], f"{self.base_url}/history/{prompt_id}")

    def queue(self) -> QueueState:
        """Prompt ids running and pending on the backend."""
        body = self._json_object("GET", "/queue")
        url = f"{self.base_url}/queue"
        return QueueState(
            running=_queue_ids(body.get("queue_running", []), url),
            pending=_queue_ids(body.get("queue_pending", []), url),
        )

    def delete_queued(self, prompt_ids: list[str]) -> None:
        """Drop pending prompts (a running one is untouched: use `interrupt`)."""
        self._expect_ok(self._request("POST", "/queue", json={"delete": prompt_ids}))

    def interrupt(self, prompt_id: str | None = None) -> None:
        """Interrupt the running prompt (only if it is `prompt_id`, when given)."""
        body = {"prompt_id": prompt_id} if prompt_id else {}
        self._expect_ok(self._request("POST", "/interrupt", json=body))

    def free(self, unload_models: bool = True, free_memory: bool = True) -> None:
        """Ask the backend to unload models / drop caches when idle."""
        body = {"unload_models": unload_models, "free_memory": free_memory}
        self._expect_ok(self._request("POST", "/free", json=body))

    @staticmethod
    def _expect_ok(response: requests.Response) -> None:
        if response.status_code != 200:
            raise BackendProtocolError(
                f"{response.request.method} {response.url} answered HTTP "
                f"{response.status_code}: {response.text[:200]!r}",
                response.url,
            )

    # --- files -------------------------------------------------------------------------------

    def view(self, filename: str, subfolder: str = "", type: str = "output") -> bytes:
        """The bytes of an output/input/temp file named in history.

        Raises:
            OutputNotFound: the backend has no such file.
        """
        params = {"filename": filename, "subfolder": subfolder, "type": type}
        response = self._request("GET", "/view", params=params)
        if response.status_code == 404:
            raise OutputNotFound(
                f"{response.url} has no {type} file {filename!r} in subfolder {subfolder!r}",
                response.url,
            )
        self._expect_ok(response)
        return response.content

    def upload_image(
        self,
        image: bytes | Path,
        name: str | None = None,
        subfolder: str = "",
        type: str = "input",
        overwrite: bool = False,
    ) -> UploadResult:
        """Upload an image for LoadImage; returns where the backend stored it."""
        if isinstance(image, Path):
            data, name = image.read_bytes(), name or image.name
        else:
            data = image
        if not name:
            raise ValueError("upload_image needs a name when given bytes")
        form = {"type": type, "subfolder": subfolder, "overwrite": "true" if overwrite else "false"}
        response = self._request("POST", "/upload/image", files={"image": (name, data)}, data=form)
        self._expect_ok(response)
        body = self._decode(response)
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise BackendProtocolError(
                f"{response.url} answered no file name: {body!r}", response.url
            )
        return UploadResult(
            name=body["name"],
            subfolder=str(body.get("subfolder", "")),
            type=str(body.get("type", type)),
        )

    # --- introspection -----------------------------------------------------------------------

    def object_info(self, refresh: bool = False) -> dict[str, Any]:
        """Every node class the backend knows (cached; `refresh=True` re-reads it).

        File combos (checkpoints, LoRAs) are rescanned by the backend on each real call, so
        refresh after adding model files.
        """
        if self._object_info is None or refresh:
            self._object_info = self._json_object("GET", "/object_info")
        return self._object_info

    def system_stats(self, min_version: tuple[int, ...] = MIN_COMFYUI_VERSION) -> SystemStats:
        """Health and version check: raises unless the backend answers like ComfyUI.

        Args:
            min_version: the oldest ComfyUI version accepted.

        Raises:
            BackendProtocolError: not a ComfyUI answer, or a version older than `min_version`.
        """
        body = self._json_object("GET", "/system_stats")
        system = body.get("system")
        devices = body.get("devices", [])
        url = f"{self.base_url}/system_stats"
        if not isinstance(system, dict) or not isinstance(devices, list):
            raise BackendProtocolError(
                f"{url} answered without 'system'/'devices'; is this a ComfyUI server?", url
            )
        stats = SystemStats(
            comfyui_version=str(system.get("comfyui_version", "unknown")),
            python_version=str(system.get("python_version", "")),
            pytorch_version=str(system.get("pytorch_version", "")),
            devices=tuple(d for d in devices if isinstance(d, dict)),
            raw=body,
        )
        if stats.version < min_version:
            wanted = ".".join(map(str, min_version))
            raise BackendProtocolError(
                f"{url} runs ComfyUI {stats.comfyui_version!r}; DGX-Pixels needs {wanted} or "
                "newer (own prompt ids, feature flags, `executing null` after history): update it",
                url,
            )
        return stats

    def models(self, folder: str) -> list[str]:
        """Files the loaders of `folder` see (`checkpoints`, `loras`, ...)."""
        body = self._json("GET", f"/models/{quote(folder, safe='')}")
        if not isinstance(body, list) or not all(isinstance(x, str) for x in body):
            url = f"{self.base_url}/models/{folder}"
            raise BackendProtocolError(f"{url} answered something other than a list of names", url)
        return list(body)
