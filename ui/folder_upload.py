"""A folder uploader that sends one .zip: the browser packs the chosen folder, the server receives one value.

Streamlit's own directory uploader sends every file as its own upload and
lists each one (a 1,580-photo folder took minutes); this component reads the
folder in the browser, packs its images into a stored (uncompressed) zip with
fflate (MIT, ``ui/components/fflate-LICENSE``) and sends it once, with a
progress bar.  The server treats the result exactly like an uploaded .zip.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

_HERE = Path(__file__).resolve().parent / "components"
HTML = """<div class="fz"><label class="fz-pick"><svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24"><path fill="currentColor" d="M10 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2h-8l-2-2z"/></svg><span class="fz-pick-text"></span>
<input type="file" webkitdirectory directory multiple></label><p class="fz-hint"></p>
<progress max="1" value="0" hidden></progress><div class="fz-status" role="status"></div></div>"""
# the folder travels base64-encoded inside one message (4/3 of its size): kept well under server.maxMessageSize
MAX_FOLDER_BYTES = 256 * 10**6


@dataclass(frozen=True)
class PackedFolder:
    """What the browser sent: the folder's name (for display only) and the zip's bytes."""

    name: str
    data: bytes
    n_files: int
    other: tuple[str, ...]  # files that were not images (left in the browser), the first 200 by name
    n_other: int


@st.cache_resource(show_spinner=False)
def _component():
    js = (_HERE / "fflate-0.8.3.umd.js").read_text() + "\n" + (_HERE / "folder_zip.js").read_text()
    return st.components.v2.component("faceroc_folder_zip", html=HTML, css=(_HERE / "folder_zip.css").read_text(),
                                      js=js)


def folder_upload(*, key: str, text: dict[str, str], max_files: int,
                  max_bytes: int = MAX_FOLDER_BYTES) -> PackedFolder | None:
    """Show the picker; the packed folder on the run right after the user chose one, else None.

    ``text`` holds the picker's words (``pick``, ``hint``, ``reading``, ``packing``, ``sending``, ``sent``,
    ``none``, ``too_big``, ``failed``), in the page's language.
    """
    res = _component()(key=key, data={"text": text, "max_files": max_files, "max_bytes": max_bytes},
                       on_zip_change=lambda: None)
    sent = getattr(res, "zip", None)
    if not isinstance(sent, dict) or not isinstance(sent.get("b64"), str):
        return None
    try:
        data = base64.b64decode(sent["b64"], validate=True)
    except (binascii.Error, ValueError):
        return None
    return PackedFolder(name=str(sent.get("name") or "folder")[:120], data=data,
                        n_files=int(sent.get("n_files") or 0), n_other=int(sent.get("n_other") or 0),
                        other=tuple(str(x)[:300] for x in (sent.get("other") or [])[:200]))
