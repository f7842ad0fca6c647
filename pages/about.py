"""About: what FaceROC does, and credits."""
import streamlit as st

import faceroc_core
from ui.i18n import t

st.title("FaceROC")
st.write(t("about.body"))
st.info(t("about.credits"))
st.caption(t("about.detector"))
st.caption(t("about.libs"))
st.caption(f"faceroc_core {faceroc_core.__version__} · CLI: faceroc evaluate --help")
