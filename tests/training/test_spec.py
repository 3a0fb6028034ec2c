"""`train.toml`: the issue's defaults, and refusals naming the key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.errors import SpecError
from training.spec import TrainingSpec, load_spec


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "train.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_empty_file_gives_the_pixel_art_defaults(tmp_path: Path) -> None:
    spec = load_spec(_toml(tmp_path, ""))
    assert (spec.rank, spec.alpha, spec.learning_rate, spec.steps) == (32, 16.0, 1e-4, 3000)
    assert (spec.optimizer, spec.mixed_precision, spec.gradient_checkpointing) == (
        "adamw",
        "bf16",
        True,
    )
    assert spec.resize_interpolation == "nearest"
    assert not spec.color_aug and not spec.random_crop
    assert spec.cache_latents and spec.cache_text_encoder_outputs


def test_given_keys_override_the_defaults(tmp_path: Path) -> None:
    spec = load_spec(_toml(tmp_path, "rank = 16\nalpha = 8\nsteps = 1500\nmin_snr_gamma = 5.0\n"))
    assert (spec.rank, spec.alpha, spec.steps, spec.min_snr_gamma) == (16, 8.0, 1500, 5.0)


def test_unknown_key_is_refused_naming_it_and_listing_valid_keys(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(_toml(tmp_path, "rank = 16\nlearning_rat = 1e-4\n"))
    assert caught.value.field == "learning_rat"
    assert "unknown key in train.toml" in str(caught.value)
    assert "learning_rate" in str(caught.value)


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("rank = 0", "rank", 0),
        ("rank = 512", "rank", 512),
        ("steps = 0", "steps", 0),
        ("steps = 1000000", "steps", 1_000_000),
        ("learning_rate = 0.5", "learning_rate", 0.5),
        ("learning_rate = -1e-4", "learning_rate", -1e-4),
        ('resize_interpolation = "bicubic"', "resize_interpolation", "bicubic"),
        ('rank = "big"', "rank", "big"),
    ],
)
def test_out_of_range_values_are_refused_naming_key_and_value(
    tmp_path: Path, line: str, key: str, value: object
) -> None:
    with pytest.raises(SpecError, match=rf"^{key}=") as caught:
        load_spec(_toml(tmp_path, line + "\n"))
    assert (caught.value.field, caught.value.value) == (key, value)


def test_bad_toml_and_a_missing_file_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"train\.toml.*not valid TOML"):
        load_spec(_toml(tmp_path, "rank = \n"))
    with pytest.raises(SpecError, match=r"nope\.toml.*cannot be read"):
        load_spec(tmp_path / "nope.toml")


def test_the_spec_is_frozen() -> None:
    spec = TrainingSpec()
    with pytest.raises(ValueError, match="frozen"):
        spec.rank = 4
