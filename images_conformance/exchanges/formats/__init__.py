"""Recording formats: reading recorded traffic (vcrpy, Ruby VCR, Azure test proxy, HAR) into
interactions, scrubbing secrets out of it, the vcrpy pieces the recorder uses, and the HAR
writer (:class:`HarWriter`, :func:`write_har`)."""

from ._cassettes import GENERATIONS_SUFFIX, Cassette, CassetteError, Interaction, read_cassette_data
from ._loader import load_cassette
from ._record import (
    MATCH_ON,
    CassettePersister,
    CompressingPersister,
    canonical_body,
    endpoint_key,
    match_endpoint,
    match_json_body,
    recording_config,
    register_matchers,
)
from ._scrub import (
    REDACTED,
    SECRET_HEADERS,
    SECRET_QUERY_KEYS,
    redact_url,
    scrub_request,
    scrub_response,
)
from .har import HarWriter, load_har, merge_har_files, write_har

__all__ = [
    "GENERATIONS_SUFFIX",
    "MATCH_ON",
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_QUERY_KEYS",
    "Cassette",
    "CassetteError",
    "CassettePersister",
    "CompressingPersister",
    "HarWriter",
    "Interaction",
    "canonical_body",
    "endpoint_key",
    "load_cassette",
    "load_har",
    "match_endpoint",
    "match_json_body",
    "merge_har_files",
    "read_cassette_data",
    "recording_config",
    "redact_url",
    "register_matchers",
    "scrub_request",
    "scrub_response",
    "write_har",
]
