"""Writing results: JSON, CSV, ROC points, and a self-contained HTML report.

JSON holds finite numbers only: the ROC's first threshold (``+inf``, "accept
nothing") and any other infinite threshold are written as ``null``.

Exports stay small at any size: the ROC in JSON is the bounded form by default
(:func:`export_roc`: at most about 20,000 points, TAR within 1e-4 of the full
curve at any FAR and exact at every decade; lossless on small sets), and the
ROC-points CSV the lossless compact form (every corner and tied step, so AUC,
EER and TAR at any FAR are those of the full curve); ``roc="full"`` writes
every point the engine holds.  The metrics themselves are always exact.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__
from .diagnose import hardest_people
from .jsonparts import _identification, _interval, _num, _tenfold, decision_dict, far_key
from .metrics import RocCurve, bounded_roc, compact_roc, threshold_metrics
from .results import Evaluation, ModelResult, decision_threshold
from .verdict import comparison, model_verdict

ROC_FORMS = ("bounded", "corners", "full")
ROC_TAR_ERROR = 1e-4  # the bounded form's largest TAR error at any FAR


def export_roc(roc: RocCurve, form: str = "bounded") -> RocCurve:
    """The curve as written to files.

    * ``"bounded"`` (the default): at most about 20,000 points, the TAR at any FAR within 1e-4 of the full curve's
      and exact at every decade of FAR (:func:`~faceroc_core.metrics.bounded_roc`); lossless on sets with fewer than
      about 10,000 same-person pairs.
    * ``"corners"``: lossless and compact — every corner and tied step (:func:`~faceroc_core.metrics.compact_roc`).
    * ``"full"``: every point the engine holds (each genuine threshold, the corner above it, the 0.001 threshold
      grid, the EER threshold).

    Every point of each form is a point of the ROC through every distinct score (scikit-learn's
    ``drop_intermediate=False`` curve); the metrics (AUC, EER, TAR@FAR) are always the exact ones, whatever form is
    written."""
    if form not in ROC_FORMS:
        raise ValueError(f"roc form must be one of {ROC_FORMS}, got {form!r}")
    if form == "full":
        return roc
    return compact_roc(roc) if form == "corners" else bounded_roc(roc, tar_error=ROC_TAR_ERROR)


def model_dict(r: ModelResult, *, roc: str | None = "bounded") -> dict:
    """One model's results as plain JSON values; ``roc``: a form of :data:`ROC_FORMS` or None (no curve)."""
    d = {
        "name": r.name,
        "source": r.source,
        "kind": r.kind,
        "sha256": r.sha256 or None,
        "arch": r.arch,
        "epoch": r.epoch,
        "auc": r.auc,
        "eer": r.eer.eer,
        "eer_threshold": _num(r.eer.threshold),
        "tar_at_far": {far_key(p.far_target): _num(p.tar) for p in r.operating_points},
        "operating_points": [
            {"far_target": p.far_target, "far": _num(p.far), "tar": _num(p.tar), "threshold": _num(p.threshold)}
            for p in r.operating_points
        ],
        "n_images": r.n_images,
        "n_genuine": r.n_genuine,
        "n_impostor": r.n_impostor,
    }
    if r.model is not None:  # a model FaceROC ran itself
        d["preprocessing"] = r.model.preprocessing.describe()
        d["align"] = r.model.preprocessing.align
        d["flip"] = r.model.preprocessing.flip
        d["input"] = r.model.info.describe()
        d["export_max_abs_diff"] = r.export_max_abs_diff
        d["notes"] = list(r.notes)
        d["skipped"] = [{"path": s.path, "reason": s.reason} for s in r.skipped]
    if roc:
        c = export_roc(r.roc, roc)
        d["roc"] = {
            "form": roc,
            "n_points_full": len(r.roc),
            "fpr": c.fpr.tolist(),
            "tpr": c.tpr.tolist(),
            "thresholds": [_num(t) for t in c.thresholds.tolist()],
        }
        # DET: the same points (and thresholds) as the ROC, as false non-match against false match rate
        d["det"] = {"fmr": c.fpr.tolist(), "fnmr": (1.0 - c.tpr).tolist()}
    # the pair scores' histograms (the score distribution charts; a stored run draws them again)
    d["score_histogram"] = {"edges": r.hist_edges.tolist(), "genuine": r.genuine_hist.tolist(),
                            "impostor": r.impostor_hist.tolist()}
    if r.accuracy_10fold is not None:
        d["accuracy_10fold"] = _tenfold(r.accuracy_10fold)
    if r.identification is not None:
        d["identification"] = _identification(r.identification)
    if r.decision is not None:
        d["decision"] = decision_dict(r.decision)
    if r.failure_to_acquire is not None:
        f = r.failure_to_acquire
        d["failure_to_acquire"] = {"images": f.images, "share": f.share}
        d["frr_with_fta"] = {"threshold": _num(f.threshold), "frr": _num(f.frr), "frr_with_fta": _num(f.frr_with_fta)}
    if r.on_common_images is not None:
        cm = r.on_common_images
        d["on_common_images"] = {"auc": cm.auc, "eer": cm.eer.eer, "n_genuine": cm.n_genuine,
                                 "n_impostor": cm.n_impostor,
                                 "tar_at_far": {far_key(p.far_target): _num(p.tar) for p in cm.operating_points}}
    if r.kind != "scores":
        d["hardest_impostors"] = [_pair(p) for p in r.hardest_impostors]
        d["hardest_genuines"] = [_pair(p) for p in r.hardest_genuines]
        d["subgroups"] = [{"attribute": g.attribute, "value": g.value, "n_people": g.n_people,
                           "n_genuine": g.n_genuine, "n_impostor": g.n_impostor, "auc": _num(g.auc),
                           "auc_interval": _interval(g.interval), "threshold": _num(g.threshold), "fmr": _num(g.fmr),
                           "fnmr": _num(g.fnmr), "too_small": g.too_small} for g in r.subgroups]
        d["people"] = [{"identity": p.identity, "n_images": p.n_images, "genuine_mean": _num(p.genuine_mean),
                        "worst_impostor": _num(p.worst_impostor), "worst_impostor_with": p.worst_impostor_with,
                        "worst_pair": list(p.worst_pair)} for p in r.people]
    return d


