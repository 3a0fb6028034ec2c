"""docker/Dockerfile keeps the promises docker/README.md makes (it cannot be built here).

No registry is reachable from this project's machines, so the image is checked as text:
a base pinned by tag, the lock installed with hashes and no resolver, a non-root user, and a
curl-free healthcheck.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\s*\\\n\s*", " ", text)
    pairs = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


STEPS = instructions(DOCKERFILE.read_text(encoding="utf-8"))


def _args(keyword: str) -> list[str]:
    return [rest for kw, rest in STEPS if kw == keyword]


def test_base_image_is_pinned_by_tag() -> None:
    (base_arg,) = [a for a in _args("ARG") if a.startswith("BASE_IMAGE=")]
    image = base_arg.removeprefix("BASE_IMAGE=")
    assert re.fullmatch(r"nvcr\.io/nvidia/pytorch:\d\d\.\d\d-py3", image), image
    assert _args("FROM") == ["${BASE_IMAGE}"]


def test_the_lock_is_installed_with_hashes_and_no_resolver() -> None:
    installs = [shlex.split(run) for run in _args("RUN") if "requirements.lock" in run]
    assert installs, "the lock is never installed"
    (words,) = installs
    assert {"--require-hashes", "--no-deps", "docker/requirements.lock"} <= set(words)
    assert "COPY" in dict(STEPS) and any("requirements.lock" in c for c in _args("COPY"))


def test_runs_as_a_non_root_user() -> None:
    users = _args("USER")
    assert users, "no USER instruction"
    assert users[-1] not in {"root", "0"}
    last_user = max(i for i, (kw, _) in enumerate(STEPS) if kw == "USER")
    assert all(kw != "RUN" for kw, _ in STEPS[last_user:]), "RUN after USER runs as the user"


def test_healthcheck_is_curl_free() -> None:
    (check,) = _args("HEALTHCHECK")
    assert "CMD" in check and "python" in check
    assert "curl" not in check and "wget" not in check


def test_instructions_joins_continuations_and_drops_comments() -> None:
    text = "# c\nFROM x\nRUN a \\\n    b\n"
    assert instructions(text) == [("FROM", "x"), ("RUN", "a b")]
