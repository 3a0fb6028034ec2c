"""One member of an engine group: `python -m engine.member '<EngineConfig JSON>'`.

Started by `engine.supervisor.EngineGroup` (never by hand): it serves one engine until
SIGTERM or SIGINT, logging to stderr with its member index on every line.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from engine.errors import EngineError
from engine.runner import serve_forever
from engine.supervisor import config_from_json

__all__ = ["main"]

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Serve the engine the JSON argument describes; 0 on a clean stop, 2 when refused."""
    args = sys.argv[1:] if argv is None else argv
    index = os.environ.get("DGXP_ENGINE_MEMBER", "?")
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s engine[{index}] %(levelname)s %(name)s: %(message)s",
    )
    if len(args) != 1:
        logger.error("usage: python -m engine.member '<EngineConfig JSON>'")
        return 2
    # SIGTERM stops the engine the way Ctrl-C does (serve_forever stops on KeyboardInterrupt).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        serve_forever(config_from_json(args[0]))
    except EngineError as exc:
        logger.error("engine member %s refused to start: %s", index, exc)
        return 2
    except KeyboardInterrupt:  # a signal before the server was up
        return 0
    return 0


def _exit_now(code: int) -> None:
    """Leave without the interpreter's teardown once the engine has stopped serving: on an
    H100 a member that had run prompts did not exit within 20 s of SIGTERM (the supervisor
    killed it), while the engine itself stops in milliseconds; on a CPU teardown alone
    takes ~2.5 s. Nothing is left to flush but the log."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main())
