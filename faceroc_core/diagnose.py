"""Why a model fails: the hardest pairs, the people it finds hardest, and test-set problems.

Everything here works from one pass over the pairs
(:func:`faceroc_core.stream.scan`, which keeps the genuine scores, the highest
impostor pairs and each image's most similar other person) and from the
L2-normalised embeddings, with no sort of all pairs:

* :func:`hardest_genuine` picks the lowest-scoring genuine pairs (false
  rejects first) by partial selection (``argpartition``); the highest-scoring
  impostor pairs come from the scan.
* :func:`people` gives, per person, the mean same-person score, the person
  whose photo scores highest against theirs, and the same-person scores (for a
  count of false rejects at any threshold).
* :func:`suspects` flags likely labelling problems that *every* model agrees
  on: one person filed under two names, an image filed under the wrong person,
  and the same photo under two people.  A mean score over all pairs of two sets
  of images is the dot product of their mean embeddings, so these checks cost a
  few small matrix products per model.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .stream import DUPLICATE_SCORE, TOP_K, PairScores, PairStats

_logger = logging.getLogger(__name__)

HARD_K = TOP_K  # pairs kept per model and kind (the scan keeps as many of its highest impostor pairs)
INFORMATIVE_AUC = 0.8  # models below this say little about who is who: they do not vote on the test set
MIN_IMAGES = 2  # a person needs this many images for a same-person score


@dataclass(frozen=True)
class HardPair:
    """One pair of images (paths relative to the face folder) and its score; ``others``: the other models'
    scores on the same pair (None where that model could not embed one of the images)."""

    a: str
    b: str
    identity_a: str
    identity_b: str
    score: float
    others: tuple[tuple[str, float | None], ...] = ()


@dataclass(frozen=True, eq=False)
class Person:
    """One person as a model sees them."""

    identity: str
    n_images: int
    genuine_mean: float | None  # mean score of this person's same-person pairs (None with one image)
    genuine_scores: np.ndarray  # float64, ascending: every same-person pair's score
    worst_impostor: float  # the highest score of one of their photos against someone else's
    worst_impostor_with: str  # that someone
    worst_pair: tuple[str, str]  # (their photo, the other person's photo)

    def false_rejects(self, threshold: float) -> int:
        """Same-person pairs scored below ``threshold`` (rejected)."""
        return int(np.searchsorted(self.genuine_scores, threshold, side="left"))


@dataclass(frozen=True)
class Suspect:
    """A likely problem in the test set itself, found by every model."""

    kind: str  # "same_person_two_names" | "wrong_identity" | "duplicate_image"
    identities: tuple[str, ...]
    images: tuple[str, ...]
    evidence: str  # one line a person can check

    def amend(self, exclude: tuple[str, ...] = (), merge: tuple[tuple[str, str], ...] = ()
              ) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """The test set's amendments (images left out, names merged) with this problem's fix added: the two names
        of one person merged (the second into the first); a misfiled photo left out; of a photo filed under two
        names, the copy under the second name left out.  Files are never touched
        (:func:`faceroc_core.dataset.amend` applies the result).

        >>> Suspect("wrong_identity", ("a", "b"), ("a/1.png",), "").amend()
        (('a/1.png',), ())
        >>> Suspect("same_person_two_names", ("a", "b"), (), "").amend(merge=(("c", "d"),))
        ((), (('c', 'd'), ('b', 'a')))
        """
        if self.kind == "same_person_two_names":
            return exclude, merge + ((self.identities[1], self.identities[0]),)
        drop = self.images if self.kind == "wrong_identity" else self.images[1::2]
        return exclude + tuple(p for p in drop if p not in exclude), merge


@dataclass(frozen=True)
class Disagreement:
    """Pairs that two models decide differently, each at its own threshold (``pairs[i].score`` is ``first``'s;
    ``others`` holds ``second``'s and the other models' scores)."""

    first: str
    second: str
    thresholds: tuple[float, float]
    pairs: tuple[HardPair, ...]


@dataclass(frozen=True, eq=False)
class ModelView:
    """What :func:`suspects` needs from one model: its name, normalised embeddings of its valid images, their
    indices among all images, and the threshold that separates its genuine from its impostor pairs."""

    name: str
    emb: np.ndarray  # float64 (n_valid, dim), unit rows
    index: np.ndarray  # int (n_valid,): rows of the dataset's images
    threshold: float
    auc: float = 1.0
    genuine_median: float = 1.0  # the typical same-person score
    impostor_median: float = 0.0  # the typical different-people score
    duplicates: tuple = ()  # (score, row a, row b): different people's photos scoring >= DUPLICATE_SCORE (dataset rows)
    collapsed: bool = False  # every pair at about the same score: it never votes on the test set


# --------------------------------------------------------------------------- pairs
def pair_rows(pos: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The images ``(i, j)``, ``i < j``, of pair positions in ``numpy.triu_indices(n, 1)`` order.

    >>> [x.tolist() for x in pair_rows(np.arange(6), 4)]
    [[0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3]]
    """
    pos = np.asarray(pos, dtype=np.int64)
    i = np.arange(n, dtype=np.int64)
    starts = i * (2 * n - i - 1) // 2
    row = np.searchsorted(starts, pos, side="right") - 1
    return row, pos - starts[row] + row + 1


