"""LoRA cards in the service: `--lora NAME` puts the card's trigger words before the prompt
(unless `add_triggers=False`), listings carry the triggers, and a corrupt card is refused
by name without storing a job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from service_testkit import MakeService, tiny_request

from orchestrator.errors import InvalidRequest
from orchestrator.service.lora_cards import with_cards, with_triggers
from orchestrator.service.values import GenerationRequest, LoraSpec, ModelInfo
from training.registry import LoraCard


def _card(loras: Path, stem: str, *triggers: str) -> None:
    loras.mkdir(parents=True, exist_ok=True)
    card = LoraCard(name=stem, trigger_words=triggers, backend="kohya")
    (loras / f"{stem}.json").write_text(card.model_dump_json())


def _request(prompt: str, *names: str, add: bool = True) -> GenerationRequest:
    loras = tuple(LoraSpec(name) for name in names)
    return GenerationRequest(prompt=prompt, loras=loras, add_triggers=add)


def test_trigger_words_go_before_the_prompt_once_each(tmp_path: Path) -> None:
    _card(tmp_path, "knight", "pxlknight", "pixel style")
    _card(tmp_path, "potion", "pxlknight", "glowing")
    done = with_triggers(_request("a red potion", "knight.safetensors", "potion"), tmp_path)
    assert done.prompt == "pxlknight, pixel style, glowing, a red potion"


def test_a_trigger_already_in_the_prompt_is_not_repeated(tmp_path: Path) -> None:
    _card(tmp_path, "knight", "pxlknight")
    request = _request("PxlKnight holding a red potion", "knight.safetensors")
    assert with_triggers(request, tmp_path) == request
    partial = _request("pxlknightly robes", "knight.safetensors")  # not the whole word
    assert with_triggers(partial, tmp_path).prompt == "pxlknight, pxlknightly robes"


def test_no_trigger_no_lora_and_no_card_leave_the_prompt_alone(tmp_path: Path) -> None:
    _card(tmp_path, "knight", "pxlknight")
    for request in (
        _request("a potion", "knight.safetensors", add=False),
        _request("a potion"),
        _request("a potion", "hand-copied.safetensors"),
    ):
        assert with_triggers(request, tmp_path).prompt == "a potion"


def test_a_corrupt_card_is_refused_naming_the_lora_and_the_card(tmp_path: Path) -> None:
    (tmp_path / "knight.json").write_text("{broken")
    with pytest.raises(InvalidRequest) as refused:
        with_triggers(_request("a potion", "other", "knight.safetensors"), tmp_path)
    assert refused.value.field == "loras[1]" and refused.value.value == "knight.safetensors"
    assert str(tmp_path / "knight.json") in refused.value.reason
    assert "--no-trigger" in refused.value.reason
    assert with_triggers(_request("a potion", "knight", add=False), tmp_path).prompt == "a potion"


def test_listings_carry_triggers_and_card_problems(tmp_path: Path) -> None:
    _card(tmp_path, "knight", "pxlknight")
    (tmp_path / "broken.json").write_text("[]")
    items = [
        ModelInfo("knight.safetensors", "loras", "local"),
        ModelInfo("broken.safetensors", "loras", "local"),
        ModelInfo("plain.safetensors", "loras", "local"),
        ModelInfo("knight.safetensors", "checkpoints", "local"),
    ]
    knight, broken, plain, checkpoint = with_cards(items, tmp_path)
    assert knight.triggers == ("pxlknight",) and not knight.card_error
    assert broken.triggers == () and "broken.json" in broken.card_error
    assert plain == items[2] and checkpoint == items[3]


def test_a_submitted_job_stores_the_prompt_with_its_trigger(
    orch_engine: Any, make_service: MakeService, tmp_path: Path
) -> None:
    # The backend lists tiny_lora.safetensors; this service's own models folder has its card.
    models = tmp_path / "local-models"
    _card(models / "loras", "tiny_lora", "pxltiny")
    service = make_service([orch_engine.url], start=False, models_dir=models)
    lora = (LoraSpec("tiny_lora", 0.5),)
    (job,) = service.submit(tiny_request(loras=lora))
    assert job.params["prompt"] == "pxltiny, a red potion"
    (plain,) = service.submit(tiny_request(loras=lora, add_triggers=False))
    assert plain.params["prompt"] == "a red potion"
    listed = {m.name: m for m in service.loras()}
    assert listed["tiny_lora.safetensors"].triggers == ("pxltiny",)


def test_a_corrupt_card_stores_no_job(
    orch_engine: Any, make_service: MakeService, tmp_path: Path
) -> None:
    models = tmp_path / "local-models"
    (models / "loras").mkdir(parents=True)
    (models / "loras" / "tiny_lora.json").write_text('{"trigger_words": 5}')
    service = make_service([orch_engine.url], start=False, models_dir=models)
    with pytest.raises(InvalidRequest, match=r"tiny_lora\.json"):
        service.submit(tiny_request(loras=(LoraSpec("tiny_lora"),)))
    assert service.list_jobs() == []
