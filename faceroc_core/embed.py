"""Batched embedding of a dataset by several models.

Each image file is read and hashed once and decoded once for all models; it
is preprocessed once per distinct :class:`Preprocessing` and the result is
shared by every model that uses it.  Images are prepared a chunk at a time on
every core (PIL and numpy release the GIL), then every network runs on the
chunk.  Embeddings already in the cache are not recomputed (and their images
not even decoded).  Models whose batch size is
fixed (often 1) are run one fixed-size slice at a time.

When a model's preprocessing aligns faces, every readable image first goes
through the face detector once, for all models (stage ``"faces"``; detections
are cached by image content and detector, :func:`faceroc_core.align.detect_all`).
An image with no face is skipped for the aligned models only, with the reason
"no face found".
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .align import Detection, detect_all
from .cache import EmbeddingCache, entry_key
from .dataset import ImageRecord, Skipped
from .errors import FaceROCError, ImageError
from .images import decode, read_bytes
from .models import PreparedModel
from .preprocess import Preprocessing, input_shape, preprocess
from .worker import GuardedSession, Limits, release, shared_empty

Progress = Callable[[str, int, int, "str | None"], None]


@dataclass(frozen=True, eq=False)
class ModelEmbeddings:
    """Embeddings of one model: row ``i`` belongs to ``images[i]`` when ``valid[i]``."""

    model: PreparedModel
    preprocessing: Preprocessing
    embeddings: np.ndarray  # float32 (n_images, dim); rows of invalid images are 0
    valid: np.ndarray  # bool (n_images,)
    failed: tuple[Skipped, ...] = field(default=())  # images this model could not embed (bad output)
    from_cache: int = 0
    error: str | None = None  # the model itself failed (time or memory limit, crash): no usable result


@dataclass(frozen=True, eq=False)
class EmbeddingRun:
    images: tuple[ImageRecord, ...]
    unreadable: tuple[Skipped, ...]  # images that could not be read or decoded (for every model)
    results: tuple[ModelEmbeddings, ...]
    seconds: float
    detections: tuple[Detection | None, ...] = ()  # per image when a model aligns faces, else empty
    detect_seconds: float = 0.0


def cpu_temperature() -> float | None:
    """The hottest CPU sensor reading in °C, or None where there is no sensor."""
    try:
        import psutil

        temps = psutil.sensors_temperatures()  # type: ignore[attr-defined]
    except Exception:
        return None
    readings = [t.current for entries in (temps or {}).values() for t in entries if t.current]
    return max(readings) if readings else None


def thermal_guard(limit_c: float | None, *, poll_s: float = 2.0, max_wait_s: float = 600.0,
                  sensor: Callable[[], float | None] = cpu_temperature, sleep=time.sleep) -> float:
    """Pause while the CPU is hotter than ``limit_c``; returns seconds waited (0 with no sensor)."""
    if not limit_c:
        return 0.0
    waited = 0.0
    while waited < max_wait_s:
        t = sensor()
        if t is None or t <= limit_c:
            break
        sleep(poll_s)
        waited += poll_s
    return waited


def _run_model(session, model: PreparedModel, batch: np.ndarray, batch_size: int, on_slice=None) -> np.ndarray:
    """Run ``batch`` through the model ``batch_size`` at a time (or its fixed batch size)."""
    info = model.info
    fixed = info.fixed_batch
    outs = []
    step = fixed or batch_size
    for s in range(0, len(batch), step):
        part = batch[s:s + step]
        n = len(part)
        if fixed and n < fixed:  # pad a short last slice to the fixed size, then drop the padding
            part = np.concatenate([part, np.repeat(part[-1:], fixed - n, axis=0)])
        out = session.run([info.output_name], {info.input_name: part})[0]
        outs.append(np.asarray(out, dtype=np.float32).reshape(out.shape[0], -1)[:n])
        if on_slice:
            on_slice(n)
    return np.concatenate(outs) if outs else np.zeros((0, info.embedding_dim), np.float32)


NAN_REASON = "the model's embedding has NaN or infinite values"
ZERO_REASON = "the model's embedding is all zeros (no direction to compare)"
CHUNK_BYTES = 256 * 2**20  # preprocessed images held at once
CHUNK_IMAGES = 128
PREP_THREADS = max(1, min(os.cpu_count() or 1, 8))


def embed(
    images: Sequence[ImageRecord],
    models: Sequence[tuple[PreparedModel, Preprocessing]],
    *,
    cache: EmbeddingCache | None = None,
    batch_size: int = 32,
    progress: Progress | None = None,
    session_factory: Callable[[PreparedModel], object] | None = None,
    thermal_limit_c: float | None = None,
    limits: Limits | None = None,
) -> EmbeddingRun:
    """Embed ``images`` with every model; see the module docstring.

    Args:
        images: the dataset's images, in order; row ``i`` of every result is ``images[i]``.
        models: (model, preprocessing) pairs.
        cache: embeddings (and face landmarks) already computed are taken from it, new ones stored.
        batch_size: images per network call (models with a fixed batch size use theirs).
        progress: ``progress(stage, done, total, model_name_or_None)`` with stage "read", "faces", "embed".
        session_factory: makes the session a model runs in; by default a guarded worker process
            (:class:`faceroc_core.worker.GuardedSession`) under ``limits``.
        thermal_limit_c: pause between chunks while the CPU is hotter than this.
        limits: time and memory limits per model (guarded sessions only).

    Returns:
        An :class:`EmbeddingRun`: per model a float32 (n_images, dim) array, the valid rows, the images it
        could not embed with the reason, and ``error`` when the model itself failed.
    """
    t_start = time.perf_counter()
    n = len(images)
    if batch_size < 1:
        raise FaceROCError(f"batch size must be >= 1, got {batch_size}")
    session_factory = session_factory or (lambda m: GuardedSession(m.onnx_path, limits=limits))

    # 1. read + hash every image once
    raws: list = [None] * n
    unreadable: dict[int, str] = {}
    for i, rec in enumerate(images):
        try:
            raws[i] = read_bytes(rec.path)
        except ImageError as e:
            unreadable[i] = e.reason
        if progress and (i % 256 == 0 or i == n - 1):
            progress("read", i + 1, n, None)

    # 2. cache look-up per model
    m_count = len(models)
    embs = [np.zeros((n, m.info.embedding_dim), np.float32) for m, _ in models]
    have = [np.zeros(n, bool) for _ in models]
    keys: list[list[str | None]] = []
    from_cache = [0] * m_count
    for j, (m, p) in enumerate(models):
        kj = [entry_key(m.identity, p.key, raws[i].digest) if raws[i] is not None else None for i in range(n)]
        keys.append(kj)
        if cache is not None:
            valid_keys = [k for k in kj if k is not None]
            got = cache.get_many(valid_keys, m.info.embedding_dim)
            for i, k in enumerate(kj):
                if k is not None and k in got:
                    embs[j][i] = got[k]
                    have[j][i] = True
            from_cache[j] = int(have[j].sum())

    # 3. faces and landmarks, once per image for every aligned model
    detections: list[Detection | None] = []
    t_detect = time.perf_counter()
    if any(p.align for _, p in models):
        def on_faces(done, total):
            if progress:
                progress("faces", done, total, None)

        detections = detect_all(raws, cache=cache, progress=on_faces, threads=PREP_THREADS)
    t_detect = time.perf_counter() - t_detect

    def face_of(i):
        d = detections[i] if detections else None
        return d.face if d is not None else None

    # 4. what is left to compute: group models by preprocessing
    todo = [i for i in range(n) if raws[i] is not None and not all(h[i] for h in have)]
    by_prep: dict[Preprocessing, list[int]] = defaultdict(list)
    for j, (_, p) in enumerate(models):
        by_prep[p].append(j)
    sessions = {}
    model_error: dict[int, str] = {}  # the model itself failed: it is left out from then on
    failed: list[dict[int, str]] = [dict() for _ in models]
    model_done = [int(h.sum()) for h in have]
    if progress:
        for j, (m, _) in enumerate(models):
            progress("embed", model_done[j], n, m.name)

    buffers: dict[Preprocessing, np.ndarray] = {}

    def load(idx, pool):
        """Decode a chunk once and preprocess it once per distinct preprocessing, one image per pool thread."""
        need = {p: [i for i in idx if not all(have[j][i] for j in js)] for p, js in by_prep.items()}
        for p, ii in need.items():  # one buffer per preprocessing, reused chunk after chunk (no fresh pages)
            if p not in buffers or len(buffers[p]) < len(ii):
                if p in buffers:
                    release(buffers.pop(p))
                # in shared memory: a guarded model's worker reads its batches from here, with no copy
                buffers[p] = shared_empty((max(len(ii), chunk),) + input_shape(p), np.float32)
        xs = {p: buffers[p][:len(ii)] for p, ii in need.items()}
        slot = {p: {i: r for r, i in enumerate(ii)} for p, ii in need.items()}
        bad: dict[int, str] = {}
        fails: dict[Preprocessing, dict[int, str]] = {p: {} for p in by_prep}

        def one(i):  # PIL and numpy release the GIL for the heavy parts
            try:
                img = decode(raws[i].data)
            except ImageError as e:
                bad[i] = e.reason
                return
            except Exception as e:  # a decoder bug on a malformed file must not stop the run
                bad[i] = f"cannot be decoded ({type(e).__name__}: {e})"
                return
            for p in by_prep:
                if i in slot[p]:
                    try:
                        preprocess(img, p, out=xs[p][slot[p][i]], face=face_of(i) if p.align else None)
                    except FaceROCError as e:
                        fails[p][i] = e.reason
                    except Exception as e:
                        fails[p][i] = f"cannot be preprocessed ({type(e).__name__}: {e})"

        list(pool.map(one, idx))
        per_prep = {}
        for p, ii in need.items():
            ok = [r for r, i in enumerate(ii) if i not in bad and i not in fails[p]]
            x = xs[p] if len(ok) == len(ii) else xs[p][ok]
            per_prep[p] = (x if ok else None, [ii[r] for r in ok], fails[p])
        return bad, per_prep

    # model-major within chunks: switching networks every batch evicts their weights from the CPU caches.
    # A chunk is prepared on every core, then the networks run on it: preparing the next chunk while
    # they run would only take cores from their thread pool, whose slowest thread sets the pace.
    per_image = sum(4 * p.channels * p.height * p.width for p in by_prep)
    chunk = max(batch_size, min(CHUNK_IMAGES, CHUNK_BYTES // max(per_image, 1)))
    batches = [todo[b:b + chunk] for b in range(0, len(todo), chunk)]

    def run_model(j, x, ok_idx):
        """Run model j on the chunk's rows it still needs; a failure of the model itself leaves it out."""
        m = models[j][0]
        rows = [r for r, i in enumerate(ok_idx) if not have[j][i]]
        if not rows or j in model_error:
            return
        def on_slice(k):
            model_done[j] += k
            if progress:
                progress("embed", min(model_done[j], n), n, m.name)

        try:
            if j not in sessions:  # by position: two models may share a display name
                sessions[j] = session_factory(m)
            out = _run_model(sessions[j], m, x[rows] if len(rows) < len(ok_idx) else x, batch_size, on_slice)
        except FaceROCError as e:
            model_error[j] = e.reason + (f" — {e.hint}" if e.hint else "")
            return
        new_items = []
        for r, vec in zip(rows, out):
            i = ok_idx[r]
            if vec.shape[0] != m.info.embedding_dim:
                failed[j][i] = f"model output has {vec.shape[0]} values, expected {m.info.embedding_dim}"
                continue
            if not np.all(np.isfinite(vec)):
                failed[j][i] = NAN_REASON
                continue
            if not np.any(vec):
                failed[j][i] = ZERO_REASON
                continue
            embs[j][i] = vec
            have[j][i] = True
            new_items.append((keys[j][i], vec))
        if cache is not None and new_items:
            cache.put_many(new_items)

    finished = False
    try:
        with ThreadPoolExecutor(max_workers=PREP_THREADS) as pool:
            for idx in batches:
                bad, per_prep = load(idx, pool)
                thermal_guard(thermal_limit_c)
                unreadable.update(bad)
                for p, js in by_prep.items():
                    x, ok_idx, fails = per_prep[p]
                    for i, reason in fails.items():
                        for j in js:
                            failed[j][i] = reason
                    if x is not None:
                        for j in js:
                            run_model(j, x, ok_idx)
        finished = True
    finally:
        for sess in sessions.values():
            if isinstance(sess, GuardedSession):
                sess.close(kill=not finished)  # interrupted (Cancel, Ctrl-C): no batch is waited for
        for arr in buffers.values():
            release(arr)
        buffers.clear()

    if progress:
        for m, _ in models:
            progress("embed", n, n, m.name)
    unread = tuple(Skipped(images[i].relpath, r) for i, r in sorted(unreadable.items()))
    results = []
    for j, (m, p) in enumerate(models):
        valid = have[j].copy()
        valid[list(unreadable)] = False
        if j in model_error:
            valid[:] = False
        fails = tuple(Skipped(images[i].relpath, r) for i, r in sorted(failed[j].items()) if i not in unreadable)
        results.append(ModelEmbeddings(model=m, preprocessing=p, embeddings=embs[j], valid=valid, failed=fails,
                                       from_cache=from_cache[j], error=model_error.get(j)))
    return EmbeddingRun(images=tuple(images), unreadable=unread, results=tuple(results),
                        seconds=time.perf_counter() - t_start, detections=tuple(detections),
                        detect_seconds=t_detect)
