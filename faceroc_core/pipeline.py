"""The whole evaluation: models + labelled folder -> metrics per model.

A model that cannot be loaded becomes a :class:`ModelFailure` and the other
models still run; an image that cannot be read is skipped and listed.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import metrics as M
from .cache import EmbeddingCache, default_cache_dir
from .cluster import dask_client, embed_on_cluster
from .dataset import Dataset, Skipped, check_dataset, pair_counts, scan_folder
from .embed import EmbeddingRun, embed
from .diagnose import (Disagreement, HardPair, ModelView, Person, Suspect, hardest_genuine, hardest_pairs,
                       other_scores, people, suspects)
from .diagnose import disagreements as pair_disagreements
from .errors import FaceROCError, ModelError
from .groups import GLOBAL_FMR, GroupResult, GroupTable, subgroup_results
from .models import prepare_model
from .onnx_io import OnnxInfo
from .pairs import PairList, PairScores, check_memory, normalise, read_pair_list
from .preprocess import Preprocessing, normalisation, parse_crop, parse_size
from .preview import Preview, make_preview, sample_indices
from .progress import Progress, Stage
from .verdict import rank
from . import stream as _stream
from .stream import PairStats, count_scores, scan
from .stream import disagreements as stream_disagreements
from .uncertainty import Influence, auc_interval, compare, influence, influence_of_pairs
from .worker import GuardedSession, Limits

_logger = logging.getLogger(__name__)
HIST_BINS = _stream.HIST_BINS  # the score histograms: 80 bins over [-1, 1]


@dataclass(frozen=True)
class ModelSpec:
    """What the user says about one model. Every field but ``path`` is optional."""

    path: str | Path
    name: str | None = None
    arch: str | None = None  # timm name for a .pth (inferred when None)
    embedding_dim: int | None = None
    preset: str | None = None  # imagenet | arcface | facenet | unit
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    size: tuple[int, int] | None = None  # (H, W)
    crop: tuple[int, int, int, int] | None = None
    center_crop: tuple[int, int] | None = None
    bgr: bool = False
    align: bool = False  # detect the face and align its 5 landmarks to the template

    @property
    def display_name(self) -> str:
        return self.name or Path(self.path).stem


def spec_from_options(path, **opts) -> ModelSpec:
    """Build a :class:`ModelSpec` from loose option values (strings as on the CLI), validating them."""
    size = parse_size(opts["size"]) if opts.get("size") else None
    crop = parse_crop(opts["crop"]) if opts.get("crop") else None
    cc = opts.get("center_crop")
    center = parse_size(cc) if cc else None
    mean, std = opts.get("mean"), opts.get("std")
    if mean is not None or std is not None:
        _, mean, std = normalisation(mean=mean, std=std)
    preset = opts.get("preset")
    if preset:
        normalisation(preset)
    emb = opts.get("embedding_dim")
    return ModelSpec(path=path, name=opts.get("name") or None, arch=opts.get("arch") or None,
                     embedding_dim=int(emb) if emb else None, preset=preset or None, mean=mean, std=std,
                     size=size, crop=crop, center_crop=center, bgr=_flag(opts.get("bgr", False), "bgr"),
                     align=_flag(opts.get("align", False), "align"))


def _flag(value, name: str) -> bool:
    """A yes/no option: a bool, or true/false/yes/no/1/0 as text."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise FaceROCError(f"{name} must be true or false, got {value!r}")


def resolve_preprocessing(spec: ModelSpec, info: OnnxInfo) -> Preprocessing:
    """The model's preprocessing: its own input size when static, the user's settings for the rest."""
    if info.height and info.width:
        if spec.size and tuple(spec.size) != (info.height, info.width):
            raise ModelError(f"the model takes {info.height}x{info.width} images but size {spec.size[0]}x{spec.size[1]} "
                             f"was asked for", path=str(spec.path), hint="leave the size empty for this model")
        h, w = info.height, info.width
    elif spec.size:
        h, w = spec.size
    else:
        raise ModelError("the model's input size is dynamic", path=str(spec.path),
                         hint="give the size it was trained at (e.g. 112x112)")
    if spec.mean is not None or spec.std is not None:
        scale, mean, std = normalisation(mean=spec.mean, std=spec.std)
    else:
        scale, mean, std = normalisation(spec.preset)
    try:
        return Preprocessing(height=h, width=w, scale=scale, mean=tuple(mean), std=tuple(std), bgr=spec.bgr,
                             crop=spec.crop, center_crop=spec.center_crop, layout=info.layout, align=spec.align,
                             channels=info.channels)
    except FaceROCError as e:
        raise ModelError(e.reason, path=str(spec.path), hint=e.hint) from None


