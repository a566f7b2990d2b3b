"""Records Debian's chromium, driven by Playwright for Python, calling the reference server
from a page with ``fetch`` and showing the image in an ``<img>``; Playwright writes the HAR
(``record_har_path``) as the browser saw the traffic.

usage: python make_playwright.py BASE_URL API_KEY OUT.har
(make_playwright.sh starts the reference server and runs this; no browser is downloaded:
Playwright drives /usr/bin/chromium.)
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

CALLS = """async ({key}) => {
  const headers = {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + key};
  const post = (body) => fetch('/v1/images/generations',
                               {method: 'POST', headers, body: JSON.stringify(body)});
  const prompt = 'A cute baby sea otter';
  const seen = [];
  let r = await post({model: 'dall-e-2', prompt, size: '256x256'});
  const answer = await r.json();
  seen.push(['dall-e-2 url', r.status]);
  await new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = resolve;
    img.onerror = reject;
    img.src = answer.data[0].url;
    document.body.appendChild(img);
  });
  seen.push(['image shown', answer.data[0].url]);
  r = await post({model: 'gpt-image-1-mini', prompt, size: '1024x1024', quality: 'low'});
  seen.push(['gpt-image-1-mini', r.status, (await r.text()).length]);
  r = await post({model: 'gpt-image-1', prompt, size: '1024x1024', quality: 'low',
                  stream: true, partial_images: 1});
  seen.push(['stream', r.status, r.headers.get('content-type'), (await r.text()).length]);
  r = await post({model: 'dall-e-3', prompt, quality: 'low'});
  seen.push(['refused', r.status, (await r.json()).error.param]);
  return seen;
}"""


def main(base_url: str, api_key: str, out: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(record_har_path=out, record_har_content="embed")
        page = context.new_page()
        page.goto(f"{base_url}/models")  # an origin for fetch (a 404 JSON page)
        for step in page.evaluate(CALLS, {"key": api_key}):
            print(*step)
        context.close()  # Playwright writes the HAR here
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
