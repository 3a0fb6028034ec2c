"""Remote callers (here: real ZMQ sockets to the daemon's bridge over the real service) may
name built-in palettes or .gpl/.hex files in the data dir's palettes/ and outputs/ only;
anything else is refused naming the allowed folders, and no error quotes a file's content.
The local caller (the CLI, as the user) keeps any path. MCP: adapters/mcp/test_mcp_remote_paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from PIL import Image
from zmq_helpers import Sockets, raw_request

from orchestrator.adapters.zmq.bridge import ZmqBridge
from orchestrator.errors import InvalidRequest
from orchestrator.service import Service
from orchestrator.service.pixelize_request import PixelizeRequest
from orchestrator.service.remote_paths import PathPolicy

FAST = {"steps": 2, "width": 64, "height": 64, "checkpoint": "tiny_sdxl.safetensors"}
SECRET = "TOPSECRET-do-not-echo"


@pytest.fixture
def dealer(real_bridge: ZmqBridge) -> Iterator[zmq.Socket[Any]]:
    sockets = Sockets()
    yield sockets.connect(zmq.DEALER, real_bridge.router_endpoint)
    sockets.close()


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the data dir whose first line a palette parser would quote."""
    path = tmp_path / "outside" / "secret.hex"
    path.parent.mkdir()
    path.write_text(f"{SECRET}\n")
    return path


def _submit(dealer: zmq.Socket[Any], **body: Any) -> dict[str, Any]:
    frames = raw_request(dealer, "submit", {"prompt": "potion", "seed": 1, **body}, 20_000)
    reply: dict[str, Any] = msgpack.unpackb(frames[2])
    reply["status"] = frames[1].decode()
    return reply


def _palettes_dir(service: Service) -> Path:
    folder = service.settings.data_dir / "palettes"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("where", ["palette", "params.palette"])
def test_a_palette_file_outside_the_allowed_folders_is_refused_over_zmq(
    dealer: zmq.Socket[Any], real_service: Service, secret: Path, where: str
) -> None:
    body: dict[str, Any] = {"params": dict(FAST)}
    if where == "palette":
        body["palette"] = str(secret)
    else:
        body["params"]["palette"] = str(secret)
    reply = _submit(dealer, **body)
    assert reply["status"] == "error" and reply["code"] == "invalid_request"
    message = reply["message"]
    assert f"{where}='{secret}'" in message
    assert str(real_service.settings.data_dir / "palettes") in message
    assert str(real_service.settings.resolved_output_dir) in message
    assert SECRET not in message
    assert real_service.list_jobs() == []  # nothing stored
    assert secret.read_text() == f"{SECRET}\n"


def test_a_link_inside_the_palettes_folder_pointing_out_is_refused(
    dealer: zmq.Socket[Any], real_service: Service, secret: Path
) -> None:
    link = _palettes_dir(real_service) / "innocent.hex"
    link.symlink_to(secret)
    reply = _submit(dealer, palette=str(link), params=FAST)
    assert reply["code"] == "invalid_request" and "remote clients may only name" in reply["message"]
    assert SECRET not in reply["message"]


@pytest.mark.parametrize("value", ["../outside/secret.hex", "passwd", "/etc/passwd"])
def test_relative_bare_and_system_paths_are_refused(
    dealer: zmq.Socket[Any], real_service: Service, value: str
) -> None:
    reply = _submit(dealer, palette=value, params=FAST)
    assert reply["code"] == "invalid_request" and f"palette='{value}'" in reply["message"]
    assert "root:" not in reply["message"] and real_service.list_jobs() == []


def test_a_malformed_palette_in_the_allowed_folder_names_the_line_not_the_content(
    dealer: zmq.Socket[Any], real_service: Service
) -> None:
    bad = _palettes_dir(real_service) / "bad.hex"
    bad.write_text(f"1d2b53\n{SECRET}\n")
    reply = _submit(dealer, palette=str(bad), params=FAST)
    assert reply["code"] == "invalid_request"
    assert "line 2" in reply["message"] and SECRET not in reply["message"]


def test_built_in_names_and_allowed_files_pass_the_policy_over_zmq(
    dealer: zmq.Socket[Any], real_service: Service
) -> None:
    mine = _palettes_dir(real_service) / "mine.hex"
    mine.write_text("1d2b53\nff004d\n")
    assert _submit(dealer, palette="pico-8", params=FAST)["status"] == "ok"
    # Files pass the policy (bare names are looked up in palettes/); the generation
    # templates then take built-in names only, which the backend's object_info says.
    for value in ("mine.hex", str(mine)):
        message = _submit(dealer, palette=value, params=FAST)["message"]
        assert "remote clients" not in message and "is not in the list" in message
    assert len(real_service.list_jobs()) == 1


def test_pixelize_keeps_any_path_for_the_local_caller_only(
    real_service: Service, tmp_path: Path
) -> None:
    picture = tmp_path / "anywhere" / "hero.png"
    picture.parent.mkdir()
    Image.new("RGBA", (16, 16), (200, 30, 30, 255)).save(picture)
    mine = picture.with_name("mine.hex")
    mine.write_text("1d2b53\nff004d\n")
    request = PixelizeRequest(size="8x8", palette=str(mine))
    outcome = real_service.pixelize_file(picture, request)  # origin="local" is the default
    assert Path(outcome.files.sprite).is_file()
    with pytest.raises(InvalidRequest, match=r"path=.*remote clients may only name files"):
        real_service.pixelize_file(picture, request, origin="remote")
    inside = real_service.settings.resolved_output_dir / "hero.png"
    inside.write_bytes(picture.read_bytes())
    with pytest.raises(InvalidRequest, match=r"palette=.*remote clients may only name .gpl/.hex"):
        real_service.pixelize_file(inside, request, origin="remote")
    allowed = PixelizeRequest(size="8x8", palette="pico-8")
    outcome = real_service.pixelize_file(inside, allowed, origin="remote")
    assert Path(outcome.files.sprite).is_file()


def test_the_policy_covers_the_palettes_and_outputs_folders(real_service: Service) -> None:
    policy = PathPolicy.for_settings(real_service.settings)
    settings = real_service.settings
    assert policy.folders == (settings.data_dir / "palettes", settings.resolved_output_dir)