@dataclass(frozen=True)
class DatasetSummary:
    root: str
    label_mode: str
    n_images: int
    n_identities: int
    n_genuine: int
    n_impostor: int
    images_per_identity: dict = field(default_factory=dict)
    skipped: tuple[Skipped, ...] = ()
    n_unreadable: int = 0  # images among `skipped` that could not be read or decoded
    faces: "FaceSummary | None" = None  # when a model aligned faces
    suspects: tuple[Suspect, ...] = ()  # likely labelling problems every model agrees on (diagnose.suspects)
    protocol: str | None = None  # the pair list evaluated instead of all pairs (its file name), when one was given


@dataclass(frozen=True)
class FaceSummary:
    """What the face detector found, when some model aligns faces."""

    n_checked: int
    no_face: tuple[str, ...]  # images (relative paths) with no face: skipped by the aligned models
    several_faces: tuple[str, ...]  # images with more than one face: the largest was used
    seconds: float = 0.0


@dataclass(frozen=True, eq=False)
class ModelResult:
    name: str
    source: str
    kind: str
    sha256: str
    arch: str | None
    info: OnnxInfo
    preprocessing: Preprocessing
    export_max_abs_diff: float | None
    notes: tuple[str, ...]
    n_images: int
    roc: M.RocCurve
    auc: float
    eer: M.EqualErrorRate
    operating_points: tuple[M.OperatingPoint, ...]
    genuine_hist: np.ndarray  # counts on hist_edges
    impostor_hist: np.ndarray
    hist_edges: np.ndarray
    skipped: tuple[Skipped, ...] = ()  # images this model could not embed
    from_cache: int = 0
    preview: Preview | None = None  # sample images as this model receives them
    hardest_impostors: tuple[HardPair, ...] = ()  # different people scored highest (false accepts first)
    hardest_genuines: tuple[HardPair, ...] = ()  # same-person pairs scored lowest (false rejects first)
    people: tuple[Person, ...] = ()  # per person: same-person scores, the most similar other person
    subgroups: tuple[GroupResult, ...] = ()  # per attribute value of a metadata CSV (groups.subgroup_results)

    @property
    def n_genuine(self) -> int:
        return self.roc.n_genuine

    @property
    def n_impostor(self) -> int:
        return self.roc.n_impostor

    def at_threshold(self, threshold: float) -> M.ThresholdMetrics:
        return M.threshold_metrics(self.roc, threshold)

    def tar(self, far: float) -> M.OperatingPoint:
        for p in self.operating_points:
            if p.far_target == far:
                return p
        return M.tar_at_far(self.roc, far)


@dataclass(frozen=True)
class ModelFailure:
    name: str
    source: str
    error: str


@dataclass(frozen=True, eq=False)
class Evaluation:
    dataset: DatasetSummary
    models: tuple[ModelResult, ...]
    failures: tuple[ModelFailure, ...]
    fars: tuple[float, ...] = M.DEFAULT_FARS
    seconds: float = 0.0
    auc_intervals: dict = field(default_factory=dict)  # model name -> uncertainty.Interval
    comparisons: tuple = ()  # uncertainty.PairedComparison, best model vs each other one
    uncertainty_note: str | None = None  # why intervals are missing, when they are
    disagreements: tuple[Disagreement, ...] = ()  # the best model against each other one scored on the same images

    def ranked(self) -> tuple[ModelResult, ...]:
        """The models best first (highest AUC; ties keep the order they were given in)."""
        return rank(self.models)

    def best(self) -> ModelResult | None:
        return self.ranked()[0] if self.models else None