def _smallest(values: np.ndarray, count: int) -> np.ndarray:
    """Positions of the ``count`` smallest finite values, smallest first (partial selection, then a small sort)."""
    count = min(count, int(np.isfinite(values).sum()))
    if count == 0:
        return np.zeros(0, np.int64)
    part = np.argpartition(values, count - 1)[:count] if count < values.size else np.arange(values.size)
    part = part[np.isfinite(values[part])]
    return part[np.argsort(values[part], kind="stable")]


def hardest_pairs(ps: PairScores, k: int = HARD_K) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the ``k`` highest-scoring impostor pairs (highest first) and the ``k`` lowest-scoring genuine
    pairs (lowest first), by partial selection."""
    imp = _smallest(np.where(ps.genuine, np.inf, -ps.scores), k)
    gen = _smallest(np.where(ps.genuine, ps.scores, np.inf), k)
    return imp, gen


def hardest_genuine(st: PairStats, k: int = HARD_K) -> np.ndarray:
    """Positions (in ``st.genuine``) of the ``k`` lowest-scoring genuine pairs, lowest first."""
    return _smallest(st.genuine, k)


def disagreements(s1: np.ndarray, t1: float, s2: np.ndarray, t2: float, k: int = HARD_K) -> np.ndarray:
    """Positions of the pairs two models decide differently, each at its own threshold, the clearest first
    (ranked by the smaller of the two margins to the thresholds)."""
    differ = (s1 >= t1) != (s2 >= t2)
    margin = np.minimum(np.abs(s1 - t1), np.abs(s2 - t2))
    return _smallest(np.where(differ, -margin, np.inf), k)


# --------------------------------------------------------------------------- people
def people(st: PairStats, identities: np.ndarray, paths) -> tuple[Person, ...]:
    """Per person: same-person scores and the highest-scoring photo of someone else, from a scan's
    ``genuine``/``best_impostor`` (rows of ``identities``/``paths``)."""
    ids = np.asarray(identities)
    names, codes = np.unique(ids, return_inverse=True)
    gcode = codes[st.genuine_a]
    order = np.lexsort((st.genuine, gcode))
    gsorted, gc = st.genuine[order], gcode[order]
    bounds = np.searchsorted(gc, np.arange(names.size + 1))
    by_person = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[by_person], np.arange(names.size + 1))
    out = []
    for c, name in enumerate(names):
        idx = by_person[starts[c]:starts[c + 1]]
        gs = gsorted[bounds[c]:bounds[c + 1]]
        w = idx[int(np.argmax(st.best_impostor[idx]))]
        other = int(st.best_impostor_with[w])
        out.append(Person(identity=str(name), n_images=int(idx.size),
                          genuine_mean=float(gs.mean()) if gs.size else None, genuine_scores=gs,
                          worst_impostor=float(st.best_impostor[w]), worst_impostor_with=str(ids[other]),
                          worst_pair=(str(paths[w]), str(paths[other]))))
    return tuple(out)


def hardest_people(people_: tuple[Person, ...], threshold: float) -> tuple[Person, ...]:
    """The people hardest first, as every view shows them: most false rejects at ``threshold``, then lowest
    same-person mean score (people with one image, who have no same-person pair, last)."""
    return tuple(sorted(people_, key=lambda p: (-p.false_rejects(threshold),
                                                 np.inf if p.genuine_mean is None else p.genuine_mean)))


# --------------------------------------------------------------------------- test-set problems
def suspects(views: list[ModelView], identities, paths, *, duplicate_score: float = DUPLICATE_SCORE,
             block: int | None = None) -> tuple[Suspect, ...]:
    """Labelling problems that every informative model agrees on (an empty tuple on a clean set).

    Models with an AUC under :data:`INFORMATIVE_AUC` (near chance: they find everyone alike) do not vote,
    unless no model reaches it (then the best one decides); collapsed models (every pair at about one score,
    :func:`faceroc_core.metrics.score_spread`) never vote, so a set measured only by collapsed models has none.

    * ``same_person_two_names``: two identities whose cross-pairs score, on average, above every model's
      threshold and at least as high as the weaker of the two identities' own same-person pairs.
    * ``wrong_identity``: an image whose mean score with its own identity is nearer the model's typical
      different-people score than its typical same-person score, while its mean score with another identity is
      nearer the same-person one, by a gap of at least half the distance between the two, and about as high as
      that identity's own same-person mean, for every model (a hard but rightly filed photo is unlike its own
      person only a little, and does not fit another person as well as their own photos do).
    * ``duplicate_image``: two images of different identities scoring at least ``duplicate_score`` for every
      model (the same photo under two names).
    """
    views = [v for v in views if not v.collapsed]  # a collapsed model finds everyone alike: no evidence
    if not views:
        return ()
    views = [v for v in views if v.auc >= INFORMATIVE_AUC] or [max(views, key=lambda v: v.auc)]
    n_models = ", ".join(v.name for v in views)
    ids = np.asarray(identities)
    names, codes = np.unique(ids, return_inverse=True)
    n_all, n_id = ids.size, names.size
    out: list[Suspect] = []
    block = block or max(16, (1 << 21) // max(n_id, 1))  # rows of an (rows x identities) block: 16 MB per array

    # the same person under two names: agreed by every model (pairs of identities, a < b -> worst mean score)
    agreed: dict[tuple[int, int], float] | None = None
    # an image under the wrong name: per image, the identity it matches (or -1), agreed by every model
    moved_to = np.full(n_all, -2, np.int64)  # -2: not looked at yet
    for v in views:
        c = codes[v.index]
        counts = np.bincount(c, minlength=n_id).astype(np.float64)
        sums = np.zeros((n_id, v.emb.shape[1]))
        np.add.at(sums, c, v.emb)
        own = (np.einsum("ij,ij->i", sums, sums) - counts) / np.maximum(counts * (counts - 1), 1)
        has_own = counts >= MIN_IMAGES
        own_or_inf = np.where(has_own, own, np.inf)
        found: dict[tuple[int, int], float] = {}
        for a0 in range(0, n_id, block):  # identities a0.. against all: a block of rows of the n_id x n_id matrix
            a1 = min(n_id, a0 + block)
            cross = (sums[a0:a1] @ sums.T) / np.maximum(np.outer(counts[a0:a1], counts), 1)  # mean cross-pair score
            weaker = np.minimum(own_or_inf[a0:a1, None], own_or_inf[None, :])
            ok = (cross >= v.threshold) & (cross >= weaker) & (counts[a0:a1, None] > 0) & (counts[None, :] > 0)
            ok &= np.arange(a0, a1)[:, None] < np.arange(n_id)[None, :]  # each pair once, never a person with itself
            for ra, b in zip(*np.nonzero(ok)):
                found[(a0 + int(ra), int(b))] = float(cross[ra, b])
        agreed = found if agreed is None else {k: min(x, found[k]) for k, x in agreed.items() if k in found}
        # per image: mean score with its own identity (without itself) and with every other identity
        mid, half = (v.genuine_median + v.impostor_median) / 2, (v.genuine_median - v.impostor_median) / 2
        own_n_all = counts[c] - 1
        own_all = np.where(own_n_all > 0, (np.einsum("ij,ij->i", v.emb, sums[c]) - 1) / np.maximum(own_n_all, 1), np.nan)
        look = np.flatnonzero(own_all < mid)  # only an image unlike its own person can be filed under the wrong one
        moved_to[v.index[np.setdiff1d(np.arange(c.size), look)]] = -1  # this model rules them out
        for r0 in range(0, look.size, block):
            sel = look[r0:r0 + block]
            cr = c[sel]
            rows = np.arange(sel.size)
            to_ids = (v.emb[sel] @ sums.T) / np.maximum(counts, 1)  # (rows, n_id)
            own_n = own_n_all[sel]
            own_mean = own_all[sel]
            to_ids[rows, cr] = -np.inf
            other = np.argmax(to_ids, axis=1)
            best_other = to_ids[rows, other]
            fits = best_other >= np.where(has_own, own, -np.inf)[other] - half / 2  # as alike as that person's own
            hit = (own_n > 0) & (own_mean < mid) & (best_other > mid) & (best_other - own_mean >= half) & fits
            target = np.where(hit, other, -1)
            idx = v.index[sel]
            cur = moved_to[idx]
            moved_to[idx] = np.where(cur == -2, target, np.where(cur == target, cur, -1))
    for (a, b), worst in sorted((agreed or {}).items()):
        imgs = tuple(str(paths[i]) for c in (a, b) for i in np.flatnonzero(codes == c)[:3])
        out.append(Suspect(kind="same_person_two_names", identities=(str(names[a]), str(names[b])), images=imgs,
                           evidence=f"photos of {names[a]} and {names[b]} score {worst:.2f} on average "
                                    f"against each other in every model ({n_models}): as alike as one person's own photos"))
    merged = {frozenset(s.identities) for s in out}
    dups = [d for d in _duplicates(views, codes, names, paths, duplicate_score)
            if frozenset(d.identities) not in merged]  # copies are expected under one person's two names
    in_dups = {p for d in dups for p in d.images}
    for i in np.flatnonzero(moved_to >= 0):
        own, other = str(names[codes[i]]), str(names[moved_to[i]])
        if frozenset((own, other)) in merged or str(paths[i]) in in_dups:
            continue  # explained by the two names of one person, or a copied photo
        out.append(Suspect(kind="wrong_identity", identities=(own, other), images=(str(paths[i]),),
                           evidence=f"{paths[i]} is filed under {own} but every model ({n_models}) finds it unlike "
                                    f"{own}'s other photos and as like {other}'s as their own"))
    return tuple(out + dups)


def _duplicates(views, codes, names, paths, duplicate_score, *, limit: int = 200) -> list[Suspect]:
    """Photos of different identities scoring at least ``duplicate_score`` in every model, one suspect per pair of
    identities (candidates: the first model's highest impostor pairs, kept by its scan)."""
    found: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for score, a, b in views[0].duplicates:
        if score < duplicate_score or not all(_score(v, a, b) >= duplicate_score for v in views[1:]):
            continue
        ca, cb = int(codes[a]), int(codes[b])
        if ca > cb:
            ca, cb, a, b = cb, ca, b, a
        found.setdefault((ca, cb), []).append((a, b))
        if sum(map(len, found.values())) >= limit:
            break
    out = []
    for (ca, cb), pairs in found.items():
        a, b = pairs[0]
        more = f" (and {len(pairs) - 1} more such pair(s))" if len(pairs) > 1 else ""
        out.append(Suspect(kind="duplicate_image", identities=(str(names[ca]), str(names[cb])),
                           images=tuple(str(paths[i]) for pair in pairs[:5] for i in pair),
                           evidence=f"{paths[a]} ({names[ca]}) and {paths[b]} ({names[cb]}) score ≥ {duplicate_score} "
                                    f"in every model: the same photo under two names{more}"))
    return out


def _score(v: ModelView, a: int, b: int) -> float:
    """Model ``v``'s score of images ``a`` and ``b`` (dataset rows), or -inf when it has no embedding of one."""
    ia, ib = np.searchsorted(v.index, a), np.searchsorted(v.index, b)
    if ia >= v.index.size or ib >= v.index.size or v.index[ia] != a or v.index[ib] != b:
        return -np.inf
    return float(v.emb[ia] @ v.emb[ib])


def other_scores(views: list[ModelView], a: int, b: int, *, skip: str) -> tuple[tuple[str, float | None], ...]:
    """Every other model's score of images ``a`` and ``b`` (dataset rows); None where it lacks one of them."""
    out = []
    for v in views:
        if v.name != skip:
            s = _score(v, a, b)
            out.append((v.name, None if not np.isfinite(s) else s))
    return tuple(out)
