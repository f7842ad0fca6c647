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

    def __len__(self) -> int:
        return int(self.a.size)


def read_pair_list(data, relpaths, identities, *, source: str = "pairs") -> PairList:
    """Parse a pair list against the images of a face folder.

    Two formats:

    * CSV with a header ``a,b[,label]``: image paths relative to the face folder (``alice/001.jpg``); ``label``
      1 (same person) or 0; without it, pairs are genuine when both images have the same identity.
    * LFW's ``pairs.txt`` (and ``pairsDevTest.txt``): a first line of counts, then ``name n1 n2`` (a genuine pair:
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
    if all(x.isdigit() for x in first) and 1 <= len(first) <= 2:
        a, b, lab = _lfw(lines, row, source)
    else:
        a, b, lab = _csv(text, row, source)
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    genuine = np.where(np.asarray([x is None for x in lab]), ids[a] == ids[b],
                       np.asarray([bool(x) for x in lab]))
    if a.size == 0 or genuine.all() or not genuine.any():
        raise DatasetError(f"the pair list has {int(genuine.sum())} same-person and {int((~genuine).sum())} "
                           "different-people pairs", path=source, hint="a protocol needs both kinds of pair")
    return PairList(a=a, b=b, genuine=genuine.astype(bool), source=source)


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
    if head[:2] != ["a", "b"] or (len(head) > 2 and head[2] != "label"):
        raise DatasetError(f"the header is {','.join(head)[:100]!r}", path=source,
                           hint="the first line must be a,b or a,b,label (or use LFW's pairs.txt format)")
    a: list[int] = []
    b: list[int] = []
    lab: list[bool | None] = []
    for line, r in enumerate(reader, start=2):
        if not r or not "".join(r).strip():
            continue
        if len(r) < 2:
            raise DatasetError(f"line {line}: {len(r)} cell(s), need a,b", path=source)
        a.append(_find(r[0], row, source, line))
        b.append(_find(r[1], row, source, line))
        if len(head) > 2:
            v = r[2].strip() if len(r) > 2 else ""
            if v not in ("0", "1"):
                raise DatasetError(f"line {line}: label {v[:20]!r}", path=source,
                                   hint="label is 1 (same person) or 0 (different people)")
            lab.append(v == "1")
        else:
            lab.append(None)
    return a, b, lab


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
