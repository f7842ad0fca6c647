import pickle

import numpy as np
import pytest
import torch
from helpers import MFN_ONNX, MFN_PT, SHARED_REASON, make_linear_onnx

from faceroc_core import archmatch as Am
from faceroc_core import checkpoints as Ck
from faceroc_core import models as Mo
from faceroc_core import onnx_io as Ox
from faceroc_core.errors import ModelError
from faceroc_core.onnx_io import inspect_onnx


# --- ONNX inspection ---------------------------------------------------------------------------
def test_inspect_dynamic_batch(linear_onnx):
    info = Ox.inspect_onnx(linear_onnx)
    assert (info.input_name, info.layout, info.height, info.width) == ("pixels", "NCHW", 32, 32)
    assert info.fixed_batch is None and info.embedding_dim == 16 and info.output_name == "emb"
    assert info.n_parameters == 3 * 32 * 32 * 16


@pytest.mark.parametrize("kw, expect", [
    (dict(batch=1), dict(fixed_batch=1)),
    (dict(layout="NHWC", h=112, w=96), dict(layout="NHWC", height=112, width=96)),
    (dict(h=112, w=96), dict(layout="NCHW", height=112, width=96)),
    (dict(constants=True), dict(n_parameters=3 * 32 * 32 * 16)),
    (dict(input_name="data", output_name="fc1"), dict(input_name="data", output_name="fc1")),
])
def test_inspect_variants(tmp_path, kw, expect):
    info = Ox.inspect_onnx(make_linear_onnx(tmp_path / "m.onnx", **kw))
    for k, v in expect.items():
        assert getattr(info, k) == v


def test_external_data_side_file(tmp_path):
    p = make_linear_onnx(tmp_path / "ext" / "model.onnx", external=True)
    info = Ox.inspect_onnx(p)
    assert info.external_data == ("model.onnx.data",) and info.embedding_dim == 16
    h1 = Mo.model_hash(p)
    (p.parent / "model.onnx.data").unlink()
    with pytest.raises(ModelError, match="side file 'model.onnx.data' that is missing"):
        Ox.inspect_onnx(p)
    assert h1 != Mo.model_hash(p)  # the hash covers the side file


@pytest.mark.parametrize("content, msg", [(b"garbage\x00\x01not protobuf", "not a valid ONNX|onnx.checker"),
                                          (b"", "empty file")])
def test_malformed_onnx(tmp_path, content, msg):
    p = tmp_path / "bad.onnx"
    p.write_bytes(content)
    with pytest.raises(ModelError, match=msg) as e:
        Ox.inspect_onnx(p)
    assert "bad.onnx" in str(e.value)


@pytest.mark.skipif(not MFN_ONNX.is_file(), reason=SHARED_REASON)
def test_real_mobilefacenet_onnx_fixed_batch():
    info = Ox.inspect_onnx(MFN_ONNX)
    assert (info.input_name, info.fixed_batch, info.height, info.width, info.embedding_dim) == ("input0", 1, 112, 112, 128)


# --- state_dicts --------------------------------------------------------------------------------
def _timm_sd(arch, dim=32):
    import timm

    return timm.create_model(arch, pretrained=False, num_classes=dim).state_dict()


@pytest.mark.parametrize("arch", ["efficientnet_b0", "tf_efficientnetv2_b0", "resnet18", "mobilenetv3_small_100",
                                  "convnext_atto"])
def test_infer_architecture_across_families(arch):
    m = Am.infer_architecture(_timm_sd(arch, dim=48))
    assert m.arch == arch and m.embedding_dim == 48


def test_shipped_index_matches_live_timm():
    idx = Am.arch_index()["index"]
    for arch in ("resnet50", "convnext_tiny", "efficientnetv2_rw_s", "mobilenetv3_large_100"):
        shapes, head, _ = Am._timm_body_shapes(arch)
        assert arch in [h[0] for h in idx[Am._signature(shapes)]]


