"""Queue priority, interrupt, history listing and deletion, concurrency between clients."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests
from engine_client import WsClient, event_types, executed_nodes, run_graph, solid_save_graph, submit

from engine.runner import RunningEngine


def _queue(engine: RunningEngine) -> dict[str, Any]:
    queue: dict[str, Any] = requests.get(f"{engine.url}/queue", timeout=10).json()
    return queue


def _start_blocker(engine: RunningEngine, ws: WsClient, steps: int = 2000) -> str:
    """Queue a slow prompt and wait until it runs its slow node."""
    graph = solid_save_graph(prefix="blocker/x", steps=steps, delay=0.01)
    prompt_id: str = submit(engine.url, graph, ws.client_id).json()["prompt_id"]
    ws.wait_for("progress", prompt_id)
    return prompt_id


def test_interrupt_stops_a_running_prompt_inside_its_steps(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    prompt_id = _start_blocker(running_engine, ws)
    assert requests.post(f"{running_engine.url}/interrupt", timeout=10).status_code == 200
    events = ws.wait_done(prompt_id)

    interrupted = next(e["data"] for e in events if e["type"] == "execution_interrupted")
    assert set(interrupted) == {"prompt_id", "node_id", "node_type", "executed", "timestamp"}
    assert (interrupted["node_id"], interrupted["node_type"]) == ("2", "DGXPTest_SlowPass")
    assert interrupted["executed"] == ["1"]
    progress = [e for e in events if e["type"] == "progress"]
    assert len(progress) < 2000
    entry = requests.get(f"{running_engine.url}/history/{prompt_id}", timeout=10).json()[prompt_id]
    assert entry["status"]["status_str"] == "error" and entry["outputs"] == {}
    assert entry["status"]["messages"][-1][0] == "execution_interrupted"
    # The engine keeps working, and the interrupt does not leak into the next prompt.
    _, _, after = run_graph(ws, solid_save_graph(prefix="after/x"))
    assert after["status"]["status_str"] == "success"


def test_interrupt_for_another_prompt_id_is_ignored(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    prompt_id = _start_blocker(running_engine, ws, steps=30)
    requests.post(f"{running_engine.url}/interrupt", json={"prompt_id": "not-running"}, timeout=10)
    events = ws.wait_done(prompt_id)
    assert "execution_success" in event_types(events)


def test_interrupt_with_the_running_prompt_id_stops_it(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    prompt_id = _start_blocker(running_engine, ws)
    requests.post(f"{running_engine.url}/api/interrupt", json={"prompt_id": prompt_id}, timeout=10)
    assert "execution_interrupted" in event_types(ws.wait_done(prompt_id))


def test_pending_queue_is_a_priority_heap_with_front(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    blocker = _start_blocker(running_engine, ws)
    late = submit(running_engine.url, solid_save_graph(prefix="q/late"), ws.client_id).json()
    urgent = submit(
        running_engine.url, solid_save_graph(prefix="q/urgent"), ws.client_id, front=True
    ).json()
    chosen = submit(
        running_engine.url, solid_save_graph(prefix="q/n"), ws.client_id, number=0.5
    ).json()
    assert urgent["number"] < 0 and chosen["number"] == 0.5

    queue = _queue(running_engine)
    assert [item[1] for item in queue["queue_running"]] == [blocker]
    assert [item[1] for item in queue["queue_pending"]] == [
        urgent["prompt_id"],
        chosen["prompt_id"],
        late["prompt_id"],
    ]
    assert len(queue["queue_pending"][0]) == 5
    assert requests.get(f"{running_engine.url}/prompt", timeout=10).json() == {
        "exec_info": {"queue_remaining": 4}
    }

    requests.post(f"{running_engine.url}/queue", json={"delete": [chosen["prompt_id"]]}, timeout=10)
    assert len(_queue(running_engine)["queue_pending"]) == 2
    requests.post(f"{running_engine.url}/interrupt", timeout=10)
    ws.wait_done(blocker)
    ws.wait_done(late["prompt_id"])
    finished = [e["data"]["prompt_id"] for e in ws.events if e["type"] == "execution_start"]
    assert finished == [blocker, urgent["prompt_id"], late["prompt_id"]]


def test_queue_clear_removes_pending_only(running_engine: RunningEngine, ws: WsClient) -> None:
    blocker = _start_blocker(running_engine, ws)
    submit(running_engine.url, solid_save_graph(prefix="c/a"), ws.client_id)
    assert (
        requests.post(f"{running_engine.url}/queue", json={"clear": True}, timeout=10).status_code
        == 200
    )
    queue = _queue(running_engine)
    assert queue["queue_pending"] == [] and [i[1] for i in queue["queue_running"]] == [blocker]
    requests.post(f"{running_engine.url}/interrupt", timeout=10)
    ws.wait_done(blocker)


def test_history_windows_delete_and_clear(running_engine: RunningEngine, ws: WsClient) -> None:
    ids = [run_graph(ws, solid_save_graph(prefix=f"h/{n}", red=n / 10))[0] for n in range(3)]
    url = f"{running_engine.url}/history"
    assert list(requests.get(url, timeout=10).json()) == ids
    assert list(requests.get(url, params={"max_items": 2}, timeout=10).json()) == ids[1:]
    assert (
        list(requests.get(url, params={"max_items": 1, "offset": 0}, timeout=10).json()) == ids[:1]
    )
    assert requests.get(f"{url}/unknown-id", timeout=10).json() == {}
    assert requests.get(url, params={"max_items": "many"}, timeout=10).status_code == 400

    requests.post(url, json={"delete": [ids[0]]}, timeout=10)
    assert list(requests.get(url, timeout=10).json()) == ids[1:]
    requests.post(url, json={"clear": True}, timeout=10)
    assert requests.get(url, timeout=10).json() == {}


def test_own_prompt_id_and_history_while_running(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = solid_save_graph(prefix="own/x", steps=2000, delay=0.01)
    response = submit(running_engine.url, graph, ws.client_id, prompt_id="my-own-id-1")
    assert response.json()["prompt_id"] == "my-own-id-1"
    ws.wait_for("progress", "my-own-id-1")
    assert requests.get(f"{running_engine.url}/history/my-own-id-1", timeout=10).json() == {}
    requests.post(f"{running_engine.url}/interrupt", timeout=10)
    ws.wait_done("my-own-id-1")
    assert (
        "my-own-id-1"
        in requests.get(f"{running_engine.url}/history/my-own-id-1", timeout=10).json()
    )


def test_concurrent_clients_each_get_only_their_own_events(
    running_engine: RunningEngine, ws_factory: Callable[..., WsClient]
) -> None:
    clients = [ws_factory() for _ in range(3)]
    results: dict[str, list[dict[str, Any]]] = {}

    def run(client: WsClient, index: int) -> None:
        prompt_id, events, _ = run_graph(
            client, solid_save_graph(prefix=f"conc/{index}", red=index / 4, steps=3)
        )
        results[client.client_id] = [e for e in client.events if e["type"] != "status"]
        assert all(e["data"].get("prompt_id") == prompt_id for e in results[client.client_id])
        assert executed_nodes(events) == ["1", "2", "3"]

    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(results) == {c.client_id for c in clients}


def test_reconnecting_with_the_same_client_id_replaces_the_socket(
    running_engine: RunningEngine, ws_factory: Callable[..., WsClient]
) -> None:
    first = ws_factory(client_id="same-id")
    first.wait_for("status")
    second = ws_factory(client_id="same-id")
    hello = second.wait_for("status")
    assert hello["data"]["sid"] == "same-id"
    _, events, _ = run_graph(second, solid_save_graph(prefix="re/x"))
    assert "execution_success" in event_types(events)


def test_reconnecting_while_running_is_told_the_current_node(
    running_engine: RunningEngine, ws_factory: Callable[..., WsClient]
) -> None:
    first = ws_factory(client_id="runner-id")
    prompt_id = _start_blocker(running_engine, first)
    second = ws_factory(client_id="runner-id")
    second.wait_for("status")
    assert second.wait_for("executing") == {"type": "executing", "data": {"node": "2"}}
    requests.post(f"{running_engine.url}/interrupt", timeout=10)
    second.wait_done(prompt_id)