def _ci_html(iv, digits: int) -> str:
    """`` (low–high)`` under a value in a table cell; nothing without an interval."""
    if iv is None:
        return ""
    return f"<br><span class='muted'>({iv.low:.{digits}f}–{iv.high:.{digits}f})</span>"


def _pair(p) -> dict:
    return {"a": p.a, "b": p.b, "identity_a": p.identity_a, "identity_b": p.identity_b, "score": _num(p.score),
            "others": {name: _num(s) for name, s in p.others}}


def _intervals(mi) -> dict:
    """A model's intervals over people, as the JSON names them (``null`` when not computed or not measurable)."""
    if mi is None:
        return {"auc_interval": None}
    return {"auc_interval": _interval(mi.auc),
            "tar_at_far_interval": {far_key(f): _interval(iv) for f, iv in mi.tar},
            "eer_interval": _interval(mi.eer)}


def to_dict(ev: Evaluation, *, roc: str | None = "bounded") -> dict:
    ds = ev.dataset
    dataset: dict[str, Any] = {"n_images": ds.n_images, "n_identities": ds.n_identities, "n_genuine": ds.n_genuine,
               "n_impostor": ds.n_impostor}
    if getattr(ds, "protocol", None):
        dataset["protocol"] = ds.protocol  # only these pairs were scored
    if getattr(ds, "compared_on", None):
        dataset["compared_on"] = ds.compared_on  # the images every model embedded
    if ds.label_mode != "scores":
        dataset.update(root=ds.root, labels=ds.label_mode,
                       skipped=[{"path": s.path, "reason": s.reason} for s in ds.skipped])
        if ds.faces is not None:
            dataset["faces"] = {"checked": ds.faces.n_checked, "no_face": list(ds.faces.no_face),
                                "several_faces": list(ds.faces.several_faces), "seconds": ds.faces.seconds}
        dataset["suspects"] = [{"kind": s.kind, "identities": list(s.identities), "images": list(s.images),
                                "evidence": s.evidence} for s in ds.suspects]
    return {
        "faceroc_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": dataset,
        "models": [{**model_dict(r, roc=roc), **_intervals(ev.intervals.get(r.name))} for r in ev.models],
        "comparisons": [{"better": c.better, "worse": c.worse, "auc_difference": c.delta,
                         "interval": _interval(c.interval), "p_better": _num(c.p_better)} for c in ev.comparisons],
        "uncertainty_note": ev.uncertainty_note,
        "disagreements": [{"models": [d.first, d.second], "thresholds": [_num(t) for t in d.thresholds],
                           "pairs": [_pair(p) for p in d.pairs]} for d in ev.disagreements],
        "failures": [{"name": f.name, "source": f.source, "error": f.error, "reason": f.reason, "hint": f.hint}
                     for f in ev.failures],
    }


