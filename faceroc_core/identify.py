"""Identification (1:N): searches of probe images against a gallery of enrolled people — CMC, FNIR at FPIR.

Definitions (NIST FRTE 1:N's, with one candidate list per probe):

* **score** — the cosine of L2-normalised float64 embeddings, as everywhere in FaceROC; a gallery **person's
  score** for a probe is the highest over that person's gallery images (several photos per person: the best one
  counts).
* a probe is **mated** when its person has gallery images, **non-mated** otherwise (open set).
* a mated probe's **rank** = 1 + the number of *other* gallery people whose score is strictly higher than its
  mate's (equal scores do not push the mate down).  **CMC(k)** = the share of mated probes with rank <= k,
  k = 1..20 (rank-1 accuracy = CMC(1)).
* **FPIR(t)** = the share of non-mated probes whose highest score is >= t.  For a target FPIR the threshold is the
  smallest t, among the non-mated probes' highest scores and +inf, with FPIR(t) <= target; **FNIR(t)** = the share
  of mated probes whose mate is not at rank 1 or scores < t.  A target needs at least 1 / target non-mated probes;
  with fewer, FNIR and the threshold there are None.

Probes are scored against the gallery one tile at a time (a matrix product, :data:`TILE_CELLS` scores at once);
per probe only its mate's score, its rank, its best non-mate and its highest score are kept, never the whole
probe x gallery matrix.  Gallery and probes come from a CSV (``image,role``, :func:`read_gallery_csv`) or the
documented split :func:`auto_split`.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from .errors import DatasetError

RANKS = 20
FPIRS = (0.001, 0.01, 0.1)
TILE_CELLS = 8_000_000  # probe x gallery-image scores held at once (64 MB)
AUTO_NONMATED_EVERY = 10  # --gallery auto: every 10th person (sorted by name) is kept out of the gallery
MAX_GALLERY_CSV_BYTES = 50 * 2**20


@dataclass(frozen=True, eq=False)
class Roles:
    """Which images are enrolled (gallery) and which are searched (probes); the rest are not used."""

    gallery: np.ndarray  # bool (n_images,)
    probe: np.ndarray  # bool (n_images,)
    source: str  # the CSV's name, or "auto"


@dataclass(frozen=True, eq=False)
class Searches:
    """Each probe's search: the mate's score and rank (mated), the best other person, the highest score."""

    probe: np.ndarray  # int64 image rows of the probes
    mated: np.ndarray  # bool
    mate_score: np.ndarray  # float64 (NaN for non-mated)
    rank: np.ndarray  # int64 (0 for non-mated)
    top_score: np.ndarray  # float64: the highest gallery person's score
    other_score: np.ndarray  # float64: the highest score of a person other than the probe's own
    other_person: np.ndarray  # int64: that person (an index into ``people``)
    people: tuple[str, ...]  # the gallery people
    n_gallery: int


@dataclass(frozen=True)
class FnirAt:
    fpir: float
    fnir: float | None
    threshold: float | None


@dataclass(frozen=True, eq=False)
class Identification:
    """One model's 1:N results (module text)."""

    n_gallery: int
    gallery_people: int
    mated: int
    nonmated: int
    cmc: tuple[float, ...]  # CMC(1..RANKS)
    fnir_at_fpir: tuple[FnirAt, ...]
    curve_fpir: np.ndarray  # the FNIR-FPIR curve: one point per distinct non-mated top score (and +inf)
    curve_fnir: np.ndarray
    curve_threshold: np.ndarray
    rank1_interval: object | None = None  # uncertainty.Interval over the probes' people
    misses: tuple[tuple[str, int, float, str, float], ...] = ()  # mated probes that miss: (probe image, rank,
    # mate score, best other person, its score), worst first
    false_hits: tuple[tuple[str, str, float], ...] = ()  # non-mated probes scored highest: (image, person, score)

    @property
    def rank1(self) -> float:
        return self.cmc[0] if self.cmc else float("nan")

    def text(self, lang: str = "en") -> str:
        """"rank-1 92.0%, rank-5 97.1%; FNIR 12.5% at FPIR 0.01" for a table line."""
        ranks = ", ".join(f"rank-{k} {100 * self.cmc[k - 1]:.1f}%" for k in (1, 5, 10) if k <= len(self.cmc))
        at = "; ".join(f"FNIR {100 * p.fnir:.1f}% at FPIR {p.fpir:g}" for p in self.fnir_at_fpir if p.fnir is not None)
        if lang == "ja":
            return f"{ranks}（登録 {self.gallery_people} 人、本人あり {self.mated}・本人なし {self.nonmated} 件の検索）" + (f"; {at}" if at else "")
        return (f"{ranks} ({self.gallery_people} people enrolled; {self.mated} mated, {self.nonmated} non-mated searches)"
                + (f"; {at}" if at else ""))


