"""How sure are we? Identity-level bootstrap of AUC and of AUC differences.

Pairs share images and people, so resampling *pairs* would overstate
certainty.  Each bootstrap replicate resamples the *people* with replacement
(multiplicity ``w[p]`` for person ``p``); a genuine pair of person ``p`` then
counts ``w[p]`` times and an impostor pair of people ``p, q`` counts
``w[p] * w[q]`` times.  The AUC of a replicate is the weighted AUC
(``sklearn.metrics.roc_auc_score(..., sample_weight=...)``).  Models scored on
the same pairs share the replicates, so their AUC *difference* gets a paired
interval and the share of replicates in which one model beats the other.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BOOT = 200
MAX_PAIR_WORK = 60_000_000  # pairs x models x replicates; fewer replicates above this (at least 50)
MAX_PAIRS = 5_000_000  # above this many pairs the bootstrap is skipped (too slow to be worth it)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    level: float
    n_boot: int


@dataclass(frozen=True)
class PairedComparison:
    """``better`` vs ``worse`` on the same pairs: AUC difference, its interval, and how often ``better`` wins."""

    better: str
    worse: str
    delta: float
    interval: Interval
    p_better: float  # share of replicates where better's AUC > worse's


def weighted_auc(scores_sorted: np.ndarray, genuine_sorted: np.ndarray, w: np.ndarray) -> float:
    """Weighted AUC of pairs already sorted by descending score (ties handled as in the ROC).

    ``w`` are the weights in the sorted order.
    """
    wg = np.where(genuine_sorted, w, 0.0)
    wi = w - wg
    last = np.r_[np.flatnonzero(np.diff(scores_sorted)), scores_sorted.size - 1]
    tp = np.r_[0.0, np.cumsum(wg)[last]]
    fp = np.r_[0.0, np.cumsum(wi)[last]]
    if tp[-1] <= 0 or fp[-1] <= 0:
        return float("nan")
    return float(np.trapezoid(tp / tp[-1], fp / fp[-1]))


def pair_people(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Identity codes of both images of every pair, in ``numpy.triu_indices(n, 1)`` order."""
    n = codes.size
    i, j = np.triu_indices(n, 1)
    return codes[i].astype(np.int32), codes[j].astype(np.int32)


def bootstrap(models: dict[str, tuple[np.ndarray, np.ndarray]], people_a: np.ndarray, people_b: np.ndarray,
              n_people: int, *, n_boot: int = DEFAULT_BOOT, level: float = 0.95, seed: int = 0):
    """AUC intervals per model and paired comparisons against the best.

    ``models`` maps a name to ``(scores, genuine)`` over the same pairs, whose
    people are ``people_a``/``people_b``.  Returns ``({name: Interval},
    [PairedComparison, ...])``; the comparisons pit the best model against
    every other one.
    """
    names = list(models)
    n_pairs = people_a.size
    n_boot = int(max(50, min(n_boot, MAX_PAIR_WORK // max(n_pairs * max(len(names), 1), 1))))
    rng = np.random.default_rng(seed)
    prepared = {}
    point = {}
    for name, (s, g) in models.items():
        order = np.argsort(-s, kind="stable")
        prepared[name] = (s[order], g[order], people_a[order], people_b[order])
        point[name] = weighted_auc(s[order], g[order], np.ones(n_pairs))
    reps = {name: np.empty(n_boot) for name in names}
    for b in range(n_boot):
        w_people = rng.multinomial(n_people, np.full(n_people, 1.0 / n_people)).astype(np.float64)
        for name in names:
            s_sorted, g_sorted, pa, pb = prepared[name]
            wa, wb = w_people[pa], w_people[pb]
            w = np.where(g_sorted, wa, wa * wb)
            reps[name][b] = weighted_auc(s_sorted, g_sorted, w)
    alpha = (1 - level) / 2
    intervals = {}
    for name in names:
        r = reps[name][np.isfinite(reps[name])]
        lo, hi = (np.quantile(r, [alpha, 1 - alpha]) if r.size else (np.nan, np.nan))
        intervals[name] = Interval(low=float(lo), high=float(hi), level=level, n_boot=n_boot)
    comps = []
    if len(names) > 1:
        best = max(names, key=lambda k: point[k])
        for other in names:
            if other == best:
                continue
            d = reps[best] - reps[other]
            d = d[np.isfinite(d)]
            lo, hi = np.quantile(d, [alpha, 1 - alpha]) if d.size else (np.nan, np.nan)
            comps.append(PairedComparison(better=best, worse=other, delta=point[best] - point[other],
                                          interval=Interval(float(lo), float(hi), level, n_boot),
                                          p_better=float(np.mean(d > 0)) if d.size else float("nan")))
    return intervals, comps