def prepare_all(specs: Sequence[ModelSpec], *, cache_dir, progress: Progress | None = None,
                prepare: Callable | None = None, sessions: dict | None = None, limits: Limits | None = None):
    """Prepare each model (in a guarded worker, under ``limits``); a failure is recorded and the others go on."""
    prepared, failures = [], []
    if prepare is None:
        def prepare(*a, **k):
            return prepare_model(*a, sessions=sessions, limits=limits, **k)
    names = set()
    for spec in specs:
        name = unique_name(spec.display_name, names)
        names.add(name)
        try:
            pm = prepare(spec.path, name=name, arch=spec.arch, embedding_dim=spec.embedding_dim, size=spec.size,
                         cache_dir=cache_dir, progress=progress)
            prepared.append((pm, resolve_preprocessing(spec, pm.info)))
        except FaceROCError as e:
            failures.append(ModelFailure(name=name, source=str(spec.path), error=str(e)))
        except Exception as e:  # an unexpected failure of one model must not stop the others
            failures.append(ModelFailure(name=name, source=str(spec.path),
                                         error=f"{spec.path}: unexpected error {type(e).__name__}: {e}"))
    return prepared, failures


def unique_name(name: str, taken) -> str:
    """``name``, or ``name (2)``, ``name (3)``... the first one not in ``taken`` (display names of models)."""
    out, k = name, 2
    while out in taken:
        out, k = f"{name} ({k})", k + 1
    return out


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


@dataclass(frozen=True, eq=False)
class Measurement:
    """Everything measured on one model's pair scores (the metric fields of a :class:`ModelResult`)."""

    roc: M.RocCurve
    auc: float
    eer: M.EqualErrorRate
    operating_points: tuple[M.OperatingPoint, ...]
    genuine_hist: np.ndarray  # int64 counts per bin of hist_edges, same-person pairs
    impostor_hist: np.ndarray  # int64 counts per bin, different-people pairs
    hist_edges: np.ndarray  # float64, HIST_BINS + 1 edges over [-1, 1] (scores a rounding outside count in the end bins)


def measure(scores, genuine, *, fars=M.DEFAULT_FARS) -> Measurement:
    """ROC, AUC, EER, TAR@FAR and score histograms for one model's pair scores (held in memory).

    The same counting as for embeddings (:func:`faceroc_core.stream.count_scores`).

    Args:
        scores: float array (n_pairs,), higher = more alike (cosine similarity).
        genuine: bool/0-1 array (n_pairs,), True for same-person pairs.
        fars: the FARs (in (0, 1]) at which TAR is reported.
    """
    return _measurement(count_scores(scores, genuine), fars)


def _measurement(st: PairStats, fars) -> Measurement:
    return Measurement(roc=st.roc, auc=st.auc, eer=st.eer, operating_points=tuple(M.tar_at_fars(st.roc, fars)),
                       genuine_hist=st.genuine_hist, impostor_hist=st.impostor_hist, hist_edges=st.hist_edges)


