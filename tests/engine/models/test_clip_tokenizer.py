"""SDXL's tokenizers built offline from openai-clip's BPE file match CLIP's known ids."""

from __future__ import annotations

import sys

from engine.configs.tokenizer import bpe_vocab_path, build_clip_tokenizer, clip_vocab_and_merges


def test_known_prompt_gives_clip_ids_and_pads_per_encoder() -> None:
    l_tok, g_tok = build_clip_tokenizer(pad_with_end=True), build_clip_tokenizer(pad_with_end=False)
    ids = [49406, 320, 1125, 539, 320, 2368, 49407]  # "a photo of a cat" in OpenAI CLIP
    assert l_tok("a photo of a cat", padding="max_length", max_length=9).input_ids == [
        *ids,
        49407,
        49407,
    ]
    assert g_tok("a photo of a cat", padding="max_length", max_length=9).input_ids == [*ids, 0, 0]
    assert len(l_tok) == 49408 and l_tok.model_max_length == 77


def test_vocab_matches_simple_tokenizer_layout_without_importing_clip() -> None:
    vocab, merges = clip_vocab_and_merges()
    assert len(vocab) == 49408 and len(merges) == 48894
    assert vocab["!"] == 0 and vocab["<|startoftext|>"] == 49406 and vocab["<|endoftext|>"] == 49407
    assert bpe_vocab_path().name == "bpe_simple_vocab_16e6.txt.gz"
    assert "clip" not in sys.modules  # its __init__ needs torchvision
