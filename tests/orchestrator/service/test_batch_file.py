"""Batch files: CSV, JSONL and TOML rows become requests; bad rows are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import InvalidRequest
from orchestrator.service.batch_file import read_batch_file
from orchestrator.service.values import LoraSpec


def test_csv_rows_with_typed_columns_and_loras(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        "prompt,count,seed,size,loras,steps,cfg,palette\n"
        'a red potion,2,7,32x32,"px:0.5;style",4,6.5,pico-8\n'
        "a blue gem,,,,,,,\n"
    )
    first, second = read_batch_file(path, {"template": "tileset"})
    assert (first.prompt, first.count, first.seed, first.size) == ("a red potion", 2, 7, (32, 32))
    assert first.loras == (LoraSpec("px", 0.5), LoraSpec("style", 1.0))
    assert first.params == {"steps": 4, "cfg": 6.5} and first.palette == "pico-8"
    assert first.template == "tileset" and second.template == "tileset"
    assert (second.prompt, second.count, second.seed) == ("a blue gem", 1, None)


def test_jsonl_and_toml_give_the_same_request(tmp_path: Path) -> None:
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_text('{"prompt": "tree", "count": 3, "loras": [{"name": "a", "strength": 2}]}\n\n')
    toml = tmp_path / "b.toml"
    toml.write_text('[[job]]\nprompt = "tree"\ncount = 3\nloras = ["a:2"]\n')
    assert read_batch_file(jsonl) == read_batch_file(toml)


@pytest.mark.parametrize(
    ("name", "text", "field"),
    [
        ("b.csv", "prompt,count\nok,1\n,2\n", "b.csv[1].prompt"),
        ("b.csv", "prompt,count\nok,lots\n", "b.csv[0].count"),
        ("b.jsonl", '{"prompt": "x", "count": 0}\n', "b.jsonl[0].count"),
        ("b.jsonl", "not json\n", "line 1"),
        ("b.toml", "[[job]]\nprompt = 'x'\nsize = '0x4'\n", "b.toml[0].size"),
        ("b.toml", "prompt = 'x'\n", "job"),
        ("b.txt", "x", "file"),
        ("b.csv", "prompt\n", "file"),
    ],
)
def test_bad_rows_name_the_row_and_field(tmp_path: Path, name: str, text: str, field: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InvalidRequest) as info:
        read_batch_file(path)
    assert info.value.field == field
