"""Exact metrics of every pair without holding the pairs.

The genuine (same-person) scores are few — a few per image — and are kept.
The impostor scores are counted, tile by tile, against every **threshold**:
the distinct genuine scores plus a few fixed query values (the 0.001 grid a
threshold slider can pick, the histogram edges, thresholds asked for).  That
gives, exactly (integer counts, no approximation):

* the number of impostors ``>= t`` and ``== t`` at every threshold ``t``,
  hence the ROC at every genuine threshold and at the corner just above it
  (the curve drawn through them is the full ROC without loss), TAR@FAR (it
  always lands on a genuine threshold), the confusion counts at any grid or
  query threshold, and the impostor histogram;
* the AUC as the tie-aware Mann–Whitney count: one integer ratio,
  ``sum over genuine g of (2 * #impostors < g + #impostors == g) / (2 * G * I)``,
  rounded once to the nearest float;
* per image, the sum over its impostor pairs of ``2 * #genuine > s + #genuine
  == s`` (what the identity-level uncertainty needs, :mod:`.uncertainty`), and
  its most similar image of another person.

How an impostor score finds its place fast: the score range is cut into
up to :data:`K_MAX` equal buckets (the bucket of a value is a monotone function
of it, computed the same way for scores and thresholds).  A bucket holding no
threshold maps to one place at once; a bucket holding thresholds is searched
exactly.  Per-bucket counts also say, after the pass, which few buckets hold
the impostor scores of a given rank: the scores either side of the equal
error rate, kept in the same pass from a band predicted on a sample (or, when
the prediction misses, collected by a second pass), so the EER is
interpolated between the very points of the full ROC that scikit-learn's
curve has.  The highest-scoring impostor pairs are kept as the pass goes.

Layout (one job a module): ``_kernels`` (numba), ``_exact`` (counts to exact metrics: the one tail under both
entry points), ``_tiles`` (tiles, threads, BLAS, the Dask path), ``_scan`` (the entry points), ``memory``.
"""
from __future__ import annotations

from ._config import DUPLICATE_SCORE, GRID, HIST_BINS, HIST_EDGES, TOP_K
from ._exact import n_buckets
from ._scan import PairScores, PairStats, all_pair_scores, count_scores, disagreements, pair_scores, scan
from .memory import check_memory, estimate_bytes

__all__ = [
    "DUPLICATE_SCORE", "GRID", "HIST_BINS", "HIST_EDGES", "TOP_K", "PairScores", "PairStats", "all_pair_scores",
    "check_memory", "count_scores", "disagreements", "estimate_bytes", "n_buckets", "pair_scores", "scan",
]
