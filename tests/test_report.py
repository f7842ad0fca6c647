import json
import re

import numpy as np
import pytest

from faceroc_core.pipeline import ModelSpec, evaluate, evaluate_scores
from faceroc_core.report import html_report, metrics_csv, roc_points_csv, to_json
from faceroc_core.verdict import comparison, grade, model_verdict


@pytest.fixture
def ev():
    rng = np.random.default_rng(0)
    groups = {}
    for name, sep in (("strong", 4.0), ("weak", 0.5), ("chance", 0.0)):
        y = np.r_[np.ones(400), np.zeros(4000)]
        groups[name] = (rng.normal(y * sep, 1) / 10, y)
    return evaluate_scores(groups)


def test_json_is_finite_and_complete(ev):
    text = to_json(ev)
    assert "Infinity" not in text and "NaN" not in text
    d = json.loads(text)
    assert [m["name"] for m in d["models"]] == ["strong", "weak", "chance"]
    m = d["models"][0]
    assert m["roc"]["thresholds"][0] is None and all(t is not None for t in m["roc"]["thresholds"][1:])
    assert m["tar_at_far"]["0.0001"] is None and m["tar_at_far"]["0.001"] is not None


def test_csv_exports(ev):
    rows = metrics_csv(ev, threshold=0.1).splitlines()
    assert rows[0].startswith("model,source,auc,eer") and "accuracy" in rows[0] and len(rows) == 4
    roc = roc_points_csv(ev).splitlines()
    assert roc[0] == "model,threshold,fpr,tpr,tp,fp"
    from faceroc_core.metrics import compact_roc

    assert len(roc) == 1 + sum(len(compact_roc(m.roc)) for m in ev.models)
    assert sum(len(compact_roc(m.roc)) for m in ev.models) < sum(len(m.roc) for m in ev.models)
    assert len(roc_points_csv(ev, roc="full").splitlines()) == 1 + sum(len(m.roc) for m in ev.models)


def test_json_export_stays_small_for_a_large_test():
    """1.25 M impostor pairs: the full curve has ~1.25 M points; the engine holds and exports a few thousand
    (lossless: each genuine threshold and the corner above it)."""
    rng = np.random.default_rng(3)
    y = np.r_[np.ones(2500), np.zeros(1_250_000)]
    ev = evaluate_scores({"m": (rng.normal(y * 2, 1), y)})
    text = to_json(ev)
    assert len(ev.models[0].roc) < 20_000 and len(text) < 450_000  # ROC and DET, a few thousand points each
    m = json.loads(text)["models"][0]
    assert np.trapezoid(m["roc"]["tpr"], m["roc"]["fpr"]) == pytest.approx(ev.models[0].auc, abs=1e-12)


def test_verdicts_grade_and_rank(ev):
    strong, weak, chance = ev.models
    assert model_verdict(strong, ev.dataset).grade in ("excellent", "good")
    assert model_verdict(chance, ev.dataset).grade == "chance"
    en = comparison(ev.models)
    assert en[0] == "Best model on these faces: strong."
    ja = comparison(ev.models, lang="ja")
    assert "strong" in ja[0] and "最も良い" in ja[0]
    v = model_verdict(strong, ev.dataset, lang="ja")
    assert any("AUC" in s for s in v.sentences) and re.search(r"[\u3040-\u30ff]", v.headline)


def test_grade_rules():
    assert grade(0.55, 0.99, None) == "chance"
    assert grade(0.99, 0.96, None) == "excellent"
    assert grade(0.99, None, 0.85) == "good"
    assert grade(0.9, 0.6, None) == "fair" and grade(0.9, 0.2, None) == "poor"


def test_html_report_self_contained(ev):
    page = html_report(ev, lang="en")
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "<script" not in page and "http://" not in page.split("<svg", 1)[0]
    assert not re.search(r"""(src|href)=["']https?://""", page)
    for m in ev.models:
        assert m.name in page
    assert "顔認識モデルの比較" in html_report(ev, lang="ja")


def test_comparison_sentences_follow_the_paired_interval(ev):
    from faceroc_core.uncertainty import Interval, PairedComparison

    strong, weak, _ = ev.models
    sure = PairedComparison("strong", "weak", 0.2, Interval(0.15, 0.25, 0.95, 200), 1.0)
    unsure = PairedComparison("strong", "weak", 0.01, Interval(-0.02, 0.04, 0.95, 200), 0.71)
    assert "the lead is clear" in comparison([strong, weak], comparisons=[sure])[1]
    text = comparison([strong, weak], comparisons=[unsure])[1]
    assert "only 71% confidence over 200 people" in text and "cannot reliably tell the two apart" in text
    assert "確実には区別できません" in comparison([strong, weak], lang="ja", comparisons=[unsure])[1]


def test_evaluation_json_has_intervals_and_comparisons(tmp_path):
    from helpers import make_faces, make_linear_onnx

    faces = make_faces(tmp_path / "f", n_ids=8, per_id=4)
    models = [ModelSpec(make_linear_onnx(tmp_path / f"m{k}.onnx", seed=k)) for k in range(2)]
    ev2 = evaluate(faces, models, cache_dir=tmp_path / "c")
    d = json.loads(to_json(ev2))
    for m in d["models"]:
        iv = m["auc_interval"]
        assert iv["n_people"] == 8 and iv["low"] <= m["auc"] <= iv["high"] and "influence" in iv["method"]
    (c,) = d["comparisons"]
    assert {c["better"], c["worse"]} == {"m0", "m1"} and 0 <= c["p_better"] <= 1
    assert c["better"] == max(d["models"], key=lambda m: m["auc"])["name"]
    assert evaluate(faces, models, cache_dir=tmp_path / "c", intervals=False).auc_intervals == {}


