"""Where the project's own copies of its sources are (never outside the repository)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
DOCUMENT = SPEC / "create-image.md"
"""The endpoint document, verbatim."""
OPENAPI_EXCERPT = SPEC / "openapi-images-excerpt.yaml"
"""Excerpts of the official OpenAPI description, verbatim."""
OBSERVED = SPEC / "observed-behaviour.md"
"""What the live API was seen doing, with public evidence."""
REAL_TRAFFIC = ROOT / "tests" / "data" / "real-traffic" / "openai-images-generations.jsonl.gz"
"""Real exchanges with the live API (a subset: see its README)."""