def evaluate(
    images,
    specs: Sequence[ModelSpec],
    *,
    labels: str = "auto",
    identities=None,
    cache_dir=None,
    use_cache: bool = True,
    batch_size: int = 32,
    fars: Sequence[float] = M.DEFAULT_FARS,
    progress: Progress | None = None,
    session_factory=None,
    thermal_limit_c: float | None = None,
    intervals: bool = True,
    limits: Limits | None = None,
    groups: GroupTable | None = None,
    pairs=None,
    dask=None,
) -> Evaluation:
    """Evaluate every model on a labelled folder (or a :class:`Dataset`).

    Args:
        images: a folder (or a :class:`Dataset`); identity from sub-folders or name prefixes (``labels``).
        specs: the models and their options; display names are made unique (" (2)").
        labels: ``"folder"``, ``"prefix"`` (``alice_001.png``) or ``"auto"``.
        identities: only these identities (all when None).
        cache_dir, use_cache: the embedding/landmark/export cache (default ``~/.cache/faceroc``).
        batch_size: images per network call.
        fars: the FARs in (0, 1] at which TAR is reported.
        progress: ``progress(stage, done, total, model)`` (:class:`~faceroc_core.progress.Stage`).
        session_factory: makes the session each model runs in (default: its guarded worker process).
        thermal_limit_c: pause between chunks while the CPU is hotter than this (°C; None: never).
        intervals: intervals of each AUC over people, and paired comparisons of the models (:mod:`.uncertainty`).
        limits: time and memory limits per model; every model runs in its own worker process.
        groups: people's attributes (:func:`faceroc_core.groups.read_groups_csv`): results per group.
        pairs: a protocol's pair list (a path or bytes: CSV ``a,b[,label]`` or LFW ``pairs.txt``,
            :func:`faceroc_core.pairs.read_pair_list`): only those pairs are scored, instead of all pairs.
        dask: count the pairs on a Dask cluster (``"local"``, a scheduler address or a ``Client``; :mod:`.cluster`).

    Returns:
        An :class:`Evaluation`: metrics per model that ran (:meth:`Evaluation.ranked` best first), and a
        :class:`ModelFailure` with the reason for every model that did not.

    Raises:
        DatasetError: the folder cannot be evaluated (no images, one identity, no same-person pair).
    """
    t0 = time.perf_counter()
    fars = tuple(M.check_far(f) for f in fars)
    ds = images if isinstance(images, Dataset) else scan_folder(images, labels=labels, identities=identities)
    protocol = None
    if pairs is not None:
        ds, protocol = _protocol(ds, pairs)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    sessions: dict = {}
    prepared, failures = prepare_all(specs, cache_dir=cache_dir, progress=progress, sessions=sessions,
                                     limits=limits)
    if session_factory is None:
        def session_factory(pm):  # reuse the worker that inspected the model
            return sessions.pop(str(pm.onnx_path), None) or GuardedSession(pm.onnx_path, limits=limits)
    try:
        return _evaluate_prepared(ds, prepared, failures, cache_dir=cache_dir, use_cache=use_cache,
                                  batch_size=batch_size, progress=progress, session_factory=session_factory,
                                  thermal_limit_c=thermal_limit_c, fars=fars, t0=t0, intervals=intervals, limits=limits,
                                  groups=groups, protocol=protocol, dask=dask)
    finally:
        for leftover in sessions.values():  # workers of models that never ran
            leftover.close()


def _evaluate_prepared(ds, prepared, failures, *, cache_dir, use_cache, batch_size, progress, session_factory,
                       thermal_limit_c, fars, t0, intervals, limits, groups=None, protocol=None, dask=None):
    if not prepared:
        return Evaluation(dataset=summarise_dataset(ds), models=(), failures=tuple(failures), fars=fars,
                          seconds=time.perf_counter() - t0)
    with dask_client(dask) as client:
        if client is not None:  # the images are embedded on the cluster's workers, in shards
            run = embed_on_cluster(ds.images, prepared, client, batch_size=batch_size, progress=progress)
        else:
            cache = EmbeddingCache(cache_dir) if use_cache else None
            try:
                run = embed(ds.images, prepared, cache=cache, batch_size=batch_size, progress=progress,
                            session_factory=session_factory, thermal_limit_c=thermal_limit_c, limits=limits)
            finally:
                if cache is not None:
                    cache.close()
        return measure_run(ds, run, failures=failures, fars=fars, progress=progress, t0=t0, intervals=intervals,
                           groups=groups, pairs=protocol, dask=client)


