"""The official ``openai`` SDK, unchanged, against the reference server.

Every result is judged twice: by the validator (the response or the stream, against the
exact request body the SDK sent) and by decoding the images with Pillow.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from reference_server import running_server
from validator import parse_sse, validate_response, validate_stream

API_KEY = "sk-test-roundtrip"


class Recorder:
    """An httpx event hook that keeps the JSON body of every request the SDK sends."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> None:
        self.bodies.append(json.loads(request.content))

    @property
    def last(self) -> dict[str, Any]:
        return self.bodies[-1]


@pytest.fixture(scope="module")
def server():
    with running_server(api_key=API_KEY) as srv:
        yield srv


@pytest.fixture()
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture()
def client(server, recorder):
    http = httpx.Client(event_hooks={"request": [recorder]})
    with openai.OpenAI(
        base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=30, http_client=http
    ) as c:
        yield c


def decode(b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))
    img.load()
    return img


def transparent_pixels(img: Image.Image) -> int:
    assert img.mode in ("RGBA", "LA"), f"no alpha channel in {img.mode}"
    return img.getchannel("A").histogram()[0]


def assert_valid(request: dict[str, Any], dump: dict[str, Any]) -> None:
    violations = validate_response(request, dump)
    assert violations == [], "\n".join(map(str, violations))


# --- dall-e ---------------------------------------------------------------------------


def test_dalle2_url_images_are_fetchable_pngs_of_the_requested_size(client, recorder):
    result = client.images.generate(
        model="dall-e-2", prompt="a lighthouse at dusk", n=2, size="256x256"
    )
    request = recorder.last
    assert request == {
        "model": "dall-e-2",
        "prompt": "a lighthouse at dusk",
        "n": 2,
        "size": "256x256",
    }
    dump = result.model_dump(exclude_none=True)
    assert_valid(request, dump)
    assert set(dump) == {"created", "data"}
    assert len(result.data) == 2
    for item in result.data:
        assert item.b64_json is None and item.revised_prompt is None
        assert item.url and item.url.startswith("http://127.0.0.1:")
        fetched = httpx.get(item.url, timeout=10)
        assert fetched.status_code == 200
        assert fetched.headers["content-type"] == "image/png"
        img = Image.open(io.BytesIO(fetched.content))
        assert (img.format, img.size) == ("PNG", (256, 256))


def test_dalle2_default_request_gives_one_1024_url(client, recorder):
    result = client.images.generate(prompt="a red bicycle")
    assert recorder.last == {"prompt": "a red bicycle"}
    assert_valid(recorder.last, result.model_dump(exclude_none=True))
    (item,) = result.data
    img = Image.open(io.BytesIO(httpx.get(item.url, timeout=10).content))
    assert img.size == (1024, 1024)


def test_dalle2_b64_json(client, recorder):
    result = client.images.generate(
        model="dall-e-2", prompt="a lighthouse", response_format="b64_json", size="512x512"
    )
    assert_valid(recorder.last, result.model_dump(exclude_none=True))
    (item,) = result.data
    assert item.url is None
    img = decode(item.b64_json)
    assert (img.format, img.size) == ("PNG", (512, 512))


def test_dalle3_url_with_revised_prompt(client, recorder):
    result = client.images.generate(
        model="dall-e-3", prompt="a fox in snow", size="1792x1024", quality="hd", style="natural"
    )
    dump = result.model_dump(exclude_none=True)
    assert_valid(recorder.last, dump)
    assert set(dump) == {"created", "data"}
    (item,) = result.data
    assert isinstance(item.revised_prompt, str) and item.revised_prompt
    fetched = httpx.get(item.url, timeout=10)
    assert fetched.status_code == 200
    img = Image.open(io.BytesIO(fetched.content))
    assert (img.format, img.size) == ("PNG", (1792, 1024))


def test_dalle3_b64_json(client, recorder):
    result = client.images.generate(
        model="dall-e-3", prompt="a fox", response_format="b64_json", size="1024x1792"
    )
    assert_valid(recorder.last, result.model_dump(exclude_none=True))
    (item,) = result.data
    assert item.url is None and item.revised_prompt
    assert decode(item.b64_json).size == (1024, 1792)


# --- GPT image models -----------------------------------------------------------------

GPT_CASES = [
    pytest.param({"model": "gpt-image-1"}, ("PNG", (1024, 1024), "RGB"), id="png-defaults"),
    pytest.param(
        {
            "model": "gpt-image-1",
            "output_format": "jpeg",
            "output_compression": 40,
            "size": "1536x1024",
        },
        ("JPEG", (1536, 1024), "RGB"),
        id="jpeg-compression",
    ),
    pytest.param(
        {
            "model": "gpt-image-1-mini",
            "output_format": "webp",
            "size": "1024x1536",
            "quality": "low",
        },
        ("WEBP", (1024, 1536), "RGB"),
        id="webp",
    ),
    pytest.param(
        {"model": "gpt-image-1", "background": "transparent", "quality": "high"},
        ("PNG", (1024, 1024), "RGBA"),
        id="transparent-png",
    ),
    pytest.param(
        {"model": "gpt-image-1.5", "background": "transparent", "output_format": "webp", "n": 2},
        ("WEBP", (1024, 1024), "RGBA"),
        id="transparent-webp-n2",
    ),
    pytest.param(
        {
            "model": "gpt-image-1",
            "background": "opaque",
            "moderation": "low",
            "n": 3,
            "user": "u-1",
        },
        ("PNG", (1024, 1024), "RGB"),
        id="opaque-n3",
    ),
]


