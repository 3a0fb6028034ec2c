"""The LoRA registry: `<name>.safetensors` + `<name>.json` card, all or nothing; a taken name
refused unless overwritten (with a backup); names checked; corrupt cards reported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from training.backend import TrainOutcome, TrainRequest
from training.errors import RegistryError
from training.registry import (
    LoraCard,
    card_from_run,
    check_name,
    list_loras,
    lora_triggers,
    read_card,
    register_lora,
)
from training.spec import TrainingSpec


def _lora(tmp_path: Path, content: bytes = b"lora-bytes") -> Path:
    path = tmp_path / "work" / "out.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _card(**changes: object) -> LoraCard:
    values: dict[str, object] = {"trigger_words": ("pxlknight",), "backend": "kohya", **changes}
    return LoraCard.model_validate(values)


def _folder(loras: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(loras.iterdir())} if loras.exists() else {}


def test_a_lora_is_registered_with_its_card_beside_it(tmp_path: Path) -> None:
    loras = tmp_path / "models" / "loras"
    done = register_lora(loras, "knight", _lora(tmp_path), _card())
    assert done.lora_path == loras / "knight.safetensors" and done.backups == ()
    assert done.lora_path.read_bytes() == b"lora-bytes"
    card = json.loads(done.card_path.read_text())
    assert card["name"] == "knight" and card["trigger_words"] == ["pxlknight"]
    assert card["type"] == "dgxp_lora_card" and len(card["lora_sha256"]) == 64
    assert sorted(_folder(loras)) == ["knight.json", "knight.safetensors"]  # no temp left
    assert read_card(loras, "knight") == done.card


def test_a_taken_name_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    loras = tmp_path / "loras"
    register_lora(loras, "knight", _lora(tmp_path, b"first"), _card())
    before = _folder(loras)
    with pytest.raises(RegistryError) as refused:
        register_lora(loras, "knight", _lora(tmp_path, b"second"), _card())
    assert refused.value.field == "name" and "overwrite" in refused.value.reason
    assert _folder(loras) == before


def test_a_card_alone_also_takes_the_name(tmp_path: Path) -> None:
    loras = tmp_path / "loras"
    loras.mkdir()
    (loras / "knight.json").write_text("{}")
    with pytest.raises(RegistryError):
        register_lora(loras, "knight", _lora(tmp_path), _card())


def test_overwrite_backs_the_old_pair_up(tmp_path: Path) -> None:
    loras = tmp_path / "loras"
    first = register_lora(loras, "knight", _lora(tmp_path, b"first"), _card())
    second = register_lora(
        loras, "knight", _lora(tmp_path, b"second"), _card(trigger_words=("pxl2",)), overwrite=True
    )
    assert second.lora_path.read_bytes() == b"second"
    assert lora_triggers(loras, "knight.safetensors") == ("pxl2",)
    backups = {p.name.split(".bak-")[0]: p for p in second.backups}
    assert backups["knight.safetensors"].read_bytes() == b"first"
    assert json.loads(backups["knight.json"].read_text())["lora_sha256"] == first.card.lora_sha256
    # backups are not LoRAs any loader lists
    assert [entry.name for entry in list_loras(loras)] == ["knight"]


def test_a_failure_mid_registration_leaves_the_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loras = tmp_path / "loras"
    register_lora(loras, "knight", _lora(tmp_path, b"first"), _card())
    before = _folder(loras)
    real_replace = os.replace

    def disk_full_on_the_lora(src: str | Path, dst: str | Path) -> None:
        if Path(dst).parent == loras and Path(dst).suffix == ".safetensors":  # the publish
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full_on_the_lora)
    with pytest.raises(OSError, match="No space"):
        register_lora(loras, "knight", _lora(tmp_path, b"second"), _card(), overwrite=True)
    with pytest.raises(OSError, match="No space"):
        register_lora(loras, "other", _lora(tmp_path, b"second"), _card())
    monkeypatch.setattr(os, "replace", real_replace)
    assert _folder(loras) == before  # old pair intact, no card of "other", no temp or backup


def test_a_missing_file_to_register_is_named(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as refused:
        register_lora(tmp_path / "loras", "knight", tmp_path / "nope.safetensors", _card())
    assert refused.value.field == "lora_file"
    assert not (tmp_path / "loras").exists() or not any((tmp_path / "loras").iterdir())


@pytest.mark.parametrize(
    "name",
    ["", "../knight", "a/b", "a\\b", ".hidden", "-dash", "knight.safetensors", "x.json",
     "knight.bak-1", "sp ace", "x" * 101, "nul\x00"],
)  # fmt: skip
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(RegistryError) as refused:
        register_lora(tmp_path / "loras", name, _lora(tmp_path), _card())
    assert refused.value.field == "name" and refused.value.value == name
    assert not (tmp_path / "loras").exists()


def test_good_names_pass() -> None:
    for name in ("knight", "Knight_v2", "pixel-art.xl", "9lives"):
        assert check_name(name) == name


def test_loras_without_cards_and_with_corrupt_cards_are_still_listed(tmp_path: Path) -> None:
    loras = tmp_path / "loras"
    register_lora(loras, "carded", _lora(tmp_path), _card())
    (loras / "hand copied (v2).safetensors").write_bytes(b"x")
    (loras / "broken.safetensors").write_bytes(b"x")
    (loras / "broken.json").write_text("{not json")
    (loras / "wrongcard.safetensors").write_bytes(b"x")
    (loras / "wrongcard.json").write_text(json.dumps({"trigger_words": "not a list", "x": 1}))
    entries = {entry.name: entry for entry in list_loras(loras)}
    assert sorted(entries) == ["broken", "carded", "hand copied (v2)", "wrongcard"]
    assert entries["carded"].triggers == ("pxlknight",)
    assert (
        entries["hand copied (v2)"].card is None and entries["hand copied (v2)"].card_error is None
    )
    for bad in ("broken", "wrongcard"):
        assert entries[bad].card is None and str(loras / f"{bad}.json") in str(
            entries[bad].card_error
        )
    with pytest.raises(RegistryError) as refused:
        lora_triggers(loras, "broken")
    assert refused.value.field == "card" and "not a valid LoRA card" in refused.value.reason
    assert lora_triggers(loras, "hand copied (v2).safetensors") == ()
    assert lora_triggers(loras, "missing") == ()


def test_a_card_lookup_never_leaves_the_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text(_card().model_dump_json())
    with pytest.raises(RegistryError):
        lora_triggers(tmp_path / "loras", "../secret")


def test_a_card_from_a_run_holds_spec_trigger_base_model_and_metrics(tmp_path: Path) -> None:
    spec = TrainingSpec(rank=8, steps=50)
    request = TrainRequest(
        spec, tmp_path / "ds", tmp_path / "sdxl.safetensors", tmp_path, "knight", "pxl"
    )
    outcome = TrainOutcome(
        tmp_path / "k.safetensors", "embedded", 50, 12.5, 0.07, ((25, 0.1), (50, 0.08))
    )
    card = card_from_run(request, outcome, base_model_sha256="ab" * 32, dataset_sha256="cd" * 32)
    assert (card.name, card.trigger_words, card.base_model) == (
        "knight",
        ("pxl",),
        "sdxl.safetensors",
    )
    assert card.spec == spec and card.backend == "embedded"
    assert card.metrics == {
        "steps": 50,
        "seconds": 12.5,
        "final_loss": 0.07,
        "final_val_loss": 0.08,
    }
    assert LoraCard.model_validate_json(card.model_dump_json()) == card
