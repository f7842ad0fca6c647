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

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .align import Detection, detect_all
from .cache import EmbeddingCache, entry_key
from .dataset import ImageRecord, Skipped
from .errors import FaceROCError, ImageError
from .images import decode, read_bytes
from .models import PreparedModel
from .preprocess import Preprocessing, input_shape, preprocess
from .progress import Progress, Stage
from .worker import GuardedSession, Limits, release, shared_empty

_logger = logging.getLogger(__name__)



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

        temps = psutil.sensors_temperatures()
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


def mirror(batch: np.ndarray, layout: str) -> np.ndarray:
    """The batch's images mirrored left to right (the width axis of ``NCHW`` or ``NHWC``).

    >>> mirror(np.arange(6.0).reshape(1, 1, 2, 3), "NCHW")[0, 0].tolist()
    [[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]
    """
    return np.ascontiguousarray(batch[..., ::-1] if layout == "NCHW" else batch[:, :, ::-1, :])


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

    The steps, in order: read and hash every file (:func:`_read_all`), take what
    the cache holds (:func:`_from_cache`), find the faces when a model aligns
    (:func:`_find_faces`), then chunk by chunk prepare the images once per
    preprocessing (:class:`_Chunks`) and run each model on them
    (:class:`_Models`), and finally assemble the result (:func:`_assemble`).

    Args:
        images: the dataset's images, in order; row ``i`` of every result is ``images[i]``.
        models: (model, preprocessing) pairs.
        cache: embeddings (and face landmarks) already computed are taken from it, new ones stored.
        batch_size: images per network call (models with a fixed batch size use theirs).
        progress: ``progress(stage, done, total, model_name_or_None)`` with stages READ, FACES, EMBED.
        session_factory: makes the session a model runs in; by default a guarded worker process
            (:class:`faceroc_core.worker.GuardedSession`) under ``limits``.
        thermal_limit_c: pause between chunks while the CPU is hotter than this.
        limits: time and memory limits per model (guarded sessions only).

    Returns:
        An :class:`EmbeddingRun`: per model a float32 (n_images, dim) array, the valid rows, the images it
        could not embed with the reason, and ``error`` when the model itself failed.
    """
    t_start = time.perf_counter()
    if batch_size < 1:
        raise FaceROCError(f"batch size must be >= 1, got {batch_size}")
    report = progress or (lambda *a: None)
    raws, unreadable = _read_all(images, report)
    state = _from_cache(models, raws, cache)
    detections, t_detect = _find_faces(models, raws, cache, report)
    runner = _Models(models, state, len(images), cache, batch_size, report,
                     session_factory or (lambda m: GuardedSession(m.onnx_path, limits=limits)))
    chunks = _Chunks(raws, models, state.have, detections, batch_size)
    todo = [i for i in range(len(images)) if raws[i] is not None and not all(h[i] for h in state.have)]
    finished = False
    try:
        with ThreadPoolExecutor(max_workers=PREP_THREADS) as pool:
            for idx in chunks.split(todo):
                bad, per_prep = chunks.prepare(idx, pool)
                thermal_guard(thermal_limit_c)
                unreadable.update(bad)
                for p, js in chunks.by_prep.items():
                    x, ok_idx, fails = per_prep[p]
                    for j in js:
                        runner.failed[j].update(fails)
                        if x is not None:
                            runner.run(j, x, ok_idx)
        finished = True
    finally:
        runner.close(kill=not finished)  # interrupted (Cancel, Ctrl-C): no batch is waited for
        chunks.release()
    runner.report_done()
    return _assemble(images, models, state, runner, unreadable, detections,
                     seconds=time.perf_counter() - t_start, detect_seconds=t_detect)


# --------------------------------------------------------------------------- the steps
def _read_all(images: Sequence[ImageRecord], report: Progress) -> tuple[list, dict[int, str]]:
    """Read and hash every file once: the bytes (None when unreadable) and why each unreadable one failed."""
    n = len(images)
    raws: list = [None] * n
    unreadable: dict[int, str] = {}
    for i, rec in enumerate(images):
        try:
            raws[i] = read_bytes(rec.path)
        except ImageError as e:
            unreadable[i] = e.reason
        if i % 256 == 0 or i == n - 1:
            report(Stage.READ, i + 1, n, None)
    return raws, unreadable


@dataclass(eq=False)
class _Embeddings:
    """What is known so far, per model: the embedding rows, which rows are filled, their cache keys."""

    embs: list[np.ndarray]  # per model, float32 (n_images, dim)
    have: list[np.ndarray]  # per model, bool (n_images,)
    keys: list[list[str | None]]  # per model, the cache key of each readable image
    from_cache: list[int]


def _from_cache(models, raws, cache: EmbeddingCache | None) -> _Embeddings:
    """Every model's embeddings that the cache already holds (keyed by model, preprocessing and image content)."""
    n = len(raws)
    st = _Embeddings(embs=[np.zeros((n, m.info.embedding_dim), np.float32) for m, _ in models],
                     have=[np.zeros(n, bool) for _ in models], keys=[], from_cache=[0] * len(models))
    for j, (m, p) in enumerate(models):
        kj = [entry_key(m.identity, p.key, raws[i].digest) if raws[i] is not None else None for i in range(n)]
        st.keys.append(kj)
        if cache is not None:
            got = cache.get_many([k for k in kj if k is not None], m.info.embedding_dim)
            for i, k in enumerate(kj):
                if k is not None and k in got:
                    st.embs[j][i] = got[k]
                    st.have[j][i] = True
            st.from_cache[j] = int(st.have[j].sum())
    return st


