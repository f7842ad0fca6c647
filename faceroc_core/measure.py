"""The one measuring flow: every model's pairs counted, diagnosed and compared, whatever the input was.

A face folder (every pair), a protocol's pair list, ``.npz`` embeddings and score CSVs all arrive here as one
:class:`ModelInput` per model, and go through the same two steps:

1. **each model alone** (:func:`_measure_one`): its pairs counted exactly — every pair by
   :func:`~faceroc_core.stream.scan`, listed pairs and given scores by
   :func:`~faceroc_core.stream.count_scores` (the same counting) — its hardest pairs, its people and its
   subgroups.  A model whose pairs cannot be measured becomes a :class:`ModelFailure`; the others go on.
2. **across models**: the other models' scores on each hardest pair, the test-set check (every pair only), and
   the best model against each other model on the same pairs — the pairs they decide differently, intervals
   over people and paired comparisons (:mod:`.uncertainty`).  When a comparison is impossible the evaluation's
   ``uncertainty_note`` says why; nothing is dropped silently.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from .dataset import Skipped, pair_counts
from .decide import decide, decide_on
from .diagnose import Disagreement, HardPair, ModelView, hardest_genuine, hardest_pairs, other_scores, people, suspects
from .diagnose import disagreements as pair_disagreements
from .errors import FaceROCError
from .groups import GLOBAL_FMR, GroupResult, GroupTable, subgroup_results
from .identify import Identification, Roles, auto_split, identification, read_gallery_csv, search
from .options import RunOptions
from .preview import Preview
from .progress import Progress, Stage
from .protocol import PairList
from .resample import MAX_PAIRS, PersonPairs, people_intervals, sample_of_images
from .results import (
    DatasetSummary,
    Evaluation,
    FailureToAcquire,
    Measurement,
    ModelFailure,
    ModelResult,
    ModelSource,
    decision_threshold,
)
from .stream import PairScores, PairStats, check_memory, count_scores, scan
from .stream import disagreements as stream_disagreements
from .tenfold import N_FOLDS, ten_fold
from .uncertainty import Influence, MetricIntervals, auc_interval, compare, influence, influence_of_pairs
from .vectors import normalise
from .verdict import rank


@dataclass(frozen=True, eq=False)
class Images:
    """The images every model's rows refer to: their identities and (relative) paths, ``#k`` for embedding rows."""

    identities: np.ndarray  # str (n,)
    paths: np.ndarray  # str (n,)

    @classmethod
    def rows_of(cls, identities) -> Images:
        """Rows of embeddings named by their row: ``#0``, ``#1``..."""
        ids = np.asarray(identities).astype(str)
        return cls(identities=ids, paths=np.array([f"#{i}" for i in range(ids.size)]))

    def pair(self, a: int, b: int, score: float) -> HardPair:
        return HardPair(a=str(self.paths[a]), b=str(self.paths[b]), identity_a=str(self.identities[a]),
                        identity_b=str(self.identities[b]), score=float(score))


@dataclass(frozen=True, eq=False)
class ModelInput:
    """One model as the flow takes it: its embeddings of some images (``rows`` of :class:`Images`), or scores
    given as such; and what is known of where it came from."""

    name: str
    source: str
    kind: str  # onnx | pth | embeddings | scores
    rows: np.ndarray  # int64: the images it embedded (empty for given scores)
    embeddings: np.ndarray | None = None  # (rows.size, d)
    scores: PairScores | None = None  # given scores: no images, no people
    model: ModelSource | None = None
    notes: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    from_cache: int = 0
    preview: Preview | None = None
    dev: tuple[np.ndarray, np.ndarray] | None = None  # (embeddings, identities) of a separate dev set


@dataclass(frozen=True, eq=False)
class _Listed:
    """A protocol's pairs as one model scored them: the pairs both of whose images it embedded (``ok``, over the
    list), their image rows, scores and labels."""

    ok: np.ndarray
    a: np.ndarray
    b: np.ndarray
    scores: np.ndarray
    genuine: np.ndarray


