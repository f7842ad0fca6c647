"""Models: upload .onnx / .pth files, set each model's preprocessing, see what was read from it."""
from pathlib import Path

import streamlit as st

from faceroc_core.checkpoints import load_state_dict
from faceroc_core.errors import FaceROCError
from faceroc_core.images import file_hash
from faceroc_core.models import infer_checkpoint, model_kind
from faceroc_core.onnx_io import inline_external_data
from faceroc_core.preprocess import PRESET_HELP, PRESETS
from faceroc_core.results import ModelFailure
from faceroc_core.worker import GuardedSession
from ui import state
from ui.i18n import t
from ui.runner import LIMITS, load_dataset, prepare_entry
from ui.views import plain, show_preview

MAX_MB = st.get_option("server.maxUploadSize")


@st.cache_data(show_spinner=False, max_entries=32)
def model_view(fingerprint: str, prep_key: str, _faces, _prep):
    """Sample faces of the current set as this preprocessing hands them to the network."""
    from faceroc_core.preview import make_preview, sample_indices

    ds = load_dataset(_faces)
    return make_preview(ds.images, _prep, indices=sample_indices(ds.images))

st.title(t("models.title"))
st.write(t("models.intro"))
st.caption(t("models.limit", mb=MAX_MB) + " " + t("models.guard", limits=LIMITS.describe()))


def remove(m) -> None:
    state.set_models([e for e in state.models() if e.id != m.id])
    state.discard(m.path)  # the uploaded file goes too
    st.rerun()


def add_uploads(files) -> None:
    done = st.session_state.setdefault("_model_uploads_done", set())
    new = [f for f in files if f.file_id not in done]
    if not new:
        return
    try:
        state.check_quota(sum(f.size for f in new))
    except state.QuotaError as e:
        st.error(t("err.quota", gb=str(e), quota=state.QUOTA_BYTES / 2**30), icon=":material/error:")
        return
    sides = {f.name: f.getvalue() for f in new if f.name.lower().endswith(".data")}
    added = []
    for f in new:
        done.add(f.file_id)
        name = f.name
        if name.lower().endswith(".data"):
            if not any(g.name.lower().endswith(".onnx") for g in new):
                st.warning(t("models.side_only", name=name))
            continue
        kind = model_kind(name)
        if kind is None:
            st.warning(t("models.unsupported", name=name))
            continue
        mid = state.new_id()
        folder = state.session_dir() / "models" / mid
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ("model.onnx" if kind == "onnx" else "model.pth")
        data = f.getvalue()
        error, arch, emb, notes = None, None, None, ()
        taken = [e.name for e in added] + ([] if st.session_state.get("demo_models") else [e.name for e in state.models()])
        display = state.unique_name(Path(name).stem, taken)
        try:
            if kind == "onnx":
                data = inline_external_data(data, sides, source=name) if sides else data
                path.write_bytes(data)
                GuardedSession(path, limits=LIMITS).close()  # inspected in a worker, under the limits
            else:
                path.write_bytes(data)
                inferred = infer_checkpoint(load_state_dict(path), source=name)
                arch, emb, notes = inferred.arch, inferred.embedding_dim, inferred.notes
        except Exception as e:  # expected or not, the failure shows beside this file only
            if not path.exists():
                path.write_bytes(data)
            error = ModelFailure.of(display, name, e)
        added.append(state.ModelEntry(id=mid, name=display, path=str(path), filename=name, kind=kind,
                                      sha=file_hash(path), arch=arch, embedding_dim=emb, error=error,
                                      notes=notes))
    if added:
        base = [] if st.session_state.get("demo_models") else state.models()  # own models replace the demo's
        state.set_models(base + added)
        st.session_state.pop("result", None)
        st.toast(t("models.added", n=len(added)))


uploads = st.file_uploader(t("models.upload"), accept_multiple_files=True, key="model_upload")
if uploads:
    add_uploads(uploads)

entries = state.models()
if not entries:
    st.info(t("models.none"))