def measure_run(ds: Dataset, run: EmbeddingRun, *, failures=(), fars=M.DEFAULT_FARS, progress: Progress | None = None,
                t0: float | None = None, intervals: bool = True, groups: GroupTable | None = None,
                pairs: PairList | None = None, dask=None) -> Evaluation:
    """Score all pairs and measure every model of an :class:`EmbeddingRun`.

    Every pair is scored and counted without being held (:func:`faceroc_core.stream.scan`), at any size.
    ``intervals`` adds each AUC's interval over people and paired comparisons of the best model with the others
    (see :mod:`.uncertainty`).  ``groups`` (a metadata table, :mod:`.groups`) adds each model's results per
    attribute value.  ``pairs`` (a protocol, rows of ``ds.images``) scores those pairs only.
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
    identities = np.array([r.identity for r in ds.images])
    relpaths = np.array([r.relpath for r in ds.images])
    samples = sample_indices(ds.images)
    models = []
    for me in run.results:
        m = me.model
        if me.error:
            failures.append(ModelFailure(name=m.name, source=m.source, error=f"{m.source}: {me.error}"))
            continue
        v = me.valid
        ids = identities[v]
        gen, imp = pair_counts(np.unique(ids, return_counts=True)[1]) if ids.size else (0, 0)
        if gen == 0 or imp == 0:
            why = Counter(s.reason for s in me.failed)
            named = "; ".join(f"{k} for {c} image(s)" for k, c in why.most_common(3))
            failures.append(ModelFailure(name=m.name, source=m.source,
                                         error=f"{m.source}: too few images embedded ({int(v.sum())}) to form genuine "
                                               f"and impostor pairs" + (f": {named}" if named else
                                                                        "; see the skipped images")))
            continue
        extra = dict(source=m.source, kind=m.kind, sha256=m.sha256, arch=m.arch, info=m.info,
                     preprocessing=me.preprocessing,
                     export_max_abs_diff=m.export_check.max_abs_diff if m.export_check else None, notes=m.notes,
                     skipped=me.failed, from_cache=me.from_cache, preview=_preview(ds, run, me, samples))
        models.append((m.name, np.flatnonzero(v), me.embeddings[v], extra))
    if pairs is not None:
        ev = _measure_pairs(models, identities, relpaths, pairs, fars=fars, intervals=intervals)
    else:
        with dask_client(dask) as client:
            ev = _measure_models(models, identities, relpaths, fars=fars, progress=progress, intervals=intervals,
                                 groups=groups, client=client)
    return replace(ev, dataset=replace(summary, suspects=ev.dataset.suspects), failures=tuple(failures) + ev.failures,
                   seconds=time.perf_counter() - t0)


def _measure_models(models, identities, relpaths, *, fars, progress, intervals, groups, client=None) -> Evaluation:
    """Measure each model: ``models`` are ``(name, rows, embeddings of those rows, ModelResult fields)``.

    The one flow under :func:`measure_run` (images) and :func:`evaluate_embeddings` (bring your own).
    """
    results, kept, views, failures = [], {}, [], []
    for name, rows, emb, extra in models:
        ids = identities[rows]
        check_memory(rows.size, dim=emb.shape[1], n_genuine=pair_counts(np.unique(ids, return_counts=True)[1])[0])
        if progress:
            progress(Stage.SCORE, 0, 1, name)

        def step(done, total, name=name):
            if progress:
                progress(Stage.SCORE, done, total + 1, name)

        try:
            st = scan(emb, ids, progress=step, client=client)
        except FaceROCError as e:  # this model's scores cannot be measured: it fails alone
            failures.append(ModelFailure(name=name, source=extra["source"], error=f"{extra['source']}: {e}"))
            continue
        got = _measurement(st, fars)
        _, codes = np.unique(ids, return_inverse=True)
        kept[name] = (rows, st, codes)
        view = _view(name, emb, rows, got, st)
        views.append(view)
        results.append(ModelResult(
            name=name, n_images=int(rows.size), **vars(got), **extra,
            hardest_impostors=tuple(_pair(relpaths, identities, rows[a], rows[b], s) for s, a, b in st.top_impostors),
            hardest_genuines=tuple(_pair(relpaths, identities, rows[st.genuine_a[k]], rows[st.genuine_b[k]],
                                         float(st.genuine[k])) for k in hardest_genuine(st)),
            people=people(st, ids, relpaths[rows]),
            subgroups=_subgroups(emb, ids, groups, got, intervals) if groups is not None else (),
        ))
        if progress:
            progress(Stage.SCORE, 1, 1, name)
    row_of = {str(p): k for k, p in enumerate(relpaths)}
    results = [_with_others(r, views, row_of) for r in results]
    on_all = [v for v in views if v.index.size == identities.size]  # the test-set check needs every image
    summary = _summary(identities, suspects(on_all or views[:1], identities, relpaths) if views else ())
    disagree = _disagreements(results, kept, views, identities, relpaths, models)
    ivs, comps, note = ({}, (), None)
    if intervals and kept:
        ivs, comps, note = _uncertainty(kept, results)
    return Evaluation(dataset=summary, models=tuple(results), failures=tuple(failures), fars=tuple(fars),
                      auc_intervals=ivs, comparisons=tuple(comps), uncertainty_note=note, disagreements=disagree)


def _protocol(ds: Dataset, pairs) -> tuple[Dataset, PairList]:
    """The images a pair list refers to (only those are embedded), and the list in their rows."""
    pl = read_pair_list(pairs, [r.relpath for r in ds.images], [r.identity for r in ds.images],
                        source=Path(pairs).name if isinstance(pairs, (str, Path)) and "\n" not in str(pairs)
                        else "pairs")
    used = np.unique(np.r_[pl.a, pl.b])
    new = np.full(len(ds.images), -1, np.int64)
    new[used] = np.arange(used.size)
    sub = Dataset(root=ds.root, images=tuple(ds.images[k] for k in used), label_mode=ds.label_mode, skipped=ds.skipped)
    return sub, PairList(a=new[pl.a], b=new[pl.b], genuine=pl.genuine, source=pl.source)


def _measure_pairs(models, identities, relpaths, pl: PairList, *, fars, intervals) -> Evaluation:
    """Each model on a protocol's pairs only (the same counting as for all pairs, on the listed scores)."""
    results, kept = [], {}
    names, codes = np.unique(identities, return_inverse=True)
    for name, rows, emb, extra in models:
        at = np.full(identities.size, -1, np.int64)
        at[rows] = np.arange(rows.size)
        ok = (at[pl.a] >= 0) & (at[pl.b] >= 0)
        e = normalise(emb)
        s = np.einsum("ij,ij->i", e[at[pl.a[ok]]], e[at[pl.b[ok]]])
        g = pl.genuine[ok]
        if g.all() or not g.any():
            raise FaceROCError(f"{name}: embedded the images of {int(g.sum())} same-person and {int((~g).sum())} "
                               "different-people pairs of the protocol", hint="see the skipped images")
        got = measure(s, g, fars=fars)
        a, b = pl.a[ok], pl.b[ok]
        top, low = hardest_pairs(PairScores(scores=s, genuine=g))
        dropped = int((~ok).sum())
        notes = tuple(extra.pop("notes", ())) + ((f"{dropped} pair(s) of the protocol left out: an image could not "
                                                  "be embedded",) if dropped else ())
        kept[name] = (ok, s, g, codes[a], codes[b])
        results.append(ModelResult(
            name=name, n_images=int(rows.size), **vars(got), **extra, notes=notes,
            hardest_impostors=tuple(_pair(relpaths, identities, a[k], b[k], s[k]) for k in top),
            hardest_genuines=tuple(_pair(relpaths, identities, a[k], b[k], s[k]) for k in low)))
    ivs, comps = {}, []
    if intervals and results:
        inf = {n: influence_of_pairs(s, g, ca, cb, names.size, r.auc)
               for r, (n, (_, s, g, ca, cb)) in zip(results, kept.items())}
        ivs = {n: auc_interval(x) for n, x in inf.items()}
        best = rank(results)[0].name
        comps = [compare(best, inf[best], r.name, inf[r.name]) for r in rank(results)[1:]
                 if np.array_equal(kept[r.name][0], kept[best][0])]
    disagree = []
    if len(results) > 1:
        best = rank(results)[0]
        for r in rank(results)[1:]:
            if not np.array_equal(kept[r.name][0], kept[best.name][0]):
                continue
            ok, s1 = kept[best.name][0], kept[best.name][1]
            s2 = kept[r.name][1]
            t1, t2 = decision_threshold(best), decision_threshold(r)
            a, b = pl.a[ok], pl.b[ok]
            disagree.append(Disagreement(first=best.name, second=r.name, thresholds=(t1, t2), pairs=tuple(
                replace(_pair(relpaths, identities, a[k], b[k], s1[k]), others=((r.name, float(s2[k])),))
                for k in pair_disagreements(s1, t1, s2, t2))))
    return Evaluation(dataset=_summary(identities, ()), models=tuple(results), failures=(), fars=tuple(fars),
                      auc_intervals=ivs, comparisons=tuple(comps), disagreements=tuple(disagree))


