"""The device never waits on a prompt's host-side tail (pixelize, PNG encode, file writes).

The real `PromptExecutor` and `PromptWorker` run prompts whose tail is held by a gate: the
next prompt's device nodes run while the previous tail waits, yet histories and final
events keep the queue's order, an `executed` event leaves only once its files exist, and a
failing write is reported for its own prompt while the engine keeps serving.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import requests
import torch
from engine_client import WsClient, run_graph, solid_save_graph

from engine.context import EngineContext, EnginePaths
from engine.graph.executor import PromptExecutor
from engine.graph.plan import split_host_tail
from engine.graph.registry import NodeRegistry
from engine.nodes.image import SaveImage
from engine.runner import RunningEngine
from engine.server.queue import PromptQueue, QueueItem
from engine.server.worker import PromptWorker

TIMEOUT_S = 30.0


class Device:
    """Stands for a sampler: records when it ran."""

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"
    ran: list[str]  # set per test

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"tag": ("STRING", {})}}

    def run(self, tag: str) -> tuple[torch.Tensor]:
        type(self).ran.append(tag)
        return (torch.full((1, 4, 4, 3), 0.5),)


class Gate:
    """A host-side step that waits until the test opens its gate."""

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"
    opened: threading.Event
    entered: threading.Event

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",)}}

    def run(self, image: torch.Tensor) -> tuple[torch.Tensor]:
        type(self).entered.set()
        assert type(self).opened.wait(TIMEOUT_S)
        return (image,)


class _Recorder:
    """An event sink that checks, when an `executed` event is sent, that its files exist."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.missing_files: list[str] = []
        self.lock = threading.Lock()

    def send(self, event: str, data: dict[str, Any], sid: str | None) -> None:
        if event == "executed":
            for image in (data.get("output") or {}).get("images", []):
                if not (self.output / image["subfolder"] / image["filename"]).is_file():
                    self.missing_files.append(image["filename"])
        with self.lock:
            self.events.append((event, data))

    def send_preview(
        self, image: bytes, image_type: str, metadata: dict[str, Any], sid: str | None
    ) -> None:
        pass

    def of(self, event: str) -> list[dict[str, Any]]:
        with self.lock:
            return [data for name, data in self.events if name == event]