def to_json(ev: Evaluation, *, roc: str | None = "bounded", indent: int | None = None) -> str:
    return json.dumps(to_dict(ev, roc=roc), indent=indent, allow_nan=False)


def write_json(ev: Evaluation, path, **kw) -> Path:
    p = Path(path)
    p.write_text(to_json(ev, **kw))
    return p


def metrics_rows(ev: Evaluation, *, threshold: float | None = None) -> list[dict]:
    rows = []
    for r in ev.models:
        row = {"model": r.name, "source": r.source, "auc": r.auc, "eer": r.eer.eer,
               "eer_threshold": _num(r.eer.threshold)}
        for p in r.operating_points:
            row[f"tar@far={p.far_target:g}"] = _num(p.tar)
        row.update(n_images=r.n_images, n_genuine=r.n_genuine, n_impostor=r.n_impostor)
        if threshold is not None:
            m = threshold_metrics(r.roc, threshold)
            row.update(threshold=m.threshold, tp=m.tp, fp=m.fp, tn=m.tn, fn=m.fn, accuracy=m.accuracy,
                       precision=m.precision, recall=m.recall, f1=m.f1)
        rows.append(row)
    for f in ev.failures:  # every model that could not be evaluated, with the reason
        rows.append({"model": f.name, "source": f.source, "error": f.error})
    return rows


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(v):
    """A cell as written to CSV: text that a spreadsheet would run as a formula gets a leading ' (OWASP)."""
    if v is None:
        return ""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def _csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: csv_cell(v) for k, v in r.items()})
    return buf.getvalue()


def metrics_csv(ev: Evaluation, *, threshold: float | None = None) -> str:
    return _csv(metrics_rows(ev, threshold=threshold))


def roc_points_csv(ev: Evaluation, *, roc: str = "corners") -> str:
    """Every model's ROC points (``roc="corners"``: the lossless compact form; ``"full"``: every point
    the engine holds, see :func:`export_roc`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["model", "threshold", "fpr", "tpr", "tp", "fp"])
    for r in ev.models:
        name = csv_cell(r.name)
        c = export_roc(r.roc, roc)
        for t, f, tp_rate, tp, fp in zip(c.thresholds.tolist(), c.fpr.tolist(), c.tpr.tolist(),
                                         c.tps.tolist(), c.fps.tolist()):
            w.writerow([name, repr(t) if math.isfinite(t) else "", repr(f), repr(tp_rate), int(tp), int(fp)])
    return buf.getvalue()


# --------------------------------------------------------------------------- HTML
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans JP',sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#1f2933;line-height:1.5}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #e4e7eb;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;font-size:.9em;table-layout:auto}th,td{padding:.35em .5em;
border-bottom:1px solid #e4e7eb;text-align:right;vertical-align:top}th{white-space:normal}
th:first-child,td:first-child,td.text{text-align:left;overflow-wrap:anywhere;word-break:break-word}
td.num{white-space:nowrap;font-variant-numeric:tabular-nums}tr.best{background:#e3f9e5;font-weight:600}
.card{border:1px solid #e4e7eb;border-radius:8px;padding:.8em 1.1em;margin:.8em 0}.grade{font-weight:700}
.g-excellent{color:#0e7c37}.g-good{color:#2f8132}.g-fair{color:#b7791f}.g-poor,.g-chance,.g-collapsed{color:#c53030}
.muted{color:#616e7c;font-size:.9em}.chart svg{max-width:100%;height:auto}img.strip{max-width:100%;margin-top:.4em}
.wide{overflow-x:auto}h3{font-size:1em;margin:.8em 0 .3em}.pairs{display:flex;flex-wrap:wrap;gap:.8em}
figure.pair{margin:0;font-size:.85em;color:#3e4c59}img.face{height:80px;margin-right:3px;border-radius:3px}
"""

