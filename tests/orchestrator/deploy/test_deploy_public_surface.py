"""The deploy and MCP packages export exactly what their `__all__` promises."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "orchestrator.deploy",
    "orchestrator.deploy.atomic",
    "orchestrator.deploy.deployer",
    "orchestrator.deploy.errors",
    "orchestrator.deploy.manifest",
    "orchestrator.deploy.paths",
    "orchestrator.deploy.projects",
    "orchestrator.deploy.sources",
    "orchestrator.adapters.mcp",
    "orchestrator.adapters.mcp.args",
    "orchestrator.adapters.mcp.auth",
    "orchestrator.adapters.mcp.errors",
    "orchestrator.adapters.mcp.media",
    "orchestrator.adapters.mcp.progress",
    "orchestrator.adapters.mcp.resources",
    "orchestrator.adapters.mcp.results",
    "orchestrator.adapters.mcp.tools_deploy",
    "orchestrator.adapters.mcp.tools_generate",
    "orchestrator.adapters.mcp.tools_jobs",
    "orchestrator.adapters.mcp.tools_pixelize",
    "orchestrator.adapters.mcp.views",
    "orchestrator.adapters.cli.mcp_cmd",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists_and_is_sorted(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported, f"{name} exports nothing"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []
    assert list(exported) == sorted(exported, key=lambda n: (not n.isupper(), n))


def test_deploy_package_exports_the_deployer_api() -> None:
    deploy = importlib.import_module("orchestrator.deploy")
    assert {"Deployer", "DeployRequest", "DeployResult", "DeployPlan", "DeployError"} <= set(
        deploy.__all__
    )


def test_mcp_server_exports_the_builder() -> None:
    assert "build_mcp_server" in importlib.import_module("orchestrator.adapters.mcp").__all__