@pytest.mark.parametrize("wrap", ["plain", "trunk", "module", "checkpoint", "net_state_dict"])
def test_load_state_dict_unwraps(tmp_path, wrap):
    sd = _timm_sd("resnet18", 16)
    obj = {
        "plain": sd,
        "trunk": {f"trunk.{k}": v for k, v in sd.items()},
        "module": {f"module.trunk.{k}": v for k, v in sd.items()},
        "checkpoint": {"epoch": 7, "state_dict": sd, "best_acc": 0.9},
        "net_state_dict": {"epoch": 3, "net_state_dict": {f"module.{k}": v for k, v in sd.items()}},
    }[wrap]
    p = tmp_path / "m.pth"
    torch.save(obj, p)
    got = Ck.load_state_dict(p)
    assert set(got) == set(sd)
    assert Am.infer_architecture(got).arch == "resnet18"


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_arbitrary_pickle_refused(tmp_path):
    p = tmp_path / "evil.pth"
    with open(p, "wb") as f:
        pickle.dump({"x": Evil()}, f)
    with pytest.raises(ModelError, match="weights_only"):
        Ck.load_state_dict(p)


def test_not_a_torch_file(tmp_path):
    p = tmp_path / "x.pth"
    p.write_bytes(b"\x89PNG not torch")
    with pytest.raises(ModelError, match="not a PyTorch state_dict"):
        Ck.load_state_dict(p)


def test_mismatched_state_dict_names_the_keys():
    sd = _timm_sd("resnet18", 16)
    del sd["layer1.0.conv1.weight"]
    sd["extra.weight"] = torch.zeros(3)
    with pytest.raises(ModelError, match=r"missing: layer1.0.conv1.weight.*unexpected: extra.weight"):
        Am.build_timm_model(sd, arch="resnet18")
    with pytest.raises(ModelError, match="match no timm architecture"):
        Am.infer_architecture(sd)


def test_embedding_dim_conflict():
    with pytest.raises(ModelError, match="embedding size 64 was given but the head fc.weight is"):
        Am.build_timm_model(_timm_sd("resnet18", 16), arch="resnet18", embedding_dim=64)


@pytest.mark.skipif(not MFN_PT.is_file(), reason=SHARED_REASON)
def test_real_non_timm_state_dict_gets_clear_message():
    sd = Ck.load_state_dict(MFN_PT)
    with pytest.raises(ModelError, match="outside timm.*torch.onnx.export"):
        Am.infer_architecture(sd, source=str(MFN_PT))


# --- export ---------------------------------------------------------------------------------------
def test_pth_export_single_file_dynamic_batch_and_cached(tmp_path):
    sd = {f"trunk.{k}": v for k, v in _timm_sd("mobilenetv3_small_050", 24).items()}
    p = tmp_path / "small.pth"
    torch.save(sd, p)
    cache = tmp_path / "cache"
    pm = Mo.prepare_model(p, size=(64, 64), cache_dir=cache)
    assert pm.kind == "pth" and pm.arch == "mobilenetv3_small_050"
    assert pm.export_check.ok and pm.export_check.max_abs_diff < 1e-3
    assert pm.info.fixed_batch is None and pm.info.embedding_dim == 24 and (pm.info.height, pm.info.width) == (64, 64)
    assert sorted(f.suffix for f in pm.onnx_path.parent.iterdir()) == [".json", ".onnx"]  # no side .data file
    # the ONNX runs batches of any size and agrees with PyTorch
    import timm

    model = timm.create_model("mobilenetv3_small_050", pretrained=False, num_classes=24)
    model.load_state_dict({k[6:]: v for k, v in sd.items()})
    model.eval()
    x = np.random.default_rng(0).normal(size=(5, 3, 64, 64)).astype(np.float32)
    sess = Ox.make_session(pm.onnx_path)
    with torch.no_grad():
        np.testing.assert_allclose(sess.run(None, {"input": x})[0], model(torch.from_numpy(x)).numpy(), atol=1e-4)
    mtime = pm.onnx_path.stat().st_mtime_ns
    pm2 = Mo.prepare_model(p, size=(64, 64), cache_dir=cache)
    assert pm2.onnx_path == pm.onnx_path and pm2.onnx_path.stat().st_mtime_ns == mtime


