"""The comparison label rule, the one every adapter shows (service/compare.py)."""

from __future__ import annotations

import pytest

from orchestrator.errors import InvalidRequest
from orchestrator.service.compare import label_of, labelled
from orchestrator.service.values import CompareVariant, LoraSpec


@pytest.mark.parametrize(
    ("variant", "label"),
    [
        (CompareVariant("mine", checkpoint="a.safetensors"), "mine"),
        (CompareVariant(checkpoint="sdxl/base_1.0.safetensors"), "base_1.0"),
        (CompareVariant(loras=(LoraSpec("pixel.safetensors"), LoraSpec("x"))), "pixel+x"),
        (CompareVariant(checkpoint="a.ckpt", loras=(LoraSpec("l.safetensors"),)), "a+l"),
        (CompareVariant(), "base"),
        (CompareVariant("  "), "base"),
    ],
)
def test_a_variant_is_labelled_by_its_own_label_else_its_models_else_base(
    variant: CompareVariant, label: str
) -> None:
    assert label_of(variant) == label


def test_labelled_fills_every_label_in_order() -> None:
    variants = [CompareVariant(), CompareVariant(loras=(LoraSpec("pix.safetensors"),))]
    assert [v.label for v in labelled(variants)] == ["base", "pix"]


def test_two_variants_with_one_label_are_refused_naming_both() -> None:
    variants = [CompareVariant(checkpoint="a.safetensors"), CompareVariant("a")]
    with pytest.raises(InvalidRequest) as caught:
        labelled(variants)
    assert caught.value.field == "variants[1].label" and "variants[0]" in str(caught.value)


def test_a_label_over_200_characters_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"variants\[0\]\.label"):
        labelled([CompareVariant("x" * 201), CompareVariant()])
