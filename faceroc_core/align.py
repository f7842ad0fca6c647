"""Face detection (YuNet, 5 landmarks) and alignment onto the ArcFace template.

Face models are trained on faces cut out one way: a similarity transform (rotation,
uniform scale, shift) that puts the two eyes, the nose tip and the two mouth corners
on a fixed template.  The standard one (InsightFace's ``arcface_dst``) is, for a
112x112 input, in (x, y) pixels::

    right eye (38.29, 51.70)   left eye (73.53, 51.50)   nose (56.03, 71.74)
    right mouth corner (41.55, 92.37)   left mouth corner (70.73, 92.20)

("right" is the person's right, on the image's left).  112x96 models use it 8 px
further left; other sizes scale it uniformly about the centre
(:func:`template_for`).

The detector is YuNet from the OpenCV Zoo (MIT; Shiqi Yu et al., libfacedetection),
block-quantised int8, shipped in ``faceroc_core/data`` and run by OpenCV's
``cv2.FaceDetectorYN`` (onnxruntime cannot run that file).  It is made for faces of
about 10-300 px, so photos larger than :data:`MAX_DETECT_SIDE` are downscaled for
detection only and the landmarks mapped back.  When a photo holds several faces the
largest is used.

>>> src = template_for(112, 112) * 2 + 10       # the template, twice as big, shifted
>>> m = similarity_transform(src, template_for(112, 112))
>>> bool(np.allclose(apply_transform(m, src), template_for(112, 112)))
True
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import FaceROCError, ImageError

_logger = logging.getLogger(__name__)

DETECTOR_PATH = Path(__file__).with_name("data") / "face_detection_yunet_2023mar_int8bq.onnx"
DETECTOR_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
SCORE_THRESHOLD = 0.6  # YuNet's face score; the largest face above it is used
NMS_THRESHOLD = 0.3
TOP_K = 50
MAX_DETECT_SIDE = 1000  # longer photos are downscaled for detection only
MIN_DETECT_SIDE = 160  # smaller images are upscaled for detection (YuNet misses faces filling a tiny frame)
# detector + its settings: part of every landmark and aligned-embedding cache key
DETECTOR_KEY = f"yunet-{DETECTOR_SHA256[:16]}-s{SCORE_THRESHOLD}-n{NMS_THRESHOLD}-max{MAX_DETECT_SIDE}-min{MIN_DETECT_SIDE}"

ARCFACE_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                             [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)
LANDMARK_NAMES = ("right eye", "left eye", "nose tip", "right mouth corner", "left mouth corner")


@dataclass(frozen=True)
class Face:
    """One face: its box and 5 landmarks in the source image's pixels."""

    box: tuple[float, float, float, float]  # x, y, w, h
    landmarks: tuple[tuple[float, float], ...]  # 5 (x, y), in LANDMARK_NAMES order
    score: float

    @property
    def points(self) -> np.ndarray:
        """The landmarks as a float64 (5, 2) array."""
        return np.asarray(self.landmarks, dtype=np.float64)


@dataclass(frozen=True)
class Detection:
    """What the detector found in one image: the face used (the largest) and how many there were."""

    face: Face | None  # None: no face found
    n_faces: int
    image_size: tuple[int, int]  # (width, height) of the source image

    def to_array(self) -> np.ndarray:
        """18 float64 values for the cache: box 4, landmarks 10, score, n_faces, width, height."""
        out = np.zeros(18, np.float64)
        if self.face is not None:
            out[:4] = self.face.box
            out[4:14] = self.face.points.ravel()
            out[14] = self.face.score
        out[15], out[16], out[17] = self.n_faces, self.image_size[0], self.image_size[1]
        return out

    @classmethod
    def from_array(cls, a: np.ndarray) -> Detection:
        a = np.asarray(a, np.float64)
        n = int(a[15])
        face = None
        if n > 0:
            pts = a[4:14].reshape(5, 2)
            face = Face(box=(float(a[0]), float(a[1]), float(a[2]), float(a[3])), landmarks=tuple((float(x), float(y)) for x, y in pts),
                        score=float(a[14]))
        return cls(face=face, n_faces=n, image_size=(int(a[16]), int(a[17])))


