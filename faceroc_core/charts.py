"""Altair charts of results, in English or Japanese (drawn from thinned curves; metrics never come from here).

The same chart objects are shown by the dashboard and written to PNG/SVG and
the HTML report, so a chart reads the same everywhere.  PNG and SVG are drawn
on the server by ``vl-convert``; Japanese labels are drawn with the IPAexGothic
font that the ``japanize-matplotlib`` package ships (IPA Font License), when
it is installed.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import os
from typing import Any

import numpy as np
import pandas as pd

from .metrics import thin_roc

_logger = logging.getLogger(__name__)

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
SAME, DIFF = "#2ca02c", "#d62728"
# browsers pick the first font they have; vl-convert falls back to the registered CJK font for Japanese glyphs
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans JP', 'IPAexGothic', sans-serif"

TEXT = {
    "en": {"roc": "ROC curves", "far": "False accept rate (FAR)", "far_log": "False accept rate (FAR, log scale)",
           "tar": "True accept rate (TAR)", "model": "Model", "threshold": "threshold", "score": "cosine similarity",
           "density": "share of pairs per unit score", "pairs": "Pairs", "same": "same person",
           "diff": "different people", "dist": "Score distributions", "images": "images", "identity": "person",
           "det": "DET curves (lower left is better)", "fmr": "False match rate (FMR, log scale)",
           "fnmr": "False non-match rate (FNMR, log scale)", "rate": "rate at the global threshold",
           "small": "too small to tell", "cmc": "CMC curves (identification, 1:N)", "rank": "rank",
           "ident_rate": "found by this rank",
           "fnir_title": "FNIR against FPIR (identification, lower left is better)",
           "fpir": "False positive identification rate (FPIR, log scale)",
           "fnir": "missed (FNIR)", "rates": "rate (log scale)", "threshold_axis": "threshold (cosine score)",
           "rate_kind": "rate", "rates_title": "FMR and FNMR against the threshold (each model's own threshold marked)",
           "epoch": "epoch", "curve_title": "AUC and TAR over the training run (95% intervals over people; the best epoch marked)"},
    "ja": {"roc": "ROC 曲線", "far": "他人受入率（FAR）", "far_log": "他人受入率（FAR、対数目盛）",
           "tar": "本人受入率（TAR）", "model": "モデル", "threshold": "しきい値", "score": "コサイン類似度",
           "density": "スコア幅あたりのペアの割合", "pairs": "ペア", "same": "同じ人", "diff": "別人",
           "dist": "スコアの分布", "images": "画像数", "identity": "人物",
           "det": "DET 曲線（左下ほど良い）", "fmr": "他人誤一致率（FMR、対数目盛）", "fnmr": "本人誤不一致率（FNMR、対数目盛）",
           "rate": "共通しきい値での誤り率", "small": "小さすぎて判断できません",
           "cmc": "CMC 曲線（1:N 識別）", "rank": "順位", "ident_rate": "この順位までに本人",
           "fnir_title": "FPIR に対する FNIR（1:N 識別、左下ほど良い）",
           "fpir": "他人誤識別率（FPIR、対数目盛）", "fnir": "見逃し（FNIR）",
           "rates": "誤り率（対数目盛）", "threshold_axis": "しきい値（コサイン類似度）", "rate_kind": "誤り率",
           "rates_title": "しきい値ごとの FMR と FNMR（縦線: 各モデルのしきい値）",
           "epoch": "エポック", "curve_title": "学習の進み具合と AUC・TAR（人に関する 95% 区間、最良のエポックに印）"},
}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _tx(lang: str) -> dict[str, str]:
    return TEXT.get(lang, TEXT["en"])


def power_label(exponent: int) -> str:
    """``10⁻³`` for -3, ``1`` for 0 (tick labels of a log axis).

    >>> power_label(-6), power_label(0)
    ('10⁻⁶', '1')
    """
    return "1" if exponent == 0 else "10" + str(exponent).translate(_SUPERSCRIPT)


def _log_axis(lo_exp: int):
    """An axis with one tick per power of ten, labelled 10⁻⁶ … 1."""
    import altair as alt

    exps = list(range(lo_exp, 1))
    expr = " : ".join(f"abs(datum.value - {10.0 ** e!r}) < {10.0 ** e * 1e-3!r} ? '{power_label(e)}'" for e in exps)
    return alt.Axis(values=[10.0 ** e for e in exps], labelExpr=expr + " : ''", grid=True)


def roc_frame(results, *, max_points: int = 400) -> pd.DataFrame:
    """The thinned curves of ``results`` as one frame: model, FAR, TAR, threshold, label."""
    frames = []
    for r in results:
        fpr, tpr, thr = thin_roc(r.roc, max_points=max_points)
        frames.append(pd.DataFrame({
            "model": r.name, "FAR": fpr, "TAR": tpr,
            "threshold": np.where(np.isfinite(thr), thr, np.nan),
            "label": _label(r),
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["model", "FAR", "TAR", "threshold", "label"])


def _palette(labels):
    """One colour per label, in FaceROC's order (the same model keeps its colour across a page's charts)."""
    import altair as alt

    return alt.Scale(domain=list(labels), range=[PALETTE[i % len(PALETTE)] for i in range(max(1, len(labels)))])


def _legend():
    """The legend under a chart, one model per line, names never cut."""
    import altair as alt

    return alt.Legend(orient="bottom", direction="vertical", labelLimit=500)


def _label(r) -> str:
    return f"{r.name} (AUC {r.auc:.4f})"


def roc_chart(results, *, log_far: bool = True, lang: str = "en", width: int = 640, height: int = 420,
              threshold: float | None = None):
    """Every model's ROC curve on one chart, with a chance line, tooltips and the legend beside the plot.

    Args:
        results: the models' results (``ModelResult``), drawn in this order (pass them best first).
        log_far: FAR across on a log axis (10⁻⁶ … 1), where a face model's usable region is; linear otherwise.
        lang: ``"en"`` or ``"ja"`` for titles, axes and legend.
        threshold: when given, each model's operating point at this score threshold is marked.
    """
    import altair as alt

    tx = _tx(lang)
    df = roc_frame(results)
    labels = [_label(r) for r in results]
    scale = _palette(labels)
    color = alt.Color("label:N", title=tx["model"], scale=scale,
                      legend=_legend())
    tip = [alt.Tooltip("model:N", title=tx["model"]), alt.Tooltip("threshold:Q", title=tx["threshold"], format=".4f"),
           alt.Tooltip("TAR:Q", format=".4f"), alt.Tooltip("FAR:Q", format=".2e")]
    if log_far:
        pos = df["FAR"][df["FAR"] > 0]
        lo_exp = int(np.floor(np.log10(pos.min()))) if len(pos) else -4
        lo = 10.0 ** lo_exp
        df = df[df["FAR"] > 0]
        xs = np.logspace(lo_exp, 0, 60)
        x = alt.X("FAR:Q", title=tx["far_log"], scale=alt.Scale(type="log", domain=[lo, 1]), axis=_log_axis(lo_exp))
    else:
        xs = np.array([0.0, 1.0])
        x = alt.X("FAR:Q", title=tx["far"], scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".1f"))
    y = alt.Y("TAR:Q", title=tx["tar"], scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".1f"))
    lines = alt.Chart(df).mark_line(interpolate="step-after", strokeWidth=2.2).encode(
        x=x, y=y, color=color, order="FAR:Q", tooltip=tip)
    points = alt.Chart(df).mark_point(size=30, opacity=0, filled=True).encode(
        x=x, y=y, color=alt.Color("label:N", legend=None, scale=scale), tooltip=tip)
    diag = alt.Chart(pd.DataFrame({"FAR": xs, "TAR": xs})).mark_line(strokeDash=[5, 4], color="#9aa5b1").encode(
        x=x, y=y)
    layers = [diag, lines, points] + _threshold_marks(results, threshold, x, y, scale, tip,
                                                      keep=lambda m: not log_far or m.far > 0)
    return (alt.layer(*layers).properties(width=width, height=height, title=tx["roc"])
            .configure(font=FONT).interactive(bind_y=False))


def _threshold_marks(results, threshold, x, y, scale, tip, *, keep) -> list:
    """A layer with each model's operating point at ``threshold`` (those ``keep(metrics)`` allows), or none."""
    import altair as alt

    from .metrics import threshold_metrics

    if threshold is None:
        return []
    pts = []
    for r in results:
        m = threshold_metrics(r.roc, threshold)
        if keep(m):
            pts.append({"FAR": m.far, "TAR": m.recall, "FNMR": m.frr, "label": _label(r), "model": r.name,
                        "threshold": threshold})
    if not pts:
        return []
    return [alt.Chart(pd.DataFrame(pts)).mark_point(size=110, filled=True, stroke="white").encode(
        x=x, y=y, color=alt.Color("label:N", legend=None, scale=scale), tooltip=tip)]


