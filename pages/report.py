"""Report: plain-language verdicts and every download."""
import streamlit as st

from faceroc_core.charts import roc_chart, to_png, to_svg
from faceroc_core.report import html_report, metrics_csv, roc_points_csv, to_json
from faceroc_core.verdict import comparison, model_verdict
from ui.i18n import lang, t
from ui.views import plain, show_failures, show_metrics_table

CREDITS_DEMO = "ORL face database, Olivetti Research Laboratory (Samaria & Harter 1994)."

st.title(t("report.title"))
result = st.session_state.get("result")
if result is None:
    st.info(t("report.none"))
    st.stop()
key, ev = result


@st.cache_data(show_spinner=False, max_entries=16)
def exports(key: str, lang: str, log_far: bool, demo: bool, _ev):
    chart = roc_chart(_ev.models, log_far=log_far)
    return {
        "html": html_report(_ev, lang=lang, credits=CREDITS_DEMO if demo else None, log_far=log_far).encode("utf-8"),
        "csv": metrics_csv(_ev).encode(),
        "json": to_json(_ev, indent=1).encode(),
        "roc": roc_points_csv(_ev).encode(),
        "png": to_png(chart),
        "svg": to_svg(chart).encode(),
    }


sentences = comparison(ev.models, lang=lang(), comparisons=ev.comparisons, failures=ev.failures)
for i, sentence in enumerate(sentences):
    st.markdown(f"### {plain(sentence)}" if i == 0 else plain(sentence))
if ev.uncertainty_note:
    st.caption(ev.uncertainty_note)
show_failures(ev)
show_metrics_table(ev, key="report_table")

for r in sorted(ev.models, key=lambda r: r.auc, reverse=True):
    v = model_verdict(r, ev.dataset, lang=lang(), interval=ev.auc_intervals.get(r.name))
    box = {"excellent": st.success, "good": st.success, "fair": st.warning}.get(v.grade, st.error)
    with st.container(border=True):
        st.markdown(f"#### {plain(r.name)}")
        box(v.headline)
        for s in v.sentences:
            st.markdown(f"- {plain(s)}")
        if v.caveats:
            st.caption(" ".join(v.caveats))

st.subheader(t("report.downloads"))
files = exports(key, lang(), bool(st.session_state.get("log_far", False)), bool(st.session_state.get("is_demo")), ev)
c = st.columns(3)
c[0].download_button(t("report.html"), files["html"], "faceroc_report.html", "text/html", key="dl_html", type="primary")
c[1].download_button(t("report.csv"), files["csv"], "faceroc_metrics.csv", "text/csv", key="dl_csv")
c[2].download_button(t("report.json"), files["json"], "faceroc_metrics.json", "application/json", key="dl_json")
c = st.columns(3)
c[0].download_button(t("report.roc"), files["roc"], "faceroc_roc_points.csv", "text/csv", key="dl_roc")
c[1].download_button(t("report.png"), files["png"], "faceroc_roc.png", "image/png", key="dl_png")
c[2].download_button(t("report.svg"), files["svg"], "faceroc_roc.svg", "image/svg+xml", key="dl_svg")
