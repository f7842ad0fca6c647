"""Faces: choose the labelled images (demo, folder upload, .zip, or a folder on the server)."""
import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from faceroc_core.align import align, check_sample, detector_available
from faceroc_core.charts import identity_chart
from faceroc_core.dataset import Skipped
from faceroc_core.errors import FaceROCError
from faceroc_core.groups import read_groups_csv
from faceroc_core.images import decode
from faceroc_core.ingest import MAX_FILES, ingest_zip
from faceroc_core.preview import sample_indices
from ui import state
from ui.folder_upload import folder_upload
from ui.i18n import lang, t
from ui.runner import load_dataset
from ui.views import halt, plain

MAX_MB = st.get_option("server.maxUploadSize")
SERVER_ROOT = state.server_root()
SOURCES = ["demo", "dir", "zip", "bin"] + (["path"] if SERVER_ROOT else [])  # "path" only with FACEROC_DATA_ROOT
LABELS = ["auto", "folder", "prefix"]
FOLDER_TEXTS = ("pick", "hint", "reading", "packing", "sending", "sent", "none", "too_big", "failed")

st.title(t("faces.title"))
st.write(t("faces.intro"))

current = state.faces()
if "faces_source" not in st.session_state:
    st.session_state["faces_source"] = current.kind if current else "demo"
source = st.radio(t("faces.source"), SOURCES, format_func=lambda s: t(f"faces.src.{s}"), horizontal=True,
                  key="faces_source")
labels = st.radio(t("faces.labels"), LABELS, format_func=lambda s: t(f"faces.lab.{s}"), horizontal=True,
                  key="faces_labels")


def _set(src):
    old = state.faces()
    if old is not None and old.kind in ("dir", "zip", "bin") and (src is None or old.root != src.root):
        state.discard(old.root)  # the replaced upload leaves the disk
    state.set_faces(src)
    st.session_state.pop("result", None)


def _take_zip(kind: str, data: bytes, display: str, uid: str, left: tuple = ()) -> None:
    """Unpack an uploaded or browser-packed zip into this session's folder and make it the faces."""
    if st.session_state.get("_faces_upload_id") == uid:
        return
    try:
        state.check_quota(2 * len(data), replacing=current.root if current else None)  # the zip unpacks beside itself
        with st.spinner(t("faces.unpacking")):
            got = ingest_zip(data, state.session_dir() / "faces" / uid, labels=labels)
        _set(state.FacesSource(kind=kind, root=str(got.root), labels="folder", display=display,
                               upload_skipped=tuple(left) + got.skipped))
        st.session_state["_faces_upload_id"] = uid
    except FaceROCError as e:
        st.error(plain(state.public(str(e))), icon=":material/error:")
    except state.QuotaError as e:
        st.error(t("err.quota", gb=str(e), quota=state.QUOTA_BYTES / 2**30), icon=":material/error:")


def _uid(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:12] + labels


if source == "demo":
    if current is None or current.kind != "demo":
        _set(state.demo_entries()[1])
elif source in ("dir", "zip"):
    st.caption(t("faces.limit", mb=MAX_MB))
    loaded = st.empty()  # filled once this run's upload (if any) is in
    if source == "dir":
        packed = folder_upload(key="faces_dir", max_files=MAX_FILES,
                               text={k: t(f"faces.fz.{k}") for k in FOLDER_TEXTS})
        if packed is not None:
            left = tuple(Skipped(path=p, reason=t("faces.not_image")) for p in packed.other)
            _take_zip("dir", packed.data, packed.name, _uid(packed.data), left)
    else:
        z = st.file_uploader(t("faces.zip"), type=["zip"], key="faces_zip")
        if z is not None:
            data = z.getvalue()
            _take_zip("zip", data, z.name, _uid(data))
    now = state.faces()
    if now is not None and now.kind == source:  # what is loaded, also when the page is revisited
        loaded.caption(t("faces.loaded", name=plain(now.display)))
