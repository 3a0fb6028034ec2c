"""SDXL's two CLIP tokenizers, built offline from the BPE file that `openai-clip` ships.

OpenAI's `SimpleTokenizer` derives its vocabulary from `bpe_simple_vocab_16e6.txt.gz`: the
256 byte symbols, the same with `</w>`, one entry per merge (lines 1..48894), then the two
special tokens. We build the same vocabulary and merges into a `transformers.CLIPTokenizer`
so no hub download is needed. The `clip` package itself is never imported: its `__init__`
pulls in torchvision, which must not be installed next to the CPU torch.

SDXL pads differently per encoder (as diffusers' SDXL pipeline does): tokenizer 1 (CLIP-L)
pads with `<|endoftext|>`, tokenizer 2 (CLIP-G) pads with `!` (id 0).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import CLIPTokenizer

__all__ = [
    "bpe_vocab_path",
    "build_clip_tokenizer",
    "build_sdxl_tokenizers",
    "bytes_to_unicode",
    "clip_vocab_and_merges",
]

_BPE_NAME = "bpe_simple_vocab_16e6.txt.gz"
_N_MERGES = 49152 - 256 - 2


def bpe_vocab_path() -> Path:
    """Locate `clip/bpe_simple_vocab_16e6.txt.gz` without importing the `clip` package.

    Raises:
        FileNotFoundError: `openai-clip` is not installed (install the `engine` extra).
    """
    spec = importlib.util.find_spec("clip")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / _BPE_NAME
        if candidate.is_file():
            return candidate
    try:
        located = Path(
            str(importlib.metadata.distribution("openai-clip").locate_file(f"clip/{_BPE_NAME}"))
        )
    except importlib.metadata.PackageNotFoundError as exc:
        raise FileNotFoundError(
            f"CLIP BPE vocabulary {_BPE_NAME} not found: install the `openai-clip` package "
            "(pip install 'dgx-pixels[engine]')"
        ) from exc
    if not located.is_file():
        raise FileNotFoundError(f"CLIP BPE vocabulary missing at {located}; reinstall openai-clip")
    return located


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte → printable unicode map."""
    bs = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def clip_vocab_and_merges(
    bpe_path: Path | None = None,
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The vocabulary and merge list exactly as OpenAI's `SimpleTokenizer` builds them."""
    lines = gzip.decompress((bpe_path or bpe_vocab_path()).read_bytes()).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : _N_MERGES + 1]]
    symbols = list(bytes_to_unicode().values())
    vocab_list = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    pairs: list[tuple[str, str]] = [(m[0], m[1]) for m in merges]
    return {token: i for i, token in enumerate(vocab_list)}, pairs


def build_clip_tokenizer(
    pad_with_end: bool = True,
    bpe_path: Path | None = None,
    vocab_and_merges: tuple[dict[str, int], list[tuple[str, str]]] | None = None,
) -> CLIPTokenizer:
    """A `CLIPTokenizer` (77 tokens) for SDXL.

    Args:
        pad_with_end: True for tokenizer 1 (pads with `<|endoftext|>`), False for tokenizer 2
            (pads with `!`, id 0), as in diffusers' SDXL.
        bpe_path: The BPE file; found in the `openai-clip` install when omitted.
        vocab_and_merges: An already parsed `clip_vocab_and_merges()` (to build both
            tokenizers from one parse).
    """
    from transformers import CLIPTokenizer

    vocab, merges = vocab_and_merges or clip_vocab_and_merges(bpe_path)
    return CLIPTokenizer(
        vocab=vocab,
        merges=merges,  # type: ignore[arg-type]  # tokenizers' BPE takes (a, b) pairs too
        pad_token="<|endoftext|>" if pad_with_end else "!",
        model_max_length=77,
    )


def build_sdxl_tokenizers(bpe_path: Path | None = None) -> tuple[CLIPTokenizer, CLIPTokenizer]:
    """SDXL's two tokenizers from one parse of the BPE file.

    Args:
        bpe_path: The BPE file; found in the `openai-clip` install when omitted.

    Returns:
        CLIP-L's tokenizer (pads with `<|endoftext|>`) and CLIP-G's (pads with `!`).
    """
    parsed = clip_vocab_and_merges(bpe_path)
    return (
        build_clip_tokenizer(True, vocab_and_merges=parsed),
        build_clip_tokenizer(False, vocab_and_merges=parsed),
    )
