"""The service core: `Service`, the one use-case API every adapter calls, and what it runs
on (admission, job runner, worker pool, backend pool, outputs, events).

`Service` and its request/result values are re-exported here lazily, so importing a small
module of this package (`orchestrator.service.values`) does not load the whole core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from comfy_nodes.pixel.errors import PixelArtError
    from orchestrator.deploy import MANIFEST_NAME, BevyProject, Deployer, DeployResult
    from orchestrator.jobs.models import Job, JobOutputs, SpriteFiles
    from orchestrator.jobs.states import JobState
    from orchestrator.service.core import Service
    from orchestrator.service.job_events import JobEvent, JobEventKind
    from orchestrator.service.pixelize import PixelizeOutcome, PixelizeRun
    from orchestrator.service.pixelize_request import PixelizeRequest
    from orchestrator.service.train_dataset import DATASET_ALPHA_MODES
    from orchestrator.service.values import (
        BackendInfo,
        CompareVariant,
        GenerationRequest,
        LoraSpec,
        ModelInfo,
    )
    from orchestrator.workflows import ParamSpec, TemplateLibrary, WorkflowError
    from training.dataset import DatasetResult

__all__ = [
    "DATASET_ALPHA_MODES",
    "MANIFEST_NAME",
    "BackendInfo",
    "BevyProject",
    "CompareVariant",
    "DatasetResult",
    "DeployResult",
    "Deployer",
    "GenerationRequest",
    "Job",
    "JobEvent",
    "JobEventKind",
    "JobOutputs",
    "JobState",
    "LoraSpec",
    "ModelInfo",
    "ParamSpec",
    "PixelArtError",
    "PixelizeOutcome",
    "PixelizeRequest",
    "PixelizeRun",
    "Service",
    "SpriteFiles",
    "TemplateLibrary",
    "WorkflowError",
]

_HOMES = {
    "Service": "orchestrator.service.core",
    # What adapters need from the layers below, so they import only the service:
    "Job": "orchestrator.jobs.models",
    "JobOutputs": "orchestrator.jobs.models",
    "SpriteFiles": "orchestrator.jobs.models",
    "JobState": "orchestrator.jobs.states",
    "ParamSpec": "orchestrator.workflows",
    "TemplateLibrary": "orchestrator.workflows",
    "WorkflowError": "orchestrator.workflows",
    "PixelArtError": "comfy_nodes.pixel.errors",
    "MANIFEST_NAME": "orchestrator.deploy",
    "BevyProject": "orchestrator.deploy",
    "Deployer": "orchestrator.deploy",
    "DeployResult": "orchestrator.deploy",
    "JobEvent": "orchestrator.service.job_events",
    "JobEventKind": "orchestrator.service.job_events",
    "BackendInfo": "orchestrator.service.values",
    "CompareVariant": "orchestrator.service.values",
    "GenerationRequest": "orchestrator.service.values",
    "LoraSpec": "orchestrator.service.values",
    "ModelInfo": "orchestrator.service.values",
    "PixelizeOutcome": "orchestrator.service.pixelize",
    "PixelizeRequest": "orchestrator.service.pixelize_request",
    "PixelizeRun": "orchestrator.service.pixelize",
    "DATASET_ALPHA_MODES": "orchestrator.service.train_dataset",
    "DatasetResult": "training.dataset",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
