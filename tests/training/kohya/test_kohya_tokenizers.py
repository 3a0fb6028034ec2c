"""sd-scripts' tokenizer cache filled from the engine's offline tokenizers: the folders load
with `CLIPTokenizer.from_pretrained` as sd-scripts loads them and tokenize like the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import build_sdxl_tokenizers
from training.errors import TrainingError
from training.kohya.tokenizers import SD_SCRIPTS_TOKENIZER_IDS, cache_folder, fill_tokenizer_cache

transformers = pytest.importorskip("transformers")

CAPTION = "pxlknight, a knight in red armour, 16 colours, transparent background"


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache_dir = tmp_path_factory.mktemp("tokenizers") / "cache"  # created by the fill
    fill_tokenizer_cache(cache_dir)
    return cache_dir


def _ids(tokenizer: object, text: str) -> list[int]:
    out = tokenizer(text, padding="max_length", max_length=77, truncation=True)  # type: ignore[operator]
    return list(out.input_ids)


def test_the_folders_are_named_as_sd_scripts_looks_for_them(filled: Path) -> None:
    # strategy_base._load_tokenizer: os.path.join(cache_dir, model_id.replace("/", "_"))
    assert sorted(p.name for p in filled.iterdir()) == [
        "laion_CLIP-ViT-bigG-14-laion2B-39B-b160k",
        "openai_clip-vit-large-patch14",
    ]
    for model_id in SD_SCRIPTS_TOKENIZER_IDS:
        folder = cache_folder(filled, model_id)
        assert {"vocab.json", "merges.txt", "tokenizer_config.json"} <= {
            p.name for p in folder.iterdir()
        }


def test_each_folder_tokenizes_a_caption_like_the_engine(filled: Path) -> None:
    engine_l, engine_g = build_sdxl_tokenizers()
    for model_id, engine_tok in zip(SD_SCRIPTS_TOKENIZER_IDS, (engine_l, engine_g), strict=True):
        loaded = transformers.CLIPTokenizer.from_pretrained(str(cache_folder(filled, model_id)))
        assert _ids(loaded, CAPTION) == _ids(engine_tok, CAPTION)
        assert loaded.model_max_length == 77
        assert len(loaded) == 49408


def test_clip_l_pads_with_end_of_text_and_clip_g_with_the_exclamation_mark(filled: Path) -> None:
    clip_l, clip_g = (
        transformers.CLIPTokenizer.from_pretrained(str(cache_folder(filled, model_id)))
        for model_id in SD_SCRIPTS_TOKENIZER_IDS
    )
    assert (clip_l.pad_token, clip_l.pad_token_id) == ("<|endoftext|>", 49407)
    assert (clip_g.pad_token, clip_g.pad_token_id) == ("!", 0)  # sd-scripts sets 0 again
    assert _ids(clip_l, "knight")[-1] == 49407 and _ids(clip_g, "knight")[-1] == 0


def test_a_folder_already_there_is_left_alone(tmp_path: Path) -> None:
    theirs = cache_folder(tmp_path, SD_SCRIPTS_TOKENIZER_IDS[0])
    theirs.mkdir()
    (theirs / "marker").write_text("saved by sd-scripts from the hub")
    cache = fill_tokenizer_cache(tmp_path)
    assert cache.written == (cache_folder(tmp_path, SD_SCRIPTS_TOKENIZER_IDS[1]),)
    assert [p.name for p in theirs.iterdir()] == ["marker"]
    assert fill_tokenizer_cache(tmp_path).written == ()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_cache_dir_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(TrainingError, match=r"tokenizer_cache_dir=.*not-a-folder") as caught:
        fill_tokenizer_cache(blocker / "cache")
    assert caught.value.field == "tokenizer_cache_dir"
    assert blocker.read_text() == "a file where the cache folder should be"