def _graph(tag: str) -> dict[str, Any]:
    return {
        "1": {"class_type": "Device", "inputs": {"tag": tag}},
        "2": {"class_type": "Gate", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": tag}},
    }


@pytest.fixture
def gated(tmp_path: Path) -> Any:
    """A real worker whose executor treats Gate and SaveImage as host-side."""
    Device.ran = []
    Gate.opened, Gate.entered = threading.Event(), threading.Event()
    paths = EnginePaths(
        models=tmp_path / "models", input=tmp_path / "in", output=tmp_path / "out",
        temp=tmp_path / "temp",
    )  # fmt: skip
    paths.ensure()
    registry = NodeRegistry({"Device": Device, "Gate": Gate, "SaveImage": SaveImage})
    sink = _Recorder(paths.output)
    executor = PromptExecutor(registry, sink, frozenset({"Gate", "SaveImage"}))
    queue = PromptQueue()
    worker = PromptWorker(queue, executor, sink, EngineContext(paths=paths), lambda: None)
    worker.start()
    yield queue, worker, sink, paths
    Gate.opened.set()
    worker.stop()


def _put(queue: PromptQueue, number: int, tag: str) -> None:
    queue.put(QueueItem(number, tag, _graph(tag), {"client_id": "c"}, ["3"], {}))


def _wait(condition: Any) -> bool:
    done = threading.Event()
    for _ in range(int(TIMEOUT_S / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return False


def test_next_prompt_uses_the_device_while_the_previous_tail_runs(gated: Any) -> None:
    queue, worker, sink, _ = gated
    _put(queue, 0, "first")
    _put(queue, 1, "second")
    assert Gate.entered.wait(TIMEOUT_S)
    # The first prompt's tail holds the gate; the second prompt's device node runs anyway.
    assert _wait(lambda: Device.ran == ["first", "second"])
    assert queue.history() == {}  # nothing is final before its files are written
    Gate.opened.set()
    assert worker.drain(TIMEOUT_S)
    finals = [d["prompt_id"] for d in sink.of("executing") if d["node"] is None]
    assert finals == ["first", "second"]
    assert list(queue.history()) == ["first", "second"]
    assert sink.missing_files == []
    assert [d["output"]["images"][0]["filename"] for d in sink.of("executed")] == [
        "first_00001_.png",
        "second_00001_.png",
    ]


def test_timings_say_when_the_device_was_released(gated: Any) -> None:
    queue, worker, _, _ = gated
    Gate.opened.set()
    _put(queue, 0, "only")
    assert _wait(lambda: "only" in queue.history())
    (entry,) = [worker.timings.get("only")]
    assert entry is not None
    assert entry["started_at"] <= entry["released_at"] <= entry["executed_at"]
    assert [n["class_type"] for n in entry["nodes"]] == ["Device", "Gate", "SaveImage"]


def test_identical_prompt_reuses_the_tail_the_previous_prompt_is_finishing(gated: Any) -> None:
    queue, worker, sink, paths = gated
    queue.put(QueueItem(0, "a", _graph("same"), {"client_id": "c"}, ["3"], {}))
    queue.put(QueueItem(1, "b", _graph("same"), {"client_id": "c"}, ["3"], {}))
    assert Gate.entered.wait(TIMEOUT_S)
    Gate.opened.set()
    assert _wait(lambda: len(queue.history()) == 2) and worker.drain(TIMEOUT_S)
    # "b" equals "a": although its head began before a's tail was done, its Gate and
    # SaveImage are taken from the cache once a's tail finished, as ComfyUI would: one
    # file, and b's `executed` names it again.
    assert [p.name for p in paths.output.iterdir()] == ["same_00001_.png"]
    assert Device.ran == ["same"]
    names = [d["output"]["images"][0]["filename"] for d in sink.of("executed")]
    assert names == ["same_00001_.png", "same_00001_.png"]
    assert all(e["status"]["status_str"] == "success" for e in queue.history().values())


def test_split_keeps_a_host_node_that_feeds_the_device_in_the_head() -> None:
    prompt = {
        "load": {"inputs": {}},
        "sample": {"inputs": {"model": ["load", 0]}},
        "decode": {"inputs": {"samples": ["sample", 0]}},
        "pixelize": {"inputs": {"image": ["decode", 0]}},
        "encode": {"inputs": {"pixels": ["pixelize", 0]}},  # a device node after pixelize
        "save_sprite": {"inputs": {"images": ["pixelize", 0]}},
        "report": {"inputs": {"image": ["pixelize", 0]}},
        "save_raw": {"inputs": {"images": ["decode", 0]}},
    }
    order = list(prompt)
    host = {"pixelize", "save_sprite", "report", "save_raw"}
    head, tail = split_host_tail(prompt, order, lambda n: n in host)
    assert head == ["load", "sample", "decode", "pixelize", "encode"]
    assert tail == ["save_sprite", "report", "save_raw"]
    del prompt["encode"]
    head, tail = split_host_tail(prompt, list(prompt), lambda n: n in host)
    assert head == ["load", "sample", "decode"]
    assert tail == ["pixelize", "save_sprite", "report", "save_raw"]


def test_failing_write_is_reported_for_its_prompt_and_the_engine_keeps_serving(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    output = running_engine.context.paths.output
    (output / "blocked").write_bytes(b"a file where the prefix wants a folder")
    prompt_id, events, entry = run_graph(ws, solid_save_graph(prefix="blocked/sprite"))
    error = next(e["data"] for e in events if e["type"] == "execution_error")
    assert error["node_type"] == "SaveImage"
    assert entry["status"]["status_str"] == "error"
    assert (output / "blocked").read_bytes().startswith(b"a file")  # left as it was
    # The next prompt still runs and writes its file.
    _, _, ok = run_graph(ws, solid_save_graph(prefix="fine/sprite"))
    assert ok["status"]["status_str"] == "success"
    assert (output / "fine" / "sprite_00001_.png").is_file()
    timings = requests.get(f"{running_engine.url}/dgxp/timings/{prompt_id}", timeout=10).json()
    assert timings["released_at"] <= timings["executed_at"]
