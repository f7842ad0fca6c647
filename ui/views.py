"""Small display helpers shared by the pages (no metric math: values come from faceroc_core)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from faceroc_core.diagnose import hardest_people
from faceroc_core.pipeline import Evaluation

from .i18n import t
from .state import public


def metrics_table(ev: Evaluation) -> pd.DataFrame:
    rows = []
    for r in ev.ranked():
        mi = ev.intervals.get(r.name)
        row = {t("col.model"): r.name, "AUC": r.auc, t("col.ci"): _ci(mi.auc if mi else None, 3), "EER": r.eer.eer,
               t("col.ci_of", m="EER"): _ci(mi.eer if mi else None, 4)}
        for p in r.operating_points:
            if p.far_target <= 0.01:
                name = f"TAR@FAR={p.far_target:g}"
                row[name] = p.tar
                row[t("col.ci_of", m=name)] = _ci(mi.tar_at(p.far_target) if mi else None, 3)
        if r.on_common_images is not None:  # the models used different images: the fair comparison
            row[t("col.common", n=ev.dataset.compared_on or 0)] = r.on_common_images.auc
        f = r.failure_to_acquire
        if any(x.failure_to_acquire is not None and x.failure_to_acquire.images for x in ev.models):
            row[t("col.fta")] = f"{f.images} ({100 * f.share:.1f}%)" if f is not None else "—"
        row[t("col.pairs")] = f"{r.n_genuine:,} / {r.n_impostor:,}"
        rows.append(row)
    return pd.DataFrame(rows)


def show_field_protocols(ranked, *, key: str = "field", root: str | None = None) -> None:
    """The numbers the field reports, when the run has them: 10-fold accuracy (a protocol) and 1:N
    identification (a gallery): each model's line, the CMC and FNIR-FPIR charts."""
    from faceroc_core.charts import cmc_chart, fnir_chart

    from .i18n import lang

    tenfold = [r for r in ranked if r.accuracy_10fold is not None]
    if tenfold:
        st.subheader(t("tenfold.title"))
        for r in tenfold:
            st.markdown(f"- **{plain(r.name)}**: {plain(r.accuracy_10fold.text(lang()))}")
    ident = [r for r in ranked if r.identification is not None]
    if ident:
        st.subheader(t("ident.results"))
        for r in ident:
            st.markdown(f"- **{plain(r.name)}**: {plain(r.identification.text(lang()))}")
        # the charts' legends sit under them: the height is the plot's and the legend's together
        n = len(ident)
        st.altair_chart(cmc_chart(ident, lang=lang()), key=f"{key}_cmc", width="stretch", height=420 + 22 * n)
        st.altair_chart(fnir_chart(ident, lang=lang()), key=f"{key}_fnir", width="stretch", height=420 + 22 * n)
        misses = [{t("col.model"): r.name, t("ident.col.probe"): q, t("ident.col.rank"): rk,
                   t("ident.col.mate"): ms, t("ident.col.other"): who, t("ident.col.other_score"): os_}
                  for r in ident if r.identification is not None for q, rk, ms, who, os_ in r.identification.misses]
        if misses:
            st.caption(t("ident.misses"))
            df = pd.DataFrame(misses)
            config = {}
            if root is not None:  # the probe's face, as for the hardest pairs
                df.insert(1, t("why.col.face"), [face_url(root, m[t("ident.col.probe")]) if k < PEOPLE_FACES else None
                                                  for k, m in enumerate(misses)])
                config[t("why.col.face")] = st.column_config.ImageColumn(width="small")
            st.dataframe(df, hide_index=True, key=f"{key}_misses", column_config=config)


