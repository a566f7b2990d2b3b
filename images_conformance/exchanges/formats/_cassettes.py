"""Cassettes: reading any recorded traffic, and the vcrpy pieces the recorder uses.

Reading (:func:`load_cassette`) understands the cassette formats public projects
publish their recorded OpenAI traffic in:

- vcrpy (YAML or JSON; ``interactions``), including the older httpx layout
  (``status_code`` / ``content``) and bodies stored as ``!!binary``;
- Ruby VCR (``http_interactions``; ``!binary`` and ``base64_string`` bodies);
- the Azure SDK test proxy's session records (``Entries``), as in openai-dotnet;

each optionally gzip-compressed (``.yaml.gz``). Response bodies a recorder kept
compressed (``Content-Encoding: gzip`` or ``deflate``) are decompressed to be judged.

Recording uses vcrpy through pytest-recording with:

- :func:`scrub_request` / :func:`scrub_response`: secrets (API keys, organisation and
  project ids, cookies, credentials in URLs and query strings) replaced by
  ``REDACTED`` before anything is written, in requests and responses;
- the matchers ``images_endpoint`` (path, ignoring scheme, host, port and whatever
  prefix comes before ``/images/generations``) and ``json_body`` (the body as parsed
  JSON, key order ignored), so volatile headers never decide a match;
- :class:`CassettePersister`: plain YAML, or gzip-compressed when the file name ends in
  ``.gz``; a cassette is found under either name.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

GENERATIONS_SUFFIX = "/images/generations"
REDACTED = "REDACTED"

SECRET_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-organization",
        "openai-project",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
    }
)
"""Header names (any case) whose values never reach a cassette."""

SECRET_QUERY_KEYS: frozenset[str] = frozenset(
    {
        "api_key",
        "api-key",
        "apikey",
        "key",
        "access_token",
        "token",
        "auth",
        "password",
        "secret",
        "client_secret",
        "subscription-key",
    }
)
"""Query-string parameter names (any case) whose values never reach a cassette."""


class CassetteError(Exception):
    """A file that cannot be read as a cassette, with the reason."""


# -- the interactions of a cassette --------------------------------------------------------
@dataclass
class Interaction:
    """One recorded request and its answer, whatever format it came from."""

    index: int
    method: str
    uri: str
    request_headers: dict[str, str]
    """Lower-case names; repeated headers joined with ", "."""
    request_body: bytes | None
    status: int | None
    response_headers: dict[str, str]
    response_body: bytes
    recorded_at: str | None = None
    notes: list[str] = field(default_factory=list)
    """What had to be done to read it (decompression), or why it could not be judged."""

    @property
    def path(self) -> str:
        try:
            return urlsplit(self.uri).path
        except ValueError:
            return ""

    @property
    def content_type(self) -> str | None:
        value = self.response_headers.get("content-type")
        return value.split(";", 1)[0].strip().lower() if value else None

    @property
    def is_generation(self) -> bool:
        """A POST to ``.../images/generations``."""
        return self.method == "POST" and self.path.rstrip("/").endswith(GENERATIONS_SUFFIX)


@dataclass
class Cassette:
    path: Path
    format: str
    """``vcrpy``, ``vcrpy (old httpx layout)``, ``Ruby VCR`` or ``Azure test proxy``."""
    interactions: list[Interaction]

    def generations(self) -> list[Interaction]:
        return [i for i in self.interactions if i.is_generation]

    def find_get(self, url: str) -> Interaction | None:
        """The recorded GET of ``url`` (query order and secret parameters ignored)."""
        key = _uri_key(url)
        for inter in self.interactions:
            if inter.method == "GET" and _uri_key(inter.uri) == key:
                return inter
        return None


def _uri_key(uri: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return (uri, "", ())
    query = tuple(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in SECRET_QUERY_KEYS
        )
    )
    return ((parts.hostname or "").lower(), parts.path, query)


# -- YAML that other recorders write -------------------------------------------------------
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A safe loader that also reads Ruby VCR's ``!binary`` and ignores other tags."""


def _ruby_binary(loader: Any, node: Any) -> bytes:
    text = loader.construct_scalar(node)
    try:
        return base64.b64decode("".join(str(text).split()))
    except (binascii.Error, ValueError):
        return str(text).encode("utf-8", "surrogateescape")


def _any_tag(loader: Any, node: Any) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_constructor("!binary", _ruby_binary)
_Loader.add_constructor(None, _any_tag)


def _parse_text(text: str, name: str) -> Any:
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise CassetteError(f"{name} is empty")
    if stripped[0] in "{[":
        try:
            return json.loads(stripped)
        except ValueError as exc:
            if name.lower().endswith((".json", ".json.gz")):
                raise CassetteError(f"{name} is not valid JSON: {exc}") from None
    try:
        return yaml.load(stripped, Loader=_Loader)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()
        raise CassetteError(
            f"{name} is neither JSON nor YAML: {' '.join(first[:3])[:300]}"
        ) from None
    except RecursionError:
        raise CassetteError(f"{name} is nested too deeply to read") from None