def test_unsupported_suffix(tmp_path):
    p = tmp_path / "model.h5"
    p.write_bytes(b"x")
    with pytest.raises(ModelError, match="unsupported model file type .h5"):
        Mo.prepare_model(p, cache_dir=tmp_path)


def test_unread_declared_inputs_are_ignored_and_the_file_left_alone(tmp_path, faces):
    from faceroc_core.pipeline import ModelSpec, evaluate

    plain = make_linear_onnx(tmp_path / "plain.onnx", batch=1)
    sface_like = make_linear_onnx(tmp_path / "sface.onnx", batch=1, unused_inputs=29)  # as OpenCV Zoo's int8 SFace
    before = sface_like.read_bytes()
    info = inspect_onnx(sface_like)
    assert info.input_name == "pixels" and len(info.ignored_inputs) == 29 and "29 unused" in info.describe()
    ev = evaluate(faces, [ModelSpec(plain, preset="raw"), ModelSpec(sface_like, preset="raw")],
                  cache_dir=tmp_path / "cache", intervals=False)
    assert not ev.failures and len(ev.models) == 2
    a, b = ev.models
    assert a.auc == b.auc and np.array_equal(a.roc.tpr, b.roc.tpr)  # same weights: the same scores
    assert sface_like.read_bytes() == before


def test_inputs_with_initializers_are_constants(tmp_path):
    p = make_linear_onnx(tmp_path / "ir3.onnx", initializer_inputs=True)
    info = inspect_onnx(p)
    assert info.input_name == "pixels" and info.ignored_inputs == () and info.embedding_dim == 16


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_one_channel_models_get_grey_images(tmp_path, faces, layout):
    from faceroc_core.pipeline import ModelSpec, evaluate

    p = make_linear_onnx(tmp_path / "grey.onnx", channels=1, layout=layout)
    info = inspect_onnx(p)
    assert info.channels == 1 and info.layout == layout and "grey" in info.describe()
    ev = evaluate(faces, [ModelSpec(p)], cache_dir=tmp_path / "cache", intervals=False)
    assert not ev.failures and ev.models[0].preprocessing.channels == 1 and ev.models[0].auc > 0.5


def test_a_model_onnxruntime_cannot_run_is_run_by_opencv(tmp_path, faces):
    """Block-quantised int8 files from the OpenCV Zoo (onnxruntime: "block_size must be 0") load as OpenCV loads
    them; the shipped YuNet detector is such a file."""
    import cv2

    from faceroc_core.align import DETECTOR_PATH
    from faceroc_core.onnx_io import make_session
    from faceroc_core.pipeline import ModelSpec, evaluate

    info = inspect_onnx(DETECTOR_PATH)
    assert info.runtime == "opencv" and "run by OpenCV" in info.describe() and info.fixed_batch == 1
    x = np.random.default_rng(0).normal(size=(1, 3, 640, 640)).astype(np.float32)
    net = cv2.dnn.readNetFromONNX(str(DETECTOR_PATH))
    net.setInput(x)
    ref = net.forward(info.output_name)
    got = make_session(DETECTOR_PATH, runtime="opencv").run([info.output_name], {info.input_name: x})[0]
    assert np.array_equal(got, ref)
    ev = evaluate(faces, [ModelSpec(DETECTOR_PATH, name="yunet")], cache_dir=tmp_path / "cache", intervals=False)
    assert not ev.failures and ev.models[0].info.runtime == "opencv" and ev.models[0].n_images == 20