def det_chart(results, *, lang: str = "en", width: int = 640, height: int = 420, threshold: float | None = None):
    """Every model's DET curve: false non-match rate (1 - TAR) against false match rate (FAR), both on log axes
    (ISO/IEC 19795-1; NIST FRTE reports draw it so).  Points with a zero rate cannot sit on a log axis and are
    left out of the drawing only."""
    import altair as alt

    tx = _tx(lang)
    df = roc_frame(results)
    df["FNMR"] = 1.0 - df["TAR"]
    df = df[(df["FAR"] > 0) & (df["FNMR"] > 0)]
    labels = [_label(r) for r in results]
    scale = _palette(labels)
    lo_x = int(np.floor(np.log10(df["FAR"].min()))) if len(df) else -4
    lo_y = int(np.floor(np.log10(df["FNMR"].min()))) if len(df) else -4
    x = alt.X("FAR:Q", title=tx["fmr"], scale=alt.Scale(type="log", domain=[10.0 ** lo_x, 1]), axis=_log_axis(lo_x))
    y = alt.Y("FNMR:Q", title=tx["fnmr"], scale=alt.Scale(type="log", domain=[10.0 ** lo_y, 1]), axis=_log_axis(lo_y))
    tip = [alt.Tooltip("model:N", title=tx["model"]), alt.Tooltip("threshold:Q", title=tx["threshold"], format=".4f"),
           alt.Tooltip("FAR:Q", title="FMR", format=".2e"), alt.Tooltip("FNMR:Q", format=".2e")]
    lines = alt.Chart(df).mark_line(interpolate="step-after", strokeWidth=2.2).encode(
        x=x, y=y, order="FAR:Q", tooltip=tip,
        color=alt.Color("label:N", title=tx["model"], scale=scale,
                        legend=_legend()))
    layers = [lines] + _threshold_marks(results, threshold, x, y, scale, tip, keep=lambda m: m.far > 0 and m.frr > 0)
    return (alt.layer(*layers).properties(width=width, height=height, title=tx["det"])
            .configure(font=FONT).interactive(bind_y=False))


