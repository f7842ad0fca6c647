"""Compare: run every model on the faces, ROC chart, table, threshold explorer, score distributions."""
import streamlit as st

from faceroc_core.charts import det_chart, distribution_charts, roc_chart
from faceroc_core.errors import FaceROCError
from ui import history, state
from ui.i18n import lang, t
from ui.runner import Job, demo_run_id, load_demo_result, run_job, run_queue
from ui.views import (
    confusion_frame,
    halt,
    people_frame,
    plain,
    show_decision,
    show_disagreement,
    show_failures,
    show_field_protocols,
    show_groups,
    show_left_out,
    show_metrics_table,
    show_pairs,
    show_suspects,
)

st.title(t("compare.title"))
st.caption(t("app.tagline"))


def _cancel():
    st.session_state["cancelled"] = True


def _run() -> None:
    """Run the job with its progress bars in one slot that is cleared when it is done."""
    slot = st.empty()
    queue = run_queue()
    with slot.container(), queue.ticket() as ticket:  # leaving the page or Cancel gives the place back
        st.button(t("compare.cancel"), key="cancel_run", on_click=_cancel)
        if not ticket.admitted(timeout=0):
            note = st.empty()
            while not ticket.admitted(timeout=0.5):  # each note is a point where Cancel or a closed tab stops it
                note.info(t("compare.queued", place=ticket.place, n=queue.slots), icon=":material/hourglass_top:")
            note.empty()
        try:
            ev = run_job(job)
        except FaceROCError as e:
            inside = e.path is not None and e.path.startswith(faces.root)  # the upload's name, never the folder
            shown = e.line(faces.display + e.path[len(faces.root):]) if inside else str(e)
            st.error(plain(state.public(shown)), icon=":material/error:")
            halt()
        except Exception as e:  # never a traceback on the page
            st.error(t("err.unexpected", what=t("compare.title"), err=plain(state.public(f"{type(e).__name__}: {e}"))),
                     icon=":material/error:")
            halt()
    slot.empty()
    st.session_state["result"] = (key, ev)
    st.session_state["result_root"] = faces.root  # where the Report's thumbnails come from
    st.session_state.pop("result_stored", None)
    st.session_state.pop("result_run", None)  # until it is stored
    st.session_state.pop("threshold", None)  # a new comparison starts at its best model's EER threshold
    if ev.models:  # every run remembered (History); the files themselves never are
        history.save_run(job, ev)


result = st.session_state.get("result")
opened = history.show_opened()  # a stored run, by link or after a reload
if opened:
    st.button(t("history.close"), key="close_run", on_click=history.close_linked)
    faces = None
    key = result[0]
else:
    usable = [state.resolved(m) for m in state.models() if not m.error]
    faces = state.faces()
    if not usable or faces is None:
        st.warning(t("compare.need"))
        halt()

    job = Job(tuple(usable), faces, refused=tuple(m for m in state.models() if m.error),
              groups=st.session_state.get("groups_csv"), gallery=st.session_state.get("gallery"),
              dev_fraction=0.5 if st.session_state.get("dev_split") else None)
    key = job.key()
    if result is None and st.session_state.get("is_demo") and st.session_state.get("demo_models"):
        stored = load_demo_result(key)  # computed once at set-up: the first screen needs no run
        if stored is not None:
            result = st.session_state["result"] = (key, stored)
            st.session_state["result_stored"] = True
            st.session_state.pop("result_run", None)
            demo_run = demo_run_id(key)  # the set-up step stored it too: its link
            if demo_run:
                st.session_state["result_run"] = demo_run
                history.handled().add(demo_run)
                if demo_run not in history.mine():
                    history.mine().append(demo_run)
            st.session_state["result_root"] = faces.root
    clicked = st.button(t("compare.run"), type="primary", key="run") or bool(st.session_state.pop("run_now", False))


    if clicked:
        st.session_state.pop("cancelled", None)
    if st.session_state.get("cancelled"):
        # a click on Cancel stopped the run at its next step; its worker processes were closed on the way out
        st.info(t("compare.cancelled"), icon=":material/cancel:")
        if result is None:
            halt()
    elif clicked or (result is None and st.session_state.get("is_demo")):
        _run()  # new data waits for the Run button; only the demo starts by itself
        result = st.session_state["result"]
    elif result is None:
        st.info(t("compare.ready", n=len(usable), faces=plain(faces.display)), icon=":material/play_arrow:")
        halt()

rkey, ev = result
if rkey != key:
    st.warning(t("compare.stale"), icon=":material/sync_problem:")
show_failures(ev)
if not ev.models:
    halt()
