"""History: the stored runs, the leaderboard of the current test set, a training run as a curve, a run by link."""
import pandas as pd
import streamlit as st

from faceroc_core.charts import stored_roc_chart, training_curve_chart
from faceroc_core.errors import FaceROCError
from faceroc_core.store import Store
from ui import history, state
from ui.i18n import lang, t
from ui.runner import load_dataset
from ui.views import plain

st.title(t("history.title"))
st.caption(t("history.how_all") if history.all_visible() else t("history.how_mine"))

opened = st.session_state.get("open_run")
if opened:  # a link (?run=ID): the run read-only, whoever made it
    try:
        with Store() as store:
            run = store.get(opened)
    except FaceROCError as e:
        st.error(plain(str(e)), icon=":material/error:")
        run = None
    if run is not None:
        st.subheader(t("history.opened", name=plain(str(run.get("dataset", {}).get("root", "")) or opened[:8])))
        rows = [{t("col.model"): m["name"], "AUC": m["auc"], "EER": m["eer"],
                 "TAR@FAR=0.001": m["tar_at_far"].get("0.001")} for m in run.get("models", [])]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="opened_table")
        curves = [(m["name"], m["roc"]["fpr"], m["roc"]["tpr"]) for m in run.get("models", []) if m.get("roc")]
        if curves:
            st.altair_chart(stored_roc_chart(curves, lang=lang()), key="opened_roc", width="stretch", height=520)
        st.download_button(t("report.json"), __import__("json").dumps(run, indent=1), "faceroc_run.json",
                           "application/json", key="opened_json", on_click="ignore")

runs = history.visible_runs()
if not runs:
    st.info(t("history.none"))
    st.stop()

st.subheader(t("history.runs"))
st.dataframe(pd.DataFrame([{t("history.col.when"): r["created"], t("history.col.faces"): r["dataset"]["name"],
                            t("history.col.images"): r["dataset"]["n_images"],
                            t("history.col.models"): ", ".join(m["name"] for m in r["models"]),
                            t("history.col.link"): f"?run={r['id']}"} for r in runs]),
             hide_index=True, key="runs_table")

faces = state.faces()
board = []
if faces is not None:
    try:
        ds = load_dataset(faces)
        fp = history.content_fingerprint(faces.fingerprint(), ds, None)
        board = history.leaderboard(runs, fp)
    except FaceROCError:
        board = []
st.subheader(t("history.board", name=plain(faces.display if faces else "")))
if not board:
    st.caption(t("history.board_none"))
else:
    st.dataframe(pd.DataFrame([{t("col.model"): m["name"], "AUC": m["auc"], "TAR@FAR=0.001": m["tar_at_far"].get("0.001"),
                                t("history.col.epoch"): m["epoch"], t("history.col.when"): m["created"]}
                               for m in board]), hide_index=True, key="board_table")
    curve = [m for m in board if m["epoch"] is not None]
    if len(curve) >= 2:
        st.subheader(t("history.curve"))
        st.caption(t("history.curve_how"))
        st.altair_chart(training_curve_chart(curve, lang=lang()), key="training_curve", width="stretch",
                        height=420)
