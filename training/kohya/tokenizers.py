"""sd-scripts' tokenizer cache, filled from the tokenizer data that ships with the engine.

sd-scripts loads SDXL's two CLIP tokenizers by hub id (`openai/clip-vit-large-patch14` and
`laion/CLIP-ViT-bigG-14-laion2B-39B-b160k`) unless `--tokenizer_cache_dir` holds a folder
named after the id with `/` turned into `_`; then it calls `CLIPTokenizer.from_pretrained`
on that folder (`library/strategy_base.py` `_load_tokenizer`, `library/sdxl_train_util.py`
`load_tokenizers` in older checkouts). A machine without the hub would fail there, so before
a run we write both folders from the engine's offline tokenizers (`save_pretrained`, plus
the BPE model's `vocab.json` and `merges.txt`, which transformers 4.x's `CLIPTokenizer` that
sd-scripts pins needs and transformers 5 no longer writes):
CLIP-L pads with `<|endoftext|>` (as the hub's CLIP-L does) and CLIP-G with `!` (id 0, which
sd-scripts sets again after loading).

A folder that is already there is left alone (sd-scripts may have saved it from the hub).
Each folder is written beside its final name and renamed into place, so a run never sees a
half-written tokenizer.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from comfy_nodes.pixel.atomic import write_folder_atomic
from training.errors import TrainingError

if TYPE_CHECKING:
    from transformers import CLIPTokenizer

__all__ = [
    "SD_SCRIPTS_TOKENIZER_IDS",
    "TokenizerCache",
    "cache_folder",
    "fill_tokenizer_cache",
]

logger = logging.getLogger(__name__)

# sd-scripts' TOKENIZER1_PATH and TOKENIZER2_PATH (library/strategy_sdxl.py).
SD_SCRIPTS_TOKENIZER_IDS: Final = (
    "openai/clip-vit-large-patch14",
    "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k",
)


@dataclass(frozen=True)
class TokenizerCache:
    """What `fill_tokenizer_cache` found or wrote.

    Attributes:
        folders: The CLIP-L and CLIP-G folders, in sd-scripts' order.
        written: The folders this call wrote (empty when both were there already).
    """

    folders: tuple[Path, Path]
    written: tuple[Path, ...]


def cache_folder(cache_dir: Path, model_id: str) -> Path:
    """The folder sd-scripts reads for `model_id` under `cache_dir`."""
    return cache_dir / model_id.replace("/", "_")


def fill_tokenizer_cache(cache_dir: Path) -> TokenizerCache:
    """Write both SDXL tokenizers into `cache_dir` as sd-scripts looks for them.

    Args:
        cache_dir: sd-scripts' `tokenizer_cache_dir`; created when missing.

    Returns:
        Both folders, and which of them this call wrote.

    Raises:
        TrainingError: the folder cannot be written, or the engine's tokenizer data is
            missing (named).
    """
    folders = (
        cache_folder(cache_dir, SD_SCRIPTS_TOKENIZER_IDS[0]),
        cache_folder(cache_dir, SD_SCRIPTS_TOKENIZER_IDS[1]),
    )
    missing = [(i, folder) for i, folder in enumerate(folders) if not folder.exists()]
    if not missing:
        return TokenizerCache(folders, ())
    tokenizers = _engine_tokenizers()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for i, folder in missing:
            _save_atomically(tokenizers[i], folder)
    except OSError as exc:
        raise TrainingError(
            "tokenizer_cache_dir", str(cache_dir), f"cannot write the tokenizers there: {exc}"
        ) from exc
    written = tuple(folder for _, folder in missing)
    logger.info("tokenizer cache for sd-scripts written: %s", ", ".join(map(str, written)))
    return TokenizerCache(folders, written)


@functools.cache  # ~1 s to build; read-only afterwards (only saved)
def _engine_tokenizers() -> tuple[CLIPTokenizer, CLIPTokenizer]:
    from engine import build_sdxl_tokenizers

    try:
        return build_sdxl_tokenizers()
    except FileNotFoundError as exc:
        raise TrainingError(
            "tokenizer_cache_dir", "", f"the engine's tokenizer data is missing: {exc}"
        ) from exc


def _save_atomically(tokenizer: CLIPTokenizer, folder: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer.save_pretrained(scratch)
        # vocab.json + merges.txt: the files sd-scripts' transformers 4.x (slow CLIPTokenizer)
        # reads; transformers 5 saves tokenizer.json only
        tokenizer.backend_tokenizer.model.save(scratch)
        files = {p.name: p.read_bytes() for p in Path(scratch).iterdir() if p.is_file()}
    try:
        write_folder_atomic(files, folder)
    except OSError:
        if not folder.is_dir():  # another run may have put it there first: keep theirs
            raise
