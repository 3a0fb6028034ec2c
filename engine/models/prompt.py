"""ComfyUI's prompt handling: `(text:1.2)` weights and 77-token chunks for long prompts.

Follows `comfy/sd1_clip.py`: `(x)` multiplies the weight by 1.1, `(x:w)` sets it, `\\(` and
`\\)` are literal brackets. Each weighted segment is tokenised on its own; segments are packed
into 77-token chunks (`<start> … <end> <pad>…`), a segment of 8+ tokens may be split across
chunks, a shorter one moves whole to the next chunk. When any weight is not 1, every token
state is pushed away from the empty prompt's: `z = (z - z_empty) * w + z_empty`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["WeightedChunk", "apply_weights", "chunk_tokens", "parse_weights"]

MAX_LENGTH = 77
MAX_WORD_LENGTH = 8
_ESCAPES = (("\\)", "\0\1"), ("\\(", "\0\2"))


@dataclass(frozen=True)
class WeightedChunk:
    """One 77-token CLIP input and each position's weight."""

    ids: tuple[int, ...]
    weights: tuple[float, ...]


def _split_parentheses(text: str) -> list[str]:
    """Top-level pieces: plain runs and whole `( … )` groups."""
    result, current, depth = [], "", 0
    for char in text:
        if char == "(":
            if depth == 0 and current:
                result.append(current)
                current = ""
            current += char
            depth += 1
        elif char == ")" and depth > 0:
            depth -= 1
            current += char
            if depth == 0:
                result.append(current)
                current = ""
        else:
            current += char
    if current:
        result.append(current)
    return result


def _weights(text: str, weight: float) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for piece in _split_parentheses(text):
        if len(piece) >= 2 and piece[0] == "(" and piece[-1] == ")":
            inner, inner_weight = piece[1:-1], weight * 1.1
            colon = inner.rfind(":")
            if colon > 0:
                # "(a:b)" without a number stays plain text at weight 1.1, as in ComfyUI.
                with contextlib.suppress(ValueError):
                    inner_weight, inner = float(inner[colon + 1 :]), inner[:colon]
            out += _weights(inner, inner_weight)
        else:
            out.append((piece, weight))
    return out


def parse_weights(text: str) -> list[tuple[str, float]]:
    """Split a prompt into (segment, weight) pairs the way ComfyUI does."""
    for raw, mark in _ESCAPES:
        text = text.replace(raw, mark)
    pairs = _weights(text, 1.0)
    restored = []
    for segment, weight in pairs:
        for raw, mark in _ESCAPES:
            segment = segment.replace(mark, raw[1])
        restored.append((segment, weight))
    return restored


def chunk_tokens(
    text: str, encode: Callable[[str], list[int]], start: int, end: int, pad: int
) -> list[WeightedChunk]:
    """Tokenise `text` into ComfyUI's 77-token chunks.

    Args:
        text: The prompt, with optional `(x:w)` weights.
        encode: Text → token ids without start/end tokens.
        start: Start-of-text id. end: End-of-text id. pad: Padding id.
    """
    groups = [[(t, w) for t in encode(seg)] for seg, w in parse_weights(text) if seg]
    chunks: list[list[tuple[int, float]]] = [[(start, 1.0)]]
    for group in groups:
        is_large = len(group) >= MAX_WORD_LENGTH
        while group:
            batch = chunks[-1]
            if len(group) + len(batch) <= MAX_LENGTH - 1:
                batch.extend(group)
                break
            room = MAX_LENGTH - len(batch) - 1
            if is_large:
                batch.extend(group[:room])
                group = group[room:]
            batch.append((end, 1.0))
            batch.extend([(pad, 1.0)] * (MAX_LENGTH - len(batch)))
            chunks.append([(start, 1.0)])
    last = chunks[-1]
    last.append((end, 1.0))
    last.extend([(pad, 1.0)] * (MAX_LENGTH - len(last)))
    return [WeightedChunk(tuple(t for t, _ in c), tuple(w for _, w in c)) for c in chunks]


def apply_weights(
    states: torch.Tensor, empty: torch.Tensor, chunks: list[WeightedChunk]
) -> torch.Tensor:
    """Weight token states [chunks, 77, D] against the empty prompt's [77, D]; concat chunks."""
    weights = torch.tensor([c.weights for c in chunks], dtype=states.dtype, device=states.device)
    weighted = (states - empty) * weights.unsqueeze(-1) + empty
    mask = (weights != 1.0).unsqueeze(-1)
    out = torch.where(mask, weighted, states)
    return out.reshape(1, -1, states.shape[-1])
