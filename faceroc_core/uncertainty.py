"""How sure are we? Intervals for the AUC over *people*, at any size.

Pairs share images and people, so treating pairs as independent overstates
certainty (a pair-level bootstrap calls a "clear" lead between two equal
models 41% of the time).  The unit that is sampled is the person: if the test
had other people like these, how would the AUC move?

The resampling of people is done analytically, not by drawing resamples.  Give
person ``p`` a weight ``w_p`` (1 for everyone in the data); a genuine pair of
``p`` then counts ``w_p`` times and an impostor pair of ``p, q`` counts
``w_p * w_q`` times.  The AUC is then ``N(w) / (G(w) I(w))`` with the
Mann–Whitney count ``N``, so its derivative in ``w_p`` — the *influence* of
person ``p`` — needs, per person, only

* the sum over their genuine pairs of ``2 * #impostors below + #impostors equal``,
* the sum over their impostor pairs of ``2 * #genuine above + #genuine equal``,
* their numbers of genuine and impostor pairs,

which one pass over the pairs gives (:func:`faceroc_core.stream.scan`).  The
variance of a bootstrap over people is, to first order, ``sum_p IF_p ** 2``
(the infinitesimal jackknife), here times ``P / (P - 1)``.  The cost grows with
the number of people, never with pairs x resamples.

* One model: the interval is built on the logit scale (an AUC near 1 is
  skewed: its interval reaches further down than up) with Student-t quantiles
  on ``P - 1`` degrees of freedom (few people: wider).  In a seeded simulation
  where the truth is known (``tests/test_uncertainty.py``) it covers the true
  AUC about 95% of the time; the percentile bootstrap it replaces covered 92%.
* Two models on the same images: the AUC *difference* has influence
  ``IF_a - IF_b``; its interval is ``delta +- t * se`` and ``p_better`` the
  normal probability that ``a`` stays ahead, ``Phi(delta / se)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHOD = "influence of each person (delta method over people)"


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    level: float
    n_people: int
    method: str = METHOD


@dataclass(frozen=True)
class PairedComparison:
    """``better`` vs ``worse`` on the same pairs: AUC difference, its interval, and how likely ``better`` leads."""

    better: str
    worse: str
    delta: float
    interval: Interval
    p_better: float  # probability that better's AUC stays above worse's on other people like these


@dataclass(frozen=True, eq=False)
class Influence:
    """One model's AUC and the influence of each person on it (``values[p]``, summing to 0)."""

    auc: float
    values: np.ndarray  # float64 (P,)

    @property
    def n_people(self) -> int:
        return int(self.values.size)

    def se(self) -> float:
        p = self.n_people
        return float(np.sqrt(np.sum(self.values ** 2) * p / max(p - 1, 1)))


def influence(genuine_rank2, genuine_person, impostor_rank2, image_person, n_people: int, auc: float) -> Influence:
    """Each person's influence on the AUC (see the module text).

    Args:
        genuine_rank2: int (G,): per genuine pair, ``2 * #impostors < s + #impostors == s``.
        genuine_person: int (G,): the person (0..P-1) of each genuine pair.
        impostor_rank2: int (n,): per image, the sum over its impostor pairs of ``2 * #genuine > s + #genuine == s``.
        image_person: int (n,): the person of each image.
        auc: the AUC these counts give.

    >>> inf = influence([8, 8], [0, 1], [8, 8, 8, 8], [0, 0, 1, 1], 2, 1.0)
    >>> inf.values.tolist()
    [0.0, 0.0]
    """
    gr = np.asarray(genuine_rank2, np.float64)
    gp = np.asarray(genuine_person, np.int64)
    ir = np.asarray(impostor_rank2, np.float64)
    ip = np.asarray(image_person, np.int64)
    m = np.bincount(ip, minlength=n_people).astype(np.float64)  # images per person
    n = m.sum()
    dN = np.bincount(gp, weights=gr, minlength=n_people) + np.bincount(ip, weights=ir, minlength=n_people)
    return _influence(dN, m * (m - 1) / 2, m * (n - m), gr.sum(), auc)


