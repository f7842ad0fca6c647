"""Turning untrusted uploads (many files, or a .zip) into a labelled folder.

Nothing from an upload is used as a filesystem path: each image is written as
``<dest>/<identity folder>/<running number><ext>`` where the identity folder
is a sanitised, length-limited form of the identity (and the extension comes
from a fixed list).  Zip members with absolute paths or ``..`` parts are
refused and listed; sizes and member counts are capped (zip bombs).
"""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .dataset import IMAGE_EXTENSIONS, Skipped, _prefix_identity
from .errors import DatasetError

MAX_FILES = 20_000
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_FILE_BYTES = 50 * 1024**2
MAX_RATIO = 100  # photos barely compress (JPEG/PNG ~1:1, PGM ~2:1); a member packed tighter than this is refused
_SAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass(frozen=True)
class Ingested:
    root: Path
    label_mode: str
    n_images: int
    identities: dict[str, str] = field(default_factory=dict)  # folder name -> original identity
    skipped: tuple[Skipped, ...] = ()


def safe_folder_name(identity: str) -> str:
    """A folder name for ``identity`` that cannot escape its parent."""
    name = unicodedata.normalize("NFC", identity).strip()
    name = _SAFE.sub("_", name).strip(" .")[:80]
    if not name:
        name = "id_" + hashlib.sha1(identity.encode("utf-8", "replace")).hexdigest()[:10]
    return name


def _parts(name: str) -> list[str] | None:
    """Path components of an upload/zip member name, or None if unsafe."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if any(p == ".." for p in parts) or not parts:
        return None
    return parts


def _classify(entries: list[tuple[list[str], str]], labels: str) -> str:
    if labels in ("folder", "prefix"):
        return labels
    # folder mode when the images sit in sub-folders below a common top folder (if any)
    depths = {len(p) for p, _ in entries}
    common_top = len({p[0] for p, _ in entries}) == 1 and min(depths) >= 2
    inner = [p[1:] if common_top else p for p, _ in entries]
    return "folder" if any(len(p) >= 2 for p in inner) else "prefix"


def ingest_files(files, dest, *, labels: str = "auto") -> Ingested:
    """Write uploaded ``(name, bytes)`` pairs as a labelled folder under ``dest``.

    ``bytes`` may instead be a ``str``: the reason that file is skipped.
    ``name`` may hold a relative path (``people/alice/001.png``, from a
    directory upload or a zip); the identity is the image's parent folder
    (folder mode) or its filename prefix before the first ``_`` (prefix mode).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    skipped: list[Skipped] = []
    entries: list[tuple[list[str], str, bytes]] = []
    total = 0
    for name, data in files:
        shown = str(name)[:200]
        parts = _parts(str(name))
        if parts is None:
            skipped.append(Skipped(shown, "unsafe path (absolute or with ..) — refused"))
            continue
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            skipped.append(Skipped(shown, "hidden file"))
            continue
        if isinstance(data, str):  # the caller already knows why this one cannot be used
            skipped.append(Skipped(shown, data))
            continue
        ext = PurePosixPath(parts[-1]).suffix.lower()
        if ext not in IMAGE_EXTENSIONS:
            skipped.append(Skipped(shown, "not an image (PNG, JPEG, BMP, WebP or PGM expected)"))
            continue
        if len(data) > MAX_FILE_BYTES:
            skipped.append(Skipped(shown, f"larger than {MAX_FILE_BYTES // 2**20} MB"))
            continue
        total += len(data)
        if total > MAX_TOTAL_BYTES or len(entries) >= MAX_FILES:
            raise DatasetError(f"more than {MAX_FILES:,} images or {MAX_TOTAL_BYTES // 2**30} GB in one upload",
                               hint="upload a smaller set, or give a folder path on the server")
        entries.append((parts, ext, data))
    if not entries:
        raise DatasetError("no images in the upload", hint="upload PNG/JPEG/BMP/WebP/PGM files, one folder per person")
    mode = _classify([(p, e) for p, e, _ in entries], labels)
    folders: dict[str, str] = {}
    counters: dict[str, int] = {}
    n = 0
    for parts, ext, data in entries:
        if mode == "folder":
            if len(parts) < 2:
                skipped.append(Skipped("/".join(parts), "not in an identity sub-folder"))
                continue
            ident = parts[-2]
        else:
            prefix = _prefix_identity(parts[-1])
            if prefix is None:
                skipped.append(Skipped("/".join(parts), "no identity prefix (expected name_number.ext)"))
                continue
            ident = prefix
        folder = folders.get(ident)
        if folder is None:
            base = folder = safe_folder_name(ident)
            k = 2
            while folder in folders.values():
                folder, k = f"{base}_{k}", k + 1
            folders[ident] = folder
            (dest / folder).mkdir(exist_ok=True)
        i = counters.get(folder, 0)
        counters[folder] = i + 1
        (dest / folder / f"{i:05d}{ext}").write_bytes(data)
        n += 1
    return Ingested(root=dest, label_mode=mode, n_images=n, identities={v: k for k, v in folders.items()},
                    skipped=tuple(skipped))


def ingest_zip(source, dest, *, labels: str = "auto") -> Ingested:
    """Unpack a .zip of faces safely (see :func:`ingest_files`)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"not a readable .zip ({e})", hint="create the archive again (zip -r faces.zip faces/)") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MAX_FILES * 2:
            raise DatasetError(f"the zip holds {len(infos):,} files, more than the {MAX_FILES * 2:,} limit")
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            raise DatasetError(f"the zip unpacks to more than {MAX_TOTAL_BYTES // 2**30} GB",
                               hint="upload a smaller set, or give a folder path on the server")

        total = 0

        def members():
            nonlocal total
            for info in infos:
                if info.flag_bits & 0x1:
                    yield info.filename, "encrypted zip member (not supported)"
                elif info.file_size > MAX_FILE_BYTES:
                    yield info.filename, f"larger than {MAX_FILE_BYTES // 2**20} MB"
                elif info.compress_size and info.file_size > MAX_RATIO * info.compress_size:
                    yield info.filename, (f"compresses {info.file_size // info.compress_size:,}:1, more than a photo "
                                          f"can (a zip bomb?); not unpacked")
                else:
                    try:
                        data = _read_member(zf, info)
                    except DatasetError as e:
                        yield info.filename, e.reason
                        continue
                    except Exception as e:  # corrupt member: listed, the others go on
                        yield info.filename, f"corrupt zip member ({e})"
                        continue
                    total += len(data)
                    if total > MAX_TOTAL_BYTES:
                        raise DatasetError(f"the zip unpacks to more than {MAX_TOTAL_BYTES // 2**30} GB",
                                           hint="upload a smaller set, or give a folder path on the server")
                    yield info.filename, data

        return ingest_files(list(members()), dest, labels=labels)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, counted as they are unpacked: a header that lies about the size cannot get past the cap."""
    out = bytearray()
    with zf.open(info) as f:
        while chunk := f.read(1 << 20):
            out += chunk
            if len(out) > MAX_FILE_BYTES:
                raise DatasetError(f"unpacks to more than {MAX_FILE_BYTES // 2**20} MB; not unpacked")
            if info.compress_size and len(out) > MAX_RATIO * info.compress_size:
                raise DatasetError(f"unpacks to more than {MAX_RATIO}x its packed size (a zip bomb?); not unpacked")
    return bytes(out)
