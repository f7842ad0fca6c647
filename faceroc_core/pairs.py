"""All-pairs cosine similarity.

Scores are the matrix product of L2-normalised embeddings in float64 (so that
ties and the ROC do not depend on float32 rounding).  Every unordered pair of
distinct images is scored once, in the order of ``numpy.triu_indices(n, 1)``;
a pair is genuine when both images have the same identity.  The scores are
filled block by block, so no n x n matrix is held.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DatasetError

BYTES_PER_PAIR = 80  # measured peak ~66 B per pair for one model (scores, labels, the sort, the diagnosis) + more models


@dataclass(frozen=True, eq=False)
class PairScores:
    scores: np.ndarray  # float64 (n_pairs,)
    genuine: np.ndarray  # bool (n_pairs,)

    @property
    def n_genuine(self) -> int:
        return int(self.genuine.sum())

    @property
    def n_impostor(self) -> int:
        return int(self.genuine.size - self.genuine.sum())


def normalise(embeddings) -> np.ndarray:
    """Rows scaled to unit L2 norm (float64). Zero or non-finite rows raise ``ValueError``."""
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array, got shape {e.shape}")
    norms = np.linalg.norm(e, axis=1)
    bad = ~np.isfinite(norms) | (norms == 0)
    if bad.any():
        raise ValueError(f"rows {np.flatnonzero(bad)[:5].tolist()} have zero or non-finite norm")
    return e / norms[:, None]


def check_memory(n_images: int, *, available: int | None = None) -> None:
    n_pairs = n_images * (n_images - 1) // 2
    need = n_pairs * BYTES_PER_PAIR
    if available is None:
        try:
            import psutil

            available = int(psutil.virtual_memory().available)
        except Exception:
            return
    if need > 0.8 * available:
        raise DatasetError(
            f"{n_images:,} images make {n_pairs:,} pairs, which need about {need / 2**30:.1f} GB "
            f"but {available / 2**30:.1f} GB is free",
            hint="evaluate fewer images (for example a sample of identities)",
        )


def pair_scores(embeddings, identities, *, block: int = 256) -> PairScores:
    """Cosine similarity of every unordered pair and whether it is genuine.

    >>> ps = pair_scores([[1, 0], [1, 0], [0, 1]], ["a", "a", "b"])
    >>> ps.scores.tolist(), ps.genuine.tolist()
    ([1.0, 0.0, 0.0], [True, False, False])
    """
    e = normalise(embeddings)
    ids = np.asarray(identities)
    n = e.shape[0]
    if ids.shape != (n,):
        raise ValueError(f"{n} embeddings but {ids.size} identities")
    _, codes = np.unique(ids, return_inverse=True)
    n_pairs = n * (n - 1) // 2
    scores = np.empty(n_pairs, dtype=np.float64)
    genuine = np.empty(n_pairs, dtype=bool)
    pos = 0
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        s = e[i0:i1] @ e[i0:].T  # rows i0..i1 against columns i0..n
        for r, i in enumerate(range(i0, i1)):  # row i's pairs (i, j > i), in triu order
            k = n - i - 1
            scores[pos:pos + k] = s[r, i - i0 + 1:]
            genuine[pos:pos + k] = codes[i + 1:] == codes[i]
            pos += k
    return PairScores(scores=scores, genuine=genuine)