def show_decision(ranked, *, key: str = "decide") -> None:
    """Each model at its own threshold for a target FAR (a model whose scores sit higher is judged where its own
    FAR is), with the dev/eval figures when the run chose them on other people; the FMR/FNMR chart."""
    from faceroc_core.charts import rates_chart
    from faceroc_core.metrics import DECISION_FAR

    from .i18n import lang

    st.subheader(t("decide.title"))
    st.caption(t("decide.how"))
    far = st.segmented_control(t("decide.far"), [1e-2, 1e-3, 1e-4], default=DECISION_FAR, key=f"{key}_far",
                               format_func=lambda f: f"FAR {f:g}") or DECISION_FAR
    rows, marks = [], {}
    for r in ranked:
        op = r.tar(far)
        marks[r.name] = op.threshold if op.measurable else None
        row = {t("col.model"): r.name, t("decide.col.threshold"): op.threshold if op.measurable else None,
               "TAR": op.tar, "FAR": op.far, "FRR": None if op.tar is None else 1 - op.tar}
        dc = r.decision
        if dc is not None:
            row[t("decide.col.dev")] = f"{dc.threshold:.4f} ({dc.target.replace('far=', 'FAR ')})"
            row[t("decide.col.eval_far")] = (t("decide.not_measurable") if dc.eval.far is None else
                                             f"{dc.eval.far:.2%} ({dc.eval.far_ci[0]:.2%}–{dc.eval.far_ci[1]:.2%})")
            row[t("decide.col.eval_frr")] = f"{dc.eval.frr:.2%} ({dc.eval.frr_ci[0]:.2%}–{dc.eval.frr_ci[1]:.2%})"
        rows.append(row)
    st.dataframe(pd.DataFrame(rows).style.format({c: "{:.4f}" for c in (t("decide.col.threshold"), "TAR", "FAR",
                                                                        "FRR")}, na_rep=t("decide.not_measurable")),
                 hide_index=True, key=f"{key}_table")
    st.altair_chart(rates_chart(ranked, marks, lang=lang()), key=f"{key}_chart", width="stretch",
                    height=440 + 22 * len(ranked))


def _ci(iv, digits: int) -> str:
    return f"{iv.low:.{digits}f} – {iv.high:.{digits}f}" if iv is not None else "—"


def show_metrics_table(ev: Evaluation, *, key: str = "metrics_table") -> None:
    df = metrics_table(ev)
    best = ev.best()

    def highlight(row):
        on = best is not None and row[t("col.model")] == best.name
        return ["background-color: #e3f9e5; font-weight: 600" if on else "" for _ in row]

    fmt = {c: "{:.4f}" for c in df.columns
           if (c in ("AUC", "EER") or c.startswith("TAR") or c.startswith("AUC ·")) and "95%" not in c}
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

    try:
        img = decode(Path(path).read_bytes())
    except Exception:
        return Image.new("RGB", (side, side), (230, 230, 230))
    img.thumbnail((side, side))
    return img


def _thumb(root: str, rel: str, side: int):
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


def show_pairs(root: str | None, pairs, threshold: float, *, n: int = 6, cols: int = 3) -> None:
    """The pairs as two faces side by side, with both people, the score, the decision at ``threshold`` and the
    other models' scores."""
    grid = st.columns(cols)
    for k, p in enumerate(pairs[:n]):
        with grid[k % cols]:
            if root is not None:  # None: the faces on disk are no longer the ones that were scored
                st.image(pair_image(root, p.a, p.b))
            verdict = t("why.accepted") if p.score >= threshold else t("why.rejected")
            others = " · ".join(f"{plain(name)} {'—' if s is None else f'{s:.3f}'}" for name, s in p.others)
            st.caption(f"{plain(p.identity_a)} / {plain(p.identity_b)} · **{p.score:.3f}** ({verdict})"
                       + (f"  \n{t('why.others')}: {others}" if others else ""))


def show_disagreement(root: str | None, d, *, n: int = 6, cols: int = 3) -> None:
    """Pairs two models decide differently, each at its own threshold (TAR@FAR=0.001, else EER)."""
    grid = st.columns(cols)
    for k, p in enumerate(d.pairs[:n]):
        s2 = dict(p.others).get(d.second)
        with grid[k % cols]:
            if root is not None:
                st.image(pair_image(root, p.a, p.b))
            same = t("cm.same") if p.identity_a == p.identity_b else t("cm.diff")

            def said(name, s, thr):
                if s is None:
                    return f"{plain(name)} —"
                return f"{plain(name)} **{s:.3f}** ({t('why.accepted') if s >= thr else t('why.rejected')})"

            st.caption(f"{plain(p.identity_a)} / {plain(p.identity_b)} ({same})  \n"
                       f"{said(d.first, p.score, d.thresholds[0])} · {said(d.second, s2, d.thresholds[1])}")


def face_url(root: str, rel: str, side: int = 48) -> str:
    """A small face thumbnail as a data URL (for image columns of tables)."""
    import base64
    import io

    buf = io.BytesIO()
    _thumb(root, rel, side).convert("RGB").save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


PEOPLE_FACES = 60  # rows of the people table that get their face (the hardest first)


