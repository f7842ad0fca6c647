"""Coverage of FaceROC's intervals over people where the truth is known (the setting of issue #19).

People: identity centres in 32 dimensions scaled by SCALE (0.8: true AUC 0.83; 1.6: 0.98; 2.25: 0.998), each
person's photos scattered by a spread of their own (uniform 0.8-2.2: people differ in how hard they are).  The
truth: AUC, TAR@FAR=1e-3 and EER of 2 million independent same-person pairs (a fresh person each) and 2 million
different-people pairs of the same population.  For each of S fresh test sets of P people x PER photos it prints
how often each interval covers the truth, and on which side the misses fall (truth below / above the interval):

* ``auc``, ``tar``, ``eer``: FaceROC's intervals (:func:`faceroc_core.resample.people_intervals`: the AUC from
  each person's exact influence, TAR and EER from a jackknife over people; logit scale, Student-t on the
  effective number of people);
* ``auc_yesterday``: the AUC interval before issue #19 (the same influence, Student-t on P - 1 degrees of freedom);
* ``tar_pct``, ``eer_pct``: percentile intervals of an exact bootstrap over people (400 replicates,
  :func:`faceroc_core.resample.replicate`), for comparison.

Measured on 2026-12-01 (coverage %, 400 sets each unless said; one standard error of the simulation: 1.1 points
at 400 sets, 1.5 at 200):

    setting (true AUC, people x photos)   AUC   AUC yesterday   TAR@1e-3   EER   TAR pct   EER pct
    0.82,   20 x 10                       98.0      97.5          96.8     97.0    92.8      95.5
    0.82,   40 x 10                       95.5      94.8          95.5     94.5    89.2      93.8
    0.98,   20 x 10                       98.2      95.8          98.8     96.8    97.0      90.8
    0.98,   40 x 10                       97.0      95.0          96.8     96.5    96.0      94.0
    0.998,  20 x 10                       94.5      87.5          97.2     93.5    91.2      84.8
    0.998,  40 x 10                       96.5      90.2          96.5     94.8    96.5      90.8
    0.998,  150 x 5 (200 sets)            94.5      88.5          96.0     93.0    95.0      90.5
    0.9997, 40 x 10 (300 sets)            92.7      86.7          96.0     93.3    94.7      85.7

FaceROC's intervals took 10-37 ms a test set of 200-400 images (82 ms at 750 images) on this 2-core machine.

Run: python benchmarks/bench_coverage.py SCALE P PER S   (e.g. 2.25 40 10 400: about 30 s here)
"""
import sys
import time

import numpy as np

from faceroc_core import metrics as M
from faceroc_core import stream
from faceroc_core.resample import PersonPairs, bootstrap_weights, people_intervals, replicate
from faceroc_core.uncertainty import _t, influence

DIM = 32
SPREAD = (0.8, 2.2)


def people(rng, n, per, scale):
    c = rng.normal(size=(n, DIM)) * scale
    sig = rng.uniform(*SPREAD, n)
    codes = np.repeat(np.arange(n), per)
    return c[codes] + rng.normal(size=(n * per, DIM)) * sig[codes][:, None], codes


def truth(scale, n=2_000_000, seed=7):
    """The population's AUC, TAR@1e-3 and EER from independent pairs of fresh people."""
    rng = np.random.default_rng(seed)

    def photo(c, sig):
        x = c + rng.normal(size=c.shape) * sig
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    gen, imp = [], []
    for _ in range(n // 200_000):
        c, sig = rng.normal(size=(200_000, DIM)) * scale, rng.uniform(*SPREAD, 200_000)[:, None]
        a = photo(c, sig)
        gen.append(np.sum(a * photo(c, sig), 1))
        imp.append(np.sum(a * photo(rng.normal(size=c.shape) * scale, rng.uniform(*SPREAD, 200_000)[:, None]), 1))
    g, i = np.concatenate(gen), np.concatenate(imp)
    st = stream.count_scores(np.r_[g, i], np.r_[np.ones(g.size), np.zeros(i.size)])
    return {"auc": st.auc, "tar": M.tar_at_far(st.roc, 1e-3).tar, "eer": st.eer.eer}


def yesterday(inf):
    a, se, q = inf.auc, inf.se(), _t(0.95, inf.n_people - 1)
    x, sx = np.log(a / (1 - a)), se / (a * (1 - a))
    return 1 / (1 + np.exp(-(x - q * sx))), 1 / (1 + np.exp(-(x + q * sx)))


def pct(reps):
    return tuple(np.quantile(reps[np.isfinite(reps)], [0.025, 0.975]))


def run(scale, P, per, S, B=400, seed=0):
    tv = truth(scale)
    print(f"truth: AUC {tv['auc']:.5f}  TAR@1e-3 {tv['tar']:.4f}  EER {tv['eer']:.4f}", flush=True)
    rng = np.random.default_rng(seed)
    count: dict[str, list[int]] = {}
    seconds = 0.0
    t0 = time.time()
    for s in range(S):
        e, codes = people(rng, P, per, scale)
        st = stream.scan(e, codes)
        inf = influence(st.genuine_rank2, codes[st.genuine_a], st.impostor_rank2, codes, P, st.auc)
        t1 = time.perf_counter()
        pp = PersonPairs.of_images(e, codes)
        mi = people_intervals(pp, auc=inf, tar={1e-3: M.tar_at_far(st.roc, 1e-3).tar}, eer=st.eer.eer)
        seconds += time.perf_counter() - t1
        r = replicate(pp, bootstrap_weights(P, B, seed=s), fars=(1e-3,), auc=False)
        ivs = {"auc": (mi.auc.low, mi.auc.high), "tar": (mi.tar_at(1e-3).low, mi.tar_at(1e-3).high),
               "eer": (mi.eer.low, mi.eer.high), "auc_yesterday": yesterday(inf), "tar_pct": pct(r.tar[:, 0]),
               "eer_pct": pct(r.eer)}
        for k, (lo, hi) in ivs.items():
            t = tv[k.split("_")[0]]
            c = count.setdefault(k, [0, 0, 0])
            c[0] += lo <= t <= hi
            c[1] += t < lo
            c[2] += t > hi
    print(f"scale {scale}: {P} people x {per} photos, {S} sets in {time.time() - t0:.0f} s "
          f"(FaceROC's intervals: {1000 * seconds / S:.1f} ms a set)")
    for k, (hit, below, above) in count.items():
        print(f"   {k:14s} covers {100 * hit / S:5.1f}%   truth below / above: {below} / {above}")


if __name__ == "__main__":
    run(float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