# --------------------------------------------------------------------------- geometry
def template_for(height: int, width: int) -> np.ndarray:
    """The ArcFace 5-point template for a ``height`` x ``width`` model input, as (5, 2) (x, y).

    112x112 is the template itself; 112x96 is it 8 px to the left; any other size
    scales it by ``min(height / 112, width / 96)`` about the centre, so the face keeps
    its proportions (the template is 36 px wide between the outer points, so a face
    always fits).

    >>> template_for(112, 96)[0].round(4).tolist()
    [30.2946, 51.6963]
    >>> bool(np.allclose(template_for(224, 224), ARCFACE_TEMPLATE * 2))
    True
    """
    s = min(height / 112.0, width / 96.0)
    centre_src = np.array([56.0, 56.0])
    centre_dst = np.array([width / 2.0, height / 2.0])
    return (ARCFACE_TEMPLATE - centre_src) * s + centre_dst


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, shift; no reflection) that best maps ``src`` onto ``dst``.

    Least squares over all points (Umeyama 1991), as InsightFace's ``norm_crop``
    computes it; deterministic.  ``src`` and ``dst`` are (n, 2) with n >= 2.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or src.shape[0] < 2:
        raise ValueError(f"need two (n, 2) point arrays with n >= 2, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sc, dc = src - mu_s, dst - mu_d
    var_s = (sc ** 2).sum() / len(src)
    if var_s <= 0:
        raise ValueError("the source points are all the same point")
    cov = dc.T @ sc / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[-1] = -1.0
    r = u @ np.diag(d) @ vt
    scale = float((s * d).sum() / var_s)
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]])


