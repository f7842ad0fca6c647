"""Metrics: hand-worked toy cases, scikit-learn and slow references, invariances."""
import numpy as np
import pytest
from sklearn import metrics as skm

from faceroc_core import metrics as M
from faceroc_core.errors import ScoresError


def random_sets(n_sets=60, seed=0):
    rng = np.random.default_rng(seed)
    for k in range(n_sets):
        n = int(rng.integers(2, 400))
        y = rng.integers(0, 2, n)
        y[0], y[1] = 0, 1
        if k % 3 == 0:  # heavy ties
            s = rng.integers(0, 5, n).astype(float) / 4
        elif k % 3 == 1:
            s = rng.normal(y * rng.uniform(0, 2), 1)
        else:
            s = np.round(rng.uniform(-1, 1, n), 2)
        yield s, y


# --- hand-worked ---------------------------------------------------------------------------
def test_toy_roc_auc_by_hand():
    # scores 0.9(G) 0.8(I) 0.8(G) 0.1(I): thresholds inf, .9, .8, .1
    roc = M.roc_curve([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0])
    assert roc.tps.tolist() == [0, 1, 2, 2] and roc.fps.tolist() == [0, 0, 1, 2]
    assert M.auc(roc) == pytest.approx(0.875)  # 0.5*0.5*(1+0.5)... trapezoids: 0.5*(0.5+1)/2*... = 0.875
    e = M.eer(roc)
    # FAR-FRR: (0,1)->-1, (0,.5)->-.5, (.5,0)->.5 ; crossing halfway between points 1 and 2
    assert e.eer == pytest.approx(0.25) and e.threshold == pytest.approx(0.85)


def test_toy_tar_at_far_and_threshold():
    roc = M.roc_curve([0.9, 0.7, 0.6, 0.2, 0.1], [1, 0, 1, 1, 0])
    p = M.tar_at_far(roc, 0.5)
    assert (p.far, p.tar, p.threshold) == (0.5, 1.0, 0.2)
    roc = M.roc_curve([0.9, 0.7, 0.6, 0.2, 0.1, 0.05], [1, 0, 1, 1, 0, 0])
    p = M.tar_at_far(roc, 0.34)  # one impostor of three may pass: threshold 0.2 lets 0.7 through
    assert (p.far, p.tar, p.threshold) == (pytest.approx(1 / 3), 1.0, 0.2)
    m = M.threshold_metrics(roc, 0.6)
    assert (m.tp, m.fp, m.tn, m.fn) == (2, 1, 2, 1)
    assert m.accuracy == pytest.approx(4 / 6) and m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(2 / 3)


def test_tar_unmeasurable_when_too_few_impostors():
    roc = M.roc_curve([0.9, 0.5, 0.1] * 3, [1, 0, 0] * 3)  # 6 impostors
    assert M.tar_at_far(roc, 0.1).tar is None
    assert M.tar_at_far(roc, 1 / 6).tar is not None


# --- scikit-learn and slow references ----------------------------------------------------
def assert_roc_is_sklearns(s, y):
    """Our curve and AUC are exactly sklearn's (roc_curve with drop_intermediate=False, auc)."""
    roc = M.roc_curve(s, y)
    fpr, tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_array_equal(roc.fpr, fpr)
    np.testing.assert_array_equal(roc.tpr, tpr)
    np.testing.assert_array_equal(roc.thresholds, thr)
    assert M.auc(roc) == skm.auc(fpr, tpr)
    return roc


def test_roc_and_auc_equal_sklearn_on_random_and_tied_sets():
    for s, y in random_sets():
        roc = assert_roc_is_sklearns(s, y)
        assert M.auc(roc) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize("workers", [2, 3, 8])
def test_parallel_sort_equals_numpy_sort(workers):
    rng = np.random.default_rng(workers)
    n = M.PARALLEL_SORT_MIN + 1001
    sets = [rng.normal(size=n), np.round(rng.normal(size=n), 1), np.zeros(n), rng.integers(0, 3, n) * 0.5]
    sets[0][::97] = -0.0
    for s in sets:
        out = M.sort_values(s, workers=workers)
        np.testing.assert_array_equal(out, np.sort(s))
        assert out.dtype == s.dtype and out is not s


