"""Recording with vcrpy through pytest-recording: the matchers ``images_endpoint`` (path,
ignoring scheme, host, port and whatever prefix comes before ``/images/generations``)
and ``json_body`` (the body as parsed JSON, key order ignored), so volatile headers never
decide a match; :class:`CassettePersister` (plain YAML, or gzip-compressed when the file
name ends in ``.gz``; a cassette is found under either name); :func:`recording_config`."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from images_conformance.exchanges._limits import LimitExceeded, Limits, inflate
from images_conformance.exchanges._secrets import reveal

from ._cassettes import GENERATIONS_SUFFIX
from ._scrub import SECRET_QUERY_KEYS, _response_scrubber, scrub_request, scrub_response


def endpoint_key(uri: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What identifies a request's target: the generations endpoint, whatever the host,
    port and prefix (``/v1``, ``/openai/v1``, none); else the path and the query (sorted,
    secret parameters left out)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return (uri, ())
    path = parts.path.rstrip("/")
    if path.endswith(GENERATIONS_SUFFIX):
        return (GENERATIONS_SUFFIX, ())
    query = tuple(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in SECRET_QUERY_KEYS
        )
    )
    return (parts.path or "/", query)


def canonical_body(body: Any) -> str | bytes:
    """A JSON body as canonical text (keys sorted, so key order does not matter; ``1``,
    ``1.0`` and ``true`` stay different); anything else as its bytes."""
    if body is None:
        return b""
    raw = body if isinstance(body, bytes) else str(body).encode("utf-8", "surrogateescape")
    if not raw.strip():
        return b""
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw
    return json.dumps(parsed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def match_endpoint(r1: Any, r2: Any) -> None:
    """vcrpy matcher ``images_endpoint`` (raises AssertionError on a mismatch)."""
    k1, k2 = endpoint_key(r1.uri), endpoint_key(r2.uri)
    if k1 != k2:
        raise AssertionError(f"different endpoints: {k1} != {k2}")


def match_json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher ``json_body`` (raises AssertionError on a mismatch)."""
    from vcr.util import read_body

    b1, b2 = canonical_body(read_body(r1)), canonical_body(read_body(r2))
    if b1 != b2:
        s1 = b1 if isinstance(b1, str) else repr(b1[:200])
        s2 = b2 if isinstance(b2, str) else repr(b2[:200])
        raise AssertionError(
            f"different bodies:\n  this request: {s1[:300]}\n  recorded:     {s2[:300]}"
        )


MATCH_ON = ("method", "images_endpoint", "json_body")


def register_matchers(vcr: Any) -> None:
    """Make the matchers of :data:`MATCH_ON` known to a ``vcr.VCR``."""
    vcr.register_matcher("images_endpoint", match_endpoint)
    vcr.register_matcher("json_body", match_json_body)


# -- recording: where cassettes live -------------------------------------------------------
class CassettePersister:
    """vcrpy persister: reads ``NAME.yaml`` or ``NAME.yaml.gz``; writes plain YAML, or gzip
    when :attr:`compress` is set (then to ``NAME.yaml.gz``, removing a plain twin)."""

    compress: bool = False

    @classmethod
    def existing(cls, cassette_path: str | Path) -> Path | None:
        """The file holding this cassette, plain or compressed; None when there is none."""
        p = Path(cassette_path)
        for candidate in (p, p.with_name(p.name + ".gz")):
            if candidate.is_file() and candidate.stat().st_size > 0:
                return candidate
        return None

    @classmethod
    def load_cassette(cls, cassette_path: str | Path, serializer: Any) -> Any:
        from vcr.persisters.filesystem import CassetteDecodeError, CassetteNotFoundError
        from vcr.serialize import deserialize

        found = cls.existing(cassette_path)
        if found is None:
            raise CassetteNotFoundError()
        raw = found.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = inflate(raw, Limits().max_recording_bytes, what=str(found))
            except (LimitExceeded, zlib.error) as err:
                raise CassetteDecodeError(f"{found}: {err}") from err
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise CassetteDecodeError(f"{found} is not UTF-8 text") from err
        return deserialize(text, serializer)

    @classmethod
    def save_cassette(cls, cassette_path: str | Path, cassette_dict: Any, serializer: Any) -> None:
        from vcr.serialize import serialize

        data = serialize(cassette_dict, serializer).encode("utf-8")
        p = Path(cassette_path)
        p.parent.mkdir(parents=True, exist_ok=True)
        gz = p.with_name(p.name + ".gz")
        if cls.compress:
            gz.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
            p.unlink(missing_ok=True)
        else:
            p.write_bytes(data)
            gz.unlink(missing_ok=True)


class CompressingPersister(CassettePersister):
    compress = True


def recording_config(*, api_key: str | None = None, compress: bool = False) -> dict[str, Any]:
    """The ``vcr_config`` the recorded scenarios use (see docs/cassettes.md)."""
    config: dict[str, Any] = {
        "match_on": MATCH_ON,
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "record_on_exception": True,
        "serializer": "yaml",
        "persister": CompressingPersister if compress else CassettePersister,
    }
    api_key = reveal(api_key)  # the value itself: vcrpy's filters str() it
    if api_key and len(api_key) >= 8:
        # The key itself, wherever else it might turn up (an echo in a body or a URL).
        # vcrpy's filter_sensitive_data covers requests only before vcrpy 9, so the
        # response side is scrubbed here too.
        config["filter_sensitive_data"] = {"<API_KEY>": api_key}
        config["before_record_response"] = _response_scrubber(api_key)
    return config