def apply_transform(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (n, 2) points by a 2x3 affine matrix."""
    p = np.asarray(points, np.float64)
    return p @ m[:, :2].T + m[:, 2]


def align(img: Image.Image, face: Face, height: int, width: int) -> np.ndarray:
    """Warp ``img`` so that ``face``'s landmarks land on the template: uint8 (height, width, 3) RGB.

    Bilinear interpolation, black outside the photo (as InsightFace's ``norm_crop``).
    """
    import cv2

    m = similarity_transform(face.points, template_for(height, width))
    px = np.asarray(img.convert("RGB"))
    return cv2.warpAffine(px, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


# --------------------------------------------------------------------------- detection
_local = threading.local()


@lru_cache(maxsize=1)
def detector_available() -> str | None:
    """None when detection can run here, else why not (one sentence)."""
    try:
        import cv2
    except ImportError:
        return "OpenCV (opencv-python-headless) is not installed; run make setup"
    if not hasattr(cv2, "FaceDetectorYN"):
        return f"OpenCV {cv2.__version__} has no FaceDetectorYN; install opencv-python-headless >= 4.10"
    if not DETECTOR_PATH.is_file():
        return f"the face detector file {DETECTOR_PATH.name} is missing from the installation"
    return None


def _detector():
    det = getattr(_local, "detector", None)
    if det is None:
        import cv2

        why = detector_available()
        if why:
            raise FaceROCError(f"face detection is unavailable: {why}")
        det = cv2.FaceDetectorYN.create(str(DETECTOR_PATH), "", (320, 320), SCORE_THRESHOLD, NMS_THRESHOLD, TOP_K)
        _local.detector = det
    return det


def detect(img: Image.Image) -> Detection:
    """Find faces in an RGB image; the largest is kept (see the module docstring)."""
    import cv2

    w, h = img.size
    s = 1.0
    if max(w, h) > MAX_DETECT_SIDE:
        s = MAX_DETECT_SIDE / max(w, h)
    elif max(w, h) < MIN_DETECT_SIDE:
        s = MIN_DETECT_SIDE / max(w, h)
    bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[..., ::-1])
    if s != 1.0:
        size = (max(1, round(w * s)), max(1, round(h * s)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    det = _detector()
    det.setInputSize((bgr.shape[1], bgr.shape[0]))
    _, rows = det.detect(bgr)
    if rows is None or len(rows) == 0:
        return Detection(face=None, n_faces=0, image_size=(w, h))
    rows = np.asarray(rows, np.float64)
    sx, sy = bgr.shape[1] / w, bgr.shape[0] / h  # exact factors after rounding
    rows[:, 0:14:2] /= sx
    rows[:, 1:14:2] /= sy
    k = int(np.argmax(rows[:, 2] * rows[:, 3]))
    r = rows[k]
    face = Face(box=(float(r[0]), float(r[1]), float(r[2]), float(r[3])),
                landmarks=tuple((float(r[4 + 2 * i]), float(r[5 + 2 * i])) for i in range(5)), score=float(r[14]))
    return Detection(face=face, n_faces=len(rows), image_size=(w, h))


def landmark_key(image_digest: str) -> str:
    """Cache key of one image's detection (the image's content hash and the detector with its settings)."""
    return hashlib.blake2b(f"{DETECTOR_KEY}|{image_digest}".encode(), digest_size=16).hexdigest()


DetectProgress = Callable[[int, int], None]


def detect_all(raws: Sequence, *, cache=None, progress: DetectProgress | None = None, threads: int = 2,
               decode=None) -> list[Detection | None]:
    """Detections for a list of :class:`~faceroc_core.images.RawImage` (``None`` entries stay ``None``).

    Cached detections are used as they are; the rest are decoded and detected on
    ``threads`` threads (OpenCV and PIL release the GIL), then cached.  An image that
    cannot be decoded gives ``None`` (the embedding step reports why).
    """
    from .images import decode as default_decode

    decode = decode or default_decode
    n = len(raws)
    out: list[Detection | None] = [None] * n
    keys = {i: landmark_key(r.digest) for i, r in enumerate(raws) if r is not None}
    if cache is not None and keys:
        got = cache.get_faces(list(keys.values()))
        for i, k in keys.items():
            if k in got:
                out[i] = Detection.from_array(got[k])
    todo = [i for i in keys if out[i] is None]
    done = n - len(todo)
    if progress:
        progress(done, n)

    def one(i):
        try:
            img = decode(raws[i].data)
        except ImageError:
            return i, None
        except Exception as e:  # a decoder bug must not stop the others
            _logger.warning("image %d could not be decoded for detection: %s", i, e)
            return i, None
        return i, detect(img)

    new = []
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            for pos, (i, d) in enumerate(pool.map(one, todo)):
                out[i] = d
                if d is not None:
                    new.append((keys[i], d.to_array()))
                if progress and (pos % 16 == 0 or pos == len(todo) - 1):
                    progress(done + pos + 1, n)
    if cache is not None and new:
        cache.put_faces(new)
    return out


# --------------------------------------------------------------------------- advice
@dataclass(frozen=True)
class AlignmentAdvice:
    """Whether the faces of a set should be detected and aligned before the models see them."""

    suggest: bool
    kind: str  # "small" (faces fill little of the photo), "spread" (placed differently), "framed", "few_faces"
    n_checked: int
    n_found: int
    face_share: float | None  # median share of the image's width taken by the face box
    spread: float | None  # how much the eyes' position varies between photos, as a share of the face's width
    reason: str  # one sentence for people

    def as_dict(self) -> dict:
        return {"suggest": self.suggest, "kind": self.kind, "n_checked": self.n_checked, "n_found": self.n_found,
                "face_share": self.face_share, "spread": self.spread, "reason": self.reason}


def check_sample(paths: Sequence, *, n_examples: int = 4) -> tuple[AlignmentAdvice, list[tuple[Image.Image, Face]]]:
    """Detect faces on sample images (unreadable ones are passed over): the advice, and up to ``n_examples``
    (photo, face) pairs to show before and after alignment."""
    from .images import decode, read_bytes

    dets: list = []
    examples: list = []
    for p in paths:
        try:
            img = decode(read_bytes(p).data)
        except ImageError:
            continue
        d = detect(img)
        dets.append(d)
        if d.face is not None and len(examples) < n_examples:
            examples.append((img, d.face))
    return advise(dets), examples


SMALL_FACE_SHARE = 0.6  # a face box narrower than this share of the image: the photo is not a face crop
SPREAD_LIMIT = 0.25  # eyes moving by more than a quarter of the face's width between photos: not framed alike


def advise(detections: Sequence[Detection | None]) -> AlignmentAdvice:
    """Suggest alignment when the faces fill a small part of the photos or sit in different places.

    Framed face crops (ORL, aligned sets) have the face box spanning most of the
    width with the eyes at the same place; raw photos (LFW's 250x250 pictures,
    phone photos) do not.
    """
    dets = [d for d in detections if d is not None]
    found = [d for d in dets if d.face is not None]
    if len(found) < max(1, len(dets) // 2):
        return AlignmentAdvice(False, "few_faces", len(dets), len(found), None, None,
                               f"a face was found in only {len(found)} of {len(dets)} sample images, so alignment "
                               f"would skip most of them")
    shares, eyes = [], []
    for d in found:
        face = d.face
        assert face is not None  # found: the detections with a face
        w, h = d.image_size
        shares.append(face.box[2] / max(w, 1))
        p = face.points
        # the eyes' centre, in face widths, from the image centre
        eyes.append(((p[0] + p[1]) / 2 - np.array([w, h]) / 2) / max(face.box[2], 1.0))
    share = float(np.median(shares))
    spread = float(np.sqrt(np.mean(np.var(np.asarray(eyes), axis=0)))) if len(eyes) > 1 else 0.0
    if share < SMALL_FACE_SHARE:
        return AlignmentAdvice(True, "small", len(dets), len(found), share, spread,
                               f"the faces fill only about {share:.0%} of the photos' width: the models would see mostly "
                               f"background unless the faces are found and aligned")
    if spread > SPREAD_LIMIT:
        return AlignmentAdvice(True, "spread", len(dets), len(found), share, spread,
                               f"the faces sit in different places in the photos (the eyes move by about {spread:.0%} "
                               f"of a face's width): aligning puts every face where the models expect it")
    return AlignmentAdvice(False, "framed", len(dets), len(found), share, spread,
                           "the photos are already framed on the face alike; alignment is not needed")
