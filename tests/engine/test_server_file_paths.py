"""`/view` and the uploads resolve real paths: symlinks leading out of a folder are refused,
odd upload names are clear 400s, and an upload reply names the file `/view` serves."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from engine.runner import RunningEngine

SECRET = b"not for the network"


def _png(color: tuple[int, int, int], size: tuple[int, int] = (2, 2)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(engine: RunningEngine, data: bytes, name: str, **fields: str) -> requests.Response:
    files = {"image": (name, data, "image/png")}
    return requests.post(f"{engine.url}/upload/image", files=files, data=fields, timeout=10)


def _view(engine: RunningEngine, **params: str) -> requests.Response:
    return requests.get(f"{engine.url}/view", params=params, timeout=10)


def _error(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.fixture
def outside(running_engine: RunningEngine) -> Path:
    """A folder next to the engine's folders, holding a file no request may reach."""
    folder = running_engine.context.paths.output.parent / "outside"
    folder.mkdir()
    (folder / "secret.png").write_bytes(SECRET)
    return folder


def test_view_refuses_a_symlink_that_leads_out_of_the_folder(
    running_engine: RunningEngine, outside: Path
) -> None:
    output = running_engine.context.paths.output
    (output / "leak.png").symlink_to(outside / "secret.png")
    response = _view(running_engine, filename="leak.png")
    error = _error(response, 403)
    assert SECRET not in response.content
    assert error["type"] == "path_outside_folder"
    assert "'leak.png'" in error["message"] and "symlink" in error["message"]


def test_view_refuses_a_symlinked_subfolder(running_engine: RunningEngine, outside: Path) -> None:
    (running_engine.context.paths.input / "linked").symlink_to(outside, target_is_directory=True)
    response = _view(running_engine, filename="secret.png", subfolder="linked", type="input")
    error = _error(response, 403)
    assert SECRET not in response.content
    assert "'linked'" in error["message"]


def test_view_follows_a_symlink_that_stays_inside(running_engine: RunningEngine) -> None:
    output = running_engine.context.paths.output
    (output / "real.png").write_bytes(_png((1, 2, 3)))
    (output / "alias.png").symlink_to(output / "real.png")
    response = _view(running_engine, filename="alias.png")
    assert response.status_code == 200 and response.content == _png((1, 2, 3))
    assert response.headers["Content-Disposition"] == 'filename="alias.png"'


def test_upload_into_a_symlinked_subfolder_is_refused_and_nothing_lands_outside(
    running_engine: RunningEngine, outside: Path
) -> None:
    (running_engine.context.paths.input / "linked").symlink_to(outside, target_is_directory=True)
    error = _error(_upload(running_engine, _png((5, 5, 5)), "new.png", subfolder="linked"), 403)
    assert "'new.png'" in error["message"]
    assert sorted(p.name for p in outside.iterdir()) == ["secret.png"]


def test_upload_over_a_symlink_leading_out_is_refused_and_its_target_kept(
    running_engine: RunningEngine, outside: Path
) -> None:
    (running_engine.context.paths.input / "evil.png").symlink_to(outside / "secret.png")
    for fields in ({}, {"overwrite": "true"}):
        response = _upload(running_engine, _png((6, 6, 6)), "evil.png", **fields)
        assert "'evil.png'" in _error(response, 403)["message"]
    assert (outside / "secret.png").read_bytes() == SECRET


def test_upload_mask_refuses_an_original_behind_a_symlink(
    running_engine: RunningEngine, outside: Path
) -> None:
    (running_engine.context.paths.input / "orig.png").symlink_to(outside / "secret.png")
    files = {"image": ("mask.png", _png((0, 0, 0)), "image/png")}
    data = {"original_ref": '{"filename": "orig.png", "type": "input"}', "type": "input"}
    response = requests.post(
        f"{running_engine.url}/upload/mask", files=files, data=data, timeout=10
    )
    assert "'orig.png'" in _error(response, 403)["message"]
    assert not (running_engine.context.paths.input / "mask.png").exists()


@pytest.mark.parametrize(
    ("name", "says"),
    [(".", "names no file"), ("..", "names no file"), ("a/", "names no file")],
)
def test_an_upload_named_dot_or_dotdot_is_400(
    running_engine: RunningEngine, name: str, says: str
) -> None:
    response = _upload(running_engine, _png((7, 7, 7)), name, subfolder="sub")
    error = _error(response, 400)
    assert error["type"] == "invalid_filename"
    assert repr(name) in error["message"] and says in error["message"]


