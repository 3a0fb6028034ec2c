"""The training tools through a real FastMCP client in memory: train_lora queues a run,
training_status follows it to its registered LoRA, list_loras shows the card, and bad
input is a tool error naming the argument while the server keeps serving."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError
from train_testkit import StepTrainer, dataset_dir, stub_models, train_service

from orchestrator.adapters.mcp import build_mcp_server
from orchestrator.service import Service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    models = stub_models(tmp_path / "models")
    (models / "loras").mkdir()
    (models / "loras" / "downloaded.safetensors").write_bytes(b"no card")
    running = train_service(models, tmp_path / "data", StepTrainer(step_s=0.01)).start()
    yield running
    running.stop()


@pytest.fixture
def server(service: Service) -> Any:
    return build_mcp_server(service, service.settings, token="")


async def test_train_lora_then_training_status_then_list_loras_with_its_card(
    tmp_path: Path, server: Any
) -> None:
    dataset_dir(tmp_path / "data" / "datasets" / "knight", trigger="pxlknight")
    async with Client(server) as client:
        queued = await client.call_tool(  # relative: under the data dir
            "train_lora", {"dataset_dir": "datasets/knight", "name": "knight", "steps": 8}
        )
        status = queued.structured_content
        assert status is not None and status["type"] == "training_status"
        assert (status["name"], status["steps"], status["trigger"]) == ("knight", 8, "pxlknight")
        assert status["job"]["kind"] == "train"
        job_id = status["job"]["id"]
        for _ in range(300):
            followed = await client.call_tool("training_status", {"job_id": job_id})
            status = followed.structured_content
            assert status is not None
            if status["job"]["state"] == "succeeded":
                break
            await asyncio.sleep(0.05)
        assert status["job"]["state"] == "succeeded", status["job"]["error"]
        assert [step for step, _ in status["losses"]] == list(range(1, 9))
        assert status["result"]["lora_path"].endswith("knight.safetensors")
        text = followed.content[0].text  # type: ignore[union-attr]
        assert "step 8/8" in text and "LoRA registered at" in text
        listed = (await client.call_tool("list_loras", {})).structured_content
    assert listed is not None
    items = {item["name"]: item for item in listed["items"]}
    assert items["knight.safetensors"]["trigger_words"] == ["pxlknight"]
    assert items["knight.safetensors"]["card"]["spec"]["steps"] == 8
    assert (
        items["downloaded.safetensors"]["card"],
        items["downloaded.safetensors"]["trigger_words"],
    ) == (None, [])


@pytest.mark.parametrize(
    ("prepared", "arguments", "match"),
    [
        (False, {"name": "knight"}, "dataset='.*nowhere': is not a folder"),
        (True, {"name": "../knight"}, "name='../knight'"),
        (True, {"name": "knight", "base": "nope"}, "base='nope': no such checkpoint"),
        (True, {"name": "knight", "base": "/etc/passwd"}, "base='/etc/passwd': remote"),
        (True, {"name": "knight", "steps": 0}, "steps"),
    ],
)
async def test_bad_train_lora_input_is_a_tool_error_naming_the_argument(
    tmp_path: Path,
    server: Any,
    service: Service,
    prepared: bool,
    arguments: dict[str, Any],
    match: str,
) -> None:
    data = tmp_path / "data"
    dataset = dataset_dir(data / "datasets" / "ds") if prepared else data / "nowhere"
    async with Client(server) as client:
        with pytest.raises(ToolError, match=match):
            await client.call_tool("train_lora", {"dataset_dir": str(dataset), **arguments})
        with pytest.raises(ToolError, match=r"job_id=.ffffffff.: no such job"):
            await client.call_tool("training_status", {"job_id": "ffffffff"})
        assert (await client.call_tool("list_loras", {})).structured_content is not None
    assert service.store.count() == 0


async def test_a_dataset_outside_the_data_dir_is_refused_before_it_is_looked_at(
    tmp_path: Path, server: Any, service: Service
) -> None:
    outside = dataset_dir(tmp_path / "elsewhere")
    async with Client(server) as client:
        for path in (str(outside), "../elsewhere", "/etc"):
            with pytest.raises(ToolError, match="remote clients may only name dataset folders"):
                await client.call_tool("train_lora", {"dataset_dir": path, "name": "knight"})
    assert service.store.count() == 0
