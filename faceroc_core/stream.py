"""Exact metrics of every pair without holding the pairs.

The genuine (same-person) scores are few — a few per image — and are kept.
The impostor scores are counted, tile by tile, against every **threshold**:
the distinct genuine scores plus a few fixed query values (the 0.001 grid a
threshold slider can pick, the histogram edges, thresholds asked for).  That
gives, exactly (integer counts, no approximation):

* the number of impostors ``>= t`` and ``== t`` at every threshold ``t``,
  hence the ROC at every genuine threshold and at the corner just above it
  (the curve drawn through them is the full ROC without loss), TAR@FAR (it
  always lands on a genuine threshold), the confusion counts at any grid or
  query threshold, and the impostor histogram;
* the AUC as the tie-aware Mann–Whitney count: one integer ratio,
  ``sum over genuine g of (2 * #impostors < g + #impostors == g) / (2 * G * I)``,
  rounded once to the nearest float;
* per image, the sum over its impostor pairs of ``2 * #genuine > s + #genuine
  == s`` (what the identity-level uncertainty needs, :mod:`.uncertainty`), and
  its most similar image of another person.

How an impostor score finds its place fast: the score range is cut into
up to :data:`K_MAX` equal buckets (the bucket of a value is a monotone function
of it, computed the same way for scores and thresholds).  A bucket holding no
threshold maps to one place at once; a bucket holding thresholds is searched
exactly.  Per-bucket counts also say, after the pass, which few buckets hold
the impostor scores of a given rank: the scores either side of the equal
error rate, kept in the same pass from a band predicted on a sample (or, when
the prediction misses, collected by a second pass), so the EER is
interpolated between the very points of the full ROC that scikit-learn's
curve has.  The highest-scoring impostor pairs are kept as the pass goes.
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numba import njit

from . import metrics as M
from .errors import ScoresError

_logger = logging.getLogger(__name__)

K_MAX = 1 << 17  # buckets at most: their counters stay in the CPU cache (measured: 2**18 is 1.2x, 2**20 2x slower)
LO, HI = -1.0, 1.0
TILE_ROWS, TILE_COLS = 256, 8192
GRID = np.arange(-1000, 1001) / 1000  # exact counts at every 0.001 step (what a threshold slider picks)
HIST_BINS = 80
HIST_EDGES = np.linspace(-1.0, 1.0, HIST_BINS + 1)
MAX_COLLECT = 4_000_000  # distinct impostor scores a second pass may keep (64 MB with their counts)
TOP_K = 20
DUPLICATE_SCORE = 0.995
MAX_DUPLICATES = 2_000
TOP_KEEP = MAX_DUPLICATES  # highest impostor pairs kept by the first pass (>= TOP_K)
TOP_BUFFER = 8192
SAMPLE = 4_000_000  # random impostor pairs (a 2,000 x 2,000 block) that predict where the EER lies
BAND_MAX = 8_000_000  # impostor scores the first pass may keep around the predicted EER (64 MB at most)


# --------------------------------------------------------------------------- kernels (numba)
@njit(cache=True, inline="always")
def _bucket(s, lo, scale, k):
    """The bucket (0..k-1) of score ``s``: monotone in ``s``, the same for scores and thresholds.  Clamped in
    floating point and converted to int32, which vectorises (AVX2 has no float64 -> int64 conversion)."""
    return np.int32(min(max((s - lo) * scale, 0.0), k - 0.5))


@njit(cache=True)
def _buckets(values, lo, scale, k):
    out = np.empty(values.size, np.int64)
    for i in range(values.size):
        out[i] = _bucket(values[i], lo, scale, k)
    return out


@njit(cache=True, nogil=True)
def _count_rows(S, i0, j0, col_from, bl, first, T, g_ge2, gen_at, lo, scale, cells, eq,
                row_b2, col_b2, row_max, row_arg, col_max, col_arg, band_lo, band_hi, band, top_s, top_i, top_j,
                state, floor):
    """Count the impostor scores of one tile ``S`` (rows ``i0..``, columns ``j0..`` of the identity-sorted images).

    Row ``i`` takes columns ``j >= col_from[i]`` only (the first image of a later person): the pairs above the
    diagonal that are not genuine.  ``bl[b, 0]`` is ``2 * #genuine > s`` for every ``s`` of a bucket without
    thresholds, and ``-1`` for a bucket holding thresholds (searched exactly, between ``first[b]`` and
    ``first[b + 1]``); ``bl[b, 1]`` counts the scores in bucket ``b`` (int32: the caller empties it after each
    tile).  Both sit side by side, so a score's bucket costs one cache line (measured: half the time of two
    arrays).  The per-part arrays (``bl``, ``cells``, ``eq``, ``col_*``) belong to this thread.

    Scores in ``[band_lo, band_hi]`` are kept in ``band`` (``state[0]`` counts them, also past its end), and
    the highest scores with their images in ``top_*`` (``state[1]`` filled; when full, the best
    :data:`TOP_KEEP` stay and ``floor[0]`` rises to the lowest of them).
    """
    n_rows, n_cols = S.shape
    k = bl.shape[0]
    cap = band.size
    n_band = state[0]
    n_top = state[1]
    fl = floor[0]
    bb = np.empty(n_cols, np.int32)
    vb = np.empty(n_cols, np.int64)
    cb = col_b2[j0:j0 + n_cols]  # views: the compiler then knows they do not overlap the tile
    cm = col_max[j0:j0 + n_cols]
    ca = col_arg[j0:j0 + n_cols]
    for r in range(n_rows):
        i = i0 + r
        c0 = max(col_from[i] - j0, 0)
        if c0 >= n_cols:
            continue
        row = S[r]
        # 1. buckets (vectorised) and the row's best
        best = -np.inf
        for c in range(c0, n_cols):
            s = row[c]
            bb[c] = _bucket(s, lo, scale, k)
            best = max(best, s)
        # 2. counts, each score's 2 * #genuine above it, the scores in the band
        acc = 0
        for c in range(c0, n_cols):
            b = bb[c]
            bl[b, 1] += 1
            b2 = np.int64(bl[b, 0])
            if b2 < 0:  # thresholds in this bucket: find the place exactly
                q, tie = _place(row[c], first[b], first[b + 1], T, cells, eq)
                b2 = g_ge2[q] + (gen_at[q - 1] if tie else 0)
            vb[c] = b2
            acc += b2
            s = row[c]
            if s >= band_lo and s <= band_hi:
                if n_band < cap:
                    band[n_band] = s
                n_band += 1
        row_b2[i] += acc
        # 3. per column: sums and best
        for c in range(c0, n_cols):
            cb[c] += vb[c]
            s = row[c]
            if s > cm[c]:
                cm[c] = s
                ca[c] = i
        # 4. the rare ones: the row's best, the highest scores
        if best > row_max[i]:
            for c in range(c0, n_cols):
                if row[c] == best:
                    row_max[i] = best
                    row_arg[i] = j0 + c
                    break
        if best > fl:
            for c in range(c0, n_cols):
                s = row[c]
                if s > fl:
                    n_top, fl = _push(top_s, top_i, top_j, n_top, s, i, j0 + c, fl)
    state[0] = n_band
    state[1] = n_top
    floor[0] = fl


@njit(cache=True, nogil=True)
def _place(s, q, end, T, cells, eq):
    """Count score ``s`` exactly in a bucket whose thresholds are ``T[q:end]``: in cell ``#thresholds <= s``, and
    as equal to the threshold below when it is.  Returns (the cell, whether ``s`` equals that threshold)."""
    while q < end and T[q] <= s:
        q += 1
    cells[q] += 1
    tie = q > 0 and T[q - 1] == s
    if tie:
        eq[q - 1] += 1
    return q, tie


@njit(cache=True, inline="always")
def _push(top_s, top_i, top_j, n, value, i, j, fl):
    """Keep ``(value, i, j)`` among the highest; when the buffer is full, the best :data:`TOP_KEEP` stay and the
    floor rises to the lowest of them.  Returns the new fill and floor."""
    top_s[n] = value
    top_i[n] = i
    top_j[n] = j
    n += 1
    if n == top_s.size:
        n = _compact(top_s, top_i, top_j)
        fl = top_s[n - 1]
    return n, fl


@njit(cache=True, nogil=True)
def _compact(top_s, top_i, top_j):
    """Keep the :data:`TOP_KEEP` highest scores at the front (highest first); returns how many."""
    order = np.argsort(-top_s)[:TOP_KEEP]
    ks, ki, kj = top_s[order].copy(), top_i[order].copy(), top_j[order].copy()
    top_s[:ks.size] = ks
    top_i[:ks.size] = ki
    top_j[:ks.size] = kj
    return ks.size


@njit(cache=True, nogil=True)
def _count_values(V, lut, first, T, lo, scale, bcnt, cells, eq):
    """:func:`_count_rows` for a plain array of impostor scores (bring-your-own scores)."""
    k = bcnt.size
    for x in range(V.size):
        s = V[x]
        b = _bucket(s, lo, scale, k)
        bcnt[b] += 1
        if lut[b] < 0:
            _place(s, first[b], first[b + 1], T, cells, eq)


@njit(cache=True, nogil=True)
def _collect_rows(S, i0, j0, col_from, want, lo, scale, out_s, out_c, state):
    """Second pass: keep the impostor scores whose bucket is wanted, as distinct values with counts.

    When the buffer fills, equal values are merged (a model whose scores tie massively needs little room); when
    even distinct values overflow it, ``state[1]`` is set and the caller stops: too many to rank exactly.
    """
    n_rows, n_cols = S.shape
    k = want.size
    cap = out_s.size
    n = state[0]
    for r in range(n_rows):
        i = i0 + r
        c0 = max(col_from[i] - j0, 0)
        for c in range(c0, n_cols):
            s = S[r, c]
            if want[_bucket(s, lo, scale, k)]:
                out_s[n] = s
                out_c[n] = 1
                n += 1
                if n == cap:
                    n = _merge_equal(out_s, out_c, n)
                    if n > cap // 2:
                        state[1] = 1
                        state[0] = 0
                        return
    state[0] = n


@njit(cache=True, nogil=True)
def _merge_equal(out_s, out_c, n):
    """Sort the first ``n`` values and merge equal ones (adding their counts); returns how many remain."""
    order = np.argsort(out_s[:n])
    vs, cs = out_s[:n][order].copy(), out_c[:n][order].copy()
    m = 0
    for x in range(n):
        if m > 0 and vs[x] == out_s[m - 1]:
            out_c[m - 1] += cs[x]
        else:
            out_s[m] = vs[x]
            out_c[m] = cs[x]
            m += 1
    return m


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class PairStats:
    """Everything :func:`scan` measures on one model's pairs (rows are the caller's image rows).

    ``roc`` holds a point at every genuine threshold, at the corner just above each (accept ``score >
    t``; labelled with the next float above ``t``), and at every query threshold (grid, histogram edges,
    ``queries``): the full ROC's shape without loss, with exact counts at each of its thresholds.
    """

    roc: M.RocCurve
    auc: float
    auc_fraction: Fraction  # the AUC exactly: (2 * #imp < g + #imp == g summed over genuine g) / (2 G I)
    eer: M.EqualErrorRate
    genuine: np.ndarray  # float64 (G,): genuine scores
    genuine_a: np.ndarray  # int64 (G,): their first image (row)
    genuine_b: np.ndarray  # int64 (G,): their second image (row), genuine_a < genuine_b
    genuine_hist: np.ndarray
    impostor_hist: np.ndarray
    hist_edges: np.ndarray
    impostor_median: float  # to within 2 / K (a bucket's width): the typical different-people score
    top_impostors: tuple  # (score, row a, row b), highest first, ties by rows
    duplicates: tuple  # (score, row a, row b) impostor pairs >= DUPLICATE_SCORE (at most MAX_DUPLICATES)
    best_impostor: np.ndarray  # float64 (n,): each image's highest score with another person (-inf if none)
    best_impostor_with: np.ndarray  # int64 (n,): that image (row)
    genuine_rank2: np.ndarray  # int64 (G,): 2 * #impostors < g + #impostors == g, per genuine pair
    impostor_rank2: np.ndarray  # int64 (n,): per image, sum over its impostor pairs of 2 * #gen > s + #gen == s
    n_images: int


# --------------------------------------------------------------------------- the thresholds
@dataclass(frozen=True, eq=False)
class _Thresholds:
    T: np.ndarray  # float64 ascending, distinct
    gen_at: np.ndarray  # int64: genuine scores equal to T[q]
    g_ge2: np.ndarray  # int64 (len(T) + 1,): 2 * #genuine >= T[q] (last entry 0)
    first: np.ndarray  # int64 (K + 1,): thresholds in buckets < b
    b2_lut: np.ndarray  # int64 (K,): 2 * #genuine > s for any s in a bucket without thresholds; -1: has some
    k: int  # buckets
    scale: float  # bucket of s: (s - LO) * scale, clipped to 0..k-1

    def bucket(self, values) -> np.ndarray:
        return _buckets(np.atleast_1d(np.asarray(values, dtype=np.float64)), LO, self.scale, self.k)


def n_buckets(n_impostor: int) -> int:
    """Buckets for this many impostor scores: about one per 256 scores, between 2**12 and :data:`K_MAX`."""
    return int(min(K_MAX, max(1 << 12, 1 << max(0, int(np.ceil(np.log2(max(n_impostor, 1) / 256)))))))


def _thresholds(genuine: np.ndarray, queries, n_impostor: int) -> _Thresholds:
    extra = np.asarray(list(queries), dtype=np.float64)
    extra = extra[np.isfinite(extra)]
    T = np.unique(np.concatenate([genuine, GRID, HIST_EDGES, extra]))
    gen_at = np.zeros(T.size, np.int64)
    np.add.at(gen_at, np.searchsorted(T, genuine), 1)
    g_ge2 = np.zeros(T.size + 1, np.int64)
    g_ge2[:-1] = 2 * np.cumsum(gen_at[::-1])[::-1]
    k = n_buckets(n_impostor)
    scale = k / (HI - LO)
    bT = _buckets(T, LO, scale, k)
    first = np.searchsorted(bT, np.arange(k + 1), side="left").astype(np.int64)
    b2_lut = np.where(first[1:] > first[:-1], -1, g_ge2[first[:-1]])
    return _Thresholds(T=T, gen_at=gen_at, g_ge2=g_ge2, first=first, b2_lut=b2_lut, k=k, scale=scale)


@dataclass
class _Counts:
    bcnt: np.ndarray  # (parts, K) impostors per bucket
    cells: np.ndarray  # (parts, len(T)+1) impostors per cell, for buckets that hold thresholds
    eq: np.ndarray  # (parts, len(T)) impostors equal to T[q]

    @classmethod
    def empty(cls, parts: int, th: "_Thresholds") -> "_Counts":
        return cls(np.zeros((parts, th.k), np.int64), np.zeros((parts, th.T.size + 1), np.int64),
                   np.zeros((parts, th.T.size), np.int64))


def _finish_counts(c, th: _Thresholds):
    """(bucket counts, impostors >= T[q], impostors == T[q], impostors < T[q]) from per-part counts ``c`` (a
    :class:`_Counts` or the first pass's :class:`_PartResult`)."""
    bcnt = c.bcnt.sum(axis=0)
    cells = c.cells.sum(axis=0)
    eq = c.eq.sum(axis=0)
    pure = th.first[1:] == th.first[:-1]
    cells += np.bincount(th.first[:-1][pure], weights=bcnt[pure], minlength=cells.size).astype(np.int64)
    lt = np.cumsum(cells)[:-1]  # cells 0..q: scores below T[q]
    ge = int(cells.sum()) - lt
    return bcnt, ge, eq, lt


# --------------------------------------------------------------------------- ranks among the impostors
class _Ranks:
    """The ``r``-th highest impostor score (1-based) from the bucket counts and values collected in pass 2."""

    def __init__(self, bcnt: np.ndarray, th: _Thresholds):
        self.bcnt = bcnt
        self.th = th
        self.above = np.cumsum(bcnt[::-1])[::-1] - bcnt  # impostors in higher buckets
        self.values: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # bucket -> (distinct scores descending, counts)

    def put(self, b: int, values: np.ndarray, counts: np.ndarray | None = None) -> None:
        """Bucket ``b``'s impostor scores (``counts[k]`` copies of ``values[k]``; one each without ``counts``)."""
        if counts is None:
            u, c = np.unique(values, return_counts=True)
        else:
            u, inv = np.unique(values, return_inverse=True)
            c = np.bincount(inv, weights=counts, minlength=u.size).astype(np.int64)
        if int(c.sum()) != int(self.bcnt[b]):
            raise AssertionError(f"bucket {b}: {int(c.sum())} scores collected, {int(self.bcnt[b])} counted")
        self.values[b] = (u[::-1], c[::-1])

    def bucket_of(self, r: int) -> int:
        """The bucket holding the ``r``-th highest impostor."""
        return int(np.flatnonzero((self.above < r) & (self.above + self.bcnt >= r))[-1])

    def around(self, r: int) -> set[int]:
        """The bucket of the ``r``-th highest impostor and the next non-empty one above it (where the next higher
        distinct score lies)."""
        b = self.bucket_of(r)
        nz = np.flatnonzero(self.bcnt[b + 1:])
        return {b, b + 1 + int(nz[0])} if nz.size else {b}

    def value(self, r: int) -> float:
        b = self.bucket_of(r)
        u, c = self.values[b]
        return float(u[int(np.searchsorted(np.cumsum(c), r - int(self.above[b])))])

    def approx_median(self, n: int) -> float:
        """The median impostor score to within a bucket's width (2 / K), interpolated inside its bucket."""
        r = n - (n - 1) // 2  # rank from the top of the ascending element (n - 1) // 2
        b = self.bucket_of(r)
        inside = (r - self.above[b] - 0.5) / self.bcnt[b]  # 0: top of the bucket
        return float(LO + (b + 1 - inside) / self.th.scale)

    def bk(self, v: float) -> int:
        return int(self.th.bucket(v)[0])

    def count_above(self, v: float) -> int:
        """Impostors > ``v`` for a value whose bucket (and the next non-empty one) was collected."""
        b = self.bk(v)
        u, c = self.values[b]
        return int(self.above[b]) + int(c[u > v].sum())

    def count_equal(self, v: float) -> int:
        u, c = self.values[self.bk(v)]
        return int(c[u == v].sum())


def _eer_targets(roc_parts, n_g: int, n_i: int, ranks: _Ranks) -> set[int]:
    """Buckets whose scores the exact EER needs (see :func:`_exact_eer`)."""
    thr, tps, fps = roc_parts
    i = _crossing(tps, fps, n_g, n_i)
    want: set[int] = set()
    if tps[i - 1] == tps[i]:  # inside a run of impostors: ranks f and the one above
        want |= ranks.around(_first_rank(tps[i], fps[i - 1], fps[i], n_g, n_i))
    if fps[i - 1] > 0:  # the lowest score above the crossing may be an impostor's
        want |= ranks.around(int(fps[i - 1]))
    return want


def _crossing(tps, fps, n_g, n_i) -> int:
    """The first point with FAR - FRR >= 0 (never the first point, where it is -1)."""
    d = fps / n_i - (1.0 - tps / n_g)
    return int(np.argmax(d >= 0))


def _first_rank(tp: int, f_lo: int, f_hi: int, n_g: int, n_i: int) -> int:
    """The smallest impostor count ``f`` in ``(f_lo, f_hi]`` with ``f / n_i - (1 - tp / n_g) >= 0`` (as floats)."""
    fnr = 1.0 - tp / n_g
    lo, hi = f_lo + 1, f_hi
    while lo < hi:
        mid = (lo + hi) // 2
        if mid / n_i - fnr >= 0:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _exact_eer(roc_parts, genuine_sorted, n_g, n_i, ranks: _Ranks):
    """The EER of the full ROC (:func:`faceroc_core.metrics.eer`), from the two full-curve points either side of
    the crossing, rebuilt with their true thresholds; and the counts ``(tp, fp)`` of ``score >= `` its threshold."""
    thr, tps, fps = roc_parts
    i = _crossing(tps, fps, n_g, n_i)
    if tps[i - 1] == tps[i]:  # inside a run of impostors: the crossing is the impostor of rank f
        f = _first_rank(int(tps[i]), int(fps[i - 1]), int(fps[i]), n_g, n_i)
        v = ranks.value(f)
        prev_fp = ranks.count_above(v)
        cross = (v, int(tps[i]), prev_fp + ranks.count_equal(v))
    else:  # the crossing is at a genuine threshold; the point before it accepts the scores above it
        v = float(thr[i])
        cross = (v, int(tps[i]), int(fps[i]))
        prev_fp = int(fps[i - 1])
    prev_tp = int(np.sum(genuine_sorted > cross[0]))
    if prev_tp == 0 and prev_fp == 0:
        prev = (np.inf, 0, 0)
        e = M.eer(_mini([prev, cross], n_g, n_i))
    else:
        # the lowest score above the crossing: a genuine one, or the impostor of rank prev_fp
        g_up = genuine_sorted[np.searchsorted(genuine_sorted, cross[0], side="right"):]
        cand = [float(g_up[0])] if g_up.size else []
        if prev_fp > 0:
            cand.append(ranks.value(prev_fp))
        prev = (min(cand), prev_tp, prev_fp)
        e = M.eer(_mini([(np.inf, 0, 0), prev, cross], n_g, n_i))
    at = cross if e.threshold <= cross[0] else prev  # no score lies strictly between the two
    return e, (at[1], at[2])


def _insert(roc: M.RocCurve, t: float, tp: int, fp: int) -> M.RocCurve:
    """``roc`` with a point at threshold ``t`` (exact counts ``tp``, ``fp``) unless it has one there."""
    k = int(np.searchsorted(-roc.thresholds, -t, side="left"))
    if k < roc.thresholds.size and roc.thresholds[k] == t:
        return roc
    return M.RocCurve(thresholds=np.insert(roc.thresholds, k, t), tps=np.insert(roc.tps, k, tp),
                      fps=np.insert(roc.fps, k, fp), n_genuine=roc.n_genuine, n_impostor=roc.n_impostor)


def _mini(points, n_g, n_i) -> M.RocCurve:
    """A short ROC (thresholds descending) ending at the "accept all" point, for :func:`metrics.eer`."""
    pts = list(points) + [(-np.inf, n_g, n_i)]
    return M.RocCurve(thresholds=np.array([p[0] for p in pts]), tps=np.array([p[1] for p in pts], np.int64),
                      fps=np.array([p[2] for p in pts], np.int64), n_genuine=n_g, n_impostor=n_i)


# --------------------------------------------------------------------------- the curve
def _curve(th: _Thresholds, ge: np.ndarray, eq: np.ndarray, n_g: int, n_i: int):
    """(thresholds, tps, fps) descending from +inf: every threshold, plus the corner above each genuine one."""
    T = th.T
    tps_ge = th.g_ge2[:-1] // 2
    tps_gt = th.g_ge2[1:] // 2
    fps_gt = ge - eq
    corner = (th.gen_at > 0) & (fps_gt > np.r_[ge[1:], 0])
    up = np.nextafter(T, np.inf)
    corner &= np.r_[up[:-1] < T[1:], True]
    thr = np.concatenate([T, up[corner]])
    tps = np.concatenate([tps_ge, tps_gt[corner]])
    fps = np.concatenate([ge, fps_gt[corner]])
    order = np.argsort(-thr, kind="stable")
    thr, tps, fps = thr[order], tps[order], fps[order]
    thr = np.r_[np.inf, thr, -np.inf]
    tps = np.r_[0, tps, n_g].astype(np.int64)
    fps = np.r_[0, fps, n_i].astype(np.int64)
    # drop the "accept all" point when the lowest threshold already accepts everything
    if tps[-2] == n_g and fps[-2] == n_i:
        thr, tps, fps = thr[:-1], tps[:-1], fps[:-1]
    return thr, tps, fps


def _auc(th: _Thresholds, lt, eq, n_g, n_i) -> Fraction:
    g = np.flatnonzero(th.gen_at)
    num = sum(int(a) * int(b) for a, b in zip(th.gen_at[g], 2 * lt[g] + eq[g]))
    return Fraction(num, 2 * n_g * n_i)


def _hists(genuine, ge, th: _Thresholds, n_i):
    g = np.clip(genuine, LO, HI)
    gh, _ = np.histogram(g, bins=HIST_EDGES)
    at = ge[np.searchsorted(th.T, HIST_EDGES)]  # impostors >= each edge
    ih = at[:-1] - at[1:]
    ih[0] = n_i - at[1]  # scores below -1 (rounding) count in the first bin
    ih[-1] = at[-2]  # and scores above 1 in the last
    return gh.astype(np.int64), ih.astype(np.int64)


# --------------------------------------------------------------------------- the scan
def _sort_people(codes: np.ndarray):
    order = np.argsort(codes, kind="stable")
    cs = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(cs)) + 1]
    ends = np.r_[starts[1:], cs.size]
    col_from = np.repeat(ends, ends - starts).astype(np.int64)  # first column of a later person
    return order, cs, starts, ends, col_from


