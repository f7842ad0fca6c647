"""A threshold you can ship: chosen on some people (dev), measured on others (eval), as ISO/IEC 19795-1 and
bob.measure's dev/eval protocol ask.

* **split by people** (:func:`split_people`): a seeded shuffle of the identities; the first ``round(P * fraction)``
  are dev, the rest eval — no person is in both halves.
* **the threshold** is chosen on the dev pairs for a target (:func:`parse_target`): ``far=1e-3`` (the threshold
  that reaches the highest TAR with FAR <= the target, :func:`faceroc_core.metrics.tar_at_far`), ``eer`` (the EER
  threshold) or ``min-hter`` (the threshold with the smallest (FAR + FRR) / 2).
* **on eval** FAR and FRR are measured at that threshold (accept iff score >= threshold), each with a 95% interval
  over the eval people (:func:`faceroc_core.resample.threshold_intervals`).  When eval has fewer than 1 / target
  impostor pairs, the FAR is not measurable there and is None, with a note saying so.
* a **calibration** (:mod:`.calibrate`) is fitted on the dev pairs and measured (Cllr, minCllr) on eval.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import metrics as M
from .calibrate import Calibration, fit, measured
from .errors import FaceROCError

DEFAULT_DEV_FRACTION = 0.5
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Side:
    """One half's figures at the threshold."""

    far: float | None
    frr: float
    people: int
    n_genuine: int
    n_impostor: int
    far_ci: tuple[float, float] | None = None
    frr_ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class Decision:
    """A threshold chosen on dev for a target, with its dev and eval figures and a calibration."""

    threshold: float
    target: str  # "far=0.001" | "eer" | "min-hter"
    dev: Side
    eval: Side
    calibration: Calibration | None
    seed: int = DEFAULT_SEED
    dev_fraction: float | None = DEFAULT_DEV_FRACTION  # None: a separate dev set (--dev-images)
    note: str | None = None


def parse_target(text) -> str:
    """``1e-3`` / ``far=1e-3`` -> ``"far=0.001"``; ``eer``; ``min-hter``.

    >>> parse_target("1e-3"), parse_target("EER"), parse_target("min-hter")
    ('far=0.001', 'eer', 'min-hter')
    """
    t = str(text).strip().lower()
    if t in ("eer", "min-hter"):
        return t
    try:
        far = M.check_far(float(t.removeprefix("far=")))
    except (ValueError, FaceROCError):
        raise FaceROCError(f"target {text!r} is not a FAR, eer or min-hter",
                           hint="e.g. --target-far 1e-3, --target-far eer or --target-far min-hter") from None
    return f"far={far!r}"


def split_people(identities, fraction: float = DEFAULT_DEV_FRACTION, *, seed: int = DEFAULT_SEED) -> np.ndarray:
    """True for the images of dev people (module text).

    >>> split_people(["a", "a", "b", "b", "c", "d"], 0.5, seed=0).tolist()
    [True, True, False, False, True, False]
    """
    if not 0.0 < float(fraction) < 1.0:
        raise FaceROCError(f"--dev-fraction must be between 0 and 1, got {fraction}")
    ids = np.asarray(identities).astype(str)
    people = np.unique(ids)
    if people.size < 4:
        raise FaceROCError(f"{people.size} people cannot be split into dev and eval",
                           hint="a threshold chosen on other people needs at least 2 people on each side")
    order = np.random.default_rng(seed).permutation(people.size)
    n_dev = min(max(2, round(people.size * float(fraction))), people.size - 2)
    return np.isin(ids, people[order[:n_dev]])


def choose(roc: M.RocCurve, eer: M.EqualErrorRate, target: str) -> float:
    """The dev threshold for ``target`` (module text)."""
    if target == "eer":
        return float(eer.threshold)
    if target == "min-hter":
        far = roc.fps / roc.n_impostor
        frr = 1.0 - roc.tps / roc.n_genuine
        return float(roc.thresholds[int(np.argmin((far + frr) / 2))])
    op = M.tar_at_far(roc, float(target.removeprefix("far=")))
    if op.threshold is None:
        raise FaceROCError(f"the dev people have {roc.n_impostor:,} different-people pairs, too few to choose a "
                           f"threshold for {target}", hint="a larger --dev-fraction, or more people")
    return float(op.threshold)


def decide(embeddings, identities, *, target: str = "far=0.001", fraction: float = DEFAULT_DEV_FRACTION,
           seed: int = DEFAULT_SEED, level: float = 0.95, prior: float | None = None) -> Decision:
    """Split the people, choose the threshold on dev, measure it on eval (module text)."""
    e = np.asarray(embeddings)
    ids = np.asarray(identities).astype(str)
    dev = split_people(ids, fraction, seed=seed)
    return decide_on(e[dev], ids[dev], e[~dev], ids[~dev], target=target, level=level, prior=prior,
                     seed=seed, fraction=float(fraction))


def decide_on(dev_embeddings, dev_identities, eval_embeddings, eval_identities, *, target: str = "far=0.001",
              level: float = 0.95, prior: float | None = None, seed: int = DEFAULT_SEED,
              fraction: float | None = None) -> Decision:
    """Choose the threshold on the dev images and measure it on the eval images (two sets of people: a split,
    or a separate dev folder, ``--dev-images``)."""
    from .resample import sample_of_images, threshold_intervals
    from .stream import scan

    ed, ee = np.asarray(dev_embeddings), np.asarray(eval_embeddings)
    idd, ide = np.asarray(dev_identities).astype(str), np.asarray(eval_identities).astype(str)
    target = parse_target(target)
    st_dev, st_eval = scan(ed, idd), scan(ee, ide)
    t = choose(st_dev.roc, st_dev.eer, target)
    md, me = M.threshold_metrics(st_dev.roc, t), M.threshold_metrics(st_eval.roc, t)
    note = None
    far_eval: float | None = me.far
    if target.startswith("far="):
        need = round(1 / float(target.removeprefix("far=")))
        if st_eval.roc.n_impostor < need:
            far_eval = None
            note = (f"the eval people have {st_eval.roc.n_impostor:,} different-people pairs, fewer than the "
                    f"{need:,} a FAR of {target.removeprefix('far=')} needs: their FAR is not measurable")
    pp_eval = sample_of_images(ee, ide)
    n_eval = int(np.unique(ide).size)
    far_iv, frr_iv = threshold_intervals(pp_eval, t, far=me.far, frr=me.frr, n_people=n_eval, level=level)
    pp_dev = sample_of_images(ed, idd)
    try:
        cal: Calibration | None = measured(fit(pp_dev.scores, pp_dev.genuine, prior=prior), pp_eval.scores,
                                           pp_eval.genuine)
    except ValueError:
        cal = None
    return Decision(
        threshold=t, target=target, seed=seed, dev_fraction=float(fraction) if fraction is not None else None,
        note=note, calibration=cal,
        dev=Side(far=md.far, frr=md.frr, people=int(np.unique(idd).size), n_genuine=st_dev.roc.n_genuine,
                 n_impostor=st_dev.roc.n_impostor),
        eval=Side(far=far_eval, frr=me.frr, people=n_eval, n_genuine=st_eval.roc.n_genuine,
                  n_impostor=st_eval.roc.n_impostor,
                  far_ci=(far_iv.low, far_iv.high) if far_eval is not None else None,
                  frr_ci=(frr_iv.low, frr_iv.high)))
