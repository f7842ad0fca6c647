import numpy as np
from helpers import make_linear_onnx, make_raw_photos

from faceroc_core import embed as E
from faceroc_core.cache import EmbeddingCache
from faceroc_core.dataset import scan_folder
from faceroc_core.models import prepare_model
from faceroc_core.onnx_io import make_session
from faceroc_core.preprocess import Preprocessing


class CountingSessions:
    """A session factory that counts how many images each model really ran on."""

    def __init__(self):
        self.images = {}

    def __call__(self, m):
        sess = make_session(m.onnx_path)
        outer = self

        class S:
            def run(self, names, feed):
                x = next(iter(feed.values()))
                outer.images[m.name] = outer.images.get(m.name, 0) + len(x)
                return sess.run(names, feed)

        return S()


def _models(tmp_path, *specs):
    out = []
    for name, kw in specs:
        pm = prepare_model(make_linear_onnx(tmp_path / f"{name}.onnx", **kw), cache_dir=tmp_path / "c")
        out.append((pm, Preprocessing(height=pm.info.height, width=pm.info.width, layout=pm.info.layout)))
    return out


def test_cache_makes_second_run_skip_inference(tmp_path, faces):
    ds = scan_folder(faces)
    models = _models(tmp_path, ("a", {}), ("b", dict(seed=1, batch=1)))
    cache = EmbeddingCache(tmp_path / "cache")
    f1 = CountingSessions()
    r1 = E.embed(ds.images, models, cache=cache, session_factory=f1, batch_size=8)
    assert f1.images == {"a": 20, "b": 20}  # fixed batch 1 model ran one image at a time, all images
    f2 = CountingSessions()
    r2 = E.embed(ds.images, models, cache=cache, session_factory=f2)
    assert f2.images == {}
    for a, b in zip(r1.results, r2.results):
        np.testing.assert_array_equal(a.embeddings, b.embeddings)
        assert b.from_cache == 20


def test_corrupt_cache_entry_is_recomputed(tmp_path, faces):
    ds = scan_folder(faces)
    models = _models(tmp_path, ("a", {}))
    cache = EmbeddingCache(tmp_path / "cache")
    ref = E.embed(ds.images, models, cache=cache).results[0].embeddings
    cache._con.execute("UPDATE emb SET data = zeroblob(length(data)) WHERE rowid IN (SELECT rowid FROM emb LIMIT 3)")
    cache._con.commit()
    f = CountingSessions()
    again = E.embed(ds.images, models, cache=cache, session_factory=f)
    assert f.images == {"a": 3} and cache.discarded == 3
    np.testing.assert_allclose(again.results[0].embeddings, ref, rtol=1e-6)


def test_decode_once_for_all_models(tmp_path, faces, monkeypatch):
    ds = scan_folder(faces)
    models = _models(tmp_path, ("a", {}), ("b", dict(seed=1)), ("c", dict(h=16, w=16)))
    calls = []  # list.append is atomic: images are prepared on several threads
    real_decode, real_prep = E.decode, E.preprocess

    def decode(data):
        calls.append("decode")
        return real_decode(data)

    def prep(img, p, out=None, face=None):
        calls.append("prep")
        return real_prep(img, p, out=out, face=face)

    monkeypatch.setattr(E, "decode", decode)
    monkeypatch.setattr(E, "preprocess", prep)
    E.embed(ds.images, models)
    # a and b share one preprocessing; c has its own
    assert (calls.count("decode"), calls.count("prep")) == (20, 40)


def test_decoder_crash_loses_only_that_image_and_rows_stay_in_place(tmp_path, faces, monkeypatch):
    ds = scan_folder(faces)
    models = _models(tmp_path, ("a", {}), ("c", dict(h=16, w=16)))
    ref = E.embed(ds.images, models, batch_size=4)
    real_decode = E.decode
    victim = ds.images[5].path.read_bytes()

    def decode(data):
        if data == victim:
            raise RuntimeError("decoder bug")
        return real_decode(data)

    monkeypatch.setattr(E, "decode", decode)
    monkeypatch.setattr(E, "PREP_THREADS", 3)
    monkeypatch.setattr(E, "CHUNK_IMAGES", 7)  # several chunks, one with a hole
    run = E.embed(ds.images, models, batch_size=4)
    assert [(s.path, s.reason) for s in run.unreadable] == [
        (ds.images[5].relpath, "cannot be decoded (RuntimeError: decoder bug)")]
    for r, want in zip(run.results, ref.results):
        keep = np.arange(20) != 5
        assert r.valid.tolist() == keep.tolist()
        np.testing.assert_array_equal(r.embeddings[keep], want.embeddings[keep])
        assert not r.embeddings[5].any()


