"""`get_output`'s `file` (a sheet's GIF, a tileset's tiled preview) and `submit`'s
`add_triggers`, over real sockets: old requests keep their meaning, bad ones are refused
naming the field, and nothing stored changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import zmq
from service_testkit import MakeService
from zmq_helpers import Sockets, StoreService, raw_request

from orchestrator.adapters.zmq.bridge import ZmqBridge, start_bridge
from orchestrator.jobs.models import SpriteFiles
from orchestrator.wire.job_view import IMAGE_FILES, SpriteFilesView


def _reply(frames: list[bytes]) -> dict[str, Any]:
    body: dict[str, Any] = msgpack.unpackb(frames[2])
    return body


def _finished_sheet(store_service: StoreService, dealer: zmq.Socket[Any], tmp: Path) -> str:
    sheet, gif = tmp / "walk.png", tmp / "walk.gif"
    sheet.write_bytes(b"\x89PNG sheet bytes")
    gif.write_bytes(b"GIF89a animation bytes")
    job = _reply(raw_request(dealer, "submit", {"prompt": "knight"}))["result"]["jobs"][0]
    files = SpriteFiles(str(sheet), str(sheet) + ".json", animation=str(gif))
    store_service.run(job["id"], steps=1, sprite=sheet, files=files)
    return str(job["id"])


def test_every_fetchable_file_is_a_sprite_files_field() -> None:
    assert set(IMAGE_FILES) <= set(SpriteFilesView.model_fields)
    assert "sprite" in IMAGE_FILES and "sidecar" not in IMAGE_FILES  # images only


def test_get_output_sends_the_named_file_with_its_mime_and_the_sprite_by_default(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService, tmp_path: Path
) -> None:
    dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    job_id = _finished_sheet(store_service, dealer, tmp_path)
    frames = raw_request(dealer, "get_output", {"job_id": job_id, "file": "animation"})
    result = _reply(frames)["result"]
    assert frames[3] == b"GIF89a animation bytes"
    assert (result["file"], result["mime"]) == ("animation", "image/gif")
    assert result["path"] == str(tmp_path / "walk.gif") and result["png_size"] == len(frames[3])
    plain = raw_request(dealer, "get_output", {"job_id": job_id})  # as a client before `file`
    assert plain[3] == b"\x89PNG sheet bytes"
    assert (_reply(plain)["result"]["file"], _reply(plain)["result"]["mime"]) == (
        "sprite",
        "image/png",
    )


def test_a_file_the_sprite_lacks_is_not_found_naming_it_and_the_job_is_untouched(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService, tmp_path: Path
) -> None:
    dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    job_id = _finished_sheet(store_service, dealer, tmp_path)
    before = store_service.get_job(job_id)
    refused = _reply(raw_request(dealer, "get_output", {"job_id": job_id, "file": "tiled_preview"}))
    assert refused["code"] == "not_found"
    assert "file='tiled_preview'" in refused["message"] and job_id in refused["message"]
    (tmp_path / "walk.gif").unlink()  # recorded but gone from disk: named, no crash
    gone = _reply(raw_request(dealer, "get_output", {"job_id": job_id, "file": "animation"}))
    assert gone["code"] == "not_found" and "walk.gif" in gone["message"]
    assert store_service.get_job(job_id) == before
    assert raw_request(dealer, "ping", {})[1] == b"ok"


def test_an_unknown_file_is_an_invalid_request_naming_the_field(
    bridge: ZmqBridge, sockets: Sockets, store_service: StoreService, tmp_path: Path
) -> None:
    dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
    job_id = _finished_sheet(store_service, dealer, tmp_path)
    for bad in ("sidecar", "../../etc/passwd", 3):
        refused = _reply(raw_request(dealer, "get_output", {"job_id": job_id, "file": bad}))
        assert refused["code"] == "invalid_request" and "file" in refused["message"], refused


def _card(loras: Path, stem: str, *triggers: str) -> None:
    from training.registry import LoraCard

    loras.mkdir(parents=True, exist_ok=True)
    card = LoraCard(name=stem, trigger_words=triggers, backend="kohya")
    (loras / f"{stem}.json").write_text(card.model_dump_json())


def test_submit_add_triggers_false_keeps_the_prompt_and_the_default_adds_them(
    orch_engine: Any, make_service: MakeService, sockets: Sockets, tmp_path: Path
) -> None:
    models = tmp_path / "local-models"
    _card(models / "loras", "tiny_lora", "pxltiny")
    service = make_service(
        [orch_engine.url],
        start=False,
        models_dir=models,
        zmq_router=f"ipc://{tmp_path}/sock/req",
        zmq_pub=f"ipc://{tmp_path}/sock/pub",
    )
    bridge = start_bridge(service, service.settings)
    try:
        dealer = sockets.connect(zmq.DEALER, bridge.router_endpoint)
        body = {"prompt": "a red potion", "loras": [{"name": "tiny_lora"}], "seed": 1}
        for extra, prompt in (({}, "pxltiny, a red potion"), ({"add_triggers": False}, None)):
            reply = _reply(raw_request(dealer, "submit", {**body, **extra}, timeout_ms=20_000))
            assert reply["type"] == "ok", reply
            stored = service.get_job(reply["result"]["jobs"][0]["id"])
            assert stored.params["prompt"] == (prompt or "a red potion")
        bad = _reply(raw_request(dealer, "submit", {**body, "add_triggers": "maybe"}))
        assert bad["code"] == "invalid_request" and "add_triggers" in bad["message"]
        assert len(service.list_jobs()) == 2
    finally:
        bridge.stop()