st.success(t("compare.done", n=len(ev.models), pairs=ev.dataset.n_genuine + ev.dataset.n_impostor, s=ev.seconds)
           + (" " + t("compare.stored") if st.session_state.get("result_stored") else ""))
if st.session_state.get("result_run") and not opened:  # this session's run, stored: its link to hand over
    st.caption(t("history.share", link=f"?run={st.session_state['result_run']}"))
history.keep_in_address(st.session_state.get("result_run"))

ranked = ev.ranked()
best = ranked[0]
lo = min(float(r.hist_edges[0]) for r in ranked)
hi = max(float(r.hist_edges[-1]) for r in ranked)
if st.session_state.get("threshold_for") != rkey or not (lo <= st.session_state.get("threshold", lo - 1) <= hi):
    st.session_state["threshold"] = round(float(best.eer.threshold), 3)
    st.session_state["threshold_for"] = rkey
thr = round(float(st.session_state["threshold"]), 3)

if "log_far" not in st.session_state:
    st.session_state["log_far"] = True  # the low-FAR region decides whether a face model is usable
c1, c2 = st.columns([1, 2])
curve = c1.segmented_control(t("compare.curve"), ["ROC", "DET"], default="ROC", key="curve_kind",
                             help=t("compare.curve_help"), label_visibility="collapsed") or "ROC"
if curve == "DET":
    st.altair_chart(det_chart(ranked, threshold=thr, lang=lang()), key="det_chart", width="stretch")
else:
    log_far = c2.toggle(t("compare.log"), key="log_far", help=t("compare.log_help"))
    st.altair_chart(roc_chart(ranked, log_far=log_far, threshold=thr, lang=lang()), key="roc_chart", width="stretch")

st.subheader(t("compare.table"))
show_metrics_table(ev)
root = faces.root if faces is not None and rkey == key else None  # the faces on disk are the ones that were scored
show_field_protocols(ranked, key="compare_field", root=root)

st.subheader(t("compare.threshold"))
st.slider(t("compare.threshold"), min_value=lo, max_value=hi, step=0.001, format="%.3f", key="threshold",
          label_visibility="collapsed")
thr = round(float(st.session_state["threshold"]), 3)  # a 0.001 step: the engine counts every one exactly
st.caption(t("compare.at_threshold", t=thr))
cols = st.columns(min(3, len(ranked)))
for i, r in enumerate(ranked):
    m = r.at_threshold(thr)
    with cols[i % len(cols)]:
        st.markdown(f"**{plain(r.name)}**")
        st.table(confusion_frame(m))
        st.markdown(t("compare.rates", acc=m.accuracy, prec=m.precision, rec=m.recall, f1=m.f1, far=m.far))

show_decision(ranked)
if not opened:  # a stored run is read-only: its thresholds are those it was stored with
    st.toggle(t("decide.split"), key="dev_split")

st.subheader(t("compare.dist"))
st.caption(t("compare.dist_how"))
# one panel per model, best first, each on its own y-scale (one chart: a lone layered panel collapses in Streamlit)
st.altair_chart(distribution_charts(ranked, threshold=thr, lang=lang(), width=760, title=False), key="dist_chart")

st.subheader(t("why.title"))
st.caption(t("why.how"))
names = [r.name for r in ranked]
pick = st.selectbox(t("why.model"), names, key="why_model", format_func=str) if len(names) > 1 else names[0]
r = ranked[names.index(pick)] if pick in names else best
st.markdown(f"**{t('why.impostors')}**")
show_pairs(root, r.hardest_impostors, thr)
st.markdown(f"**{t('why.genuines')}**")
show_pairs(root, r.hardest_genuines, thr)
st.markdown(f"**{t('why.people')}**")
st.dataframe(people_frame(r, thr, root), hide_index=True, key="people_table",
             column_config={t("why.col.mean"): st.column_config.NumberColumn(format="%.3f"),
                            t("why.col.closest_score"): st.column_config.NumberColumn(format="%.3f"),
                            t("why.col.face"): st.column_config.ImageColumn(width="small"),
                            t("why.col.closest_face"): st.column_config.ImageColumn(width="small")})

for d in ev.disagreements:
    if r.name in (d.first, d.second) and d.pairs:
        with st.expander(t("why.disagree", first=plain(d.first), second=plain(d.second), n=len(d.pairs))):
            st.caption(t("why.disagree_how"))
            show_disagreement(root, d)

if any(x.subgroups for x in ranked):
    show_groups(ranked)

if root is not None:  # the faces on screen are the ones that were scored
    show_suspects(ev, root)
show_left_out(ev)
