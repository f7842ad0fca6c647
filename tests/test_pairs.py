import itertools

import numpy as np
import pytest

from faceroc_core.errors import DatasetError
from faceroc_core.pairs import check_memory, pair_scores


def test_against_per_pair_loop():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(37, 8)).astype(np.float32)
    ids = rng.integers(0, 6, 37).astype(str)
    ps = pair_scores(e, ids, block=5)
    ref_s, ref_g = [], []
    for i, j in itertools.combinations(range(37), 2):
        a, b = e[i].astype(float), e[j].astype(float)
        ref_s.append(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        ref_g.append(ids[i] == ids[j])
    np.testing.assert_allclose(ps.scores, ref_s, atol=1e-12)
    np.testing.assert_array_equal(ps.genuine, ref_g)
    assert ps.scores.dtype == np.float64 and ps.scores.size == 37 * 36 // 2


def test_zero_or_nan_embedding_is_an_error():
    with pytest.raises(ValueError, match="zero or non-finite"):
        pair_scores([[1.0, 0.0], [0.0, 0.0]], ["a", "b"])
    with pytest.raises(ValueError, match="zero or non-finite"):
        pair_scores([[1.0, 0.0], [np.nan, 1.0]], ["a", "b"])


def test_memory_guard():
    with pytest.raises(DatasetError, match="pairs, which need about"):
        check_memory(100_000, available=8 * 2**30)
    check_memory(1000, available=8 * 2**30)
