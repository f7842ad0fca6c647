"""A bootstrap over people, computed exactly on the pairs (:mod:`.uncertainty` builds the intervals from it).

A replicate gives every person ``p`` a weight ``w_p`` (how often they were drawn); a genuine pair of ``p`` then
counts ``w_p`` times and an impostor pair of ``p, q`` counts ``w_p * w_q`` times — the test set that replicate
stands for.  On the pairs sorted once by score (equal scores grouped), one pass per replicate gives that test
set's weighted ROC and from it, with the very definitions of :mod:`.metrics`:

* the AUC (the tie-aware Mann–Whitney count: equal scores count one half),
* the TAR at each FAR target (the highest TAR among points with FAR <= the target),
* the EER (linear interpolation where FAR - FRR changes sign, as :func:`faceroc_core.metrics.eer`),
* FAR and FRR at given thresholds (accept iff ``score >= threshold``).

With every weight 1 a replicate gives the exact metrics of the data (tested).  The pass costs a few nanoseconds a
pair, so this is for sets whose pairs can be held (:data:`MAX_PAIRS`); replicates run on two threads (the kernel
releases the GIL).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from .uncertainty import Influence, MetricIntervals, jackknife_influence, rate_interval

MAX_PAIRS = 2_500_000  # pairs a bootstrap over people holds (about 2,200 images; 60 MB)
JACKKNIFE_GROUPS = 100  # people left out together: each person alone up to this many people


@dataclass(frozen=True, eq=False)
class PersonPairs:
    """One model's pairs sorted by score, highest first, with each pair's people.

    Group ``k`` (pairs ``start[k]:start[k + 1]``) holds the pairs whose score is ``values[k]``.
    """

    values: np.ndarray  # float64 (K,) distinct scores, descending
    start: np.ndarray  # int64 (K + 1,)
    genuine: np.ndarray  # bool (n,)
    person_a: np.ndarray  # int64 (n,)
    person_b: np.ndarray  # int64 (n,) (== person_a for a genuine pair)
    n_people: int
    genuine_per_person: np.ndarray  # float64 (P,): genuine pairs of each person
    images_per_person: np.ndarray  # float64 (P,) when the pairs are every pair of the images (impostor pairs of
    # p, q: m_p * m_q, so a replicate's totals come from these); empty for a list of pairs (a protocol)

    @classmethod
    def of(cls, scores, genuine, person_a, person_b, n_people: int, *, images_per_person=None) -> PersonPairs:
        """The pairs (any order); ``images_per_person`` when they are every pair of the images."""
        s = np.asarray(scores, np.float64)
        order = np.argsort(-s, kind="stable")
        s = s[order]
        g = np.asarray(genuine, bool)[order]
        pa = np.asarray(person_a, np.int64)[order]
        new = np.r_[True, s[1:] != s[:-1]]
        m = np.zeros(0) if images_per_person is None else np.asarray(images_per_person, np.float64)
        return cls(values=s[new], start=np.r_[np.flatnonzero(new), s.size].astype(np.int64), genuine=g,
                   person_a=pa, person_b=np.asarray(person_b, np.int64)[order], n_people=int(n_people),
                   genuine_per_person=np.bincount(pa[g], minlength=n_people).astype(np.float64),
                   images_per_person=m)

    @property
    def scores(self) -> np.ndarray:
        """Each pair's score, in the pairs' (sorted) order."""
        return np.repeat(self.values, np.diff(self.start))

    @classmethod
    def of_images(cls, embeddings, identities) -> PersonPairs:
        """Every pair of the images (held: for sets of at most :data:`MAX_PAIRS` pairs), scored as the scan scores
        them (:func:`faceroc_core.stream.all_pair_scores`); people are numbered in sorted order of identity."""
        from .stream import all_pair_scores

        _, codes = np.unique(np.asarray(identities), return_inverse=True)
        scores, genuine = all_pair_scores(embeddings, codes)
        i, j = np.triu_indices(codes.size, 1)
        P = int(codes.max()) + 1
        return cls.of(scores, genuine, codes[i], codes[j], P, images_per_person=np.bincount(codes, minlength=P))


@dataclass(frozen=True, eq=False)
class Replicates:
    """The metrics of each replicate (row ``r`` of every array: replicate ``r``)."""

    auc: np.ndarray  # (R,)
    auc_se: np.ndarray  # (R,): the AUC's standard error over people in each replicate (every pair only; else NaN)
    tar: np.ndarray  # (R, len(fars)); NaN where the replicate has no impostor weight
    eer: np.ndarray  # (R,)
    far_at: np.ndarray  # (R, len(thresholds))
    frr_at: np.ndarray  # (R, len(thresholds))


@njit(cache=True, nogil=True)
def _one(start, genuine, pa, pb, values, g_per, m_per, w, fars, thresholds, out_tar, out_far, out_frr, dN, full):
    """One replicate's metrics for person weights ``w`` (see the module text); returns (AUC, EER, the AUC's
    standard error over people by the infinitesimal jackknife of this replicate's test set).  Unless ``full``,
    the pass stops once the FAR targets, the EER and the thresholds are settled (AUC and its error: NaN)."""
    n_g = 0.0
    n_i = 0.0
    if m_per.size:  # every pair of the images: n_g = sum_p w_p g_p, n_i = sum_{p<q} w_p w_q m_p m_q (m_p images of p)
        s1 = 0.0
        s2 = 0.0
        for p in range(w.size):
            n_g += w[p] * g_per[p]
            s1 += w[p] * m_per[p]
            s2 += (w[p] * m_per[p]) ** 2
        n_i = (s1 * s1 - s2) / 2.0
    else:  # a list of pairs: count them
        for x in range(genuine.size):
            if genuine[x]:
                n_g += w[pa[x]]
            else:
                n_i += w[pa[x]] * w[pb[x]]
    for k in range(fars.size):
        out_tar[k] = np.nan
    for k in range(thresholds.size):
        out_far[k] = np.nan
        out_frr[k] = np.nan
    if n_g <= 0.0 or n_i <= 0.0:
        return np.nan, np.nan, np.nan
    for p in range(dN.size):
        dN[p] = 0.0
    tp = 0.0
    fp = 0.0
    num = 0.0
    # EER: the first point with FAR - FRR >= 0, and the one before it (the start point (0, 0) is d = -1)
    eer = np.nan
    prev_d = -1.0
    prev_far = 0.0
    q = 0  # next threshold query (descending)
    far_max = -1.0
    for k in range(fars.size):
        far_max = max(far_max, fars[k])
    for g in range(values.size):
        if not full and q == thresholds.size and not np.isnan(eer) and fp / n_i > far_max:
            for k in range(fars.size):  # settled: TAR at the targets, the EER and every threshold
                if np.isnan(out_tar[k]):
                    out_tar[k] = 0.0
            return np.nan, eer, np.nan
        v = values[g]
        while q < thresholds.size and thresholds[q] > v:  # accept iff score >= t: groups above t are in
            out_far[q] = fp / n_i
            out_frr[q] = 1.0 - tp / n_g
            q += 1
        gw = 0.0
        iw = 0.0
        for x in range(start[g], start[g + 1]):
            if genuine[x]:
                gw += w[pa[x]]
            else:
                iw += w[pa[x]] * w[pb[x]]
        if gw == 0.0 and iw == 0.0:  # a group of people that were not drawn: no point of this replicate's ROC
            continue
        below = n_i - fp - iw + 0.5 * iw  # impostor weight under a genuine score of this group (ties: one half)
        above = tp + 0.5 * gw  # genuine weight over an impostor score of this group
        for x in range(start[g], start[g + 1]):  # d N / d w_p: each person's share of the Mann-Whitney count
            if genuine[x]:
                dN[pa[x]] += below
            else:
                dN[pa[x]] += w[pb[x]] * above
                dN[pb[x]] += w[pa[x]] * above
        num += gw * below
        tp += gw
        fp += iw
        far = fp / n_i
        tpr = tp / n_g
        for k in range(fars.size):
            if far <= fars[k]:
                out_tar[k] = tpr
        if np.isnan(eer):
            d = far - (1.0 - tpr)
            if d >= 0.0:
                if d == 0.0:
                    eer = far
                else:
                    a = -prev_d / (d - prev_d)
                    eer = prev_far + a * (far - prev_far)
            prev_d = d
            prev_far = far
    while q < thresholds.size:
        out_far[q] = fp / n_i
        out_frr[q] = 1.0 - tp / n_g
        q += 1
    for k in range(fars.size):  # no point at or under the target but the start: TAR 0
        if np.isnan(out_tar[k]):
            out_tar[k] = 0.0
    auc = num / (n_g * n_i)
    # influence of one copy of person p: A * (dN_p / N - dG_p / n_g - dI_p / n_i); variance: sum_p w_p U_p^2 * P/(P-1)
    s1 = 0.0
    for p in range(w.size):
        s1 += w[p] * m_per[p] if m_per.size else 0.0
    var = 0.0
    n_drawn = 0.0
    for p in range(w.size):
        if w[p] == 0.0:
            continue
        n_drawn += w[p]
        dI = m_per[p] * (s1 - w[p] * m_per[p]) if m_per.size else np.nan
        u = auc * (dN[p] / num - g_per[p] / n_g - dI / n_i) if num > 0.0 else 0.0
        var += w[p] * u * u
    se = np.sqrt(var * n_drawn / max(n_drawn - 1.0, 1.0))
    return auc, eer, se


@njit(cache=True, nogil=True)
def _many(start, genuine, pa, pb, values, g_per, m_per, W, fars, thresholds, auc, eer, se, tar, far_at, frr_at,
          full):
    dN = np.empty(W.shape[1])
    for r in range(W.shape[0]):
        auc[r], eer[r], se[r] = _one(start, genuine, pa, pb, values, g_per, m_per, W[r], fars, thresholds, tar[r],
                                     far_at[r], frr_at[r], dN, full)


def replicate(pp: PersonPairs, weights, *, fars=(), thresholds=(), auc: bool = True) -> Replicates:
    """The metrics of the test sets that the rows of ``weights`` (R x P person weights) stand for.

    ``auc=False``: no AUC (NaN), and each pass stops once TAR, EER and the thresholds are settled — for a good
    model a few percent of the pairs.

    >>> pp = PersonPairs.of([0.9, 0.8, 0.3, 0.7], [True, True, False, False], [0, 1, 0, 0], [0, 1, 1, 1], 2)
    >>> r = replicate(pp, np.ones((1, 2)), fars=(0.5,))
    >>> r.auc.tolist(), r.tar.tolist(), r.eer.tolist()
    ([1.0], [[1.0]], [0.0])
    """
    W = np.ascontiguousarray(np.atleast_2d(np.asarray(weights, np.float64)))
    f = np.asarray(fars, np.float64)
    t = np.sort(np.asarray(thresholds, np.float64))[::-1].copy()  # descending, as the pass meets them
    R = W.shape[0]
    out = Replicates(auc=np.empty(R), auc_se=np.empty(R), tar=np.empty((R, f.size)), eer=np.empty(R), far_at=np.empty((R, t.size)),
                     frr_at=np.empty((R, t.size)))
    parts = max(1, min(2, os.cpu_count() or 1, R // 16))
    bounds = np.linspace(0, R, parts + 1).astype(int)

    def run(k):
        a, b = bounds[k], bounds[k + 1]
        _many(pp.start, pp.genuine, pp.person_a, pp.person_b, pp.values, pp.genuine_per_person, pp.images_per_person,
              W[a:b], f, t, out.auc[a:b], out.eer[a:b], out.auc_se[a:b], out.tar[a:b], out.far_at[a:b],
              out.frr_at[a:b], auc)

    if parts == 1:
        run(0)
    else:
        with ThreadPoolExecutor(max_workers=parts) as pool:
            list(pool.map(run, range(parts)))
    if t.size:  # back in the caller's order of thresholds
        back = np.argsort(np.argsort(-np.asarray(thresholds, np.float64), kind="stable"))
        out = Replicates(auc=out.auc, auc_se=out.auc_se, tar=out.tar, eer=out.eer, far_at=out.far_at[:, back],
                         frr_at=out.frr_at[:, back])
    return out


def bootstrap_weights(n_people: int, n_boot: int, *, seed: int = 0) -> np.ndarray:
    """``n_boot`` draws of ``n_people`` people with replacement: how often each person was drawn (R x P)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_people, np.full(n_people, 1.0 / n_people), size=n_boot).astype(np.float64)


