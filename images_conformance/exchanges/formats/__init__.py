"""Recording formats: reading recorded traffic (vcrpy, Ruby VCR, Azure test proxy) into
interactions, scrubbing secrets out of it, and the vcrpy pieces the recorder uses."""

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
    "Interaction",
    "canonical_body",
    "endpoint_key",
    "load_cassette",
    "match_endpoint",
    "match_json_body",
    "read_cassette_data",
    "recording_config",
    "redact_url",
    "register_matchers",
    "scrub_request",
    "scrub_response",
]