@dataclass(frozen=True, eq=False)
class _Measured:
    """One model after step 1: its result, its input, its counts and (for a protocol) its listed pairs."""

    result: ModelResult
    inp: ModelInput
    st: PairStats
    listed: _Listed | None = None

    def same_pairs(self, other: _Measured) -> bool:
        """Whether the two models were measured on the very same pairs (pair-by-pair comparisons need it)."""
        if self.listed is not None and other.listed is not None:
            return np.array_equal(self.listed.ok, other.listed.ok)
        return self.listed is None and other.listed is None and np.array_equal(self.inp.rows, other.inp.rows)

    def influence(self, images: Images) -> Influence | None:
        """Each person's influence on the AUC (:mod:`.uncertainty`); None for given scores (no people)."""
        if self.inp.scores is not None:
            return None
        if self.listed is not None:
            names, codes = np.unique(images.identities, return_inverse=True)
            return influence_of_pairs(self.listed.scores, self.listed.genuine, codes[self.listed.a],
                                      codes[self.listed.b], names.size, self.result.auc)
        _, codes = np.unique(images.identities[self.inp.rows], return_inverse=True)
        return _influence(self.st, codes)


    def intervals(self, images: Images, inf: Influence) -> MetricIntervals:
        """AUC, TAR at each FAR target and EER intervals over people (:func:`~faceroc_core.resample.people_intervals`)."""
        r = self.result
        tar = {p.far_target: p.tar for p in r.operating_points}
        if self.listed is not None:
            lp = self.listed
            names, codes = np.unique(images.identities, return_inverse=True)
            present, pair_people = np.unique(np.r_[codes[lp.a], codes[lp.b]], return_inverse=True)
            n = lp.a.size
            pp = PersonPairs.of(lp.scores, lp.genuine, pair_people[:n], pair_people[n:], present.size)
            return people_intervals(pp, auc=inf, tar=tar, eer=r.eer.eer)
        ids = images.identities[self.inp.rows]
        pp = sample_of_images(self.inp.embeddings, ids)
        return people_intervals(pp, auc=inf, tar=tar, eer=r.eer.eer, n_people=np.unique(ids).size)


def _influence(st: PairStats, codes: np.ndarray) -> Influence:
    return influence(st.genuine_rank2, codes[st.genuine_a], st.impostor_rank2, codes, int(codes.max()) + 1, st.auc)


def measure_models(inputs: list[ModelInput], images: Images, *, options: RunOptions = RunOptions(),
                   protocol: PairList | None = None, progress: Progress | None = None, client=None) -> Evaluation:
    """Measure every model, then compare them (the module's two steps).

    Args:
        inputs: the models; their ``rows`` index ``images``.
        images: the images' identities and paths (for given scores: empty).
        options: ``fars``, ``intervals`` and ``groups`` are read here.
        protocol: a pair list over ``images``' rows: only those pairs are scored.
        progress: ``progress(Stage.SCORE, done, total, model)``.
        client: a Dask client that counts the pairs (every pair only).

    Returns:
        An :class:`Evaluation` whose dataset holds the identities' counts and the test-set check; the caller
        fills in the rest of the dataset summary.
    """
    measured, failures = [], []
    roles = gallery_roles(options.gallery, images) if options.gallery is not None and protocol is None else None
    for inp in inputs:
        if progress:
            progress(Stage.SCORE, 0, 1, inp.name)
        try:
            measured.append(_measure_one(inp, images, options, protocol, progress, client, roles))
        except FaceROCError as e:  # this model's scores cannot be measured: it fails alone
            failures.append(ModelFailure.of(inp.name, inp.source, e))
            continue
        if progress:
            progress(Stage.SCORE, 1, 1, inp.name)
    views = [_view(m) for m in measured if m.inp.embeddings is not None]
    row_of = {str(p): k for k, p in enumerate(images.paths)}
    results = [_with_others(m.result, views, row_of) for m in measured]
    on_all = [v for v in views if v.index.size == images.identities.size]  # the test-set check needs every image
    found = suspects(on_all or views[:1], images.identities, images.paths) if views and protocol is None else ()
    by_name = {m.result.name: replace(m, result=r) for m, r in zip(measured, results)}
    pairs, notes = _against_best(results, by_name)
    intervals, comparisons = {}, []
    if options.intervals:
        maybe = {name: m.influence(images) for name, m in by_name.items()}
        inf = {name: x for name, x in maybe.items() if x is not None}
        intervals = {name: by_name[name].intervals(images, x) for name, x in inf.items()}
        comparisons = [compare(b.name, inf[b.name], o.name, inf[o.name]) for b, o in pairs]
        if len(inf) < len(maybe):
            notes.append("scores given as such carry no people: no intervals over people")
    else:
        notes.insert(0, "intervals over people were not asked for")
    common, c_pairs, c_notes = _on_common_images(measured, by_name, images, options) if protocol is None else ({}, [], [])
    if common:
        results = [replace(r, on_common_images=common[r.name][0]) if r.name in common else r for r in results]
        notes = [n for n in notes if " pair by pair: they were measured on different images" not in n] + c_notes
        if options.intervals:
            comparisons += [compare(b.name, common[b.name][1], o.name, common[o.name][1]) for b, o in c_pairs]
    view_of = {v.name: v for v in views}
    disagree = tuple(_disagreements(by_name[b.name], by_name[o.name], images, views, view_of) for b, o in pairs)
    dataset = replace(_counts_summary(images.identities, found),
                      compared_on=int(next(iter(common.values()))[2]) if common else None)
    return Evaluation(dataset=dataset, models=tuple(results),
                      failures=tuple(failures), fars=tuple(options.fars), intervals=intervals,
                      comparisons=tuple(comparisons), uncertainty_note="; ".join(notes) or None,
                      disagreements=disagree)


