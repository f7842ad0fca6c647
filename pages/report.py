"""Report: plain-language verdicts and every download.

The page itself only writes sentences and a table, so it opens at once; each
file is made when its button is pressed (Streamlit runs the callable then) and
kept for the next press.
"""
from functools import partial

import streamlit as st

from faceroc_core.charts import det_chart, roc_chart, to_png, to_svg
from faceroc_core.report import html_report, metrics_csv, roc_points_csv, to_json
from faceroc_core.verdict import comparison, model_verdict
from ui import history
from ui.i18n import lang, t
from ui.views import halt, plain, show_failures, show_field_protocols, show_metrics_table

CREDITS_DEMO = "ORL face database, Olivetti Research Laboratory (Samaria & Harter 1994)."

st.title(t("report.title"))
history.show_opened()  # a stored run, read-only, when one was opened by link
result = st.session_state.get("result")
if result is None:
    st.info(t("report.none"))
    halt()
key, ev = result


@st.cache_data(show_spinner=False, max_entries=32)
def export(kind: str, key: str, lang: str, log_far: bool, demo: bool, _ev, _root: str | None = None) -> bytes:
    """One download's bytes for this result, language and axis (made on the first press, then reused)."""
    if kind == "html":
        return html_report(_ev, lang=lang, credits=CREDITS_DEMO if demo else None, log_far=log_far,
                           images_root=_root).encode("utf-8")
    if kind == "csv":
        return metrics_csv(_ev).encode()
    if kind == "json":
        return to_json(_ev, indent=1).encode()
    if kind == "roc":
        return roc_points_csv(_ev).encode()
    if kind == "thresholds":
        import json

        from faceroc_core.jsonparts import threshold_file

        return json.dumps(threshold_file(_ev), indent=2).encode()
    if kind.startswith("det"):
        chart = det_chart(_ev.ranked(), lang=lang)
    else:
        chart = roc_chart(_ev.ranked(), log_far=log_far, lang=lang)
    return to_png(chart) if kind.endswith("png") else to_svg(chart).encode()


sentences = comparison(ev.models, lang=lang(), comparisons=ev.comparisons, failures=ev.failures)
for i, sentence in enumerate(sentences):
    st.markdown(f"### {plain(sentence)}" if i == 0 else plain(sentence))
if ev.uncertainty_note:
    st.caption(ev.uncertainty_note)
show_failures(ev)
show_metrics_table(ev, key="report_table")
show_field_protocols(ev.ranked(), key="report_field")

for r in ev.ranked():
    v = model_verdict(r, ev.dataset, lang=lang(), intervals=ev.intervals.get(r.name))
    box = {"excellent": st.success, "good": st.success, "fair": st.warning}.get(v.grade, st.error)
    with st.container(border=True):
        st.markdown(f"#### {plain(r.name)}")
        box(v.headline)
        for s in v.sentences:
            st.markdown(f"- {plain(s)}")
        if v.caveats:
            st.caption(" ".join(v.caveats))

st.subheader(t("report.downloads"))
st.caption(t("report.downloads_how"))
args = (key, lang(), bool(st.session_state.get("log_far", True)), bool(st.session_state.get("is_demo")), ev,
        st.session_state.get("result_root"))
files = [("html", "faceroc_report.html", "text/html"), ("csv", "faceroc_metrics.csv", "text/csv"),
         ("json", "faceroc_metrics.json", "application/json"), ("roc", "faceroc_roc_points.csv", "text/csv"),
         ("png", "faceroc_roc.png", "image/png"), ("svg", "faceroc_roc.svg", "image/svg+xml"),
         ("det_png", "faceroc_det.png", "image/png"), ("det_svg", "faceroc_det.svg", "image/svg+xml")]
if any(r.decision is not None for r in ev.models):  # what a deployment needs (faceroc verify reads it)
    files.append(("thresholds", "faceroc_thresholds.json", "application/json"))
for i, (kind, name, mime) in enumerate(files):
    if i % 3 == 0:
        c = st.columns(3)
    c[i % 3].download_button(t(f"report.{kind}"), partial(export, kind, *args), name, mime, key=f"dl_{kind}",
                             type="primary" if kind == "html" else "secondary", on_click="ignore")
