"""Session state: this browser session's models, faces and last result.

Each session writes its uploads into its own temporary folder under names the
app chooses; an uploaded file name is shown, never used as a path.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import tomllib
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import streamlit as st

from faceroc_core.models import model_kind
from faceroc_core.options import OPTION_NAMES
from faceroc_core.results import ModelFailure

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "demo" / "demo.toml"
SESSION_BASE = Path(os.environ.get("FACEROC_SESSION_DIR") or tempfile.gettempdir()) / "faceroc-sessions"


@dataclass(frozen=True)
class ModelEntry:
    """One model in this session, with the user's settings (plain values, hashable)."""

    id: str
    name: str
    path: str  # app-chosen path (or the bundled demo file)
    filename: str  # the uploaded name, for display only
    kind: str  # "onnx" | "pth"
    sha: str
    arch: str | None = None
    embedding_dim: int | None = None
    preset: str = "imagenet"
    mean: str = ""
    std: str = ""
    size: str = ""
    bgr: bool = False
    crop: str = ""
    align: bool | None = None  # None: follow the Faces page's switch
    flip: bool = False  # the flip test (image + mirror)
    error: ModelFailure | None = None  # set when the file itself cannot be used
    notes: tuple[str, ...] = ()  # what was inferred on upload (shown beside the model)

    def model_options(self) -> dict:
        """The entry's settings as the engine's model options (:data:`faceroc_core.options.MODEL_OPTIONS`)."""
        return {k: getattr(self, k) for k in OPTION_NAMES if hasattr(self, k)}

    def options_key(self) -> str:
        d = {k: v for k, v in self.__dict__.items() if k not in ("id", "filename", "error", "notes")}
        return json.dumps(d, sort_keys=True)