def _by_person(embeddings, identities):
    """The unit-norm float64 embeddings sorted by person (``es``), the order (``es[k]`` is row ``order[k]``), the
    person codes in that order, each person's first and end rows, and each row's first column of a later person."""
    from .pairs import normalise

    e = normalise(embeddings)
    ids = np.asarray(identities)
    if ids.shape != (e.shape[0],):
        raise ValueError(f"{e.shape[0]} embeddings but {ids.size} identities")
    _, codes = np.unique(ids, return_inverse=True)
    order, cs, starts, ends, col_from = _sort_people(codes)
    return np.ascontiguousarray(e[order]), order, cs, starts, ends, col_from


def _genuine(e_sorted, starts, ends):
    """Genuine scores (rows of the identity-sorted images), person by person."""
    with _one_blas_thread():  # the same arithmetic as the tiles
        return _genuine_1(e_sorted, starts, ends)


def _genuine_1(e_sorted, starts, ends):
    s_parts, a_parts, b_parts = [], [], []
    triu: dict[int, tuple] = {}
    for a0, a1 in zip(starts, ends):
        m = a1 - a0
        if m < 2:
            continue
        g = e_sorted[a0:a1] @ e_sorted[a0:a1].T
        iu, ju = triu[m] if m in triu else triu.setdefault(m, np.triu_indices(m, 1))
        s_parts.append(g[iu, ju])
        a_parts.append(iu + a0)
        b_parts.append(ju + a0)
    if not s_parts:
        return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(s_parts), np.concatenate(a_parts).astype(np.int64), np.concatenate(b_parts).astype(np.int64)


