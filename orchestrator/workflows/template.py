"""A workflow template: an API-format graph plus its sidecar, rendered with parameter values.

`Template.prepare(values)` checks every value (unknown names, types, ranges), fills
defaults, draws a seed when none is given, writes the values into their bound inputs,
threads the LoRA chain, grows an animation sheet's frames (`expand`), leaves out the
outputs a false switch turns off (`enables`), and
returns the graph together with the values it used, so the
caller can record the seed. `Template.render(values)` returns only the graph.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.workflows.errors import TemplateDefinitionError, TemplateParameterError
from orchestrator.workflows.expansion import check_expansion, expand_frames
from orchestrator.workflows.lora_chain import insert_lora_chain, lora_source
from orchestrator.workflows.params import LoraChoice, check_value
from orchestrator.workflows.sidecar import Binding, ParamSpec, TemplateSidecar

__all__ = ["RenderedWorkflow", "Template"]

# A drawn seed stays below 2**32 so it reads well in file names and UIs.
_SEED_SPACE = 2**32


@dataclass(frozen=True)
class RenderedWorkflow:
    """A rendered graph and every parameter value it was rendered with (seed included)."""

    template: str
    graph: dict[str, Any]
    values: dict[str, Any]
    lora_nodes: tuple[str, ...] = ()

    @property
    def seed(self) -> int | None:
        seed = self.values.get("seed")
        return seed if isinstance(seed, int) else None


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, LoraChoice):
        return {"name": value.name, "strength": value.strength}
    return value


class Template:
    """One template. Build through `TemplateLibrary.get(name)` or `Template(...)` directly.

    Args:
        name: template name (file stem).
        graph: API-format graph with defaults in place.
        sidecar: the parameter sheet; every binding must point at an existing input.

    Raises:
        TemplateDefinitionError: a binding names a node or input the graph lacks.
    """

    def __init__(self, name: str, graph: dict[str, Any], sidecar: TemplateSidecar) -> None:
        self.name = name
        self.sidecar = sidecar
        self._graph = graph
        self._check_bindings()

    def __repr__(self) -> str:
        return f"Template({self.name!r}, params={[p.name for p in self.params]})"

    @property
    def params(self) -> tuple[ParamSpec, ...]:
        return self.sidecar.parameters

    @property
    def description(self) -> str:
        return self.sidecar.description

    @property
    def graph(self) -> dict[str, Any]:
        """A copy of the unrendered graph."""
        return copy.deepcopy(self._graph)

    @property
    def outputs(self) -> dict[str, str]:
        """Output role (`sprite`, `raw`, `atlas`, ...) → the node id that produces it."""
        return {str(role): node for role, node in self.sidecar.outputs.items()}

    def param(self, name: str) -> ParamSpec:
        """The spec of parameter `name`; unknown names list the valid ones."""
        for spec in self.params:
            if spec.name == name:
                return spec
        raise TemplateParameterError(name, None, f"unknown parameter; valid: {self._names()}")

    def _names(self) -> str:
        return ", ".join(sorted(p.name for p in self.params))

    def _check_bindings(self) -> None:
        for spec in self.params:
            for binding in spec.binds:
                node = self._graph.get(binding.node_id)
                if not isinstance(node, dict) or binding.input not in node.get("inputs", {}):
                    raise TemplateDefinitionError(
                        f"template {self.name!r}: parameter {spec.name!r} binds "
                        f"{binding.target!r}, but the graph has no such node input"
                    )
            if spec.type == "loras" and spec.binds:
                lora_source(self._graph, spec.binds)
        for role, node_id in self.sidecar.outputs.items():
            if node_id not in self._graph:
                raise TemplateDefinitionError(
                    f"template {self.name!r}: output {role!r} names node {node_id}, "
                    "which is not in the graph"
                )
        for spec in self.params:
            for role in spec.enables:
                self._check_switchable(spec.name, role)
        self._check_expansion()

    def _check_expansion(self) -> None:
        if self.sidecar.expand is None:
            return
        try:
            check_expansion(self._graph, self.sidecar.expand, {p.name for p in self.params})
        except TemplateDefinitionError as exc:
            raise TemplateDefinitionError(f"template {self.name!r}: {exc}") from exc

    def _check_switchable(self, param: str, role: str) -> None:
        """A switched output must be a role whose node nothing else reads."""
        node_id = self.sidecar.outputs.get(role)
        if node_id is None:
            raise TemplateDefinitionError(
                f"template {self.name!r}: parameter {param!r} enables output {role!r}, "
                f"which is not in the sidecar's outputs {sorted(self.sidecar.outputs)}"
            )
        readers = sorted(n for n, node in self._graph.items() if _reads(node, node_id))
        if readers:
            raise TemplateDefinitionError(
                f"template {self.name!r}: parameter {param!r} switches output {role!r} "
                f"(node {node_id}) off, but nodes {readers} read it"
            )

    def resolve(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Checked values for every parameter, defaults filled, seed drawn if needed.

        Raises:
            TemplateParameterError: an unknown name, a wrong type or an out-of-range value.
        """
        unknown = sorted(set(values) - {p.name for p in self.params})
        if unknown:
            raise TemplateParameterError(
                ", ".join(unknown),
                {k: values[k] for k in unknown},
                f"unknown parameter(s) for template {self.name!r}; valid: {self._names()}",
            )
        resolved: dict[str, Any] = {}
        for spec in self.params:
            value = values.get(spec.name)
            if value is None:
                value = copy.deepcopy(spec.default)
            if value is None and spec.random_when_none:
                value = secrets.randbelow(_SEED_SPACE)
            if value is None:
                raise TemplateParameterError(spec.name, None, "is required (no default)")
            resolved[spec.name] = check_value(spec, value)
        return resolved

    def prepare(self, values: Mapping[str, Any]) -> RenderedWorkflow:
        """Render and keep the resolved values (the drawn seed is in `.values["seed"]`)."""
        # 1. Check and complete the values.
        resolved = self.resolve(values)
        # 2. Write plain values into their bound inputs.
        graph = copy.deepcopy(self._graph)
        for spec in self.params:
            if spec.type != "loras":
                for binding in spec.binds:
                    _write(graph, binding, resolved[spec.name])
        # 3. Thread the LoRA chains.
        lora_nodes: list[str] = []
        for spec in self.params:
            if spec.type == "loras":
                lora_nodes += insert_lora_chain(graph, spec.binds, resolved[spec.name])
        # 4. Grow the frames of an animation sheet (after the chain: frames copy its links).
        if self.sidecar.expand is not None:
            expand_frames(graph, resolved, self.sidecar.expand)
        # 5. Leave out the outputs a false switch turns off (nothing reads them).
        for spec in self.params:
            if spec.enables and resolved[spec.name] is False:
                for role in spec.enables:
                    graph.pop(self.sidecar.outputs[role], None)
        # 6. Return the graph with the values, JSON-ready.
        recorded = {k: _json_value(v) for k, v in resolved.items()}
        return RenderedWorkflow(self.name, graph, recorded, tuple(lora_nodes))

    def render(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The API-format graph for `values` (see `prepare` to also get the seed used)."""
        return self.prepare(values).graph


def _reads(node: Any, node_id: str) -> bool:
    """Whether an API-format node has an input linked to `node_id`'s outputs."""
    inputs = node.get("inputs", {}) if isinstance(node, dict) else {}
    return any(
        isinstance(value, list) and len(value) == 2 and str(value[0]) == node_id
        for value in inputs.values()
    )


def _write(graph: dict[str, Any], binding: Binding, value: Any) -> None:
    if binding.format is not None:
        value = binding.format.replace("{value}", str(value))
    graph[binding.node_id]["inputs"][binding.input] = value
