"""Admission: turning a `GenerationRequest` (or a compare) into checked, storable jobs.

Everything `Service.submit`/`submit_many`/`compare` refuse is refused here, before a row is
written: field checks, the palette, the template's parameter rules, and the rendered graph
against a backend's `/object_info`. A request without a checkpoint whose template default
is not installed gets an installed one, so `generate "a potion"` just works.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from orchestrator.comfy.errors import ComfyError
from orchestrator.errors import BackendError, InvalidRequest, TemplateError
from orchestrator.jobs.store import NewJob
from orchestrator.service.backend_pool import BackendPool
from orchestrator.service.caps import RequestCaps
from orchestrator.service.catalog import Catalog, is_demo_model
from orchestrator.service.lora_cards import with_triggers
from orchestrator.service.values import CompareVariant, GenerationRequest
from orchestrator.workflows import Template, WorkflowError, validate_against_object_info
from orchestrator.workflows.expansion import frame_count

__all__ = ["Admission"]

logger = logging.getLogger(__name__)


class Admission:
    """Checks requests and builds the `NewJob` rows for them (stores nothing itself).

    Args:
        pool: Backends whose `/object_info` the graphs are checked against.
        catalog: Palettes and installed models.
        template: Looks a template up by name (raises `TemplateError`).
    """

    def __init__(
        self, pool: BackendPool, catalog: Catalog, template: Callable[[str], Template]
    ) -> None:
        self.pool = pool
        self.catalog = catalog
        self.template = template
        self.caps = RequestCaps.from_settings(catalog.settings)

    def prepare(self, request: GenerationRequest) -> list[NewJob]:
        """`request.count` checked jobs (sharing a batch id when more than one)."""
        # 1. Field checks and caps, 2. palette, 3. template values, 4. the backend's object_info.
        request.check()
        self.caps.check_texts({**request.params, "prompt": request.prompt})
        self.catalog.check_palette(request.palette)
        template = self.template(request.template)
        request = self._with_available_checkpoint(template, request)
        request = self._with_listed_names(request)
        request = with_triggers(request, self.catalog.settings.resolved_models_dir / "loras")
        params = [self._resolve(template, request.to_params(s)) for s in request.seeds()]
        self.caps.check_params(params[0], request.count, template.name)
        if template.sidecar.expand is not None:  # an animation sheet: frames x the size
            self.caps.check_sheet(params[0], request.count, frame_count(params[0]))
        self._validate(template, params[0], request.backend)
        batch = uuid.uuid4().hex if request.count > 1 else None
        return [
            NewJob(template.name, p, int(p["seed"]), batch, backend=request.backend) for p in params
        ]

    def prepare_compare(
        self,
        prompt: str,
        seed: int,
        variants: Sequence[CompareVariant],
        params: Mapping[str, Any] | None,
    ) -> list[NewJob]:
        """One checked `single_sprite` job per variant, sharing a batch id."""
        if not 2 <= len(variants) <= 4:
            raise InvalidRequest("variants", len(variants), "compare needs 2 to 4 variants")
        batch = uuid.uuid4().hex
        new: list[NewJob] = []
        for i, variant in enumerate(variants):
            values = dict(params or {})
            if variant.checkpoint:
                values["checkpoint"] = variant.checkpoint
            request = GenerationRequest(
                prompt=prompt, seed=seed, params=values, loras=variant.loras
            )
            (job,) = self.prepare(request)  # the checks `submit` makes, one job (count 1)
            new.append(replace(job, batch_id=batch))
            logger.debug("compare variant %d: %s", i, variant.label)
        return new

    @staticmethod
    def _resolve(template: Template, values: dict[str, Any]) -> dict[str, Any]:
        try:
            return template.prepare(values).values
        except WorkflowError as exc:
            raise TemplateError(f"template {template.name!r}: {exc}") from exc

    def _with_available_checkpoint(
        self, template: Template, request: GenerationRequest
    ) -> GenerationRequest:
        """No checkpoint asked for and the template's default is not installed: use one
        that is (a real one before the demo model)."""
        names = {p.name for p in template.params}
        if "checkpoint" not in names or "checkpoint" in request.params:
            return request
        default = template.param("checkpoint").default
        try:
            installed = [m.name for m in self.catalog.models("checkpoints")]
        except BackendError:
            return request  # _validate reports the backend problem
        if not installed:
            raise self._no_checkpoint(default)
        if default in installed:
            return request
        chosen = sorted(installed, key=lambda n: (is_demo_model(n), n))[0]
        logger.warning("checkpoint %r is not installed; using %r", default, chosen)
        return replace(request, params={**request.params, "checkpoint": chosen})

    def _no_checkpoint(self, wanted: object) -> InvalidRequest:
        folder = self.catalog.settings.resolved_models_dir / "checkpoints"
        return InvalidRequest(
            "checkpoint",
            wanted,
            f"no checkpoint is installed (models folder: {folder}); run `dgx-pixels models "
            "demo` for a tiny demo model, or put an SDXL .safetensors file there",
        )

    def _with_listed_names(self, request: GenerationRequest) -> GenerationRequest:
        """LoRA and checkpoint names given without their extension (`pixel-art-xl`, as in
        `--lora pixel-art-xl:0.8`) become the file the backends list
        (`pixel-art-xl.safetensors`); a listed or unknown name stays as given."""
        loras = tuple(replace(x, name=self._listed("loras", x.name)) for x in request.loras)
        params = dict(request.params)
        if isinstance(params.get("checkpoint"), str):
            params["checkpoint"] = self._listed("checkpoints", params["checkpoint"])
        return replace(request, loras=loras, params=params)

    def _listed(self, folder: str, name: str) -> str:
        try:
            listed = [m.name for m in self.catalog.models(folder)]
        except BackendError:
            return name  # _validate reports the backend problem
        if not listed and folder == "checkpoints":
            raise self._no_checkpoint(name)
        if name in listed:
            return name
        same_stem = [n for n in listed if n.rpartition(".")[0] == name]
        return same_stem[0] if len(same_stem) == 1 else name

    def _validate(self, template: Template, params: dict[str, Any], pinned: str | None) -> None:
        backend = self.pool.choose(pinned=pinned)
        graph = template.render(params)
        try:
            try:
                validate_against_object_info(graph, backend.client.object_info())
            except WorkflowError:  # files may have been added since the cache was filled
                validate_against_object_info(graph, backend.client.object_info(refresh=True))
        except WorkflowError as exc:
            raise TemplateError(f"template {template.name!r} on {backend.url}: {exc}") from exc
        except ComfyError as exc:  # down since the last health check, or answering garbage
            self.pool.mark_unhealthy(backend, str(exc))
            raise BackendError(f"backend {backend.url} could not be asked: {exc}") from exc