def scan(embeddings, identities, *, queries=(), progress=None, client=None) -> PairStats:
    """Measure every pair of images by cosine similarity, exactly, holding only the genuine pairs.

    Args:
        embeddings: (n, d) float; each row is L2-normalised here (float64).
        identities: (n,) labels; a pair is genuine when both images have the same label.
        queries: extra thresholds at which the curve must hold exact counts.
        progress: ``progress(done, total)`` after each row of tiles.
        client: a ``dask.distributed.Client``: the pairs are counted on its workers (:func:`dask_client`).

    >>> st = scan([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], ["a", "a", "b", "b"])
    >>> st.auc, st.roc.n_genuine, st.roc.n_impostor
    (1.0, 2, 4)
    """
    es, order, cs, starts, ends, col_from = _by_person(embeddings, identities)
    n = es.shape[0]
    genuine, ga, gb = _genuine(es, starts, ends)
    n_g = genuine.size
    n_i = n * (n - 1) // 2 - n_g
    if n_g == 0:
        raise ScoresError("no genuine pair: need at least two images of one identity")
    if n_i == 0:
        raise ScoresError("no impostor pair: need at least two identities")
    th = _thresholds(genuine, queries, n_i)
    gs = np.sort(genuine)
    band_lo, band_hi = _predict_band(es, cs, gs, n_i)
    if int(th.g_ge2[0]) >= 2**31:
        raise ScoresError(f"{n_g:,} same-person pairs: more than this engine counts (about a billion)")
    got = _first_pass(es, col_from, th, band_lo, band_hi, progress, client)
    parts = got.bcnt.shape[0]
    bcnt, ge, eq, lt = _finish_counts(got, th)
    if int(bcnt.sum()) != n_i:
        raise AssertionError(f"counted {int(bcnt.sum())} impostor pairs, expected {n_i}")
    parts_roc = _curve(th, ge, eq, n_g, n_i)
    ranks = _Ranks(bcnt, th)
    want = _eer_targets(parts_roc, n_g, n_i, ranks)
    inside = {b for b in want if got.band_complete and ranks.bk(band_lo) < b < ranks.bk(band_hi)}
    if inside:
        vals = got.band
        bv = th.bucket(vals)
        for b in inside:
            ranks.put(b, vals[bv == b])
    missing = want - inside
    if missing:  # the prediction missed: a second pass collects the scores either side of the EER
        _logger.info("EER outside the predicted band [%.6f, %.6f]: second pass", band_lo, band_hi)
        want_mask = np.zeros(th.k, np.uint8)
        want_mask[list(missing)] = 1
        cap = int(got.bcnt[:, want_mask.astype(bool)].sum(axis=1).max()) + 1  # per part, as the first pass counted
        vals, counts = _collect(es, col_from, want_mask, th.scale, min(cap, MAX_COLLECT // parts + 1), parts,
                                progress)
        bv = th.bucket(vals)
        for b in missing:
            ranks.put(b, vals[bv == b], counts[bv == b])
    eer, at_eer = _exact_eer(parts_roc, gs, n_g, n_i, ranks)
    imp_median = ranks.approx_median(n_i)
    # the highest impostor pairs (ties broken by image rows), the duplicates
    inv = order  # sorted row -> caller's row
    vals = got.top_s
    a_rows, b_rows = inv[got.top_i], inv[got.top_j]
    lo_rows, hi_rows = np.minimum(a_rows, b_rows), np.maximum(a_rows, b_rows)
    rank_order = np.lexsort((hi_rows, lo_rows, -vals))
    top_pairs = tuple((float(vals[k]), int(lo_rows[k]), int(hi_rows[k])) for k in rank_order[:TOP_K])
    dup = tuple((float(vals[k]), int(lo_rows[k]), int(hi_rows[k])) for k in rank_order[:MAX_DUPLICATES]
                if vals[k] >= DUPLICATE_SCORE)
    # per image: best impostor (among the later images of its row, or the earlier ones of its column), its rank
    # sums; back in the caller's row order (every image has impostors: there are two people at least)
    from_col = got.col_max > got.row_max
    best_impostor = np.empty(n)
    best_impostor[order] = np.where(from_col, got.col_max, got.row_max)
    best_with = np.empty(n, np.int64)
    best_with[order] = inv[np.where(from_col, got.col_arg, got.row_arg)]
    imp_rank2 = np.empty(n, np.int64)
    imp_rank2[order] = got.row_b2 + got.col_b2
    gq = np.searchsorted(th.T, genuine)
    gen_rank2 = 2 * lt[gq] + eq[gq]
    gh, ih = _hists(genuine, ge, th, n_i)
    frac = _auc(th, lt, eq, n_g, n_i)
    thr, tps, fps = parts_roc
    roc = _insert(M.RocCurve(thresholds=thr, tps=tps, fps=fps, n_genuine=n_g, n_impostor=n_i), eer.threshold, *at_eer)
    ga_c, gb_c = inv[ga], inv[gb]
    return PairStats(roc=roc, auc=float(frac), auc_fraction=frac, eer=eer, genuine=genuine,
                     genuine_a=np.minimum(ga_c, gb_c), genuine_b=np.maximum(ga_c, gb_c), genuine_hist=gh,
                     impostor_hist=ih, hist_edges=HIST_EDGES.copy(), impostor_median=float(imp_median),
                     top_impostors=top_pairs, duplicates=dup, best_impostor=best_impostor,
                     best_impostor_with=best_with, genuine_rank2=gen_rank2, impostor_rank2=imp_rank2, n_images=n)


@dataclass(eq=False)
class _PartResult:
    """What counting some rows of tiles gives (per-part arrays; summed, or maxed, by :func:`_first_pass`)."""

    bcnt: np.ndarray
    cells: np.ndarray
    eq: np.ndarray
    row_b2: np.ndarray
    col_b2: np.ndarray
    row_max: np.ndarray
    row_arg: np.ndarray
    col_max: np.ndarray
    col_arg: np.ndarray
    band: np.ndarray
    band_complete: bool
    top_s: np.ndarray
    top_i: np.ndarray
    top_j: np.ndarray


def _count_part(es, col_from, th: _Thresholds, row_tiles, band_lo: float, band_hi: float, tick=None,
                hold: bool = False) -> _PartResult:
    """Count the pairs of some rows of tiles (rows ``i0 .. i0 + TILE_ROWS`` for each ``i0`` of ``row_tiles``)
    on one thread: the unit of work a thread, or a Dask worker, runs.  BLAS must be on one thread: the caller
    holds :func:`_one_blas_thread` for its threads; a Dask task (``hold``) takes it itself."""
    n = es.shape[0]
    c = _Counts.empty(1, th)
    bl = np.zeros((th.k, 2), np.int32)
    bl[:, 0] = th.b2_lut
    row_b2, col_b2 = np.zeros(n, np.int64), np.zeros(n, np.int64)
    row_max, col_max = np.full(n, -np.inf), np.full(n, -np.inf)
    row_arg, col_arg = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    band = np.empty(BAND_MAX // 2 + 1)
    top_s, top_i, top_j = np.empty(TOP_BUFFER), np.empty(TOP_BUFFER, np.int64), np.empty(TOP_BUFFER, np.int64)
    state, floor = np.zeros(2, np.int64), np.full(1, -np.inf)
    with _one_blas_thread() if hold else nullcontext():
        for i0 in row_tiles:
            i1 = min(n, i0 + TILE_ROWS)
            for j0 in range(i0, n, TILE_COLS):
                S = es[i0:i1] @ es[j0:min(n, j0 + TILE_COLS)].T
                _count_rows(S, i0, j0, col_from, bl, th.first, th.T, th.g_ge2, th.gen_at, LO, th.scale, c.cells[0],
                            c.eq[0], row_b2, col_b2, row_max, row_arg, col_max, col_arg, band_lo, band_hi, band,
                            top_s, top_i, top_j, state, floor)
                c.bcnt[0] += bl[:, 1]  # int32 per tile, int64 in all
                bl[:, 1] = 0
            if tick:
                tick()
    nb, nt = int(state[0]), int(state[1])
    return _PartResult(c.bcnt[0], c.cells[0], c.eq[0], row_b2, col_b2, row_max, row_arg, col_max, col_arg,
                       band[:min(nb, band.size)].copy(), nb <= band.size, top_s[:nt].copy(), top_i[:nt].copy(),
                       top_j[:nt].copy())


def _first_pass(es, col_from, th: _Thresholds, band_lo, band_hi, progress, client) -> _PartResult:
    """Every impostor pair counted, by threads here or by the workers of a Dask ``client``; the parts merged."""
    n = es.shape[0]
    row_tiles = list(range(0, n, TILE_ROWS))
    if client is None:
        parts = _parts(n)
        done = [0]

        def tick():
            done[0] += 1

        with _one_blas_thread():
            got = _in_threads([lambda p=p: _count_part(es, col_from, th, row_tiles[p::parts], band_lo, band_hi,
                                                       tick) for p in range(parts)],
                              (lambda: progress(done[0], 2 * len(row_tiles))) if progress else None)
    else:
        from distributed import as_completed

        parts = max(1, min(len(row_tiles), 4 * sum(client.nthreads().values())))
        es_f, cf_f, th_f = client.scatter([es, col_from, th], broadcast=True)
        futures = [client.submit(_count_part, es_f, cf_f, th_f, row_tiles[p::parts], band_lo, band_hi, hold=True,
                                 pure=False) for p in range(parts)]
        got = []
        for k, f in enumerate(as_completed(futures), start=1):
            got.append(f.result())  # only counts come back, never pairs
            if progress:
                progress(k * len(row_tiles) // parts, 2 * len(row_tiles))
    return _merge(got)


def _merge(got: list[_PartResult]) -> _PartResult:
    """One result from the parts': counts stacked (a row per part, which the second pass sizes its buffers by),
    per-image sums added, per-image bests taken from the part that holds them."""
    def best(field_max, field_arg):
        values = np.stack([getattr(g, field_max) for g in got])
        pick = np.argmax(values, axis=0)
        cols = np.arange(values.shape[1])
        return values[pick, cols], np.stack([getattr(g, field_arg) for g in got])[pick, cols]

    row_max, row_arg = best("row_max", "row_arg")
    col_max, col_arg = best("col_max", "col_arg")
    return _PartResult(
        bcnt=np.stack([g.bcnt for g in got]), cells=np.stack([g.cells for g in got]), eq=np.stack([g.eq for g in got]),
        row_b2=sum(g.row_b2 for g in got), col_b2=sum(g.col_b2 for g in got), row_max=row_max, row_arg=row_arg,
        col_max=col_max, col_arg=col_arg, band=np.concatenate([g.band for g in got]),
        band_complete=all(g.band_complete for g in got), top_s=np.concatenate([g.top_s for g in got]),
        top_i=np.concatenate([g.top_i for g in got]), top_j=np.concatenate([g.top_j for g in got]))


def _predict_band(es, codes_sorted, genuine_sorted, n_i: int, *, seed: int = 0) -> tuple[float, float]:
    """Scores between which the EER's neighbours most likely lie, from a random sample of impostor pairs.

    The first pass keeps the scores in this band, so a second pass is needed only when the prediction misses
    (it is checked, never trusted).  Empty (``(inf, inf)``) when the band would hold too many scores.
    """
    n = es.shape[0]
    rng = np.random.default_rng(seed)
    side = int(min(n, np.sqrt(min(SAMPLE, max(10_000, n_i // 50))) + 1))
    a = np.sort(rng.choice(n, side, replace=False))
    b = np.sort(rng.choice(n, side, replace=False))
    block = es[a] @ es[b].T  # random rows against random columns: a matrix product, not a gather per pair
    s = block[codes_sorted[a][:, None] != codes_sorted[b][None, :]]
    if s.size == 0:
        return np.inf, np.inf
    s = np.sort(s)[::-1]
    m = s.size
    n_g = genuine_sorted.size
    # the sample rank k where the sampled FAR meets the (exact) FRR at the k-th score
    frr = np.searchsorted(genuine_sorted, s, side="left") / n_g
    k = int(np.argmax(np.arange(1, m + 1) / m >= frr)) + 1
    spread = 6 * np.sqrt(k) + 20
    k_lo, k_hi = int(max(1, k - spread)), int(min(m, k + spread))
    if (k_hi - k_lo) / m * n_i > BAND_MAX * 0.7:
        return np.inf, np.inf
    hi = s[k_lo - 1] if k_lo > 1 else np.inf
    return float(s[k_hi - 1]), float(hi)


def _collect(es, col_from, want_mask, scale, cap, parts, progress):
    """Second pass: every impostor score of the wanted buckets, as (distinct values, counts)."""
    n = es.shape[0]
    out_s = np.empty((parts, cap))
    out_c = np.empty((parts, cap), np.int64)
    state = np.zeros((parts, 2), np.int64)

    def collect(p, i0, i1, j0, j1):
        if not state[p, 1]:
            _collect_rows(es[i0:i1] @ es[j0:j1].T, i0, j0, col_from, want_mask, LO, scale, out_s[p], out_c[p],
                          state[p])

    _run_tiles(n, parts, collect, progress, 1)
    if state[:, 1].any():
        raise ScoresError(f"more than {cap * parts // 2:,} different impostor scores lie within one part in "
                          f"{want_mask.size:,} of the score range, too many to rank exactly",
                          hint="evaluate fewer images, or check the model (its scores crowd into one value)")
    return (np.concatenate([out_s[p, :state[p, 0]] for p in range(parts)]),
            np.concatenate([out_c[p, :state[p, 0]] for p in range(parts)]))


def _parts(n: int) -> int:
    """Threads for a scan: one per core, none idle on a small set."""
    return max(1, min(os.cpu_count() or 1, 8, -(-n // TILE_ROWS)))


def _run_tiles(n: int, parts: int, work, progress, pass_no: int) -> None:
    """Run ``work(part, i0, i1, j0, j1)`` on every tile, rows of tiles dealt out to ``parts`` threads.

    Each thread multiplies its own tiles with a single-threaded BLAS and counts them at once (the kernels
    release the GIL), so the cores never wait on each other or on BLAS threads that spin.
    """
    row_tiles = list(range(0, n, TILE_ROWS))
    done = [0]

    def run(p):
        for i0 in row_tiles[p::parts]:
            i1 = min(n, i0 + TILE_ROWS)
            for j0 in range(i0, n, TILE_COLS):
                work(p, i0, i1, j0, min(n, j0 + TILE_COLS))
            done[0] += 1

    with _one_blas_thread():
        _in_threads([lambda p=p: run(p) for p in range(parts)],
                    (lambda: progress(pass_no * len(row_tiles) + done[0], 2 * len(row_tiles))) if progress else None)


_BLAS_LOCK = threading.RLock()


@contextmanager
def _one_blas_thread():
    """BLAS on one thread for every tile the caller's threads multiply: the same arithmetic everywhere (a
    multi-threaded BLAS sums in another order, and its scores differ in the last bit).

    Enter it in the thread that starts the worker threads, never in the workers: OpenBLAS's pool is
    process-wide, and threadpoolctl lets only the thread that set its size change it back (other threads'
    calls silently do nothing).  So concurrent scans take turns here.
    """
    from threadpoolctl import threadpool_limits

    with _BLAS_LOCK, threadpool_limits(limits=1, user_api="blas"):
        yield


def _in_threads(tasks, report=None) -> list:
    """Run each of ``tasks`` (callables) on its own thread; ``report()`` every half second while they run.
    Returns their results in order (the first error is raised)."""
    from concurrent.futures import ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        futures = [pool.submit(t) for t in tasks]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5)
            if report:
                report()
        return [f.result() for f in futures]


# --------------------------------------------------------------------------- bring-your-own scores
def count_scores(scores, labels, *, queries=()) -> PairStats:
    """:func:`scan` for scores that are already computed (``scores`` with 0/1 ``labels``): the same counting."""
    s, y = M.check_scores(scores, labels)
    genuine = s[y]
    imp = np.ascontiguousarray(s[~y])
    n_g, n_i = genuine.size, imp.size
    th = _thresholds(genuine, queries, n_i)
    c = _Counts.empty(1, th)
    _count_values(imp, th.b2_lut, th.first, th.T, LO, th.scale, c.bcnt[0], c.cells[0], c.eq[0])
    bcnt, ge, eq, lt = _finish_counts(c, th)
    parts_roc = _curve(th, ge, eq, n_g, n_i)
    ranks = _Ranks(bcnt, th)
    want = _eer_targets(parts_roc, n_g, n_i, ranks)
    bi = th.bucket(imp)
    for b in want:
        ranks.put(b, imp[bi == b])
    eer, at_eer = _exact_eer(parts_roc, np.sort(genuine), n_g, n_i, ranks)
    frac = _auc(th, lt, eq, n_g, n_i)
    thr, tps, fps = parts_roc
    gh, ih = _hists(genuine, ge, th, n_i)
    gq = np.searchsorted(th.T, genuine)
    return PairStats(roc=_insert(M.RocCurve(thresholds=thr, tps=tps, fps=fps, n_genuine=n_g, n_impostor=n_i),
                                 eer.threshold, *at_eer),
                     auc=float(frac), auc_fraction=frac, eer=eer, genuine=genuine, genuine_a=np.zeros(0, np.int64),
                     genuine_b=np.zeros(0, np.int64), genuine_hist=gh, impostor_hist=ih,
                     hist_edges=HIST_EDGES.copy(),
                     impostor_median=ranks.approx_median(n_i),
                     top_impostors=(), duplicates=(), best_impostor=np.zeros(0), best_impostor_with=np.zeros(0, np.int64),
                     genuine_rank2=2 * lt[gq] + eq[gq], impostor_rank2=np.zeros(0, np.int64), n_images=0)


def estimate_bytes(n_images: int, dim: int, n_genuine: int) -> int:
    """Peak memory one model's measurement takes beyond its input embeddings, in bytes: the scan
    (:func:`scan`: normalised and sorted float64 copies of the embeddings, the genuine pairs and their counts,
    per-image sums, the tiles and buffers) and the diagnosis after it (people, test-set check).

    Measured on 128-d and 512-d synthetic sets of 10,000 to 100,000 images (``benchmarks/bench_scale.py`` prints
    the estimate against the real peak at each size); the impostor pairs never count: they are not held.
    """
    n_impostor = n_images * (n_images - 1) // 2 - n_genuine
    sample = min(SAMPLE, max(10_000, n_impostor // 50))  # the EER prediction's block of scores (_predict_band)
    return int(100 * 2**20 + n_images * (11 * dim + 1100) + 160 * n_genuine + 16 * sample)


def all_pair_scores(embeddings, identities) -> tuple[np.ndarray, np.ndarray]:
    """Every pair's score, in ``numpy.triu_indices(n, 1)`` order of the rows, and whether it is genuine.

    The scores are computed exactly as :func:`scan` computes them (the same matrix products), so metrics of
    these arrays equal the scan's; it holds all pairs, so it is for small sets and for checking.
    """
    es, order, cs, starts, ends, col_from = _by_person(embeddings, identities)
    n = es.shape[0]
    scores = np.empty(n * (n - 1) // 2)
    genuine = np.zeros(scores.size, bool)

    def put(a_sorted, b_sorted, values, is_genuine):
        a, b = order[a_sorted], order[b_sorted]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        pos = lo * (2 * n - lo - 1) // 2 + (hi - lo - 1)
        scores[pos] = values
        genuine[pos] = is_genuine

    g, ga, gb = _genuine(es, starts, ends)
    put(ga, gb, g, True)

    def tile(p, i0, i1, j0, j1):
        S = es[i0:i1] @ es[j0:j1].T
        rows = np.arange(i0, i1)
        r, c = np.nonzero(np.arange(j0, j1)[None, :] >= col_from[rows][:, None])
        put(rows[r], j0 + c, S[r, c], False)

    _run_tiles(n, 1, tile, None, 0)
    return scores, genuine


# --------------------------------------------------------------------------- two models, pair by pair
@njit(cache=True, nogil=True)
def _disagree_rows(S1, S2, i0, j0, t1, t2, top_m, top_i, top_j, state, floor):
    """Pairs (j > i) that model 1 at ``t1`` and model 2 at ``t2`` decide differently, kept by margin (the smaller
    distance of the two scores to their thresholds), the largest :data:`TOP_KEEP` of them."""
    n_rows, n_cols = S1.shape
    n_top = state[0]
    fl = floor[0]
    for r in range(n_rows):
        i = i0 + r
        for c in range(max(i + 1 - j0, 0), n_cols):
            a = S1[r, c]
            b = S2[r, c]
            if (a >= t1) != (b >= t2):
                m = min(abs(a - t1), abs(b - t2))
                if m > fl:
                    n_top, fl = _push(top_m, top_i, top_j, n_top, m, i, j0 + c, fl)
    state[0] = n_top
    floor[0] = fl


def disagreements(e1, e2, t1: float, t2: float, *, k: int = TOP_K) -> tuple[tuple[int, int], ...]:
    """The ``k`` pairs of rows ``(i, j)``, ``i < j``, that two models (embeddings ``e1``, ``e2`` of the same images)
    decide most clearly differently, each at its own threshold: clearest first (largest smaller margin)."""
    from .pairs import normalise

    a, b = normalise(e1), normalise(e2)
    n = a.shape[0]
    parts = _parts(n)
    top_m = np.empty((parts, TOP_BUFFER))
    top_i = np.empty((parts, TOP_BUFFER), np.int64)
    top_j = np.empty((parts, TOP_BUFFER), np.int64)
    state = np.zeros((parts, 1), np.int64)
    floor = np.full((parts, 1), -np.inf)

    def work(p, i0, i1, j0, j1):
        _disagree_rows(a[i0:i1] @ a[j0:j1].T, b[i0:i1] @ b[j0:j1].T, i0, j0, t1, t2, top_m[p], top_i[p], top_j[p],
                       state[p], floor[p])

    _run_tiles(n, parts, work, None, 0)
    m = np.concatenate([top_m[p, :state[p, 0]] for p in range(parts)])
    i = np.concatenate([top_i[p, :state[p, 0]] for p in range(parts)])
    j = np.concatenate([top_j[p, :state[p, 0]] for p in range(parts)])
    order = np.lexsort((j, i, -m))[:k]
    return tuple((int(i[x]), int(j[x])) for x in order)