def read_gallery_csv(data, relpaths, *, source: str = "gallery") -> Roles:
    """``image,role`` rows (``image`` relative to the faces folder, ``role`` ``gallery`` or ``probe``)."""
    if isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    else:
        p = Path(data)
        source = p.name
        if p.stat().st_size > MAX_GALLERY_CSV_BYTES:
            raise DatasetError(f"is {p.stat().st_size / 2**20:.0f} MB (at most {MAX_GALLERY_CSV_BYTES // 2**20} MB)",
                               path=source)
        raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError("is not UTF-8 text", path=source, hint="save it as UTF-8 CSV: image,role") from None
    reader = csv.reader(io.StringIO(text))
    head = [h.strip().lower() for h in next(reader, [])]
    if head[:2] != ["image", "role"]:
        raise DatasetError(f"the header is {','.join(head)[:100]!r}", path=source,
                           hint="the first line must be image,role (role: gallery or probe)")
    row = {str(p): k for k, p in enumerate(relpaths)}
    gallery = np.zeros(len(row), bool)
    probe = np.zeros(len(row), bool)
    for line, r in enumerate(reader, start=2):
        if not r or not "".join(r).strip():
            continue
        k = row.get(r[0].strip().replace("\\", "/"))
        if k is None:
            raise DatasetError(f"line {line}: {r[0].strip()[:200]!r} is not among the faces", path=source,
                               hint="paths are relative to the faces folder (e.g. alice/001.jpg)")
        role = r[1].strip().lower() if len(r) > 1 else ""
        if role not in ("gallery", "probe"):
            raise DatasetError(f"line {line}: role {role[:20]!r}", path=source, hint="role is gallery or probe")
        (gallery if role == "gallery" else probe)[k] = True
    if (gallery & probe).any():
        k = int(np.flatnonzero(gallery & probe)[0])
        raise DatasetError(f"{relpaths[k]} is both gallery and probe", path=source, hint="give each image one role")
    return _checked(gallery, probe, source)


def auto_split(relpaths, identities) -> Roles:
    """The documented split of ``--gallery auto``: people sorted by name; every :data:`AUTO_NONMATED_EVERY`-th
    person (the 10th, 20th...) is kept out of the gallery and all their images are non-mated probes; every other
    person enrols their first image (by path) and searches with the rest (a person with one image is enrolled
    only, a distractor in the gallery).

    >>> r = auto_split(["a/1", "a/2", "b/1"], ["a", "a", "b"])
    >>> r.gallery.tolist(), r.probe.tolist()
    ([True, False, True], [False, True, False])
    """
    ids = np.asarray(identities).astype(str)
    paths = np.asarray(relpaths).astype(str)
    people = sorted(set(ids.tolist()))
    out = {p: k for k, p in enumerate(people) if (k + 1) % AUTO_NONMATED_EVERY == 0}
    gallery = np.zeros(ids.size, bool)
    probe = np.zeros(ids.size, bool)
    for person in people:
        rows = np.flatnonzero(ids == person)
        rows = rows[np.argsort(paths[rows], kind="stable")]
        if person in out:
            probe[rows] = True
        else:
            gallery[rows[0]] = True
            probe[rows[1:]] = True
    return _checked(gallery, probe, "auto")


def _checked(gallery, probe, source) -> Roles:
    if not gallery.any() or not probe.any():
        raise DatasetError(f"{int(gallery.sum())} gallery and {int(probe.sum())} probe images", path=source,
                           hint="identification needs both: mark images gallery or probe (or use --gallery auto)")
    return Roles(gallery=gallery, probe=probe, source=source)