preset_names = list(PRESETS) + ["custom"]
for m in entries:
    icon = ":material/error:" if m.error else (":material/local_fire_department:" if m.kind == "pth" else ":material/deployed_code:")
    with st.expander(f"{icon} {plain(m.name)} — {plain(m.filename)}", expanded=bool(m.error) or len(entries) <= 3):
        if m.error:
            st.error(t("models.error", err=plain(state.public(m.error.error))))
            if st.button(t("models.remove"), key=f"rm_{m.id}"):
                remove(m)
            continue
        pm = prep = None
        problem = None
        try:
            with st.spinner(t("compare.stage.prepare", model=m.name)):
                pm, prep = prepare_entry(state.resolved(m))
        except Exception as e:  # the model's own failure, named by its file (never the server path)
            problem = plain(state.public(ModelFailure.of(m.name, m.filename, e).error))
        fixed = pm is not None and m.kind == "onnx" and pm.info.height and pm.info.width
        c1, c2, c3 = st.columns([2, 2, 1])
        name = c1.text_input(t("models.name"), value=m.name, key=f"name_{m.id}")
        preset_now = "custom" if (m.mean or m.std) else m.preset
        preset = c2.selectbox(t("models.preset"), preset_names, index=preset_names.index(preset_now),
                              format_func=lambda p: f"{p} — {PRESET_HELP[p]}" if p in PRESET_HELP else t("models.custom"),
                              key=f"preset_{m.id}")
        bgr = c3.checkbox(t("models.bgr"), value=m.bgr, key=f"bgr_{m.id}")
        mean = std = ""
        if preset == "custom":
            d1, d2 = st.columns(2)
            mean = d1.text_input(t("models.mean"), value=m.mean or "0.5,0.5,0.5", key=f"mean_{m.id}")
            std = d2.text_input(t("models.std"), value=m.std or "0.5,0.5,0.5", key=f"std_{m.id}")
        e1, e2, e3 = st.columns(3)
        arch = m.arch
        if m.kind == "pth":
            arch = e1.text_input(t("models.arch"), value=m.arch or "", help=t("models.arch_help"), key=f"arch_{m.id}")
        emb = pm.info.embedding_dim if pm is not None else m.embedding_dim
        e2.text_input(t("models.emb"), value=str(emb or "?"), disabled=True, key=f"emb_{m.id}")
        if fixed:
            e3.text_input(t("models.size"), value=f"{pm.info.height}x{pm.info.width}", disabled=True,
                          help=t("models.size_fixed", h=pm.info.height, w=pm.info.width), key=f"size_fixed_{m.id}")
            size = m.size
        else:
            size = e3.text_input(t("models.size"), value=m.size, placeholder="112x112", key=f"size_{m.id}")
        a1, a2 = st.columns([1, 1])
        aligned = a1.checkbox(t("models.align"), value=state.aligns(m), key=f"align_{m.id}", help=t("models.align_help"))
        flip = a1.checkbox(t("models.flip"), value=m.flip, key=f"flip_{m.id}", help=t("models.flip_help"))
        crop = a2.text_input(t("models.crop"), value=m.crop, placeholder="53,44,197,188", key=f"crop_{m.id}",
                             disabled=aligned)
        new_name = name.strip() or m.name
        if new_name != m.name:
            new_name = state.unique_name(new_name, [e.name for e in entries if e.id != m.id])
        changes = dict(name=new_name, preset=preset if preset != "custom" else m.preset, mean=mean,
                       std=std, bgr=bgr, arch=(arch or None), size=size.strip(), crop="" if aligned else crop.strip(),
                       flip=flip)
        if aligned != state.aligns(m):  # an explicit choice for this model from now on
            changes["align"] = aligned
        if any(getattr(m, k) != v for k, v in changes.items()):
            state.update_model(m.id, **changes)
            st.rerun()
        if problem:
            st.error(problem, icon=":material/error:")
        if pm is not None:
            st.markdown(f"**{t('models.read')}:** {plain(pm.info.describe())}")
            st.caption(f"preprocessing: {prep.describe()} · sha256 {m.sha[:16]}…")
            if pm.export_check is not None:
                st.success(t("models.export_ok", diff=pm.export_check.max_abs_diff), icon=":material/check_circle:")
            for note in dict.fromkeys(m.notes + pm.notes):
                st.caption(note)
            faces_now = state.faces()
            if faces_now is not None:
                try:
                    with st.spinner(t("models.sees")):
                        pv = model_view(faces_now.fingerprint(), prep.key, faces_now, prep)
                    st.markdown(f"**{t('models.sees')}**")
                    show_preview(pv)
                except FaceROCError:
                    pass  # the Faces page says what is wrong with the faces
        if st.button(t("models.remove"), key=f"rm_{m.id}"):
            remove(m)
