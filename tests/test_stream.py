"""The streaming engine: exact against scikit-learn and the full sort, whatever the tiles, threads or ties."""
import numpy as np
import pytest
from sklearn import metrics as skm

from faceroc_core import metrics as M
from faceroc_core import stream
from faceroc_core.errors import ScoresError


def faces(n, dim, *, per=8, noise=0.9, step=None, seed=0):
    """Synthetic face-like embeddings: people = random centres, images = centre + noise; ``step`` rounds
    the embeddings (heavy exact ties between scores)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, max(2, n // per), n).astype(str)
    centres = rng.normal(size=(max(2, n // per), dim))
    e = centres[ids.astype(int)] + noise * rng.normal(size=(n, dim))
    if step:
        e = np.round(e / step) * step
        e[np.abs(e).sum(axis=1) == 0, 0] = 1.0
    return e, ids


def assert_exact(e, ids):
    """Every number of the scan equals the one computed from all pairs sorted (scikit-learn's curve)."""
    st = stream.scan(e, ids)
    scores, genuine = stream.all_pair_scores(e, ids)  # the same arithmetic, every pair held
    full = M.roc_curve(scores, genuine)
    fpr, tpr, _ = skm.roc_curve(genuine, scores, drop_intermediate=False)
    assert (st.roc.n_genuine, st.roc.n_impostor) == (int(genuine.sum()), int((~genuine).sum()))
    # AUC: the Mann-Whitney ratio, rounded once; the trapezoids of the full curve agree to an ulp or two
    assert st.auc_fraction == _slow_auc(scores, genuine)
    assert st.auc == pytest.approx(skm.auc(fpr, tpr), abs=4e-16)
    assert st.eer == M.eer(full)  # bit for bit, threshold included
    for far in (1e-1, 1e-2, 1e-3, 1e-4):
        assert M.tar_at_far(st.roc, far) == M.tar_at_far(full, far)
    for t in [st.eer.threshold, *np.linspace(-1, 1, 41).round(3)]:
        assert M.threshold_metrics(st.roc, t) == M.threshold_metrics(full, t)
    assert M.auc(M.compact_roc(st.roc)) == pytest.approx(M.auc(full), abs=4e-16)
    assert set(zip(st.roc.fpr[:-1], st.roc.tpr[:-1])) <= set(zip(fpr, tpr))  # every point is on the full curve
    imp = scores[~genuine]
    assert np.array_equal(st.impostor_hist, np.histogram(np.clip(imp, -1, 1), stream.HIST_EDGES)[0])
    assert np.array_equal(st.genuine_hist, np.histogram(np.clip(scores[genuine], -1, 1), stream.HIST_EDGES)[0])
    assert abs(st.impostor_median - np.median(imp)) <= 2 / stream.n_buckets(imp.size)
    assert [s for s, _, _ in st.top_impostors] == np.sort(imp)[::-1][:stream.TOP_K].tolist()
    return st, scores, genuine


def _slow_auc(scores, genuine):
    """Mann-Whitney by brute force: each genuine against each impostor (ties count a half)."""
    from fractions import Fraction

    g, i = np.sort(scores[genuine]), np.sort(scores[~genuine])
    below = np.searchsorted(i, g, side="left")
    equal = np.searchsorted(i, g, side="right") - below
    return Fraction(int(np.sum(2 * below + equal)), 2 * g.size * i.size)


@pytest.mark.parametrize("n,dim,step", [(300, 16, None), (900, 6, 1.0), (1500, 3, 1.0), (2000, 64, None),
                                        (600, 8, 0.5)])
def test_scan_is_exact(n, dim, step):
    assert_exact(*faces(n, dim, step=step, seed=n))


def test_exact_with_tiny_tiles_many_threads_and_a_missed_prediction(monkeypatch):
    """Tiles of 7 x 11 (ragged edges everywhere), and no predicted band: the second pass finds the EER."""
    monkeypatch.setattr(stream._tiles, "TILE_ROWS", 7)
    monkeypatch.setattr(stream._tiles, "TILE_COLS", 11)
    monkeypatch.setattr(stream._tiles, "_parts", lambda n: 3)
    monkeypatch.setattr(stream._tiles, "_predict_band", lambda *a, **k: (np.inf, np.inf))
    collected = []
    real = stream._tiles._collect
    monkeypatch.setattr(stream._tiles, "_collect", lambda *a, **k: collected.append(1) or real(*a, **k))
    for step in (None, 1.0):
        assert_exact(*faces(400, 5, step=step, seed=3))
    assert len(collected) == 2
    # little room: massive exact ties are merged as they come (a collapsed model still gets its exact EER) ...
    monkeypatch.setattr(stream._scan, "MAX_COLLECT", 48)
    e, ids = faces(400, 3, step=1.0, seed=4)
    e[::2] = e[0]  # half the images give one and the same embedding
    assert_exact(e, ids)
    # ... while too many different scores in the EER's bucket are refused with the reason, never guessed
    with pytest.raises(ScoresError, match="too many to rank exactly"):
        stream.scan(*faces(400, 5, seed=3))


def test_the_row_of_each_pair_and_each_image_best_match():
    e, ids = faces(500, 12, seed=7)
    st, scores, genuine = assert_exact(e, ids)
    n = len(ids)
    sim = stream.all_pair_scores(e, ids)[0]
    full = np.full((n, n), -np.inf)
    iu = np.triu_indices(n, 1)
    full[iu] = np.where(genuine, -np.inf, sim)
    full = np.maximum(full, full.T)
    assert np.array_equal(st.best_impostor, full.max(axis=1))
    assert np.array_equal(st.best_impostor_with, full.argmax(axis=1))
    for s, a, b in st.top_impostors:
        assert a < b and ids[a] != ids[b] and s == full[a, b]
    for s, a, b in zip(st.genuine, st.genuine_a, st.genuine_b):
        assert a < b and ids[a] == ids[b] and abs(s - sim[a * (2 * n - a - 1) // 2 + b - a - 1]) < 1e-15


def test_count_scores_is_the_same_counting():
    rng = np.random.default_rng(1)
    for k in range(6):
        y = rng.integers(0, 2, 3000)
        s = rng.normal(y * 1.5, 1) if k % 2 else np.round(rng.normal(y, 1), 1)  # outside [-1, 1], and ties
        st = stream.count_scores(s, y)
        full = M.roc_curve(s, y)
        assert st.eer == M.eer(full) and st.auc == pytest.approx(M.auc(full), abs=4e-16)
        assert all(M.tar_at_far(st.roc, f) == M.tar_at_far(full, f) for f in (0.1, 0.01, 1e-3))


def test_one_kind_of_pair_missing_is_an_error():
    with pytest.raises(ScoresError, match="no genuine pair"):
        stream.scan(np.eye(3), ["a", "b", "c"])
    with pytest.raises(ScoresError, match="no impostor pair"):
        stream.scan(np.eye(3), ["a", "a", "a"])


def test_memory_estimate_grows_with_images_not_pairs():
    small, big = stream.estimate_bytes(10_000, 128, 45_000), stream.estimate_bytes(100_000, 128, 450_000)
    assert big < 12 * small  # 10x the images, 100x the pairs
    assert big < 2 * 2**30


def test_worker_threads_multiply_with_the_callers_single_blas_thread():
    """The caller holds BLAS on one thread for its worker threads (threadpoolctl ignores a limit set from a
    thread that does not control the pool): a tile multiplied in a worker equals the single-threaded product,
    and BLAS is as it was afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    e = np.random.default_rng(0).normal(size=(600, 6))
    with threadpool_limits(limits=1, user_api="blas"):
        single = e[:256] @ e.T
    before = blas_threads()
    with stream._tiles._one_blas_thread():
        (got, seen), = stream._tiles._in_threads([lambda: (e[:256] @ e.T, blas_threads())])
    assert np.array_equal(got, single) and seen == {1} and blas_threads() == before