def cmc_chart(results, *, lang: str = "en", width: int = 640, height: int = 360):
    """Every model's CMC curve (rank 1..20) for the models with an identification (:mod:`.identify`)."""
    import altair as alt

    tx = _tx(lang)
    rows = [{"model": r.name, "label": f"{r.name} (rank-1 {100 * r.identification.rank1:.1f}%)", "rank": k + 1,
             "rate": v} for r in results if r.identification is not None for k, v in enumerate(r.identification.cmc)]
    df = pd.DataFrame(rows, columns=["model", "label", "rank", "rate"])
    labels = list(dict.fromkeys(df["label"]))
    scale = _palette(labels)
    lines = alt.Chart(df).mark_line(point=True, strokeWidth=2.2).encode(
        x=alt.X("rank:Q", title=tx["rank"], scale=alt.Scale(domain=[1, 20])),
        y=alt.Y("rate:Q", title=tx["ident_rate"], scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("label:N", title=tx["model"], scale=scale,
                        legend=_legend()),
        tooltip=[alt.Tooltip("model:N", title=tx["model"]), "rank:Q", alt.Tooltip("rate:Q", format=".3f")])
    # one layer, as the ROC: the dashboard lays a layered chart out at its own height
    return alt.layer(lines).properties(width=width, height=height, title=tx["cmc"]).configure(font=FONT)


def fnir_chart(results, *, lang: str = "en", width: int = 640, height: int = 360, max_points: int = 400):
    """Every model's FNIR against FPIR (log axis; a zero FPIR cannot sit on it and is left out of the drawing)."""
    import altair as alt

    tx = _tx(lang)
    frames = []
    for r in results:
        idn = r.identification
        if idn is None:
            continue
        keep = idn.curve_fpir > 0
        f, n, t = idn.curve_fpir[keep], idn.curve_fnir[keep], idn.curve_threshold[keep]
        if f.size > max_points:
            pick = np.unique(np.linspace(0, f.size - 1, max_points).astype(int))
            f, n, t = f[pick], n[pick], t[pick]
        frames.append(pd.DataFrame({"model": r.name, "label": r.name, "FPIR": f, "FNIR": n, "threshold": t}))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["model", "label", "FPIR", "FNIR",
                                                                                 "threshold"])
    lo = int(np.floor(np.log10(df["FPIR"].min()))) if len(df) else -3
    labels = list(dict.fromkeys(df["label"]))
    scale = _palette(labels)
    lines = alt.Chart(df).mark_line(interpolate="step-after", strokeWidth=2.2).encode(
        x=alt.X("FPIR:Q", title=tx["fpir"], scale=alt.Scale(type="log", domain=[10.0 ** lo, 1]), axis=_log_axis(lo)),
        y=alt.Y("FNIR:Q", title=tx["fnir"], scale=alt.Scale(domain=[0, 1])), order="FPIR:Q",
        color=alt.Color("label:N", title=tx["model"], scale=scale,
                        legend=_legend()),
        tooltip=[alt.Tooltip("model:N", title=tx["model"]), alt.Tooltip("threshold:Q", format=".4f"),
                 alt.Tooltip("FPIR:Q", format=".3g"), alt.Tooltip("FNIR:Q", format=".3f")])
    return alt.layer(lines).properties(width=width, height=height, title=tx["fnir_title"]).configure(font=FONT)


