"""Plain-language verdicts a non-programmer can act on, in English and Japanese.

The rules are stated here once:

* grade by TAR at FAR 1e-3 (1 stranger in 1,000 wrongly accepted), or at the
  lowest measurable FAR when there are too few impostor pairs for 1e-3:
  excellent >= 0.95, good >= 0.80, fair >= 0.50, poor below; any model with
  AUC < 0.60 is "near chance";
* two models whose AUCs differ by less than :data:`TIE_AUC` are called tied.
"""
from __future__ import annotations

from dataclasses import dataclass

from .metrics import DECISION_FAR

GRADES = ("excellent", "good", "fair", "poor", "chance")
TIE_AUC = 0.005
LANGS = ("en", "ja")

T = {
    "en": {
        "grade.excellent": "Excellent — ready for use at strict settings",
        "grade.good": "Good — usable, with some missed matches at strict settings",
        "grade.fair": "Fair — usable only where mistakes are cheap",
        "grade.poor": "Poor — not usable for verification yet",
        "grade.chance": "Near chance — the model does not tell these people apart",
        "grade.collapsed": "Collapsed — its embeddings carry no identity",
        "decision": "Set on {dev} other people for {target}, its threshold {thr:.3f} accepts {far} of strangers and rejects {frr} of same-person pairs on {n} people it was not set on.",
        "meaning": "A score of {s:.2f} means the two photos are {word} ({p:.1%}) the same person, for people like these.",
        "word.very_likely": "very likely", "word.likely": "likely", "word.unsure": "as likely as not",
        "word.unlikely": "unlikely", "word.very_unlikely": "very unlikely",
        "collapsed": "Its embeddings have collapsed: 98% of its pair scores lie within {spread:.3f} of each other, so it finds every two photos alike (random or untrained weights, or a dead head). Its AUC and hardest pairs say nothing about who is who; it is ranked after the informative models and left out of the test-set check.",
        "auc": "Given one pair of photos of the same person and one pair of two different people, it scores the same-person pair higher {auc:.1%} of the time (AUC {auc:.4f}).",
        "tar": "If it is set so that only {one_in} strangers is wrongly accepted, it recognises {tar:.1%} of same-person pairs (TAR {tar:.3f} at FAR {far:g}, threshold {thr}).",
        "tar_none": "There are too few pairs of different people ({n_imp:,}) to measure how it does when at most 1 in 1,000 strangers may pass; test on more people to know.",
        "eer": "At its balanced setting (threshold {thr:.3f}) it wrongly accepts and wrongly rejects {eer:.1%} of pairs each (EER).",
        "tar_ci": "If it is set so that only {one_in} strangers is wrongly accepted, it recognises {tar:.1%} of same-person pairs (95% interval {lo:.1%}–{hi:.1%} over {n} people; TAR {tar:.3f} at FAR {far:g}, threshold {thr}).",
        "eer_ci": "At its balanced setting (threshold {thr:.3f}) it wrongly accepts and wrongly rejects {eer:.1%} of pairs each (EER; 95% interval {lo:.1%}–{hi:.1%}).",
        "best": "Best model on these faces: {name}.",
        "left_out": "Not compared, because they could not be evaluated: {names}. See the reasons below.",
        "ci": "On other people like these, its AUC would most likely lie between {low:.3f} and {high:.3f} (95% interval over {n} people).",
        "sure": "{name} leads {other} with {p:.0%} confidence over {n} people (AUC difference {d:.3f}, 95% interval {lo:.3f} to {hi:.3f}): the lead is clear.",
        "unsure": "{name} leads {other} with only {p:.0%} confidence over {n} people (AUC difference {d:.3f}, 95% interval {lo:.3f} to {hi:.3f}): these faces cannot reliably tell the two apart; test on more people.",
        "ahead": "{name} is ahead of {other} by {d:.3f} AUC.",
        "tied": "{name} and {other} are practically tied (AUC differs by {d:.4f}, under {tie}).",
        "caveat.small": "Caveat: only {n_id} people and {n_gen:,} same-person pairs were tested; results on a larger, more varied set may differ.",
        "caveat.skipped": "Caveat: {n} image(s) could not be used and were left out.",
        "caveat.export": "The PyTorch file was converted to ONNX and checked: the two agree to {diff:.1e}.",
        "one_in": "1 in {n:,}",
    },
    "ja": {
        "grade.excellent": "非常に良い — 厳しい設定でもそのまま使えます",
        "grade.good": "良い — 使えますが、厳しい設定では本人の見逃しが少しあります",
        "grade.fair": "まずまず — 誤りの影響が小さい用途に限って使えます",
        "grade.poor": "不十分 — まだ本人確認には使えません",
        "grade.chance": "偶然と同程度 — この人たちを見分けられていません",
        "grade.collapsed": "崩壊 — 埋め込みに人物の情報がありません",
        "decision": "別の {dev} 人で {target} に合わせたしきい値 {thr:.3f} は、設定に使っていない {n} 人で他人の {far} を受け入れ、同じ人のペアの {frr} を拒否します。",
        "meaning": "スコア {s:.2f} は、同じような人々では、2 枚が同じ人である可能性が{word}（{p:.1%}）ことを意味します。",
        "word.very_likely": "非常に高い", "word.likely": "高い", "word.unsure": "五分五分である",
        "word.unlikely": "低い", "word.very_unlikely": "非常に低い",
        "collapsed": "埋め込みが崩壊しています: ペアのスコアの 98% が {spread:.3f} の幅に収まり、どの 2 枚も似ていると判定します（ランダムまたは未学習の重み、機能していない出力層）。AUC や難しいペアは人物の区別について何も示さないため、有益なモデルの後に並べ、テストセットの点検からも外します。",
        "auc": "同じ人の写真ペアと別人の写真ペアを1組ずつ見せると、{auc:.1%} の確率で同じ人のペアに高いスコアを付けます（AUC {auc:.4f}）。",
        "tar": "他人を誤って受け入れるのを {one_in} に抑える設定では、同じ人のペアの {tar:.1%} を正しく認識します（FAR {far:g} で TAR {tar:.3f}、しきい値 {thr}）。",
        "tar_none": "別人のペアが {n_imp:,} 組しかなく、他人の誤受入を1000回に1回以下にした場合の性能は測れません。より多くの人で試してください。",
        "eer": "誤受入と誤拒否が等しくなる設定（しきい値 {thr:.3f}）では、それぞれ {eer:.1%} のペアを誤ります（EER）。",
        "tar_ci": "他人を誤って受け入れるのを {one_in} に抑える設定では、同じ人のペアの {tar:.1%} を正しく認識します（{n} 人にもとづく 95% 区間 {lo:.1%}〜{hi:.1%}、FAR {far:g} で TAR {tar:.3f}、しきい値 {thr}）。",
        "eer_ci": "誤受入と誤拒否が等しくなる設定（しきい値 {thr:.3f}）では、それぞれ {eer:.1%} のペアを誤ります（EER、95% 区間 {lo:.1%}〜{hi:.1%}）。",
        "best": "この顔データで最も良いモデル: {name}。",
        "left_out": "評価できなかったため比較に含まれていないモデル: {names}。理由は下に示します。",
        "ci": "同じような別の人々で試すと、AUC はおそらく {low:.3f} から {high:.3f} の間になります（{n} 人にもとづく 95% 区間）。",
        "sure": "{n} 人にもとづくと、{name} が {other} を上回る確からしさは {p:.0%} です（AUC の差 {d:.3f}、95% 区間 {lo:.3f}〜{hi:.3f}）。差ははっきりしています。",
        "unsure": "{n} 人にもとづくと、{name} が {other} を上回る確からしさは {p:.0%} にとどまります（AUC の差 {d:.3f}、95% 区間 {lo:.3f}〜{hi:.3f}）。この顔データでは両者を確実には区別できません。より多くの人で試してください。",
        "ahead": "{name} は {other} より AUC が {d:.3f} 高いです。",
        "tied": "{name} と {other} はほぼ同等です（AUC の差 {d:.4f} は {tie} 未満）。",
        "caveat.small": "注意: 試したのは {n_id} 人、同じ人のペア {n_gen:,} 組だけです。より大きく多様なデータでは結果が変わる可能性があります。",
        "caveat.skipped": "注意: {n} 枚の画像は使えなかったため除外しました。",
        "caveat.export": "PyTorch ファイルを ONNX に変換して確認しました。両者の差は最大 {diff:.1e} です。",
        "one_in": "{n:,} 回に 1 回",
    },
}


