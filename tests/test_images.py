import io

import numpy as np
import pytest
from PIL import Image

from faceroc_core import images
from faceroc_core.errors import ImageError


def _png(arr, mode=None):
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, format="PNG")
    return buf.getvalue()


def test_grey_becomes_rgb():
    img = images.decode(_png(np.full((5, 7), 100, np.uint8)))
    assert img.mode == "RGB" and img.size == (7, 5)
    assert np.asarray(img)[0, 0].tolist() == [100, 100, 100]


@pytest.mark.parametrize("fmt", ["JPEG", "BMP", "WEBP", "PPM"])
def test_formats(fmt):
    buf = io.BytesIO()
    Image.new("RGB", (9, 9), (10, 200, 30)).save(buf, format=fmt)
    assert images.decode(buf.getvalue()).size == (9, 9)


def test_corrupt_and_truncated():
    with pytest.raises(ImageError, match="not a readable image"):
        images.decode(b"this is not an image at all")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, format="JPEG")
    with pytest.raises(ImageError, match="truncated|corrupt"):
        images.decode(buf.getvalue()[: len(buf.getvalue()) // 2])


def test_pixel_limit(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    with pytest.raises(ImageError, match="MP limit"):
        images.decode(_png(np.zeros((20, 20, 3), np.uint8)))


def test_read_bytes_empty(tmp_path):
    p = tmp_path / "e.png"
    p.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file"):
        images.read_bytes(p)
