"""Face detection, the similarity transform, alignment, the alignment advice and its cache."""
import shutil

import numpy as np
import pytest
from helpers import LFW, ROOT, SHARED_REASON
from PIL import Image

import faceroc_core.align as A
from faceroc_core.cache import EmbeddingCache
from faceroc_core.images import decode, read_bytes

ORL_DEMO = ROOT / "demo" / "orl_faces"  # ships with the project
needs_lfw = pytest.mark.skipif(not LFW.is_dir(), reason=SHARED_REASON)


def rotation(deg):
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def lfw_photo(k=0):
    return sorted(LFW.glob("*/*.jpg"))[k]


# --------------------------------------------------------------------------- geometry
def test_templates_for_common_sizes():
    assert np.array_equal(A.template_for(112, 112), A.ARCFACE_TEMPLATE)
    assert np.allclose(A.template_for(112, 96), A.ARCFACE_TEMPLATE - [8, 0])
    assert np.allclose(A.template_for(224, 224), A.ARCFACE_TEMPLATE * 2)
    t = A.template_for(160, 128)  # scale = min(160/112, 128/96); centred
    s = min(160 / 112, 128 / 96)
    assert np.allclose(t.mean(0) - [64, 80], (A.ARCFACE_TEMPLATE.mean(0) - 56) * s)
    assert np.allclose(np.linalg.norm(t[0] - t[1]), s * np.linalg.norm(A.ARCFACE_TEMPLATE[0] - A.ARCFACE_TEMPLATE[1]))


@pytest.mark.parametrize("deg,scale,shift", [(0, 1, (0, 0)), (23, 1.7, (40, -12)), (-75, 0.4, (300, 200))])
def test_similarity_transform_gives_the_template_back_exactly(deg, scale, shift):
    dst = A.template_for(112, 112)
    src = scale * dst @ rotation(deg).T + shift  # landmarks placed by a known similarity
    m = A.similarity_transform(src, dst)
    assert np.allclose(A.apply_transform(m, src), dst, atol=1e-9)
    assert np.linalg.det(m[:, :2]) > 0  # never a mirror image


def test_similarity_transform_is_least_squares_and_refuses_degenerate_points():
    dst = A.template_for(112, 112)
    noisy = dst + np.random.default_rng(0).normal(0, 2, dst.shape)
    m = A.similarity_transform(noisy, dst)
    sq = ((A.apply_transform(m, noisy) - dst) ** 2).sum()
    for d in (0.01, -0.01):  # any nearby similarity fits worse
        other = m.copy()
        other[:, :2] = m[:, :2] @ rotation(np.rad2deg(d))
        assert ((A.apply_transform(other, noisy) - dst) ** 2).sum() > sq
        shifted = m.copy()
        shifted[:, 2] += d * 10
        assert ((A.apply_transform(shifted, noisy) - dst) ** 2).sum() > sq
    with pytest.raises(ValueError):
        A.similarity_transform(np.ones((5, 2)), dst)


def test_align_moves_marked_points_onto_the_template():
    # a 300x260 "photo" with 5 bright dots where a tilted, enlarged face's landmarks are
    src = 1.8 * A.ARCFACE_TEMPLATE @ rotation(15).T + (60, 10)
    img = np.zeros((260, 300, 3), np.uint8)
    for x, y in src:
        img[int(round(y)) - 2:int(round(y)) + 3, int(round(x)) - 2:int(round(x)) + 3] = 255
    face = A.Face(box=(0, 0, 300, 260), landmarks=tuple(map(tuple, src)), score=1.0)
    out = A.align(Image.fromarray(img), face, 112, 112)
    assert out.shape == (112, 112, 3) and out.dtype == np.uint8
    grey = out[..., 0].astype(float)
    for x, y in A.ARCFACE_TEMPLATE:  # each dot's brightness centre lands within 1 px of its template point
        y0, x0 = int(round(y)), int(round(x))
        win = grey[y0 - 3:y0 + 4, x0 - 3:x0 + 4]
        ys, xs = np.mgrid[y0 - 3:y0 + 4, x0 - 3:x0 + 4]
        assert win.sum() > 0
        cy, cx = (win * ys).sum() / win.sum(), (win * xs).sum() / win.sum()
        assert abs(cx - x) < 1.0 and abs(cy - y) < 1.0


