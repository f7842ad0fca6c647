"""Embeddings as unit vectors: the one normalisation every score is computed on (imports nothing of FaceROC)."""
from __future__ import annotations

import numpy as np


def normalise(embeddings) -> np.ndarray:
    """Rows scaled to unit L2 norm (float64). Zero or non-finite rows raise ``ValueError``.

    >>> normalise([[3, 4], [0, 2]]).tolist()
    [[0.6, 0.8], [0.0, 1.0]]
    """
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array, got shape {e.shape}")
    norms = np.linalg.norm(e, axis=1)
    bad = ~np.isfinite(norms) | (norms == 0)
    if bad.any():
        raise ValueError(f"rows {np.flatnonzero(bad)[:5].tolist()} have zero or non-finite norm")
    return e / norms[:, None]
