"""10-fold accuracy against a slow, obvious re-implementation of InsightFace's verification.py (loops over folds
and thresholds, scikit-learn's KFold), on synthetic scores with ties and on real faces through a pairs.txt."""
import numpy as np
import pytest
from helpers import LFW, MFN_ONNX, SHARED_REASON
from sklearn.model_selection import KFold

from faceroc_core.tenfold import THRESHOLDS, VAL_THRESHOLDS, kfold, ten_fold


def insightface_accuracy(dist, issame, nrof_folds=10):
    """verification.py's calculate_roc (accuracy part), written out as it is there."""
    thresholds = np.arange(0, 4, 0.01)
    accuracy = np.zeros(nrof_folds)
    best = []
    for fold_idx, (train_set, test_set) in enumerate(KFold(n_splits=nrof_folds, shuffle=False).split(dist)):
        acc_train = np.zeros(len(thresholds))
        for threshold_idx, threshold in enumerate(thresholds):
            predict = np.less(dist[train_set], threshold)
            actual = issame[train_set]
            tp = np.sum(predict & actual)
            tn = np.sum(~predict & ~actual)
            acc_train[threshold_idx] = float(tp + tn) / dist[train_set].size
        t = thresholds[np.argmax(acc_train)]
        best.append(t)
        predict = np.less(dist[test_set], t)
        actual = issame[test_set]
        accuracy[fold_idx] = float(np.sum(predict & actual) + np.sum(~predict & ~actual)) / dist[test_set].size
    return accuracy, best


def facenet_val(dist, issame, far_target=1e-3, nrof_folds=10):
    """facenet's calculate_val, with interp1d's linear interpolation (its 'slinear' refuses repeated FARs today)."""
    from scipy.interpolate import interp1d

    thresholds = np.arange(0, 4, 0.001)
    val, far = [], []
    for train_set, test_set in KFold(n_splits=nrof_folds, shuffle=False).split(dist):
        far_train = np.zeros(len(thresholds))
        for k, threshold in enumerate(thresholds):
            predict = np.less(dist[train_set], threshold)
            far_train[k] = np.sum(predict & ~issame[train_set]) / np.sum(~issame[train_set])
        threshold = float(interp1d(far_train, thresholds, kind="linear")(far_target)) if far_train.max() >= far_target else 0.0
        predict = np.less(dist[test_set], threshold)
        val.append(np.sum(predict & issame[test_set]) / np.sum(issame[test_set]))
        far.append(np.sum(predict & ~issame[test_set]) / np.sum(~issame[test_set]))
    return np.mean(val), np.std(val), np.mean(far)


@pytest.mark.parametrize("seed, n", [(0, 600), (1, 1003), (2, 6000)])
def test_ten_fold_equals_insightfaces_computation_with_ties(seed, n):
    rng = np.random.default_rng(seed)
    issame = rng.random(n) < 0.5
    scores = np.round(np.clip(rng.normal(np.where(issame, 0.55, 0.1), 0.2), -1, 1) / 0.005) * 0.005  # on the grid
    dist = 2.0 - 2.0 * scores
    acc, best = insightface_accuracy(dist, issame)
    tf = ten_fold(scores, issame)
    assert list(tf.folds) == acc.tolist() and list(tf.distance_thresholds) == best
    assert tf.mean == np.mean(acc) and tf.std == np.std(acc)
    assert tf.thresholds == tuple(1 - t / 2 for t in best)
    val, val_std, far = facenet_val(dist, issame)
    assert tf.val == pytest.approx(val, abs=1e-12) and tf.val_std == pytest.approx(val_std, abs=1e-12)
    assert tf.far == pytest.approx(far, abs=1e-12)


