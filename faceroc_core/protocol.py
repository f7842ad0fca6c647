"""A protocol's pairs: the pair list evaluated instead of every pair of a face folder.

Two formats, read against the images of the folder: CSV ``a,b[,label]`` (paths relative to the folder) and LFW's
``pairs.txt`` / ``pairsDevTest.txt``.  Nothing else of FaceROC is imported here but its errors.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DatasetError

MAX_PAIR_LIST_BYTES = 50 * 2**20


@dataclass(frozen=True, eq=False)
class PairList:
    """The pairs a protocol evaluates instead of all pairs: image rows ``a[k]``, ``b[k]`` and whether each pair is
    genuine (the protocol's label, or the identities when it gives none)."""

    a: np.ndarray  # int64
    b: np.ndarray  # int64
    genuine: np.ndarray  # bool
    source: str
    folds: np.ndarray | None = None  # int64 fold of each pair (a CSV's ``fold`` column, pairs.txt's sets), or None

    def __len__(self) -> int:
        return int(self.a.size)


def read_pair_list(data, relpaths, identities, *, source: str = "pairs") -> PairList:
    """Parse a pair list against the images of a face folder.

    Two formats:

    * CSV with a header ``a,b[,label][,fold]``: image paths relative to the face folder (``alice/001.jpg``);
      ``label`` 1 (same person) or 0; without it, pairs are genuine when both images have the same identity;
      ``fold`` (any text or number) the fold of each pair for the 10-fold accuracy (:mod:`.tenfold`).
    * LFW's ``pairs.txt`` (and ``pairsDevTest.txt``): a first line of counts (``10 300``: ten sets, each of 300
      genuine then 300 impostor pairs — the folds), then ``name n1 n2`` (a genuine pair:
      ``name/name_000n1.jpg``, ``name/name_000n2.jpg``) or ``name1 n1 name2 n2`` (an impostor pair).

    >>> pl = read_pair_list("a,b\\nx/1.png,x/2.png\\nx/1.png,y/1.png\\n", ["x/1.png", "x/2.png", "y/1.png"],
    ...                     ["x", "x", "y"])
    >>> pl.a.tolist(), pl.b.tolist(), pl.genuine.tolist()
    ([0, 0], [1, 2], [True, False])
    """
    if isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    elif isinstance(data, str) and "\n" in data:
        raw = data.encode()
    else:
        p = Path(data)
        source = p.name
        if p.stat().st_size > MAX_PAIR_LIST_BYTES:
            raise DatasetError(f"the pair list is {p.stat().st_size / 2**20:.0f} MB (at most "
                               f"{MAX_PAIR_LIST_BYTES // 2**20} MB)", path=source)
        raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError("the pair list is not UTF-8 text", path=source,
                           hint="save it as UTF-8 CSV (a,b[,label]) or LFW pairs.txt") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DatasetError("the pair list is empty", path=source, hint="one pair per line: a,b[,label]")
    row = {str(p): k for k, p in enumerate(relpaths)}
    ids = np.asarray(identities).astype(str)
    first = lines[0].replace("\t", " ").split()
    folds: list | None = None
    if all(x.isdigit() for x in first) and 1 <= len(first) <= 2:
        a, b, lab = _lfw(lines, row, source)
        if len(first) == 2 and int(first[0]) * 2 * int(first[1]) == len(a) and int(first[0]) > 1:
            folds = np.repeat(np.arange(int(first[0])), 2 * int(first[1])).tolist()  # the sets are the folds
    else:
        a, b, lab, folds = _csv(text, row, source)
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    genuine = np.where(np.asarray([x is None for x in lab]), ids[a] == ids[b],
                       np.asarray([bool(x) for x in lab]))
    if a.size == 0 or genuine.all() or not genuine.any():
        raise DatasetError(f"the pair list has {int(genuine.sum())} same-person and {int((~genuine).sum())} "
                           "different-people pairs", path=source, hint="a protocol needs both kinds of pair")
    fold_ids = None
    if folds is not None:
        _, first_at, codes = np.unique(np.asarray(folds).astype(str), return_index=True, return_inverse=True)
        fold_ids = np.argsort(np.argsort(first_at))[codes].astype(np.int64)  # numbered as they first appear
        if int(fold_ids.max()) < 1:
            raise DatasetError("the fold column names one fold only", path=source,
                               hint="give each pair its fold (1..10), or leave the column out: then 10 folds in order")
    return PairList(a=a, b=b, genuine=genuine.astype(bool), source=source, folds=fold_ids)


def _find(name: str, row: dict, source: str, line: int) -> int:
    k = row.get(name.strip().replace("\\", "/"))
    if k is None:
        raise DatasetError(f"line {line}: {name.strip()[:200]!r} is not among the faces", path=source,
                           hint="paths are relative to the faces folder (e.g. alice/001.jpg) and must be readable "
                                "images in it")
    return k


def _csv(text: str, row: dict, source: str):
    reader = csv.reader(io.StringIO(text))
    head = [h.strip().lower() for h in next(reader)]
    extra = head[2:]
    if head[:2] != ["a", "b"] or any(h not in ("label", "fold") for h in extra) or len(set(extra)) < len(extra):
        raise DatasetError(f"the header is {','.join(head)[:100]!r}", path=source,
                           hint="the first line must be a,b with optional label and fold columns (or use LFW's "
                                "pairs.txt format)")
    at_label = head.index("label") if "label" in head else None
    at_fold = head.index("fold") if "fold" in head else None
    a: list[int] = []
    b: list[int] = []
    lab: list[bool | None] = []
    folds: list[str] = []
    for line, r in enumerate(reader, start=2):
        if not r or not "".join(r).strip():
            continue
        if len(r) < 2:
            raise DatasetError(f"line {line}: {len(r)} cell(s), need a,b", path=source)
        a.append(_find(r[0], row, source, line))
        b.append(_find(r[1], row, source, line))
        if at_label is not None:
            v = r[at_label].strip() if len(r) > at_label else ""
            if v not in ("0", "1"):
                raise DatasetError(f"line {line}: label {v[:20]!r}", path=source,
                                   hint="label is 1 (same person) or 0 (different people)")
            lab.append(v == "1")
        else:
            lab.append(None)
        if at_fold is not None:
            v = r[at_fold].strip() if len(r) > at_fold else ""
            if not v:
                raise DatasetError(f"line {line}: no fold", path=source, hint="give every pair its fold, e.g. 1..10")
            folds.append(v[:50])
    return a, b, lab, (folds if at_fold is not None else None)


def _lfw(lines, row: dict, source: str):
    by_stem: dict[str, int] = {}
    for path, k in row.items():
        by_stem.setdefault(Path(path).stem, k)

    def image(name: str, n: str, line: int) -> int:
        if not n.isdigit():
            raise DatasetError(f"line {line}: {n[:20]!r} is not an image number", path=source)
        stem = f"{name}_{int(n):04d}"
        if stem not in by_stem:
            raise DatasetError(f"line {line}: {stem} is not among the faces", path=source,
                               hint="point --images at the LFW folder the pairs refer to (name/name_0001.jpg)")
        return by_stem[stem]

    a, b, lab = [], [], []
    for line, text in enumerate(lines[1:], start=2):
        f = text.split()
        if len(f) == 3:
            a.append(image(f[0], f[1], line))
            b.append(image(f[0], f[2], line))
            lab.append(True)
        elif len(f) == 4:
            a.append(image(f[0], f[1], line))
            b.append(image(f[2], f[3], line))
            lab.append(False)
        else:
            raise DatasetError(f"line {line}: {len(f)} fields", path=source,
                               hint="LFW pairs.txt lines are 'name n1 n2' or 'name1 n1 name2 n2'")
    return a, b, lab
