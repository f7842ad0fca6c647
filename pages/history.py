"""History: the stored runs, the leaderboard of the current test set, a training run as a curve, a run by link."""
import pandas as pd
import streamlit as st

from faceroc_core.charts import stored_roc_chart, training_curve_chart
from faceroc_core.errors import FaceROCError
from ui import history, state
from ui.i18n import lang, t
from ui.runner import load_dataset
from ui.views import plain

st.title(t("history.title"))
st.caption(t("history.how_all") if history.all_visible() else t("history.how_mine"))

result = st.session_state.get("result")
if result is not None and str(result[0]).startswith("run:"):  # a run opened by link is the session's result
    info = st.session_state.get("opened_info", {})
    st.info(t("history.opened_how", name=plain(str(info.get("name", ""))), when=info.get("when", ""),
              n=info.get("n", 0)), icon=":material/link:")
    st.page_link("pages/compare.py", label=t("history.open_compare"), icon=":material/show_chart:")
if st.session_state.get("link_error"):
    st.error(t("history.link_failed", err=plain(st.session_state["link_error"])), icon=":material/error:")

runs = history.visible_runs()
if not runs:
    st.info(t("history.none"))
    st.stop()

st.subheader(t("history.runs"))
st.dataframe(pd.DataFrame([{t("history.col.when"): r["created"], t("history.col.faces"): r["dataset"]["name"],
                            t("history.col.images"): r["dataset"]["n_images"],
                            t("history.col.models"): ", ".join(m["name"] for m in r["models"]),
                            t("history.col.link"): f"?run={r['id']}"} for r in runs]),
             hide_index=True, key="runs_table",
             column_config={t("history.col.link"): st.column_config.LinkColumn(display_text=r"\?run=(.{8}).*")})

faces = state.faces()
board = []
if faces is not None:
    try:
        ds = load_dataset(faces)
        fp = history.content_fingerprint(faces.fingerprint(), ds, None)
        board = history.with_details(history.leaderboard(runs, fp))
    except FaceROCError:
        board = []
st.subheader(t("history.board", name=plain(faces.display if faces else "")))
if not board:
    st.caption(t("history.board_none"))
else:
    def ci(iv) -> str:
        return f"{iv['low']:.4f}–{iv['high']:.4f}" if iv else "—"

    st.dataframe(pd.DataFrame([{t("col.model"): m["name"], "AUC": m["auc"], "AUC 95%": ci(m["auc_interval"]),
                                "TAR@FAR=0.001": m["tar"], "TAR 95%": ci(m["tar_interval"]),
                                t("history.col.epoch"): m["epoch"], t("history.col.when"): m["created"]}
                               for m in board]), hide_index=True, key="board_table")
    labels = [f"{m['name']} · {m['created'][:16]}" for m in board]
    picked = st.multiselect(t("history.pick"), labels, default=labels[: min(3, len(labels))], key="board_pick")
    curves = [(lab, m["roc"]["fpr"], m["roc"]["tpr"]) for lab, m in zip(labels, board) if lab in picked and m["roc"]]
    if curves:
        st.altair_chart(stored_roc_chart(curves, lang=lang()), key="board_roc", width="stretch", height=460)
    curve = [m for m in board if m["epoch"] is not None]
    if len(curve) >= 2:
        st.subheader(t("history.curve"))
        st.caption(t("history.curve_how"))
        st.altair_chart(training_curve_chart(curve, lang=lang()), key="training_curve", width="stretch",
                        height=420)