def distribution_frame(r) -> pd.DataFrame:
    """One model's genuine and impostor score histograms as densities (each kind integrates to 1)."""
    centers = (r.hist_edges[:-1] + r.hist_edges[1:]) / 2
    w = np.diff(r.hist_edges)
    rows = []
    for kind, counts in (("same", r.genuine_hist), ("diff", r.impostor_hist)):
        total = counts.sum() or 1
        rows.append(pd.DataFrame({"model": r.name, "pairs": kind, "score": centers, "density": counts / total / w}))
    return pd.concat(rows, ignore_index=True)


def distribution_chart(r, *, threshold: float | None = None, lang: str = "en", width: int | str = 640,
                       height: int = 150, title: bool = True, legend: bool = True):
    """One model's same-person and different-people score densities on its own y-scale, with the threshold.

    Densities are normalised per kind, so a spike of 100,000 impostor pairs
    does not flatten 300 genuine ones.
    """
    import altair as alt

    tx = _tx(lang)
    df = distribution_frame(r)
    df["pairs"] = df["pairs"].map({"same": tx["same"], "diff": tx["diff"]})
    base = alt.Chart(df)
    area = base.mark_area(opacity=0.45, interpolate="step").encode(
        x=alt.X("score:Q", title=tx["score"]), y=alt.Y("density:Q", title=tx["density"], stack=None,
                                                       axis=alt.Axis(labels=False, ticks=False)),
        color=alt.Color("pairs:N", scale=alt.Scale(domain=[tx["same"], tx["diff"]], range=[SAME, DIFF]),
                        title=tx["pairs"], legend=alt.Legend(orient="top") if legend else None),
        tooltip=[alt.Tooltip("pairs:N", title=tx["pairs"]), alt.Tooltip("score:Q", format=".3f"),
                 alt.Tooltip("density:Q", format=".2f")],
    )
    layers = [area]
    if threshold is not None:
        layers.append(base.mark_rule(color="black", strokeDash=[3, 3]).encode(x=alt.datum(float(threshold))))
    props: dict[str, Any] = {"width": width, "height": height}
    if title:
        props["title"] = alt.TitleParams(_label(r), anchor="start", fontSize=13)
    return alt.layer(*layers).properties(**props)