def test_folds_given_and_the_kfold_rule():
    assert np.bincount(kfold(6000)).tolist() == [600] * 10 and kfold(6000)[:601].tolist() == [0] * 600 + [1]
    rng = np.random.default_rng(3)
    issame = np.tile(np.r_[np.ones(30, bool), np.zeros(30, bool)], 10)
    scores = rng.normal(np.where(issame, 0.5, 0.0), 0.3)
    blocks = ten_fold(scores, issame, np.repeat(np.arange(10), 60))  # pairs.txt's sets are KFold's blocks
    assert blocks == ten_fold(scores, issame)
    shuffled = ten_fold(scores, issame, np.tile(np.arange(10), 60))  # a fold column decides
    assert shuffled.folds != blocks.folds and len(shuffled.folds) == 10
    assert THRESHOLDS.size == 400 and VAL_THRESHOLDS.size == 4000
    assert ten_fold(scores, issame).text() == f"{100 * blocks.mean:.2f}% ± {100 * blocks.std:.2f} (10 folds)"


@pytest.mark.skipif(not LFW.is_dir() or not MFN_ONNX.is_file(), reason=SHARED_REASON)
def test_ten_fold_on_real_lfw_photos_through_a_pairs_txt(tmp_path):
    """Our own pairs.txt over the LFW sample of ../shared (ten sets of 30 genuine then 30 impostor pairs, LFW's
    layout), evaluated with `--pairs`: the JSON's accuracy_10fold equals InsightFace's computation, written out
    above, on the same model's embeddings of the same crops."""
    import json

    from faceroc_core.cache import EmbeddingCache
    from faceroc_core.cli import main
    from faceroc_core.dataset import scan_folder
    from faceroc_core.embed import embed
    from faceroc_core.models import prepare_model
    from faceroc_core.options import ModelSpec, resolve_preprocessing

    people = sorted(p.name for p in LFW.iterdir() if p.is_dir())
    numbers = {p: sorted(int(f.stem[-4:]) for f in (LFW / p).iterdir()) for p in people}
    rng = np.random.default_rng(0)
    lines, pairs = ["10 30"], []
    for _ in range(10):
        for _ in range(30):
            p = people[rng.integers(len(people))]
            i, j = rng.choice(numbers[p], 2, replace=False)
            lines.append(f"{p} {i} {j}")
            pairs.append((f"{p}/{p}_{i:04d}.jpg", f"{p}/{p}_{j:04d}.jpg", True))
        for _ in range(30):
            p, q = (people[k] for k in rng.choice(len(people), 2, replace=False))
            i, j = rng.choice(numbers[p]), rng.choice(numbers[q])
            lines.append(f"{p} {i} {q} {j}")
            pairs.append((f"{p}/{p}_{i:04d}.jpg", f"{q}/{q}_{j:04d}.jpg", False))
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "o.json"
    crop = ["--crop", "53,44,197,188"]
    assert main(["evaluate", "--images", str(LFW), "--model", str(MFN_ONNX), *crop, "--pairs",
                 str(tmp_path / "pairs.txt"), "--json", str(out), "--cache-dir", str(tmp_path / "c"), "-q"]) == 0
    acc = json.loads(out.read_text())["models"][0]["accuracy_10fold"]

    ds = scan_folder(LFW, labels="folder")
    spec = ModelSpec(MFN_ONNX, crop=(53, 44, 197, 188))
    pm = prepare_model(MFN_ONNX, cache_dir=tmp_path / "c")
    run = embed(ds.images, [(pm, resolve_preprocessing(spec, pm.info))], cache=EmbeddingCache(tmp_path / "c"))
    e = run.results[0].embeddings.astype(np.float64)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    row = {r.relpath: k for k, r in enumerate(ds.images)}
    a = e[[row[x] for x, _, _ in pairs]]
    b = e[[row[y] for _, y, _ in pairs]]
    issame = np.array([g for _, _, g in pairs])
    want, best = insightface_accuracy(np.sum(np.square(a - b), 1), issame)
    assert acc["folds"] == pytest.approx(want.tolist(), abs=1e-12) and acc["mean"] == pytest.approx(want.mean())
    assert acc["std"] == pytest.approx(want.std()) and acc["thresholds"] == pytest.approx([1 - t / 2 for t in best])
    assert 0.9 < acc["mean"] <= 1.0 and acc["flip"] is False
