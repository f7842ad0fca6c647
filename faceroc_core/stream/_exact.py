"""Exact counts to exact metrics: the one tail under :func:`~faceroc_core.stream.scan` and
:func:`~faceroc_core.stream.count_scores`.

Both count the impostor scores into buckets and cells against every threshold (the distinct genuine scores,
the 0.001 grid, the histogram edges and any thresholds asked for).  :func:`finish` turns those counts into the
ROC (every genuine threshold and the corner above it), the AUC as one integer ratio, the EER from the very
full-curve points either side of the crossing (the impostor scores it needs are handed in by the caller's
``fill``), the histograms and each genuine pair's rank among the impostors.  Every number below is an integer
count until the last division, so the proof of exactness lives here, once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .. import metrics as M
from ._config import GRID, HI, HIST_EDGES, K_MAX, LO
from ._kernels import _buckets


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
    def empty(cls, parts: int, th: _Thresholds) -> _Counts:
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



@dataclass(frozen=True, eq=False)
class Exact:
    """What :func:`finish` derives from the counts of one model's impostor scores."""

    roc: M.RocCurve  # every genuine threshold, the corner above each, every query, and the EER threshold
    auc_fraction: Fraction  # (sum over genuine g of 2 * #imp < g + #imp == g) / (2 G I)
    eer: M.EqualErrorRate
    genuine_hist: np.ndarray  # int64 (HIST_BINS,)
    impostor_hist: np.ndarray  # int64 (HIST_BINS,)
    genuine_rank2: np.ndarray  # int64 (G,): 2 * #impostors < g + #impostors == g, per genuine score
    impostor_median: float  # to within a bucket's width (2 / K)


def finish(counts, th: _Thresholds, genuine: np.ndarray, n_i: int,
           fill: Callable[[_Ranks, set[int]], None]) -> Exact:
    """The exact metrics of one model from its impostor counts.

    Args:
        counts: per-part bucket/cell/equality counts (a :class:`_Counts`, or the first pass's merged result).
        th: the thresholds the counts were made against.
        genuine: float64 (G,) genuine scores, in the caller's order (``genuine_rank2`` follows it).
        n_i: the number of impostor scores counted (checked against the counts).
        fill: ``fill(ranks, buckets)`` must :meth:`_Ranks.put` every impostor score of each of ``buckets`` (those
            either side of the EER crossing): from a band kept in the first pass, a second pass, or the array.
    """
    n_g = genuine.size
    bcnt, ge, eq, lt = _finish_counts(counts, th)
    if int(bcnt.sum()) != n_i:
        raise AssertionError(f"counted {int(bcnt.sum())} impostor pairs, expected {n_i}")
    parts_roc = _curve(th, ge, eq, n_g, n_i)
    ranks = _Ranks(bcnt, th)
    fill(ranks, _eer_targets(parts_roc, n_g, n_i, ranks))
    eer, at_eer = _exact_eer(parts_roc, np.sort(genuine), n_g, n_i, ranks)
    thr, tps, fps = parts_roc
    roc = _insert(M.RocCurve(thresholds=thr, tps=tps, fps=fps, n_genuine=n_g, n_impostor=n_i), eer.threshold, *at_eer)
    gh, ih = _hists(genuine, ge, th, n_i)
    gq = np.searchsorted(th.T, genuine)
    return Exact(roc=roc, auc_fraction=_auc(th, lt, eq, n_g, n_i), eer=eer, genuine_hist=gh, impostor_hist=ih,
                 genuine_rank2=2 * lt[gq] + eq[gq], impostor_median=float(ranks.approx_median(n_i)))