def distribution_charts(results, *, threshold: float | None = None, lang: str = "en", width: int = 640,
                        title: bool = True):
    """Every model's distribution panel, one under another in the given order, each on its own y-scale."""
    import altair as alt

    panels = [distribution_chart(r, threshold=threshold, lang=lang, width=width, legend=i == 0)
              for i, r in enumerate(results)]
    chart = alt.vconcat(*panels, title=_tx(lang)["dist"]) if title else alt.vconcat(*panels)
    return chart.resolve_scale(y="independent").configure(font=FONT)


def groups_chart(results, attribute: str, *, lang: str = "en", width: int = 640):
    """False non-match and false match rates per group of ``attribute`` for every model, at each model's one
    global threshold (bars; groups too small to tell are drawn faded and say so in the tooltip)."""
    import altair as alt

    tx = _tx(lang)
    rows = []
    for r in results:
        for g in r.subgroups:
            if g.attribute != attribute:
                continue
            for rate, v in (("FNMR", g.fnmr), ("FMR", g.fmr)):
                if v is not None:
                    rows.append({"model": r.name, "group": g.value, "rate": rate, "value": v,
                                 "small": tx["small"] if g.too_small else "", "people": g.n_people})
    df = pd.DataFrame(rows, columns=["model", "group", "rate", "value", "small", "people"])
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("value:Q", title=tx["rate"]), y=alt.Y("group:N", title=attribute),
        yOffset="model:N", color=alt.Color("model:N", title=tx["model"]),
        opacity=alt.condition(alt.datum.small == "", alt.value(1.0), alt.value(0.35)),
        row=alt.Row("rate:N", title=None),
        tooltip=["model:N", "group:N", "rate:N", alt.Tooltip("value:Q", format=".4f"), "people:Q", "small:N"],
    ).properties(width=width).resolve_scale(x="independent").configure(font=FONT)


def identity_chart(counts: dict[str, int], *, height: int = 220, lang: str = "en"):
    import altair as alt

    tx = _tx(lang)
    df = pd.DataFrame({"identity": list(counts), "images": list(counts.values())})
    return alt.Chart(df).mark_bar(color="#1f77b4").encode(
        x=alt.X("identity:N", sort="-y", title=tx["identity"], axis=alt.Axis(labels=len(df) <= 60)),
        y=alt.Y("images:Q", title=tx["images"]), tooltip=["identity:N", "images:Q"],
    ).properties(height=height)


@functools.cache
def _register_fonts() -> str | None:
    """Make the bundled CJK font known to vl-convert once; the folder, or None when it is not installed."""
    import vl_convert as vlc

    spec = importlib.util.find_spec("japanize_matplotlib")  # located, not imported (that would load matplotlib)
    if spec is None or not spec.submodule_search_locations:
        _logger.warning("japanize-matplotlib is not installed: Japanese text in PNG/SVG exports may show as boxes")
        return None
    folder = os.path.join(spec.submodule_search_locations[0], "fonts")
    vlc.register_font_directory(folder)
    return folder


def to_svg(chart) -> str:
    import vl_convert as vlc

    _register_fonts()
    return vlc.vegalite_to_svg(chart.to_json())


