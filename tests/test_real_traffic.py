"""Real exchanges with the live API (tests/data/real-traffic) validate with no false alarm."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sources import REAL_TRAFFIC

from validator import (
    DEFAULT_PROFILE,
    recording_window,
    validate_error,
    validate_request,
    validate_response,
)


def _records() -> list[dict[str, Any]]:
    with gzip.open(REAL_TRAFFIC, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


RECORDS = _records()


def _id(record: dict[str, Any]) -> str:
    src = record["source"]
    return f"{src['repo']}:{Path(src['path']).name}"[:90]


def _documented(record: dict[str, Any]) -> bool:
    model = record["request"].get("model")
    return model is None or model in DEFAULT_PROFILE.models


def test_the_recordings_are_all_here():
    assert len(RECORDS) >= 100
    assert (
        sum(1 for r in RECORDS if r["status"] == 200 and not r.get("altered") and _documented(r))
        >= 80
    )


@pytest.mark.parametrize(
    "record", [r for r in RECORDS if r["status"] == 200 and _documented(r)], ids=_id
)
def test_real_response_validates_clean(record):
    # Altered recordings carry placeholder images: judge their shape, not their bytes.
    found = validate_response(
        record["request"],
        record["response"],
        check_images=not record.get("altered"),
        received_at=recording_window(record["recorded_at"]),
    )
    assert found == [], [str(v) for v in found]
    assert validate_request(record["request"]) == []


@pytest.mark.parametrize("record", [r for r in RECORDS if r["status"] != 200], ids=_id)
def test_real_errors_have_the_envelope(record):
    assert 400 <= record["status"] < 500
    assert validate_error(record["status"], record["response"]) == []


def test_models_newer_than_the_document_are_reported_not_crashed():
    newer = [r for r in RECORDS if not _documented(r)]
    assert newer, "the recordings include gpt-image-2"
    for record in newer:
        request_rules = {v.rule for v in validate_request(record["request"])}
        assert "request.model.known" in request_rules
        response_rules = {v.rule for v in validate_response(record["request"], record["response"])}
        if record["response"].get("size") not in ("1024x1024", "1024x1536", "1536x1024"):
            assert "response.echo.resolved" in response_rules


def test_created_is_judged_against_the_recording_date_where_there_is_one():
    dated = [r for r in RECORDS if r["status"] == 200 and recording_window(r["recorded_at"])]
    assert len(dated) >= 80
    record = dated[0]
    for created in (0, int(recording_window(record["recorded_at"])[1]) + 86_400):
        response = {**record["response"], "created": created}
        found = validate_response(
            record["request"],
            response,
            check_images=False,
            received_at=recording_window(record["recorded_at"]),
        )
        assert [v.rule for v in found] == ["response.created.time_of_creation"]
