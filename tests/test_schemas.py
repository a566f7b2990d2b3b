"""The JSON Schema documents: they cover the official schema text, and ship in the wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from sources import OPENAPI_EXCERPT

from validator._models import NULLABLE_PARAMS
from validator._schemas import SCHEMA_FILES, load_schema, schema_validator

ROOT = Path(__file__).resolve().parent.parent

# Official schema name -> (our schema, JSON pointer to the matching object schema).
COUNTERPARTS = {
    "CreateImageRequest": ("request", ""),
    "ImagesResponse": ("response", ""),
    "Image": ("response", "/$defs/Image"),
    "ImageGenUsage": ("response", "/$defs/ImageGenUsage"),
    "ImageGenInputUsageDetails": ("response", "/$defs/ImageGenInputUsageDetails"),
    "ImageGenOutputTokensDetails": ("response", "/$defs/ImageGenOutputTokensDetails"),
    "ImagesUsage": ("response", "/$defs/ImagesUsage"),
    "ImageGenPartialImageEvent": ("stream_event", "/$defs/ImageGenPartialImageEvent"),
    "ImageGenCompletedEvent": ("stream_event", "/$defs/ImageGenCompletedEvent"),
    "Error": ("error", "/properties/error"),
    "ErrorResponse": ("error", ""),
}


def _official() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI_EXCERPT.read_text(encoding="utf-8"))["components"]["schemas"]


def _resolve(doc_name: str, node: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref (inside our documents) until a concrete node."""
    while "$ref" in node:
        ref = node["$ref"]
        target_doc = doc_name
        if not ref.startswith("#"):
            uri, _, ref = ref.partition("#")
            target_doc = next(k for k in SCHEMA_FILES if load_schema(k)["$id"] == uri)
            ref = "#" + ref
        node = _pointer(load_schema(target_doc), ref[1:])
        doc_name = target_doc
    return node


def _pointer(doc: dict[str, Any], pointer: str) -> dict[str, Any]:
    node: Any = doc
    for part in [p for p in pointer.split("/") if p]:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _merged(doc_name: str, node: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Properties and required names of an object schema, through $ref and allOf."""
    node = _resolve(doc_name, node)
    props = dict(node.get("properties", {}))
    required = set(node.get("required", []))
    for part in node.get("allOf", []):
        more, req = _merged(doc_name, part)
        props = {**more, **props}
        required |= req
    return props, required


def _types(doc_name: str, node: dict[str, Any]) -> set[str]:
    node = _resolve(doc_name, node)
    found: set[str] = set()
    kind = node.get("type")
    if isinstance(kind, str):
        found.add(kind)
    elif isinstance(kind, list):
        found.update(kind)
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        found |= _types(doc_name, branch)
    if "const" in node and isinstance(node["const"], str):
        found.add("string")
    return found


def _enum(doc_name: str, node: dict[str, Any]) -> set[Any]:
    node = _resolve(doc_name, node)
    values = set(node.get("enum", []))
    if "const" in node:
        values.add(node["const"])
    for branch in node.get("anyOf", []):
        values |= _enum(doc_name, branch)
    return values


def _official_types(node: dict[str, Any], schemas: dict[str, Any]) -> tuple[set[str], set[Any]]:
    if "$ref" in node:
        node = schemas[node["$ref"].rsplit("/", 1)[1]]
    types: set[str] = set()
    values: set[Any] = set(node.get("enum", []))
    if "type" in node:
        types.add(node["type"])
    for branch in node.get("anyOf", []):
        more_types, more_values = _official_types(branch, schemas)
        types |= more_types
        values |= more_values
    if node.get("nullable"):
        types.add("null")
    return types, values


def test_schemas_are_valid_draft_2020_12():
    from jsonschema import Draft202012Validator

    for name in SCHEMA_FILES:
        doc = load_schema(name)
        Draft202012Validator.check_schema(doc)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"].startswith("urn:images-conformance:schema:")


@pytest.mark.parametrize("official_name", sorted(COUNTERPARTS))
def test_every_official_property_type_and_enum_value_is_in_ours(official_name):
    schemas = _official()
    official = schemas[official_name]
    doc_name, pointer = COUNTERPARTS[official_name]
    ours, ours_required = _merged(doc_name, _pointer(load_schema(doc_name), pointer))
    assert set(official.get("required", [])) <= ours_required
    for prop, node in official.get("properties", {}).items():
        assert prop in ours, f"{official_name}.{prop} is missing from our {doc_name} schema"
        if "$ref" in node and "properties" in schemas[node["$ref"].rsplit("/", 1)[1]]:
            continue  # an object: compared as its own entry of COUNTERPARTS
        types, values = _official_types(node, schemas)
        our_types = _types(doc_name, ours[prop])
        assert types <= our_types | {"null"} if prop == "user" else types <= our_types, (
            prop,
            types,
            our_types,
        )
        assert values <= _enum(doc_name, ours[prop]), (prop, values - _enum(doc_name, ours[prop]))


def test_nullable_request_properties_accept_null():
    request = schema_validator("request")
    for prop in load_schema("request")["properties"]:
        body = {"prompt": "x", prop: None}
        assert request.is_valid(body) == (prop in NULLABLE_PARAMS), prop


def test_integers_are_integers():
    request = schema_validator("request")
    assert request.is_valid({"prompt": "x", "n": 2})
    assert not request.is_valid({"prompt": "x", "n": True})
    assert not request.is_valid({"prompt": "x", "n": 1.5})
    assert not request.is_valid({"prompt": "x", "stream": 1})


def test_stream_event_schema_is_discriminated_by_type():
    event = schema_validator("stream_event")
    common = {
        "b64_json": "AA==",
        "created_at": 1,
        "size": "auto",
        "quality": "auto",
        "background": "auto",
        "output_format": "png",
    }
    usage = {
        "input_tokens": 1,
        "output_tokens": 1,
        "total_tokens": 2,
        "input_tokens_details": {"text_tokens": 1, "image_tokens": 0},
    }
    assert event.is_valid(
        {"type": "image_generation.partial_image", **common, "partial_image_index": 0}
    )
    assert event.is_valid({"type": "image_generation.completed", **common, "usage": usage})
    assert not event.is_valid({"type": "image_generation.completed", **common})
    assert not event.is_valid({"type": "image_generation.partial_image", **common})
    assert not event.is_valid({"type": "other", **common, "partial_image_index": 0})


def test_the_wheel_ships_the_schemas(tmp_path):
    """An installed validator finds its schemas without a checkout."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if (
        result.returncode != 0
        and "hatchling" in result.stderr
        and "No module named" in result.stderr
    ):
        pytest.skip(
            "hatchling is not installed in this environment, so no wheel can be built offline"
        )
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("images_conformance-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for filename in SCHEMA_FILES.values():
        assert f"validator/schemas/{filename}" in names
    data = zipfile.ZipFile(wheel).read("validator/schemas/create-image-request.schema.json")
    assert json.loads(data) == load_schema("request")