def influence_of_pairs(scores, genuine, person_a, person_b, n_people: int, auc: float) -> Influence:
    """:func:`influence` for a list of pairs (a protocol) instead of all pairs of the images."""
    s = np.asarray(scores, np.float64)
    g = np.asarray(genuine, bool)
    pa, pb = np.asarray(person_a, np.int64), np.asarray(person_b, np.int64)
    gs, imp = np.sort(s[g]), np.sort(s[~g])
    # per genuine pair: 2 * #impostors below + #equal = #below + #below-or-equal; per impostor pair likewise above
    gr = np.searchsorted(imp, s[g], side="left") + np.searchsorted(imp, s[g], side="right")
    ir = 2 * gs.size - np.searchsorted(gs, s[~g], side="right") - np.searchsorted(gs, s[~g], side="left")
    dN = (np.bincount(pa[g], weights=gr, minlength=n_people)
          + np.bincount(pa[~g], weights=ir, minlength=n_people) + np.bincount(pb[~g], weights=ir, minlength=n_people))
    g_p = np.bincount(pa[g], minlength=n_people).astype(np.float64)
    i_p = (np.bincount(pa[~g], minlength=n_people) + np.bincount(pb[~g], minlength=n_people)).astype(np.float64)
    return _influence(dN, g_p, i_p, float(gr.sum()), auc)


def _influence(dN, g_p, i_p, N2: float, auc: float) -> Influence:
    """``IF_p = AUC * (dN_p / N - g_p / G - i_p / I)``: ``N`` the Mann-Whitney count (times 2), ``G`` the genuine
    and ``I`` the impostor pairs; ``g_p`` and ``i_p`` the pairs person ``p`` takes part in (``sum i_p = 2 I``)."""
    G, I2 = float(np.sum(g_p)), float(np.sum(i_p))
    if N2 == 0 or G == 0 or I2 == 0:
        return Influence(auc=auc, values=np.zeros(len(dN)))
    return Influence(auc=auc, values=auc * (np.asarray(dN) / N2 - np.asarray(g_p) / G - 2 * np.asarray(i_p) / I2))


def _t(level: float, df: int) -> float:
    from scipy.special import stdtrit  # Student-t quantile (scipy.special loads in 0.4 s, scipy.stats in 2 s)

    return float(stdtrit(max(df, 1), 0.5 + level / 2))


def auc_interval(inf: Influence, *, level: float = 0.95) -> Interval:
    """The ``level`` interval of one model's AUC over people (logit scale, Student-t)."""
    a, se, p = inf.auc, inf.se(), inf.n_people
    q = _t(level, p - 1)
    if not 0.0 < a < 1.0 or se == 0.0:
        return Interval(low=a, high=a, level=level, n_people=p)
    x, sx = np.log(a / (1 - a)), se / (a * (1 - a))
    lo, hi = 1 / (1 + np.exp(-(x - q * sx))), 1 / (1 + np.exp(-(x + q * sx)))
    return Interval(low=float(lo), high=float(hi), level=level, n_people=p)


def compare(better: str, a: Influence, worse: str, b: Influence, *, level: float = 0.95) -> PairedComparison:
    """``better`` against ``worse``, scored on the same images (the same people)."""
    from scipy.special import ndtr  # the normal CDF

    if a.n_people != b.n_people:
        raise ValueError(f"the models were scored on different people ({a.n_people} and {b.n_people})")
    d = a.auc - b.auc
    diff = Influence(auc=d, values=a.values - b.values)
    se, p = diff.se(), a.n_people
    q = _t(level, p - 1)
    if se == 0.0:
        p_better = 1.0 if d > 0 else 0.0
        iv = Interval(low=d, high=d, level=level, n_people=p)
    else:
        p_better = float(ndtr(d / se))
        iv = Interval(low=float(d - q * se), high=float(d + q * se), level=level, n_people=p)
    return PairedComparison(better=better, worse=worse, delta=float(d), interval=iv, p_better=p_better)


