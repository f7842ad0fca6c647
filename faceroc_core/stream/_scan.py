"""The public measurements: :func:`scan` (every pair of a set of embeddings), :func:`count_scores` (scores already
computed), :func:`all_pair_scores` (every pair held, for small sets and checks) and :func:`disagreements` (two
models pair by pair).  ``scan`` and ``count_scores`` count differently and end in the same
:func:`~faceroc_core.stream._exact.finish`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .. import metrics as M
from ..errors import ScoresError
from ..vectors import normalise
from . import _tiles
from ._config import DUPLICATE_SCORE, HIST_EDGES, LO, MAX_COLLECT, MAX_DUPLICATES, TOP_BUFFER, TOP_K
from ._exact import Exact, _Counts, _Ranks, _thresholds, finish
from ._kernels import _count_values, _disagree_rows

_logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PairStats:
    """Everything :func:`scan` measures on one model's pairs (rows are the caller's image rows).

    ``roc`` holds a point at every genuine threshold, at the corner just above each (accept ``score >
    t``; labelled with the next float above ``t``), and at every query threshold (grid, histogram edges,
    ``queries``): the full ROC's shape without loss, with exact counts at each of its thresholds.
    """

    roc: M.RocCurve
    auc: float
    auc_fraction: Fraction  # the AUC exactly: (2 * #imp < g + #imp == g summed over genuine g) / (2 G I)
    eer: M.EqualErrorRate
    genuine: np.ndarray  # float64 (G,): genuine scores
    genuine_a: np.ndarray  # int64 (G,): their first image (row)
    genuine_b: np.ndarray  # int64 (G,): their second image (row), genuine_a < genuine_b
    genuine_hist: np.ndarray
    impostor_hist: np.ndarray
    hist_edges: np.ndarray
    impostor_median: float  # to within 2 / K (a bucket's width): the typical different-people score
    top_impostors: tuple  # (score, row a, row b), highest first, ties by rows
    duplicates: tuple  # (score, row a, row b) impostor pairs >= DUPLICATE_SCORE (at most MAX_DUPLICATES)
    best_impostor: np.ndarray  # float64 (n,): each image's highest score with another person (-inf if none)
    best_impostor_with: np.ndarray  # int64 (n,): that image (row)
    genuine_rank2: np.ndarray  # int64 (G,): 2 * #impostors < g + #impostors == g, per genuine pair
    impostor_rank2: np.ndarray  # int64 (n,): per image, sum over its impostor pairs of 2 * #gen > s + #gen == s
    n_images: int


def _stats(x: Exact, genuine, **per_image) -> PairStats:
    return PairStats(roc=x.roc, auc=float(x.auc_fraction), auc_fraction=x.auc_fraction, eer=x.eer, genuine=genuine,
                     genuine_hist=x.genuine_hist, impostor_hist=x.impostor_hist, hist_edges=HIST_EDGES.copy(),
                     impostor_median=x.impostor_median, genuine_rank2=x.genuine_rank2, **per_image)


def scan(embeddings, identities, *, queries=(), progress=None, client=None) -> PairStats:
    """Measure every pair of images by cosine similarity, exactly, holding only the genuine pairs.

    Args:
        embeddings: (n, d) float; each row is L2-normalised here (float64).
        identities: (n,) labels; a pair is genuine when both images have the same label.
        queries: extra thresholds at which the curve must hold exact counts.
        progress: ``progress(done, total)`` after each row of tiles.
        client: a ``dask.distributed.Client``: the pairs are counted on its workers (:func:`dask_client`).

    >>> st = scan([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], ["a", "a", "b", "b"])
    >>> st.auc, st.roc.n_genuine, st.roc.n_impostor
    (1.0, 2, 4)
    """
    es, order, cs, starts, ends, col_from = _tiles._by_person(embeddings, identities)
    n = es.shape[0]
    genuine, ga, gb = _tiles._genuine(es, starts, ends)
    n_g = genuine.size
    n_i = n * (n - 1) // 2 - n_g
    if n_g == 0:
        raise ScoresError("no genuine pair: need at least two images of one identity")
    if n_i == 0:
        raise ScoresError("no impostor pair: need at least two identities")
    th = _thresholds(genuine, queries, n_i)
    band_lo, band_hi = _tiles._predict_band(es, cs, np.sort(genuine), n_i)
    if int(th.g_ge2[0]) >= 2**31:
        raise ScoresError(f"{n_g:,} same-person pairs: more than this engine counts (about a billion)")
    got = _tiles._first_pass(es, col_from, th, band_lo, band_hi, progress, client)
    parts = got.bcnt.shape[0]

    def fill(ranks: _Ranks, want: set[int]) -> None:
        """The scores either side of the EER: from the band the first pass kept, else from a second pass."""
        inside = {b for b in want if got.band_complete and ranks.bk(band_lo) < b < ranks.bk(band_hi)}
        if inside:
            bv = th.bucket(got.band)
            for b in inside:
                ranks.put(b, got.band[bv == b])
        missing = want - inside
        if missing:  # the prediction missed: a second pass collects the scores either side of the EER
            _logger.info("EER outside the predicted band [%.6f, %.6f]: second pass", band_lo, band_hi)
            want_mask = np.zeros(th.k, np.uint8)
            want_mask[list(missing)] = 1
            cap = int(got.bcnt[:, want_mask.astype(bool)].sum(axis=1).max()) + 1  # per part, as the first pass counted
            vals, counts = _tiles._collect(es, col_from, want_mask, th.scale, min(cap, MAX_COLLECT // parts + 1),
                                           parts, progress)
            bv = th.bucket(vals)
            for b in missing:
                ranks.put(b, vals[bv == b], counts[bv == b])

    exact = finish(got, th, genuine, n_i, fill)
    # the highest impostor pairs (ties broken by image rows), the duplicates
    inv = order  # sorted row -> caller's row
    vals = got.top_s
    a_rows, b_rows = inv[got.top_i], inv[got.top_j]
    lo_rows, hi_rows = np.minimum(a_rows, b_rows), np.maximum(a_rows, b_rows)
    rank_order = np.lexsort((hi_rows, lo_rows, -vals))
    top_pairs = tuple((float(vals[k]), int(lo_rows[k]), int(hi_rows[k])) for k in rank_order[:TOP_K])
    dup = tuple((float(vals[k]), int(lo_rows[k]), int(hi_rows[k])) for k in rank_order[:MAX_DUPLICATES]
                if vals[k] >= DUPLICATE_SCORE)
    # per image: best impostor (among the later images of its row, or the earlier ones of its column), its rank
    # sums; back in the caller's row order (every image has impostors: there are two people at least)
    from_col = got.col_max > got.row_max
    best_impostor = np.empty(n)
    best_impostor[order] = np.where(from_col, got.col_max, got.row_max)
    best_with = np.empty(n, np.int64)
    best_with[order] = inv[np.where(from_col, got.col_arg, got.row_arg)]
    imp_rank2 = np.empty(n, np.int64)
    imp_rank2[order] = got.row_b2 + got.col_b2
    ga_c, gb_c = inv[ga], inv[gb]
    return _stats(exact, genuine, genuine_a=np.minimum(ga_c, gb_c), genuine_b=np.maximum(ga_c, gb_c),
                  top_impostors=top_pairs, duplicates=dup, best_impostor=best_impostor, best_impostor_with=best_with,
                  impostor_rank2=imp_rank2, n_images=n)


def count_scores(scores, labels, *, queries=()) -> PairStats:
    """:func:`scan` for scores that are already computed (``scores`` with 0/1 ``labels``): the same counting.

    >>> st = count_scores([0.9, 0.8, 0.3, 0.8], [1, 1, 0, 0])
    >>> st.auc, st.eer.eer
    (0.875, 0.25)
    """
    s, y = M.check_scores(scores, labels)
    genuine = s[y]
    imp = np.ascontiguousarray(s[~y])
    th = _thresholds(genuine, queries, imp.size)
    c = _Counts.empty(1, th)
    _count_values(imp, th.b2_lut, th.first, th.T, LO, th.scale, c.bcnt[0], c.cells[0], c.eq[0])

    def fill(ranks: _Ranks, want: set[int]) -> None:  # every impostor score is at hand
        bi = th.bucket(imp)
        for b in want:
            ranks.put(b, imp[bi == b])

    exact = finish(c, th, genuine, imp.size, fill)
    none = np.zeros(0, np.int64)
    return _stats(exact, genuine, genuine_a=none, genuine_b=none, top_impostors=(), duplicates=(),
                  best_impostor=np.zeros(0), best_impostor_with=none, impostor_rank2=none, n_images=0)


@dataclass(frozen=True, eq=False)
class PairScores:
    """Every pair's score held in memory (small sets and checks; the evaluation never holds them)."""

    scores: np.ndarray  # float64 (n_pairs,)
    genuine: np.ndarray  # bool (n_pairs,)

    @property
    def n_genuine(self) -> int:
        return int(self.genuine.sum())

    @property
    def n_impostor(self) -> int:
        return int(self.genuine.size - self.genuine.sum())


