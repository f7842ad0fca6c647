"""Tiles and threads: the images sorted by person, the genuine pairs person by person, and every impostor pair
multiplied tile by tile (float64 GEMM on one BLAS thread per scan thread) and counted by the kernels — on threads
here or on the workers of a Dask cluster (only counts come back).
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np

from ..errors import ScoresError
from ..vectors import normalise
from ._config import BAND_MAX, LO, SAMPLE, TOP_BUFFER
from ._exact import _Counts, _Thresholds
from ._kernels import _collect_rows, _count_rows

TILE_ROWS, TILE_COLS = 256, 8192


def _sort_people(codes: np.ndarray):
    order = np.argsort(codes, kind="stable")
    cs = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(cs)) + 1]
    ends = np.r_[starts[1:], cs.size]
    col_from = np.repeat(ends, ends - starts).astype(np.int64)  # first column of a later person
    return order, cs, starts, ends, col_from


def _by_person(embeddings, identities):
    """The unit-norm float64 embeddings sorted by person (``es``), the order (``es[k]`` is row ``order[k]``), the
    person codes in that order, each person's first and end rows, and each row's first column of a later person."""
    e = normalise(embeddings)
    ids = np.asarray(identities)
    if ids.shape != (e.shape[0],):
        raise ValueError(f"{e.shape[0]} embeddings but {ids.size} identities")
    _, codes = np.unique(ids, return_inverse=True)
    order, cs, starts, ends, col_from = _sort_people(codes)
    return np.ascontiguousarray(e[order]), order, cs, starts, ends, col_from


def _genuine(e_sorted, starts, ends):
    """Genuine scores (rows of the identity-sorted images), person by person."""
    with _one_blas_thread():  # the same arithmetic as the tiles
        return _genuine_1(e_sorted, starts, ends)


def _genuine_1(e_sorted, starts, ends):
    s_parts, a_parts, b_parts = [], [], []
    triu: dict[int, tuple] = {}
    for a0, a1 in zip(starts, ends):
        m = a1 - a0
        if m < 2:
            continue
        g = e_sorted[a0:a1] @ e_sorted[a0:a1].T
        iu, ju = triu[m] if m in triu else triu.setdefault(m, np.triu_indices(m, 1))
        s_parts.append(g[iu, ju])
        a_parts.append(iu + a0)
        b_parts.append(ju + a0)
    if not s_parts:
        return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(s_parts), np.concatenate(a_parts).astype(np.int64), np.concatenate(b_parts).astype(np.int64)



@dataclass(eq=False)
class _PartResult:
    """What counting some rows of tiles gives (per-part arrays; summed, or maxed, by :func:`_first_pass`)."""

    bcnt: np.ndarray
    cells: np.ndarray
    eq: np.ndarray
    row_b2: np.ndarray
    col_b2: np.ndarray
    row_max: np.ndarray
    row_arg: np.ndarray
    col_max: np.ndarray
    col_arg: np.ndarray
    band: np.ndarray
    band_complete: bool
    top_s: np.ndarray
    top_i: np.ndarray
    top_j: np.ndarray


def _count_part(es, col_from, th: _Thresholds, row_tiles, band_lo: float, band_hi: float, tick=None,
                hold: bool = False) -> _PartResult:
    """Count the pairs of some rows of tiles (rows ``i0 .. i0 + TILE_ROWS`` for each ``i0`` of ``row_tiles``)
    on one thread: the unit of work a thread, or a Dask worker, runs.  BLAS must be on one thread: the caller
    holds :func:`_one_blas_thread` for its threads; a Dask task (``hold``) takes it itself."""
    n = es.shape[0]
    c = _Counts.empty(1, th)
    bl = np.zeros((th.k, 2), np.int32)
    bl[:, 0] = th.b2_lut
    row_b2, col_b2 = np.zeros(n, np.int64), np.zeros(n, np.int64)
    row_max, col_max = np.full(n, -np.inf), np.full(n, -np.inf)
    row_arg, col_arg = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    band = np.empty(BAND_MAX // 2 + 1)
    top_s, top_i, top_j = np.empty(TOP_BUFFER), np.empty(TOP_BUFFER, np.int64), np.empty(TOP_BUFFER, np.int64)
    state, floor = np.zeros(2, np.int64), np.full(1, -np.inf)
    with _one_blas_thread() if hold else nullcontext():
        for i0 in row_tiles:
            i1 = min(n, i0 + TILE_ROWS)
            for j0 in range(i0, n, TILE_COLS):
                S = es[i0:i1] @ es[j0:min(n, j0 + TILE_COLS)].T
                _count_rows(S, i0, j0, col_from, bl, th.first, th.T, th.g_ge2, th.gen_at, LO, th.scale, c.cells[0],
                            c.eq[0], row_b2, col_b2, row_max, row_arg, col_max, col_arg, band_lo, band_hi, band,
                            top_s, top_i, top_j, state, floor)
                c.bcnt[0] += bl[:, 1]  # int32 per tile, int64 in all
                bl[:, 1] = 0
            if tick:
                tick()
    nb, nt = int(state[0]), int(state[1])
    return _PartResult(c.bcnt[0], c.cells[0], c.eq[0], row_b2, col_b2, row_max, row_arg, col_max, col_arg,
                       band[:min(nb, band.size)].copy(), nb <= band.size, top_s[:nt].copy(), top_i[:nt].copy(),
                       top_j[:nt].copy())


def _first_pass(es, col_from, th: _Thresholds, band_lo, band_hi, progress, client) -> _PartResult:
    """Every impostor pair counted, by threads here or by the workers of a Dask ``client``; the parts merged."""
    n = es.shape[0]
    row_tiles = list(range(0, n, TILE_ROWS))
    if client is None:
        parts = _parts(n)
        done = [0]

        def tick():
            done[0] += 1

        with _one_blas_thread():
            got = _in_threads([lambda p=p: _count_part(es, col_from, th, row_tiles[p::parts], band_lo, band_hi,
                                                       tick) for p in range(parts)],
                              (lambda: progress(done[0], 2 * len(row_tiles))) if progress else None)
    else:
        from distributed import as_completed

        parts = max(1, min(len(row_tiles), 4 * sum(client.nthreads().values())))
        es_f, cf_f, th_f = client.scatter([es, col_from, th], broadcast=True)
        futures = [client.submit(_count_part, es_f, cf_f, th_f, row_tiles[p::parts], band_lo, band_hi, hold=True,
                                 pure=False) for p in range(parts)]
        got = []
        for k, f in enumerate(as_completed(futures), start=1):
            got.append(f.result())  # only counts come back, never pairs
            if progress:
                progress(k * len(row_tiles) // parts, 2 * len(row_tiles))
    return _merge(got)


def _merge(got: list[_PartResult]) -> _PartResult:
    """One result from the parts': counts stacked (a row per part, which the second pass sizes its buffers by),
    per-image sums added, per-image bests taken from the part that holds them."""
    def best(field_max, field_arg):
        values = np.stack([getattr(g, field_max) for g in got])
        pick = np.argmax(values, axis=0)
        cols = np.arange(values.shape[1])
        return values[pick, cols], np.stack([getattr(g, field_arg) for g in got])[pick, cols]

    row_max, row_arg = best("row_max", "row_arg")
    col_max, col_arg = best("col_max", "col_arg")
    return _PartResult(
        bcnt=np.stack([g.bcnt for g in got]), cells=np.stack([g.cells for g in got]), eq=np.stack([g.eq for g in got]),
        row_b2=np.add.reduce([g.row_b2 for g in got]), col_b2=np.add.reduce([g.col_b2 for g in got]), row_max=row_max, row_arg=row_arg,
        col_max=col_max, col_arg=col_arg, band=np.concatenate([g.band for g in got]),
        band_complete=all(g.band_complete for g in got), top_s=np.concatenate([g.top_s for g in got]),
        top_i=np.concatenate([g.top_i for g in got]), top_j=np.concatenate([g.top_j for g in got]))


def _predict_band(es, codes_sorted, genuine_sorted, n_i: int, *, seed: int = 0) -> tuple[float, float]:
    """Scores between which the EER's neighbours most likely lie, from a random sample of impostor pairs.

    The first pass keeps the scores in this band, so a second pass is needed only when the prediction misses
    (it is checked, never trusted).  Empty (``(inf, inf)``) when the band would hold too many scores.
    """
    n = es.shape[0]
    rng = np.random.default_rng(seed)
    side = int(min(n, np.sqrt(min(SAMPLE, max(10_000, n_i // 50))) + 1))
    a = np.sort(rng.choice(n, side, replace=False))
    b = np.sort(rng.choice(n, side, replace=False))
    block = es[a] @ es[b].T  # random rows against random columns: a matrix product, not a gather per pair
    s = block[codes_sorted[a][:, None] != codes_sorted[b][None, :]]
    if s.size == 0:
        return np.inf, np.inf
    s = np.sort(s)[::-1]
    m = s.size
    n_g = genuine_sorted.size
    # the sample rank k where the sampled FAR meets the (exact) FRR at the k-th score
    frr = np.searchsorted(genuine_sorted, s, side="left") / n_g
    k = int(np.argmax(np.arange(1, m + 1) / m >= frr)) + 1
    spread = 6 * np.sqrt(k) + 20
    k_lo, k_hi = int(max(1, k - spread)), int(min(m, k + spread))
    if (k_hi - k_lo) / m * n_i > BAND_MAX * 0.7:
        return np.inf, np.inf
    hi = s[k_lo - 1] if k_lo > 1 else np.inf
    return float(s[k_hi - 1]), float(hi)


def _collect(es, col_from, want_mask, scale, cap, parts, progress):
    """Second pass: every impostor score of the wanted buckets, as (distinct values, counts)."""
    n = es.shape[0]
    out_s = np.empty((parts, cap))
    out_c = np.empty((parts, cap), np.int64)
    state = np.zeros((parts, 2), np.int64)

    def collect(p, i0, i1, j0, j1):
        if not state[p, 1]:
            _collect_rows(es[i0:i1] @ es[j0:j1].T, i0, j0, col_from, want_mask, LO, scale, out_s[p], out_c[p],
                          state[p])

    _run_tiles(n, parts, collect, progress, 1)
    if state[:, 1].any():
        raise ScoresError(f"more than {cap * parts // 2:,} different impostor scores lie within one part in "
                          f"{want_mask.size:,} of the score range, too many to rank exactly",
                          hint="evaluate fewer images, or check the model (its scores crowd into one value)")
    return (np.concatenate([out_s[p, :state[p, 0]] for p in range(parts)]),
            np.concatenate([out_c[p, :state[p, 0]] for p in range(parts)]))


def _parts(n: int) -> int:
    """Threads for a scan: one per core, none idle on a small set."""
    return max(1, min(os.cpu_count() or 1, 8, -(-n // TILE_ROWS)))


def _run_tiles(n: int, parts: int, work, progress, pass_no: int) -> None:
    """Run ``work(part, i0, i1, j0, j1)`` on every tile, rows of tiles dealt out to ``parts`` threads.

    Each thread multiplies its own tiles with a single-threaded BLAS and counts them at once (the kernels
    release the GIL), so the cores never wait on each other or on BLAS threads that spin.
    """
    row_tiles = list(range(0, n, TILE_ROWS))
    done = [0]

    def run(p):
        for i0 in row_tiles[p::parts]:
            i1 = min(n, i0 + TILE_ROWS)
            for j0 in range(i0, n, TILE_COLS):
                work(p, i0, i1, j0, min(n, j0 + TILE_COLS))
            done[0] += 1

    with _one_blas_thread():
        _in_threads([lambda p=p: run(p) for p in range(parts)],
                    (lambda: progress(pass_no * len(row_tiles) + done[0], 2 * len(row_tiles))) if progress else None)


_BLAS_LOCK = threading.RLock()


@contextmanager
def _one_blas_thread():
    """BLAS on one thread for every tile the caller's threads multiply: the same arithmetic everywhere (a
    multi-threaded BLAS sums in another order, and its scores differ in the last bit).

    Enter it in the thread that starts the worker threads, never in the workers: OpenBLAS's pool is
    process-wide, and threadpoolctl lets only the thread that set its size change it back (other threads'
    calls silently do nothing).  So concurrent scans take turns here.
    """
    from threadpoolctl import threadpool_limits

    with _BLAS_LOCK, threadpool_limits(limits=1, user_api="blas"):
        yield


def _in_threads(tasks, report=None) -> list:
    """Run each of ``tasks`` (callables) on its own thread; ``report()`` every half second while they run.
    Returns their results in order (the first error is raised)."""
    from concurrent.futures import ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        futures = [pool.submit(t) for t in tasks]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5)
            if report:
                report()
        return [f.result() for f in futures]