@dataclass(frozen=True)
class FacesSource:
    kind: str  # "demo" | "dir" | "zip" | "path" | "bin"
    root: str
    labels: str = "auto"
    identities: tuple[str, ...] | None = None
    display: str = ""
    upload_skipped: tuple = field(default=())  # Skipped entries from ingesting an upload
    exclude: tuple[str, ...] = ()  # images left out after the test-set check (relative paths)
    merge: tuple[tuple[str, str], ...] = ()  # identities merged after the test-set check: (old name, kept name)
    pairs: str | None = None  # a protocol's pair list (an unpacked .bin's pairs): only those pairs are scored

    def fingerprint(self) -> str:
        """Cheap content fingerprint: every file's relative path, size and mtime (and what was left out or
        merged)."""
        h = hashlib.sha256(f"{self.kind}|{self.root}|{self.labels}|{self.identities}|{self.exclude}|{self.merge}|"
                           f"{self.pairs}".encode())
        root = Path(self.root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for n in sorted(filenames):
                p = Path(dirpath) / n
                try:
                    stt = p.stat()
                except OSError:
                    continue
                h.update(f"{p.relative_to(root)}|{stt.st_size}|{stt.st_mtime_ns}\n".encode())
        return h.hexdigest()


IDLE_SECONDS = float(os.environ.get("FACEROC_SESSION_IDLE_HOURS", "6")) * 3600
QUOTA_BYTES = int(float(os.environ.get("FACEROC_SESSION_QUOTA_GB", "5")) * 2**30)


class QuotaError(Exception):
    """An upload that would take this session past its disk quota."""


def check_quota(incoming: int, *, replacing: str | None = None) -> None:
    """Raise :class:`QuotaError` when ``incoming`` more bytes would take this session past its quota
    (the upload at ``replacing``, about to be replaced, does not count)."""
    d = st.session_state.get("_workdir")
    used = 0
    if d and Path(d).is_dir():
        skip = upload_folder(replacing)
        used = sum(f.stat().st_size for f in Path(d).resolve().rglob("*")
                   if f.is_file() and not (skip is not None and f.is_relative_to(skip)))
    if used + incoming > QUOTA_BYTES:
        raise QuotaError(f"{(used + incoming) / 2**30:.1f}")


def session_dir() -> Path:
    d = st.session_state.get("_workdir")
    if d is None or not Path(d).is_dir():
        SESSION_BASE.mkdir(parents=True, exist_ok=True)
        d = tempfile.mkdtemp(prefix="s-", dir=SESSION_BASE)
        st.session_state["_workdir"] = d
        atexit.register(shutil.rmtree, d, True)
    return Path(d)


def touch_session() -> None:
    """Mark this session's folder as in use (its files outlive it by at most the idle time)."""
    d = st.session_state.get("_workdir")
    if d and Path(d).is_dir():
        os.utime(d)


def sweep_idle_sessions(now: float | None = None) -> int:
    """Delete other sessions' folders untouched for longer than the idle time; returns how many went.

    Streamlit says nothing when a browser tab closes, so a session's uploads are
    deleted once it has been idle this long (and at server exit).
    """
    now = time.time() if now is None else now
    mine = st.session_state.get("_workdir")
    gone = 0
    if not SESSION_BASE.is_dir():
        return 0
    for d in SESSION_BASE.glob("s-*"):
        try:
            if d.is_dir() and str(d) != mine and now - d.stat().st_mtime > IDLE_SECONDS:
                shutil.rmtree(d, ignore_errors=True)
                gone += 1
        except OSError:
            continue
    return gone


def public(text: str) -> str:
    """Text for the page with server folders (session uploads, the installation) cut down to the file's own name."""
    text = str(text)
    for base in {str(SESSION_BASE.resolve()), str(SESSION_BASE), str(ROOT)}:
        text = re.sub(re.escape(base) + r"[^\s:'\"]*/", "", text)
    return text


def server_root() -> Path | None:
    """The folder that "folder on the server" may read, or None when that option is off.

    Only offered when ``FACEROC_DATA_ROOT`` is set, and never when the sessions' upload
    folder lies inside it (one session must not open another's uploads).
    """
    root = os.environ.get("FACEROC_DATA_ROOT")
    if not root:
        return None
    r = Path(root).expanduser().resolve()
    base = SESSION_BASE.resolve()
    if base == r or base.is_relative_to(r):
        return None
    return r


def upload_folder(path: str | None) -> Path | None:
    """The upload folder holding ``path`` (``<session>/<kind>/<id>``), or None when ``path`` is not an upload of
    this session (the bundled demo, a server folder)."""
    d = st.session_state.get("_workdir")
    if not path or not d:
        return None
    base, p = Path(d).resolve(), Path(path).resolve()
    if not p.is_relative_to(base):
        return None
    rel = p.relative_to(base).parts
    return base / rel[0] / rel[1] if len(rel) >= 2 else None


def discard(path: str | None) -> None:
    """Delete the upload folder holding ``path``; files outside this session's uploads are never touched."""
    folder = upload_folder(path)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def unique_name(name: str, taken) -> str:
    """``name``, or ``name (2)``, ``name (3)``... so that no two models share a display name."""
    taken = set(taken)
    out, k = name, 2
    while out in taken:
        out, k = f"{name} ({k})", k + 1
    return out


def new_id() -> str:
    return uuid.uuid4().hex[:10]


def demo_entries() -> tuple[list[ModelEntry], FacesSource]:
    from faceroc_core.images import file_hash

    cfg = tomllib.loads(DEMO_CONFIG.read_text())
    models = []
    for m in cfg["model"]:
        p = DEMO_CONFIG.parent / m["path"]
        kind = model_kind(p) or "onnx"
        models.append(ModelEntry(id=new_id(), name=m.get("name", p.stem), path=str(p), filename=p.name, kind=kind,
                                 sha=file_hash(p), arch=m.get("arch"), size=m.get("size", ""),
                                 preset=m.get("preset", "imagenet")))
    ds = cfg["dataset"]
    faces = FacesSource(kind="demo", root=str(DEMO_CONFIG.parent / ds["path"]), labels=ds.get("labels", "auto"),
                        identities=tuple(ds["identities"]) if ds.get("identities") else None,
                        display="ORL (demo)")
    return models, faces


def init() -> None:
    ss = st.session_state
    if "_swept" not in ss:  # once per browser session
        ss["_swept"] = sweep_idle_sessions()
    touch_session()
    if "lang" not in ss:
        ss["lang"] = "en"
    if "models" not in ss:
        models, faces = demo_entries()
        ss["models"] = models
        ss["faces"] = faces
        ss["is_demo"] = True
        ss["demo_models"] = True


def reset_to_demo() -> None:
    models, faces = demo_entries()
    st.session_state["models"] = models
    st.session_state["faces"] = faces
    st.session_state["is_demo"] = True
    st.session_state["demo_models"] = True
    st.session_state["faces_source"] = "demo"  # the Faces page's choice follows (called from a button's callback)
    st.session_state.pop("result", None)


def models() -> list[ModelEntry]:
    return list(st.session_state.get("models", []))


def set_models(entries: list[ModelEntry]) -> None:
    st.session_state["models"] = list(entries)
    st.session_state["is_demo"] = False
    st.session_state["demo_models"] = False


def update_model(mid: str, **changes) -> None:
    set_models([replace(m, **changes) if m.id == mid else m for m in models()])


def align_all() -> bool:
    """The Faces page's switch: align every model's faces unless the model says otherwise."""
    return bool(st.session_state.get("align_all", False))


def aligns(m: ModelEntry) -> bool:
    return m.align if m.align is not None else align_all()


def resolved(m: ModelEntry) -> ModelEntry:
    """The entry with its alignment decided (what a run and its cache key use)."""
    return replace(m, align=aligns(m))


def faces() -> FacesSource | None:
    return st.session_state.get("faces")


def set_faces(src: FacesSource | None) -> None:
    st.session_state["faces"] = src
    st.session_state["is_demo"] = False
