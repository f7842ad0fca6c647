"""The numba kernels of the scan: one bucket function and one exact placement under every count.

Each kernel works on one tile of scores (or one array of them) and on arrays that belong to the calling thread;
they release the GIL, so the scan's threads count in parallel.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._config import TOP_KEEP


@njit(cache=True, inline="always")
def _bucket(s, lo, scale, k):
    """The bucket (0..k-1) of score ``s``: monotone in ``s``, the same for scores and thresholds.  Clamped in
    floating point and converted to int32, which vectorises (AVX2 has no float64 -> int64 conversion)."""
    return np.int32(min(max((s - lo) * scale, 0.0), k - 0.5))


@njit(cache=True)
def _buckets(values, lo, scale, k):
    out = np.empty(values.size, np.int64)
    for i in range(values.size):
        out[i] = _bucket(values[i], lo, scale, k)
    return out


@njit(cache=True, nogil=True)
def _count_rows(S, i0, j0, col_from, bl, first, T, g_ge2, gen_at, lo, scale, cells, eq,
                row_b2, col_b2, row_max, row_arg, col_max, col_arg, band_lo, band_hi, band, top_s, top_i, top_j,
                state, floor):
    """Count the impostor scores of one tile ``S`` (rows ``i0..``, columns ``j0..`` of the identity-sorted images).

    Row ``i`` takes columns ``j >= col_from[i]`` only (the first image of a later person): the pairs above the
    diagonal that are not genuine.  ``bl[b, 0]`` is ``2 * #genuine > s`` for every ``s`` of a bucket without
    thresholds, and ``-1`` for a bucket holding thresholds (searched exactly, between ``first[b]`` and
    ``first[b + 1]``); ``bl[b, 1]`` counts the scores in bucket ``b`` (int32: the caller empties it after each
    tile).  Both sit side by side, so a score's bucket costs one cache line (measured: half the time of two
    arrays).  The per-part arrays (``bl``, ``cells``, ``eq``, ``col_*``) belong to this thread.

    Scores in ``[band_lo, band_hi]`` are kept in ``band`` (``state[0]`` counts them, also past its end), and
    the highest scores with their images in ``top_*`` (``state[1]`` filled; when full, the best
    :data:`TOP_KEEP` stay and ``floor[0]`` rises to the lowest of them).
    """
    n_rows, n_cols = S.shape
    k = bl.shape[0]
    cap = band.size
    n_band = state[0]
    n_top = state[1]
    fl = floor[0]
    bb = np.empty(n_cols, np.int32)
    vb = np.empty(n_cols, np.int64)
    cb = col_b2[j0:j0 + n_cols]  # views: the compiler then knows they do not overlap the tile
    cm = col_max[j0:j0 + n_cols]
    ca = col_arg[j0:j0 + n_cols]
    for r in range(n_rows):
        i = i0 + r
        c0 = max(col_from[i] - j0, 0)
        if c0 >= n_cols:
            continue
        row = S[r]
        # 1. buckets (vectorised) and the row's best
        best = -np.inf
        for c in range(c0, n_cols):
            s = row[c]
            bb[c] = _bucket(s, lo, scale, k)
            best = max(best, s)
        # 2. counts, each score's 2 * #genuine above it, the scores in the band
        acc = np.int64(0)
        for c in range(c0, n_cols):
            b = bb[c]
            bl[b, 1] += 1
            b2 = np.int64(bl[b, 0])
            if b2 < 0:  # thresholds in this bucket: find the place exactly
                q, tie = _place(row[c], first[b], first[b + 1], T, cells, eq)
                b2 = g_ge2[q] + (gen_at[q - 1] if tie else 0)
            vb[c] = b2
            acc += b2
            s = row[c]
            if s >= band_lo and s <= band_hi:
                if n_band < cap:
                    band[n_band] = s
                n_band += 1
        row_b2[i] += acc
        # 3. per column: sums and best
        for c in range(c0, n_cols):
            cb[c] += vb[c]
            s = row[c]
            if s > cm[c]:
                cm[c] = s
                ca[c] = i
        # 4. the rare ones: the row's best, the highest scores
        if best > row_max[i]:
            for c in range(c0, n_cols):
                if row[c] == best:
                    row_max[i] = best
                    row_arg[i] = j0 + c
                    break
        if best > fl:
            for c in range(c0, n_cols):
                s = row[c]
                if s > fl:
                    n_top, fl = _push(top_s, top_i, top_j, n_top, s, i, j0 + c, fl)
    state[0] = n_band
    state[1] = n_top
    floor[0] = fl


@njit(cache=True, nogil=True)
def _place(s, q, end, T, cells, eq):
    """Count score ``s`` exactly in a bucket whose thresholds are ``T[q:end]``: in cell ``#thresholds <= s``, and
    as equal to the threshold below when it is.  Returns (the cell, whether ``s`` equals that threshold)."""
    while q < end and T[q] <= s:
        q += 1
    cells[q] += 1
    tie = q > 0 and T[q - 1] == s
    if tie:
        eq[q - 1] += 1
    return q, tie


@njit(cache=True, inline="always")
def _push(top_s, top_i, top_j, n, value, i, j, fl):
    """Keep ``(value, i, j)`` among the highest; when the buffer is full, the best :data:`TOP_KEEP` stay and the
    floor rises to the lowest of them.  Returns the new fill and floor."""
    top_s[n] = value
    top_i[n] = i
    top_j[n] = j
    n += 1
    if n == top_s.size:
        n = _compact(top_s, top_i, top_j)
        fl = top_s[n - 1]
    return n, fl


@njit(cache=True, nogil=True)
def _compact(top_s, top_i, top_j):
    """Keep the :data:`TOP_KEEP` highest scores at the front (highest first); returns how many."""
    order = np.argsort(-top_s)[:TOP_KEEP]
    ks, ki, kj = top_s[order].copy(), top_i[order].copy(), top_j[order].copy()
    top_s[:ks.size] = ks
    top_i[:ks.size] = ki
    top_j[:ks.size] = kj
    return ks.size


@njit(cache=True, nogil=True)
def _count_values(V, lut, first, T, lo, scale, bcnt, cells, eq):
    """:func:`_count_rows` for a plain array of impostor scores (bring-your-own scores)."""
    k = bcnt.size
    for x in range(V.size):
        s = V[x]
        b = _bucket(s, lo, scale, k)
        bcnt[b] += 1
        if lut[b] < 0:
            _place(s, first[b], first[b + 1], T, cells, eq)


@njit(cache=True, nogil=True)
def _collect_rows(S, i0, j0, col_from, want, lo, scale, out_s, out_c, state):
    """Second pass: keep the impostor scores whose bucket is wanted, as distinct values with counts.

    When the buffer fills, equal values are merged (a model whose scores tie massively needs little room); when
    even distinct values overflow it, ``state[1]`` is set and the caller stops: too many to rank exactly.
    """
    n_rows, n_cols = S.shape
    k = want.size
    cap = out_s.size
    n = state[0]
    for r in range(n_rows):
        i = i0 + r
        c0 = max(col_from[i] - j0, 0)
        for c in range(c0, n_cols):
            s = S[r, c]
            if want[_bucket(s, lo, scale, k)]:
                out_s[n] = s
                out_c[n] = 1
                n += 1
                if n == cap:
                    n = _merge_equal(out_s, out_c, n)
                    if n > cap // 2:
                        state[1] = 1
                        state[0] = 0
                        return
    state[0] = n


@njit(cache=True, nogil=True)
def _merge_equal(out_s, out_c, n):
    """Sort the first ``n`` values and merge equal ones (adding their counts); returns how many remain."""
    order = np.argsort(out_s[:n])
    vs, cs = out_s[:n][order].copy(), out_c[:n][order].copy()
    m = 0
    for x in range(n):
        if m > 0 and vs[x] == out_s[m - 1]:
            out_c[m - 1] += cs[x]
        else:
            out_s[m] = vs[x]
            out_c[m] = cs[x]
            m += 1
    return m



@njit(cache=True, nogil=True)
def _disagree_rows(S1, S2, i0, j0, t1, t2, top_m, top_i, top_j, state, floor):
    """Pairs (j > i) that model 1 at ``t1`` and model 2 at ``t2`` decide differently, kept by margin (the smaller
    distance of the two scores to their thresholds), the largest :data:`TOP_KEEP` of them."""
    n_rows, n_cols = S1.shape
    n_top = state[0]
    fl = floor[0]
    for r in range(n_rows):
        i = i0 + r
        for c in range(max(i + 1 - j0, 0), n_cols):
            a = S1[r, c]
            b = S2[r, c]
            if (a >= t1) != (b >= t2):
                m = min(abs(a - t1), abs(b - t2))
                if m > fl:
                    n_top, fl = _push(top_m, top_i, top_j, n_top, m, i, j0 + c, fl)
    state[0] = n_top
    floor[0] = fl