def people_frame(r, threshold: float, root: str | None = None) -> pd.DataFrame:
    """Per person, hardest first: same-person mean score, false rejects at ``threshold``, the most similar
    other person (and, with ``root``, a face of each of the hardest people and of the one they are mistaken for)."""
    hardest = hardest_people(r.people, threshold)  # the engine's one ordering (the HTML report's too)
    df = pd.DataFrame([{t("why.col.person"): p.identity, t("why.col.images"): p.n_images,
                        t("why.col.mean"): p.genuine_mean, t("why.col.rejects"): p.false_rejects(threshold),
                        t("why.col.pairs"): p.genuine_scores.size, t("why.col.closest"): p.worst_impostor_with,
                        t("why.col.closest_score"): p.worst_impostor} for p in hardest])
    if root is not None:
        pairs = [p.worst_pair for p in hardest]
        df.insert(0, t("why.col.face"), [face_url(root, a) if k < PEOPLE_FACES else None
                                         for k, (a, _) in enumerate(pairs)])
        df[t("why.col.closest_face")] = [face_url(root, b) if k < PEOPLE_FACES else None
                                         for k, (_, b) in enumerate(pairs)]
    return df


def show_groups(ranked) -> None:
    """Each model's results per group of people, at one global threshold (FMR 1e-3 on all pairs)."""
    st.subheader(t("groups.results"))
    st.caption(t("groups.results_how"))
    attrs = list(dict.fromkeys(g.attribute for r in ranked for g in r.subgroups))
    attr = st.selectbox(t("groups.attribute"), attrs, key="groups_attr") if len(attrs) > 1 else attrs[0]
    rows = []
    for r in ranked:
        for g in r.subgroups:
            if g.attribute != attr:
                continue
            iv = f"{g.interval.low:.3f} – {g.interval.high:.3f}" if g.interval else "—"
            rows.append({t("col.model"): r.name, t("groups.col.group"): g.value, t("groups.col.people"): g.n_people,
                         "AUC": g.auc, t("col.ci"): iv, "FMR": g.fmr, "FNMR": g.fnmr,
                         t("col.pairs"): f"{g.n_genuine:,} / {g.n_impostor:,}",
                         t("groups.col.note"): t("groups.too_small") if g.too_small else ""})
    from faceroc_core.charts import groups_chart

    from .i18n import lang

    st.altair_chart(groups_chart(ranked, attr, lang=lang()), key="groups_chart")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="groups_table",
                 column_config={"AUC": st.column_config.NumberColumn(format="%.4f"),
                                "FMR": st.column_config.NumberColumn(format="%.5f"),
                                "FNMR": st.column_config.NumberColumn(format="%.4f")})


def _fix(s) -> None:
    """Apply one suspect's fix to the faces (leave images out, or merge two names) and run again at once."""
    from dataclasses import replace

    from .state import faces, set_faces

    src = faces()
    if src is None:
        return
    exclude, merge = s.amend(src.exclude, src.merge)  # the suspect's own fix (faceroc_core.diagnose.Suspect)
    set_faces(replace(src, exclude=exclude, merge=merge))
    st.session_state["run_now"] = True  # embeddings come from the cache: seconds


def _undo_fixes() -> None:
    from dataclasses import replace

    from .state import faces, set_faces

    src = faces()
    if src is not None:
        set_faces(replace(src, exclude=(), merge=()))
        st.session_state["run_now"] = True


def show_suspects(ev: Evaluation, root: str) -> None:
    """"Check your test set": labelling problems every informative model agrees on, with their faces, and a
    one-click fix for each (the comparison runs again from the cache)."""
    from .state import faces

    src = faces()
    if src is not None and (src.exclude or src.merge):
        st.info(t("health.fixed", n=len(src.exclude), m=len(src.merge)), icon=":material/rule:")
        st.button(t("health.undo"), key="health_undo", on_click=_undo_fixes)
    sus = ev.dataset.suspects
    st.subheader(t("health.title"))
    if not sus:
        st.caption(t("health.clean", n=len(ev.models)))
        return
    st.warning(t("health.found", n=len(sus)), icon=":material/rule:")
    for k, s in enumerate(sus[:20]):
        with st.container(border=True):
            st.markdown(f"**{t('health.kind.' + s.kind)}** · {plain(' / '.join(s.identities))}")
            st.caption(plain(s.evidence))
            shown = list(s.images[:4])
            st.image([_thumb(root, rel, 96) for rel in shown], width=96)
            st.button(t(f"health.fix.{s.kind}"), key=f"fix_{k}", on_click=_fix, args=(s,))


def show_preview(pv, *, caption: str | None = None) -> None:
    """A model's sample strip: the photos above, what the network receives below."""
    from faceroc_core.preview import strip_image

    st.image(strip_image(pv), caption=caption or t("models.sees_how"))
    missing = [f"{p}: {r}" for p, r in zip(pv.relpaths, pv.reasons) if r]
    if missing:
        st.caption("; ".join(missing))