def read_cassette_data(path: str | Path) -> Any:
    """The parsed content of a cassette file (gzip, JSON or YAML)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except IsADirectoryError:
        raise CassetteError(f"{p} is a directory") from None
    except OSError as exc:
        raise CassetteError(f"cannot read {p}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise CassetteError(
                f"{p} looks gzip-compressed but does not decompress: {exc}"
            ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CassetteError(f"{p} is not UTF-8 text (nor gzip): not a cassette") from None
    return _parse_text(text, p.name)


# -- one format each -----------------------------------------------------------------------
def _headers(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if not isinstance(raw, Mapping):
        return out
    for name, value in raw.items():
        if isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value)
        elif value is None:
            text = ""
        else:
            text = str(value)
        key = str(name).lower()
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def _to_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, (dict, list, int, float, bool)):
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    return str(value).encode("utf-8")


def _status(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("code")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _decode_body(body: bytes, headers: dict[str, str], notes: list[str]) -> bytes:
    """The body as the client saw it after content decoding."""
    encoding = headers.get("content-encoding", "").lower().strip()
    if body[:2] == b"\x1f\x8b":
        try:
            out = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            notes.append("the body starts like gzip but does not decompress")
            return body
        notes.append("the body was recorded gzip-compressed; judged after decompressing it")
        return out
    if encoding == "deflate":
        for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
            try:
                out = zlib.decompress(body, wbits)
            except zlib.error:
                continue
            notes.append("the body was recorded deflate-compressed; judged after decompressing it")
            return out
    if encoding == "br" and body and body.lstrip()[:1] not in (b"{", b"[", b"e", b":"):
        try:
            import brotli  # type: ignore[import-not-found]
        except ImportError:
            notes.append("the body is brotli-compressed; install brotli to judge it")
            return body
        try:
            out = brotli.decompress(body)
        except Exception:
            return body  # already decoded by the recorder
        notes.append("the body was recorded brotli-compressed; judged after decompressing it")
        return out
    return body


def _from_vcrpy(items: list[Any]) -> tuple[str, list[Interaction]]:
    out: list[Interaction] = []
    old = False
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise CassetteError(f"interaction {i} is not a mapping")
        req = item.get("request") or {}
        resp = item.get("response") or {}
        if not isinstance(req, Mapping) or not isinstance(resp, Mapping):
            raise CassetteError(f"interaction {i} has no request/response mappings")
        notes: list[str] = []
        rheaders = _headers(resp.get("headers"))
        if "status_code" in resp or "content" in resp:
            old = True
            status = _status(resp.get("status_code"))
            body = _to_bytes(resp.get("content"))
        else:
            status = _status(resp.get("status"))
            raw_body = resp.get("body")
            body = _to_bytes(raw_body.get("string") if isinstance(raw_body, Mapping) else raw_body)
        req_body = req.get("body")
        if isinstance(req_body, Mapping):  # some stubs store {"string": ...}
            req_body = req_body.get("string")
        out.append(
            Interaction(
                index=i,
                method=str(req.get("method", "")).upper(),
                uri=str(req.get("uri") or req.get("url") or ""),
                request_headers=_headers(req.get("headers")),
                request_body=None if req_body is None else _to_bytes(req_body),
                status=status,
                response_headers=rheaders,
                response_body=_decode_body(body, rheaders, notes),
                recorded_at=None,
                notes=notes,
            )
        )
    return ("vcrpy (old httpx layout)" if old else "vcrpy"), out


def _ruby_body(raw: Any) -> bytes | None:
    if not isinstance(raw, Mapping):
        return None if raw is None else _to_bytes(raw)
    if "base64_string" in raw:
        try:
            return base64.b64decode("".join(str(raw["base64_string"]).split()))
        except (binascii.Error, ValueError):
            return _to_bytes(raw["base64_string"])
    return _to_bytes(raw.get("string"))


def _from_ruby_vcr(items: list[Any]) -> list[Interaction]:
    out: list[Interaction] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise CassetteError(f"interaction {i} is not a mapping")
        req = item.get("request") or {}
        resp = item.get("response") or {}
        notes: list[str] = []
        rheaders = _headers(resp.get("headers"))
        out.append(
            Interaction(
                index=i,
                method=str(req.get("method", "")).upper(),
                uri=str(req.get("uri") or ""),
                request_headers=_headers(req.get("headers")),
                request_body=_ruby_body(req.get("body")),
                status=_status(resp.get("status")),
                response_headers=rheaders,
                response_body=_decode_body(_ruby_body(resp.get("body")) or b"", rheaders, notes),
                recorded_at=str(item["recorded_at"]) if item.get("recorded_at") else None,
                notes=notes,
            )
        )
    return out


def _azure_body(raw: Any, headers: dict[str, str]) -> bytes:
    if isinstance(raw, str):
        ct = headers.get("content-type", "").lower()
        if ct.startswith(("image/", "application/octet-stream")):
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                pass
    return _to_bytes(raw)


def _from_azure(items: list[Any]) -> list[Interaction]:
    out: list[Interaction] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise CassetteError(f"entry {i} is not an object")
        qheaders = _headers(item.get("RequestHeaders"))
        rheaders = _headers(item.get("ResponseHeaders"))
        req_body = item.get("RequestBody")
        out.append(
            Interaction(
                index=i,
                method=str(item.get("RequestMethod", "")).upper(),
                uri=str(item.get("RequestUri") or ""),
                request_headers=qheaders,
                request_body=None if req_body is None else _azure_body(req_body, qheaders),
                status=_status(item.get("StatusCode")),
                response_headers=rheaders,
                response_body=_azure_body(item.get("ResponseBody"), rheaders),
            )
        )
    return out


def load_cassette(path: str | Path) -> Cassette:
    """Read a cassette of any supported format; raises CassetteError when it cannot."""
    p = Path(path)
    data = read_cassette_data(p)
    if isinstance(data, Mapping) and isinstance(data.get("interactions"), list):
        fmt, interactions = _from_vcrpy(data["interactions"])
    elif isinstance(data, Mapping) and isinstance(data.get("http_interactions"), list):
        fmt, interactions = "Ruby VCR", _from_ruby_vcr(data["http_interactions"])
    elif isinstance(data, Mapping) and isinstance(data.get("Entries"), list):
        fmt, interactions = "Azure test proxy", _from_azure(data["Entries"])
    elif (
        isinstance(data, list)
        and data
        and all(isinstance(x, Mapping) and "request" in x and "response" in x for x in data)
    ):
        fmt, interactions = _from_vcrpy(data)
        fmt = "vcrpy (pre-1.0 layout)"
    else:
        shown = sorted(map(str, data))[:6] if isinstance(data, Mapping) else type(data).__name__
        raise CassetteError(
            f"{p} is not a cassette: expected 'interactions' (vcrpy), 'http_interactions' "
            f"(Ruby VCR) or 'Entries' (Azure SDK test proxy); found {shown}"
        )
    return Cassette(path=p, format=fmt, interactions=interactions)


# -- recording: secrets out ----------------------------------------------------------------
def _redact_value(name: str, value: str) -> str:
    if name.lower() in ("authorization", "proxy-authorization"):
        scheme, sep, _ = str(value).partition(" ")
        return f"{scheme} {REDACTED}" if sep else REDACTED
    return REDACTED


def redact_url(uri: str) -> str:
    """``uri`` without a password in it and with secret query parameters redacted."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_QUERY_KEYS for k, _ in pairs):
            query = urlencode(
                [(k, REDACTED if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs]
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: secrets out of headers and the URL."""
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS:
            request.headers[name] = _redact_value(name, request.headers[name])
    request.uri = redact_url(request.uri)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: secrets out of the response headers (Set-Cookie, ...)."""
    headers = response.get("headers")
    if isinstance(headers, dict):
        for name, values in list(headers.items()):
            if str(name).lower() in SECRET_HEADERS:
                if isinstance(values, list):
                    headers[name] = [_redact_value(name, v) for v in values]
                else:
                    headers[name] = _redact_value(name, values)
            elif str(name).lower() in ("location", "content-location") and isinstance(values, list):
                headers[name] = [redact_url(str(v)) for v in values]
    return response


# -- recording: matching -------------------------------------------------------------------
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
            raw = gzip.decompress(raw)
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
    if api_key and len(api_key) >= 8:
        # The key itself, wherever else it might turn up (an echo in a body or a URL).
        # vcrpy's filter_sensitive_data covers requests only before vcrpy 9, so the
        # response side is scrubbed here too.
        config["filter_sensitive_data"] = {"<API_KEY>": api_key}
        config["before_record_response"] = _response_scrubber(api_key)
    return config


def _response_scrubber(api_key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``scrub_response``, and then the API key replaced wherever it stands in the answer."""
    key_text, key_bytes = api_key, api_key.encode()

    def replace(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.replace(key_bytes, b"<API_KEY>")
        if isinstance(value, str):
            return value.replace(key_text, "<API_KEY>")
        return value

    def scrub(response: dict[str, Any]) -> dict[str, Any]:
        response = scrub_response(response)
        body = response.get("body")
        if isinstance(body, dict) and "string" in body:
            body["string"] = replace(body["string"])
        headers = response.get("headers")
        if isinstance(headers, dict):
            for name, values in list(headers.items()):
                headers[name] = (
                    [replace(v) for v in values] if isinstance(values, list) else replace(values)
                )
        return response

    return scrub
