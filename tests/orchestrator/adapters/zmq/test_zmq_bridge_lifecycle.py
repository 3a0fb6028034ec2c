"""The bridge's sockets after stop(): a late event must not touch a closed socket."""

from __future__ import annotations

import threading
from collections.abc import Callable

from zmq_helpers import StoreService

from orchestrator.adapters.zmq.bridge import BridgeConfig, ZmqBridge
from orchestrator.service.job_events import JobEvent, JobEventKind


class _KeepsCallbacks(StoreService):
    """StoreService that remembers each subscriber, as a publisher thread mid-fan-out does."""

    def __init__(self, inner: StoreService) -> None:
        super().__init__(inner.store)
        self.callbacks: list[Callable[[JobEvent], None]] = []

    def subscribe(self, callback: Callable[[JobEvent], None]) -> Callable[[], None]:
        self.callbacks.append(callback)
        return super().subscribe(callback)


def test_an_event_that_raced_stop_is_dropped_without_enotsock(
    store_service: StoreService,
) -> None:
    # A worker thread that copied the subscriber list before stop() unsubscribed still
    # delivers its event after the sockets are closed; it used to raise ENOTSOCK there.
    service = _KeepsCallbacks(store_service)
    config = BridgeConfig(router="tcp://127.0.0.1:*", pub="tcp://127.0.0.1:*")
    bridge = ZmqBridge(service, config)
    bridge.start()
    bridge.stop()
    event = JobEvent(kind=JobEventKind.PROGRESS, job_id="gone", seq=1, value=1, max=2)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            service.callbacks[0](event)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=deliver)
    worker.start()
    worker.join(5)
    assert service.callbacks and errors == []
