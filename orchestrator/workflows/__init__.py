"""Workflow templates: load, parametrize, validate against `/object_info`, make UI twins.

Pure: no network, nothing at import time (mypy strict). The backend's `/object_info` is
passed in by the caller.
"""

from __future__ import annotations

from orchestrator.workflows.errors import (
    TemplateDefinitionError,
    TemplateNotFound,
    TemplateParameterError,
    ValidationProblem,
    WorkflowError,
    WorkflowValidationError,
)
from orchestrator.workflows.library import TemplateInfo, TemplateLibrary, default_templates_dir
from orchestrator.workflows.params import LoraChoice
from orchestrator.workflows.sidecar import Binding, ParamSpec, TemplateSidecar
from orchestrator.workflows.template import RenderedWorkflow, Template
from orchestrator.workflows.ui_format import api_to_ui, render_twins
from orchestrator.workflows.validate import validate_against_object_info

__all__ = [
    "Binding",
    "LoraChoice",
    "ParamSpec",
    "RenderedWorkflow",
    "Template",
    "TemplateDefinitionError",
    "TemplateInfo",
    "TemplateLibrary",
    "TemplateNotFound",
    "TemplateParameterError",
    "TemplateSidecar",
    "ValidationProblem",
    "WorkflowError",
    "WorkflowValidationError",
    "api_to_ui",
    "default_templates_dir",
    "render_twins",
    "validate_against_object_info",
]
