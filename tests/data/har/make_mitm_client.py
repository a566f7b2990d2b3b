"""The client side of make_mitm.sh: the Python ``openai`` SDK, sent through mitmdump.

usage: python make_mitm_client.py BASE_URL API_KEY PROXY_URL
"""

from __future__ import annotations

import sys

import httpx
import openai


def main(base_url: str, api_key: str, proxy: str) -> None:
    http = httpx.Client(proxy=proxy, trust_env=False, timeout=60)
    client = openai.OpenAI(base_url=base_url, api_key=api_key, http_client=http, max_retries=0)
    try:
        client.models.list()
    except openai.APIStatusError as exc:
        print("models:", exc.status_code)
    url = client.images.generate(model="dall-e-2", prompt="A cute baby sea otter", size="256x256")
    image = http.get(url.data[0].url)
    print("dall-e-2 url:", image.status_code, len(image.content), "bytes")
    b64 = client.images.generate(
        model="gpt-image-1-mini", prompt="A cute baby sea otter", quality="low", size="1024x1024"
    )
    print("gpt-image-1-mini:", len(b64.data[0].b64_json or ""), "base64 chars")
    stream = client.images.generate(
        model="gpt-image-1",
        prompt="A cute baby sea otter",
        quality="low",
        size="1024x1024",
        stream=True,
        partial_images=2,
    )
    print("stream events:", ", ".join(event.type for event in stream))
    try:
        client.images.generate(model="dall-e-2", prompt="A cute baby sea otter", size="1024x1536")
    except openai.BadRequestError as exc:
        print("refused:", exc.status_code, exc.body)


if __name__ == "__main__":
    main(*sys.argv[1:4])
