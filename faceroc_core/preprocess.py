"""Per-model preprocessing: align or crop, resize, scale/normalise, channel order, layout.

The formula, for each channel ``c`` in R, G, B order::

    x'[c] = (pixel[c] * scale - mean[c]) / std[c]

then the channels are reversed when ``bgr`` is set.  ``mean`` and ``std`` are
always given in R, G, B order.  Resizing is PIL's bilinear ``resize((W, H))``,
which is what ``torchvision.transforms.Resize((H, W))`` does on a PIL image,
so the result equals torchvision's ``Resize + ToTensor + Normalize``.

With ``align`` the face's 5 landmarks (:mod:`faceroc_core.align`) are warped
onto the ArcFace template at the model's input size instead of cropping and
resizing.  Models with a 1-channel input get the grey image (PIL's ITU-R 601
luma ``L``), normalised with the mean of the three means and stds.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np
from PIL import Image

from .errors import FaceROCError

# name -> (scale, mean, std) in the formula above
PRESETS: dict[str, tuple[float, tuple[float, float, float], tuple[float, float, float]]] = {
    "imagenet": (1 / 255, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "arcface": (1.0, (127.5, 127.5, 127.5), (127.5, 127.5, 127.5)),
    "facenet": (1.0, (127.5, 127.5, 127.5), (128.0, 128.0, 128.0)),
    "unit": (1 / 255, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "raw": (1.0, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}
PRESET_HELP = {
    "imagenet": "x/255, ImageNet mean/std (timm and torchvision models)",
    "arcface": "(x-127.5)/127.5 (InsightFace ArcFace models)",
    "facenet": "(x-127.5)/128 (FaceNet, MobileFaceNet ports)",
    "unit": "x/255 only",
    "raw": "0-255 pixels as they are (OpenCV Zoo SFace, Caffe-lineage models)",
}
MAX_SIDE = 4096


@dataclass(frozen=True)
class Preprocessing:
    """A resolved preprocessing: everything needed to turn an RGB image into model input."""

    height: int
    width: int
    scale: float = 1 / 255
    mean: tuple[float, float, float] = PRESETS["imagenet"][1]
    std: tuple[float, float, float] = PRESETS["imagenet"][2]
    bgr: bool = False
    crop: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 in source pixels
    center_crop: tuple[int, int] | None = None  # (h, w), applied after `crop`
    layout: str = "NCHW"
    align: bool = False  # detect the face and warp its 5 landmarks onto the ArcFace template
    channels: int = 3  # 1: the model takes grey images
    flip: bool = False  # the flip test: the embedding is that of the image plus that of its mirror (embed.py)

    def __post_init__(self):
        for side, v in (("height", self.height), ("width", self.width)):
            if not isinstance(v, int) or not (1 <= v <= MAX_SIDE):
                raise FaceROCError(f"{side} must be an integer in 1..{MAX_SIDE}, got {v!r}")
        if any(s == 0 for s in self.std):
            raise FaceROCError(f"std must not contain 0, got {self.std}")
        if self.layout not in ("NCHW", "NHWC"):
            raise FaceROCError(f"layout must be NCHW or NHWC, got {self.layout!r}")
        if self.channels not in (1, 3):
            raise FaceROCError(f"channels must be 1 (grey) or 3 (colour), got {self.channels!r}")
        if self.align and (self.crop is not None or self.center_crop is not None):
            raise FaceROCError("a crop box and alignment were both asked for; alignment cuts the face out itself",
                               hint="leave the crop empty when alignment is on")
        if self.crop is not None:
            x0, y0, x1, y1 = self.crop
            if not (0 <= x0 < x1 and 0 <= y0 < y1):
                raise FaceROCError(f"crop must be x0,y0,x1,y1 with 0 <= x0 < x1 and 0 <= y0 < y1, got {self.crop}")

    @cached_property
    def key(self) -> str:
        """A short stable hash of every field (for caches); with ``align``, of the detector and its settings too."""
        fields = asdict(self)
        if self.align:
            from .align import DETECTOR_KEY

            fields["detector"] = DETECTOR_KEY
        if not self.flip:  # keys made before the flip test existed stay valid
            del fields["flip"]
        blob = json.dumps(fields, sort_keys=True).encode()
        return hashlib.blake2b(blob, digest_size=8).hexdigest()

    def describe(self) -> str:
        preset = next((n for n, (s, m, d) in PRESETS.items() if (s, m, d) == (self.scale, self.mean, self.std)), None)
        norm = preset or f"scale={self.scale:g} mean={self.mean} std={self.std}"
        colour = "grey" if self.channels == 1 else ("BGR" if self.bgr else "RGB")
        parts = [f"{self.height}x{self.width}", norm, colour, self.layout]
        if self.align:
            parts.append("aligned (5 landmarks → ArcFace template)")
        if self.crop:
            parts.append("crop=" + ",".join(map(str, self.crop)))
        if self.center_crop:
            parts.append(f"center-crop={self.center_crop[0]}x{self.center_crop[1]}")
        if self.flip:
            parts.append("flip test (image + mirror)")
        return " · ".join(parts)


def parse_triplet(text, what: str) -> tuple[float, float, float]:
    if isinstance(text, (list, tuple)):
        vals = list(text)
    else:
        vals = [v for v in str(text).replace(" ", "").split(",") if v]
    try:
        out = tuple(float(v) for v in vals)
    except ValueError:
        raise FaceROCError(f"{what} must be three numbers R,G,B, got {text!r}") from None
    if len(out) != 3:
        raise FaceROCError(f"{what} must be three numbers R,G,B, got {text!r}")
    return out


def parse_size(text) -> tuple[int, int]:
    """``"112"``, ``"112x96"`` (H x W) or a pair -> (H, W)."""
    if isinstance(text, (list, tuple)) and len(text) == 2:
        h, w = text
    else:
        s = str(text).lower().replace(" ", "")
        parts = s.split("x") if "x" in s else [s, s]
        if len(parts) != 2:
            raise FaceROCError(f"size must be HxW (e.g. 112x112 or 112x96), got {text!r}")
        h, w = parts
    try:
        h, w = int(h), int(w)
    except (TypeError, ValueError):
        raise FaceROCError(f"size must be HxW (e.g. 112x112 or 112x96), got {text!r}") from None
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise FaceROCError(f"size must be within 1..{MAX_SIDE} on each side, got {text!r}")
    return h, w


def parse_crop(text) -> tuple[int, int, int, int]:
    vals = list(text) if isinstance(text, (list, tuple)) else str(text).replace(" ", "").split(",")
    try:
        box = tuple(int(float(v)) for v in vals)
    except ValueError:
        raise FaceROCError(f"crop must be x0,y0,x1,y1 in pixels, got {text!r}") from None
    if len(box) != 4 or not (0 <= box[0] < box[2] and 0 <= box[1] < box[3]):
        raise FaceROCError(f"crop must be x0,y0,x1,y1 with x0 < x1 and y0 < y1, got {text!r}")
    return box


def normalisation(preset: str | None = None, mean=None, std=None) -> tuple[float, tuple, tuple]:
    """Resolve (scale, mean, std) from a preset name or an explicit mean/std.

    Explicit values above 1 are taken in pixel units (0..255, scale 1); values
    all <= 1 in unit range (after x/255, as torchvision's Normalize).
    """
    if mean is not None or std is not None:
        m = parse_triplet(mean if mean is not None else "0,0,0", "mean")
        s = parse_triplet(std if std is not None else "1,1,1", "std")
        if any(v == 0 for v in s):
            raise FaceROCError(f"std must not contain 0, got {std!r}")
        pixel_units = any(abs(v) > 1 for v in m + s)
        return (1.0 if pixel_units else 1 / 255), m, s
    name = (preset or "imagenet").lower()
    if name not in PRESETS:
        raise FaceROCError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    return PRESETS[name]


def _center_box(w: int, h: int, ch: int, cw: int) -> tuple[int, int, int, int]:
    # torchvision.transforms.functional.center_crop's arithmetic
    top = int(round((h - ch) / 2.0))
    left = int(round((w - cw) / 2.0))
    return left, top, left + cw, top + ch


def prepare_pil(img: Image.Image, p: Preprocessing, face=None) -> Image.Image:
    """Align (or crop) and resize an RGB PIL image to the model's size (no normalisation); grey for 1 channel.

    ``face`` (an :class:`faceroc_core.align.Face`) is needed when ``p.align``.
    """
    if p.align:
        if face is None:
            raise FaceROCError("no face found", hint="this model gets aligned faces; check the photo or turn alignment off")
        from .align import align

        img = Image.fromarray(align(img, face, p.height, p.width))
        return img.convert("L") if p.channels == 1 else img
    if p.crop is not None:
        x0, y0, x1, y1 = p.crop
        w, h = img.size
        if x1 > w or y1 > h:
            raise FaceROCError(f"crop box {p.crop} is outside the {w}x{h} image")
        img = img.crop(p.crop)
    if p.center_crop is not None:
        ch, cw = p.center_crop
        w, h = img.size
        if ch > h or cw > w:
            raise FaceROCError(f"center crop {ch}x{cw} is larger than the {w}x{h} image")
        img = img.crop(_center_box(w, h, ch, cw))
    if img.size != (p.width, p.height):
        img = img.resize((p.width, p.height), Image.Resampling.BILINEAR)
    return img.convert("L") if p.channels == 1 else img


def _affine(p: Preprocessing) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``a, b`` with ``x * a + b == (x * scale - mean) / std``, in the model's channel order."""
    std = np.asarray(p.std, dtype=np.float64)
    mean = np.asarray(p.mean, dtype=np.float64)
    if p.channels == 1:
        std, mean = std.mean(keepdims=True), mean.mean(keepdims=True)
    a = (p.scale / std).astype(np.float32)
    b = (-mean / std).astype(np.float32)
    return (a[::-1], b[::-1]) if p.bgr and p.channels == 3 else (a, b)


def preprocess(img: Image.Image, p: Preprocessing, out: np.ndarray | None = None, face=None) -> np.ndarray:
    """One RGB image -> float32 array shaped for the model (CHW or HWC), written into ``out`` if given.

    ``face`` is the detected face, needed when ``p.align``.

    ``(x * scale - mean) / std`` is computed as one fused ``x * a + b`` with
    ``a = scale / std`` and ``b = -mean / std`` straight from the 8-bit
    pixels into the output layout (equal to the step-by-step form within
    float32 rounding, well under 1e-5).
    """
    px = np.asarray(prepare_pil(img, p, face))  # uint8 H x W x 3 (R,G,B) or H x W (grey)
    if p.channels == 1:
        px = px[..., None]
    elif p.bgr:
        px = px[..., ::-1]
    a, b = _affine(p)
    if out is None:
        out = np.empty(input_shape(p), np.float32)
    if p.layout == "NCHW":
        np.multiply(px.transpose(2, 0, 1), a[:, None, None], out=out)
        out += b[:, None, None]
    else:
        np.multiply(px, a, out=out)
        out += b
    return out


def input_shape(p: Preprocessing) -> tuple[int, int, int]:
    c = p.channels
    return (c, p.height, p.width) if p.layout == "NCHW" else (p.height, p.width, c)


def to_display(x: np.ndarray, p: Preprocessing) -> np.ndarray:
    """A model input (CHW or HWC float32) back to a uint8 H x W x 3 picture of what the network receives.

    The normalisation is undone; the channels are shown in the order the network
    gets them (its first channel as red), so a model fed B,G,R shows blue-tinted
    faces, and a 1-channel input shows grey.
    """
    a, b = _affine(p)  # in the network's channel order
    hwc = x.transpose(1, 2, 0) if p.layout == "NCHW" else x
    px = np.clip(np.rint((hwc - b) / a), 0, 255).astype(np.uint8)
    return np.repeat(px, 3, axis=2) if px.shape[2] == 1 else px
