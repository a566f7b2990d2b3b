"""The JSON Schema documents of schemas/, loaded for jsonschema."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILES = {
    "request": "create-image-request.schema.json",
    "response": "images-response.schema.json",
    "stream_event": "image-stream-event.schema.json",
    "error": "error-response.schema.json",
}


def schemas_dir() -> Path:
    """Where the schema files are: inside the installed package, else the checkout's schemas/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if (candidate / SCHEMA_FILES["request"]).is_file():
            return candidate
    raise FileNotFoundError(
        "the images-conformance JSON schemas were not found next to the validator package "
        f"({here / 'schemas'}) nor in a checkout ({here.parent / 'schemas'})"
    )


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema document ``name`` (a key of SCHEMA_FILES)."""
    return json.loads((schemas_dir() / SCHEMA_FILES[name]).read_text(encoding="utf-8"))


@cache
def schema_validator(name: str) -> Any:
    """A jsonschema Draft 2020-12 validator for schema ``name``, with all schemas registered."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = [
        (doc["$id"], Resource.from_contents(doc))
        for doc in (load_schema(key) for key in SCHEMA_FILES)
    ]
    registry = Registry().with_resources(resources)
    return Draft202012Validator(
        load_schema(name),
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
