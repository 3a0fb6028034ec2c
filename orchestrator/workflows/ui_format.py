"""Generating the UI-format (LiteGraph) twin of an API-format graph, for the web editor.

The editor needs what the API format leaves out: node positions and sizes, typed input and
output slots, a link table `[link_id, from_node, from_slot, to_node, to_slot, type]`, and
`widgets_values` in the node's `input_order`, including UI-only entries such as the
`control_after_generate` value ("fixed") right after a seed-like INT. All of that is derived
from the backend's `/object_info`; positions come from a simple layered layout (a node's
column is the length of the longest path that feeds it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.workflows.errors import TemplateDefinitionError
from orchestrator.workflows.validate import combo_options, is_link

if TYPE_CHECKING:
    from orchestrator.workflows.library import TemplateLibrary

__all__ = ["api_to_ui", "render_twins"]

_WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN"})
_SEED_NAMES = frozenset({"seed", "noise_seed"})
_COLUMN_W, _ROW_GAP, _NODE_W = 400, 40, 315


@dataclass
class _Links:
    """The link table, built while nodes are converted."""

    rows: list[list[Any]] = field(default_factory=list)

    def add(self, src: int, src_slot: int, dst: int, dst_slot: int, kind: str) -> int:
        link_id = len(self.rows) + 1
        self.rows.append([link_id, src, src_slot, dst, dst_slot, kind])
        return link_id

    def from_output(self, node: int, slot: int) -> list[int]:
        return [row[0] for row in self.rows if row[1] == node and row[2] == slot]


def _ids(graph: Mapping[str, Any]) -> dict[str, int]:
    if all(str(k).isdigit() for k in graph):
        return {str(k): int(k) for k in graph}
    return {str(k): i for i, k in enumerate(sorted(graph, key=str), start=1)}


def _upstream(node: Mapping[str, Any]) -> list[str]:
    return [str(v[0]) for v in (node.get("inputs") or {}).values() if is_link(v)]


def _layers(graph: Mapping[str, Any]) -> tuple[dict[str, int], list[str]]:
    """Column of each node (longest feeding path) and a topological order."""
    depth: dict[str, int] = {}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(node_id: str) -> int:
        if node_id in depth:
            return depth[node_id]
        if node_id in visiting:
            raise TemplateDefinitionError(f"the graph has a cycle through node {node_id}")
        visiting.add(node_id)
        parents = [p for p in _upstream(graph[node_id]) if p in graph]
        depth[node_id] = 1 + max((visit(p) for p in parents), default=-1)
        visiting.discard(node_id)
        order.append(node_id)
        return depth[node_id]

    for node_id in sorted(graph, key=lambda k: (len(str(k)), str(k))):
        visit(str(node_id))
    return depth, order


def _input_names(info: Mapping[str, Any]) -> list[tuple[str, Any]]:
    sections = info.get("input") or {}
    order = info.get("input_order") or {}
    names: list[tuple[str, Any]] = []
    for section in ("required", "optional"):
        specs = sections.get(section) or {}
        for name in order.get(section) or list(specs):
            if name in specs:
                names.append((name, specs[name]))
    return names


def _kind(spec: Any) -> str:
    if combo_options(spec) is not None:
        return "COMBO"
    kind = spec[0] if isinstance(spec, list | tuple) and spec else spec
    return str(kind)


def _opts(spec: Any) -> dict[str, Any]:
    if isinstance(spec, list | tuple) and len(spec) > 1 and isinstance(spec[1], dict):
        return spec[1]
    return {}


def _default(spec: Any) -> Any:
    options = combo_options(spec)
    return _opts(spec).get("default", options[0] if options else None)


@dataclass
class _NodeBuild:
    inputs: list[dict[str, Any]] = field(default_factory=list)
    widgets: list[Any] = field(default_factory=list)


def _convert_inputs(
    node_id: str,
    node: Mapping[str, Any],
    info: Mapping[str, Any],
    ids: Mapping[str, int],
    links: _Links,
) -> _NodeBuild:
    build = _NodeBuild()
    values = node.get("inputs") or {}
    for name, spec in _input_names(info):
        kind = _kind(spec)
        is_widget = kind in _WIDGET_TYPES or kind == "COMBO"
        value: Any = values.get(name)
        if is_link(value):
            if str(value[0]) not in ids:
                raise TemplateDefinitionError(
                    f"node {node_id} input {name!r} links to missing node {value[0]}"
                )
            slot = len(build.inputs)
            link = links.add(ids[str(value[0])], value[1], ids[node_id], slot, kind)
            entry: dict[str, Any] = {"name": name, "type": kind, "link": link}
            if is_widget:
                entry["widget"] = {"name": name}
            build.inputs.append(entry)
            value = _default(spec)
        elif not is_widget:
            build.inputs.append({"name": name, "type": kind, "link": None})
        if not is_widget:
            continue
        build.widgets.append(_default(spec) if value is None else value)
        if kind == "INT" and (_opts(spec).get("control_after_generate") or name in _SEED_NAMES):
            build.widgets.append("fixed")
    return build


def _size(build: _NodeBuild, n_outputs: int) -> list[int]:
    slots = max(len(build.inputs), n_outputs)
    return [_NODE_W, 46 + 22 * slots + 26 * len(build.widgets)]


def _info(graph: Mapping[str, Any], node_id: str, object_info: Mapping[str, Any]) -> Any:
    class_type = graph[node_id].get("class_type")
    info = object_info.get(str(class_type))
    if not isinstance(info, dict):
        raise TemplateDefinitionError(
            f"node {node_id} ({class_type}) is not in object_info; cannot build the UI twin"
        )
    return info


def api_to_ui(graph: Mapping[str, Any], object_info: Mapping[str, Any]) -> dict[str, Any]:
    """The UI-format workflow (LiteGraph, version 0.4) for an API-format graph.

    Raises:
        TemplateDefinitionError: a node class is missing from `object_info`, or a cycle.
    """
    # 1. Stable integer ids, columns and execution order.
    ids = _ids(graph)
    depth, order = _layers(graph)
    links = _Links()
    nodes: list[dict[str, Any]] = []
    column_y: dict[int, int] = {}
    # 2. Convert each node in execution order, so links are numbered along the flow.
    for position, node_id in enumerate(order):
        node, info = graph[node_id], _info(graph, node_id, object_info)
        build = _convert_inputs(node_id, node, info, ids, links)
        types, names = info.get("output") or [], info.get("output_name") or []
        size = _size(build, len(types))
        y = column_y.get(depth[node_id], 100)
        column_y[depth[node_id]] = y + size[1] + _ROW_GAP
        entry: dict[str, Any] = {
            "id": ids[node_id],
            "type": node["class_type"],
            "pos": [100 + depth[node_id] * _COLUMN_W, y],
            "size": size,
            "flags": {},
            "order": position,
            "mode": 0,
            "inputs": build.inputs,
            "outputs": [
                {"name": names[i] if i < len(names) else t, "type": t, "links": [], "slot_index": i}
                for i, t in enumerate(types)
            ],
            "properties": {"Node name for S&R": node["class_type"]},
            "widgets_values": build.widgets,
        }
        title = (node.get("_meta") or {}).get("title")
        if title:
            entry["title"] = title
        nodes.append(entry)
    # 3. Fill each output's link list now that every link exists.
    for entry in nodes:
        for output in entry["outputs"]:
            output["links"] = links.from_output(entry["id"], output["slot_index"])
    return {
        "last_node_id": max(ids.values(), default=0),
        "last_link_id": len(links.rows),
        "nodes": sorted(nodes, key=lambda n: n["id"]),
        "links": links.rows,
        "groups": [],
        "config": {},
        "extra": {"ds": {"scale": 1.0, "offset": [0, 0]}},
        "version": 0.4,
    }


def render_twins(library: TemplateLibrary, object_info: Mapping[str, Any]) -> dict[str, str]:
    """`{name: UI-format JSON text}` for every template of `library` (the committed twins in
    `workflows/ui/` are exactly this; `scripts/regenerate_ui_workflows.py` writes them)."""
    return {
        name: json.dumps(api_to_ui(library.get(name).graph, object_info), indent=2) + "\n"
        for name in library.names()
    }