# --------------------------------------------------------------------------- detection on real faces
@needs_lfw
def test_aligned_lfw_photo_has_its_eyes_on_the_template():
    img = decode(read_bytes(lfw_photo(0)).data)
    d = A.detect(img)
    assert d.face is not None and d.image_size == (250, 250)
    x, y, w, h = d.face.box
    assert all(x <= px <= x + w and y <= py <= y + h for px, py in d.face.landmarks)
    m = A.similarity_transform(d.face.points, A.template_for(112, 112))
    eyes = A.apply_transform(m, d.face.points)[:2]  # where the warp puts the photo's eyes
    assert np.abs(eyes - A.ARCFACE_TEMPLATE[:2]).max() < 3.0
    # and the picture agrees: the detector finds the eyes there again (within its own few-pixel jitter)
    canvas = Image.new("RGB", (224, 224), (128, 128, 128))
    canvas.paste(Image.fromarray(A.align(img, d.face, 112, 112)), (56, 56))
    again = A.detect(canvas)
    assert np.abs(again.face.points[:2] - 56 - A.ARCFACE_TEMPLATE[:2]).max() < 6.0


@needs_lfw
def test_largest_of_several_faces_is_used_and_counted():
    a = decode(read_bytes(lfw_photo(0)).data)
    b = decode(read_bytes(lfw_photo(7)).data).resize((125, 125))
    canvas = Image.new("RGB", (420, 260), (128, 128, 128))
    canvas.paste(a, (0, 5))
    canvas.paste(b, (280, 60))
    d = A.detect(canvas)
    assert d.n_faces >= 2
    assert d.face.box[0] < 250  # the big face on the left, not the small one on the right
    assert A.detect(Image.new("RGB", (200, 200), (90, 90, 90))).face is None


@needs_lfw
def test_big_photo_is_downscaled_for_detection_and_landmarks_mapped_back():
    img = decode(read_bytes(lfw_photo(3)).data)
    small = A.detect(img)
    big = A.detect(img.resize((2000, 2000), Image.BICUBIC))  # 8x: past MAX_DETECT_SIDE
    assert big.image_size == (2000, 2000)
    # mapped back to the photo's own pixels: within the detector's jitter across scales (10% of the face's width)
    assert np.abs(big.face.points / 8 - small.face.points).max() < 0.1 * small.face.box[2]


def test_detection_works_on_the_bundled_orl_faces():
    files = sorted(ORL_DEMO.glob("*/*.pgm"))[:10]
    dets = [A.detect(decode(read_bytes(p).data)) for p in files]
    assert all(d.face is not None for d in dets)


# --------------------------------------------------------------------------- advice
def _sample_detections(files):
    return [A.detect(decode(read_bytes(p).data)) for p in files]


@needs_lfw
def test_advice_suggests_alignment_for_raw_photos():
    files = sorted(LFW.glob("*/*.jpg"))[::15]
    advice = A.advise(_sample_detections(files))
    assert advice.suggest and advice.kind == "small" and advice.face_share < 0.5


def test_advice_stays_quiet_on_framed_faces():
    files = sorted(ORL_DEMO.glob("*/*.pgm"))[::10]
    advice = A.advise(_sample_detections(files))
    assert not advice.suggest and advice.kind == "framed"


def test_advice_when_faces_move_or_are_missing():
    def det(cx, cy, found=True):
        pts = A.ARCFACE_TEMPLATE - 56 + (cx, cy)
        face = A.Face(box=(cx - 50, cy - 50, 100, 100), landmarks=tuple(map(tuple, pts)), score=0.9)
        return A.Detection(face=face if found else None, n_faces=int(found), image_size=(120, 120))

    moving = [det(10 + 40 * k, 60) for k in range(4)]  # the face moves by 40% of its width each time
    assert A.advise(moving).kind == "spread"
    assert A.advise([det(60, 60)] * 4).kind == "framed"
    assert A.advise([det(60, 60, found=False)] * 4).kind == "few_faces"


# --------------------------------------------------------------------------- cache
def test_detections_are_cached_by_image_content(tmp_path, monkeypatch):
    files = sorted(ORL_DEMO.glob("s1/*.pgm"))[:4]
    shutil.copy(files[0], tmp_path / "copy.pgm")  # same content, other name: one detection
    raws = [read_bytes(p) for p in files] + [read_bytes(tmp_path / "copy.pgm"), None]
    cache = EmbeddingCache(tmp_path / "cache")
    calls = []
    real = A.detect
    monkeypatch.setattr(A, "detect", lambda img: calls.append(1) or real(img))
    first = A.detect_all(raws, cache=cache)
    assert len(calls) == 5 and first[-1] is None
    second = A.detect_all(raws, cache=cache)
    assert len(calls) == 5  # all from the cache
    for x, y in zip(first[:-1], second[:-1]):
        assert np.allclose(x.to_array(), y.to_array())
    cache.close()
