"""The pixel core's mode vocabularies, as adapters may use them: names and pydantic types.

Adapters (CLI, MCP, ZMQ) may not import `comfy_nodes`, so they take the dither,
background and downscale names from here, and never restate them. `DitherChoice` and
friends are `str` fields that pydantic checks against the registry when it validates and
lists as a JSON-schema `enum` when it builds a schema (an MCP tool's input schema), so a
name added to `comfy_nodes/pixel/modes.py` is offered and accepted everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.modes import (
    BACKGROUND_MODES,
    DITHER_MODES,
    DOWNSCALE_MODES,
    PALETTE_SIZES,
    ModeVocabulary,
)

if TYPE_CHECKING:  # pydantic itself is not needed to read the names (CLI start-up)
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

__all__ = [
    "BACKGROUND_MODES",
    "DITHER_MODES",
    "DOWNSCALE_MODES",
    "PALETTE_SIZES",
    "BackgroundChoice",
    "DitherChoice",
    "DownscaleChoice",
    "ModeChoice",
    "ModeVocabulary",
]


@dataclass(frozen=True)
class ModeChoice:
    """`Annotated[str, ModeChoice(vocabulary)]`: a str that must be one of its names."""

    vocabulary: ModeVocabulary

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        # Read when the schema is built, so it lists the registry's current names.
        json_schema["enum"] = list(self.vocabulary.names)
        return json_schema

    def _check(self, value: str) -> str:
        try:
            return self.vocabulary.parse(value)
        except InvalidParameterError as exc:
            raise ValueError(str(exc)) from exc  # pydantic reports ValueErrors per field


DitherChoice = Annotated[str, ModeChoice(DITHER_MODES)]
BackgroundChoice = Annotated[str, ModeChoice(BACKGROUND_MODES)]
DownscaleChoice = Annotated[str, ModeChoice(DOWNSCALE_MODES)]