def test_an_upload_named_like_an_existing_folder_is_400_and_the_folder_kept(
    running_engine: RunningEngine,
) -> None:
    folder = running_engine.context.paths.input / "sprites"
    folder.mkdir()
    (folder / "keep.png").write_bytes(_png((8, 8, 8)))
    for fields in ({}, {"overwrite": "1"}):
        error = _error(_upload(running_engine, _png((9, 9, 9)), "sprites", **fields), 400)
        assert error["message"] == "upload filename 'sprites' is an existing folder in input/"
    assert (folder / "keep.png").read_bytes() == _png((8, 8, 8))
    assert requests.get(f"{running_engine.url}/system_stats", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("name", "subfolder", "stored"),
    [
        ("a/b/c.png", "", "a/b"),
        ("a/b/c.png", "s", "s/a/b"),
        ("./a/c.png", "s/", "s/a"),
    ],
)
def test_an_upload_with_folders_in_its_name_replies_what_view_serves(
    running_engine: RunningEngine, name: str, subfolder: str, stored: str
) -> None:
    data = _png((10, 20, 30))
    (running_engine.context.paths.input / "c.png").write_bytes(_png((0, 0, 0)))  # a decoy
    reply = _upload(running_engine, data, name, subfolder=subfolder).json()
    assert reply == {"name": "c.png", "subfolder": stored, "type": "input"}
    assert (running_engine.context.paths.input / stored / "c.png").read_bytes() == data
    served = _view(
        running_engine, filename=reply["name"], subfolder=reply["subfolder"], type="input"
    )
    assert served.status_code == 200 and served.content == data


@pytest.mark.parametrize("name", ["a/../../x.png", "../x.png", "a/b/../../../x.png"])
def test_an_upload_whose_folder_part_escapes_is_400(
    running_engine: RunningEngine, name: str
) -> None:
    assert _error(_upload(running_engine, _png((1, 1, 1)), name), 400)["type"] == (
        "path_outside_folder"
    )
    assert not (running_engine.context.paths.input.parent / "x.png").exists()


def test_view_errors_are_json_naming_the_file(running_engine: RunningEngine) -> None:
    missing = _error(_view(running_engine, filename="nope.png"), 404)
    assert missing["message"] == "no file 'nope.png' in that folder"
    escaping = _error(_view(running_engine, filename="x.png", subfolder="../.."), 403)
    assert escaping["extra_info"] == {"input_name": "subfolder"}
    dotted = _error(_view(running_engine, filename="../x.png"), 400)
    assert dotted["extra_info"] == {"input_name": "filename"}
    assert os.path.isdir(running_engine.context.paths.output)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filename": "a\x00.png"}, "filename"),
        ({"filename": "a.png", "subfolder": "s\x00"}, "subfolder"),
        ({"filename": "x" * 300 + ".png"}, "filename"),
    ],
)
def test_view_of_a_name_the_os_cannot_take_is_400(
    running_engine: RunningEngine, params: dict[str, str], field: str
) -> None:
    error = _error(requests.get(f"{running_engine.url}/view", params=params, timeout=10), 400)
    assert (error["type"], error["extra_info"]) == ("invalid_filename", {"input_name": field})


@pytest.mark.parametrize(
    ("name", "fields", "says"),
    [
        ("x.png", {"subfolder": "a\x00b"}, "subfolder contains a NUL byte"),
        ("x" * 300 + ".png", {}, "image has a name longer than 240 bytes"),
    ],
)
def test_an_upload_name_the_os_cannot_take_is_400(
    running_engine: RunningEngine, name: str, fields: dict[str, str], says: str
) -> None:
    assert _error(_upload(running_engine, _png((1, 1, 1)), name, **fields), 400)["message"] == says
    assert sorted(running_engine.context.paths.input.iterdir()) == []


def test_a_malformed_multipart_body_is_400(running_engine: RunningEngine) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=zz"}
    for route in ("/upload/image", "/upload/mask"):
        response = requests.post(
            f"{running_engine.url}{route}", data=b"garbage", headers=headers, timeout=10
        )
        assert _error(response, 400)["type"] == "invalid_form"
