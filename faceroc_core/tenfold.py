"""The field's verification accuracy: 10-fold accuracy as InsightFace's ``verification.py`` computes it.

Papers and training repos report "LFW 99.83%": the mean of ten accuracies, each on one fold of the protocol's
pairs at the threshold that is best on the other nine.  The computation here is theirs, step by step, so that the
figure can be set beside published ones:

* distance: the squared Euclidean distance of the L2-normalised embeddings, ``d = |a - b|^2 = 2 - 2 cos(a, b)``
  (computed here from FaceROC's cosine score, in float64);
* thresholds ``numpy.arange(0, 4, 0.01)``; a pair is predicted "same" iff ``d < threshold``;
* folds: ``KFold(n_splits=10, shuffle=False)`` over the pairs in file order (contiguous blocks, the first
  ``n % 10`` one pair longer) — for LFW's ``pairs.txt`` these are its ten official sets of 300 + 300 pairs —, or
  the protocol's own ``fold`` column;
* in each fold, the threshold with the highest accuracy on the other folds (the first of equals, as
  ``numpy.argmax``) is applied to the held-out fold; the result is the mean and ``numpy.std`` (population) of the
  ten accuracies.

VAL@FAR=1e-3 (facenet's ``calculate_val``: thresholds ``numpy.arange(0, 4, 0.001)``, the threshold where the
training folds' FAR reaches the target by linear interpolation, 0 when it never does; VAL and FAR on the held-out
fold at ``d < threshold``, mean and std over the folds) is reported beside it.
Nothing of FaceROC is imported here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_FOLDS = 10
THRESHOLDS = np.arange(0, 4, 0.01)
VAL_THRESHOLDS = np.arange(0, 4, 0.001)
VAL_FAR = 1e-3


@dataclass(frozen=True)
class TenFold:
    """10-fold accuracy: per fold the accuracy on that fold at the threshold (a distance) best on the others."""

    folds: tuple[float, ...]
    distance_thresholds: tuple[float, ...]
    val: float | None  # VAL (TAR) at FAR = VAL_FAR, mean over the folds (None: too few impostor pairs)
    val_std: float | None
    far: float | None  # the FAR reached on the held-out folds, mean
    flip: bool = False

    @property
    def mean(self) -> float:
        return float(np.mean(self.folds))

    @property
    def std(self) -> float:
        return float(np.std(self.folds))

    def text(self, lang: str = "en") -> str:
        """"99.52% ± 0.31" — the mean and std of the folds in percent, as papers write it."""
        if lang == "ja":
            return f"{100 * self.mean:.2f}% ± {100 * self.std:.2f}（{len(self.folds)} 分割{'、反転テスト' if self.flip else ''}）"
        return f"{100 * self.mean:.2f}% ± {100 * self.std:.2f} ({len(self.folds)} folds{', flip test' if self.flip else ''})"

    @property
    def thresholds(self) -> tuple[float, ...]:
        """The thresholds as cosine-score thresholds (accept iff score > ``1 - d / 2``)."""
        return tuple(1.0 - t / 2.0 for t in self.distance_thresholds)


def kfold(n: int, k: int = N_FOLDS) -> np.ndarray:
    """Each pair's fold as ``sklearn.model_selection.KFold(n_splits=k, shuffle=False)`` splits ``n`` pairs.

    >>> kfold(23, 10).tolist()
    [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]
    """
    if n < k:
        raise ValueError(f"{n} pairs cannot make {k} folds")
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    return np.repeat(np.arange(k), sizes)


def _accuracy(d_gen_sorted: np.ndarray, d_imp_sorted: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Accuracy at each threshold: ``(#genuine with d < t + #impostor with d >= t) / #pairs``."""
    tp = np.searchsorted(d_gen_sorted, thresholds, side="left")
    tn = d_imp_sorted.size - np.searchsorted(d_imp_sorted, thresholds, side="left")
    return (tp + tn) / (d_gen_sorted.size + d_imp_sorted.size)


def ten_fold(scores, genuine, folds=None, *, flip: bool = False) -> TenFold:
    """10-fold accuracy (module text) of pairs with cosine ``scores`` and labels ``genuine``, in file order.

    ``folds``: each pair's fold (any labels, in the order they first appear), or None for the KFold rule.

    >>> s = np.r_[np.full(10, 0.9), np.full(10, 0.1)]
    >>> tf = ten_fold(s, np.r_[np.ones(10, bool), np.zeros(10, bool)], np.tile(np.arange(10), 2))
    >>> tf.mean, tf.std
    (1.0, 0.0)
    """
    s = np.asarray(scores, np.float64)
    g = np.asarray(genuine, bool)
    if s.shape != g.shape:
        raise ValueError("scores and labels differ in length")
    d = 2.0 - 2.0 * s
    if folds is None:
        f = kfold(s.size)
    else:
        _, first, f = np.unique(np.asarray(folds), return_index=True, return_inverse=True)
        f = np.argsort(np.argsort(first))[f]  # numbered in the order they first appear
    k = int(f.max()) + 1
    accs, best, vals, fars = [], [], [], []
    for fold in range(k):
        test, train = f == fold, f != fold
        acc_train = _accuracy(np.sort(d[train & g]), np.sort(d[train & ~g]), THRESHOLDS)
        t = float(THRESHOLDS[int(np.argmax(acc_train))])
        accs.append(float(_accuracy(np.sort(d[test & g]), np.sort(d[test & ~g]), np.array([t]))[0]))
        best.append(t)
        v = _val_far(d[train], g[train], d[test], g[test])
        if v is not None:
            vals.append(v[0])
            fars.append(v[1])
    return TenFold(folds=tuple(accs), distance_thresholds=tuple(best),
                   val=float(np.mean(vals)) if vals else None, val_std=float(np.std(vals)) if vals else None,
                   far=float(np.mean(fars)) if fars else None, flip=flip)


def _val_far(d_train, g_train, d_test, g_test) -> tuple[float, float] | None:
    """facenet's ``calculate_val`` for one fold: (VAL, FAR) on the test fold, None without impostor pairs."""
    n_imp = int((~g_train).sum())
    if n_imp == 0 or (~g_test).sum() == 0 or g_test.sum() == 0:
        return None
    imp = np.sort(d_train[~g_train])
    far_train = np.searchsorted(imp, VAL_THRESHOLDS, side="left") / n_imp  # FAR(t): impostors with d < t
    if far_train.max() >= VAL_FAR:  # interpolated between the last threshold under the target and the first at
        hi = int(np.searchsorted(far_train, VAL_FAR, side="left"))  # or over it (scipy's interp1d on these points;
        lo = max(hi - 1, 0)  # its "slinear" kind, which facenet names, refuses their repeated FARs today)
        span = far_train[hi] - far_train[lo]
        threshold = float(VAL_THRESHOLDS[hi] if span == 0 else VAL_THRESHOLDS[lo] + (VAL_FAR - far_train[lo])
                          * (VAL_THRESHOLDS[hi] - VAL_THRESHOLDS[lo]) / span)
    else:
        threshold = 0.0
    same = d_test < threshold
    return float(np.mean(same[g_test])), float(np.mean(same[~g_test]))