HTML_TEXT: dict[str, dict[str, Any]] = {
    "en": {"title": "Face model comparison", "summary": "Summary", "data": "Test faces", "table": "Scores",
           "tenfold": "10-fold accuracy (as the field reports it)",
           "tenfold_how": "InsightFace's computation: squared distance of normalised embeddings, thresholds 0-4 in "
                          "steps of 0.01, each fold judged at the threshold best on the other nine; mean ± std of "
                          "the ten folds.",
           "ident": "Identification (1:N)",
           "ident_how": "Each probe photo is searched against the gallery; a person's score is their best gallery "
                        "photo. Rank-k: the share of searches whose person is among the top k. FNIR at FPIR: the "
                        "share of mated searches missed (not first, or under the threshold) when only that share of "
                        "searches for people not enrolled return someone.",
           "ci_note": "In brackets under EER and TAR: the 95% interval over people (on other people like these, the "
                      "number would most likely lie there).",
           "curves": "ROC curves", "dist": "Score distributions", "verdicts": "What this means",
           "dataset": "{n_images:,} images of {n_id} people: {n_gen:,} same-person pairs and {n_imp:,} different-person pairs.",
           "skipped": "{n} file(s) were skipped.", "model": "Model", "failed": "Could not be evaluated",
           "pairs": "pairs (same / different)",
           "how": "How to read: each curve shows, for every threshold, the share of strangers wrongly accepted (FAR, across) "
                  "against the share of same-person pairs recognised (TAR, up). Higher and further left is better; "
                  "the dashed line is guessing.",
           "how_log": " FAR is on a log scale (10⁻⁴ = one stranger in 10,000 accepted), where face models are used.",
           "dist_how": "Each panel: how the scores of same-person pairs (green) and different-people pairs (red) "
                       "spread, each normalised on its own; the less they overlap, the better. Dashed line: the "
                       "best model's equal-error threshold.",
           "made": "Made by FaceROC {v} on {d}.", "cred": "Credits: {c}",
           "prep": "How each model was run", "file": "File", "input": "Input", "face": "Face",
           "norm": "Normalisation", "colour": "Colour order", "aligned": "aligned (5 landmarks → ArcFace template)",
           "crop": "crop box {box}", "ccrop": "centre crop {h}×{w}", "whole": "whole image",
           "sees": "What each model sees",
           "sees_how": "Top row: sample photos. Bottom row: exactly what the network receives (after alignment or "
                       "cropping, resizing and normalisation, shown with the network's first channel as red: a "
                       "blue-tinted face means the model is fed B,G,R).",
           "faces": "Faces were detected in {n:,} images: {none} without a face (left out for the aligned models), "
                    "{several} with several faces (the largest was used).",
           "det": "DET curves", "det_how": "The same results as false rejects (FNMR, up) against false accepts (FMR, "
                                            "across), both on log scales: lower and further left is better.",
           "why": "Where the models go wrong", "imp": "Different people scored most alike",
           "gen": "The same person scored least alike", "people": "People, hardest first",
           "person": "person", "mean": "same-person mean", "closest": "most similar other person",
           "health": "Check your test set", "clean": "No labelling problems found.",
           "groups": "Groups of people", "groups_how": "Each model on the pairs within each group, at one threshold for "
                     "everyone (FMR = 0.001 on all pairs).", "attr": "attribute", "group": "group",
           "n_people": "people", "small": "too small to tell",
           "kind": {"same_person_two_names": "One person under two names",
                    "wrong_identity": "A photo filed under the wrong person",
                    "duplicate_image": "The same photo under two names"}},
    "ja": {"title": "顔認識モデルの比較", "summary": "まとめ", "data": "テストに使った顔", "table": "スコア",
           "tenfold": "10 分割精度（論文で報告される値）",
           "tenfold_how": "InsightFace と同じ計算です: 正規化した埋め込みの二乗距離、しきい値は 0〜4 を 0.01 刻み、各分割は残り 9 分割で最良のしきい値で判定し、10 分割の平均 ± 標準偏差を示します。",
           "ident": "1:N 識別",
           "ident_how": "各プローブ写真を登録（ギャラリー）と照合します。人物のスコアはその人の最も近い登録写真です。rank-k は本人が上位 k 位以内に入る検索の割合、FPIR での FNIR は、未登録の人の検索が誰かを返す割合をその値に抑えたときに本人を見逃す割合です。",
           "ci_note": "EER と TAR の下の括弧内は、人にもとづく 95% 区間です（同じような別の人々で試すと、値はおそらくこの範囲に入ります）。",
           "curves": "ROC 曲線", "dist": "スコアの分布", "verdicts": "結果の読み方",
           "dataset": "{n_id} 人の画像 {n_images:,} 枚: 同じ人のペア {n_gen:,} 組、別人のペア {n_imp:,} 組。",
           "skipped": "{n} 個のファイルをスキップしました。", "model": "モデル", "failed": "評価できなかったモデル",
           "pairs": "ペア数（同じ人 / 別人）",
           "how": "読み方: 各曲線は、しきい値ごとに、他人を誤って受け入れる割合（FAR、横軸）と同じ人を正しく認識する割合（TAR、縦軸）を示します。"
                  "上に高く左にあるほど良く、点線は当てずっぽうです。",
           "how_log": " FAR は対数目盛です（10⁻⁴ = 他人 1 万人に 1 人を受け入れる）。顔認識が実際に使われる範囲です。",
           "dist_how": "各パネル: 同じ人のペア（緑）と別人のペア（赤）のスコアの広がり（それぞれ別に正規化）。重なりが少ないほど良いモデルです。"
                       "点線: 最良モデルの EER しきい値。",
           "made": "FaceROC {v} で作成（{d}）。", "cred": "クレジット: {c}",
           "prep": "各モデルの実行条件", "file": "ファイル", "input": "入力", "face": "顔の切り出し",
           "norm": "正規化", "colour": "色の順序", "aligned": "位置合わせ（5 点 → ArcFace テンプレート）",
           "crop": "切り抜き {box}", "ccrop": "中央切り抜き {h}×{w}", "whole": "画像全体",
           "sees": "各モデルが見ている画像",
           "sees_how": "上段: サンプル写真。下段: ネットワークに実際に入力される画像（位置合わせ・切り抜き・リサイズ・正規化の後。"
                       "ネットワークの 1 番目のチャンネルを赤として表示するため、顔が青っぽい場合は B,G,R の順で入力されています）。",
           "faces": "{n:,} 枚の画像で顔を検出しました: 顔が見つからない画像 {none} 枚（位置合わせするモデルでは除外）、"
                    "複数の顔がある画像 {several} 枚（一番大きい顔を使用）。",
           "det": "DET 曲線", "det_how": "同じ結果を、本人拒否率（FNMR、縦軸）と他人受入率（FMR、横軸）の両対数で表したものです。左下ほど良いモデルです。",
           "why": "モデルが間違えるところ", "imp": "最も似ていると判断された別人のペア",
           "gen": "最も似ていないと判断された同じ人のペア", "people": "人物（苦手な順）",
           "person": "人物", "mean": "本人ペアの平均", "closest": "最も似ている別人",
           "health": "テストデータの確認", "clean": "ラベルの問題は見つかりませんでした。",
           "groups": "人物のグループ", "groups_how": "各グループ内のペアでの各モデルの結果（全ペアで FMR = 0.001 となる共通のしきい値）。",
           "attr": "属性", "group": "グループ", "n_people": "人数", "small": "小さすぎて判断できません",
           "kind": {"same_person_two_names": "同じ人物が 2 つの名前で登録",
                    "wrong_identity": "別の人物に登録された写真",
                    "duplicate_image": "同じ写真が 2 人に登録"}},
}


