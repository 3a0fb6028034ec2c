"""ComfyUI prompt semantics: `(x:w)` weights, escapes, and 77-token chunks for long prompts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.configs.tokenizer import build_clip_tokenizer
from engine.models.cache import ModelCache
from engine.models.prompt import chunk_tokens, parse_weights


def test_weights_nest_and_escapes_stay_literal() -> None:
    assert parse_weights(r"a (red:1.5) potion ((glow)) \(x\) (a:b)") == [
        ("a ", 1.0),
        ("red", 1.5),
        (" potion ", 1.0),
        ("glow", pytest.approx(1.21)),
        (r" (x) ", 1.0),
        ("a:b", pytest.approx(1.1)),
    ]


def test_short_prompt_chunk_equals_the_plain_tokenizer() -> None:
    tok = build_clip_tokenizer(pad_with_end=False)
    chunks = chunk_tokens(
        "a photo of a cat", lambda s: tok(s, add_special_tokens=False).input_ids, 49406, 49407, 0
    )
    assert len(chunks) == 1
    assert (
        list(chunks[0].ids)
        == tok("a photo of a cat", padding="max_length", max_length=77).input_ids
    )


def test_long_segment_is_split_across_chunks_and_short_words_move_whole() -> None:
    chunks = chunk_tokens("x" * 10, lambda s: [5] * 100, 1, 2, 0)
    assert [len(c.ids) for c in chunks] == [77, 77]
    assert chunks[0].ids[-1] == 2 and chunks[1].ids[:26] == (1, *([5] * 25))
    small = chunk_tokens("(a)(b)", lambda s: [7] * 72 if s == "a" else [8] * 5, 1, 2, 0)
    assert small[0].ids[72:] == (7, 2, 0, 0, 0)  # b (5 tokens) did not fit: ends, pads
    assert small[1].ids[:7] == (1, 8, 8, 8, 8, 8, 2)  # and moves whole to the next chunk
    assert small[1].weights[1] == pytest.approx(1.1)


@pytest.fixture(scope="module")
def clip(tiny_sdxl_checkpoint: Path) -> object:
    return ModelCache(device="cpu").load(tiny_sdxl_checkpoint).clip


def test_long_prompt_gives_two_chunks_of_conditioning(clip: object) -> None:
    cond, pooled = clip.encode("pixel art sword " * 30, "pixel art sword " * 30)  # type: ignore[attr-defined]
    assert cond.shape == (1, 154, 64) and pooled.shape == (1, 32)


def test_weight_changes_only_the_weighted_tokens(clip: object) -> None:
    plain, pooled = clip.encode("a red potion", "a red potion")  # type: ignore[attr-defined]
    same, _ = clip.encode("a (red:1.0) potion", "a (red:1.0) potion")  # type: ignore[attr-defined]
    assert torch.equal(plain, same)
    heavy, heavy_pooled = clip.encode("a (red:1.5) potion", "a (red:1.5) potion")  # type: ignore[attr-defined]
    changed = (heavy - plain).abs().sum(dim=-1)[0] > 1e-6
    assert changed.tolist() == [i == 2 for i in range(77)]  # <start> a red ...
    assert torch.allclose(pooled, heavy_pooled, atol=1e-6)  # the pooled output is never weighted
