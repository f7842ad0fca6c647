"""The one measuring flow: folders, protocols, .npz embeddings and score CSVs give the same numbers through
:func:`faceroc_core.measure.measure_models`; every flow records one model's failure and goes on."""
from dataclasses import replace

import numpy as np
import pytest
from helpers import ROOT

from faceroc_core.cli import parser
from faceroc_core.dataset import scan_folder
from faceroc_core.errors import FaceROCError, ModelError
from faceroc_core.measure import Images, ModelInput, measure_models
from faceroc_core.options import MODEL_OPTIONS, OPTION_NAMES, ModelSpec, RunOptions, spec_from_options
from faceroc_core.pipeline import (
    embed_dataset,
    evaluate,
    evaluate_embeddings,
    evaluate_scores,
    measure_run,
    prepare_all,
)
from faceroc_core.progress import Stage
from faceroc_core.results import ModelFailure
from faceroc_core.stream import pair_scores

FACES = ROOT / "demo" / "orl_faces"
MODELS = [ROOT / "demo" / "models" / "A_epoch06.onnx", ROOT / "demo" / "models" / "C_epoch60.onnx"]
IDS = [f"s{k}" for k in range(21, 33)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The demo's two ONNX checkpoints on 12 unseen people, embedded once (the flow under test starts after)."""
    cache = tmp_path_factory.mktemp("cache")
    ds = scan_folder(FACES, identities=IDS)
    prepared, failures = prepare_all([ModelSpec(p) for p in MODELS], cache_dir=cache)
    assert not failures
    return ds, embed_dataset(ds, prepared, RunOptions(cache_dir=cache))


def _close(a, b):
    return a == pytest.approx(b, abs=1e-12)


def test_folders_npz_embeddings_and_scores_give_the_same_numbers(run):
    ds, er = run
    ev = measure_run(ds, er)
    ids = np.array([r.identity for r in ds.images])
    named = {me.model.name: (me.embeddings, ids) for me in er.results}
    ev_npz = evaluate_embeddings(named)
    ev_scores = evaluate_scores({name: (ps.scores, ps.genuine) for name, (e, i) in named.items()
                                 for ps in [pair_scores(e, i)]})
    for r in ev.models:
        for other in (ev_npz, ev_scores):
            o = next(m for m in other.models if m.name == r.name)
            assert o.auc == r.auc and o.eer.eer == r.eer.eer and o.eer.threshold == r.eer.threshold
            assert [p.tar for p in o.operating_points] == [p.tar for p in r.operating_points]
            assert np.array_equal(o.impostor_hist, r.impostor_hist)
        iv, iv_npz = ev.auc_intervals[r.name], ev_npz.auc_intervals[r.name]
        assert _close(iv.low, iv_npz.low) and _close(iv.high, iv_npz.high)
    assert [c.delta for c in ev.comparisons] == [c.delta for c in ev_npz.comparisons] != []
    # the images' flow knows where each model came from; bring-your-own inputs do not pretend to
    assert all(r.ran and r.sha256 and r.preprocessing is not None for r in ev.models)
    assert not any(r.ran or r.sha256 or r.preprocessing is not None for r in ev_npz.models + ev_scores.models)
    assert ev_scores.uncertainty_note and "no intervals" in ev_scores.uncertainty_note
    assert "not compared" not in ev_scores.uncertainty_note and ev_scores.comparisons == ()  # no images to pair
    assert ev.uncertainty_note is None


def test_a_protocol_gets_progress_failures_and_the_other_models_scores(run):
    ds, er = run
    ev_all = measure_run(ds, er)
    images = Images(identities=np.array([r.identity for r in ds.images]),
                    paths=np.array([r.relpath for r in ds.images]))
    from faceroc_core.protocol import PairList

    rng = np.random.default_rng(0)
    n = len(ds.images)
    a, b = np.triu_indices(n, 1)
    pick = np.sort(rng.choice(a.size, 400, replace=False))
    pl = PairList(a=a[pick], b=b[pick], genuine=images.identities[a[pick]] == images.identities[b[pick]],
                  source="pairs.csv")
    assert pl.genuine.any() and not pl.genuine.all()
    inputs = [ModelInput(name=me.model.name, source=me.model.source, kind="onnx", rows=np.arange(n),
                         embeddings=me.embeddings) for me in er.results]
    # a third model that embedded only one person's images cannot form different-people pairs: it fails alone
    one = np.flatnonzero(images.identities == IDS[0])
    inputs.append(ModelInput(name="lonely", source="lonely.onnx", kind="onnx", rows=one,
                             embeddings=er.results[0].embeddings[one]))
    seen = []
    ev = measure_models(inputs, images, protocol=pl, progress=lambda *a: seen.append(a))
    assert [r.name for r in ev.models] == [me.model.name for me in er.results]
    assert [(f.name, f.source) for f in ev.failures] == [("lonely", "lonely.onnx")]
    assert "0 different-people pairs" in ev.failures[0].reason and ev.failures[0].hint
    assert {(s, m) for s, _, _, m in seen} >= {(Stage.SCORE, me.model.name) for me in er.results}
    for r in ev.models:
        assert r.n_genuine == int(pl.genuine.sum()) and r.n_impostor == int((~pl.genuine).sum())
        assert r.hardest_impostors and all(dict(p.others).keys() == {o.name for o in ev.models} - {r.name}
                                           for p in r.hardest_impostors + r.hardest_genuines)
    # the listed pairs' metrics are those of the same scores counted as a score list
    e = er.results[0].embeddings / np.linalg.norm(er.results[0].embeddings, axis=1, keepdims=True)
    listed = np.einsum("ij,ij->i", e[pl.a], e[pl.b])
    ref = evaluate_scores({"x": (listed, pl.genuine)}).models[0]
    mine = next(r for r in ev.models if r.name == er.results[0].model.name)
    assert mine.auc == pytest.approx(ref.auc, abs=1e-12) and mine.eer.eer == pytest.approx(ref.eer.eer, abs=1e-12)
    assert ev.auc_intervals.keys() == {r.name for r in ev.models} and len(ev.comparisons) == 1
    assert len(ev.disagreements) == 1 and ev.disagreements[0].first == ev.ranked()[0].name
    assert ev.dataset.suspects == ()  # the test-set check needs every pair
    assert ev_all.ranked()[0].name == ev.ranked()[0].name


def test_models_on_different_images_are_compared_on_the_images_both_embedded(run):
    """One model skipped a photo of each person (as an aligning model skips photos without a face): the paired
    comparison is made on the images both embedded (dataset.compared_on), the same as measuring both on those
    images alone; each model keeps its own all-image figures and its failure to acquire."""
    ds, er = run
    images = Images(identities=np.array([r.identity for r in ds.images]),
                    paths=np.array([r.relpath for r in ds.images]))
    n = len(ds.images)
    some = np.arange(n)[np.arange(n) % 10 != 0]  # one photo of each person left out by the second model
    inputs = [ModelInput(name="all", source="all.onnx", kind="onnx", rows=np.arange(n),
                         embeddings=er.results[1].embeddings),
              ModelInput(name="some", source="some.onnx", kind="onnx", rows=some,
                         embeddings=er.results[0].embeddings[some])]
    ev = measure_models(inputs, images)
    assert len(ev.models) == 2 and len(ev.comparisons) == 1 and ev.dataset.compared_on == some.size
    assert f"compared on the {some.size:,} images both embedded" in ev.uncertainty_note
    same = measure_models([replace(inputs[0], rows=some, embeddings=inputs[0].embeddings[some]), inputs[1]], images)
    (c,), (want,) = ev.comparisons, same.comparisons
    assert (c.better, c.worse) == (want.better, want.worse) and c.delta == pytest.approx(want.delta, abs=1e-12)
    assert c.interval.low == pytest.approx(want.interval.low, abs=1e-12)
    by = {r.name: r for r in ev.models}
    assert by["all"].n_images == n and by["all"].on_common_images.auc == pytest.approx(
        next(r for r in same.models if r.name == "all").auc, abs=1e-12)
    assert by["some"].failure_to_acquire.images == n - some.size and by["all"].failure_to_acquire.images == 0
    fta = by["some"].failure_to_acquire
    assert fta.frr_with_fta > fta.frr  # the same-person pairs it could not score count as rejected
    assert ev.auc_intervals.keys() == {"all", "some"}  # each model still has its own interval
    off = measure_models(inputs, images, options=RunOptions(intervals=False))
    assert off.auc_intervals == {} and off.uncertainty_note.startswith("intervals over people were not asked for")


def test_failures_carry_reason_path_and_hint(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a model")
    ev = evaluate(FACES, [ModelSpec(bad), ModelSpec(MODELS[1])], identities=IDS[:4], cache_dir=tmp_path / "c",
                  intervals=False)
    [f] = ev.failures
    assert f.name == "broken" and f.source == str(bad) and "ONNX" in f.reason and f.path == str(bad)
    assert f.error.startswith(f"{bad}: {f.reason}") and (f.hint is None or f.error.endswith(f.hint))
    assert [m.name for m in ev.models] == ["C_epoch60"]
    unexpected = ModelFailure.of("m", "m.onnx", ZeroDivisionError("division by zero"))
    assert unexpected.error == "m.onnx: unexpected error ZeroDivisionError: division by zero"
    structured = ModelFailure.of("m", "m.onnx", ModelError("too big", path="/srv/x/m.onnx", hint="smaller"))
    assert (structured.reason, structured.hint, structured.path) == ("too big", "smaller", "/srv/x/m.onnx")
    assert structured.error == "m.onnx: too big — smaller"  # the server path is a field, never in the line


def test_run_options_are_one_typed_object(tmp_path):
    with pytest.raises(TypeError, match="unknown run option"):
        RunOptions.of(fars=(0.1,), colour="red")
    with pytest.raises(FaceROCError, match="labels"):
        RunOptions(labels="filename")
    opts = RunOptions(identities=IDS[:5], fars=(0.1, 0.01), intervals=False, cache_dir=tmp_path / "c")
    assert opts.identities == tuple(IDS[:5]) and opts.fars == (0.1, 0.01)
    a = evaluate(FACES, [ModelSpec(MODELS[1])], opts)
    b = evaluate(FACES, [ModelSpec(MODELS[1])], identities=IDS[:5], fars=(0.1, 0.01), intervals=False,
                 cache_dir=tmp_path / "c")
    assert a.models[0].auc == b.models[0].auc and a.fars == b.fars == (0.1, 0.01)


def test_model_options_are_declared_once():
    spec_fields = set(ModelSpec.__dataclass_fields__) - {"path"}
    assert spec_fields == set(OPTION_NAMES)
    flags = {a.dest for a in parser()._subparsers._group_actions[0].choices["evaluate"]._actions}
    assert {o.name for o in MODEL_OPTIONS if o.cli} <= flags and "name" not in flags
    with pytest.raises(FaceROCError, match="unknown model option"):
        spec_from_options("m.onnx", colour="red")
    s = spec_from_options("m.onnx", size="112x96", mean="0.5,0.5,0.5", std="0.5,0.5,0.5", align="true",
                          embedding_dim="128")
    assert (s.size, s.mean, s.align, s.embedding_dim) == ((112, 96), (0.5, 0.5, 0.5), True, 128)
    with pytest.raises(FaceROCError, match="embedding size"):
        spec_from_options("m.onnx", embedding_dim="many")


def test_photos_without_faces_count_as_failures_to_acquire_and_the_models_meet_on_common_images(tmp_path):
    """Planted photos with no face: the aligned model cannot use them (FtA), the unaligned one scores them; the
    paired comparison is made on the images both used (dataset.compared_on) and is present."""
    from helpers import make_linear_onnx, make_raw_photos

    root = make_raw_photos(tmp_path / "photos", n_ids=6, per_id=4, blank="s1/blank.png")
    from PIL import Image

    Image.open(root / "s1" / "blank.png").transpose(Image.Transpose.ROTATE_180).save(root / "s2" / "blank2.png")
    model = ROOT / "demo" / "models" / "C_epoch60.onnx"
    other = make_linear_onnx(tmp_path / "lin.onnx", h=112, w=96)
    ev = evaluate(root, [ModelSpec(model, name="aligned", align=True), ModelSpec(other, name="whole")],
                  cache_dir=tmp_path / "c")
    by = {r.name: r for r in ev.models}
    assert by["aligned"].failure_to_acquire.images == 2 and by["whole"].failure_to_acquire.images == 0
    assert by["aligned"].failure_to_acquire.share == pytest.approx(2 / 26)
    assert ev.dataset.compared_on == 24 and len(ev.comparisons) == 1
    assert {ev.comparisons[0].better, ev.comparisons[0].worse} == {"aligned", "whole"}
    assert by["whole"].on_common_images is not None and by["whole"].on_common_images.n_genuine < by["whole"].n_genuine
