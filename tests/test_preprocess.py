"""PIL + numpy preprocessing equals torchvision's Resize + ToTensor + Normalize."""
import numpy as np
import pytest
from helpers import LFW, ORL, SHARED_REASON
from PIL import Image
from torchvision import transforms as T

from faceroc_core.errors import FaceROCError
from faceroc_core.images import decode
from faceroc_core.preprocess import PRESETS, Preprocessing, normalisation, parse_crop, parse_size, preprocess


def reference(img, h, w, preset, crop=None, center=None):
    scale, mean, std = PRESETS[preset]
    ops = []
    if crop:
        ops.append(T.Lambda(lambda im: im.crop(crop)))
    if center:
        ops.append(T.CenterCrop(center))
    ops += [T.Resize((h, w)), T.ToTensor()]
    if scale == 1 / 255:
        ops.append(T.Normalize(mean, std))
    else:  # pixel-unit presets: (x*255 - m)/s == (x - m/255)/(s/255)
        ops.append(T.Normalize([m / 255 for m in mean], [s / 255 for s in std]))
    return T.Compose(ops)(img).numpy()


def synthetic(seed=0, size=(73, 91)):
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("hw", [(112, 112), (112, 96), (40, 30)])
def test_equals_torchvision_on_synthetic(preset, hw):
    h, w = hw
    scale, mean, std = PRESETS[preset]
    p = Preprocessing(height=h, width=w, scale=scale, mean=mean, std=std)
    for seed in range(3):
        img = synthetic(seed)
        np.testing.assert_allclose(preprocess(img, p), reference(img, h, w, preset), atol=1e-5)


def test_center_crop_equals_torchvision():
    p = Preprocessing(height=32, width=32, center_crop=(50, 40))
    img = synthetic(3)
    np.testing.assert_allclose(preprocess(img, p), reference(img, 32, 32, "imagenet", center=(50, 40)), atol=1e-5)


def test_bgr_and_nhwc():
    img = synthetic(4)
    p = Preprocessing(height=16, width=16)
    x = preprocess(img, p)
    xb = preprocess(img, Preprocessing(height=16, width=16, bgr=True))
    np.testing.assert_array_equal(xb, x[::-1])
    xn = preprocess(img, Preprocessing(height=16, width=16, layout="NHWC"))
    np.testing.assert_array_equal(xn, x.transpose(1, 2, 0))


@pytest.mark.skipif(not (ORL.is_dir() and LFW.is_dir()), reason=SHARED_REASON)
def test_equals_torchvision_on_real_faces():
    pgm = sorted((ORL / "s1").glob("*.pgm"))[0]
    jpg = sorted(next(iter(sorted(LFW.iterdir()))).glob("*.jpg"))[0]
    for path, crop in ((pgm, None), (jpg, (53, 44, 197, 188))):
        img = decode(path.read_bytes())
        for preset in PRESETS:
            scale, mean, std = PRESETS[preset]
            p = Preprocessing(height=112, width=112, scale=scale, mean=mean, std=std, crop=crop)
            np.testing.assert_allclose(preprocess(img, p), reference(img, 112, 112, preset, crop=crop), atol=1e-5)


def test_crop_outside_image():
    with pytest.raises(FaceROCError, match="outside the 73x91 image"):
        preprocess(synthetic(), Preprocessing(height=8, width=8, crop=(0, 0, 200, 200)))


def test_parsers_and_explicit_mean_std():
    assert parse_size("112x96") == (112, 96) and parse_size("64") == (64, 64)
    assert parse_crop("53,44,197,188") == (53, 44, 197, 188)
    assert normalisation(mean="0.5,0.5,0.5", std="0.5,0.5,0.5") == (1 / 255, (0.5,) * 3, (0.5,) * 3)
    assert normalisation(mean="127.5,127.5,127.5", std="128,128,128")[0] == 1.0
    with pytest.raises(FaceROCError, match="size must be HxW"):
        parse_size("big")
    with pytest.raises(FaceROCError, match=r"crop must be x0,y0,x1,y1"):
        parse_crop("5,5,1,1")
    with pytest.raises(FaceROCError, match="preset must be one of"):
        normalisation("vgg")
    with pytest.raises(FaceROCError, match="three numbers"):
        normalisation(mean="1,2")


def test_raw_preset_feeds_the_pixels_themselves():
    img = synthetic(1, size=(40, 30))
    scale, mean, std = PRESETS["raw"]
    x = preprocess(img, Preprocessing(height=30, width=40, scale=scale, mean=mean, std=std))
    px = np.asarray(img, np.float32)  # H x W x (R, G, B), 0..255
    assert np.array_equal(x, px.transpose(2, 0, 1))
    xb = preprocess(img, Preprocessing(height=30, width=40, scale=scale, mean=mean, std=std, bgr=True))
    assert np.array_equal(xb, px[..., ::-1].transpose(2, 0, 1))


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_grey_models_get_luma(layout):
    img = synthetic(2, size=(40, 30))
    p = Preprocessing(height=30, width=40, scale=1 / 255, mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3), channels=1,
                      layout=layout)
    x = preprocess(img, p)
    luma = np.asarray(img.convert("L"), np.float64)  # PIL: L = R*299/1000 + G*587/1000 + B*114/1000
    expect = (luma / 255 - 0.5) / 0.25  # the three means and stds averaged
    assert x.shape == ((1, 30, 40) if layout == "NCHW" else (30, 40, 1))
    np.testing.assert_allclose(x.reshape(30, 40), expect, atol=1e-5)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_display_undoes_normalisation_and_shows_the_networks_channel_order(preset):
    from faceroc_core.preprocess import to_display

    img = synthetic(3, size=(40, 30))
    scale, mean, std = PRESETS[preset]
    rgb = Preprocessing(height=30, width=40, scale=scale, mean=mean, std=std)
    assert np.abs(to_display(preprocess(img, rgb), rgb).astype(int) - np.asarray(img)).max() <= 1
    bgr = Preprocessing(height=30, width=40, scale=scale, mean=mean, std=std, bgr=True, layout="NHWC")
    shown = to_display(preprocess(img, bgr), bgr)
    assert np.abs(shown.astype(int) - np.asarray(img)[..., ::-1]).max() <= 1  # red and blue swapped: visible


def test_alignment_and_a_crop_box_do_not_mix():
    with pytest.raises(FaceROCError, match="alignment cuts the face out itself"):
        Preprocessing(height=112, width=112, crop=(0, 0, 50, 50), align=True)
    with pytest.raises(FaceROCError, match="no face found"):
        preprocess(synthetic(0), Preprocessing(height=112, width=112, align=True), face=None)
    assert Preprocessing(112, 112, align=True).key != Preprocessing(112, 112).key