elif source == "bin":
    st.caption(t("faces.bin_how", mb=MAX_MB))
    b = st.file_uploader(t("faces.bin"), type=["bin"], key="faces_bin")
    if b is not None and st.session_state.get("_faces_upload_id") != (uid := _uid(b.getvalue())):
        from faceroc_core.binset import parse_bin, unpack_bin

        data = b.getvalue()
        try:
            state.check_quota(2 * len(data), replacing=current.root if current else None)
            with st.spinner(t("faces.unpacking")):
                root, pairs = unpack_bin(parse_bin(data, name=b.name), state.session_dir() / "faces" / uid,
                                         name=Path(b.name).name)
            _set(state.FacesSource(kind="bin", root=str(root), labels="folder", display=b.name, pairs=str(pairs)))
            st.session_state["_faces_upload_id"] = uid
        except FaceROCError as e:
            st.error(plain(state.public(str(e))), icon=":material/error:")
        except state.QuotaError as e:
            st.error(t("err.quota", gb=str(e), quota=state.QUOTA_BYTES / 2**30), icon=":material/error:")
    now = state.faces()
    if now is not None and now.kind == "bin":
        st.caption(t("faces.loaded", name=plain(now.display)))
elif source == "path":
    path = st.text_input(t("faces.path"), value=current.root if current and current.kind == "path" else "",
                         key="faces_path")
    if st.button(t("faces.use_path"), key="faces_use_path") and path:
        p = (SERVER_ROOT / path).resolve() if not Path(path).is_absolute() else Path(path).resolve()
        if not p.is_relative_to(SERVER_ROOT):
            st.error(t("faces.path_denied", root=SERVER_ROOT.name), icon=":material/error:")
        else:
            _set(state.FacesSource(kind="path", root=str(p), labels=labels, display=p.name))

current = state.faces()
if current is None or (source != "demo" and current.kind != source):
    st.info(t("faces.none"))
    halt()


@st.cache_data(show_spinner=False, max_entries=8)
def thumbnails(fingerprint: str, paths: tuple[str, ...]):
    out = []
    for p in paths:
        try:
            img = decode(Path(p).read_bytes())
            img.thumbnail((96, 96))
            out.append(img)
        except Exception:
            out.append(None)
    return out


def skipped_table(skipped) -> None:
    if skipped:
        st.dataframe(pd.DataFrame([{t("faces.col.path"): s.path, t("faces.col.reason"): s.reason} for s in skipped]),
                     hide_index=True)


try:
    ds = load_dataset(current)
except FaceROCError as e:
    st.error(plain(state.public(str(e))), icon=":material/error:")
    skipped_table(list(current.upload_skipped))
    halt()

counts = ds.counts()
gen, imp = ds.pair_counts()
st.success(t("faces.summary", n_images=len(ds.images), n_id=len(counts), n_gen=gen, n_imp=imp))


@st.cache_data(show_spinner=False, max_entries=8)
def alignment_check(fingerprint: str, paths: tuple[str, ...]):
    """Detect faces on a sample: the advice, and (photo, aligned face) thumbnails for a few of them."""
    advice, examples = check_sample(paths)
    pairs = []
    for img, face in examples:
        thumb = img.copy()
        thumb.thumbnail((112, 112))
        pairs.append((thumb, align(img, face, 112, 112)))
    return advice, pairs


def _set_align_all():
    st.session_state["align_all"] = st.session_state["align_all_toggle"]
    st.session_state.pop("result", None)


st.subheader(t("groups.title"))
st.caption(t("groups.how"))
up = st.file_uploader(t("groups.upload"), type=["csv"], key="groups_upload")
if up is not None and st.session_state.get("_groups_file_id") != up.file_id:
    st.session_state["_groups_file_id"] = up.file_id
    try:
        read_groups_csv(up.getvalue(), source=up.name)
        st.session_state["groups_csv"], st.session_state["groups_name"] = up.getvalue(), up.name
    except FaceROCError as e:
        st.error(plain(str(e)), icon=":material/error:")
