"""The LoRA registry: finished LoRAs under `models/loras/`, each with a card beside it.

A registered LoRA is `<name>.safetensors` (what ComfyUI and the engine load) and
`<name>.json`, its card: trigger words, the base model and its hash, the training spec, the
dataset's hash, metrics, a preview image, the backend and when it was made. LoRAs copied in
by hand have no card and are still listed.

Registering is all or nothing: both files are staged as hidden temp files in the folder,
then the card and the LoRA are renamed into place; on any failure the temp files go and an
overwritten pair is put back, so `models/loras/` never holds half a LoRA or a card for the
wrong file. A taken name is refused unless `overwrite=True`, which keeps the old pair as
`<name>.safetensors.bak-<UTC time>` and `<name>.json.bak-<UTC time>` (names no loader lists).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from comfy_nodes.pixel.atomic import write_files_atomic
from training.errors import RegistryError
from training.spec import TrainingSpec

if TYPE_CHECKING:
    from training.backend import TrainOutcome, TrainRequest

__all__ = [
    "CARD_SUFFIX",
    "LORA_SUFFIX",
    "LoraCard",
    "RegisteredLora",
    "Registration",
    "card_from_run",
    "check_name",
    "list_loras",
    "lora_triggers",
    "read_card",
    "register_lora",
]

log = logging.getLogger(__name__)

LORA_SUFFIX: Final[str] = ".safetensors"
CARD_SUFFIX: Final[str] = ".json"
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class LoraCard(BaseModel):
    """What a registered LoRA is: `<name>.json` beside `<name>.safetensors`.

    Attributes:
        name: The LoRA's name (file stem).
        trigger_words: Words that call up the style; `generate --lora NAME` adds them.
        base_model: The checkpoint file it was trained against.
        base_model_sha256: That checkpoint's hash ("" when unknown).
        spec: Every training knob of the run.
        dataset_sha256: The dataset's `manifest.json` hash.
        metrics: Final loss, steps, seconds, validation loss … (name -> number).
        val_losses: The run's (step, validation loss) pairs (`TrainOutcome.val_losses`), for
            `train eval`'s curve and convergence verdict; () when none were recorded.
        preview: A sample image made with it, if any.
        backend: "kohya" or "embedded".
        created: When it was registered (UTC).
        lora_sha256: The `.safetensors` file's hash, filled in on registration.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["dgxp_lora_card"] = "dgxp_lora_card"
    version: Literal[1] = 1
    name: str = ""
    trigger_words: tuple[str, ...] = ()
    base_model: str = ""
    base_model_sha256: str = ""
    spec: TrainingSpec = Field(default_factory=TrainingSpec)
    dataset_sha256: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    val_losses: tuple[tuple[int, float], ...] = ()
    preview: str | None = None
    backend: str = ""
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    lora_sha256: str = ""


def card_from_run(
    request: TrainRequest,
    outcome: TrainOutcome,
    *,
    base_model_sha256: str = "",
    dataset_sha256: str = "",
    preview: Path | None = None,
    metrics: Mapping[str, float] | None = None,
) -> LoraCard:
    """The card of a finished run (name, trigger, base model, spec, backend, metrics)."""
    figures: dict[str, float] = {"steps": outcome.steps, "seconds": round(outcome.seconds, 3)}
    if outcome.final_loss is not None:
        figures["final_loss"] = outcome.final_loss
    if outcome.val_losses:
        figures["final_val_loss"] = outcome.val_losses[-1][1]
    return LoraCard(
        name=request.output_name,
        trigger_words=(request.trigger,) if request.trigger else (),
        base_model=request.base_checkpoint.name,
        base_model_sha256=base_model_sha256,
        spec=request.spec,
        dataset_sha256=dataset_sha256,
        metrics={**figures, **(metrics or {})},
        val_losses=outcome.val_losses,
        preview=str(preview) if preview else None,
        backend=outcome.backend,
    )


