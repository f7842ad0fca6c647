"""History: the stored runs, the leaderboard of the current test set, a training run as a curve, a run by link."""
from pathlib import Path

import pandas as pd
import streamlit as st

from faceroc_core.charts import det_chart, roc_chart, training_curve_chart
from faceroc_core.epochs import training_runs
from faceroc_core.errors import FaceROCError
from ui import history, state
from ui.i18n import lang, t
from ui.runner import load_dataset
from ui.views import plain

st.title(t("history.title"))
st.caption(t("history.how_all") if history.all_visible() else t("history.how_mine"))

history.show_opened(link_to_compare=True)  # a run opened by link is the session's result

try:
    runs = history.visible_runs()
except FaceROCError as e:
    st.error(plain(str(e)), icon=":material/error:")
    st.stop()
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
with st.expander(t("history.remove")):
    labels_of = {r["id"]: f"{r['created']} · {r['dataset']['name']} · {', '.join(m['name'] for m in r['models'])}"
                 for r in runs}
    doomed = st.selectbox(t("history.remove_pick"), list(labels_of), format_func=labels_of.get, key="rm_pick")
    if st.button(t("history.remove_button"), key="rm_run", icon=":material/delete:") and doomed:
        history.remove_run(doomed)
        st.rerun()

faces = state.faces()
board = []
if faces is not None:
    try:
        ds = load_dataset(faces)
        protocol = Path(faces.pairs).name if faces.pairs else None  # as the run's dataset names its pair list
        fp = history.content_fingerprint(faces.fingerprint(), ds, protocol)
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
    chosen = history.as_results([m for lab, m in zip(labels, board) if lab in picked],
                                [lab for lab in labels if lab in picked])
    if chosen:
        kind = st.segmented_control(t("compare.curve"), ["ROC", "DET"], default="ROC", key="board_curve",
                                    label_visibility="collapsed") or "ROC"
        chart = det_chart(chosen, lang=lang()) if kind == "DET" else roc_chart(chosen, log_far=True, lang=lang())
        st.altair_chart(chart, key="board_chart", width="stretch")
    runs_of_epochs = [g for g in training_runs(board) if len(g) >= 2]  # same folder or same name stem
    if runs_of_epochs:
        st.subheader(t("history.curve"))
        st.caption(t("history.curve_how"))
        k = 0
        if len(runs_of_epochs) > 1:
            k = st.selectbox(t("history.which_run"), range(len(runs_of_epochs)), key="training_run",
                             format_func=lambda i: f"{runs_of_epochs[i][0]['name']} … {runs_of_epochs[i][-1]['name']} "
                                                   f"({len(runs_of_epochs[i])})") or 0
        st.altair_chart(training_curve_chart(runs_of_epochs[k], lang=lang()), key="training_curve",
                        width="stretch", height=420)
