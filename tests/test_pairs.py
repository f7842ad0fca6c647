import itertools

import numpy as np
import pytest

from faceroc_core import stream
from faceroc_core.errors import DatasetError
from faceroc_core.stream import check_memory, pair_scores


def test_against_per_pair_loop(monkeypatch):
    monkeypatch.setattr(stream._tiles, "TILE_ROWS", 5)  # many tiles, ragged edges
    monkeypatch.setattr(stream._tiles, "TILE_COLS", 7)
    rng = np.random.default_rng(0)
    e = rng.normal(size=(37, 8)).astype(np.float32)
    ids = rng.integers(0, 6, 37).astype(str)
    ps = pair_scores(e, ids)
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


def test_memory_guard_names_the_need_and_the_fix():
    with pytest.raises(DatasetError, match=r"1,000,000 images of 512-d embeddings .* need about .* GB") as e:
        check_memory(1_000_000, dim=512, available=4 * 2**30)
    assert "fewer images" in e.value.hint
    check_memory(1000, dim=512, available=4 * 2**30)
    check_memory(100_000, dim=128, available=2 * 2**30)  # the scan never holds the pairs: 5e9 of them fit