def _prep_cells(p, tx: dict) -> list[str]:
    """Input size, face cut-out, normalisation and colour order of one model's preprocessing."""
    from .preprocess import PRESETS

    if p.align:
        face = tx["aligned"]
    elif p.crop:
        face = tx["crop"].format(box=",".join(map(str, p.crop)))
    else:
        face = tx["whole"]
    if p.center_crop:
        face += " · " + tx["ccrop"].format(h=p.center_crop[0], w=p.center_crop[1])
    preset = next((n for n, (sc, m, d) in PRESETS.items() if (sc, m, d) == (p.scale, p.mean, p.std)), None)
    norm = preset or f"×{p.scale:g}, mean {p.mean}, std {p.std}"
    colour = "grey" if p.channels == 1 else ("B,G,R" if p.bgr else "R,G,B")
    return [f"{p.height}×{p.width} {p.layout}", face, norm, colour]


def _thumb_b64(root, rel: str, side: int = 80) -> str:
    """A small PNG of one face image as base64 ('' when it cannot be read)."""
    from .images import decode

    try:
        img = decode((Path(root) / rel).read_bytes())
        img.thumbnail((side, side))
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="PNG")
        return base64.b64encode(buf.getvalue()).decode()
    except Exception:
        return ""


def _pairs_html(pairs, root, e, n: int = 4) -> str:
    cells = []
    for p in pairs[:n]:
        imgs = "".join(f"<img class='face' alt='{e(rel)}' src='data:image/png;base64,{b}'>"
                       for rel in (p.a, p.b) if (b := _thumb_b64(root, rel)))
        cells.append(f"<figure class='pair'>{imgs}<figcaption>{e(p.identity_a)} / {e(p.identity_b)} · "
                     f"<b>{p.score:.3f}</b></figcaption></figure>")
    return "<div class='pairs'>" + "".join(cells) + "</div>"


