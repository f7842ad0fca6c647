"""FaceROC dashboard: compare face-embedding models by ROC on labelled faces.

A thin Streamlit layer over faceroc_core; run with ``make run``.
"""
import streamlit as st

from ui import history, state
from ui.i18n import LANGS, t
from ui.views import mount_status, show_status

st.set_page_config(page_title="FaceROC", page_icon=":material/face:", layout="wide")
state.init()



def _set_lang():
    st.session_state["lang"] = st.session_state["lang_select"]


with st.sidebar:
    # a constant label keeps the widget's identity when the language changes
    st.selectbox("Language · 言語", list(LANGS), index=list(LANGS).index(st.session_state["lang"]),
                 format_func=LANGS.get, key="lang_select", on_change=_set_lang)

link = st.query_params.get("run")  # a run handed over by link (or this page's own, after a reload): read-only
history.open_linked(str(link) if link else None)
pages = [
    st.Page("pages/compare.py", title=t("nav.compare"), icon=":material/show_chart:", default=True,
            url_path="compare"),
    st.Page("pages/models.py", title=t("nav.models"), icon=":material/memory:", url_path="models"),
    st.Page("pages/faces.py", title=t("nav.faces"), icon=":material/face:", url_path="faces"),
    st.Page("pages/report.py", title=t("nav.report"), icon=":material/description:", url_path="report"),
    st.Page("pages/history.py", title=t("nav.history"), icon=":material/history:", url_path="history"),
    st.Page("pages/about.py", title=t("nav.about"), icon=":material/info:", url_path="about"),
]
nav = st.navigation(pages)
mount_status()
nav.run()
show_status()  # pages that stop early draw it themselves (views.halt)
