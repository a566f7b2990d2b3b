"""The JSON report file (``format_version`` 1, docs/gating.md), with its Markdown summary beside it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .markdown import markdown_path, render_markdown


def write_report(report: Mapping[str, Any], path: str | Path) -> tuple[Path, Path]:
    """Write the JSON report and the Markdown summary beside it; return both paths."""
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md = markdown_path(p)
    md.write_text(render_markdown(report), encoding="utf-8")
    return p, md