def jackknife_weights(n_people: int) -> np.ndarray:
    """Each person left out once (P x P: row ``p`` weighs everyone 1 but ``p``, 0)."""
    return 1.0 - np.eye(n_people)


def person_groups(n_people: int, n_groups: int = JACKKNIFE_GROUPS, *, seed: int = 0) -> np.ndarray:
    """Each person's group for a grouped jackknife: everyone alone when there are at most ``n_groups`` people,
    else people dealt at random (seeded) into ``n_groups`` groups of nearly equal size."""
    if n_people <= n_groups:
        return np.arange(n_people)
    return np.random.default_rng(seed).permutation(n_people) % n_groups


def group_jackknife_weights(groups) -> np.ndarray:
    """Each group left out once (G x P: row ``g`` weighs everyone 1 but the people of group ``g``, 0)."""
    g = np.asarray(groups, np.int64)
    return (g[None, :] != np.arange(int(g.max()) + 1)[:, None]).astype(np.float64)


def sample_of_images(embeddings, identities, *, max_pairs: int = MAX_PAIRS, seed: int = 0) -> PersonPairs:
    """:meth:`PersonPairs.of_images` of every image when their pairs fit in ``max_pairs``; else of every image of
    people drawn at random (seeded) until the next person's images would not fit — a sample of people that stands
    for all of them (:func:`people_intervals` widens its spread to the whole set)."""
    ids = np.asarray(identities)
    n = ids.size
    if n * (n - 1) // 2 <= max_pairs:
        return PersonPairs.of_images(embeddings, ids)
    _, codes = np.unique(ids, return_inverse=True)
    counts = np.bincount(codes)
    order = np.random.default_rng(seed).permutation(counts.size)
    held = np.cumsum(counts[order])
    k = max(2, int(np.searchsorted(held * (held - 1) // 2, max_pairs, side="right")))
    keep = np.isin(codes, order[:k])
    return PersonPairs.of_images(np.asarray(embeddings)[keep], codes[keep])


def people_intervals(pp: PersonPairs, *, auc: Influence | None, tar: dict, eer: float | None,
                     n_people: int | None = None, level: float = 0.95, seed: int = 0) -> MetricIntervals:
    """Intervals over people for one model's AUC, TAR at each FAR target and EER (method: :mod:`.uncertainty`).

    Args:
        pp: the model's pairs with their people — every one, or those of a sample of people
            (:func:`sample_of_images`).
        auc: each person's influence on the AUC (exact, from the scan), or None.
        tar: FAR target -> the TAR measured there (None: the target cannot be measured, no interval).
        eer: the EER measured.
        n_people: the people the measured values are over, when ``pp`` holds a sample of them: the sample's
            spread is narrowed by ``sqrt(sample / n_people)``.

    TAR and EER: a jackknife over people (each person left out, or groups of people beyond
    :data:`JACKKNIFE_GROUPS`), each pass stopped once its TAR and EER are settled.
    """
    fars = [float(f) for f, v in tar.items() if v is not None]
    jack = _Jackknife.of(pp, n_people, seed, fars=fars)
    tars = tuple((float(f), jack.interval(v, jack.J.tar[:, fars.index(float(f))], level) if v is not None else None)
                 for f, v in tar.items())
    return MetricIntervals(auc=rate_interval(auc.auc, auc, level=level) if auc is not None else None, tar=tars,
                           eer=jack.interval(eer, jack.J.eer, level) if eer is not None else None)


def threshold_intervals(pp: PersonPairs, threshold: float, *, far: float, frr: float, n_people: int | None = None,
                        level: float = 0.95, seed: int = 0):
    """Intervals over people for the FAR and FRR measured at ``threshold`` (accept iff score >= threshold), by
    the same jackknife as :func:`people_intervals`: ``(far interval, frr interval)``."""
    jack = _Jackknife.of(pp, n_people, seed, thresholds=(float(threshold),))
    return jack.interval(far, jack.J.far_at[:, 0], level), jack.interval(frr, jack.J.frr_at[:, 0], level)


@dataclass(frozen=True, eq=False)
class _Jackknife:
    J: Replicates
    n_groups: int
    total: int
    shrink: float

    @classmethod
    def of(cls, pp: PersonPairs, n_people, seed, *, fars=(), thresholds=()) -> _Jackknife:
        total = pp.n_people if n_people is None else int(n_people)
        groups = person_groups(pp.n_people, seed=seed)
        J = replicate(pp, group_jackknife_weights(groups), fars=fars, thresholds=thresholds, auc=False)
        return cls(J=J, n_groups=int(groups.max()) + 1, total=total, shrink=float(np.sqrt(pp.n_people / total)))

    def interval(self, value, left_out, level):
        inf = jackknife_influence(value, left_out)
        inf = Influence(auc=inf.auc, values=inf.values * self.shrink)
        return rate_interval(value, inf, level=level, n_units=self.n_groups, n_people=self.total,
                             method=JACKKNIFE_METHOD, df_factor=JACKKNIFE_DF_FACTOR)


JACKKNIFE_METHOD = "jackknife over people (logit scale, Student-t with effective degrees of freedom)"
# The jackknife's variance errs wide already (Efron-Stein: it counts the pairs' own second-order share in full,
# which the infinitesimal jackknife of the AUC leaves out), so its effective people are taken 1.5 times as many
# (chosen on benchmarks/bench_coverage.py at AUC 0.82-0.998 with 20-40 people; checked on other settings there)
JACKKNIFE_DF_FACTOR = 1.5