def _measure_one(inp: ModelInput, images: Images, options: RunOptions, protocol: PairList | None, progress,
                 client, roles: Roles | None = None) -> _Measured:
    """Step 1 for one model (raises :class:`FaceROCError` when its pairs cannot be measured)."""
    if inp.scores is not None:
        st = count_scores(inp.scores.scores, inp.scores.genuine)
        return _Measured(_result(inp, Measurement.of(st, options.fars), n_images=0), inp, st)
    if inp.embeddings is None:
        raise ValueError(f"{inp.name}: a model input needs embeddings or scores")
    rows = inp.rows
    if protocol is not None:
        return _measure_listed(inp, images, options, protocol)
    ids = images.identities[rows]
    check_memory(rows.size, dim=inp.embeddings.shape[1], n_genuine=pair_counts(np.unique(ids, return_counts=True)[1])[0],
                 held_pairs=min(rows.size * (rows.size - 1) // 2, MAX_PAIRS) if options.intervals else 0)

    def step(done, total):
        if progress:
            progress(Stage.SCORE, done, total + 1, inp.name)

    st = scan(inp.embeddings, ids, progress=step, client=client)
    got = Measurement.of(st, options.fars)
    result = _result(
        inp, got, n_images=int(rows.size),
        hardest_impostors=tuple(images.pair(rows[a], rows[b], s) for s, a, b in st.top_impostors),
        hardest_genuines=tuple(images.pair(rows[st.genuine_a[k]], rows[st.genuine_b[k]], st.genuine[k])
                               for k in hardest_genuine(st)),
        people=people(st, ids, images.paths[rows]),
        subgroups=(_subgroups(inp.embeddings, ids, options.groups, got, options.intervals)
                   if options.groups is not None else ()),
        identification=_identification(inp, images, roles) if roles is not None else None)
    result = replace(result, failure_to_acquire=_failure_to_acquire(got, images.identities, rows.size))
    if inp.dev is not None or options.dev_fraction is not None:  # a threshold chosen on other people
        try:
            dc = (decide_on(*inp.dev, inp.embeddings, ids, target=options.target_far, prior=options.prior)
                  if inp.dev is not None else
                  decide(inp.embeddings, ids, target=options.target_far, prior=options.prior,
                         fraction=options.dev_fraction if options.dev_fraction is not None else 0.5))
            result = replace(result, decision=dc)
        except FaceROCError as e:
            result = replace(result, notes=result.notes + (f"no dev/eval threshold: {e.reason}",))
    return _Measured(result, inp, st)


def _failure_to_acquire(got: Measurement, identities, n_used: int) -> FailureToAcquire:
    """The images of the test set the model could not use, and its FRR at its decision threshold with their
    same-person pairs counted as rejected."""
    n_all = int(np.asarray(identities).size)
    g_all = pair_counts(np.unique(identities, return_counts=True)[1])[0]
    t = decision_threshold(got)
    tm = got.at_threshold(t)
    return FailureToAcquire(images=n_all - int(n_used), share=(n_all - int(n_used)) / max(n_all, 1), threshold=t,
                            frr=tm.frr, frr_with_fta=float((tm.fn + g_all - got.n_genuine) / max(g_all, 1)))


def _identification(inp: ModelInput, images: Images, roles: Roles) -> Identification | None:
    """The model's 1:N searches over the images it embedded (None when those hold no gallery or no probe)."""
    rows = inp.rows
    own = Roles(gallery=roles.gallery[rows], probe=roles.probe[rows], source=roles.source)
    if not own.gallery.any() or not own.probe.any():
        return None
    s = search(inp.embeddings, images.identities[rows], own)
    return identification(replace(s, probe=rows[s.probe]), identities=images.identities, paths=images.paths)


def gallery_roles(gallery, images: Images) -> Roles:
    """``gallery`` (``"auto"``, a CSV path or its bytes) as roles of the images."""
    if isinstance(gallery, str) and gallery == "auto":
        return auto_split(images.paths, images.identities)
    return read_gallery_csv(gallery, images.paths.tolist())


def _result(inp: ModelInput, got: Measurement, *, n_images: int, notes: tuple[str, ...] = (), **diagnosis
            ) -> ModelResult:
    """The result of one model: its measurement, where it came from, and ``diagnosis`` (hardest pairs, people...)."""
    if got.collapsed:
        notes += (f"its embeddings have collapsed (98% of its pair scores within {got.score_spread:.3f}): its hardest "
                  "pairs and people say nothing about who is who, and it is left out of the test-set check",)
    return ModelResult(name=inp.name, source=inp.source, kind=inp.kind, measurement=got, n_images=n_images,
                       model=inp.model, notes=inp.notes + notes, skipped=inp.skipped, from_cache=inp.from_cache,
                       preview=inp.preview, **diagnosis)


def _measure_listed(inp: ModelInput, images: Images, options: RunOptions, pl: PairList) -> _Measured:
    """A protocol's pairs only: the listed pairs both of whose images the model embedded, counted as given
    scores are (the same counting as every pair)."""
    at = np.full(images.identities.size, -1, np.int64)
    at[inp.rows] = np.arange(inp.rows.size)
    ok = (at[pl.a] >= 0) & (at[pl.b] >= 0)
    e = normalise(inp.embeddings)
    s = np.einsum("ij,ij->i", e[at[pl.a[ok]]], e[at[pl.b[ok]]])
    g = pl.genuine[ok]
    if g.all() or not g.any():
        raise FaceROCError(f"embedded the images of {int(g.sum())} same-person and {int((~g).sum())} "
                           "different-people pairs of the protocol", hint="see the skipped images")
    st = count_scores(s, g)
    a, b = pl.a[ok], pl.b[ok]
    top, low = hardest_pairs(PairScores(scores=s, genuine=g))
    dropped = int((~ok).sum())
    notes: tuple[str, ...] = ((f"{dropped} pair(s) of the protocol left out: an image could not be embedded",)
                              if dropped else ())
    accuracy = None
    if s.size >= N_FOLDS:  # the field's 10-fold accuracy on the protocol's folds (or KFold in file order)
        accuracy = ten_fold(s, g, pl.folds[ok] if pl.folds is not None else None,
                            flip=bool(inp.model and inp.model.flip))
        if dropped and pl.folds is None:
            notes += ("10-fold accuracy: the folds are cut from the pairs that remain, in file order",)
    result = _result(inp, Measurement.of(st, options.fars), n_images=int(inp.rows.size), notes=notes,
                     hardest_impostors=tuple(images.pair(a[k], b[k], s[k]) for k in top),
                     hardest_genuines=tuple(images.pair(a[k], b[k], s[k]) for k in low), accuracy_10fold=accuracy)
    return _Measured(result, inp, st, _Listed(ok=ok, a=a, b=b, scores=s, genuine=g))


def _against_best(results: list[ModelResult], by_name: dict[str, _Measured]
                  ) -> tuple[list[tuple[ModelResult, ModelResult]], list[str]]:
    """The best model paired with each other model measured on the same pairs (every comparison model by model
    goes through here), and a note for each one that cannot be compared pair by pair.  Models of given scores
    have no images to pair (their note is that they carry no people)."""
    if len(results) < 2:
        return [], []
    ranked = rank(results)
    best, pairs, notes = ranked[0], [], []
    if by_name[best.name].inp.scores is not None:  # given scores carry no images: nothing to pair
        return [], []
    for other in ranked[1:]:
        if by_name[other.name].inp.scores is not None:
            continue
        if by_name[best.name].same_pairs(by_name[other.name]):
            pairs.append((best, other))
        else:
            notes.append(f"{other.name} is not compared with {best.name} pair by pair: they were measured on "
                         f"different images ({other.n_images:,} and {best.n_images:,}; an image one of them could "
                         "not use)")
    return pairs, notes


def _on_common_images(measured: list[_Measured], by_name: dict, images: Images, options: RunOptions):
    """When the models embedded different images (one aligns and skips the photos without a face, another does
    not): each model measured again on the images every model embedded, and the best model against each other one
    there.  Returns ``({name: (Measurement, Influence, n_images)}, [(best, other)], [notes])``; empty when every
    model used the same images."""
    runs = [m for m in measured if m.inp.embeddings is not None and m.listed is None]
    if len(runs) < 2 or all(np.array_equal(runs[0].inp.rows, m.inp.rows) for m in runs[1:]):
        return {}, [], []
    rows = runs[0].inp.rows
    for m in runs[1:]:
        rows = np.intersect1d(rows, m.inp.rows)
    ids = images.identities[rows]
    gen, imp = pair_counts(np.unique(ids, return_counts=True)[1]) if ids.size else (0, 0)
    if gen == 0 or imp == 0:
        return {}, [], [f"the models have only {rows.size} images in common: no comparison on the same images"]
    _, codes = np.unique(ids, return_inverse=True)
    common = {}
    for m in runs:
        emb = m.inp.embeddings
        assert emb is not None  # runs hold embeddings only
        st = scan(emb[np.searchsorted(m.inp.rows, rows)], ids)
        common[m.result.name] = (Measurement.of(st, options.fars), _influence(st, codes), int(rows.size))
    ranked = rank([by_name[n].result for n in common])
    best = ranked[0]
    pairs = [(best, o) for o in ranked[1:] if not by_name[best.name].same_pairs(by_name[o.name])]
    notes = [f"{o.name} and {best.name} used different images ({o.n_images:,} and {best.n_images:,}): they are "
             f"compared on the {rows.size:,} images both embedded (dataset.compared_on)" for _, o in pairs]
    return common, pairs, notes


def _disagreements(best: _Measured, other: _Measured, images: Images, views, view_of: dict[str, ModelView]
                   ) -> Disagreement:
    """The pairs two models (measured on the same pairs) decide differently, each at its own threshold."""
    t1, t2 = decision_threshold(best.result), decision_threshold(other.result)
    if best.listed is not None and other.listed is not None:
        lb, lo = best.listed, other.listed
        found = [(int(lb.a[k]), int(lb.b[k]), float(lb.scores[k])) for k in
                 pair_disagreements(lb.scores, t1, lo.scores, t2)]
    else:
        rows = best.inp.rows
        eb = view_of[best.result.name].emb  # normalised once, for the views
        found = [(int(rows[i]), int(rows[j]), float(eb[i] @ eb[j])) for i, j in
                 stream_disagreements(eb, other.inp.embeddings, t1, t2)]
    pairs = tuple(replace(images.pair(a, b, s), others=other_scores(views, a, b, skip=best.result.name))
                  for a, b, s in found)
    return Disagreement(first=best.result.name, second=other.result.name, thresholds=(t1, t2), pairs=pairs)


def _with_others(r: ModelResult, views, row_of: dict) -> ModelResult:
    """The model's hardest pairs with every other model's score on the same pair (``row_of``: image path -> row)."""
    if not views:
        return r

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


def _view(m: _Measured) -> ModelView:
    """What the test-set check and the other models' scores need from one model: its normalised embeddings (rows
    ``index`` of the images), its EER threshold, AUC, typical same-person and different-people scores, and its
    near-identical pairs."""
    st, index = m.st, m.inp.rows
    return ModelView(name=m.result.name, emb=normalise(m.inp.embeddings), index=index,
                     threshold=m.result.eer.threshold, auc=m.result.auc, genuine_median=float(np.median(st.genuine)),
                     collapsed=m.result.collapsed,
                     impostor_median=st.impostor_median,
                     duplicates=tuple((s, int(index[a]), int(index[b])) for s, a, b in st.duplicates))


def _counts_summary(identities, found) -> DatasetSummary:
    counts = Counter(np.asarray(identities).tolist())
    gen, imp = pair_counts(counts.values())
    return DatasetSummary(root="", label_mode="embeddings", n_images=int(np.asarray(identities).size),
                          n_identities=len(counts), n_genuine=gen, n_impostor=imp,
                          images_per_identity=dict(sorted(counts.items())), suspects=tuple(found))

