"""A threshold chosen on dev people and measured on eval people; the calibration; the threshold file and
`faceroc verify`."""
import json

import numpy as np
import pytest
from helpers import LFW, MFN_ONNX, SHARED_REASON, make_faces, make_linear_onnx

from faceroc_core import stream
from faceroc_core.calibrate import cllr, fit, min_cllr
from faceroc_core.cli import main
from faceroc_core.decide import choose, decide, parse_target, split_people


def people(rng, n, per, scale=1.6, dim=16):
    c = rng.normal(size=(n, dim)) * scale
    sig = rng.uniform(0.8, 1.6, n)
    codes = np.repeat(np.arange(n), per)
    return c[codes] + rng.normal(size=(codes.size, dim)) * sig[codes][:, None], codes.astype(str)


def test_people_are_never_in_both_halves_and_the_split_is_seeded():
    ids = np.repeat([f"p{k}" for k in range(30)], 3)
    dev = split_people(ids, 0.5, seed=3)
    assert not set(ids[dev]) & set(ids[~dev]) and len(set(ids[dev])) == 15
    assert np.array_equal(dev, split_people(ids, 0.5, seed=3)) and not np.array_equal(dev, split_people(ids, 0.5, seed=4))
    assert parse_target("far=1e-4") == "far=0.0001"


def test_the_dev_threshold_equals_a_slow_reference():
    rng = np.random.default_rng(1)
    e, ids = people(rng, 40, 5)
    dc = decide(e, ids, target="1e-2", fraction=0.5)
    dev = split_people(ids, 0.5)
    s, g = stream.all_pair_scores(e[dev], ids[dev])
    # slow: every distinct score as a threshold; keep those with FAR <= 1%, the one with the highest TAR (ties:
    # the highest threshold, as metrics.tar_at_far)
    best = None
    for t in sorted(set(s.tolist()) | {np.inf}, reverse=True):
        far, tar = np.mean(s[~g] >= t), np.mean(s[g] >= t)
        if far <= 0.01 and (best is None or tar > best[1]):
            best = (t, tar)
    assert dc.threshold == best[0]
    st = stream.scan(e[dev], ids[dev])
    assert choose(st.roc, st.eer, "eer") == st.eer.threshold
    far = st.roc.fps / st.roc.n_impostor
    frr = 1 - st.roc.tps / st.roc.n_genuine
    assert choose(st.roc, st.eer, "min-hter") == st.roc.thresholds[np.argmin((far + frr) / 2)]
    assert dc.eval.far_ci[0] <= dc.eval.far <= dc.eval.far_ci[1] and dc.eval.people == 20


def test_the_eval_far_at_a_dev_threshold_is_covered_by_its_interval():
    """Seeded: 120 test sets of 40 people x 6 photos; the truth is the population's FAR at the chosen threshold
    (400,000 independent different-people pairs of fresh people)."""
    rng = np.random.default_rng(7)
    a, _ = people(rng, 400_000, 1)
    b, _ = people(rng, 400_000, 1)
    imp = np.sort(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))
    hits = n = 0
    for _ in range(120):
        e, ids = people(rng, 40, 6)
        dc = decide(e, ids, target="1e-2", fraction=0.5)
        if dc.eval.far_ci is None:
            continue
        truth = 1 - np.searchsorted(imp, dc.threshold, side="left") / imp.size
        hits += dc.eval.far_ci[0] <= truth <= dc.eval.far_ci[1]
        n += 1
    assert n >= 110 and 0.88 <= hits / n <= 0.995, hits / n


def test_calibration_is_monotone_and_cllr_says_how_good():
    rng = np.random.default_rng(0)
    g = np.r_[np.ones(500, bool), np.zeros(5000, bool)]
    sep = np.where(g, rng.normal(0.7, 0.1, g.size), rng.normal(0.1, 0.1, g.size))
    c = fit(sep, g)
    p = c.probability(np.linspace(-1, 1, 50))
    assert np.all(np.diff(p) > 0) and c.prior == pytest.approx(500 / 5500)
    assert cllr(c.llr(sep), g) >= min_cllr(sep, g) - 1e-9 and cllr(c.llr(sep), g) < 0.1
    rnd = rng.normal(size=g.size)
    cr = fit(rnd, g)
    assert cllr(cr.llr(rnd), g) == pytest.approx(1.0, abs=0.02)
    assert min_cllr(rnd, g) <= cllr(cr.llr(rnd), g)


