"""No module name repeats another's meaning: orchestrator basenames are unique, save the
commented exceptions below (each says why the two names mean different things plainly)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "orchestrator"

# basename -> the folders (relative to orchestrator/) where it may repeat, and why.
ALLOWED: dict[str, set[str]] = {
    # One exception tree per package family (HOUSE_STYLE 4): the folder says whose.
    "errors.py": {".", "comfy", "deploy", "workflows", "adapters/mcp", "adapters/tui"},
    # Each adapter's root object: the Typer CLI app and the Textual TUI app.
    "app.py": {"adapters/cli", "adapters/tui"},
    # CLI command modules are named after their command (`dgx-pixels models`,
    # `dgx-pixels pixelize`); the other module is the concept itself (ComfyUI's reply
    # models, the Job dataclasses; the pixelize use case).
    "models.py": {"comfy", "jobs", "adapters/cli"},
    "pixelize.py": {"service", "adapters/cli"},
}


def repeated_basenames(root: Path) -> dict[str, set[str]]:
    """Basenames (not `__init__`/`__main__`) found in more than one folder under `root`."""
    where: dict[str, set[str]] = defaultdict(set)
    for path in root.rglob("*.py"):
        if path.name not in {"__init__.py", "__main__.py"}:
            where[path.name].add(path.parent.relative_to(root).as_posix())
    return {name: folders for name, folders in where.items() if len(folders) > 1}


def test_no_two_orchestrator_modules_share_a_name_unless_allowed() -> None:
    unexplained = {
        name: sorted(folders - ALLOWED.get(name, set()))
        for name, folders in repeated_basenames(ROOT).items()
        if not folders <= ALLOWED.get(name, set())
    }
    assert not unexplained, (
        f"modules whose names repeat another's: {unexplained}; rename one so the name says "
        "what it is, or add the pair to ALLOWED with the reason"
    )


def test_the_check_notices_a_repeated_name(tmp_path: Path) -> None:
    for folder in ("comfy", "service"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "events.py").write_text("", encoding="utf-8")
    assert repeated_basenames(tmp_path) == {"events.py": {"comfy", "service"}}