def test_large_tied_roc_equals_sklearn():
    """Above PARALLEL_SORT_MIN the counting sorts on several threads: still exactly sklearn's curve."""
    rng = np.random.default_rng(7)
    n = M.PARALLEL_SORT_MIN * 2
    y = rng.random(n) < 0.01
    s = np.round(rng.normal(y * 1.5, 1), 3)
    assert_roc_is_sklearns(s, y)


def slow_tar_at_far(s, y, far):
    """Obvious reference: try every candidate threshold, keep the best TAR with FAR <= far."""
    s, y = np.asarray(s, float), np.asarray(y).astype(bool)
    best = (0.0, 0.0, np.inf)
    for t in sorted(set(s.tolist()), reverse=True):
        fa = np.sum(s[~y] >= t) / np.sum(~y)
        ta = np.sum(s[y] >= t) / np.sum(y)
        if fa <= far and ta > best[0]:
            best = (ta, fa, t)
    return best


def slow_confusion(s, y, t):
    s, y = np.asarray(s, float), np.asarray(y).astype(bool)
    acc = s >= t
    return int(np.sum(acc & y)), int(np.sum(acc & ~y)), int(np.sum(~acc & ~y)), int(np.sum(~acc & y))


def test_tar_at_far_against_slow_reference():
    for s, y in random_sets(40, seed=1):
        roc = M.roc_curve(s, y)
        for far in (0.5, 0.2, 0.1, 0.05, 0.01):
            p = M.tar_at_far(roc, far)
            if roc.n_impostor * far < 1:
                assert p.tar is None
                continue
            ta, fa, t = slow_tar_at_far(s, y, far)
            assert p.tar == pytest.approx(ta)
            assert p.far <= far  # FAR reached never exceeds FAR asked
            if ta > 0:
                assert p.far == pytest.approx(fa) and p.threshold == t


def test_threshold_metrics_against_slow_reference_and_sklearn():
    rng = np.random.default_rng(2)
    for s, y in random_sets(30, seed=2):
        roc = M.roc_curve(s, y)
        for t in list(rng.choice(s, 3)) + [s.min() - 1, s.max() + 1, float(np.median(s))]:
            m = M.threshold_metrics(roc, t)
            assert (m.tp, m.fp, m.tn, m.fn) == slow_confusion(s, y, t)
            pred = (s >= t).astype(int)
            assert m.accuracy == pytest.approx(skm.accuracy_score(y, pred))
            assert m.precision == pytest.approx(skm.precision_score(y, pred, zero_division=0))
            assert m.recall == pytest.approx(skm.recall_score(y, pred))
            assert m.f1 == pytest.approx(skm.f1_score(y, pred, zero_division=0))


def test_eer_is_where_far_equals_frr():
    for s, y in random_sets(40, seed=3):
        roc = M.roc_curve(s, y)
        e = M.eer(roc)
        fpr, fnr = roc.fpr, 1 - roc.tpr
        d = fpr - fnr
        i = int(np.argmax(d >= 0))
        # the EER lies between the neighbouring points' FAR and FRR values
        lo, hi = sorted([fpr[max(i - 1, 0)], fpr[i]])
        assert lo - 1e-12 <= e.eer <= hi + 1e-12
        lo, hi = sorted([fnr[max(i - 1, 0)], fnr[i]])
        assert lo - 1e-12 <= e.eer <= hi + 1e-12


def test_eer_on_separable_and_reversed_scores():
    assert M.eer(M.roc_curve([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])).eer == 0.0
    assert M.eer(M.roc_curve([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])).eer == 1.0


# --- invariances ---------------------------------------------------------------------------
def test_invariant_to_pair_order_and_monotone_transforms():
    rng = np.random.default_rng(4)
    for s, y in random_sets(20, seed=4):
        roc = M.roc_curve(s, y)
        perm = rng.permutation(s.size)
        for s2, y2 in ((s[perm], y[perm]), (np.exp(3 * s), y), (5 * s - 2, y)):
            r2 = M.roc_curve(s2, y2)
            np.testing.assert_array_equal(r2.fpr, roc.fpr)
            np.testing.assert_array_equal(r2.tpr, roc.tpr)
            assert M.auc(r2) == M.auc(roc)
            for far in (0.1, 0.01):
                assert M.tar_at_far(r2, far).tar == M.tar_at_far(roc, far).tar


