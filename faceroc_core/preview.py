"""What each model sees: sample images beside the exact input the network receives.

For a few sample images (one per person, spread over the set) the model's own
preprocessing is run (crop or alignment, resize, colour order, normalisation)
and the resulting tensor is turned back into a picture
(:func:`faceroc_core.preprocess.to_display`).  A wrong crop, a face cut off by
the alignment, or a B,G,R model fed R,G,B is visible at a glance.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .align import Detection
from .dataset import ImageRecord
from .errors import FaceROCError
from .images import decode, read_bytes
from .preprocess import Preprocessing, preprocess, to_display

_logger = logging.getLogger(__name__)
N_SAMPLES = 6
THUMB = 112


@dataclass(frozen=True, eq=False)
class Preview:
    """Sample images and the model's view of them (uint8 H x W x 3 arrays; ``None`` where it failed)."""

    relpaths: tuple[str, ...]
    originals: tuple[np.ndarray | None, ...]  # the photos, shrunk to fit THUMB x THUMB
    inputs: tuple[np.ndarray | None, ...]  # what the network receives, at its input size
    reasons: tuple[str | None, ...]  # why an input is missing ("no face found"...)
    preprocessing: str  # Preprocessing.describe()


def sample_indices(images: Sequence[ImageRecord], k: int = N_SAMPLES) -> list[int]:
    """``k`` images, the first of evenly spread identities (stable: depends only on the set)."""
    first: dict[str, int] = {}
    for i, r in enumerate(images):
        first.setdefault(r.identity, i)
    idx = list(first.values())
    if len(idx) <= k:
        extra = [i for i in range(len(images)) if i not in set(idx)]
        return sorted(idx + extra[:k - len(idx)])
    step = len(idx) / k
    return [idx[int(j * step)] for j in range(k)]


def _thumb(img: Image.Image) -> np.ndarray:
    t = img.copy()
    t.thumbnail((THUMB, THUMB))
    return np.asarray(t.convert("RGB"))


def make_preview(images: Sequence[ImageRecord], p: Preprocessing, *, indices: Sequence[int],
                 detections: Sequence[Detection | None] | None = None) -> Preview:
    """The model's view of ``images[i]`` for ``i`` in ``indices``.

    ``detections`` (per image of ``images``) are needed when ``p.align``; an image
    missing from them is detected here.
    """
    originals: list = []
    inputs: list = []
    reasons: list = []
    for i in indices:
        try:
            img = decode(read_bytes(images[i].path).data)
        except FaceROCError as e:
            originals.append(None)
            inputs.append(None)
            reasons.append(e.reason)
            continue
        originals.append(_thumb(img))
        face = None
        if p.align:
            d = detections[i] if detections and i < len(detections) else None
            if d is None:
                from .align import detect

                d = detect(img)
            face = d.face
        try:
            inputs.append(to_display(preprocess(img, p, face=face), p))
            reasons.append(None)
        except FaceROCError as e:
            inputs.append(None)
            reasons.append(e.reason)
    return Preview(relpaths=tuple(images[i].relpath for i in indices), originals=tuple(originals),
                   inputs=tuple(inputs), reasons=tuple(reasons), preprocessing=p.describe())


def strip_image(pv: Preview, *, cell: int = THUMB, gap: int = 6) -> Image.Image:
    """Two rows: the photos on top, what the network receives below (scaled to ``cell`` px)."""
    n = max(1, len(pv.relpaths))
    w = n * cell + (n + 1) * gap
    h = 2 * cell + 3 * gap
    canvas = Image.new("RGB", (w, h), (245, 247, 250))
    draw = ImageDraw.Draw(canvas)
    for k in range(len(pv.relpaths)):
        x = gap + k * (cell + gap)
        for row, arr in enumerate((pv.originals[k], pv.inputs[k])):
            y = gap + row * (cell + gap)
            if arr is None:
                draw.rectangle([x, y, x + cell - 1, y + cell - 1], outline=(197, 48, 48), width=2)
                draw.line([x, y, x + cell - 1, y + cell - 1], fill=(197, 48, 48), width=2)
                continue
            im = Image.fromarray(arr)
            if row == 1:  # the network's input, scaled up or down as a whole
                s = cell / max(im.size)
                im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.Resampling.NEAREST
                               if s >= 1 else Image.Resampling.BILINEAR)
            canvas.paste(im, (x + (cell - im.size[0]) // 2, y + (cell - im.size[1]) // 2))
    return canvas


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
