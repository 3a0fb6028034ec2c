"""`start_engine`: ephemeral ports, clean stop, and ComfyUI's temp-folder wipe (done safely)."""

from __future__ import annotations

from pathlib import Path

import requests
from engine_client import WsClient, run_graph, solid_save_graph

from engine.runner import EngineConfig, start_engine

NODE_PACKS = Path(__file__).parent / "node_packs"


def test_engine_listens_on_an_ephemeral_port_and_stops_cleanly(tmp_path: Path) -> None:
    config = EngineConfig(base_dir=tmp_path, port=0, device="cpu", load_comfy_nodes=False)
    with start_engine(config) as engine:
        assert engine.port > 0 and engine.url == f"http://127.0.0.1:{engine.port}"
        assert requests.get(f"{engine.url}/queue", timeout=10).status_code == 200
        url = engine.url
    try:
        requests.get(f"{url}/queue", timeout=2)
    except requests.ConnectionError:
        return
    raise AssertionError("the server still answers after stop()")


def test_temp_folder_is_wiped_on_start_and_stop(tmp_path: Path) -> None:
    stale = tmp_path / "temp" / "ComfyUI_temp_abcde_00001_.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old preview")
    config = EngineConfig(base_dir=tmp_path, port=0, device="cpu", load_comfy_nodes=False)
    with start_engine(config):
        assert not stale.exists()
        stale.write_bytes(b"new preview")
    assert not stale.exists()


def test_temp_folder_holding_outputs_is_never_wiped(tmp_path: Path) -> None:
    kept = tmp_path / "out" / "sprite_00001_.png"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"precious")
    config = EngineConfig(
        base_dir=tmp_path, output_dir=tmp_path / "out", temp_dir=tmp_path, port=0, device="cpu",
        load_comfy_nodes=False,
    )  # fmt: skip
    with start_engine(config):
        pass
    assert kept.read_bytes() == b"precious"


def test_two_engines_in_one_process_keep_their_own_folders(tmp_path: Path) -> None:
    def config(name: str) -> EngineConfig:
        return EngineConfig(
            base_dir=tmp_path / name,
            port=0,
            device="cpu",
            custom_node_dirs=(NODE_PACKS,),
            load_comfy_nodes=False,
        )

    with start_engine(config("a")) as first, start_engine(config("b")) as second:
        for engine, prefix in ((first, "one/x"), (second, "two/x")):
            client = WsClient(engine.url)
            try:
                _, _, entry = run_graph(client, solid_save_graph(prefix=prefix))
            finally:
                client.close()
            assert entry["status"]["status_str"] == "success"
    assert (tmp_path / "a" / "output" / "one" / "x_00001_.png").is_file()
    assert (tmp_path / "b" / "output" / "two" / "x_00001_.png").is_file()
    assert not (tmp_path / "a" / "output" / "two").exists()