def search(embeddings, identities, roles: Roles, *, tile_cells: int = TILE_CELLS) -> Searches:
    """Every probe against the gallery, a tile of probes at a time (module text).

    Args:
        embeddings: (n, d) of the images (rows as ``identities`` and the roles).
        identities: (n,) each image's person.
    """
    e = np.asarray(embeddings, np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-300)
    ids = np.asarray(identities).astype(str)
    g_rows = np.flatnonzero(roles.gallery)
    people, g_person = np.unique(ids[g_rows], return_inverse=True)
    order = np.argsort(g_person, kind="stable")  # gallery images grouped by person
    g_rows, g_person = g_rows[order], g_person[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g_person)) + 1]
    G = np.ascontiguousarray(e[g_rows].T)
    probes = np.flatnonzero(roles.probe)
    of = {p: k for k, p in enumerate(people)}
    own = np.array([of.get(x, -1) for x in ids[probes]], np.int64)
    n = probes.size
    mate = np.full(n, np.nan)
    rank = np.zeros(n, np.int64)
    top = np.empty(n)
    other = np.empty(n)
    other_p = np.empty(n, np.int64)
    step = max(1, tile_cells // max(g_rows.size, 1))
    for s in range(0, n, step):
        sl = slice(s, min(s + step, n))
        _reduce_tile(e[probes[sl]] @ G, starts, own[sl], mate[sl], rank[sl], top[sl], other[sl], other_p[sl])
    return Searches(probe=probes, mated=own >= 0, mate_score=mate, rank=rank, top_score=top, other_score=other,
                    other_person=other_p, people=tuple(people.tolist()), n_gallery=int(g_rows.size))


@njit(cache=True, nogil=True)
def _reduce_tile(S, starts, own, mate, rank, top, other, other_p):
    """One tile of probe x gallery-image scores to each probe's mate score, rank, highest and best other person
    (gallery images grouped by person from ``starts``; ``own[r]``: the probe's person, -1 when not enrolled)."""
    P = starts.size
    for r in range(S.shape[0]):
        o = own[r]
        m = -np.inf
        if o >= 0:
            end = S.shape[1] if o == P - 1 else starts[o + 1]
            for j in range(starts[o], end):
                m = max(m, S[r, j])
        best = -np.inf
        best_p = 0
        higher = 0
        for p in range(P):
            end = S.shape[1] if p == P - 1 else starts[p + 1]
            v = S[r, starts[p]]
            for j in range(starts[p] + 1, end):
                v = max(v, S[r, j])
            if p == o:
                continue
            if v > best:
                best = v
                best_p = p
            if o >= 0 and v > m:
                higher += 1
        other[r] = best
        other_p[r] = best_p
        top[r] = max(best, m)
        if o >= 0:
            mate[r] = m
            rank[r] = 1 + higher


def identification(s: Searches, *, fpirs=FPIRS, identities=None, paths=None, n_examples: int = 12) -> Identification:
    """CMC, FNIR at each FPIR target and the FNIR-FPIR curve of the searches (module text).

    ``identities`` (of every image) gives the rank-1 accuracy an interval over the mated probes' people;
    ``paths`` (of every image) names the hardest searches' probes (else ``#row``).

    >>> s = Searches(probe=np.arange(3), mated=np.array([True, True, False]), mate_score=np.array([0.9, 0.4, np.nan]),
    ...              rank=np.array([1, 2, 0]), top_score=np.array([0.9, 0.6, 0.5]), other_score=np.array([0.2, 0.6, 0.5]),
    ...              other_person=np.array([1, 0, 0]), people=("a", "b"), n_gallery=2)
    >>> r = identification(s)
    >>> r.cmc[:2], r.fnir_at_fpir[2].fnir
    ((0.5, 1.0), None)
    """
    mated = s.mated
    n_m, n_n = int(mated.sum()), int((~mated).sum())
    ranks = s.rank[mated]
    cmc = tuple(float(np.mean(ranks <= k)) if n_m else float("nan") for k in range(1, RANKS + 1))
    hit1 = mated & (s.rank == 1)
    nm_top = np.sort(s.top_score[~mated])  # ascending
    # thresholds: the non-mated top scores and +inf; FPIR(t) = share of non-mated tops >= t
    thr = np.r_[np.unique(nm_top), np.inf]
    fpir = np.asarray((n_n - np.searchsorted(nm_top, thr, side="left")) / max(n_n, 1), np.float64)
    ok_scores = np.sort(s.mate_score[hit1])
    fnir = np.asarray(1.0 - (ok_scores.size - np.searchsorted(ok_scores, thr, side="left")) / max(n_m, 1), np.float64)
    points = []
    for f in fpirs:
        if n_n < round(1 / f) or n_m == 0:
            points.append(FnirAt(fpir=float(f), fnir=None, threshold=None))
            continue
        k = int(np.argmax(fpir <= f))  # the smallest threshold with FPIR <= target (fpir falls as t rises)
        points.append(FnirAt(fpir=float(f), fnir=float(fnir[k]), threshold=float(thr[k])))
    iv = None
    if identities is not None and n_m:
        from .uncertainty import Influence, rate_interval

        ids = np.asarray(identities).astype(str)[s.probe[mated]]
        _, p = np.unique(ids, return_inverse=True)
        hits = np.bincount(p, weights=(ranks == 1).astype(float))
        counts = np.bincount(p).astype(float)
        r1 = cmc[0]
        iv = rate_interval(r1, Influence(auc=r1, values=(hits - r1 * counts) / n_m), n_people=int(counts.size))
    def name(row) -> str:
        return str(paths[row]) if paths is not None else f"#{int(row)}"

    miss = np.flatnonzero(mated & (s.rank > 1))
    miss = miss[np.argsort(s.mate_score[miss] - s.other_score[miss], kind="stable")][:n_examples]
    false = np.flatnonzero(~mated)
    false = false[np.argsort(-s.top_score[false], kind="stable")][:n_examples]
    return Identification(
        n_gallery=s.n_gallery, gallery_people=len(s.people), mated=n_m, nonmated=n_n, cmc=cmc,
        fnir_at_fpir=tuple(points), curve_fpir=fpir, curve_fnir=fnir, curve_threshold=thr, rank1_interval=iv,
        misses=tuple((name(s.probe[k]), int(s.rank[k]), float(s.mate_score[k]), s.people[int(s.other_person[k])],
                      float(s.other_score[k])) for k in miss),
        false_hits=tuple((name(s.probe[k]), s.people[int(s.other_person[k])], float(s.top_score[k])) for k in false))
