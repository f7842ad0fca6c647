"""The bootstrap over people on the pairs: a replicate with every weight 1 gives the exact metrics, and a
replicate's weighted metrics equal those of the test set it stands for, built pair by pair (slow reference)."""
import numpy as np
import pytest

from faceroc_core import metrics as M
from faceroc_core import stream
from faceroc_core.resample import PersonPairs, bootstrap_weights, jackknife_weights, replicate


def tied_people(seed, n_people=9, per=4):
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(n_people), per)
    e = rng.normal(size=(n_people, 3))[codes] + rng.normal(size=(codes.size, 3)) * 0.9
    e = np.round(e, 1)  # equal scores between genuine and impostor pairs
    scores, genuine = stream.all_pair_scores(e, codes)
    i, j = np.triu_indices(codes.size, 1)
    return e, codes, scores, genuine, codes[i], codes[j]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_weights_one_give_the_exact_metrics(seed):
    e, codes, s, g, pa, pb = tied_people(seed)
    st = stream.scan(e, codes)
    pp = PersonPairs.of(s, g, pa, pb, codes.max() + 1, images_per_person=np.bincount(codes))
    fars = (0.5, 0.1, 0.03)
    thr = (0.9, 0.5, st.eer.threshold, 0.0)
    r = replicate(pp, np.ones((1, pp.n_people)), fars=fars, thresholds=thr)
    assert r.auc[0] == pytest.approx(st.auc, abs=1e-15)
    assert r.eer[0] == pytest.approx(st.eer.eer, abs=1e-15)
    assert r.tar[0].tolist() == pytest.approx([M.tar_at_far(st.roc, f).tar for f in fars], abs=1e-15)
    for k, t in enumerate(thr):
        tm = M.threshold_metrics(M.roc_curve(s, g), t)
        assert r.far_at[0, k] == pytest.approx(tm.fp / (tm.fp + tm.tn), abs=1e-15)
        assert r.frr_at[0, k] == pytest.approx(tm.fn / (tm.fn + tm.tp), abs=1e-15)


def test_a_replicate_is_the_test_set_it_stands_for():
    """Weights 0, 1, 2, 3...: each genuine pair repeated w_p times, each impostor pair w_p * w_q times."""
    e, codes, s, g, pa, pb = tied_people(5, n_people=7, per=3)
    pp = PersonPairs.of(s, g, pa, pb, 7, images_per_person=np.bincount(codes))
    W = bootstrap_weights(7, 6, seed=3)
    W[0] = [0, 1, 2, 3, 0, 1, 1]
    fars, thr = (0.2, 0.05), (0.7, 0.3)
    r = replicate(pp, W, fars=fars, thresholds=thr)
    for k, w in enumerate(W):
        rep = np.where(g, w[pa], w[pa] * w[pb]).astype(int)
        if not rep[g].sum() or not rep[~g].sum():
            assert np.isnan(r.auc[k])
            continue
        s_k, g_k = np.repeat(s, rep), np.repeat(g, rep)
        roc = M.roc_curve(s_k, g_k)
        assert r.auc[k] == pytest.approx(M.auc(roc), abs=1e-12)
        assert r.eer[k] == pytest.approx(M.eer(roc).eer, abs=1e-12)
        assert r.tar[k].tolist() == pytest.approx([M.tar_at_far(roc, f).tar or 0.0 for f in fars], abs=1e-12)
        for q, t in enumerate(thr):
            tm = M.threshold_metrics(roc, t)
            assert r.far_at[k, q] == pytest.approx(tm.fp / (tm.fp + tm.tn), abs=1e-12)
            assert r.frr_at[k, q] == pytest.approx(tm.fn / (tm.fn + tm.tp), abs=1e-12)


