"""Every sidecar `colors` parameter offers exactly the pixelize node's palette-size widget
(0 = auto, the default), as the engine's real /object_info serves it."""

from __future__ import annotations

from comfy_nodes.pixel.modes import PALETTE_SIZES
from orchestrator.comfy import ComfyClient
from orchestrator.workflows import TemplateLibrary
from orchestrator.workflows.validate import input_spec


def test_every_colors_parameter_is_the_node_widget_with_auto_as_default(
    library: TemplateLibrary, engine_client: ComfyClient
) -> None:
    object_info = engine_client.object_info()
    checked = []
    for name in library.names():
        template = library.get(name)
        for param in template.sidecar.parameters:
            if param.name != "colors":
                continue
            for binding in param.binds:
                class_type = template.graph[binding.node_id]["class_type"]
                spec = input_spec(object_info[class_type], binding.input)
                assert spec is not None, (name, class_type)
                kind, widget = spec[1]  # (section, [type, options])
                assert kind == "INT", (name, class_type)
                got = (param.default, param.min, param.max)
                assert got == (widget["default"], widget["min"], widget["max"]), (name, got)
                checked.append(name)
    assert {"single_sprite", "tileset", "autotile"} <= set(checked)
    assert PALETTE_SIZES.widget_auto == 0  # the default above means auto
