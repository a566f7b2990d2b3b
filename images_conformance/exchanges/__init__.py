"""Sources of exchanges: the :class:`Exchange` model, and the bounded HTTP client the suite
sends through (``formats`` reads and writes recordings)."""

from ._client import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    GENERATIONS_PATH,
    GenerationCapReached,
    Target,
    encode_json,
)
from ._exchange import SUITE_KEY_PREFIX, Exchange, mask_key, public_url, trim_body

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "GENERATIONS_PATH",
    "SUITE_KEY_PREFIX",
    "Exchange",
    "GenerationCapReached",
    "Target",
    "encode_json",
    "mask_key",
    "public_url",
    "trim_body",
]
