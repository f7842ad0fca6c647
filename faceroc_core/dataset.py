"""Labelled face folders: find the images and their identities.

Identity is either the sub-folder name (``alice/003.png``) or the filename
prefix before the first ``_`` (``alice_003.png``).  ``labels="auto"`` picks
the folder scheme when the images sit in sub-folders, else the prefix scheme.
Hidden files and files that are not images are skipped and listed; whether an
image can be decoded is found out later, when it is read
(:mod:`faceroc_core.images`), and such images are listed too.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DatasetError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".pgm", ".ppm", ".pbm"})
LABEL_MODES = ("auto", "folder", "prefix")
NON_IMAGE_QUIET = frozenset({"readme", "readme.txt", "readme.md", "license", "license.txt", ".ds_store", "thumbs.db"})


@dataclass(frozen=True)
class Skipped:
    """A file left out of the evaluation, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class ImageRecord:
    path: Path
    identity: str
    relpath: str  # relative to the dataset root, forward slashes, for display


@dataclass(frozen=True)
class Dataset:
    """The images of a labelled folder, in a stable order (by identity, then path)."""

    root: Path
    images: tuple[ImageRecord, ...]
    label_mode: str  # "folder" or "prefix" (resolved, never "auto")
    skipped: tuple[Skipped, ...] = field(default=())

    @property
    def identities(self) -> list[str]:
        return sorted({r.identity for r in self.images})

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.identity for r in self.images).items()))

    def pair_counts(self) -> tuple[int, int]:
        """(genuine, impostor) unordered pairs, self-pairs excluded."""
        return pair_counts(self.counts().values())


def pair_counts(per_identity) -> tuple[int, int]:
    sizes = list(per_identity)
    n = sum(sizes)
    genuine = sum(k * (k - 1) // 2 for k in sizes)
    return genuine, n * (n - 1) // 2 - genuine


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") or part.startswith("__MACOSX") for part in rel.parts)


def _prefix_identity(name: str) -> str | None:
    stem = Path(name).stem
    if "_" not in stem:
        return None
    ident = stem.split("_", 1)[0]
    return ident or None


def scan_folder(root, *, labels: str = "auto", max_images: int | None = None,
                identities=None) -> Dataset:
    """Find the labelled images under ``root``.

    ``identities``, when given, keeps only those people (e.g. a held-out half).
    Raises :class:`DatasetError` for a missing or empty folder, fewer than two
    identities, or no identity with two images (no genuine pair).
    """
    if labels not in LABEL_MODES:
        raise DatasetError(f"labels must be one of {', '.join(LABEL_MODES)}, got {labels!r}")
    root = Path(root)
    if not root.exists():
        raise DatasetError("folder not found", path=str(root), hint="give the path of a folder of face images")
    if not root.is_dir():
        raise DatasetError("not a folder", path=str(root), hint="give the folder that holds the images (or unpack the zip)")

    skipped: list[Skipped] = []
    found: list[tuple[Path, Path]] = []  # (abs, rel)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            rel = rel_dir / name
            if _is_hidden(rel):
                skipped.append(Skipped(rel.as_posix(), "hidden file"))
                continue
            if Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                if name.lower() not in NON_IMAGE_QUIET:
                    skipped.append(Skipped(rel.as_posix(), "not an image (PNG, JPEG, BMP, WebP or PGM expected)"))
                else:
                    skipped.append(Skipped(rel.as_posix(), "not an image"))
                continue
            p = Path(dirpath) / name
            if p.is_symlink():
                skipped.append(Skipped(rel.as_posix(), "symbolic link (not followed)"))
                continue
            found.append((p, rel))

    if not found:
        raise DatasetError(
            "no images found", path=str(root),
            hint="put PNG/JPEG/BMP/WebP/PGM files in one sub-folder per person (alice/001.png) or name them alice_001.png",
        )

    in_subfolders = any(len(rel.parts) > 1 for _, rel in found)
    mode = labels if labels != "auto" else ("folder" if in_subfolders else "prefix")

    records: list[ImageRecord] = []
    for p, rel in found:
        if mode == "folder":
            if len(rel.parts) < 2:
                skipped.append(Skipped(rel.as_posix(), "not in an identity sub-folder"))
                continue
            ident = rel.parts[-2]
        else:
            prefix = _prefix_identity(rel.name)
            if prefix is None:
                skipped.append(Skipped(rel.as_posix(), "no identity prefix (expected name_number.ext, e.g. alice_003.png)"))
                continue
            ident = prefix
        records.append(ImageRecord(path=p, identity=ident, relpath=rel.as_posix()))

    if identities is not None:
        keep = {str(i) for i in identities}
        records = [r for r in records if r.identity in keep]
    records.sort(key=lambda r: (r.identity, r.relpath))
    if max_images is not None and len(records) > max_images:
        raise DatasetError(
            f"{len(records)} images, more than the limit of {max_images}", path=str(root),
            hint="evaluate a subset of the folder or raise the limit",
        )
    ds = Dataset(root=root, images=tuple(records), label_mode=mode, skipped=tuple(skipped))
    check_dataset(ds)
    return ds


def check_dataset(ds: Dataset) -> None:
    """Raise :class:`DatasetError` unless ``ds`` has a genuine and an impostor pair."""
    counts = ds.counts()
    where = str(ds.root)
    if not counts:
        raise DatasetError(
            "no usable images", path=where,
            hint="see the skipped files; put images in one sub-folder per person",
        )
    if len(counts) < 2:
        only = next(iter(counts))
        raise DatasetError(
            f"only one identity ({only!r}); impostor pairs need at least two people", path=where,
            hint="add images of a second person" if ds.label_mode == "folder" else
            "name files person_number.ext (alice_001.png) or use one sub-folder per person",
        )
    if max(counts.values()) < 2:
        raise DatasetError(
            f"{len(counts)} identities but none has two images, so there is no genuine pair", path=where,
            hint="add a second image for at least one person (check --labels: folder or prefix)",
        )


EXCLUDED = "left out by you (test-set check)"


def amend(ds: Dataset, *, exclude=(), merge=()) -> Dataset:
    """``ds`` with the images at ``exclude`` (relative paths) left out and the identities renamed by ``merge``
    (``(old, new)`` pairs: one person filed under two names becomes one), in the usual order.

    >>> ds = Dataset(root=Path("."), label_mode="folder", images=tuple(
    ...     ImageRecord(Path(p), p.split("/")[0], p) for p in ["a/1.png", "a/2.png", "b/1.png", "b2/1.png"]))
    >>> new = amend(ds, exclude=["a/2.png"], merge=[("b2", "b")])
    >>> [(r.relpath, r.identity) for r in new.images], [s.path for s in new.skipped]
    ([('a/1.png', 'a'), ('b/1.png', 'b'), ('b2/1.png', 'b')], ['a/2.png'])
    """
    gone = {str(p) for p in exclude}
    rename = {str(a): str(b) for a, b in merge}
    records = [r if r.identity not in rename else ImageRecord(path=r.path, identity=rename[r.identity], relpath=r.relpath)
               for r in ds.images if r.relpath not in gone]
    records.sort(key=lambda r: (r.identity, r.relpath))
    skipped = ds.skipped + tuple(Skipped(r.relpath, EXCLUDED) for r in ds.images if r.relpath in gone)
    out = Dataset(root=ds.root, images=tuple(records), label_mode=ds.label_mode, skipped=skipped)
    check_dataset(out)
    return out
