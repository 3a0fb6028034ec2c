"""LoRA cards in the service: trigger words into prompts, triggers into model listings.

A LoRA registered by training (`training.registry`) has a card beside it in the models
folder's `loras/`. Generating with it adds the card's trigger words to the prompt (unless
the request says `add_triggers=False`: the CLI's `--no-trigger`), so `generate --lora
knight` draws in the style without the user remembering the word. The rule lives here,
once, for every adapter (CLI, ZMQ, MCP, compare).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from orchestrator.errors import InvalidRequest
from orchestrator.service.values import GenerationRequest, ModelInfo

__all__ = ["with_cards", "with_triggers"]

log = logging.getLogger(__name__)

# training.registry (pydantic models) is imported on first use: most requests carry no LoRA.


def _mentions(prompt: str, word: str) -> bool:
    """The prompt already holds `word` as a whole word (any case)."""
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", prompt, re.IGNORECASE) is not None


def with_triggers(request: GenerationRequest, loras_dir: Path) -> GenerationRequest:
    """`request` with its LoRAs' trigger words put before the prompt (each once, and only
    those the prompt does not already hold); unchanged without LoRAs or `add_triggers`.

    Raises:
        InvalidRequest: a LoRA's card is corrupt (field `loras[i]`), naming the card.
    """
    if not request.add_triggers or not request.loras:
        return request
    from training.errors import RegistryError
    from training.registry import lora_triggers

    words: list[str] = []
    for i, lora in enumerate(request.loras):
        try:
            triggers = lora_triggers(loras_dir, lora.name)
        except RegistryError as exc:
            raise InvalidRequest(
                f"loras[{i}]",
                lora.name,
                f"its card {exc.value} {exc.reason}; fix or delete the card, or generate "
                "without trigger words (--no-trigger)",
            ) from exc
        words += [w for w in triggers if w not in words and not _mentions(request.prompt, w)]
    if not words:
        return request
    log.debug("prompt gets trigger words %s", words)
    return replace(request, prompt=", ".join([*words, request.prompt]))


def with_cards(items: Sequence[ModelInfo], loras_dir: Path) -> list[ModelInfo]:
    """LoRA listings with the trigger words of their cards (or why a card is unreadable)."""
    from training.errors import RegistryError
    from training.registry import LORA_SUFFIX, read_card

    carded: list[ModelInfo] = []
    for item in items:
        stem = item.name[: -len(LORA_SUFFIX)] if item.name.endswith(LORA_SUFFIX) else None
        if item.folder != "loras" or stem is None:
            carded.append(item)
            continue
        try:
            card = read_card(loras_dir, stem)
        except RegistryError as exc:
            carded.append(replace(item, card_error=f"{exc.value}: {exc.reason}"))
            continue
        carded.append(replace(item, triggers=card.trigger_words) if card else item)
    return carded