def test_threshold_file_and_verify_refuse_another_model(tmp_path, capsys):
    faces = make_faces(tmp_path / "f", n_ids=10, per_id=4)
    m1, m2 = make_linear_onnx(tmp_path / "m1.onnx", seed=1), make_linear_onnx(tmp_path / "m2.onnx", seed=2)
    tf = tmp_path / "t.json"
    assert main(["evaluate", "--images", str(faces), "--model", str(m1), "--json", str(tmp_path / "o.json"),
                 "--threshold-file", str(tf), "--target-far", "1e-2", "--cache-dir", str(tmp_path / "c")]) == 0
    assert "threshold (dev -> eval)" in capsys.readouterr().err
    doc = json.loads(tf.read_text())
    (entry,) = doc["models"]
    assert set(entry) >= {"model", "threshold", "target", "dev", "eval", "calibration"}
    assert set(entry["model"]) >= {"name", "sha256", "preprocessing", "align", "flip"}
    assert set(entry["eval"]) == {"far", "far_ci", "frr", "frr_ci", "people", "n_genuine", "n_impostor"}
    assert entry["dev"]["people"] + entry["eval"]["people"] == 10 and entry["target"] == "far=0.01"
    a, b = sorted((faces / "id00").iterdir())[:2]
    assert main(["verify", "--threshold-file", str(tf), "--model", str(m2), str(a), str(b)]) == 2
    assert "no sha256 matches" in capsys.readouterr().err
    out = tmp_path / "v.json"
    assert main(["verify", "--threshold-file", str(tf), "--model", str(m1), str(a), str(b), "--json", str(out)]) == 0
    v = json.loads(out.read_text())
    assert set(v) == {"same", "score", "threshold", "probability", "model"} and v["model"] == "m1"
    assert v["same"] == (v["score"] >= v["threshold"]) and 0 <= v["probability"] <= 1


@pytest.mark.skipif(not LFW.is_dir() or not MFN_ONNX.is_file(), reason=SHARED_REASON)
def test_verify_accepts_a_genuine_and_rejects_an_impostor_pair_of_a_real_model(tmp_path):
    tf = tmp_path / "t.json"
    assert main(["evaluate", "--images", str(LFW), "--model", str(MFN_ONNX), "--crop", "53,44,197,188",
                 "--json", str(tmp_path / "o.json"), "--threshold-file", str(tf), "--cache-dir", str(tmp_path / "c"),
                 "-q"]) == 0
    people = sorted(p for p in LFW.iterdir() if p.is_dir())
    same = sorted(people[0].iterdir())[:2]
    other = [sorted(people[0].iterdir())[0], sorted(people[1].iterdir())[0]]
    outs = []
    for a, b in (same, other):
        out = tmp_path / "v.json"
        assert main(["verify", "--threshold-file", str(tf), "--model", str(MFN_ONNX), str(a), str(b), "--json",
                     str(out)]) == 0
        outs.append(json.loads(out.read_text()))
    assert outs[0]["same"] is True and outs[1]["same"] is False
    assert outs[0]["probability"] > outs[1]["probability"]
    d = json.loads((tmp_path / "o.json").read_text())["models"][0]["decision"]
    assert d["calibration"]["cllr"] >= d["calibration"]["min_cllr"]


def test_the_report_says_what_the_threshold_and_a_score_mean():
    from faceroc_core.pipeline import evaluate_embeddings
    from faceroc_core.verdict import model_verdict

    rng = np.random.default_rng(3)
    e, ids = people(rng, 40, 6)
    ev = evaluate_embeddings({"m": (e, ids)}, dev_fraction=0.5, target_far="1e-2", intervals=False)
    r = ev.models[0]
    dc = r.decision
    text = " ".join(model_verdict(r, ev.dataset).sentences)
    assert f"Set on {dc.dev.people} other people for FAR 0.01, its threshold {dc.threshold:.3f}" in text
    p = float(dc.calibration.probability(dc.threshold))
    assert f"A score of {dc.threshold:.2f} means the two photos are" in text and f"({p:.1%})" in text
    assert "設定に使っていない" in " ".join(model_verdict(r, ev.dataset, lang="ja").sentences)


def test_a_separate_dev_folder_and_a_stated_prior(tmp_path):
    dev_faces = make_faces(tmp_path / "dev", n_ids=8, per_id=4, seed=11)
    faces = make_faces(tmp_path / "f", n_ids=10, per_id=4, seed=12)
    model = make_linear_onnx(tmp_path / "m.onnx", seed=3)
    out, tf = tmp_path / "o.json", tmp_path / "t.json"
    assert main(["evaluate", "--images", str(faces), "--model", str(model), "--dev-images", str(dev_faces),
                 "--target-far", "eer", "--prior", "0.5", "--json", str(out), "--threshold-file", str(tf),
                 "--cache-dir", str(tmp_path / "c"), "-q"]) == 0
    d = json.loads(out.read_text())["models"][0]["decision"]
    assert d["split"] == {"by": "dev_images"} and d["dev"]["people"] == 8 and d["eval"]["people"] == 10
    assert d["target"] == "eer" and d["calibration"]["prior"] == 0.5
    assert json.loads(tf.read_text())["models"][0]["threshold"] == d["threshold"]
