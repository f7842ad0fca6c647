"""Small display helpers shared by the pages (no metric math: values come from faceroc_core)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from faceroc_core.pipeline import Evaluation

from .i18n import t
from .state import public


def metrics_table(ev: Evaluation) -> pd.DataFrame:
    rows = []
    for r in ev.ranked():
        iv = ev.auc_intervals.get(r.name)
        row = {t("col.model"): r.name, "AUC": r.auc,
               t("col.ci"): f"{iv.low:.3f} – {iv.high:.3f}" if iv else "—", "EER": r.eer.eer}
        for p in r.operating_points:
            if p.far_target <= 0.01:
                row[f"TAR@FAR={p.far_target:g}"] = p.tar
        row[t("col.pairs")] = f"{r.n_genuine:,} / {r.n_impostor:,}"
        rows.append(row)
    return pd.DataFrame(rows)


def show_metrics_table(ev: Evaluation, *, key: str = "metrics_table") -> None:
    df = metrics_table(ev)
    best = ev.best()

    def highlight(row):
        on = best is not None and row[t("col.model")] == best.name
        return ["background-color: #e3f9e5; font-weight: 600" if on else "" for _ in row]

    fmt = {c: "{:.4f}" for c in df.columns if c in ("AUC", "EER") or c.startswith("TAR")}
    styled = df.style.apply(highlight, axis=1).format(fmt, na_rep="— (too few pairs)")
    st.dataframe(styled, hide_index=True, key=key)


def mount_status() -> None:
    """Keep a place in the sidebar for the status; it is drawn at the end of the run (see :func:`show_status`)."""
    st.session_state["_status_box"] = st.sidebar.container()
    st.session_state["_status_drawn"] = False


def _reset_demo() -> None:
    from .state import reset_to_demo

    reset_to_demo()


def show_status() -> None:
    """What is loaded (models counted, faces named, "demo" only while the demo is), drawn once per run after the
    page's own work, so that an upload made on this very run is counted."""
    from .state import faces, models

    box = st.session_state.get("_status_box")
    if box is None or st.session_state.get("_status_drawn"):
        return
    st.session_state["_status_drawn"] = True
    with box:
        f = faces()
        st.caption(t("sidebar.status", n_models=len(models()), faces=plain(f.display) if f else "—"))
        if st.session_state.get("is_demo") and st.session_state.get("demo_models"):
            st.info(t("sidebar.demo"))
        else:
            st.button(t("sidebar.reset"), key="reset_demo", on_click=_reset_demo)


def halt() -> None:
    """``st.stop()`` for pages: the sidebar's status is drawn first (nothing after a stop is drawn)."""
    show_status()
    st.stop()


def show_failures(ev: Evaluation) -> None:
    for f in ev.failures:
        st.error(t("compare.failed", name=plain(f.name), err=plain(public(f.error))), icon=":material/error:")


def confusion_frame(m) -> pd.DataFrame:
    return pd.DataFrame(
        {t("cm.accepted"): [m.tp, m.fp], t("cm.rejected"): [m.fn, m.tn]},
        index=[t("cm.same"), t("cm.diff")],
    )


# what can make links, images, HTML, emphasis, code, tables or LaTeX inside a line that starts with our own text
_MD_SPECIAL = "\\`*_{}[]#!|<>~$"


