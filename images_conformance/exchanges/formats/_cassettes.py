r"""Recorded traffic as read from any format: the :class:`Cassette` of :class:`Interaction`\ s,
the file reading every format shares (gzip, JSON or YAML with the tags other recorders
write), and the helpers the readers share (headers, bodies, statuses).

The readers, one per format, are ``vcrpy``, ``ruby_vcr``, ``azure`` and ``har``; ``_loader``
picks one (:func:`load_cassette`). Response bodies a recorder kept compressed
(``Content-Encoding: gzip``, ``deflate`` or ``br``) are decompressed to be judged.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from images_conformance.exchanges._limits import (
    LimitExceeded,
    Limits,
    brotli_module,
    check_yaml_expansion,
    inflate,
    parse_json,
    size_text,
    unbrotli,
)

from ._scrub import SECRET_QUERY_KEYS

GENERATIONS_SUFFIX = "/images/generations"


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
    not_judged: str | None = None
    """Why the recording cannot be judged (e.g. a body the recorder truncated); None: judge it."""

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
    """``vcrpy``, ``vcrpy (old httpx layout)``, ``Ruby VCR``, ``Azure test proxy`` or
    ``HAR (<creator>)``."""
    interactions: list[Interaction]
    notes: list[str] = field(default_factory=list)
    """What the reader left out (a cap reached), said once for the file."""

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
    """A safe loader that also reads Ruby VCR's ``!binary`` and ignores other tags (so
    python tags never construct objects), and refuses aliases that expand without bound."""

    def construct_document(self, node: Any) -> Any:
        check_yaml_expansion(node, Limits().max_recording_bytes)
        return super().construct_document(node)


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
            return parse_json(stripped, Limits(max_bytes=Limits().max_recording_bytes))
        except LimitExceeded as exc:
            raise CassetteError(f"{name}: {exc}") from None
        except ValueError as exc:
            if name.lower().endswith((".json", ".json.gz")):
                raise CassetteError(f"{name} is not valid JSON: {exc}") from None
    try:
        return yaml.load(stripped, Loader=_Loader)
    except LimitExceeded as exc:
        raise CassetteError(f"{name}: {exc}") from None
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
    cap = Limits().max_recording_bytes
    try:
        if p.stat().st_size > cap:
            raise CassetteError(f"{p} is larger than {size_text(cap)}: not read")
        raw = p.read_bytes()
    except IsADirectoryError:
        raise CassetteError(f"{p} is a directory") from None
    except OSError as exc:
        raise CassetteError(f"cannot read {p}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = inflate(raw, cap, what="it")
        except LimitExceeded as exc:
            raise CassetteError(f"{p} is gzip-compressed and {exc}: not read") from None
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
    cap = Limits().max_bytes
    if body[:2] == b"\x1f\x8b":
        try:
            out = inflate(body, cap, what="a recorded body")
        except LimitExceeded as exc:
            raise CassetteError(f"{exc} (gzip): not judged") from None
        except (OSError, EOFError, zlib.error):
            notes.append("the body starts like gzip but does not decompress")
            return body
        notes.append("the body was recorded gzip-compressed; judged after decompressing it")
        return out
    if encoding == "deflate":
        for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
            try:
                out = inflate(body, cap, wbits=wbits, what="a recorded body")
            except LimitExceeded as exc:
                raise CassetteError(f"{exc} (deflate): not judged") from None
            except zlib.error:
                continue
            notes.append("the body was recorded deflate-compressed; judged after decompressing it")
            return out
    if encoding == "br" and body and body.lstrip()[:1] not in (b"{", b"[", b"e", b":"):
        if brotli_module() is None:
            notes.append("the body is brotli-compressed; install brotli to judge it")
            return body
        try:
            out = unbrotli(body, cap, what="a recorded body")
        except LimitExceeded as exc:
            raise CassetteError(f"{exc} (brotli): not judged") from None
        except ValueError:
            return body  # already decoded by the recorder
        notes.append("the body was recorded brotli-compressed; judged after decompressing it")
        return out
    return body
