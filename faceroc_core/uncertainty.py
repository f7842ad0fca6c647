"""How sure are we? Intervals over *people* for the AUC, TAR@FAR and EER, at any size.

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

* One model's AUC: the interval is built on the logit scale (an AUC near 1 is
  skewed: its interval reaches further down than up) with Student-t quantiles on
  the **effective number of people** that carry the variance,
  ``(sum IF_p^2)^2 / sum IF_p^4`` (:func:`effective_df`), at most ``P - 1``.
  Why: near AUC 1 a few hard people make most of the errors, so a test set that
  happens to hold few of them looks both better and surer than it is; a
  first-order variance cannot see the people it lacks, but it can see that
  its spread rests on a handful of people, and a t quantile on that handful
  widens the interval where it must.  In issue #19's simulation (people of
  unequal difficulty, true AUC 0.998, 20-150 people) this covers the truth
  94.5-96.5% of the time, where ``P - 1`` degrees of freedom covered 87.5-90%
  (``benchmarks/bench_coverage.py`` has the table; ``tests/test_uncertainty.py``
  the seeded check); 92.7-98.2% from AUC 0.82 to 0.9997 with 20-150 people,
  erring wide at AUC 0.98 with 20 people.  The
  studentized and BCa bootstraps over people, computed exactly
  (:mod:`.resample`), covered 91-93% at AUC 0.998 and cost hundreds of passes.
* TAR at each FAR target and EER: a jackknife over people (each person left
  out in turn, or 100 groups of people; :func:`faceroc_core.resample.people_intervals`),
  whose spread is turned into influence values (:func:`jackknife_influence`)
  and then into the same logit-scale interval, the effective people taken 1.5
  times as many (the jackknife's variance already errs wide: it counts in full
  the pairs' second-order share that the infinitesimal jackknife leaves out).
  Both sources of a TAR's error move in each left-out pass: the genuine pairs
  and the threshold that the impostor pairs set.  Coverage 93-98.8% over the
  same settings (EER 93-97%); the percentile bootstrap over people covered
  85-97%.
* No error seen at all (a rate of exactly 0 or 1): the interval reaches as far
  as ``P`` people without an error allow, ``1 - 0.025 ** (1 / P)`` (the rule of
  three per person), never a zero-width interval.
* Two models on the same images: the AUC *difference* has influence
  ``IF_a - IF_b``; its interval is ``delta +- t * se`` (t on the effective
  people of the difference) and ``p_better`` the normal probability that ``a``
  stays ahead, ``Phi(delta / se)``.  Two equally good models are called
  "clearly" different about 4% of the time (600 seeded pairs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHOD = "influence of each person over people (logit scale, Student-t with effective degrees of freedom)"


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


def _t(level: float, df: float) -> float:
    from scipy.special import stdtrit  # Student-t quantile (scipy.special loads in 0.4 s, scipy.stats in 2 s)

    return float(stdtrit(max(df, 1.0), 0.5 + level / 2))


def effective_df(u, cap: float, *, factor: float = 1.0) -> float:
    """The effective number of people that carry the variance ``sum(u ** 2)``: ``(sum u^2)^2 / sum u^4`` — one
    over the sum of the squared shares ``u_p^2 / sum u^2`` (Kish's effective sample size of the shares) —, at
    least 1 and at most ``cap``, used as the Student-t degrees of freedom.  Equal shares give their number; one
    person who carries most of the variance gives about 1.  ``factor`` scales it (see :func:`rate_interval`).

    >>> effective_df(np.ones(40), 39), round(effective_df(np.r_[10.0, np.ones(39)], 39), 1)
    (39.0, 1.9)
    """
    u2 = np.asarray(u, np.float64) ** 2
    s4 = float(np.sum(u2 ** 2))
    if s4 == 0.0:
        return float(max(cap, 1.0))
    return float(min(max(factor * float(np.sum(u2)) ** 2 / s4, 1.0), max(cap, 1.0)))


def rate_interval(value: float, inf: Influence, *, level: float = 0.95, n_units: int | None = None,
                  n_people: int | None = None, method: str = METHOD, df_factor: float = 1.0) -> Interval:
    """The ``level`` interval of a rate in [0, 1] (an AUC, a TAR, an EER, a FAR...) from each unit's influence
    on it: logit scale, Student-t with :func:`effective_df` degrees of freedom (module text).

    At 0 or 1 (no error seen, or no success) there is no spread to measure; the interval then reaches as far as
    ``n_people`` people with no error allow: ``1 - ((1 - level) / 2) ** (1 / n_people)`` (the rule of three,
    per person).  ``n_units``: the units the influence is over (people, or groups of people) when they are not
    ``n_people``.  ``df_factor`` scales the effective number of people (1 for an influence; 1.5 for a
    jackknife, whose spread already errs wide: :func:`faceroc_core.resample.people_intervals`).

    >>> iv = rate_interval(0.9, Influence(auc=0.9, values=np.full(50, 0.002)), n_people=50)
    >>> round(iv.low, 3), round(iv.high, 3)
    (0.867, 0.925)
    """
    units = inf.n_people if n_units is None else n_units
    people = units if n_people is None else n_people
    se = inf.se()
    a = float(value)
    if not np.isfinite(a):
        return Interval(low=a, high=a, level=level, n_people=people, method=method)
    if a <= 0.0 or a >= 1.0 or se == 0.0:
        reach = 1.0 - ((1.0 - level) / 2) ** (1.0 / max(people, 1))
        if a >= 1.0:
            return Interval(low=1.0 - reach, high=1.0, level=level, n_people=people, method=method)
        if a <= 0.0:
            return Interval(low=0.0, high=reach, level=level, n_people=people, method=method)
        return Interval(low=a, high=a, level=level, n_people=people, method=method)
    q = _t(level, effective_df(inf.values, units - 1, factor=df_factor))
    x, sx = np.log(a / (1 - a)), se / (a * (1 - a))
    lo, hi = 1 / (1 + np.exp(-(x - q * sx))), 1 / (1 + np.exp(-(x + q * sx)))
    return Interval(low=float(lo), high=float(hi), level=level, n_people=people, method=method)


def auc_interval(inf: Influence, *, level: float = 0.95) -> Interval:
    """The ``level`` interval of one model's AUC over people (:func:`rate_interval` of its influence)."""
    return rate_interval(inf.auc, inf, level=level)


def jackknife_influence(value: float, left_out) -> Influence:
    """The influence of each group of people from the statistic with that group left out:
    ``(G - 1) / G * (mean - left_out)``, so that :meth:`Influence.se` is the (grouped) jackknife's standard
    error ``sqrt((G - 1) / G * sum (left_out - mean) ** 2)``."""
    j = np.asarray(left_out, np.float64)
    G = j.size
    return Influence(auc=float(value), values=(G - 1) / G * (np.mean(j) - j) if G else np.zeros(0))


def compare(better: str, a: Influence, worse: str, b: Influence, *, level: float = 0.95) -> PairedComparison:
    """``better`` against ``worse``, scored on the same images (the same people)."""
    from scipy.special import ndtr  # the normal CDF

    if a.n_people != b.n_people:
        raise ValueError(f"the models were scored on different people ({a.n_people} and {b.n_people})")
    d = a.auc - b.auc
    diff = Influence(auc=d, values=a.values - b.values)
    se, p = diff.se(), a.n_people
    q = _t(level, effective_df(diff.values, p - 1))
    if se == 0.0:
        p_better = 1.0 if d > 0 else 0.0
        iv = Interval(low=d, high=d, level=level, n_people=p)
    else:
        p_better = float(ndtr(d / se))
        iv = Interval(low=float(d - q * se), high=float(d + q * se), level=level, n_people=p)
    return PairedComparison(better=better, worse=worse, delta=float(d), interval=iv, p_better=p_better)




@dataclass(frozen=True)
class MetricIntervals:
    """One model's intervals over people: AUC, TAR at each FAR target (None where the target cannot be measured),
    EER."""

    auc: Interval | None
    tar: tuple[tuple[float, Interval | None], ...] = ()
    eer: Interval | None = None

    def tar_at(self, far: float) -> Interval | None:
        return dict(self.tar).get(far)
