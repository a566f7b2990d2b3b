"""The JSON report file (``format_version`` 1, docs/gating.md), with its Markdown summary
and HTML page beside it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .html import render_html
from .markdown import markdown_path, render_markdown


def report_paths(path: str | Path) -> tuple[Path, Path, Path]:
    """(JSON, Markdown, HTML) paths for a report written to ``path``: a path ending in
    ``.html`` is the page, with the JSON and Markdown beside it (``.json``, ``.md``); any
    other path is the JSON, with ``.md`` and ``.html`` beside it."""
    p = Path(path)
    if p.suffix.lower() in (".html", ".htm"):
        return p.with_suffix(".json"), p.with_suffix(".md"), p
    page = p.with_suffix(".html") if p.suffix.lower() == ".json" else p.with_name(p.name + ".html")
    return p, markdown_path(p), page


def write_report(report: Mapping[str, Any], path: str | Path) -> tuple[Path, Path, Path]:
    """Write the JSON report, the Markdown summary and the HTML page (see
    :func:`report_paths`); return the three paths."""
    json_path, md, page = report_paths(path)
    if json_path.parent and not json_path.parent.exists():
        json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md.write_text(render_markdown(report), encoding="utf-8")
    page.write_text(render_html(report), encoding="utf-8")
    return json_path, md, page
