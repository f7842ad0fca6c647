"""Coverage of intervals over people where the truth is known (the setting of issue #19).

People: identity centres in 32 dimensions (scaled by SCALE: 0.8 gives a true AUC of about 0.83, 1.6 about 0.98,
2.25 about 0.998), each person's photos scattered by a spread of their own (uniform 0.8-2.2: people differ in how
hard they are); the truth is measured on 3,000 other people.  For each of S fresh test sets of P people x PER
photos it prints how often each interval method covers the true AUC, TAR@FAR=1e-3 and EER, and on which side
the misses fall (truth below / above the interval):

* ``auc_if``: today's interval (influence of each person, logit scale, Student-t; :func:`uncertainty.auc_interval`);
* ``*_pct``, ``*_bca``: percentile and BCa intervals of an exact bootstrap over people (:mod:`faceroc_core.resample`);
* ``auc_tlogit``, ``auc_traw``: the studentized bootstrap (each replicate's own influence standard error);
* ``*_jack``, ``*_jlogit``: the estimate +- t(P-1) x the leave-one-person-out (jackknife) standard error;
* ``*_wilson``, ``*_wjack``: a Wilson score interval with the effective sample size rate(1-rate)/se^2.

Measured on 2026-12-01 at a true AUC of 0.998 (TAR@1e-3 0.870, EER 0.022), 300 sets each (coverage +-1.3%):

    method              AUC 40x10  AUC 20x10  TAR 40x10  TAR 20x10  EER 40x10  EER 20x10
    influence (today)     90.3       89.3        -          -          -          -
    percentile            88.7       83.7       97.3       92.7       90.0       87.3
    BCa                   91.0       87.3       96.7       93.0       91.3       90.3
    studentized, raw      93.3       96.3        -          -          -          -
    jackknife, logit      92.3       94.3       97.0       97.3       92.3       92.0
    Wilson, eff. n        89.7       86.7       97.0       93.0       91.7       92.0

and at 150x5 (100 sets, +-2.2%): every AUC method 89-91%, TAR 93-95%, EER 87-91%.

Run: python benchmarks/bench_coverage.py SCALE P PER S   (e.g. 2.25 40 10 300: about two minutes here)
"""
import sys
import time

import numpy as np

from faceroc_core import metrics as M
from faceroc_core import stream
from faceroc_core.resample import PersonPairs, bootstrap_weights, jackknife_weights, replicate
from faceroc_core.uncertainty import auc_interval, bca_interval, influence, studentized_interval

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
    """The studentized bootstrap: raw scale by the library (uncertainty.studentized_interval), or on the logit."""
    if not logit:
        iv = studentized_interval(theta, se, reps, reps_se, n_people=1, level=level)
        return iv.low, iv.high
    ok = np.isfinite(reps) & np.isfinite(reps_se) & (reps_se > 0) & (reps > 0) & (reps < 1)
    r, rs = reps[ok], reps_se[ok]
    f = lambda a: np.log(a / (1 - a))
    sx = se / (theta * (1 - theta))
    t = (f(r) - f(theta)) / (rs / (r * (1 - r)))
    lo_t, hi_t = np.quantile(t, [(1 + level) / 2, (1 - level) / 2])
    lo, hi = f(theta) - lo_t * sx, f(theta) - hi_t * sx
    return 1 / (1 + np.exp(-lo)), 1 / (1 + np.exp(-hi))


def jack_t(theta, jack, level=0.95, logit=False):
    """theta +- t(P-1) * the jackknife standard error (raw or logit scale)."""
    from scipy.special import stdtrit

    j = jack[np.isfinite(jack)]
    P = j.size
    if logit:
        j = np.log(np.clip(j, 1e-12, 1 - 1e-12) / (1 - np.clip(j, 1e-12, 1 - 1e-12)))
        x = np.log(theta / (1 - theta)) if 0 < theta < 1 else theta
    else:
        x = theta
    se = np.sqrt((P - 1) / P * np.sum((j - j.mean()) ** 2))
    q = stdtrit(P - 1, (1 + level) / 2)
    lo, hi = x - q * se, x + q * se
    return (1 / (1 + np.exp(-lo)), 1 / (1 + np.exp(-hi))) if logit else (lo, hi)


def wilson(rate, se, P, level=0.95, upper_is_good=True):
    """A Wilson score interval for a rate near 0 or 1 with the effective sample size rate(1-rate)/se^2 (the
    design effect of people), Student-t quantile on P-1 degrees of freedom."""
    from scipy.special import stdtrit

    p = float(rate)
    if not 0 < p < 1 or not se > 0:
        return p, p
    n = p * (1 - p) / se ** 2
    z = stdtrit(P - 1, (1 + level) / 2)
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return c - h, c + h


def pct(reps, level=0.95):
    reps = reps[np.isfinite(reps)]
    return np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])

def run(scale, P, per, S, B=400, seed=0):
    ta, tt, te = truth(scale)
    rng = np.random.default_rng(seed)
    res = {k: [] for k in ["auc_if", "auc_pct", "auc_bca", "auc_tlogit", "auc_traw", "auc_jack", "auc_jlogit",
                           "tar_pct", "tar_bca", "tar_jack", "tar_jlogit", "eer_pct", "eer_bca", "eer_jack",
                           "eer_jlogit", "auc_wilson", "tar_wilson", "eer_wilson", "tar_wjack", "eer_wjack"]}
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
               "tar_pct": pct(r.tar[:, 0]), "auc_jack": jack_t(a, jk.auc), "auc_jlogit": jack_t(a, jk.auc, logit=True),
               "tar_jack": jack_t(tar, jk.tar[:, 0]), "tar_jlogit": jack_t(tar, jk.tar[:, 0], logit=True),
               "eer_jack": jack_t(eer, jk.eer),
               "auc_wilson": wilson(a, inf.se(), P), "tar_wilson": wilson(tar, np.nanstd(r.tar[:, 0]), P),
               "eer_wilson": wilson(eer, np.nanstd(r.eer), P),
               "tar_wjack": wilson(tar, np.sqrt((P - 1) / P * np.sum((jk.tar[:, 0] - jk.tar[:, 0].mean()) ** 2)), P),
               "eer_wjack": wilson(eer, np.sqrt((P - 1) / P * np.sum((jk.eer - jk.eer.mean()) ** 2)), P), "eer_jlogit": jack_t(eer, jk.eer, logit=True), "tar_bca": bca(tar, r.tar[:, 0], jk.tar[:, 0]),
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
