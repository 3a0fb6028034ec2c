"""Finding templates on disk, and refusing broken ones with a clear message."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from orchestrator.workflows import (
    TemplateDefinitionError,
    TemplateLibrary,
    TemplateNotFound,
)


def test_list_shows_templates_with_a_sidecar_only(library: TemplateLibrary) -> None:
    (library.directory / "stray.json").write_text("{}")  # no sidecar: not a template
    (info,) = library.list()
    assert info.name == "mini"
    assert info.description == "A tiny template for tests."
    assert info.parameters[:3] == ("prompt", "seed", "steps")
    assert info.ui_path is None


def test_unknown_template_lists_valid_names(library: TemplateLibrary) -> None:
    with pytest.raises(TemplateNotFound) as err:
        library.get("singel_sprite")
    assert str(err.value) == "template='singel_sprite' does not exist; valid templates: mini"


def test_missing_folder_has_no_templates(tmp_path: Path) -> None:
    library = TemplateLibrary(tmp_path / "nowhere")
    assert library.list() == []
    with pytest.raises(TemplateNotFound, match=r"valid templates: \(none\)"):
        library.get("single_sprite")


def test_template_knows_its_output_roles(library: TemplateLibrary) -> None:
    assert library.get("mini").outputs == {"sprite": "10"}


def test_binding_to_a_missing_input_is_a_definition_error(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    side = copy.deepcopy(mini_sidecar)
    side["parameters"][2]["binds"] = ["3.stepz"]
    with pytest.raises(TemplateDefinitionError, match=r"'steps' binds '3.stepz'"):
        make_library(sdxl_graph, side).get("mini")


def test_loras_must_bind_links_from_one_loader(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    side = copy.deepcopy(mini_sidecar)
    side["parameters"][-1]["binds"] = ["3.model", "3.positive"]
    with pytest.raises(TemplateDefinitionError, match="one loader node"):
        make_library(sdxl_graph, side).get("mini")


def test_malformed_sidecar_is_a_definition_error(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    side = copy.deepcopy(mini_sidecar)
    side["parameters"][1]["type"] = "integer"
    with pytest.raises(TemplateDefinitionError, match="sidecar of template 'mini' is invalid"):
        make_library(sdxl_graph, side).get("mini")


def test_duplicate_parameter_is_a_definition_error(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    side = copy.deepcopy(mini_sidecar)
    side["parameters"].append(side["parameters"][0])
    with pytest.raises(TemplateDefinitionError, match="defined twice: prompt"):
        make_library(sdxl_graph, side).get("mini")


def test_unreadable_graph_is_a_definition_error(library: TemplateLibrary) -> None:
    (library.directory / "mini.json").write_text("{not json")
    with pytest.raises(TemplateDefinitionError, match="cannot read template file"):
        library.get("mini")


def test_public_surface_is_exported() -> None:
    import orchestrator.workflows as package

    for name in package.__all__:
        assert getattr(package, name) is not None
    assert {"TemplateLibrary", "Template", "validate_against_object_info", "api_to_ui"} <= set(
        package.__all__
    )


def test_package_imports_no_network_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys, orchestrator.workflows; "
        "bad = {'requests', 'websocket', 'aiohttp', 'torch'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_output_role_naming_a_missing_node_is_a_definition_error(
    make_library: Any, sdxl_graph: dict[str, Any], mini_sidecar: dict[str, Any]
) -> None:
    side = copy.deepcopy(mini_sidecar)
    side["outputs"]["atlas"] = "77"
    with pytest.raises(TemplateDefinitionError, match="output 'atlas' names node 77"):
        make_library(sdxl_graph, side).get("mini")
