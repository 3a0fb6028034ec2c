"""Dev tool: regenerate the UI-format twins `workflows/ui/<name>.json` from the API templates.

    python scripts/regenerate_ui_workflows.py                # object_info from an in-process engine
    python scripts/regenerate_ui_workflows.py --backend URL  # ... or from a running ComfyUI
    python scripts/regenerate_ui_workflows.py --check        # exit 1 if a committed twin is stale

The twins are source for the web editor: commit them after changing a template. This tool is
the only place that starts an engine for the workflows package, which itself stays pure.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from comfy_nodes.pixel.atomic import write_atomic
from orchestrator.workflows import TemplateLibrary, default_templates_dir, render_twins

__all__ = ["main"]

logger = logging.getLogger(__name__)


def _engine_object_info() -> dict[str, Any]:
    from engine.runner import EngineConfig, start_engine
    from orchestrator.comfy import ComfyClient

    with (
        tempfile.TemporaryDirectory(prefix="dgxp-ui-") as base,
        start_engine(EngineConfig(base_dir=Path(base), port=0)) as running,
        ComfyClient(running.url) as client,
    ):
        return client.object_info()


def _backend_object_info(url: str) -> dict[str, Any]:
    from orchestrator.comfy import ComfyClient

    with ComfyClient(url) as client:
        return client.object_info()


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) every twin; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The templates folder, not this script's: the tool moved to scripts/ in 0e3827c.
    parser.add_argument("directory", nargs="?", type=Path, default=default_templates_dir())
    parser.add_argument("--backend", help="read /object_info from this ComfyUI URL")
    parser.add_argument("--check", action="store_true", help="only report stale twins")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    library = TemplateLibrary(args.directory)
    info = _backend_object_info(args.backend) if args.backend else _engine_object_info()
    stale = []
    for name, text in render_twins(library, info).items():
        path = args.directory / "ui" / f"{name}.json"
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            write_atomic(path, text.encode("utf-8"))
            logger.info("wrote %s", path)
    if args.check and stale:
        logger.error("stale UI twins: %s (run python %s)", ", ".join(stale), __file__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
