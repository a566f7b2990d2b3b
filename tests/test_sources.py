"""The sources ship inside the project: nothing refers to a folder outside the repository."""

from __future__ import annotations

import gzip
import json
import re
import subprocess

import pytest
from sources import DOCUMENT, OBSERVED, OPENAPI_EXCERPT, REAL_TRAFFIC, ROOT

# Built from parts so that this file does not match itself.
_SHARED = "sha" + "red"
OUTSIDE = re.compile(
    rf"\.\./{_SHARED}\b|/work/{_SHARED}\b|\b{_SHARED}/(spec|reference|real-traffic)\b"
)
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".txt", ".json", ""}


def _project_files() -> list[str]:
    """The files git tracks, or every file of the tree when this is not a git checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.SubprocessError):
        files = []
    if not files:
        skip = {".git", ".venv", "__pycache__", ".ruff_cache", ".pytest_cache"}
        files = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
        ]
    return files


def test_no_project_file_refers_to_a_folder_outside_the_repository():
    offenders = []
    for name in _project_files():
        path = ROOT / name
        if path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)


def test_the_pattern_catches_what_it_must():
    assert OUTSIDE.search(f"open('../{_SHARED}/spec/create-image.md')")
    assert OUTSIDE.search(f"Path('/work/{_SHARED}/spec/create-image.md')")
    assert OUTSIDE.search(f"read {_SHARED}/real-traffic/x.jsonl.gz")
    assert not OUTSIDE.search("the vocabulary shared by every box")


@pytest.mark.parametrize("path", [DOCUMENT, OPENAPI_EXCERPT, OBSERVED, REAL_TRAFFIC])
def test_the_sources_are_in_the_repository(path):
    assert path.is_file() and path.stat().st_size > 0
    assert ROOT in path.parents


def test_the_real_traffic_keeps_every_model_format_and_size():
    """What its README promises (tests/data/real-traffic/make_subset.py chose it)."""
    with gzip.open(REAL_TRAFFIC, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    models = {r["request"].get("model") for r in records}
    assert models == {None, "dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-2"}
    assert {r["status"] for r in records} == {200, 401}
    sizes = {r["request"].get("size") for r in records}
    assert {"256x256", "512x512", "1024x1024", "1024x1536", "1792x1024", "1024x1792"} <= sizes
    assert {r["response"].get("output_format") for r in records} >= {"png", "jpeg", "webp"}
