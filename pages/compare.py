"""Compare: run every model on the faces, ROC chart, table, threshold explorer, score distributions."""
import streamlit as st

from faceroc_core.charts import distribution_chart, roc_chart
from faceroc_core.errors import FaceROCError
from ui import state
from ui.i18n import t
from ui.runner import Job, run_job
from ui.views import confusion_frame, plain, show_failures, show_left_out, show_metrics_table

st.title(t("compare.title"))
st.caption(t("app.tagline"))

usable = [state.resolved(m) for m in state.models() if not m.error]
faces = state.faces()
if not usable or faces is None:
    st.warning(t("compare.need"))
    st.stop()

job = Job(tuple(usable), faces, refused=tuple(m for m in state.models() if m.error))
key = job.key()
result = st.session_state.get("result")
clicked = st.button(t("compare.run"), type="primary", key="run")


def _cancel():
    st.session_state["cancelled"] = True


if clicked:
    st.session_state.pop("cancelled", None)
if st.session_state.get("cancelled"):
    # a click on Cancel stopped the run at its next step; its worker processes were closed on the way out
    st.info(t("compare.cancelled"), icon=":material/cancel:")
    if result is None:
        st.stop()
elif clicked or result is None:
    cancel_slot = st.empty()
    cancel_slot.button(t("compare.cancel"), key="cancel_run", on_click=_cancel)
    try:
        ev = run_job(job)
    except FaceROCError as e:
        st.error(plain(state.public(str(e).replace(faces.root, faces.display))), icon=":material/error:")
        st.stop()
    except Exception as e:  # never a traceback on the page
        st.error(t("err.unexpected", what=t("compare.title"), err=plain(state.public(f"{type(e).__name__}: {e}"))),
                 icon=":material/error:")
        st.stop()
    cancel_slot.empty()
    st.session_state["result"] = (key, ev)
    result = st.session_state["result"]

rkey, ev = result
if rkey != key:
    st.warning(t("compare.stale"), icon=":material/sync_problem:")
show_failures(ev)
if not ev.models:
    st.stop()
st.success(t("compare.done", n=len(ev.models), pairs=ev.dataset.n_genuine + ev.dataset.n_impostor, s=ev.seconds))

best = ev.best()
lo = min(float(r.hist_edges[0]) for r in ev.models)
hi = max(float(r.hist_edges[-1]) for r in ev.models)
if "threshold" not in st.session_state or not (lo <= st.session_state["threshold"] <= hi):
    st.session_state["threshold"] = round(float(best.eer.threshold), 3)
thr = st.session_state["threshold"]

log_far = st.toggle(t("compare.log"), key="log_far")
st.altair_chart(roc_chart(ev.models, log_far=log_far, threshold=thr), key="roc_chart", width="stretch")

st.subheader(t("compare.table"))
show_metrics_table(ev)

st.subheader(t("compare.threshold"))
st.slider(t("compare.threshold"), min_value=lo, max_value=hi, step=0.001, key="threshold", label_visibility="collapsed")
thr = st.session_state["threshold"]
st.caption(t("compare.at_threshold", t=thr))
cols = st.columns(min(3, len(ev.models)))
for i, r in enumerate(sorted(ev.models, key=lambda r: r.auc, reverse=True)):
    m = r.at_threshold(thr)
    with cols[i % len(cols)]:
        st.markdown(f"**{plain(r.name)}**")
        st.table(confusion_frame(m))
        st.markdown(
            f"accuracy **{m.accuracy:.3f}** · precision **{m.precision:.3f}** · recall **{m.recall:.3f}** · "
            f"F1 **{m.f1:.3f}** · FAR **{m.far:.4f}**"
        )

st.subheader(t("compare.dist"))
st.altair_chart(distribution_chart(ev.models, threshold=thr), key="dist_chart")

show_left_out(ev)