def _find_faces(models, raws, cache, report: Progress) -> tuple[list[Detection | None], float]:
    """Faces and landmarks, once per image for every aligned model (none when no model aligns)."""
    if not any(p.align for _, p in models):
        return [], 0.0
    t0 = time.perf_counter()
    found = detect_all(raws, cache=cache, threads=PREP_THREADS,
                       progress=lambda done, total: report(Stage.FACES, done, total, None))
    return found, time.perf_counter() - t0


class _Chunks:
    """Chunks of images decoded once and preprocessed once per distinct preprocessing, on every core.

    The arrays live in shared memory (a guarded model's worker reads its batches
    from there with no copy) and are reused chunk after chunk.
    """

    def __init__(self, raws, models, have, detections, batch_size: int):
        self.raws, self.have, self.detections = raws, have, detections
        self.by_prep: dict[Preprocessing, list[int]] = defaultdict(list)
        for j, (_, p) in enumerate(models):
            self.by_prep[p].append(j)
        self.buffers: dict[Preprocessing, np.ndarray] = {}
        per_image = sum(4 * p.channels * p.height * p.width for p in self.by_prep)
        self.size = max(batch_size, min(CHUNK_IMAGES, CHUNK_BYTES // max(per_image, 1)))

    def split(self, todo: list[int]) -> list[list[int]]:
        """Model-major within chunks: switching networks every batch would evict their weights from the CPU
        caches.  A chunk is prepared on every core, then the networks run on it (preparing the next chunk
        meanwhile would only take cores from their thread pool, whose slowest thread sets the pace)."""
        return [todo[b:b + self.size] for b in range(0, len(todo), self.size)]

    def _face(self, i):
        d = self.detections[i] if self.detections else None
        return d.face if d is not None else None

    def prepare(self, idx: list[int], pool):
        """Decode chunk ``idx`` once and preprocess it per preprocessing, one image per pool thread.

        Returns (unreadable {image: reason}, {preprocessing: (array or None, image indices of its rows,
        {image: reason it could not be preprocessed})}).
        """
        need = {p: [i for i in idx if not all(self.have[j][i] for j in js)] for p, js in self.by_prep.items()}
        for p, ii in need.items():
            if p not in self.buffers or len(self.buffers[p]) < len(ii):
                if p in self.buffers:
                    release(self.buffers.pop(p))
                self.buffers[p] = shared_empty((max(len(ii), self.size),) + input_shape(p), np.float32)
        xs = {p: self.buffers[p][:len(ii)] for p, ii in need.items()}
        slot = {p: {i: r for r, i in enumerate(ii)} for p, ii in need.items()}
        bad: dict[int, str] = {}
        fails: dict[Preprocessing, dict[int, str]] = {p: {} for p in self.by_prep}

        def one(i):  # PIL and numpy release the GIL for the heavy parts
            try:
                img = decode(self.raws[i].data)
            except ImageError as e:
                bad[i] = e.reason
                return
            except Exception as e:  # a decoder bug on a malformed file must not stop the run
                bad[i] = f"cannot be decoded ({type(e).__name__}: {e})"
                return
            for p in self.by_prep:
                if i in slot[p]:
                    try:
                        preprocess(img, p, out=xs[p][slot[p][i]], face=self._face(i) if p.align else None)
                    except FaceROCError as e:
                        fails[p][i] = e.reason
                    except Exception as e:
                        fails[p][i] = f"cannot be preprocessed ({type(e).__name__}: {e})"

        list(pool.map(one, idx))
        out = {}
        for p, ii in need.items():
            ok = [r for r, i in enumerate(ii) if i not in bad and i not in fails[p]]
            x = xs[p] if len(ok) == len(ii) else xs[p][ok]
            out[p] = (x if ok else None, [ii[r] for r in ok], fails[p])
        return bad, out

    def release(self) -> None:
        for arr in self.buffers.values():
            release(arr)
        self.buffers.clear()


class _Models:
    """Runs each model on the rows it still needs, checks and stores what comes out; a model that fails
    (time or memory limit, crash) is left out from then on, the others go on."""

    def __init__(self, models, state: _Embeddings, n: int, cache, batch_size: int, report: Progress, factory):
        self.models, self.state, self.n, self.cache = models, state, n, cache
        self.batch_size, self.report, self.factory = batch_size, report, factory
        self.sessions: dict[int, object] = {}  # by position: two models may share a display name
        self.error: dict[int, str] = {}
        self.failed: list[dict[int, str]] = [dict() for _ in models]
        self.done = [int(h.sum()) for h in state.have]
        for j, (m, _) in enumerate(models):
            report(Stage.EMBED, self.done[j], n, m.name)

    def run(self, j: int, x: np.ndarray, ok_idx: list[int]) -> None:
        m = self.models[j][0]
        have = self.state.have[j]
        rows = [r for r, i in enumerate(ok_idx) if not have[i]]
        if not rows or j in self.error:
            return

        def on_slice(k):
            self.done[j] += k
            self.report(Stage.EMBED, min(self.done[j], self.n), self.n, m.name)

        try:
            if j not in self.sessions:
                self.sessions[j] = self.factory(m)
            batch = x[rows] if len(rows) < len(ok_idx) else x
            if self.models[j][1].flip:  # the flip test: the mirror's embedding added (progress counts it once)
                out = _run_model(self.sessions[j], m, mirror(batch, self.models[j][1].layout), self.batch_size)
                out = out + _run_model(self.sessions[j], m, batch, self.batch_size, on_slice)
            else:
                out = _run_model(self.sessions[j], m, batch, self.batch_size, on_slice)
        except FaceROCError as e:
            self.error[j] = e.reason + (f" — {e.hint}" if e.hint else "")
            _logger.warning("%s left out: %s", m.name, self.error[j])
            return
        new_items = []
        for r, vec in zip(rows, out):
            i = ok_idx[r]
            why = _bad_output(vec, m.info.embedding_dim)
            if why:
                self.failed[j][i] = why
                continue
            self.state.embs[j][i] = vec
            have[i] = True
            new_items.append((self.state.keys[j][i], vec))
        if self.cache is not None and new_items:
            self.cache.put_many(new_items)

    def close(self, *, kill: bool) -> None:
        for sess in self.sessions.values():
            if isinstance(sess, GuardedSession):
                sess.close(kill=kill)

    def report_done(self) -> None:
        for m, _ in self.models:
            self.report(Stage.EMBED, self.n, self.n, m.name)


def _bad_output(vec: np.ndarray, dim: int) -> str | None:
    """Why one embedding cannot be compared (wrong size, NaN/inf, all zeros), or None."""
    if vec.shape[0] != dim:
        return f"model output has {vec.shape[0]} values, expected {dim}"
    if not np.all(np.isfinite(vec)):
        return NAN_REASON
    if not np.any(vec):
        return ZERO_REASON
    return None


def _assemble(images, models, state: _Embeddings, runner: _Models, unreadable: dict[int, str], detections, *,
              seconds: float, detect_seconds: float) -> EmbeddingRun:
    unread = tuple(Skipped(images[i].relpath, r) for i, r in sorted(unreadable.items()))
    results = []
    for j, (m, p) in enumerate(models):
        valid = state.have[j].copy()
        valid[list(unreadable)] = False
        if j in runner.error:
            valid[:] = False
        fails = tuple(Skipped(images[i].relpath, r) for i, r in sorted(runner.failed[j].items())
                      if i not in unreadable)
        results.append(ModelEmbeddings(model=m, preprocessing=p, embeddings=state.embs[j], valid=valid, failed=fails,
                                       from_cache=state.from_cache[j], error=runner.error.get(j)))
    return EmbeddingRun(images=tuple(images), unreadable=unread, results=tuple(results), seconds=seconds,
                        detections=tuple(detections), detect_seconds=detect_seconds)
