"""A custom-node pack that cannot import: the engine must log it and keep serving."""

from __future__ import annotations

import dgxp_module_that_does_not_exist  # noqa: F401

NODE_CLASS_MAPPINGS: dict[str, type] = {}