def _summary(identities, suspect_list) -> DatasetSummary:
    counts = Counter(identities.tolist())
    gen, imp = pair_counts(counts.values())
    return DatasetSummary(root="", label_mode="embeddings", n_images=int(identities.size), n_identities=len(counts),
                          n_genuine=gen, n_impostor=imp, images_per_identity=dict(sorted(counts.items())),
                          suspects=tuple(suspect_list))


def _pair(relpaths, identities, a: int, b: int, score: float) -> HardPair:
    return HardPair(a=str(relpaths[a]), b=str(relpaths[b]), identity_a=str(identities[a]),
                    identity_b=str(identities[b]), score=float(score))


def _with_others(r: ModelResult, views, row_of: dict) -> ModelResult:
    """The model's hardest pairs with every other model's score on the same pair (``row_of``: image path -> row)."""
    def others(pairs):
        return tuple(replace(p, others=other_scores(views, row_of[p.a], row_of[p.b], skip=r.name)) for p in pairs)

    return replace(r, hardest_impostors=others(r.hardest_impostors), hardest_genuines=others(r.hardest_genuines))


def _subgroups(emb, ids, groups: GroupTable, got: Measurement, intervals: bool) -> tuple[GroupResult, ...]:
    """Each attribute value: the model on the pairs within that group, at the global decision threshold."""
    thr = decision_threshold(got, GLOBAL_FMR)

    def measure_group(inside: np.ndarray):
        g_ids = ids[inside]
        gen, imp = pair_counts(np.unique(g_ids, return_counts=True)[1])
        if gen == 0 or imp == 0:
            return None
        st = scan(emb[inside], g_ids, queries=(thr,))
        iv = auc_interval(_influence(st, np.unique(g_ids, return_inverse=True)[1])) if intervals else None
        return st.roc, st.auc, iv

    return subgroup_results(ids, groups, measure_group, threshold=thr)