def pair_scores(embeddings, identities) -> PairScores:
    """Cosine similarity of every unordered pair and whether it is genuine (:func:`all_pair_scores`).

    >>> ps = pair_scores([[1, 0], [1, 0], [0, 1]], ["a", "a", "b"])
    >>> ps.scores.tolist(), ps.genuine.tolist()
    ([1.0, 0.0, 0.0], [True, False, False])
    """
    scores, genuine = all_pair_scores(embeddings, identities)
    return PairScores(scores=scores, genuine=genuine)


def all_pair_scores(embeddings, identities) -> tuple[np.ndarray, np.ndarray]:
    """Every pair's score, in ``numpy.triu_indices(n, 1)`` order of the rows, and whether it is genuine.

    The scores are computed exactly as :func:`scan` computes them (the same matrix products), so metrics of
    these arrays equal the scan's; it holds all pairs, so it is for small sets and for checking.
    """
    es, order, cs, starts, ends, col_from = _tiles._by_person(embeddings, identities)
    n = es.shape[0]
    scores = np.empty(n * (n - 1) // 2)
    genuine = np.zeros(scores.size, bool)

    def put(a_sorted, b_sorted, values, is_genuine):
        a, b = order[a_sorted], order[b_sorted]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        pos = lo * (2 * n - lo - 1) // 2 + (hi - lo - 1)
        scores[pos] = values
        genuine[pos] = is_genuine

    g, ga, gb = _tiles._genuine(es, starts, ends)
    put(ga, gb, g, True)

    def tile(p, i0, i1, j0, j1):
        S = es[i0:i1] @ es[j0:j1].T
        rows = np.arange(i0, i1)
        r, c = np.nonzero(np.arange(j0, j1)[None, :] >= col_from[rows][:, None])
        put(rows[r], j0 + c, S[r, c], False)

    _tiles._run_tiles(n, 1, tile, None, 0)
    return scores, genuine



def disagreements(e1, e2, t1: float, t2: float, *, k: int = TOP_K) -> tuple[tuple[int, int], ...]:
    """The ``k`` pairs of rows ``(i, j)``, ``i < j``, that two models (embeddings ``e1``, ``e2`` of the same images)
    decide most clearly differently, each at its own threshold: clearest first (largest smaller margin)."""
    a, b = normalise(e1), normalise(e2)
    n = a.shape[0]
    parts = _tiles._parts(n)
    top_m = np.empty((parts, TOP_BUFFER))
    top_i = np.empty((parts, TOP_BUFFER), np.int64)
    top_j = np.empty((parts, TOP_BUFFER), np.int64)
    state = np.zeros((parts, 1), np.int64)
    floor = np.full((parts, 1), -np.inf)

    def work(p, i0, i1, j0, j1):
        _disagree_rows(a[i0:i1] @ a[j0:j1].T, b[i0:i1] @ b[j0:j1].T, i0, j0, t1, t2, top_m[p], top_i[p], top_j[p],
                       state[p], floor[p])

    _tiles._run_tiles(n, parts, work, None, 0)
    m = np.concatenate([top_m[p, :state[p, 0]] for p in range(parts)])
    i = np.concatenate([top_i[p, :state[p, 0]] for p in range(parts)])
    j = np.concatenate([top_j[p, :state[p, 0]] for p in range(parts)])
    order = np.lexsort((j, i, -m))[:k]
    return tuple((int(i[x]), int(j[x])) for x in order)
