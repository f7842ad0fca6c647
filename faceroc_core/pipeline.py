"""The whole evaluation, from files to an :class:`Evaluation`; every entry point ends in one measuring flow.

* :func:`evaluate` — models + a labelled folder (or a protocol's pairs of it): prepare every model
  (:func:`prepare_all`), embed the images (:func:`embed_dataset`), measure (:func:`measure_run`).
* :func:`evaluate_embeddings` — bring-your-own embeddings (``.npz``); :func:`evaluate_scores` — bring-your-own
  scores (CSV).

All of them hand each model to :func:`faceroc_core.measure.measure_models` as one
:class:`~faceroc_core.measure.ModelInput`.  A model that cannot be loaded, embedded or measured becomes a
:class:`ModelFailure` and the other models still run; an image that cannot be read is skipped and listed.
The run's options are one :class:`~faceroc_core.options.RunOptions`, built once at the boundary.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import metrics as M
from .cache import EmbeddingCache, default_cache_dir
from .cluster import dask_client, embed_on_cluster
from .dataset import Dataset, check_dataset, pair_counts, scan_folder
from .embed import EmbeddingRun, embed
from .errors import FaceROCError
from .measure import Images, ModelInput, measure_models
from .models import PreparedModel, prepare_model
from .options import ModelSpec, RunOptions, resolve_preprocessing, spec_from_options
from .preprocess import Preprocessing
from .preview import Preview, make_preview, sample_indices
from .progress import Progress
from .protocol import PairList, read_pair_list
from .results import (
    DatasetSummary,
    Evaluation,
    FaceSummary,
    Measurement,
    ModelFailure,
    ModelResult,
    ModelSource,
    decision_threshold,
)
from .stream import HIST_BINS, PairScores, check_memory, count_scores
from .worker import GuardedSession, Limits

_logger = logging.getLogger(__name__)

__all__ = ["HIST_BINS", "DatasetSummary", "Evaluation", "FaceSummary", "Measurement", "ModelFailure", "ModelResult",
           "ModelSource", "ModelSpec", "RunOptions", "decision_threshold", "embed_dataset", "evaluate",
           "evaluate_embeddings", "evaluate_scores", "measure", "measure_run", "prepare_all",
           "resolve_preprocessing", "spec_from_options", "summarise_dataset", "unique_name"]

Prepared = tuple[PreparedModel, Preprocessing]


def unique_name(name: str, taken) -> str:
    """``name``, or ``name (2)``, ``name (3)``... the first one not in ``taken`` (display names of models).

    >>> unique_name("a", {"a", "a (2)"})
    'a (3)'
    """
    out, k = name, 2
    while out in taken:
        out, k = f"{name} ({k})", k + 1
    return out


def prepare_all(specs: Sequence[ModelSpec], *, cache_dir, progress: Progress | None = None,
                prepare: Callable | None = None, sessions: dict | None = None, limits: Limits | None = None,
                sources: dict[str, str] | None = None) -> tuple[list[Prepared], list[ModelFailure]]:
    """Prepare each model (in a guarded worker, under ``limits``); a failure is recorded and the others go on.

    ``prepare(path, name=..., arch=..., embedding_dim=..., size=..., cache_dir=..., progress=...)`` replaces
    :func:`~faceroc_core.models.prepare_model` (the dashboard's cached one); ``sources`` maps a model's path to
    the name its failures show (default: the path as given).
    """
    prepared: list[Prepared] = []
    failures: list[ModelFailure] = []
    if prepare is None:
        def prepare(*a, **k):
            return prepare_model(*a, sessions=sessions, limits=limits, **k)
    names: set[str] = set()
    for spec in specs:
        name = unique_name(spec.display_name, names)
        names.add(name)
        source = (sources or {}).get(str(spec.path), str(spec.path))
        try:
            pm = prepare(spec.path, name=name, arch=spec.arch, embedding_dim=spec.embedding_dim, size=spec.size,
                         cache_dir=cache_dir, progress=progress)
            prepared.append((pm, resolve_preprocessing(spec, pm.info)))
        except Exception as e:  # expected or not, a failure of one model must not stop the others
            failures.append(ModelFailure.of(name, source, e))
    return prepared, failures


def summarise_dataset(ds: Dataset, run: EmbeddingRun | None = None) -> DatasetSummary:
    bad = {s.path for s in run.unreadable} if run else set()
    counts: dict[str, int] = {}
    for r in ds.images:
        if r.relpath not in bad:
            counts[r.identity] = counts.get(r.identity, 0) + 1
    gen, imp = pair_counts(counts.values())
    faces = None
    if run is not None and run.detections:
        checked = [(r.relpath, d) for r, d in zip(ds.images, run.detections) if d is not None]
        faces = FaceSummary(n_checked=len(checked), no_face=tuple(p for p, d in checked if d.face is None),
                            several_faces=tuple(p for p, d in checked if d.n_faces > 1), seconds=run.detect_seconds)
    return DatasetSummary(root=str(ds.root), label_mode=ds.label_mode, n_images=sum(counts.values()),
                          n_identities=len(counts), n_genuine=gen, n_impostor=imp,
                          images_per_identity=dict(sorted(counts.items())),
                          skipped=tuple(ds.skipped) + (tuple(run.unreadable) if run else ()),
                          n_unreadable=len(bad), faces=faces)


def measure(scores, genuine, *, fars=M.DEFAULT_FARS) -> Measurement:
    """ROC, AUC, EER, TAR@FAR and score histograms for one model's pair scores (held in memory).

    The same counting as for embeddings (:func:`faceroc_core.stream.count_scores`).

    Args:
        scores: float array (n_pairs,), higher = more alike (cosine similarity).
        genuine: bool/0-1 array (n_pairs,), True for same-person pairs.
        fars: the FARs (in (0, 1]) at which TAR is reported.

    >>> measure([0.9, 0.7, 0.2, 0.1], [1, 1, 0, 0]).auc
    1.0
    """
    return Measurement.of(count_scores(scores, genuine), fars)


def evaluate(images, specs: Sequence[ModelSpec], options: RunOptions | None = None, *,
             progress: Progress | None = None, session_factory=None, **values) -> Evaluation:
    """Evaluate every model on a labelled folder (or a :class:`Dataset`).

    Args:
        images: a folder (or a :class:`Dataset`); identity from sub-folders or name prefixes (``labels``).
        specs: the models and their options; display names are made unique (" (2)").
        options: the run's options (:class:`~faceroc_core.options.RunOptions`); or give its fields as keyword
            values (``evaluate(folder, specs, fars=(1e-3,), intervals=False)``).
        progress: ``progress(stage, done, total, model)`` (:class:`~faceroc_core.progress.Stage`).
        session_factory: makes the session each model runs in (default: its guarded worker process).

    Returns:
        An :class:`Evaluation`: metrics per model that ran (:meth:`Evaluation.ranked` best first), and a
        :class:`ModelFailure` with the reason for every model that did not.  It is kept in the run store
        (:mod:`.store`; its :attr:`~Evaluation.run_id`) unless ``store=False``.

    Raises:
        DatasetError: the folder cannot be evaluated (no images, one identity, no same-person pair).
    """
    t0 = time.perf_counter()
    opts = RunOptions.given(options, values)
    ds = images if isinstance(images, Dataset) else scan_folder(images, labels=opts.labels,
                                                                identities=opts.identities)
    protocol = None
    if opts.pairs is not None:
        if opts.gallery is not None:
            raise FaceROCError("a gallery and a pair list were both given",
                               hint="identification searches every probe of a folder: leave out --pairs")
        ds, protocol = protocol_of(ds, opts.pairs)
    cache_dir = Path(opts.cache_dir) if opts.cache_dir else default_cache_dir()
    opts = replace(opts, cache_dir=cache_dir)
    sessions: dict = {}
    prepared, failures = prepare_all(specs, cache_dir=cache_dir, progress=progress, sessions=sessions,
                                     limits=opts.limits)
    if session_factory is None:
        def session_factory(pm):  # reuse the worker that inspected the model
            return sessions.pop(str(pm.onnx_path), None) or GuardedSession(pm.onnx_path, limits=opts.limits)
    try:
        if not prepared:
            return Evaluation(dataset=summarise_dataset(ds), models=(), failures=tuple(failures), fars=opts.fars,
                              seconds=time.perf_counter() - t0)
        with dask_client(opts.dask) as client:
            run = embed_dataset(ds, prepared, opts, progress=progress, session_factory=session_factory,
                                client=client)
            dev = None
            if opts.dev_images is not None:  # the thresholds are chosen on these other people
                ds_dev = scan_folder(opts.dev_images, labels=opts.labels)
                dev = embed_dataset(ds_dev, prepared, opts, progress=progress, session_factory=session_factory,
                                    client=client)
            ev = measure_run(ds, run, failures=failures, options=opts, progress=progress, t0=t0, pairs=protocol,
                             client=client, dev=dev)
        if opts.store and ev.models:
            from .store import remember

            ev = replace(ev, run_id=remember(ev, ds, name=opts.dataset_name))
        return ev
    finally:
        for leftover in sessions.values():  # workers of models that never ran
            leftover.close()


def embed_dataset(ds: Dataset, prepared: Sequence[Prepared], options: RunOptions = RunOptions(), *,
                  progress: Progress | None = None, session_factory=None, client=None) -> EmbeddingRun:
    """Embed every image with every prepared model: on this machine (with the embedding cache of
    ``options.cache_dir`` unless ``options.use_cache`` is off) or, with a Dask ``client``, in shards on its
    workers.  The CLI, Python and the dashboard all embed through here.

    Refuses (:class:`~faceroc_core.errors.DatasetError`) a set whose pairs could not be counted in the free
    memory before any image is embedded.
    """
    check_memory(len(ds.images))
    if client is not None:  # the images are embedded on the cluster's workers, in shards
        return embed_on_cluster(ds.images, prepared, client, batch_size=options.batch_size, progress=progress)
    cache = _open_cache(options) if options.use_cache else None
    try:
        return embed(ds.images, prepared, cache=cache, batch_size=options.batch_size, progress=progress,
                     session_factory=session_factory, thermal_limit_c=options.thermal_limit_c,
                     limits=options.limits)
    finally:
        if cache is not None:
            cache.close()


def _open_cache(options: RunOptions) -> EmbeddingCache | None:
    """The embedding cache, or None when it cannot be opened (a run without it is slower, never wrong)."""
    try:
        return EmbeddingCache(Path(options.cache_dir) if options.cache_dir else default_cache_dir())
    except Exception as e:
        _logger.warning("running without the embedding cache: %s", e)
        return None


def measure_run(ds: Dataset, run: EmbeddingRun, *, failures=(), options: RunOptions = RunOptions(),
                progress: Progress | None = None, t0: float | None = None, pairs: PairList | None = None,
                client=None, dev: EmbeddingRun | None = None) -> Evaluation:
    """Score the pairs and measure every model of an :class:`EmbeddingRun` (:func:`~faceroc_core.measure.measure_models`).

    Every pair is scored and counted without being held (:func:`faceroc_core.stream.scan`), at any size;
    ``pairs`` (a protocol, rows of ``ds.images``) scores those pairs only.  ``options.intervals`` adds intervals
    over people and paired comparisons (:mod:`.uncertainty`); ``options.groups`` (a metadata table, :mod:`.groups`)
    each model's results per attribute value.  ``client``: a Dask client (or ``options.dask`` opens one).
    """
    t0 = time.perf_counter() if t0 is None else t0
    failures = list(failures)
    summary = summarise_dataset(ds, run)
    if pairs is not None:
        summary = replace(summary, n_genuine=int(pairs.genuine.sum()), n_impostor=int((~pairs.genuine).sum()),
                          protocol=pairs.source)
    if pairs is None and (summary.n_identities < 2 or summary.n_genuine == 0):
        # the readable images alone no longer make a dataset
        bad = {s.path for s in run.unreadable}
        check_dataset(Dataset(root=ds.root, images=tuple(r for r in ds.images if r.relpath not in bad),
                              label_mode=ds.label_mode, skipped=ds.skipped))
    images = Images(identities=np.array([r.identity for r in ds.images]),
                    paths=np.array([r.relpath for r in ds.images]))
    samples = sample_indices(ds.images)
    inputs = []
    for k, me in enumerate(run.results):
        m = me.model
        if me.error:
            failures.append(ModelFailure(name=m.name, source=m.source, reason=me.error))
            continue
        v = me.valid
        ids = images.identities[v]
        gen, imp = pair_counts(np.unique(ids, return_counts=True)[1]) if ids.size else (0, 0)
        if gen == 0 or imp == 0:
            why = Counter(s.reason for s in me.failed)
            named = "; ".join(f"{k} for {c} image(s)" for k, c in why.most_common(3))
            failures.append(ModelFailure(
                name=m.name, source=m.source,
                reason=f"too few images embedded ({int(v.sum())}) to form genuine and impostor pairs"
                       + (f": {named}" if named else "; see the skipped images")))
            continue
        source = ModelSource(sha256=m.sha256, info=m.info, preprocessing=me.preprocessing, arch=m.arch,
                             export_max_abs_diff=m.export_check.max_abs_diff if m.export_check else None,
                             epoch=getattr(m, "epoch", None))
        inputs.append(ModelInput(name=m.name, source=m.source, kind=m.kind, rows=np.flatnonzero(v),
                                 embeddings=me.embeddings[v], model=source, notes=m.notes, skipped=me.failed,
                                 from_cache=me.from_cache, preview=_preview(ds, run, me, samples),
                                 dev=_dev_of(dev, k)))
    with dask_client(options.dask if client is None else client) as c:  # a client given is left open
        ev = measure_models(inputs, images, options=options, protocol=pairs, progress=progress, client=c)
    return replace(ev, dataset=replace(summary, suspects=ev.dataset.suspects, compared_on=ev.dataset.compared_on),
                   failures=tuple(failures) + ev.failures,
                   seconds=time.perf_counter() - t0)


def _dev_of(dev: EmbeddingRun | None, k: int):
    """Model ``k``'s embeddings of the dev images (``--dev-images``) with their identities, or None."""
    if dev is None or dev.results[k].error:
        return None
    d = dev.results[k]
    return d.embeddings[d.valid], np.array([r.identity for r in dev.images])[d.valid]


def protocol_of(ds: Dataset, pairs) -> tuple[Dataset, PairList]:
    """The images a pair list refers to (only those are embedded), and the list in their rows."""
    pl = read_pair_list(pairs, [r.relpath for r in ds.images], [r.identity for r in ds.images],
                        source=Path(pairs).name if isinstance(pairs, (str, Path)) and "\n" not in str(pairs)
                        else "pairs")
    used = np.unique(np.r_[pl.a, pl.b])
    new = np.full(len(ds.images), -1, np.int64)
    new[used] = np.arange(used.size)
    sub = Dataset(root=ds.root, images=tuple(ds.images[k] for k in used), label_mode=ds.label_mode, skipped=ds.skipped)
    return sub, PairList(a=new[pl.a], b=new[pl.b], genuine=pl.genuine, source=pl.source, folds=pl.folds)


def _preview(ds: Dataset, run: EmbeddingRun, me, samples) -> Preview | None:
    try:
        return make_preview(ds.images, me.preprocessing, indices=samples, detections=run.detections)
    except Exception as e:  # a preview is a courtesy: never lose a result over it
        _logger.warning("no preview for %s: %s", me.model.name, e)
        return None


def evaluate_embeddings(named: dict, options: RunOptions | None = None, *, progress: Progress | None = None,
                        **values) -> Evaluation:
    """Metrics for bring-your-own embeddings: ``{model name: (embeddings (N, d), identities (N,))}``.

    Every pair of each model's rows is scored by cosine, as :func:`evaluate` does for images; the "images" are
    named by their row (``#0``, ``#1``...).  Every model must be given the same identities in the same order
    (the same images): they are compared on the same pairs (intervals and paired comparisons).  ``options``
    (or its fields as keyword values): ``fars``, ``intervals``, ``groups``, ``dask``.
    """
    t0 = time.perf_counter()
    opts = RunOptions.given(options, values)
    first_ids, inputs = None, []
    for name, (emb, ids) in named.items():
        ids = np.asarray(ids).astype(str)
        e = np.asarray(emb, dtype=np.float64)
        if e.ndim != 2 or e.shape[0] != ids.size:
            raise FaceROCError(f"{name}: embeddings of shape {e.shape} for {ids.size} identities",
                               hint="one row of embeddings per identity label")
        gen, imp = pair_counts(np.unique(ids, return_counts=True)[1])
        if gen == 0 or imp == 0:
            raise FaceROCError(f"{name}: no same-person pair or no different-people pair",
                               hint="give at least two rows of one identity and two identities")
        first_ids = ids if first_ids is None else first_ids
        if not (ids.size == first_ids.size and np.array_equal(ids, first_ids)):
            raise FaceROCError(f"{name}: its identities differ from the first file's (row by row)",
                               hint="give every model the same images in the same order")
        inputs.append(ModelInput(name=name, source=f"{name}.npz", kind="embeddings", rows=np.arange(ids.size),
                                 embeddings=e))
    images = Images.rows_of(first_ids if first_ids is not None else [])
    with dask_client(opts.dask) as client:
        ev = measure_models(inputs, images, options=opts, progress=progress, client=client)
    ev = replace(ev, seconds=time.perf_counter() - t0)
    return _remembered(ev, opts, "embeddings", first_ids)


def _remembered(ev: Evaluation, opts: RunOptions, kind: str, *labels) -> Evaluation:
    """``ev`` kept in the run store (unless ``store=False``) under its labels' fingerprint."""
    if not (opts.store and ev.models):
        return ev
    from .store import array_fingerprint, remember

    return replace(ev, run_id=remember(ev, name=opts.dataset_name or kind,
                                       fingerprint=array_fingerprint(kind, *labels)))


def evaluate_scores(groups: dict[str, tuple[np.ndarray, np.ndarray]], options: RunOptions | None = None,
                    **values) -> Evaluation:
    """Metrics for bring-your-own scores: ``{model name: (scores, labels)}`` (labels 1 = same person); kept in the
    run store unless ``store=False``, as :func:`evaluate_embeddings` and :func:`evaluate` are."""
    opts = RunOptions.given(options, values)
    inputs = []
    for name, (scores, labels) in groups.items():
        s, y = M.check_scores(scores, labels)
        inputs.append(ModelInput(name=name, source="scores", kind="scores", rows=np.zeros(0, np.int64),
                                 scores=PairScores(scores=s, genuine=y)))
    ev = measure_models(inputs, Images.rows_of([]), options=replace(opts, groups=None))
    n_gen = max((r.n_genuine for r in ev.models), default=0)
    n_imp = max((r.n_impostor for r in ev.models), default=0)
    summary = DatasetSummary(root="", label_mode="scores", n_images=0, n_identities=0, n_genuine=n_gen,
                             n_impostor=n_imp)
    return _remembered(replace(ev, dataset=summary), opts, "scores", *(y for _, y in groups.values()))