def test_weights_draw_people_and_leave_one_out():
    W = bootstrap_weights(10, 50, seed=1)
    assert W.shape == (50, 10) and np.all(W.sum(axis=1) == 10) and np.all(W >= 0)
    assert np.array_equal(bootstrap_weights(10, 50, seed=1), W)
    J = jackknife_weights(4)
    assert J.tolist() == [[0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]]


def test_a_list_of_pairs_counts_its_own_totals():
    e, codes, s, g, pa, pb = tied_people(4, n_people=6, per=3)
    W = bootstrap_weights(6, 20, seed=2)
    every = replicate(PersonPairs.of(s, g, pa, pb, 6, images_per_person=np.bincount(codes)), W, fars=(0.1,))
    listed = replicate(PersonPairs.of(s, g, pa, pb, 6), W, fars=(0.1,))
    assert np.allclose(every.auc, listed.auc, atol=1e-14) and np.allclose(every.tar, listed.tar, atol=1e-14)
    pp = PersonPairs.of_images(e, codes)
    assert np.allclose(replicate(pp, W, fars=(0.1,)).auc, every.auc, atol=1e-14)


def test_a_replicates_standard_error_is_the_influence_one():
    from faceroc_core.uncertainty import influence

    e, codes, s, g, pa, pb = tied_people(7, n_people=12, per=4)
    st = stream.scan(e, codes)
    inf = influence(st.genuine_rank2, codes[st.genuine_a], st.impostor_rank2, codes, 12, st.auc)
    r = replicate(PersonPairs.of_images(e, codes), np.ones((1, 12)))
    assert r.auc_se[0] == pytest.approx(inf.se(), rel=1e-12)


def test_a_pass_stopped_early_settles_the_same_tar_eer_and_thresholds():
    e, codes, s, g, pa, pb = tied_people(8, n_people=10, per=4)
    pp = PersonPairs.of(s, g, pa, pb, 10, images_per_person=np.bincount(codes))
    W = np.vstack([np.ones(10), bootstrap_weights(10, 30, seed=4), jackknife_weights(10)])
    full = replicate(pp, W, fars=(0.1, 0.01), thresholds=(0.8, 0.4))
    early = replicate(pp, W, fars=(0.1, 0.01), thresholds=(0.8, 0.4), auc=False)
    assert np.array_equal(full.tar, early.tar, equal_nan=True) and np.array_equal(full.eer, early.eer, equal_nan=True)
    assert np.array_equal(full.far_at, early.far_at, equal_nan=True) and np.isnan(early.auc).all()


def test_intervals_from_a_sample_of_people_stand_for_all_of_them():
    """Above MAX_PAIRS the TAR and EER intervals come from a sample of people, narrowed to the whole set: about as
    wide as the intervals of every pair."""
    from faceroc_core.resample import people_intervals, person_groups, sample_of_images

    rng = np.random.default_rng(2)
    codes = np.repeat(np.arange(240), 5)
    e = rng.normal(size=(240, 24))[codes] * 1.5 + rng.normal(size=(codes.size, 24))
    st = stream.scan(e, codes)
    tar = {1e-3: M.tar_at_far(st.roc, 1e-3).tar}
    every = people_intervals(sample_of_images(e, codes), auc=None, tar=tar, eer=st.eer.eer)
    sample = sample_of_images(e, codes, max_pairs=200_000)
    assert sample.n_people < 240 and sample.genuine.size <= 200_000
    part = people_intervals(sample, auc=None, tar=tar, eer=st.eer.eer, n_people=240)
    assert part.eer.n_people == 240 and part.eer.low < st.eer.eer < part.eer.high
    width = lambda iv: iv.high - iv.low  # noqa: E731
    assert 0.5 < width(part.eer) / width(every.eer) < 2 and 0.5 < width(part.tar_at(1e-3)) / width(every.tar_at(1e-3)) < 2
    groups = person_groups(240)
    assert groups.max() == 99 and np.bincount(groups).min() >= 2  # 240 people in 100 groups
    assert person_groups(40).tolist() == list(range(40))
