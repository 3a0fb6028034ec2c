"""`dgx-pixels comfy link|unlink`: install the node pack into a user's own ComfyUI.

`link` puts a symlink ``custom_nodes/dgx_pixels`` -> this installation's `comfy_nodes`
folder, and a ``dgx_pixels:`` section in ComfyUI's ``extra_model_paths.yaml`` so ComfyUI
also finds DGX-Pixels' checkpoints and LoRAs. Other sections of that file, and its
comments, are kept byte for byte: our section is spliced in as text and the result is
checked by parsing it. `unlink` undoes exactly that and nothing else.

A ComfyUI started with ``--base-directory B`` loads custom nodes only from
``B/custom_nodes`` (seen on 0.3.64, docs/comfyui-compat.md O5). With ``--base-directory B``
the link goes there and our section into ``B/extra_model_paths.yaml``, so the ComfyUI
install itself is not touched; ComfyUI reads that file only when told with
``--extra-model-paths-config``, so `link` prints the exact flags to start ComfyUI with.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from orchestrator.adapters.cli.context import settings_from
from orchestrator.adapters.cli.output import emit_result, fail, note
from orchestrator.errors import DGXPixelsError

__all__ = [
    "SECTION",
    "ComfyLinkError",
    "LinkPlan",
    "app",
    "apply_link",
    "apply_unlink",
    "pack_dir",
    "plan_link",
    "plan_unlink",
]

SECTION = "dgx_pixels"
LINK_NAME = "dgx_pixels"
YAML_NAME = "extra_model_paths.yaml"

app = typer.Typer(
    help=(
        "Use DGX-Pixels' nodes and models from your own ComfyUI.\n\n"
        "`dgx-pixels comfy link ~/ComfyUI` links the node pack into `custom_nodes/dgx_pixels` "
        "and adds a `dgx_pixels:` section to `extra_model_paths.yaml` (your other sections and "
        "comments stay as they are). Restart ComfyUI afterwards. `--dry-run` shows the plan; "
        "`dgx-pixels comfy unlink ~/ComfyUI` removes both again."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


class ComfyLinkError(DGXPixelsError):
    """The ComfyUI folder is not one, or something that is not ours is in the way."""


@dataclass(frozen=True)
class LinkPlan:
    """What `link`/`unlink` will do; computed without touching anything."""

    comfy_dir: Path
    link: Path
    pack: Path
    yaml_path: Path
    yaml_text: str | None
    """The new file text; None when the file is to be removed."""
    link_needed: bool
    yaml_changed: bool
    start_flags: tuple[str, ...] = ()
    """ComfyUI `main.py` flags the user must start ComfyUI with (empty: none needed)."""


def pack_dir() -> Path:
    """The installed `comfy_nodes` folder (found without importing it)."""
    spec = importlib.util.find_spec("comfy_nodes")
    if spec is None or not spec.submodule_search_locations:
        raise ComfyLinkError("the comfy_nodes package is not installed; reinstall dgx-pixels")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _check_comfy_dir(comfy_dir: Path) -> None:
    missing = [name for name in ("main.py", "custom_nodes") if not (comfy_dir / name).exists()]
    if not comfy_dir.is_dir() or missing:
        raise ComfyLinkError(
            f"COMFYUI_DIR={str(comfy_dir)!r} does not look like ComfyUI "
            f"(missing: {', '.join(missing) or 'the folder itself'}); give the folder that holds "
            "ComfyUI's main.py and custom_nodes/"
        )


def _targets(comfy_dir: Path, base_dir: Path | None) -> tuple[Path, Path, tuple[str, ...]]:
    """(custom_nodes folder, yaml file, ComfyUI flags) for a plain or `--base-directory` run.

    Raises:
        ComfyLinkError: `base_dir` is given but is not an existing folder.
    """
    if base_dir is None:
        return comfy_dir / "custom_nodes", comfy_dir / YAML_NAME, ()
    base = base_dir.expanduser().resolve()
    if not base.is_dir():
        raise ComfyLinkError(
            f"--base-directory={str(base_dir)!r} is not a folder; give the folder you pass to "
            "ComfyUI's --base-directory (create it first if ComfyUI has not run with it yet)"
        )
    flags: tuple[str, ...] = ("--base-directory", str(base))
    if base == comfy_dir:  # the yaml next to main.py is read without a flag
        return base / "custom_nodes", base / YAML_NAME, flags
    yaml_path = base / YAML_NAME
    return base / "custom_nodes", yaml_path, (*flags, "--extra-model-paths-config", str(yaml_path))


def _section_block(models_dir: Path) -> str:
    import yaml  # only when a plan is made, not at CLI start

    body: str = yaml.safe_dump(
        {SECTION: {"base_path": str(models_dir), "checkpoints": "checkpoints", "loras": "loras"}},
        sort_keys=False,
        default_flow_style=False,
    )
    return "# Added by `dgx-pixels comfy link`; `dgx-pixels comfy unlink` removes it.\n" + body


_SECTION_START = re.compile(rf"^(# Added by `dgx-pixels comfy link`.*\n)?{SECTION}:.*(\n|$)", re.M)


def _strip_section(text: str) -> str:
    """The text without our top-level section (its comment line and indented body)."""
    match = _SECTION_START.search(text)
    if match is None:
        return text
    end = match.end()
    lines = text[end:].splitlines(keepends=True)
    consumed = 0
    for line in lines:
        # The section ends at the next line that starts at column 0 (a key or a comment).
        if line.strip() and not line[0].isspace():
            break
        consumed += len(line)
    head, tail = text[: match.start()], text[end + consumed :]
    if not tail.strip():
        # Our section was last: also drop the blank line `link` put before it.
        return head.rstrip("\n") + "\n" if head.strip() else ""
    return head + tail


def _load_yaml(path: Path, text: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ComfyLinkError(
            f"{path} is not valid YAML ({error}); fix or move it, then run link again"
        ) from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ComfyLinkError(
            f"{path} must be a YAML mapping of sections, got {type(data).__name__}"
        )
    return data


def _checked_splice(path: Path, before: str, after: str) -> str:
    """Verify that only our section changed between two texts of the yaml file."""
    old = {k: v for k, v in _load_yaml(path, before).items() if k != SECTION}
    new = {k: v for k, v in _load_yaml(path, after).items() if k != SECTION}
    if old != new:
        raise ComfyLinkError(
            f"{path}: could not add the {SECTION} section without touching others; "
            f"add it by hand (see `dgx-pixels comfy link --dry-run`)"
        )
    return after


def _link_state(link: Path, pack: Path) -> bool:
    """True if the link must be created, False if it already points at the pack."""
    if link.is_symlink():
        target = Path(os.readlink(link))
        target = target if target.is_absolute() else link.parent / target
        if target.resolve() == pack:
            return False
        raise ComfyLinkError(
            f"{link} already links to {target}, not to this installation ({pack}); "
            "remove that link first if you want this one"
        )
    if link.exists():
        raise ComfyLinkError(
            f"{link} already exists and is not a link made by dgx-pixels; move it away first"
        )
    return True


def plan_link(comfy_dir: Path, models_dir: Path, base_dir: Path | None = None) -> LinkPlan:
    """Check everything and work out the changes for `link`; touches nothing.

    Args:
        comfy_dir: The ComfyUI folder (holds main.py).
        models_dir: The models folder ComfyUI should also search.
        base_dir: ComfyUI's `--base-directory`, if it is started with one: the link and
            the yaml go there, and the plan's `start_flags` say how to start ComfyUI.

    Raises:
        ComfyLinkError: not a ComfyUI folder, a missing base directory, someone else's
            `dgx_pixels` in the way, or an unreadable `extra_model_paths.yaml`.
    """
    comfy_dir = comfy_dir.expanduser().resolve()
    _check_comfy_dir(comfy_dir)
    custom_nodes, yaml_path, flags = _targets(comfy_dir, base_dir)
    pack = pack_dir()
    link = custom_nodes / LINK_NAME
    link_needed = _link_state(link, pack)
    before = yaml_path.read_text(encoding="utf-8") if yaml_path.exists() else ""
    _load_yaml(yaml_path, before)
    rest = _strip_section(before)
    separator = (
        "" if not rest or rest.endswith("\n\n") else ("\n" if rest.endswith("\n") else "\n\n")
    )
    after = _checked_splice(
        yaml_path, before, rest + separator + _section_block(models_dir.resolve())
    )
    changed = _load_yaml(yaml_path, before).get(SECTION) != _load_yaml(yaml_path, after)[SECTION]
    return LinkPlan(comfy_dir, link, pack, yaml_path, after, link_needed, changed, flags)


def plan_unlink(comfy_dir: Path, base_dir: Path | None = None) -> LinkPlan:
    """Work out what `unlink` removes; touches nothing.

    Args:
        comfy_dir: The ComfyUI folder (holds main.py).
        base_dir: The `--base-directory` that `link` was given, if any.

    Raises:
        ComfyLinkError: not a ComfyUI folder, a missing base directory, or `dgx_pixels`
            there is not our link.
    """
    comfy_dir = comfy_dir.expanduser().resolve()
    _check_comfy_dir(comfy_dir)
    custom_nodes, yaml_path, _ = _targets(comfy_dir, base_dir)
    pack = pack_dir()
    link = custom_nodes / LINK_NAME
    remove_link = (link.is_symlink() or link.exists()) and not _link_state(link, pack)
    before = yaml_path.read_text(encoding="utf-8") if yaml_path.exists() else ""
    after = _checked_splice(yaml_path, before, _strip_section(before))
    empty = not _load_yaml(yaml_path, after) and not after.strip()
    return LinkPlan(
        comfy_dir, link, pack, yaml_path, None if empty else after, remove_link, after != before
    )


def _write_atomic(path: Path, text: str) -> None:
    # The project's one atomic writer: keeps the user's extra_model_paths.yaml mode.
    from orchestrator.service.outputs import write_atomic

    write_atomic(path, text.encode("utf-8"))


def apply_link(plan: LinkPlan, models_dir: Path) -> None:
    """Make the changes `plan_link` planned (yaml first, so a link never dangles config-less)."""
    for sub in ("checkpoints", "loras"):
        (models_dir / sub).mkdir(parents=True, exist_ok=True)
    if plan.yaml_changed and plan.yaml_text is not None:
        _write_atomic(plan.yaml_path, plan.yaml_text)
    if plan.link_needed:
        plan.link.parent.mkdir(parents=True, exist_ok=True)  # a fresh --base-directory
        plan.link.symlink_to(plan.pack, target_is_directory=True)


def apply_unlink(plan: LinkPlan) -> None:
    """Remove what `plan_unlink` found: our link and our yaml section."""
    if plan.link_needed:
        plan.link.unlink()
    if plan.yaml_changed:
        if plan.yaml_text is None:
            plan.yaml_path.unlink()
        else:
            _write_atomic(plan.yaml_path, plan.yaml_text)


_ComfyDir = Annotated[
    Path, typer.Argument(metavar="COMFYUI_DIR", help="Your ComfyUI folder (holds main.py).")
]
_DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]
_BaseDir = Annotated[
    Path | None,
    typer.Option(
        "--base-directory",
        help=(
            "The folder you start ComfyUI with `--base-directory` (ComfyUI then loads custom "
            "nodes only from its custom_nodes/): link there and print the start flags."
        ),
    ),
]


@app.command("link")
def link_command(
    ctx: typer.Context,
    comfy_dir: _ComfyDir,
    dry_run: _DryRun = False,
    models_dir: Annotated[
        Path | None,
        typer.Option("--models-dir", help="Models folder to share (default: DGX-Pixels' own)."),
    ] = None,
    base_dir: _BaseDir = None,
) -> None:
    """Link the node pack into COMFYUI_DIR/custom_nodes and register our model folders.

    Example: `dgx-pixels comfy link ~/ComfyUI --dry-run`, then without `--dry-run`.
    With `--base-directory ~/comfy-data` the link and the yaml go into that folder and
    the command prints how to start ComfyUI so it reads both.
    """
    models = (models_dir or settings_from(ctx).resolved_models_dir).expanduser()
    try:
        plan = plan_link(comfy_dir, models, base_dir)
    except ComfyLinkError as error:
        raise fail(error) from error
    verb = "would" if dry_run else "will"
    note(f"link  {plan.link} -> {plan.pack}" + ("" if plan.link_needed else "  (already linked)"))
    note(
        f"yaml  {plan.yaml_path}: {verb} set section {SECTION}: base_path {models.resolve()}"
        + ("" if plan.yaml_changed else "  (already set)")
    )
    if dry_run:
        _print_start(plan)
        note("dry run: nothing changed")
        return
    apply_link(plan, models)
    note("done: restart ComfyUI to load the DGX-Pixels nodes (DGX-Pixels/...)")
    _print_start(plan)


def _print_start(plan: LinkPlan) -> None:
    """The exact ComfyUI command line a `--base-directory` link needs (the result: stdout)."""
    if not plan.start_flags:
        return
    note("start ComfyUI with these flags (add your own, e.g. --listen):")
    command = f"cd {shlex.quote(str(plan.comfy_dir))} && python main.py"
    emit_result(f"{command} {shlex.join(plan.start_flags)}")


@app.command("unlink")
def unlink_command(
    comfy_dir: _ComfyDir, dry_run: _DryRun = False, base_dir: _BaseDir = None
) -> None:
    """Remove the node-pack link and our extra_model_paths.yaml section from COMFYUI_DIR
    (or from the `--base-directory` that `link` was given).

    Example: dgx-pixels comfy unlink ~/ComfyUI --dry-run
    """
    try:
        plan = plan_unlink(comfy_dir, base_dir)
    except ComfyLinkError as error:
        raise fail(error) from error
    if not plan.link_needed and not plan.yaml_changed:
        note("nothing to remove: DGX-Pixels is not linked there")
        return
    if plan.link_needed:
        note(f"remove link {plan.link}")
    if plan.yaml_changed:
        note(f"remove section {SECTION} from {plan.yaml_path}")
    if dry_run:
        note("dry run: nothing changed")
        return
    apply_unlink(plan)
    note("done")