@dataclass(frozen=True)
class Verdict:
    model: str
    grade: str  # one of GRADES
    headline: str
    sentences: tuple[str, ...]
    caveats: tuple[str, ...]


def grade(auc: float, tar_strict: float | None, tar_fallback: float | None) -> str:
    if auc < 0.60:
        return "chance"
    tar = tar_strict if tar_strict is not None else tar_fallback
    if tar is None:
        tar = 0.0
    if tar >= 0.95:
        return "excellent"
    if tar >= 0.80:
        return "good"
    if tar >= 0.50:
        return "fair"
    return "poor"


def _fmt_thr(t) -> str:
    return "—" if t is None or t == float("inf") else f"{t:.3f}"


def model_verdict(result, dataset, *, lang: str = "en", interval=None, intervals=None) -> Verdict:
    """The verdict for one :class:`~faceroc_core.pipeline.ModelResult`; ``intervals`` (its
    :class:`~faceroc_core.uncertainty.MetricIntervals`) or ``interval`` (its AUC's alone) add how sure each number
    is."""
    if intervals is not None and interval is None:
        interval = intervals.auc
    tx = T[lang if lang in T else "en"]
    strict = result.tar(DECISION_FAR)
    measurable = [p for p in result.operating_points if p.measurable]
    fallback = min(measurable, key=lambda p: p.far_target) if measurable else None
    g = grade(result.auc, strict.tar, fallback.tar if fallback else None)
    s = [tx["auc"].format(auc=result.auc)]
    if getattr(result, "collapsed", False):
        g = "collapsed"
        s.insert(0, tx["collapsed"].format(spread=result.measurement.score_spread))
    point = strict if strict.measurable else fallback
    if point is not None:
        n = round(1 / point.far_target)
        iv = intervals.tar_at(point.far_target) if intervals is not None else None
        fields = dict(one_in=tx["one_in"].format(n=n), tar=point.tar, far=point.far_target,
                      thr=_fmt_thr(point.threshold))
        s.append(tx["tar_ci"].format(lo=iv.low, hi=iv.high, n=iv.n_people, **fields) if iv is not None
                 else tx["tar"].format(**fields))
    if not strict.measurable:
        s.append(tx["tar_none"].format(n_imp=result.n_impostor))
    eiv = intervals.eer if intervals is not None else None
    s.append(tx["eer_ci"].format(eer=result.eer.eer, thr=result.eer.threshold, lo=eiv.low, hi=eiv.high)
             if eiv is not None else tx["eer"].format(eer=result.eer.eer, thr=result.eer.threshold))
    if interval is not None and interval.low == interval.low:  # not NaN
        s.append(tx["ci"].format(low=interval.low, high=interval.high, n=interval.n_people))
    dc = getattr(result, "decision", None)
    if dc is not None:
        def pct(x, ci):
            return "—" if x is None else f"{x:.2%}" + (f" ({ci[0]:.2%}–{ci[1]:.2%})" if ci else "")

        s.append(tx["decision"].format(dev=dc.dev.people, target=dc.target.replace("far=", "FAR "), thr=dc.threshold,
                                       far=pct(dc.eval.far, dc.eval.far_ci), frr=pct(dc.eval.frr, dc.eval.frr_ci),
                                       n=dc.eval.people))
        if dc.calibration is not None:
            p = float(dc.calibration.probability(dc.threshold))
            word = ("very_likely" if p >= 0.95 else "likely" if p >= 0.7 else "unsure" if p > 0.3
                    else "unlikely" if p > 0.05 else "very_unlikely")
            s.append(tx["meaning"].format(s=dc.threshold, p=p, word=tx[f"word.{word}"]))
    caveats = []
    n_id = getattr(dataset, "n_identities", 0)
    if n_id and (n_id < 50 or result.n_genuine < 1000):
        caveats.append(tx["caveat.small"].format(n_id=n_id, n_gen=result.n_genuine))
    n_skip_images = getattr(dataset, "n_unreadable", 0) + len(result.skipped)
    if n_skip_images:
        caveats.append(tx["caveat.skipped"].format(n=n_skip_images))
    if result.export_max_abs_diff is not None:
        caveats.append(tx["caveat.export"].format(diff=result.export_max_abs_diff))
    return Verdict(model=result.name, grade=g, headline=tx[f"grade.{g}"], sentences=tuple(s), caveats=tuple(caveats))


