"""Verification metrics on similarity scores, with exact definitions.

Conventions used everywhere in FaceROC:

* A pair is **accepted** (called "same person") iff ``score >= threshold``.
* **Genuine** pairs (label 1) are two images of the same identity; **impostor**
  pairs (label 0) are two images of different identities.
* FAR = FPR = accepted impostors / impostors; TAR = TPR = accepted genuine /
  genuine; FRR = FNR = 1 - TAR.
* Arguments come in the order ``(scores, labels)`` everywhere in FaceROC
  (scikit-learn's ``roc_curve`` takes ``(y_true, y_score)``, the other way round).

One counting function, :func:`count_at_thresholds`, is under every result
here: it sorts the scores once and counts, for every distinct score ``t``, how
many genuine and impostor pairs score ``>= t``.  The ROC curve is exactly
``sklearn.metrics.roc_curve(labels, scores, drop_intermediate=False)`` and the
AUC exactly ``sklearn.metrics.auc`` on it; thinned curves (:func:`thin_roc`)
are for drawing only and never feed a metric.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .errors import ScoresError

DEFAULT_FARS: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4)
# the FAR a model is judged at when no threshold is chosen (verdicts, disagreements, subgroups' global threshold)
DECISION_FAR = 1e-3


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class RocCurve:
    """A full ROC curve as integer counts.

    Element ``i`` describes the rule "accept iff score >= thresholds[i]":
    ``tps[i]`` genuine and ``fps[i]`` impostor pairs are accepted there.
    ``thresholds`` is strictly decreasing and starts with ``+inf`` (accept
    nothing), so the curve starts at (0, 0) and ends at (1, 1).
    """

    thresholds: np.ndarray  # float64, strictly decreasing, thresholds[0] == inf
    tps: np.ndarray  # int64, non-decreasing, tps[0] == 0, tps[-1] == n_genuine
    fps: np.ndarray  # int64, non-decreasing, fps[0] == 0, fps[-1] == n_impostor
    n_genuine: int
    n_impostor: int

    @cached_property
    def fpr(self) -> np.ndarray:
        """False accept rate at each threshold (``fps / n_impostor``)."""
        return self.fps / self.fps[-1]

    @cached_property
    def tpr(self) -> np.ndarray:
        """True accept rate at each threshold (``tps / n_genuine``)."""
        return self.tps / self.tps[-1]

    def __len__(self) -> int:
        return int(self.thresholds.size)


@dataclass(frozen=True)
class OperatingPoint:
    """TAR at a FAR target.

    ``far`` is the FAR actually reached (always ``<= far_target``), ``tar`` the
    TAR there and ``threshold`` the score threshold that gives them.  All three
    are ``None`` when the impostor count is below ``1 / far_target`` (the
    target cannot be measured).  ``threshold`` is ``inf`` when only "accept
    nothing" meets the target.
    """

    far_target: float
    far: float | None
    tar: float | None
    threshold: float | None

    @property
    def measurable(self) -> bool:
        return self.tar is not None


@dataclass(frozen=True)
class EqualErrorRate:
    """The rate where FAR = FRR, and the (interpolated) threshold there."""

    eer: float
    threshold: float


@dataclass(frozen=True)
class ThresholdMetrics:
    """Confusion matrix and rates for "accept iff score >= threshold".

    ``precision`` is 0.0 when nothing is accepted and ``f1`` is 0.0 when
    precision + recall is 0 (scikit-learn's ``zero_division=0``).
    """

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    far: float
    frr: float


# --------------------------------------------------------------------------- validation
def check_scores(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert ``scores`` (float) and ``labels`` (0/1) once, at the boundary."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise ScoresError(f"scores and labels must have the same length, got {s.size} and {y.size}")
    if s.size == 0:
        raise ScoresError("no scores given")
    if not np.all(np.isfinite(s)):
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise ScoresError(f"scores must be finite, got {s[bad]!r} at position {bad}")
    if y.dtype != bool:
        yf = np.asarray(y, dtype=np.float64)
        if not np.all((yf == 0) | (yf == 1)):
            bad = int(np.flatnonzero((yf != 0) & (yf != 1))[0])
            raise ScoresError(f"labels must be 0 (impostor) or 1 (genuine), got {y[bad]!r} at position {bad}")
        y = yf == 1
    n_gen = int(y.sum())
    if n_gen == 0:
        raise ScoresError("no genuine pair (label 1): need at least one pair of the same identity")
    if n_gen == y.size:
        raise ScoresError("no impostor pair (label 0): need at least two identities")
    return s, y


def check_far(far) -> float:
    try:
        f = float(far)
    except (TypeError, ValueError):
        raise ScoresError(f"far must be a number in (0, 1], got {far!r}") from None
    if not (0.0 < f <= 1.0):
        raise ScoresError(f"far must be in (0, 1], got {far!r}")
    return f


# --------------------------------------------------------------------------- counting
PARALLEL_SORT_MIN = 1 << 18  # below this many scores one np.sort is quicker than splitting


def sort_values(s: np.ndarray, *, workers: int | None = None) -> np.ndarray:
    """``np.sort(s)`` for a 1-D float array, sorted on several CPU cores when it is large.

    ``np.partition`` puts the values of ranks ``n/k, 2n/k, ...`` in their sorted
    places with only smaller-or-equal values before each and larger-or-equal
    after; each of the ``k`` segments between them is then sorted in place on
    its own thread (numpy releases the GIL while sorting).  The result is
    identical to ``np.sort(s)``.

    >>> sort_values(np.array([3.0, -1.0, 2.0, 2.0]), workers=2).tolist()
    [-1.0, 2.0, 2.0, 3.0]
    """
    k = max(1, min(workers or os.cpu_count() or 1, 8))
    if k == 1 or s.size < PARALLEL_SORT_MIN:
        return np.sort(s)
    edges = [(i * s.size) // k for i in range(k + 1)]
    out = np.partition(s, edges[1:-1])
    with ThreadPoolExecutor(max_workers=k) as pool:
        list(pool.map(lambda a, b: out[a:b].sort(), edges[:-1], edges[1:]))
    return out


def count_at_thresholds(scores, labels) -> RocCurve:
    """Count accepted genuine/impostor pairs at every distinct score.

    Element ``i`` of the result is the count for ``score >= thresholds[i]``.

    >>> roc = count_at_thresholds([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0])
    >>> roc.thresholds.tolist(), roc.tps.tolist(), roc.fps.tolist()
    ([inf, 0.9, 0.8, 0.1], [0, 1, 2, 2], [0, 0, 1, 2])
    """
    s, y = check_scores(scores, labels)
    # one value sort (no argsort): the distinct scores and how many pairs score >= each
    asc = sort_values(s)
    firsts = np.r_[0, np.flatnonzero(np.diff(asc)) + 1]  # first index of each run of equal scores
    distinct = asc[firsts]  # ascending
    # genuine pairs are placed among the distinct scores by value (exact: every score is one of them)
    gen_per = np.bincount(np.searchsorted(distinct, s[y]), minlength=distinct.size)
    # descending order, with +inf ("accept nothing") first
    tps = np.r_[0, np.cumsum(gen_per[::-1])].astype(np.int64, copy=False)
    fps = np.r_[0, (asc.size - firsts)[::-1]] - tps
    return RocCurve(thresholds=np.r_[np.inf, distinct[::-1]], tps=tps, fps=fps.astype(np.int64, copy=False),
                    n_genuine=int(tps[-1]), n_impostor=int(fps[-1]))


def roc_curve(scores, labels) -> RocCurve:
    """The full ROC curve: ``fpr``, ``tpr``, ``thresholds`` equal to
    ``sklearn.metrics.roc_curve(labels, scores, drop_intermediate=False)``.

    Args:
        scores: float array (n_pairs,): higher means more alike; finite.
        labels: array (n_pairs,) of 1 (genuine, same person) and 0 (impostor); both kinds present.

    Returns:
        A :class:`RocCurve` of ``k + 1`` points for ``k`` distinct scores: integer counts ``tps``/``fps`` and
        ``thresholds`` (``+inf`` first), with ``fpr``/``tpr`` as properties.

    Raises:
        ScoresError: NaN or infinite scores, labels other than 0/1, or a kind of pair missing.

    >>> roc = roc_curve([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0])
    >>> roc.fpr.tolist(), roc.tpr.tolist()
    ([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0])
    """
    return count_at_thresholds(scores, labels)


def auc(roc: RocCurve) -> float:
    """Area under the ROC curve by the trapezoidal rule (``sklearn.metrics.auc``).

    >>> auc(roc_curve([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0]))
    0.875
    """
    return float(np.trapezoid(roc.tpr, roc.fpr))


def eer(roc: RocCurve) -> EqualErrorRate:
    """Equal error rate: where FAR = FRR (FRR = 1 - TAR).

    Found between the two neighbouring ROC points where ``FAR - FRR`` changes
    sign, by linear interpolation; the threshold is interpolated the same way
    (or is the lower point's when the upper one is the ``inf`` start).

    >>> e = eer(roc_curve([0.9, 0.7, 0.6, 0.2], [1, 0, 1, 0]))
    >>> e.eer, e.threshold
    (0.5, 0.7)
    """
    fpr, fnr = roc.fpr, 1.0 - roc.tpr
    d = fpr - fnr  # non-decreasing from -1 to 1
    i = int(np.argmax(d >= 0))
    if d[i] == 0 or i == 0:
        return EqualErrorRate(eer=float(fpr[i]), threshold=float(roc.thresholds[i]))
    a = -d[i - 1] / (d[i] - d[i - 1])
    rate = fpr[i - 1] + a * (fpr[i] - fpr[i - 1])
    t0, t1 = roc.thresholds[i - 1], roc.thresholds[i]
    thr = t1 if not np.isfinite(t0) else t0 + a * (t1 - t0)
    return EqualErrorRate(eer=float(rate), threshold=float(thr))


def tar_at_far(roc: RocCurve, far: float) -> OperatingPoint:
    """The highest TAR among ROC points with FAR <= ``far``.

    Of the points that reach that TAR, the one with the lowest FAR (highest
    threshold) is reported, so ``far`` is the FAR that TAR really costs.

    Not measurable (``tar is None``) when there are fewer than ``1 / far``
    impostor pairs.

    >>> p = tar_at_far(roc_curve([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0]), 0.5)
    >>> p.far, p.tar, p.threshold
    (0.5, 1.0, 0.8)
    """
    f = check_far(far)
    if roc.n_impostor * f < 1.0 - 1e-9:
        return OperatingPoint(far_target=f, far=None, tar=None, threshold=None)
    fpr = roc.fpr
    # fpr is non-decreasing, so the admissible points are a prefix; tpr is
    # non-decreasing too, so the highest TAR is at the last admissible point
    last = int(np.searchsorted(fpr, f, side="right")) - 1
    # of the points with that TAR, report the strictest (lowest FAR, highest threshold)
    first = int(np.searchsorted(roc.tps, roc.tps[last], side="left"))
    return OperatingPoint(
        far_target=f,
        far=float(fpr[first]),
        tar=float(roc.tpr[first]),
        threshold=float(roc.thresholds[first]),
    )


def tar_at_fars(roc: RocCurve, fars: Iterable[float] = DEFAULT_FARS) -> list[OperatingPoint]:
    return [tar_at_far(roc, f) for f in fars]


def threshold_metrics(roc: RocCurve, threshold: float) -> ThresholdMetrics:
    """Confusion matrix and rates for "accept iff score >= threshold".

    >>> m = threshold_metrics(roc_curve([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0]), 0.8)
    >>> (m.tp, m.fp, m.tn, m.fn), m.accuracy, m.precision, m.recall
    ((2, 1, 1, 0), 0.75, 0.6666666666666666, 1.0)
    """
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise ScoresError(f"threshold must be a number, got {threshold!r}") from None
    if math.isnan(t):
        raise ScoresError("threshold must be a number, got nan")
    # thresholds strictly decreasing; count of thresholds >= t is >= 1 unless t == inf... inf >= inf holds
    k = int(np.searchsorted(-roc.thresholds, -t, side="right")) - 1
    k = max(k, 0)
    tp, fp = int(roc.tps[k]), int(roc.fps[k])
    fn, tn = roc.n_genuine - tp, roc.n_impostor - fp
    total = roc.n_genuine + roc.n_impostor
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / roc.n_genuine
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ThresholdMetrics(
        threshold=t, tp=tp, fp=fp, tn=tn, fn=fn,
        accuracy=(tp + tn) / total, precision=precision, recall=recall, f1=f1,
        far=fp / roc.n_impostor, frr=fn / roc.n_genuine,
    )


COLLAPSED_SPREAD = 0.05  # a model whose central 98% of pair scores lie within this says nothing about who is who


def score_spread(roc: RocCurve, share: float = 0.98) -> float:
    """The width of the central ``share`` of all pair scores (genuine and impostor together), from the exact ROC
    counts: a healthy face model spreads its scores over tenths, a collapsed one (random weights, a dead head)
    puts every pair at about the same score.

    >>> round(score_spread(roc_curve(np.linspace(0, 1, 101), np.arange(101) % 2), share=0.5), 2)
    0.5
    """
    n = roc.n_genuine + roc.n_impostor
    below = (1 - share) / 2 * n
    seen = roc.tps + roc.fps  # pairs at or above each threshold (thresholds descending; the first is +inf)
    hi = float(roc.thresholds[min(int(np.searchsorted(seen, max(below, 1), side="left")), len(seen) - 1)])
    lo = float(roc.thresholds[min(int(np.searchsorted(seen, n - below, side="left")), len(seen) - 1)])
    return max(hi - lo, 0.0)


# --------------------------------------------------------------------------- export and drawing
def compact_roc(roc: RocCurve) -> RocCurve:
    """The ROC without the points inside a straight horizontal or vertical run: **lossless**.

    A point is dropped only when the curve neither turns nor steps diagonally
    there (the impostor count, or the genuine count, is the same on both of
    its sides).  Every corner and every tied step is kept, so the AUC, the EER
    and TAR at any FAR computed from the result are those of the full curve,
    while its length is at most about twice the number of thresholds that
    accept a new genuine pair (a few thousand points where the full curve of a
    large test has millions).  Unlike ``sklearn``'s ``drop_intermediate``,
    diagonal steps along a straight line are kept (each is an operating point).

    >>> roc = roc_curve([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 0, 0, 1])
    >>> len(roc), compact_roc(roc).thresholds.tolist()
    (6, [inf, 0.9, 0.6, 0.5])
    """
    if len(roc) <= 2:
        return roc
    # a point with the same counts as the one before it (a threshold between two scores) adds nothing
    same = np.r_[False, (np.diff(roc.tps) == 0) & (np.diff(roc.fps) == 0)]
    if same.any():
        roc = RocCurve(thresholds=roc.thresholds[~same], tps=roc.tps[~same], fps=roc.fps[~same],
                       n_genuine=roc.n_genuine, n_impostor=roc.n_impostor)
    if len(roc) <= 2:
        return roc
    dt, df = np.diff(roc.tps), np.diff(roc.fps)
    inner = ((dt[:-1] == 0) & (dt[1:] == 0)) | ((df[:-1] == 0) & (df[1:] == 0))
    keep = np.r_[True, ~inner, True]
    return RocCurve(thresholds=roc.thresholds[keep], tps=roc.tps[keep], fps=roc.fps[keep],
                    n_genuine=roc.n_genuine, n_impostor=roc.n_impostor)


def bounded_roc(roc: RocCurve, *, tar_error: float = 1e-4) -> RocCurve:
    """The ROC with at most about ``2 / tar_error`` points, TAR off by **at most** ``tar_error`` at any FAR.

    A subset of the lossless :func:`compact_roc`'s points: along the curve, the first point (lowest FAR) at which
    the TAR enters each step of ``tar_error`` and the corner just before it (so every horizontal run is drawn as it
    is), the last point, and the exact operating points at FAR = 10^-1 ... 10^-9.  Reading TAR at any FAR from the result the usual way (the highest TAR among points
    with FAR <= the target, :func:`tar_at_far`) gives at most ``tar_error`` less than the full curve (the point of
    the full curve that sets it shares its step with a kept point of no higher FAR), and exactly the full curve's TAR
    at each decade.  The thresholds are the full curve's, so every point is a true operating point.  When no
    step of ``tar_error`` holds two corners (fewer than ~``1 / tar_error`` genuine pairs) the result is the
    compact curve itself: lossless.

    >>> roc = roc_curve(np.r_[np.linspace(1, 0, 50_000), np.linspace(0.9, -1, 50_000)], np.r_[np.ones(50_000), np.zeros(50_000)])
    >>> b = bounded_roc(roc, tar_error=1e-3)
    >>> len(compact_roc(roc)) > 20_000, len(b) < 2_020, abs(tar_at_far(b, 1e-3).tar - tar_at_far(roc, 1e-3).tar) < 1e-12
    (True, True, True)
    """
    if not 0 < tar_error < 1:
        raise ValueError(f"tar_error must be in (0, 1), got {tar_error}")
    c = compact_roc(roc)
    if len(c) <= 2:
        return c
    level = np.floor(c.tps / c.n_genuine / tar_error)
    enters = np.r_[True, level[1:] != level[:-1]]
    keep = enters | np.r_[enters[1:], True]  # and the corner just before: the horizontal runs stay as they are
    fpr = c.fpr
    for k in range(1, 10):  # the decades' operating points, exactly as tar_at_far picks them
        far = 10.0 ** -k
        if c.n_impostor * far < 1.0 - 1e-9:
            break
        last = int(np.searchsorted(fpr, far, side="right")) - 1
        keep[int(np.searchsorted(c.tps, c.tps[last], side="left"))] = True
    if keep.all():
        return c
    return RocCurve(thresholds=c.thresholds[keep], tps=c.tps[keep], fps=c.fps[keep], n_genuine=c.n_genuine,
                    n_impostor=c.n_impostor)


def thin_roc(roc: RocCurve, *, max_points: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A thinned ``(fpr, tpr, thresholds)`` for **drawing only**.

    Keeps the first and last point of every run of points that fall in the
    same cell of a grid that is fine both on a linear and on a log-FAR scale,
    so the staircase looks the same on either axis.  Never use it for metrics.
    """
    if max_points < 4:
        raise ValueError(f"max_points must be >= 4, got {max_points}")
    fpr, tpr = roc.fpr, roc.tpr
    n = fpr.size
    if n <= max_points:
        return fpr, tpr, roc.thresholds
    k = max_points // 4
    with np.errstate(divide="ignore"):
        logf = np.where(fpr > 0, np.log10(np.maximum(fpr, 1e-300)), -12.0)
    key = (
        np.floor(fpr * k).astype(np.int64) * 1_000_003
        + np.floor(tpr * k).astype(np.int64) * 1_009
        + np.floor(np.clip(logf, -12, 0) * k / 6).astype(np.int64)
    )
    change = np.flatnonzero(np.diff(key)) if n > 1 else np.array([], dtype=np.int64)
    keep = np.unique(np.r_[0, change, change + 1, n - 1])
    return fpr[keep], tpr[keep], roc.thresholds[keep]