def _slow_tar(fpr, tpr, far):
    return max(t for f, t in zip(fpr, tpr) if f <= far)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compact_roc_is_lossless(seed):
    """Corners only, yet the same AUC, EER and TAR at every FAR as the full curve (ties included)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 3000)
    s = np.round(rng.normal(y, 1), 1 + seed)  # coarse scores: many ties, diagonal steps
    roc = M.roc_curve(s, y)
    c = M.compact_roc(roc)
    assert len(c) < len(roc) and c.thresholds[0] == np.inf and c.fps[-1] == roc.n_impostor
    assert M.auc(c) == pytest.approx(M.auc(roc), abs=1e-12)
    assert M.eer(c).eer == pytest.approx(M.eer(roc).eer, abs=1e-12)
    for far in np.unique(roc.fpr)[1::7]:
        assert M.tar_at_far(c, far).tar == M.tar_at_far(roc, far).tar == _slow_tar(roc.fpr, roc.tpr, far)
    # every kept point is a point of the full curve, at its own threshold
    idx = np.searchsorted(-roc.thresholds, -c.thresholds)
    assert np.array_equal(roc.tps[idx], c.tps) and np.array_equal(roc.fps[idx], c.fps)


def test_thin_roc_keeps_ends_and_shape():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 20000)
    s = rng.normal(y, 1)
    roc = M.roc_curve(s, y)
    f, t, _ = M.thin_roc(roc, max_points=400)
    assert f.size < roc.fpr.size and f[0] == 0 and f[-1] == 1 and t[-1] == 1
    assert np.all(np.diff(f) >= 0)
    # the thinned curve's area is close to the true one
    assert abs(np.trapezoid(t, f) - M.auc(roc)) < 0.01


# --- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize("far, msg", [(2, "far must be in (0, 1], got 2"), (0, "got 0"), ("x", "got 'x'")])
def test_far_validation_names_the_value(far, msg):
    roc = M.roc_curve([0.1, 0.9], [0, 1])
    with pytest.raises(ScoresError, match=msg.replace("(", r"\(").replace(")", r"\)").replace("]", r"\]").replace("[", r"\[")):
        M.tar_at_far(roc, far)


@pytest.mark.parametrize("scores, labels, msg", [
    ([0.1, np.nan], [0, 1], "finite"),
    ([0.1, 0.2], [0, 2], "labels must be 0"),
    ([0.1, 0.2], [0, 0], "no genuine pair"),
    ([0.1, 0.2], [1, 1], "no impostor pair"),
    ([0.1], [0, 1], "same length"),
    ([], [], "no scores"),
])
def test_score_validation(scores, labels, msg):
    with pytest.raises(ScoresError, match=msg):
        M.roc_curve(scores, labels)


def test_bounded_roc_keeps_tar_within_its_bound_at_every_far():
    """A curve of 200,000 genuine and 400,000 impostor scores with heavy ties: at most ~2/eps points, and TAR at
    any FAR (every FAR where the full curve steps, and a log grid) within eps of the full curve; exact at decades."""
    from faceroc_core.metrics import bounded_roc, compact_roc, roc_curve, tar_at_far

    rng = np.random.default_rng(11)
    g = np.round(rng.normal(1.5, 1, 200_000), 4)
    i = np.round(rng.normal(0, 1, 400_000), 4)
    roc = roc_curve(np.r_[g, i], np.r_[np.ones(g.size), np.zeros(i.size)])
    eps = 1e-4
    b = bounded_roc(roc, tar_error=eps)
    assert len(compact_roc(roc)) > 2.5 / eps and len(b) <= 2 / eps + 12
    assert set(b.thresholds.tolist()) <= set(roc.thresholds.tolist())  # true operating points only
    fars = np.unique(np.r_[roc.fpr[1:], np.logspace(-6, 0, 400)])
    # slow reference: TAR at each FAR read from each curve as tar_at_far does
    full = roc.tpr[np.searchsorted(roc.fpr, fars, side="right") - 1]
    thin = b.tpr[np.searchsorted(b.fpr, fars, side="right") - 1]
    assert np.all(thin <= full + 1e-15) and np.max(full - thin) <= eps
    for k in range(1, 6):
        assert tar_at_far(b, 10.0 ** -k) == tar_at_far(roc, 10.0 ** -k)
    # a small curve is not thinned at all
    small = roc_curve([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 0, 0, 1])
    assert bounded_roc(small).thresholds.tolist() == compact_roc(small).thresholds.tolist()