@pytest.mark.parametrize(("params", "expected"), GPT_CASES)
def test_gpt_image(client, recorder, params, expected):
    fmt, size, mode = expected
    result = client.images.generate(prompt="a paper crane", **params)
    request = recorder.last
    dump = result.model_dump(exclude_none=True)
    assert_valid(request, dump)
    assert dump["output_format"] == fmt.lower()
    assert dump["size"] == "{}x{}".format(*size)
    assert dump["quality"] in ("low", "medium", "high")
    assert dump["background"] == ("transparent" if mode == "RGBA" else "opaque")
    usage = result.usage
    assert usage is not None
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert len(result.data) == params.get("n", 1)
    for item in result.data:
        assert item.url is None and item.revised_prompt is None
        img = decode(item.b64_json)
        assert (img.format, img.size, img.mode) == (fmt, size, mode)
        if mode == "RGBA":
            assert transparent_pixels(img) > 0


def test_jpeg_compression_lowers_the_file_size(client):
    sizes = []
    for compression in (10, 90):
        result = client.images.generate(
            model="gpt-image-1",
            prompt="a paper crane",
            output_format="jpeg",
            output_compression=compression,
        )
        sizes.append(len(base64.b64decode(result.data[0].b64_json)))
    assert sizes[0] < sizes[1]


# --- streaming --------------------------------------------------------------------------

STREAM_CASES = [
    pytest.param({"model": "gpt-image-1", "partial_images": 2}, id="partials-2"),
    pytest.param({"model": "gpt-image-1", "partial_images": 0}, id="partials-0"),
    pytest.param({"model": "gpt-image-1"}, id="partials-default"),
    pytest.param(
        {
            "model": "gpt-image-1-mini",
            "n": 2,
            "partial_images": 1,
            "output_format": "webp",
            "background": "transparent",
            "size": "1536x1024",
        },
        id="n2-webp-transparent",
    ),
    pytest.param(
        {
            "model": "gpt-image-1",
            "partial_images": 3,
            "output_format": "jpeg",
            "output_compression": 50,
            "quality": "low",
        },
        id="partials-3-jpeg",
    ),
]


@pytest.mark.parametrize("params", STREAM_CASES)
def test_stream(client, recorder, params):
    stream = client.images.generate(prompt="a kite", stream=True, **params)
    events = [event.model_dump(exclude_none=True) for event in stream]
    request = recorder.last
    assert request["stream"] is True
    judged = [{"event": e["type"], "data": e} for e in events]
    violations = validate_stream(request, judged)
    assert violations == [], "\n".join(map(str, violations))

    n, partials = params.get("n", 1), params.get("partial_images", 0)
    kinds = [e["type"] for e in events]
    per_image = ["image_generation.partial_image"] * partials + ["image_generation.completed"]
    assert kinds == per_image * n
    fmt = params.get("output_format", "png").upper()
    size = tuple(int(x) for x in params.get("size", "1024x1024").split("x"))
    assert [e.get("partial_image_index") for e in events] == [*range(partials), None] * n
    for e in events:
        img = decode(e["b64_json"])
        assert (img.format, img.size) == (fmt, size)
        if e["type"] == "image_generation.completed":
            usage = e["usage"]
            assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
            if params.get("background") == "transparent":
                assert transparent_pixels(img) > 0


def test_stream_raw_wire_format(client, recorder):
    """The bytes on the wire: text/event-stream, and each event: line equals the data's type."""
    with client.images.with_streaming_response.generate(
        model="gpt-image-1", prompt="a kite", stream=True, partial_images=2
    ) as response:
        content_type = response.headers["content-type"]
        text = response.read().decode()
    assert content_type.split(";")[0] == "text/event-stream"
    events = parse_sse(text)
    violations = validate_stream(recorder.last, events, content_type=content_type)
    assert violations == [], "\n".join(map(str, violations))
    assert [e["event"] for e in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert [e["data"].get("partial_image_index") for e in events] == [0, 1, None]
    for block in text.strip().split("\n\n"):
        name_line, data_line = block.split("\n")
        assert name_line == "event: " + json.loads(data_line.removeprefix("data: "))["type"]


def test_async_client_with_stream(server):
    async def run() -> list[Any]:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=30
        ) as c:
            plain = await c.images.generate(model="gpt-image-1", prompt="an owl", n=2)
            stream = await c.images.generate(
                model="gpt-image-1", prompt="an owl", stream=True, partial_images=1
            )
            events = [e async for e in stream]
            return [plain, events]

    plain, events = asyncio.run(run())
    assert (
        validate_response(
            {"model": "gpt-image-1", "prompt": "an owl", "n": 2},
            plain.model_dump(exclude_none=True),
        )
        == []
    )
    assert [e.type for e in events] == [
        "image_generation.partial_image",
        "image_generation.completed",
    ]


# --- errors through the SDK -------------------------------------------------------------


def test_sdk_raises_bad_request_naming_the_parameter(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="dall-e-3", prompt="two foxes", n=2)
    assert info.value.status_code == 400
    assert info.value.param == "n"
    assert info.value.code == "invalid_value"
    assert info.value.type == "invalid_request_error"


def test_sdk_raises_bad_request_for_response_format_on_gpt_image(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="gpt-image-1", prompt="a fox", response_format="url")
    assert info.value.param == "response_format"


def test_sdk_raises_authentication_error_for_a_wrong_key(server):
    with (
        openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0, timeout=30) as c,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        c.images.generate(prompt="a fox")
    assert info.value.status_code == 401
    assert info.value.code == "invalid_api_key"
    assert "sk-wrong" not in str(info.value)
