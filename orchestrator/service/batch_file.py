"""Reading a batch of generation requests from CSV, JSON Lines or TOML.

    prompt,count,seed,palette,size,loras,template,steps      (CSV: header row; loras "a:0.8;b")
    {"prompt": "a red potion", "count": 2, "steps": 4}       (JSONL: one object per line)
    [[job]]\nprompt = "a red potion"                          (TOML: an array of [[job]] tables)

Known keys become `GenerationRequest` fields; any other key is a template parameter
(checked by the template at submit). Every row is parsed before anything is submitted, and
errors name the file, the row and the field.
"""

from __future__ import annotations

import csv
import json
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from orchestrator.errors import InvalidRequest
from orchestrator.service.values import GenerationRequest, LoraSpec, parse_size

__all__ = ["read_batch_file"]

_INT_FIELDS = ("count", "seed")
_CSV_NUMBERS = ("steps", "colors", "width", "height", "batch_size")
_CSV_FLOATS = ("cfg",)


def _loras(value: Any, where: str) -> tuple[LoraSpec, ...]:
    if isinstance(value, str):
        return tuple(LoraSpec.parse(x) for x in value.replace(",", ";").split(";") if x.strip())
    if isinstance(value, list):
        specs = []
        for item in value:
            if isinstance(item, str):
                specs.append(LoraSpec.parse(item))
            elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
                specs.append(LoraSpec(item["name"], float(item.get("strength", 1.0))))
            else:
                raise InvalidRequest(f"{where}.loras", item, "expected NAME[:STRENGTH] or {name}")
        return tuple(specs)
    raise InvalidRequest(f"{where}.loras", value, "expected a list or 'a:0.8;b'")


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise InvalidRequest(field, value, "must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(field, value, "must be an integer") from exc


def _request(row: Mapping[str, Any], where: str, defaults: Mapping[str, Any]) -> GenerationRequest:
    data = {**defaults, **{k: v for k, v in row.items() if v not in (None, "")}}
    prompt = data.pop("prompt", None)
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest(f"{where}.prompt", prompt, "every row needs a non-empty prompt")
    fields: dict[str, Any] = {"prompt": prompt}
    for key in _INT_FIELDS:
        if key in data:
            fields[key] = _int(data.pop(key), f"{where}.{key}")
    for key in ("template", "palette", "backend"):
        if key in data:
            fields[key] = str(data.pop(key))
    if "size" in data:
        fields["size"] = parse_size(str(data.pop("size")), f"{where}.size")
    if "loras" in data:
        fields["loras"] = _loras(data.pop("loras"), where)
    fields["params"] = data
    request = GenerationRequest(**fields)
    try:
        request.check()
    except InvalidRequest as exc:
        raise InvalidRequest(f"{where}.{exc.field}", exc.value, exc.reason) from exc
    return request


def _csv_rows(text: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for raw in csv.DictReader(text.splitlines()):
        row: dict[str, Any] = {str(k).strip(): v for k, v in raw.items() if k is not None}
        for key in _CSV_NUMBERS:
            if row.get(key):
                row[key] = _int(row[key], key)
        for key in _CSV_FLOATS:
            if row.get(key):
                row[key] = float(row[key])
        rows.append(row)
    return rows


def _jsonl_rows(text: str) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"line {n}", line[:60], f"not JSON: {exc.msg}") from exc
        if not isinstance(item, dict):
            raise InvalidRequest(f"line {n}", item, "each line must be a JSON object")
        rows.append(item)
    return rows


def _toml_rows(text: str) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRequest("toml", "", str(exc)) from exc
    jobs = data.get("job", data.get("jobs"))
    if not isinstance(jobs, list) or not all(isinstance(j, dict) for j in jobs):
        raise InvalidRequest("job", jobs, "expected an array of [[job]] tables")
    return list(jobs)


_READERS: Mapping[str, Callable[[str], list[dict[str, Any]]]] = {
    ".csv": _csv_rows,
    ".jsonl": _jsonl_rows,
    ".ndjson": _jsonl_rows,
    ".toml": _toml_rows,
}


def read_batch_file(
    path: Path, defaults: Mapping[str, Any] | None = None
) -> list[GenerationRequest]:
    """Every request in `path` (.csv, .jsonl/.ndjson or .toml), all checked.

    Args:
        path: The batch file.
        defaults: Values for keys a row leaves out (e.g. the CLI's `--template`).

    Raises:
        InvalidRequest: Unknown format, unreadable file, or a bad row (named).
    """
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InvalidRequest("file", str(path), f"unknown format; use one of {', '.join(_READERS)}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest("file", str(path), f"cannot read it: {exc}") from exc
    rows = reader(text)
    if not rows:
        raise InvalidRequest("file", str(path), "holds no prompts")
    return [_request(row, f"{path.name}[{i}]", defaults or {}) for i, row in enumerate(rows)]