def plain(text: str) -> str:
    """User text (model, file, identity names) made literal for st.markdown and labels: no links, images,
    HTML or emphasis can come out of it."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))


def show_left_out(ev: Evaluation) -> None:
    """What the face detector found, and every image a model left out, with the reason."""
    fs = ev.dataset.faces
    if fs is not None:
        st.caption(t("compare.faces_note", n=fs.n_checked, none=len(fs.no_face), several=len(fs.several_faces)))
    rows = [{t("col.model"): "—", t("faces.col.path"): s.path, t("faces.col.reason"): s.reason}
            for s in ev.dataset.skipped]
    for r in ev.models:
        rows += [{t("col.model"): r.name, t("faces.col.path"): s.path, t("faces.col.reason"): s.reason}
                 for s in r.skipped]
    if fs is not None:
        rows += [{t("col.model"): "—", t("faces.col.path"): p, t("faces.col.reason"): t("compare.several")}
                 for p in fs.several_faces]
    if rows:
        with st.expander(t("compare.left_out", n=len(rows))):
            st.dataframe(pd.DataFrame(rows), hide_index=True, key="left_out")


@st.cache_data(show_spinner=False, max_entries=512)
def thumbnail(path: str, mtime: float, side: int = 112):
    """A square-ish thumbnail of one face image (``mtime`` keys the cache)."""
    from PIL import Image

    from faceroc_core.images import decode

    from pathlib import Path

    try:
        img = decode(Path(path).read_bytes())
    except Exception:
        return Image.new("RGB", (side, side), (230, 230, 230))
    img.thumbnail((side, side))
    return img


def _thumb(root: str, rel: str, side: int):
    from pathlib import Path

    p = Path(root) / rel
    try:
        mtime = p.stat().st_mtime
    except OSError:
        mtime = 0.0
    return thumbnail(str(p), mtime, side)


def pair_image(root: str, a: str, b: str, *, side: int = 112):
    """Two faces side by side (paths relative to the faces' folder)."""
    from PIL import Image

    ia, ib = _thumb(root, a, side), _thumb(root, b, side)
    out = Image.new("RGB", (2 * side + 6, side), (255, 255, 255))
    out.paste(ia.convert("RGB"), ((side - ia.width) // 2, (side - ia.height) // 2))
    out.paste(ib.convert("RGB"), (side + 6 + (side - ib.width) // 2, (side - ib.height) // 2))
    return out


def show_pairs(root: str, pairs, threshold: float, *, n: int = 6, cols: int = 3) -> None:
    """The pairs as two faces side by side, with both people, the score, the decision at ``threshold`` and the
    other models' scores."""
    grid = st.columns(cols)
    for k, p in enumerate(pairs[:n]):
        with grid[k % cols]:
            st.image(pair_image(root, p.a, p.b))
            verdict = t("why.accepted") if p.score >= threshold else t("why.rejected")
            others = " · ".join(f"{plain(name)} {'—' if s is None else f'{s:.3f}'}" for name, s in p.others)
            st.caption(f"{plain(p.identity_a)} / {plain(p.identity_b)} · **{p.score:.3f}** ({verdict})"
                       + (f"  \n{t('why.others')}: {others}" if others else ""))


def people_frame(r, threshold: float) -> pd.DataFrame:
    """Per person, hardest first: same-person mean score, false rejects at ``threshold``, the most similar
    other person."""
    rows = [{t("why.col.person"): p.identity, t("why.col.images"): p.n_images,
             t("why.col.mean"): p.genuine_mean, t("why.col.rejects"): p.false_rejects(threshold),
             t("why.col.pairs"): p.genuine_scores.size, t("why.col.closest"): p.worst_impostor_with,
             t("why.col.closest_score"): p.worst_impostor} for p in r.people]
    df = pd.DataFrame(rows)
    return df.sort_values([t("why.col.rejects"), t("why.col.mean")], ascending=[False, True], na_position="last")


def show_suspects(ev: Evaluation, root: str) -> None:
    """"Check your test set": labelling problems every informative model agrees on, with their faces."""
    sus = ev.dataset.suspects
    st.subheader(t("health.title"))
    if not sus:
        st.caption(t("health.clean", n=len(ev.models)))
        return
    st.warning(t("health.found", n=len(sus)), icon=":material/rule:")
    for s in sus[:20]:
        with st.container(border=True):
            st.markdown(f"**{t('health.kind.' + s.kind)}** · {plain(' / '.join(s.identities))}")
            st.caption(plain(s.evidence))
            shown = list(s.images[:4])
            st.image([_thumb(root, rel, 96) for rel in shown], width=96)


def show_preview(pv, *, caption: str | None = None) -> None:
    """A model's sample strip: the photos above, what the network receives below."""
    from faceroc_core.preview import strip_image

    st.image(strip_image(pv), caption=caption or t("models.sees_how"))
    missing = [f"{p}: {r}" for p, r in zip(pv.relpaths, pv.reasons) if r]
    if missing:
        st.caption("; ".join(missing))