def to_png(chart, *, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    _register_fonts()
    return vlc.vegalite_to_png(chart.to_json(), scale=scale)


def rates_chart(results, thresholds: dict | None = None, *, lang: str = "en", width: int = 640, height: int = 360,
                max_points: int = 400):
    """Every model's false match rate (FMR) and false non-match rate (FNMR) against the threshold (log y: the
    rates a deployment lives at), with each model's own threshold marked (``thresholds``: name -> score)."""
    import altair as alt

    tx = _tx(lang)
    frames = []
    for r in results:
        fpr, tpr, th = thin_roc(r.roc, max_points=max_points)
        keep = np.isfinite(th)  # "accept nothing" (+inf) has no place on a threshold axis
        t, fmr, fnmr = th[keep], fpr[keep], 1.0 - tpr[keep]
        for kind, v in (("FMR", fmr), ("FNMR", fnmr)):
            frames.append(pd.DataFrame({"model": r.name, "rate": kind, "threshold": t, "value": v}))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["model", "rate", "threshold",
                                                                                 "value"])
    df = df[df["value"] > 0]
    names = [r.name for r in results]
    scale = _palette(names)
    lo = int(np.floor(np.log10(df["value"].min()))) if len(df) else -4
    y = alt.Y("value:Q", title=tx["rates"], scale=alt.Scale(type="log", domain=[10.0 ** lo, 1]), axis=_log_axis(lo))
    x = alt.X("threshold:Q", title=tx["threshold_axis"])
    lines = alt.Chart(df).mark_line(strokeWidth=2).encode(
        x=x, y=y, color=alt.Color("model:N", title=tx["model"], scale=scale,
                                  legend=_legend()),
        strokeDash=alt.StrokeDash("rate:N", title=tx["rate_kind"]),
        tooltip=["model:N", "rate:N", alt.Tooltip("threshold:Q", format=".4f"), alt.Tooltip("value:Q", format=".2e")])
    layers = [lines]
    if thresholds:
        marks = pd.DataFrame([{"model": n, "threshold": t} for n, t in thresholds.items()
                              if t is not None and np.isfinite(t)])
        if len(marks):
            layers.append(alt.Chart(marks).mark_rule(strokeWidth=1.5, opacity=0.7).encode(
                x="threshold:Q", color=alt.Color("model:N", scale=scale, legend=None),
                tooltip=["model:N", alt.Tooltip("threshold:Q", format=".4f")]))
    return alt.layer(*layers).properties(width=width, height=height, title=tx["rates_title"]).configure(font=FONT)


def training_curve_chart(rows, *, lang: str = "en", width: int = 640, height: int = 360, far: float = 1e-3):
    """AUC and TAR at ``far`` against epoch for checkpoints with an epoch, with their intervals over people and the
    best epoch marked: "did it overfit, and where should I stop?".  ``rows``: dicts with ``name``, ``epoch``,
    ``auc``, and where known ``auc_interval`` / ``tar`` / ``tar_interval`` (``{"low", "high"}`` as the JSON)."""
    import altair as alt

    tx = _tx(lang)
    recs = []
    for r in rows:
        for metric, value, iv in (("AUC", r.get("auc"), r.get("auc_interval")),
                                  (f"TAR @ FAR {far:g}", r.get("tar"), r.get("tar_interval"))):
            if value is None:
                continue
            low = iv.get("low") if iv else None
            high = iv.get("high") if iv else None
            recs.append({"model": r["name"], "epoch": int(r["epoch"]), "metric": metric, "value": float(value),
                         "low": float(low) if low is not None else float(value),
                         "high": float(high) if high is not None else float(value)})
    df = pd.DataFrame(recs, columns=["model", "epoch", "metric", "value", "low", "high"]).sort_values("epoch")
    panels = []
    for metric in dict.fromkeys(df["metric"]):
        d = df[df["metric"] == metric]
        best = d.loc[[d["value"].idxmax()]]
        tip = ["model:N", "epoch:Q", alt.Tooltip("value:Q", title=metric, format=".4f"),
               alt.Tooltip("low:Q", title="95% low", format=".4f"), alt.Tooltip("high:Q", title="95% high", format=".4f")]
        base = alt.Chart(d).encode(x=alt.X("epoch:Q", title=tx["epoch"]))
        band = base.mark_errorbar(ticks=True, color="#7f7f7f").encode(
            y=alt.Y("low:Q", title=metric, scale=alt.Scale(zero=False)), y2="high:Q")
        line = base.mark_line(point=True, strokeWidth=2.2).encode(y=alt.Y("value:Q", title=metric), tooltip=tip)
        mark = alt.Chart(best).mark_point(size=220, shape="diamond", filled=True, color="#d62728").encode(
            x="epoch:Q", y="value:Q", tooltip=tip)
        panels.append(alt.layer(band, line, mark).properties(width=width // 2 - 20, height=height))
    return alt.hconcat(*panels).properties(title=tx["curve_title"]).configure(font=FONT)
