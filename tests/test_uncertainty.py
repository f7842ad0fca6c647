import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from faceroc_core.pairs import pair_scores
from faceroc_core.uncertainty import bootstrap, pair_people, weighted_auc


def test_weighted_auc_equals_sklearn_sample_weight():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = 300
        y = rng.integers(0, 2, n).astype(bool)
        s = np.round(rng.normal(y * 0.8, 1), 1)  # ties
        w = rng.integers(0, 4, n).astype(float)
        order = np.argsort(-s, kind="stable")
        got = weighted_auc(s[order], y[order], w[order])
        assert got == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)


def _toy(seed, sep, n_ids=30, per=5, dim=16):
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(n_ids), per)
    e = rng.normal(size=(n_ids * per, dim)) + sep * rng.normal(size=(n_ids, dim))[codes]
    return codes, pair_scores(e, codes)


def test_interval_brackets_the_auc_and_paired_comparison_finds_the_better_model():
    codes, strong = _toy(0, 1.5)
    rng = np.random.default_rng(1)
    weak_scores = strong.scores + rng.normal(0, 0.6, strong.scores.size)  # same pairs, noisier model
    pa, pb = pair_people(codes)
    intervals, comps = bootstrap({"strong": (strong.scores, strong.genuine), "weak": (weak_scores, strong.genuine)},
                                 pa, pb, 30, n_boot=120)
    auc_strong = roc_auc_score(strong.genuine, strong.scores)
    assert intervals["strong"].low < auc_strong < intervals["strong"].high
    assert intervals["strong"].high - intervals["strong"].low < 0.2
    (c,) = comps
    assert (c.better, c.worse) == ("strong", "weak") and c.p_better > 0.95 and c.interval.low > 0


def test_identical_models_are_a_toss_up_and_deterministic():
    codes, ps = _toy(2, 1.0)
    pa, pb = pair_people(codes)
    models = {"a": (ps.scores, ps.genuine), "b": (ps.scores.copy(), ps.genuine)}
    i1, c1 = bootstrap(models, pa, pb, 30, n_boot=60, seed=5)
    i2, c2 = bootstrap(models, pa, pb, 30, n_boot=60, seed=5)
    assert i1 == i2 and c1 == c2
    assert c1[0].delta == 0 and c1[0].p_better == 0  # never strictly better


def test_more_people_narrow_the_interval():
    widths = []
    for n_ids in (10, 60):
        codes, ps = _toy(3, 1.0, n_ids=n_ids)
        pa, pb = pair_people(codes)
        (iv,), _ = bootstrap({"m": (ps.scores, ps.genuine)}, pa, pb, n_ids, n_boot=100)[0].values(), None
        widths.append(iv.high - iv.low)
    assert widths[1] < widths[0]