def check_name(name: str) -> str:
    """`name` if it can be a LoRA's file stem.

    Raises:
        RegistryError: empty, too long, a path separator, a leading dot or dash, a character
            other than letters, digits, `.`, `_`, `-`, or a `.safetensors`/`.json` ending.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegistryError(
            "name",
            name,
            "a LoRA name is 1-100 letters, digits, '.', '_' or '-', starting with a letter or "
            "digit (no path separators)",
        )
    if name.lower().endswith((LORA_SUFFIX, CARD_SUFFIX)) or ".bak-" in name:
        raise RegistryError("name", name, "give the name without .safetensors/.json or .bak-")
    return name


@dataclass(frozen=True)
class Registration:
    """A registered LoRA: its files and the backups an overwrite made."""

    lora_path: Path
    card_path: Path
    card: LoraCard
    backups: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RegisteredLora:
    """One LoRA of the folder: its card, or why the card could not be read (None: no card)."""

    name: str
    path: Path
    card: LoraCard | None = None
    card_error: str | None = None

    @property
    def triggers(self) -> tuple[str, ...]:
        return self.card.trigger_words if self.card else ()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _backup_name(path: Path, stamp: str) -> Path:
    candidate = path.with_name(f"{path.name}.bak-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{n}")
    return candidate


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a filesystem without hard links
        shutil.copy2(source, target)


def register_lora(
    loras_dir: Path,
    name: str,
    lora_file: Path,
    card: LoraCard,
    *,
    overwrite: bool = False,
) -> Registration:
    """Copy a finished LoRA to `loras_dir/<name>.safetensors` with its card beside it.

    Args:
        loras_dir: The models folder's `loras/` (created if missing).
        name: The LoRA's name (see `check_name`).
        lora_file: The trained `.safetensors` (left where it is).
        card: Its card; `name`, `created` and `lora_sha256` are filled in here.
        overwrite: Replace a LoRA of this name, keeping the old pair as `.bak-<time>` files.

    Returns:
        The registered files, the card as written and any backups.

    Raises:
        RegistryError: a bad name, a missing `lora_file`, or a taken name without
            `overwrite`; nothing was written.
        OSError: copying or renaming failed (disk full …); the folder is as it was.
    """
    # 1. Check the name, the file and the collision rule.
    check_name(name)
    if not lora_file.is_file():
        raise RegistryError("lora_file", str(lora_file), "no such file to register")
    loras_dir.mkdir(parents=True, exist_ok=True)
    lora_path, card_path = loras_dir / f"{name}{LORA_SUFFIX}", loras_dir / f"{name}{CARD_SUFFIX}"
    taken = [p for p in (lora_path, card_path) if p.exists()]
    if taken and not overwrite:
        raise RegistryError(
            "name", name, f"{taken[0]} exists; choose another name or overwrite (it is backed up)"
        )
    # 2. The card as written: this name, now, the file's hash.
    final = card.model_copy(
        update={"name": name, "created": datetime.now(UTC), "lora_sha256": _sha256(lora_file)}
    )
    # 3. Keep the old pair as backups (hard links: the old files stay in place until the
    #    renames replace them), then write LoRA and card all or nothing.
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    backups: list[Path] = []
    card_text = final.model_dump_json(indent=2) + "\n"
    try:
        for old in taken:
            backups.append(_backup_name(old, stamp))
            _link_or_copy(old, backups[-1])
        write_files_atomic(
            {lora_path: lora_file.read_bytes(), card_path: card_text.encode("utf-8")}
        )
    except BaseException:
        for backup in backups:  # the old pair is still in place
            backup.unlink(missing_ok=True)
        raise
    log.info("registered LoRA %s at %s (backups: %d)", name, lora_path, len(backups))
    return Registration(lora_path, card_path, final, tuple(backups))


def _card_path(loras_dir: Path, name: str) -> Path:
    """`loras_dir/<name>.json` for any listed LoRA name (hand-copied ones may have spaces or
    sit in a subfolder), never outside `loras_dir`."""
    parts = Path(name.replace("\\", "/")).parts
    if not name or Path(name).is_absolute() or any(p in ("", ".", "..") for p in parts):
        raise RegistryError("name", name, "a LoRA name is a file name inside the loras folder")
    return loras_dir.joinpath(*parts[:-1], parts[-1] + CARD_SUFFIX)


def read_card(loras_dir: Path, name: str) -> LoraCard | None:
    """The card of LoRA `name` (its file stem, as listed), or None when it has none.

    Raises:
        RegistryError: a name reaching outside `loras_dir`, or the card exists but is
            unreadable, not JSON, or not a card.
    """
    path = _card_path(loras_dir, name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError("card", str(path), f"cannot be read ({exc})") from exc
    try:
        return LoraCard.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise RegistryError(
            "card", str(path), f"is not a valid LoRA card ({where}: {first['msg']})"
        ) from exc


def list_loras(loras_dir: Path) -> list[RegisteredLora]:
    """Every `.safetensors` in `loras_dir` (not hidden, not a backup), with its card if any.

    A corrupt card does not hide its LoRA: the entry carries `card_error` instead.
    """
    if not loras_dir.is_dir():
        return []
    found: list[RegisteredLora] = []
    for path in sorted(loras_dir.glob(f"*{LORA_SUFFIX}")):
        if path.name.startswith(".") or not path.is_file():
            continue
        name = path.name[: -len(LORA_SUFFIX)]
        try:
            found.append(RegisteredLora(name, path, read_card(loras_dir, name)))
        except RegistryError as exc:
            found.append(RegisteredLora(name, path, None, str(exc)))
    return found


def lora_triggers(loras_dir: Path, lora: str) -> tuple[str, ...]:
    """The trigger words on the card of `lora` (`name` or `name.safetensors`); () without
    a card.

    Raises:
        RegistryError: a name reaching outside the folder, or its card is corrupt.
    """
    stem = lora[: -len(LORA_SUFFIX)] if lora.endswith(LORA_SUFFIX) else lora
    card = read_card(loras_dir, stem)
    return card.trigger_words if card else ()
