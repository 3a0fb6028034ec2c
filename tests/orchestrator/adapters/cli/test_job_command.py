"""The pieces every job-making command shares (`orchestrator.adapters.cli.job_command`),
and the rule that commands share them through it, not through each other's privates."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import typer

from orchestrator.adapters.cli import job_command
from orchestrator.adapters.cli.job_command import parse_params, seed_option
from orchestrator.errors import InvalidRequest

CLI = Path(job_command.__file__).parent


def test_params_decode_json_and_keep_plain_text() -> None:
    params = parse_params(["steps=4", "cfg=6.5", "outline=true", "palette=pico-8", " k =[1, 2]"])
    assert params == {"steps": 4, "cfg": 6.5, "outline": True, "palette": "pico-8", "k": [1, 2]}
    assert parse_params(["prompt=a=b"]) == {"prompt": "a=b"}  # only the first = splits


@pytest.mark.parametrize("item", ["steps", "=4", " =x"])
def test_a_param_without_key_or_equals_is_refused_naming_the_option_and_item(item: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_params(["steps=4", item])
    assert refused.value.field == "--param" and refused.value.value == item
    assert "KEY=VALUE" in str(refused.value)


def test_seed_option_passes_a_seed_and_refuses_one_out_of_range() -> None:
    assert seed_option(None) is None and seed_option(2**64 - 1) == 2**64 - 1
    with pytest.raises(typer.BadParameter, match="0"):
        seed_option(-1)
    with pytest.raises(typer.BadParameter):
        seed_option(2**64)


def test_no_cli_module_imports_a_private_name_from_another() -> None:
    offenders = []
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "orchestrator.adapters.cli."
            ):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private:
                    offenders.append(f"{path.name}: {node.module} {private}")
    assert not offenders, offenders