if st.session_state.get("groups_csv"):
    table = read_groups_csv(st.session_state["groups_csv"], source=st.session_state.get("groups_name", "groups.csv"),
                            known=counts)
    described = ", ".join(f"{a} ({len(set(table.values[a].values()))})" for a in table.attributes)
    st.success(t("groups.loaded", name=plain(st.session_state.get("groups_name", "")), attrs=plain(described)),
               icon=":material/groups:")
    missing = [i for i in counts if not any(i in table.values[a] for a in table.attributes)]
    if table.unknown or missing:
        st.caption(t("groups.mismatch", unknown=len(table.unknown), missing=len(missing)))
    if st.button(t("groups.remove"), key="groups_remove"):
        st.session_state.pop("groups_csv", None)
        st.rerun()

if current.pairs is None:  # identification searches every probe of a folder (not a protocol's pairs)
    st.subheader(t("ident.title"))
    st.caption(t("ident.how"))
    mode = st.radio(t("ident.mode"), ["off", "auto", "csv"], format_func=lambda k: t(f"ident.{k}"), horizontal=True,
                    key="ident_mode")
    if mode == "off":
        st.session_state.pop("gallery", None)
    elif mode == "auto":
        st.session_state["gallery"] = "auto"
    else:
        from faceroc_core.identify import read_gallery_csv

        g = st.file_uploader(t("ident.upload"), type=["csv"], key="gallery_upload")
        if g is not None:
            try:
                roles = read_gallery_csv(g.getvalue(), [r.relpath for r in ds.images], source=g.name)
                st.session_state["gallery"] = g.getvalue()
                st.success(t("ident.loaded", g=int(roles.gallery.sum()), p=int(roles.probe.sum())),
                           icon=":material/person_search:")
            except FaceROCError as e:
                st.error(plain(str(e)), icon=":material/error:")
                st.session_state.pop("gallery", None)
else:
    st.session_state.pop("gallery", None)

st.subheader(t("faces.align"))
why = detector_available()
if why:
    st.warning(t("faces.no_detector", why=why), icon=":material/warning:")
else:
    sample = tuple(str(ds.images[i].path) for i in sample_indices(ds.images, k=20))
    with st.spinner(t("compare.stage.faces")):
        advice, pairs = alignment_check(current.fingerprint(), sample)
    if advice.suggest:
        st.warning(t(f"faces.suggest.{advice.kind}", share=advice.face_share or 0, spread=advice.spread or 0),
                   icon=":material/center_focus_strong:")
    elif advice.kind == "few_faces":
        st.info(t("faces.few_faces", found=advice.n_found, n=advice.n_checked))
    else:
        st.caption(t("faces.framed", n=advice.n_checked))
    st.toggle(t("faces.align"), value=state.align_all(), key="align_all_toggle", help=t("faces.align_help"),
              on_change=_set_align_all)
    if state.align_all():
        st.success(t("faces.align_on"), icon=":material/center_focus_strong:")
    if pairs and (advice.suggest or state.align_all()):
        st.caption(t("faces.before_after"))
        cols = st.columns(len(pairs))
        for c, (before, after) in zip(cols, pairs):
            c.image([before, after], width=96)

st.subheader(t("faces.per_id"))
st.altair_chart(identity_chart(counts, lang=lang()), key="identity_chart", width="stretch")

st.subheader(t("faces.samples"))
by_id: dict[str, list[str]] = {}
for r in ds.images:
    if len(by_id.get(r.identity, [])) < 4:
        by_id.setdefault(r.identity, []).append(str(r.path))
shown = list(by_id)[:12]
fp = current.fingerprint()
grid = st.columns(4)
for k, ident in enumerate(shown):
    imgs = [i for i in thumbnails(fp, tuple(by_id[ident])) if i is not None]
    with grid[k % 4]:
        if imgs:
            st.image(imgs, width=52)
        st.caption(f"{plain(ident)} · {counts[ident]}")
if len(by_id) > len(shown):
    st.caption(f"… {len(by_id) - len(shown)} more")

skipped = list(current.upload_skipped) + list(ds.skipped)
with st.expander(t("faces.skipped", n=len(skipped)), expanded=0 < len(skipped) <= 20):
    skipped_table(skipped)