def _view(name: str, emb, index, got: Measurement, st: PairStats) -> ModelView:
    """What the test-set check needs from one model: its normalised embeddings (rows ``index`` of the images),
    its EER threshold, AUC, typical same-person and different-people scores, and its near-identical pairs."""
    return ModelView(name=name, emb=normalise(emb), index=index, threshold=got.eer.threshold, auc=got.auc,
                     genuine_median=float(np.median(st.genuine)), impostor_median=st.impostor_median,
                     duplicates=tuple((s, int(index[a]), int(index[b])) for s, a, b in st.duplicates))


def decision_threshold(r: ModelResult | Measurement, far: float = 1e-3) -> float:
    """The threshold a model is judged at when none is chosen: its TAR@FAR=1e-3 one, else its EER one."""
    op = M.tar_at_far(r.roc, far)
    return op.threshold if op.threshold is not None else r.eer.threshold


def _disagreements(results, kept, views, identities, relpaths, models) -> tuple[Disagreement, ...]:
    """The best model against each other model scored on the same images: the pairs they decide differently."""
    if len(results) < 2:
        return ()
    emb = {name: e for name, _, e, _ in models}
    best, out = rank(results)[0], []
    rows_best = kept[best.name][0]
    t_best = decision_threshold(best)
    eb = normalise(emb[best.name])
    for r in rank(results)[1:]:
        rows = kept[r.name][0]
        if not np.array_equal(rows, rows_best):
            continue
        t_r = decision_threshold(r)
        found = stream_disagreements(eb, emb[r.name], t_best, t_r)
        pairs = tuple(replace(_pair(relpaths, identities, rows[i], rows[j], float(eb[i] @ eb[j])),
                              others=other_scores(views, int(rows[i]), int(rows[j]), skip=best.name))
                      for i, j in found)
        out.append(Disagreement(first=best.name, second=r.name, thresholds=(t_best, t_r), pairs=pairs))
    return tuple(out)