def rank(results) -> tuple:
    """Results best first: highest AUC (ties keep the order they were given in); collapsed models
    (:attr:`~faceroc_core.results.ModelResult.collapsed`) after every informative one.

    The one ranking rule of FaceROC: tables, charts, verdicts and exports list models in this order.
    """
    return tuple(sorted(results, key=lambda r: (bool(getattr(r, "collapsed", False)), -r.auc)))


def comparison(results, *, lang: str = "en", comparisons=(), failures=()) -> list[str]:
    """Sentences that rank the models (best first); models that could not be evaluated (``failures``) are named
    right after the best one, so a "best model" is never claimed without them.

    With paired ``comparisons`` (:mod:`.uncertainty`), the lead over
    each model is called clear when the 95% interval of the AUC difference
    excludes 0, and uncertain otherwise; without them, AUCs within
    :data:`TIE_AUC` are called tied.
    """
    tx = T[lang if lang in T else "en"]
    if not results:
        return []
    ranked = rank(results)
    out = [tx["best"].format(name=ranked[0].name)]
    if failures:
        out.append(tx["left_out"].format(names=", ".join(f.name for f in failures)))
    by_pair = {(c.better, c.worse): c for c in comparisons}
    for other in ranked[1:]:
        c = by_pair.get((ranked[0].name, other.name))
        if c is not None:
            key = "sure" if c.interval.low > 0 else "unsure"
            out.append(tx[key].format(name=c.better, other=c.worse, p=c.p_better, n=c.interval.n_people, d=c.delta,
                                      lo=c.interval.low, hi=c.interval.high))
            continue
        d = ranked[0].auc - other.auc
        key = "tied" if d < TIE_AUC else "ahead"
        out.append(tx[key].format(name=ranked[0].name, other=other.name, d=d, tie=TIE_AUC))
    return out
