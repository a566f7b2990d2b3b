"""Which reader a recording goes to: :func:`load_cassette` looks at the data's shape.

A new format adds its reader module beside the others and one branch below. HAR
(``har.py``) is recognised by its first bytes (``{"log": ...``) and read entry by entry
within its own caps; a HAR whose ``log`` is not the first member is read from the data."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from . import har
from ._cassettes import Cassette, CassetteError, read_cassette_data
from .azure import read_azure
from .ruby_vcr import read_ruby_vcr
from .vcrpy import read_vcrpy


def load_cassette(path: str | Path) -> Cassette:
    """Read a cassette of any supported format; raises CassetteError when it cannot."""
    p = Path(path)
    if p.is_file():  # a HAR is read entry by entry, within its own caps
        head, _ = har.read_har_bytes(p, limit=4096)
        if har.looks_like_har(head):
            return har.load_har(p)
    data = read_cassette_data(p)
    if isinstance(data, Mapping) and isinstance(data.get("log"), Mapping):
        return har.har_from_data(p, data)
    if isinstance(data, Mapping) and isinstance(data.get("interactions"), list):
        fmt, interactions = read_vcrpy(data["interactions"])
    elif isinstance(data, Mapping) and isinstance(data.get("http_interactions"), list):
        fmt, interactions = "Ruby VCR", read_ruby_vcr(data["http_interactions"])
    elif isinstance(data, Mapping) and isinstance(data.get("Entries"), list):
        fmt, interactions = "Azure test proxy", read_azure(data["Entries"])
    elif (
        isinstance(data, list)
        and data
        and all(isinstance(x, Mapping) and "request" in x and "response" in x for x in data)
    ):
        fmt, interactions = read_vcrpy(data)
        fmt = "vcrpy (pre-1.0 layout)"
    else:
        shown = sorted(map(str, data))[:6] if isinstance(data, Mapping) else type(data).__name__
        raise CassetteError(
            f"{p} is not a cassette: expected 'interactions' (vcrpy), 'http_interactions' "
            f"(Ruby VCR), 'Entries' (Azure SDK test proxy) or 'log' (HAR); found {shown}"
        )
    return Cassette(path=p, format=fmt, interactions=interactions)
