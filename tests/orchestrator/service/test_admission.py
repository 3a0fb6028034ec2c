"""Admission builds checked job rows from requests and compares, and stores nothing itself."""

from __future__ import annotations

from typing import Any

import pytest
from service_testkit import FAST, MakeService, tiny_request

from orchestrator.errors import InvalidRequest, TemplateError
from orchestrator.service.admission import Admission
from orchestrator.service.catalog import Catalog
from orchestrator.service.values import CompareVariant


@pytest.fixture
def admission(orch_engine: Any, make_service: MakeService) -> tuple[Admission, Any]:
    service = make_service([orch_engine.url], start=False)
    checker = Admission(service.pool, Catalog(service.pool, service.settings), service.template)
    return checker, service


def test_prepare_gives_consecutive_seeds_one_batch_and_stores_nothing(
    admission: tuple[Admission, Any],
) -> None:
    checker, service = admission
    new = checker.prepare(tiny_request(count=3, seed=7))
    assert [job.seed for job in new] == [7, 8, 9]
    assert len({job.batch_id for job in new}) == 1 and new[0].batch_id is not None
    assert all(job.template == "single_sprite" for job in new)
    assert service.list_jobs() == []


def test_prepare_refuses_an_unknown_parameter_naming_it(admission: tuple[Admission, Any]) -> None:
    checker, _ = admission
    with pytest.raises(TemplateError, match="colour"):
        checker.prepare(tiny_request(params={**FAST, "colour": 3}))


def test_compare_with_one_variant_is_refused_naming_variants(
    admission: tuple[Admission, Any],
) -> None:
    checker, _ = admission
    with pytest.raises(InvalidRequest, match="variants"):
        checker.prepare_compare("a potion", 1, [CompareVariant("a")], FAST)


def test_compare_variants_share_seed_and_batch_and_keep_their_checkpoint(
    admission: tuple[Admission, Any],
) -> None:
    checker, _ = admission
    variants = [CompareVariant("a", "tiny_sdxl.safetensors"), CompareVariant("b")]
    params = {k: v for k, v in FAST.items() if k != "checkpoint"}
    new = checker.prepare_compare("a potion", 11, variants, params)
    assert [job.seed for job in new] == [11, 11]
    assert new[0].batch_id == new[1].batch_id is not None
    assert new[0].params["checkpoint"] == "tiny_sdxl.safetensors"