def _preview(ds: Dataset, run: EmbeddingRun, me, samples) -> Preview | None:
    try:
        return make_preview(ds.images, me.preprocessing, indices=samples, detections=run.detections)
    except Exception as e:  # a preview is a courtesy: never lose a result over it
        _logger.warning("no preview for %s: %s", me.model.name, e)
        return None


def _influence(st: PairStats, codes: np.ndarray) -> Influence:
    return influence(st.genuine_rank2, codes[st.genuine_a], st.impostor_rank2, codes, int(codes.max()) + 1, st.auc)


def _uncertainty(kept, results):
    """Intervals over people for every model; paired comparisons of the best one with each model scored on the
    same images."""
    inf = {name: _influence(st, codes) for name, (_, st, codes) in kept.items()}
    intervals = {name: auc_interval(x) for name, x in inf.items()}
    best = rank(results)[0].name
    comps = [compare(best, inf[best], r.name, inf[r.name]) for r in rank(results)[1:]
             if np.array_equal(kept[r.name][0], kept[best][0])]
    return intervals, comps, None


def evaluate_embeddings(named: dict, *, fars=M.DEFAULT_FARS, intervals: bool = True,
                        groups: GroupTable | None = None, progress: Progress | None = None, dask=None) -> Evaluation:
    """Metrics for bring-your-own embeddings: ``{model name: (embeddings (N, d), identities (N,))}``.

    Every pair of each model's rows is scored by cosine, as :func:`evaluate` does for images; the "images" are
    named by their row (``#0``, ``#1``...).  Every model must be given the same identities in the same order
    (the same images): they are compared on the same pairs (intervals and paired comparisons).  ``dask``: count
    the pairs on a Dask cluster (``"local"``, a scheduler address or a ``Client``; :mod:`.cluster`).
    """
    t0 = time.perf_counter()
    fars = tuple(M.check_far(f) for f in fars)
    first_ids, models = None, []
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
        models.append((name, np.arange(ids.size), e, dict(
            source=f"{name}.npz", kind="embeddings", sha256="", arch=None,
            info=OnnxInfo("", (), "NCHW", None, None, None, "", int(e.shape[1]), 0, None),
            preprocessing=Preprocessing(height=1, width=1), export_max_abs_diff=None, notes=())))
    paths = np.array([f"#{i}" for i in range(first_ids.size)])
    with dask_client(dask) as client:
        ev = _measure_models(models, first_ids, paths, fars=fars, progress=progress, intervals=intervals,
                             groups=groups, client=client)
    return replace(ev, seconds=time.perf_counter() - t0)


def evaluate_scores(groups: dict[str, tuple[np.ndarray, np.ndarray]], *, fars=M.DEFAULT_FARS) -> Evaluation:
    """Metrics for bring-your-own scores: ``{model name: (scores, labels)}``."""
    results = []
    n_gen = n_imp = 0
    for name, (scores, labels) in groups.items():
        s, y = M.check_scores(scores, labels)
        got = measure(s, y, fars=fars)
        n_gen, n_imp = max(n_gen, got.roc.n_genuine), max(n_imp, got.roc.n_impostor)
        results.append(ModelResult(
            name=name, source="scores", kind="scores", sha256="", arch=None,
            info=OnnxInfo("", (), "NCHW", None, None, None, "", 0, 0, None),
            preprocessing=Preprocessing(height=1, width=1), export_max_abs_diff=None, notes=(), n_images=0,
            **vars(got),
        ))
    summary = DatasetSummary(root="", label_mode="scores", n_images=0, n_identities=0, n_genuine=n_gen,
                             n_impostor=n_imp)
    return Evaluation(dataset=summary, models=tuple(results), failures=(), fars=tuple(fars))