def test_tar_and_eer_intervals_reach_the_json_the_sentences_and_the_html(tmp_path):
    """Issue #19's fields: ``tar_at_far_interval`` (one per FAR target, null where the target cannot be measured)
    and ``eer_interval``, beside ``auc_interval``; the Report's sentences and the HTML table carry them, in both
    languages."""
    from faceroc_core.pipeline import evaluate_embeddings

    rng = np.random.default_rng(4)
    codes = np.repeat(np.arange(30), 8)
    e = rng.normal(size=(30, 16))[codes] * 1.2 + rng.normal(size=(codes.size, 16))
    ev2 = evaluate_embeddings({"m": (e, codes.astype(str))})
    d = json.loads(to_json(ev2))["models"][0]
    assert set(d["tar_at_far_interval"]) == set(d["tar_at_far"])  # "0.1", "0.01", "0.001", "0.0001"
    for far, tar in d["tar_at_far"].items():
        iv = d["tar_at_far_interval"][far]
        if tar is None:
            assert iv is None  # 240 images: 27,720 impostor pairs, too few for 1e-4... or measured
        else:
            assert iv["low"] <= tar <= iv["high"] and iv["level"] == 0.95 and iv["n_people"] == 30
    assert d["eer_interval"]["low"] < d["eer"] < d["eer_interval"]["high"]
    assert d["auc_interval"]["low"] < d["auc"] < d["auc_interval"]["high"]
    mi = ev2.intervals["m"]
    v = model_verdict(ev2.models[0], ev2.dataset, intervals=mi)
    tar_iv = mi.tar_at(1e-3)
    assert f"(95% interval {tar_iv.low:.1%}–{tar_iv.high:.1%} over 30 people;" in " ".join(v.sentences)
    assert f"(EER; 95% interval {mi.eer.low:.1%}–{mi.eer.high:.1%})" in " ".join(v.sentences)
    ja = " ".join(model_verdict(ev2.models[0], ev2.dataset, intervals=mi, lang="ja").sentences)
    assert f"30 人にもとづく 95% 区間 {tar_iv.low:.1%}〜{tar_iv.high:.1%}" in ja
    html = html_report(ev2)
    assert f"({tar_iv.low:.3f}–{tar_iv.high:.3f})" in html and f"({mi.eer.low:.4f}–{mi.eer.high:.4f})" in html


def test_csv_exports_read_back_as_numbers_and_never_as_formulas():
    import io

    import pandas as pd

    rng = np.random.default_rng(1)
    y = np.r_[np.ones(50), np.zeros(500)]
    names = ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "plain, with comma"]
    ev = evaluate_scores({n: (rng.normal(y, 1), y) for n in names})
    for text in (metrics_csv(ev, threshold=0.5), roc_points_csv(ev)):
        df = pd.read_csv(io.StringIO(text))
        assert not any(str(v).startswith(("=", "+", "-", "@")) for v in df["model"])
        assert set(df["model"]) == {"'" + n if n[0] in "=+-@" else n for n in names}
        numeric = df.drop(columns=[c for c in ("model", "source") if c in df]).dropna(axis=1, how="all")
        assert all(pd.api.types.is_numeric_dtype(numeric[c]) for c in numeric), numeric.dtypes
    assert "np.float64" not in roc_points_csv(ev)


def test_failed_models_are_named_in_every_export(ev):
    from dataclasses import replace

    from faceroc_core.pipeline import ModelFailure

    bad = replace(ev, failures=(ModelFailure(name="broken", source="broken.onnx", reason="not ONNX"),))
    failure = json.loads(to_json(bad))["failures"][0]
    assert failure["error"] == "broken.onnx: not ONNX" and failure["reason"] == "not ONNX" and failure["hint"] is None
    assert "broken,broken.onnx" in metrics_csv(bad) and "not ONNX" in metrics_csv(bad)
    html = html_report(bad)
    assert "Not compared, because they could not be evaluated: broken." in html and "not ONNX" in html
    assert comparison(bad.models, failures=bad.failures)[1].startswith("Not compared")


def test_png_export_draws_japanese_glyphs_not_boxes(ev):
    """With the bundled CJK font, two different Japanese titles render differently (missing glyphs would draw
    the same empty boxes for both)."""
    from faceroc_core.charts import roc_chart, to_png

    def png(title):
        return to_png(roc_chart(ev.ranked(), lang="ja").properties(title=title), scale=1)

    a, b = png("曲線曲線曲線"), png("比較比較比較")
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a != b
    assert png("曲線曲線曲線") == a  # deterministic: the difference is the glyphs


def test_html_report_lists_preprocessing_failures_and_japanese_charts(tmp_path):
    from dataclasses import replace

    from helpers import make_faces, make_linear_onnx

    from faceroc_core.pipeline import ModelFailure

    root = make_faces(tmp_path / "faces", n_ids=4, per_id=3)
    ev = evaluate(root, [ModelSpec(path=make_linear_onnx(tmp_path / "m.onnx"), name="m", bgr=True)],
                  cache_dir=tmp_path / "c", intervals=False)
    ev = replace(ev, failures=(ModelFailure(name="broken", source="broken.onnx", reason="not a valid ONNX file"),))
    page = html_report(ev, lang="ja")
    assert "各モデルの実行条件" in page and "B,G,R" in page and "画像全体" in page
    assert "評価できなかったモデル" in page and "broken.onnx" in page and "not a valid ONNX file" in page
    assert "ROC 曲線" in page and "他人受入率" in page and "コサイン類似度" in page  # the charts speak Japanese too
    assert "10⁻" in page  # log-FAR ticks
