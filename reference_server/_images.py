"""Deterministic, fast placeholder images made with Pillow.

An image depends only on (prompt, index) and the output settings, so the same request
always yields the same bytes. Encoded images are cached in a small LRU bounded by bytes.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageDraw

ImageFormat = Literal["png", "jpeg", "webp"]

PIL_FORMATS: dict[str, str] = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MIME_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class ImageSpec:
    """What to render: pixel size, encoding, transparency and compression."""

    width: int
    height: int
    fmt: ImageFormat = "png"
    transparent: bool = False
    """True: RGBA with a fully transparent background (png and webp only)."""
    compression: int = 100
    """``output_compression`` (0-100, default 100): the encoder quality for jpeg and
    webp, so lower values give smaller files (see ``_quality``)."""


def _quality(compression: int, ceiling: int) -> int:
    """Encoder quality for an ``output_compression`` value, clamped to 1..ceiling.

    The document's default of 100 gives full-quality images and lower values give
    smaller files. The ceiling keeps encoding fast (webp above 90 is ~4x slower).
    """
    return max(1, min(ceiling, int(compression)))


def _rng_bytes(prompt: str, index: int) -> bytes:
    return hashlib.sha256(f"{index}\x00{prompt}".encode("utf-8", "surrogatepass")).digest()


def _lut(a: int, b: int) -> list[int]:
    return [a + (b - a) * v // 255 for v in range(256)]


def render(prompt: str, index: int, spec: ImageSpec, *, detail: float = 1.0) -> Image.Image:
    """Render the image for (prompt, index) at ``spec``'s size.

    ``detail`` in (0, 1] draws only a share of the shapes: partial images of a stream
    use it to look like earlier stages of the same picture.
    """
    seed = _rng_bytes(prompt, index)
    w, h = spec.width, spec.height
    c1 = tuple(seed[0:3])
    c2 = tuple(seed[3:6])
    angle = seed[6] * 360 / 256
    # The colour gradient is made at 192x192 and scaled up once: cheap, and smooth.
    grad = Image.linear_gradient("L").rotate(angle, resample=Image.Resampling.BILINEAR)
    grad = grad.crop((32, 32, 224, 224))
    small = Image.merge("RGB", [grad.point(_lut(c1[i], c2[i])) for i in range(3)])
    rgb = small.resize((w, h), Image.Resampling.BILINEAR)
    if spec.transparent:
        # A semi-opaque panel in the middle keeps the gradient visible; the border
        # around it is fully transparent (alpha 0).
        mask = Image.new("L", (w, h), 0)
        ImageDraw.Draw(mask).rounded_rectangle(
            (w // 8, h // 8, w - w // 8, h - h // 8), radius=min(w, h) // 10, fill=200
        )
        rgb.putalpha(mask)
    img = rgb
    draw = ImageDraw.Draw(img)
    shapes = 6
    drawn = max(0, min(shapes, round(shapes * detail)))
    for k in range(drawn):
        b = seed[8 + 3 * k : 11 + 3 * k]
        cx, cy = b[0] * w // 256, b[1] * h // 256
        r = (16 + b[2] // 2) * min(w, h) // 256
        color = (seed[(k * 5) % 32], seed[(k * 7 + 1) % 32], seed[(k * 11 + 2) % 32], 255)
        box = (cx - r // 2, cy - r // 2, cx + r // 2, cy + r // 2)
        if k % 2:
            draw.ellipse(box, fill=color if spec.transparent else color[:3])
        else:
            draw.rectangle(box, fill=color if spec.transparent else color[:3])
    return img


def encode(img: Image.Image, spec: ImageSpec) -> bytes:
    """Encode ``img`` in ``spec.fmt`` with fast settings."""
    buf = io.BytesIO()
    if spec.fmt == "png":
        img.save(buf, "PNG", compress_level=1)
    elif spec.fmt == "jpeg":
        if img.mode != "RGB":
            img = img.convert("RGB")
        img.save(buf, "JPEG", quality=_quality(spec.compression, 95))
    else:
        img.save(buf, "WEBP", quality=_quality(spec.compression, 90), method=0)
    return buf.getvalue()


class _LRU:
    """A thread-safe LRU of encoded images, bounded by total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: tuple[object, ...], data: bytes) -> None:
        if len(data) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


_CACHE = _LRU(64 * 1024 * 1024)


def generate(prompt: str, index: int, spec: ImageSpec, *, detail: float = 1.0) -> bytes:
    """The encoded image for (prompt, index) at ``spec`` (cached)."""
    key = (prompt, index, spec, detail)
    data = _CACHE.get(key)
    if data is None:
        data = encode(render(prompt, index, spec, detail=detail), spec)
        _CACHE.put(key, data)
    return data