def html_report(ev: Evaluation, *, lang: str = "en", title: str | None = None, credits: str | None = None,
                log_far: bool = True, images_root=None) -> str:
    """One self-contained HTML page (charts inlined as SVG, no script, opens offline).

    Args:
        ev: the evaluation; models are listed best first.
        lang: ``"en"`` or ``"ja"`` (text and charts).
        credits: a line crediting the data (shown in the footer).
        log_far: the ROC's FAR axis on a log scale (as on the dashboard by default).
        images_root: the faces' folder, for thumbnails of the hardest pairs and of the test-set problems (none
            when None).
    """
    from .charts import cmc_chart, det_chart, distribution_charts, fnir_chart, roc_chart, to_svg

    tx = HTML_TEXT[lang if lang in HTML_TEXT else "en"]
    e = html.escape
    ds = ev.dataset
    ranked = ev.ranked()
    best = ranked[0] if ranked else None
    parts = [f"<!doctype html><html lang='{e(lang)}'><head><meta charset='utf-8'>",
             f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{e(title or tx['title'])}</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>{e(title or tx['title'])}</h1>"]
    if ds.label_mode != "scores":
        parts.append("<p class='muted'>" + e(tx["dataset"].format(n_images=ds.n_images, n_id=ds.n_identities,
                                                                    n_gen=ds.n_genuine, n_imp=ds.n_impostor)))
        if ds.skipped:
            parts.append(" " + e(tx["skipped"].format(n=len(ds.skipped))))
        if ds.faces is not None:
            parts.append(" " + e(tx["faces"].format(n=ds.faces.n_checked, none=len(ds.faces.no_face),
                                                    several=len(ds.faces.several_faces))))
        parts.append("</p>")
    parts.append(f"<h2>{e(tx['summary'])}</h2><ul>")
    for sentence in comparison(ev.models, lang=lang, comparisons=ev.comparisons, failures=ev.failures):
        parts.append(f"<li>{e(sentence)}</li>")
    parts.append("</ul>")
    # scores table: the model column wraps, numbers never do
    parts.append(f"<h2>{e(tx['table'])}</h2><div class='wide'><table><tr><th>{e(tx['model'])}</th><th>AUC</th>"
                 "<th>AUC 95%</th><th>EER</th>")
    parts += [f"<th>TAR @ FAR {f:g}</th>" for f in ev.fars]
    parts.append(f"<th>{e(tx['pairs'])}</th></tr>")
    for r in ranked:
        cls = " class='best'" if r is best else ""
        mi = ev.intervals.get(r.name)
        cells = "".join(f"<td class='num'>{'—' if p.tar is None else f'{p.tar:.3f}'}"
                        f"{_ci_html(mi.tar_at(p.far_target) if mi else None, 3)}</td>" for p in r.operating_points)
        iv = mi.auc if mi else None
        ci = f"{iv.low:.3f}–{iv.high:.3f}" if iv else "—"
        parts.append(f"<tr{cls}><td>{e(r.name)}</td><td class='num'>{r.auc:.4f}</td><td class='num'>{ci}</td>"
                     f"<td class='num'>{r.eer.eer:.4f}{_ci_html(mi.eer if mi else None, 4)}</td>{cells}"
                     f"<td class='num'>{r.n_genuine:,} / {r.n_impostor:,}</td></tr>")
    parts.append("</table></div>")
    if ev.intervals:
        parts.append(f"<p class='muted'>{e(tx['ci_note'])}</p>")
    run_models = [(r, r.preprocessing) for r in ranked if r.preprocessing is not None]
    if run_models:
        parts.append(f"<h2>{e(tx['prep'])}</h2><div class='wide'><table><tr><th>{e(tx['model'])}</th>"
                     f"<th>{e(tx['file'])}</th><th>{e(tx['input'])}</th><th>{e(tx['face'])}</th>"
                     f"<th>{e(tx['norm'])}</th><th>{e(tx['colour'])}</th></tr>")
        for r, prep in run_models:
            cells = "".join(f"<td class='text'>{e(c)}</td>" for c in _prep_cells(prep, tx))
            parts.append(f"<tr><td>{e(r.name)}</td><td class='text'>{e(r.source)}</td>{cells}</tr>")
        parts.append("</table></div>")
    if ranked:
        how = tx["how"] + (tx["how_log"] if log_far else "")
        parts.append(f"<h2>{e(tx['curves'])}</h2><p class='muted'>{e(how)}</p>")
        parts.append("<div class='chart'>" + to_svg(roc_chart(ranked, log_far=log_far, lang=lang)) + "</div>")
        parts.append(f"<h2>{e(tx['det'])}</h2><p class='muted'>{e(tx['det_how'])}</p>")
        parts.append("<div class='chart'>" + to_svg(det_chart(ranked, lang=lang)) + "</div>")
        parts.append(f"<h2>{e(tx['dist'])}</h2><p class='muted'>{e(tx['dist_how'])}</p><div class='chart'>"
                     + to_svg(distribution_charts(ranked, lang=lang, threshold=ranked[0].eer.threshold)) + "</div>")
    tenfold = [r for r in ranked if r.accuracy_10fold is not None]
    if tenfold:
        parts.append(f"<h2>{e(tx['tenfold'])}</h2><p class='muted'>{e(tx['tenfold_how'])}</p><ul>")
        parts += [f"<li>{e(r.name)}: {e(r.accuracy_10fold.text(lang))}</li>" for r in tenfold
                  if r.accuracy_10fold is not None]
        parts.append("</ul>")
    ident = [r for r in ranked if r.identification is not None]
    if ident:
        parts.append(f"<h2>{e(tx['ident'])}</h2><p class='muted'>{e(tx['ident_how'])}</p><ul>")
        parts += [f"<li>{e(r.name)}: {e(r.identification.text(lang))}</li>" for r in ident
                  if r.identification is not None]
        parts.append("</ul><div class='chart'>" + to_svg(cmc_chart(ident, lang=lang)) + "</div>")
        parts.append("<div class='chart'>" + to_svg(fnir_chart(ident, lang=lang)) + "</div>")
    with_pairs = [r for r in ranked if r.hardest_impostors or r.people]
    if with_pairs and images_root is not None:
        parts.append(f"<h2>{e(tx['why'])}</h2>")
        for r in with_pairs:
            parts.append(f"<div class='card'><b>{e(r.name)}</b><h3>{e(tx['imp'])}</h3>"
                         + _pairs_html(r.hardest_impostors, images_root, e)
                         + f"<h3>{e(tx['gen'])}</h3>" + _pairs_html(r.hardest_genuines, images_root, e))
            hard = [p for p in hardest_people(r.people, decision_threshold(r)) if p.genuine_mean is not None][:8]
            if hard:
                parts.append(f"<h3>{e(tx['people'])}</h3><table><tr><th>{e(tx['person'])}</th>"
                             f"<th>{e(tx['mean'])}</th><th>{e(tx['closest'])}</th><th></th></tr>")
                parts += [f"<tr><td>{e(p.identity)}</td><td class='num'>{p.genuine_mean:.3f}</td>"
                          f"<td class='text'>{e(p.worst_impostor_with)}</td><td class='num'>{p.worst_impostor:.3f}</td></tr>"
                          for p in hard]
                parts.append("</table>")
            parts.append("</div>")
    if any(r.subgroups for r in ranked):
        parts.append(f"<h2>{e(tx['groups'])}</h2><p class='muted'>{e(tx['groups_how'])}</p><div class='wide'><table>"
                     f"<tr><th>{e(tx['model'])}</th><th>{e(tx['attr'])}</th><th>{e(tx['group'])}</th>"
                     f"<th>{e(tx['n_people'])}</th><th>AUC</th><th>AUC 95%</th><th>FMR</th><th>FNMR</th><th></th></tr>")
        for r in ranked:
            for g in r.subgroups:
                ci = f"{g.interval.low:.3f}–{g.interval.high:.3f}" if g.interval else "—"
                group_cells = [f"{g.auc:.4f}" if g.auc is not None else "—", ci,
                         f"{g.fmr:.5f}" if g.fmr is not None else "—", f"{g.fnmr:.4f}" if g.fnmr is not None else "—"]
                parts.append(f"<tr><td>{e(r.name)}</td><td class='text'>{e(g.attribute)}</td>"
                             f"<td class='text'>{e(g.value)}</td><td class='num'>{g.n_people}</td>"
                             + "".join(f"<td class='num'>{c}</td>" for c in group_cells)
                             + f"<td class='text'>{e(tx['small']) if g.too_small else ''}</td></tr>")
        parts.append("</table></div>")
    if ds.label_mode != "scores" and ranked:
        parts.append(f"<h2>{e(tx['health'])}</h2>")
        if not ds.suspects:
            parts.append(f"<p class='muted'>{e(tx['clean'])}</p>")
        for s in ds.suspects[:20]:
            faces = "".join(f"<img class='face' alt='{e(rel)}' src='data:image/png;base64,{b}'>"
                            for rel in s.images[:4] if images_root is not None and (b := _thumb_b64(images_root, rel)))
            parts.append(f"<div class='card'><b>{e(tx['kind'].get(s.kind, s.kind))}</b> · "
                         f"{e(' / '.join(s.identities))}<br><span class='muted'>{e(s.evidence)}</span><br>{faces}</div>")
    with_preview = [(r, r.preview, r.preprocessing) for r in ranked
                    if r.preview is not None and r.preprocessing is not None]
    if with_preview:
        from .preview import png_bytes, strip_image

        parts.append(f"<h2>{e(tx['sees'])}</h2><p class='muted'>{e(tx['sees_how'])}</p>")
        for r, pv, prep in with_preview:
            b64 = base64.b64encode(png_bytes(strip_image(pv, cell=96))).decode()
            parts.append(f"<div class='card'><b>{e(r.name)}</b> <span class='muted'>{e(prep.describe())}"
                         f"</span><br><img class='strip' alt='{e(tx['sees'])}: {e(r.name)}' "
                         f"src='data:image/png;base64,{b64}'></div>")
    parts.append(f"<h2>{e(tx['verdicts'])}</h2>")
    for r in ranked:
        v = model_verdict(r, ds, lang=lang, intervals=ev.intervals.get(r.name))
        parts.append(f"<div class='card'><div><b>{e(r.name)}</b> — <span class='grade g-{v.grade}'>{e(v.headline)}</span></div><ul>")
        parts += [f"<li>{e(s)}</li>" for s in v.sentences]
        parts += [f"<li class='muted'>{e(c)}</li>" for c in v.caveats]
        parts.append("</ul></div>")
    if ev.failures:
        parts.append(f"<h2>{e(tx['failed'])}</h2><ul>")
        parts += [f"<li><b>{e(f.name)}</b> ({e(f.source)}): {e(f.error)}</li>" for f in ev.failures]
        parts.append("</ul>")
    foot = tx["made"].format(v=__version__, d=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    if credits:
        foot += " " + tx["cred"].format(c=credits)
    parts.append(f"<p class='muted'>{e(foot)}</p></body></html>")
    return "".join(parts)
