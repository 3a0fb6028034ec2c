"""The Service's public surface is the contract every adapter builds on: guard it."""

from __future__ import annotations

import inspect

import orchestrator.service as service_module
from orchestrator.service import Service

CONTRACT = {
    # backends: where the jobs must run; origin: "remote" for ZMQ/MCP callers (both optional)
    "submit": ["request", "backends", "origin"],
    "submit_many": ["requests", "backends"],
    "get_job": ["job_id"],
    "list_jobs": ["state", "limit"],
    "cancel": ["job_id", "reason"],
    "retry": ["job_id"],
    "wait": ["job_id", "timeout_s"],
    "outputs": ["job_id"],
    "subscribe": ["callback"],
    "templates": [],
    "template": ["name"],
    "models": [],
    "loras": [],
    "palettes": [],
    "backends": [],
    "health": [],  # the daemon's own health (ok / degraded with reasons), for ping/status
    "compare": ["prompt", "seed", "variants", "params", "origin"],  # params: template values
    "pixelize_file": ["source", "options", "origin"],
    "pixelize_files": ["paths", "options", "out", "shared_palette", "progress"],
    "deploy": ["project", "name", "job_id", "path", "index", "overwrite", "dry_run"],
    "start": [],
    "stop": ["timeout_s"],
}


def test_service_methods_and_parameters_match_the_contract() -> None:
    for name, params in CONTRACT.items():
        method = getattr(Service, name)
        assert method.__doc__, f"Service.{name} has no docstring"
        signature = list(inspect.signature(method).parameters)[1:]
        assert signature == params, (name, signature)


def test_exported_names_exist() -> None:
    for name in service_module.__all__:
        assert hasattr(service_module, name), name