def test_bad_images_and_bad_outputs_are_listed(tmp_path, faces):
    (faces / "id00" / "999.png").write_bytes(b"not a png")
    ds = scan_folder(faces)
    models = _models(tmp_path, ("good", {}), ("zero", dict(zero_rows=True)))
    run = E.embed(ds.images, models)
    assert [(s.path, s.reason) for s in run.unreadable] == [("id00/999.png", "not a readable image (unknown or corrupt format)")]
    good, zero = run.results
    assert good.valid.sum() == 20 and not zero.valid.any()
    assert all("all zeros" in s.reason for s in zero.failed) and len(zero.failed) == 20


def test_thermal_guard_waits_while_hot():
    temps = iter([90, 85, 60])
    slept = []
    waited = E.thermal_guard(72, sensor=lambda: next(temps), sleep=slept.append, poll_s=1)
    assert waited == 2 and slept == [1, 1]
    assert E.thermal_guard(72, sensor=lambda: None, sleep=slept.append) == 0


def test_progress_reports_each_stage(tmp_path, faces):
    ds = scan_folder(faces)
    seen = []
    E.embed(ds.images, _models(tmp_path, ("a", {})), progress=lambda *a: seen.append(a))
    assert ("read", 20, 20, None) in seen and ("embed", 20, 20, "a") in seen


def test_aligned_models_skip_photos_without_a_face_and_detect_once(tmp_path, monkeypatch):
    import faceroc_core.align as A
    from faceroc_core.pipeline import ModelSpec, evaluate

    photos = make_raw_photos(tmp_path / "photos", blank="s1/blank.png")
    net = make_linear_onnx(tmp_path / "net.onnx", h=112, w=112)
    specs = [ModelSpec(net, name="aligned", align=True), ModelSpec(net, name="aligned too", align=True),
             ModelSpec(net, name="as is")]
    calls, stages = [], set()
    real = A.detect
    monkeypatch.setattr(A, "detect", lambda img: calls.append(1) or real(img))
    ev = evaluate(photos, specs, cache_dir=tmp_path / "cache", intervals=False,
                  progress=lambda stage, done, total, model: stages.add(stage))
    assert len(calls) == 17 and "faces" in stages  # once per image for both aligned models
    by = {r.name: r for r in ev.models}
    assert [(s.path, s.reason) for s in by["aligned"].skipped] == [("s1/blank.png", "no face found")]
    assert by["as is"].skipped == () and by["as is"].n_images == 17 and by["aligned"].n_images == 16
    assert ev.dataset.faces.no_face == ("s1/blank.png",) and ev.dataset.faces.n_checked == 17
    assert by["aligned"].preprocessing.align and not by["as is"].preprocessing.align
    again = evaluate(photos, specs, cache_dir=tmp_path / "cache", intervals=False)
    assert len(calls) == 17  # landmarks and embeddings from the cache
    assert again.models[0].auc == ev.models[0].auc


def test_two_networks_with_one_display_name_keep_their_own_embeddings(tmp_path, faces):
    from faceroc_core.models import prepare_model
    from faceroc_core.preprocess import Preprocessing

    ds = scan_folder(faces)
    a = prepare_model(make_linear_onnx(tmp_path / "a" / "model.onnx", seed=1), name="model")
    b = prepare_model(make_linear_onnx(tmp_path / "b" / "model.onnx", seed=2), name="model")
    p = Preprocessing(height=32, width=32)
    cache = EmbeddingCache(tmp_path / "cache")
    run = E.embed(ds.images, [(a, p), (b, p)], cache=cache)
    alone = E.embed(ds.images, [(b, p)])
    assert not np.allclose(run.results[0].embeddings, run.results[1].embeddings)
    np.testing.assert_allclose(run.results[1].embeddings, alone.results[0].embeddings, rtol=1e-6)
    cache.close()
