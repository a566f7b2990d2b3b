"""Build ``openai-images-generations.jsonl.gz`` here from the full recorded set.

Run by hand only, never by the tests (which read the subset this writes)::

    python tests/data/real-traffic/make_subset.py PATH/TO/openai-images-generations.jsonl.gz

The full set (141 exchanges recorded from the live OpenAI API by public projects,
about 10 MB compressed) is mostly small: url answers, errors, and answers whose images
the recording project replaced with a 1x1 placeholder. Sixteen answers carry whole
base64 images of 0.3 to 4 MB each. The subset:

1. keeps every exchange whose record is under ``SMALL`` bytes of JSON, whole;
2. of the exchanges carrying whole images, keeps the smallest one per
   (model, image format, image size) key, and drops the others; an exchange larger
   than ``LARGEST`` is never kept (its format and size must then be kept by another
   model's exchange);
3. checks that every model, status, response shape (top-level keys and item keys),
   requested and echoed size, echoed format, image format and image size of the full
   set is still present, and fails otherwise.

Records are written unchanged, in their original order.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "openai-images-generations.jsonl.gz"
SMALL = 20_000
"""Records below this many bytes of JSON are kept whole (url answers, errors, placeholders)."""
LARGEST = 2_500_000
"""No record above this many bytes is kept (one 4 MB dall-e-2 answer repeats a kept key)."""


def image_key(record: dict[str, Any]) -> tuple[str, str] | None:
    """(format, WxH) of the first base64 image of a record's answer, or None."""
    from PIL import Image  # a dependency of the project's tests

    data = record["response"].get("data") if isinstance(record["response"], dict) else None
    if not data or not isinstance(data[0], dict) or not data[0].get("b64_json"):
        return None
    try:
        raw = base64.b64decode(data[0]["b64_json"])
        with Image.open(io.BytesIO(raw)) as img:
            return (str(img.format).lower(), f"{img.width}x{img.height}")
    except (binascii.Error, ValueError, OSError):
        return None


def features(record: dict[str, Any]) -> set[tuple[str, Any]]:
    """What a record shows that the subset must keep."""
    resp = record["response"]
    out: set[tuple[str, Any]] = {
        ("model", record["request"].get("model")),
        ("status", record["status"]),
        ("altered", bool(record.get("altered"))),
        ("requested size", record["request"].get("size")),
    }
    if isinstance(resp, dict):
        out.add(("shape", tuple(sorted(resp))))
        data = resp.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            out.add(("item shape", tuple(sorted(data[0]))))
        if "size" in resp:
            out.add(("echoed size", resp["size"]))
        if "output_format" in resp:
            out.add(("echoed format", resp["output_format"]))
    key = image_key(record)
    if key is not None:
        out.add(("image format", key[0]))
        out.add(("image size", key[1]))
        out.add(("whole image", (record["request"].get("model"), *key)))
    return out


def select(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The subset, in the original order."""
    size = [len(json.dumps(r)) for r in records]
    keep = {i for i, n in enumerate(size) if n < SMALL}
    covered: set[tuple[str, Any]] = set()
    for i in keep:
        covered |= features(records[i])
    large = sorted((i for i in range(len(records)) if i not in keep), key=lambda i: size[i])
    for i in large:
        if size[i] > LARGEST:
            continue
        new = features(records[i]) - covered
        if new:
            keep.add(i)
            covered |= new
    return [records[i] for i in sorted(keep)]


def union(records: Iterable[dict[str, Any]]) -> set[tuple[str, Any]]:
    out: set[tuple[str, Any]] = set()
    for r in records:
        out |= features(r)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with gzip.open(argv[0], "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    subset = select(records)
    too_large = [r for r in records if len(json.dumps(r)) > LARGEST]
    only_too_large = union(too_large) - union(r for r in records if r not in too_large)
    for key in sorted(only_too_large, key=str):
        print(f"not kept (only in a record over {LARGEST} bytes): {key}")
    lost = union(records) - union(subset) - only_too_large
    if lost:
        print(f"the subset would lose {sorted(lost, key=str)}", file=sys.stderr)
        return 1
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        for r in subset:
            fh.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{len(subset)} of {len(records)} records, {OUT.stat().st_size} bytes -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
