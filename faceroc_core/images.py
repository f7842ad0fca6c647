"""Reading images safely: content hash, decode, size limits, grey -> RGB."""
from __future__ import annotations

import hashlib
import io
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile

from .errors import ImageError

ImageFile.LOAD_TRUNCATED_IMAGES = False
MAX_PIXELS = 40_000_000  # a face image bigger than 40 MP is refused
MAX_IMAGE_BYTES = 50 * 1024 * 1024
Image.MAX_IMAGE_PIXELS = MAX_PIXELS * 2
_OPEN_LOCK = threading.Lock()


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_hash(path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


@dataclass(frozen=True)
class RawImage:
    data: bytes
    digest: str


def read_bytes(path) -> RawImage:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_IMAGE_BYTES + 1)
    except OSError as e:
        raise ImageError(f"cannot be read ({e.strerror or e})") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"file is larger than {MAX_IMAGE_BYTES // 2**20} MB")
    if not data:
        raise ImageError("empty file")
    return RawImage(data=data, digest=content_hash(data))


def decode(data: bytes) -> Image.Image:
    """Decode image bytes to an RGB PIL image, or raise :class:`ImageError` with the reason."""
    try:
        # images are decoded on several threads: the lock keeps their warning-filter changes from interleaving
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"{w}x{h} pixels is more than the {MAX_PIXELS // 1_000_000} MP limit; downscale it")
        img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(f"more than the {MAX_PIXELS // 1_000_000} MP limit; downscale it") from None
    except Image.UnidentifiedImageError:
        raise ImageError("not a readable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError) as e:
        msg = str(e) or type(e).__name__
        if "truncated" in msg.lower():
            raise ImageError("truncated image (the file is cut short)") from None
        raise ImageError(f"corrupt image ({msg})") from None
    return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() or 1.0
        scale = 255.0 / (65535.0 if top > 255 else 255.0)
        img = Image.fromarray(np.clip(arr * scale, 0, 255).astype(np.uint8), "L")
    return img.convert("RGB")