# --------------------------------------------------------------------------- a bootstrap over people
# (faceroc_core.resample computes the replicates exactly; benchmarks/bench_coverage.py measures the coverage)
BOOT_METHOD = "bootstrap over people (BCa)"


def bca_interval(theta: float, reps: np.ndarray, jack: np.ndarray, *, level: float = 0.95, n_people: int,
                 lo: float = 0.0, hi: float = 1.0, method: str = BOOT_METHOD) -> Interval:
    """The bias-corrected and accelerated (BCa) interval of ``theta`` from bootstrap replicates over people and the
    leave-one-person-out values (the acceleration).

    >>> rng = np.random.default_rng(0)
    >>> iv = bca_interval(0.5, rng.normal(0.5, 0.1, 4000), 0.5 + rng.normal(0, 0.01, 40), n_people=40)
    >>> round(iv.low, 1), round(iv.high, 1)
    (0.3, 0.7)
    """
    from scipy.special import ndtr, ndtri

    r = np.asarray(reps, np.float64)
    r = r[np.isfinite(r)]
    if r.size == 0 or np.all(r == r[0]):
        v = float(theta) if r.size == 0 else float(r[0])
        return Interval(low=min(v, theta), high=max(v, theta), level=level, n_people=n_people, method=method)
    share = (np.sum(r < theta) + 0.5 * np.sum(r == theta)) / r.size
    z0 = float(ndtri(np.clip(share, 0.5 / r.size, 1 - 0.5 / r.size)))
    j = np.asarray(jack, np.float64)
    j = j[np.isfinite(j)]
    d = j.mean() - j if j.size else np.zeros(0)
    ss = float(np.sum(d ** 2))
    a = float(np.sum(d ** 3) / (6 * ss ** 1.5)) if ss > 0 else 0.0
    z = ndtri(np.array([(1 - level) / 2, (1 + level) / 2]))
    q = ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
    low, high = np.quantile(r, np.clip(q, 0, 1))
    return Interval(low=float(np.clip(low, lo, hi)), high=float(np.clip(high, lo, hi)), level=level,
                    n_people=n_people, method=method)


STUDENTIZED_METHOD = "studentized bootstrap over people"


def studentized_interval(theta: float, se: float, reps, reps_se, *, level: float = 0.95, n_people: int,
                         lo: float = 0.0, hi: float = 1.0) -> Interval:
    """The studentized (bootstrap-t) interval: ``theta - q * se`` for the quantiles ``q`` of each replicate's
    ``(theta* - theta) / se*`` — the bootstrap's own spread of the standardised error, so a sample whose hard people
    make the estimate and its standard error move together gets a correspondingly lopsided, wider interval.

    >>> rng = np.random.default_rng(0)
    >>> reps = rng.normal(0.5, 0.1, 4000)
    >>> iv = studentized_interval(0.5, 0.1, reps, np.full(4000, 0.1), n_people=40)
    >>> round(iv.low, 1), round(iv.high, 1)
    (0.3, 0.7)
    """
    r, rs = np.asarray(reps, np.float64), np.asarray(reps_se, np.float64)
    ok = np.isfinite(r) & np.isfinite(rs) & (rs > 0)
    if se <= 0 or not ok.any():
        return Interval(low=float(theta), high=float(theta), level=level, n_people=n_people,
                        method=STUDENTIZED_METHOD)
    t = (r[ok] - theta) / rs[ok]
    q_lo, q_hi = np.quantile(t, [(1 - level) / 2, (1 + level) / 2])
    return Interval(low=float(np.clip(theta - q_hi * se, lo, hi)), high=float(np.clip(theta - q_lo * se, lo, hi)),
                    level=level, n_people=n_people, method=STUDENTIZED_METHOD)
