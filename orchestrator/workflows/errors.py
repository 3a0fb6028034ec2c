"""Errors of the workflow-template package (pure: no network, nothing at import time).

    WorkflowError
    ├── TemplateNotFound          no template of that name (lists the valid names)
    ├── TemplateDefinitionError   a template or sidecar file is malformed or inconsistent
    ├── TemplateParameterError    unknown parameter, wrong type, out of range
    └── WorkflowValidationError   the graph does not fit the backend's /object_info

All are `ValueError`s: they describe bad input, never a broken process. The orchestrator's
service re-raises them as its `TemplateError`, chained with `from`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "TemplateDefinitionError",
    "TemplateNotFound",
    "TemplateParameterError",
    "ValidationProblem",
    "WorkflowError",
    "WorkflowValidationError",
]


class WorkflowError(ValueError):
    """Root of every error the workflows package raises on purpose."""


class TemplateNotFound(WorkflowError, LookupError):
    """No template has that name."""

    def __init__(self, name: str, valid: Sequence[str]) -> None:
        super().__init__(
            f"template={name!r} does not exist; valid templates: {', '.join(valid) or '(none)'}"
        )
        self.name = name
        self.valid = tuple(valid)


class TemplateDefinitionError(WorkflowError):
    """A template file or its sidecar is malformed, or a binding points nowhere."""


class TemplateParameterError(WorkflowError):
    """A parameter value is unknown, of the wrong type, or out of range.

    Attributes:
        parameter: the offending parameter name (or names, comma-separated).
        value: the value that was given.
    """

    def __init__(self, parameter: str, value: object, reason: str) -> None:
        super().__init__(f"{parameter}={value!r}: {reason}")
        self.parameter = parameter
        self.value = value
        self.reason = reason


@dataclass(frozen=True)
class ValidationProblem:
    """One thing wrong with a graph, located by node id, class and input."""

    node_id: str
    class_type: str
    input: str | None
    message: str

    def __str__(self) -> str:
        where = f"node {self.node_id} ({self.class_type})"
        if self.input:
            where += f" input {self.input!r}"
        return f"{where}: {self.message}"


class WorkflowValidationError(WorkflowError):
    """The graph does not fit the backend's node set; nothing was sent.

    Attributes:
        problems: every problem found, in node order.
    """

    def __init__(self, problems: Sequence[ValidationProblem]) -> None:
        self.problems = tuple(problems)
        lines = "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(
            f"the workflow does not fit the backend ({len(self.problems)} problem(s)):{lines}"
        )
