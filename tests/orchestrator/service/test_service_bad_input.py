"""Bad requests fail in `submit` with errors naming what was wrong, and store nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fixtures.ports import free_port
from service_testkit import FAST, MakeService, tiny_request

from orchestrator.errors import BackendError, InvalidRequest, TemplateError
from orchestrator.service import Service
from orchestrator.service.values import LoraSpec


@pytest.fixture
def service(orch_engine: Any, make_service: MakeService) -> Service:
    return make_service([orch_engine.url], start=False)


@pytest.mark.parametrize(
    ("overrides", "error", "names"),
    [
        ({"template": "no_such"}, TemplateError, ["no_such", "single_sprite"]),
        ({"params": {**FAST, "colour": 3}}, TemplateError, ["colour", "colors"]),
        ({"params": {**FAST, "steps": "abc"}}, TemplateError, ["steps", "'abc'"]),
        ({"params": {**FAST, "steps": 0}}, TemplateError, ["steps", ">= 1"]),
        ({"params": {**FAST, "width": 100_000}}, TemplateError, ["width", "100000"]),
        ({"params": {**FAST, "batch_size": 0}}, TemplateError, ["batch_size"]),
        ({"count": 0}, InvalidRequest, ["count=0"]),
        ({"count": 10_000}, InvalidRequest, ["count=10000"]),
        ({"seed": -1}, InvalidRequest, ["seed=-1", "0..18446744073709551615"]),
        ({"seed": 2**64}, InvalidRequest, ["seed=18446744073709551616"]),
        ({"seed": True}, InvalidRequest, ["seed=True"]),
        ({"seed": 2**64 - 1, "count": 2}, InvalidRequest, ["count=2", "lower the seed"]),
        ({"size": (0, 32)}, InvalidRequest, ["size"]),
        ({"prompt": "  "}, InvalidRequest, ["prompt"]),
        ({"palette": "no-such-palette"}, InvalidRequest, ["palette", "no-such-palette"]),
        ({"loras": (LoraSpec("missing.safetensors"),)}, TemplateError, ["missing.safetensors"]),
        ({"params": {**FAST, "checkpoint": "nope.safetensors"}}, TemplateError, ["nope.sa"]),
        ({"loras": (LoraSpec("x", 99.0),)}, InvalidRequest, ["strength"]),
        ({"backend": "http://127.0.0.1:1"}, InvalidRequest, ["not in the pool"]),
    ],
)
def test_bad_request_is_refused_naming_the_problem_and_nothing_is_stored(
    service: Service, overrides: dict[str, Any], error: type[Exception], names: list[str]
) -> None:
    with pytest.raises(error) as info:
        service.submit(tiny_request(**overrides))
    for name in names:
        assert name in str(info.value)
    assert service.list_jobs() == []


@pytest.mark.parametrize("palette", ["no-such-palette", "/no/such/palette.gpl"])
def test_unknown_palette_is_named_once_with_the_valid_names(service: Service, palette: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        service.submit(tiny_request(palette=palette))
    message = str(info.value)
    assert message.startswith(f"palette={palette!r}: ") and message.count(f"{palette!r}") == 1
    assert "pico-8" in message or "palette.gpl" in message
    assert service.list_jobs() == []


def test_bad_row_in_a_batch_queues_nothing(service: Service) -> None:
    good = tiny_request()
    bad = tiny_request(params={**FAST, "steps": -3})
    with pytest.raises(TemplateError, match=r"requests\[1\].*steps"):
        service.submit_many([good, bad])
    assert service.list_jobs() == []


def test_unreachable_backend_is_a_clear_error(make_service: MakeService) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    service = make_service([url], start=False)
    with pytest.raises(BackendError, match=f"no healthy backend.*{url}"):
        service.submit(tiny_request())
    assert service.list_jobs() == []
    (info,) = service.backends()
    assert not info.healthy and info.last_error and "cannot reach" in info.last_error


class _Garbage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>I am not ComfyUI</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def garbage_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_backend_answering_garbage_is_a_clear_error(
    make_service: MakeService, garbage_url: str
) -> None:
    service = make_service([garbage_url], start=False)
    with pytest.raises(BackendError) as info:
        service.submit(tiny_request())
    assert garbage_url in str(info.value) and "non-JSON" in str(info.value)
    assert service.list_jobs() == []


def test_a_garbage_backend_next_to_a_good_one_is_skipped(
    orch_engine: Any, make_service: MakeService, garbage_url: str
) -> None:
    service = make_service([garbage_url, orch_engine.url])
    (job,) = service.submit(tiny_request())
    done = service.wait(job.id, 120)
    assert (done.state.value, done.backend) == ("succeeded", orch_engine.url)
    health = {b.url: b.healthy for b in service.backends()}
    assert health == {garbage_url: False, orch_engine.url: True}
    json.dumps([b.__dict__ for b in service.backends()])  # JSON-able for the adapters
