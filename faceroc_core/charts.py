"""Altair charts of results (drawn from thinned curves; metrics never come from here)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import thin_roc

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]


def roc_frame(results, *, max_points: int = 400) -> pd.DataFrame:
    frames = []
    for r in results:
        fpr, tpr, thr = thin_roc(r.roc, max_points=max_points)
        frames.append(pd.DataFrame({
            "model": r.name, "FAR": fpr, "TAR": tpr,
            "threshold": np.where(np.isfinite(thr), thr, np.nan),
            "label": f"{r.name} (AUC {r.auc:.4f})",
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["model", "FAR", "TAR", "threshold", "label"])


def roc_chart(results, *, log_far: bool = False, width: int = 640, height: int = 420, threshold: float | None = None):
    """Every model's ROC curve on one chart, with a chance diagonal and tooltips."""
    import altair as alt

    df = roc_frame(results)
    labels = [f"{r.name} (AUC {r.auc:.4f})" for r in results]
    scale = alt.Scale(domain=labels, range=[PALETTE[i % len(PALETTE)] for i in range(max(1, len(labels)))])
    color = alt.Color("label:N", title="Model", scale=scale, legend=alt.Legend(orient="bottom-right", labelLimit=400))
    if log_far:
        pos = df["FAR"][df["FAR"] > 0]
        lo = float(10 ** np.floor(np.log10(pos.min()))) if len(pos) else 1e-4
        df = df[df["FAR"] > 0]
        xs = np.logspace(np.log10(lo), 0, 60)
        x = alt.X("FAR:Q", title="False accept rate (FAR, log scale)", scale=alt.Scale(type="log", domain=[lo, 1]))
    else:
        xs = np.array([0.0, 1.0])
        x = alt.X("FAR:Q", title="False accept rate (FAR)", scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("TAR:Q", title="True accept rate (TAR)", scale=alt.Scale(domain=[0, 1]))
    lines = alt.Chart(df).mark_line(interpolate="step-after", strokeWidth=2.2).encode(
        x=x, y=y, color=color, order="FAR:Q",
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("threshold:Q", format=".4f"),
                 alt.Tooltip("TAR:Q", format=".4f"), alt.Tooltip("FAR:Q", format=".2e")],
    )
    points = alt.Chart(df).mark_point(size=30, opacity=0, filled=True).encode(
        x=x, y=y, color=alt.Color("label:N", legend=None, scale=scale),
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("threshold:Q", format=".4f"),
                 alt.Tooltip("TAR:Q", format=".4f"), alt.Tooltip("FAR:Q", format=".2e")],
    )
    diag = alt.Chart(pd.DataFrame({"FAR": xs, "TAR": xs})).mark_line(strokeDash=[5, 4], color="#9aa5b1").encode(
        x="FAR:Q", y="TAR:Q")
    layers = [diag, lines, points]
    if threshold is not None:
        from .metrics import threshold_metrics

        pts = []
        for r in results:
            m = threshold_metrics(r.roc, threshold)
            if not log_far or m.far > 0:
                pts.append({"FAR": m.far, "TAR": m.recall, "label": f"{r.name} (AUC {r.auc:.4f})", "model": r.name,
                            "threshold": threshold})
        if pts:
            layers.append(alt.Chart(pd.DataFrame(pts)).mark_point(size=110, filled=True, stroke="white").encode(
                x="FAR:Q", y="TAR:Q", color=alt.Color("label:N", legend=None, scale=scale),
                tooltip=["model:N", alt.Tooltip("threshold:Q", format=".3f"), alt.Tooltip("TAR:Q", format=".4f"),
                         alt.Tooltip("FAR:Q", format=".2e")]))
    return alt.layer(*layers).properties(width=width, height=height, title="ROC curves").interactive(bind_y=False)


def distribution_chart(results, *, width: int = 300, height: int = 160, threshold: float | None = None):
    """Genuine vs impostor score densities, one small chart per model."""
    import altair as alt

    rows = []
    for r in results:
        centers = (r.hist_edges[:-1] + r.hist_edges[1:]) / 2
        w = np.diff(r.hist_edges)
        for kind, counts in (("same person", r.genuine_hist), ("different people", r.impostor_hist)):
            total = counts.sum() or 1
            rows.append(pd.DataFrame({"model": r.name, "pairs": kind, "score": centers,
                                      "density": counts / total / w}))
    df = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["model", "pairs", "score", "density"])
    base = alt.Chart(df)
    area = base.mark_area(opacity=0.45, interpolate="step").encode(
        x=alt.X("score:Q", title="cosine similarity"), y=alt.Y("density:Q", title="density", stack=None),
        color=alt.Color("pairs:N", scale=alt.Scale(domain=["same person", "different people"],
                                                   range=["#2ca02c", "#d62728"]), title="Pairs"),
        tooltip=["pairs:N", alt.Tooltip("score:Q", format=".3f"), alt.Tooltip("density:Q", format=".2f")],
    )
    layers = [area]
    if threshold is not None:
        layers.append(base.mark_rule(color="black", strokeDash=[3, 3]).encode(x=alt.datum(float(threshold))))
    return alt.layer(*layers).properties(width=width, height=height).facet(
        facet=alt.Facet("model:N", title=None), columns=2)


def identity_chart(counts: dict[str, int], *, height: int = 220):
    import altair as alt

    df = pd.DataFrame({"identity": list(counts), "images": list(counts.values())})
    return alt.Chart(df).mark_bar(color="#1f77b4").encode(
        x=alt.X("identity:N", sort="-y", title="identity", axis=alt.Axis(labels=len(df) <= 60)),
        y=alt.Y("images:Q", title="images"), tooltip=["identity:N", "images:Q"],
    ).properties(height=height)


def to_svg(chart) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())


def to_png(chart, *, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart.to_json(), scale=scale)
