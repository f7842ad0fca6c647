"""Coverage of intervals over people where the truth is known (the setting of issue #19).

People: identity centres in 32 dimensions (scaled by SCALE: 0.8 gives a true AUC of about 0.83, 1.6 about 0.98,
2.25 about 0.998), each person's photos scattered by a spread of their own (uniform 0.8-2.2: people differ in how
hard they are); the truth is measured on 3,000 other people.  For each of S fresh test sets of P people x PER
photos it prints how often each interval method covers the true AUC, TAR@FAR=1e-3 and EER, and on which side
the misses fall (truth below / above the interval):

* ``auc_if``: today's interval (influence of each person, logit scale, Student-t; :func:`uncertainty.auc_interval`);
* ``*_pct``, ``*_bca``: percentile and BCa intervals of an exact bootstrap over people (:mod:`faceroc_core.resample`);
* ``auc_tlogit``, ``auc_traw``: the studentized bootstrap (each replicate's own influence standard error).

Run: python benchmarks/bench_coverage.py SCALE P PER S   (e.g. 2.25 40 10 300: about two minutes here)
"""
import sys
import time

import numpy as np

from faceroc_core import metrics as M
from faceroc_core import stream
from faceroc_core.resample import PersonPairs, bootstrap_weights, jackknife_weights, replicate
from faceroc_core.uncertainty import auc_interval, bca_interval, influence

DIM = 32
def people(rng, n, per, scale, spread=(0.8, 2.2)):
    c = rng.normal(size=(n, DIM)) * scale
    sig = rng.uniform(*spread, n)
    codes = np.repeat(np.arange(n), per)
    return c[codes] + rng.normal(size=(n * per, DIM)) * sig[codes][:, None], codes

def truth(scale, seed=99, n=3000, per=10):
    e, codes = people(np.random.default_rng(seed), n, per, scale)
    st = stream.scan(e, codes)
    return st.auc, M.tar_at_far(st.roc, 1e-3).tar, st.eer.eer

def bca(theta, reps, jack):
    iv = bca_interval(theta, reps, jack, n_people=jack.size)
    return iv.low, iv.high


def boot_t(theta, se, reps, reps_se, level=0.95, logit=True):
    ok = np.isfinite(reps) & np.isfinite(reps_se) & (reps_se > 0) & (reps > 0) & (reps < 1)
    r, rs = reps[ok], reps_se[ok]
    if logit:
        f = lambda a: np.log(a / (1 - a))
        sx = se / (theta * (1 - theta))
        rsx = rs / (r * (1 - r))
        t = (f(r) - f(theta)) / rsx
        lo_t, hi_t = np.quantile(t, [(1 + level) / 2, (1 - level) / 2])
        lo, hi = f(theta) - lo_t * sx, f(theta) - hi_t * sx
        return 1 / (1 + np.exp(-lo)), 1 / (1 + np.exp(-hi))
    t = (r - theta) / rs
    lo_t, hi_t = np.quantile(t, [(1 + level) / 2, (1 - level) / 2])
    return theta - lo_t * se, theta - hi_t * se

def pct(reps, level=0.95):
    reps = reps[np.isfinite(reps)]
    return np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])

def run(scale, P, per, S, B=400, seed=0):
    ta, tt, te = truth(scale)
    rng = np.random.default_rng(seed)
    res = {k: [] for k in ["auc_if", "auc_pct", "auc_bca", "auc_tlogit", "auc_traw", "tar_pct", "tar_bca", "eer_pct", "eer_bca"]}
    miss = {k: [0, 0] for k in res}
    t0 = time.time()
    for s in range(S):
        e, codes = people(rng, P, per, scale)
        scores, gen = stream.all_pair_scores(e, codes)
        i, j = np.triu_indices(codes.size, 1)
        pp = PersonPairs.of(scores, gen, codes[i], codes[j], P, images_per_person=np.bincount(codes))
        st = stream.scan(e, codes)
        a, tar, eer = st.auc, M.tar_at_far(st.roc, 1e-3).tar, st.eer.eer
        inf = influence(st.genuine_rank2, codes[st.genuine_a], st.impostor_rank2, codes, P, st.auc)
        W = bootstrap_weights(P, B, seed=s)
        r = replicate(pp, W, fars=(1e-3,))
        jk = replicate(pp, jackknife_weights(P), fars=(1e-3,))
        iv = auc_interval(inf)
        ivs = {"auc_if": (iv.low, iv.high), "auc_pct": pct(r.auc), "auc_bca": bca(a, r.auc, jk.auc),
               "auc_tlogit": boot_t(a, inf.se(), r.auc, r.auc_se), "auc_traw": boot_t(a, inf.se(), r.auc, r.auc_se, logit=False),
               "tar_pct": pct(r.tar[:, 0]), "tar_bca": bca(tar, r.tar[:, 0], jk.tar[:, 0]),
               "eer_pct": pct(r.eer), "eer_bca": bca(eer, r.eer, jk.eer)}
        tv = {"auc": ta, "tar": tt, "eer": te}
        for k, (lo, hi) in ivs.items():
            t = tv[k.split("_")[0]]
            res[k].append(lo <= t <= hi)
            miss[k][0] += int(t < lo)
            miss[k][1] += int(t > hi)
    print(f"scale {scale} P={P}x{per} truth AUC {ta:.4f} TAR {tt:.4f} EER {te:.4f}  ({S} sets, {time.time()-t0:.0f}s)")
    for k in res:
        print(f"   {k:8s} {np.mean(res[k]):.3f}  below/above {miss[k]}")

if __name__ == "__main__":
    scale, P, per, S = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    run(scale, P, per, S)
