"""Scores people can read: a score turned into the probability that two photos show the same person.

Fitted on the dev people (:mod:`.decide`), measured on the eval people, as bob.measure and forensic face
comparison do:

* **log-likelihood ratio** ``LLR(s) = a * s + b``: a logistic regression of same/different on the score with both
  kinds of pair weighted equally (so that the fitted log-odds are the likelihood ratio, free of the dev set's
  prior);
* **probability** at a prior ``p`` (by default the dev set's share of same-person pairs, changeable):
  ``P(same | s) = 1 / (1 + exp(-(LLR(s) + logit(p))))`` — monotone in the score;
* **Cllr** on eval: ``(mean over genuine pairs of log2(1 + e^-LLR) + mean over impostor pairs of
  log2(1 + e^LLR)) / 2`` (0 perfect, 1 a system that says nothing); **minCllr**: the Cllr of the best monotone
  LLR of the eval scores (pool-adjacent-violators), so ``Cllr - minCllr`` is what calibration loses.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """``LLR(s) = slope * score + offset``; ``prior``: the share of same-person pairs the probability assumes."""

    slope: float
    offset: float
    prior: float
    cllr: float | None = None  # on eval
    min_cllr: float | None = None

    def llr(self, score):
        return self.slope * np.asarray(score, np.float64) + self.offset

    def probability(self, score, prior: float | None = None):
        """P(same person | score) at ``prior`` (default: the calibration's own)."""
        p = self.prior if prior is None else float(prior)
        x = self.llr(score) + np.log(p / (1 - p))
        return 1.0 / (1.0 + np.exp(-x))

    def as_dict(self) -> dict:
        return {"kind": "logistic", "slope": self.slope, "offset": self.offset, "prior": self.prior,
                "cllr": self.cllr, "min_cllr": self.min_cllr,
                "formula": "P(same) = 1 / (1 + exp(-(slope * score + offset + ln(prior / (1 - prior)))))"}


def fit(scores, genuine, *, prior: float | None = None) -> Calibration:
    """The logistic calibration of dev scores (module text); ``prior`` defaults to their genuine share.

    >>> c = fit([0.9, 0.8, 0.7, 0.2, 0.1, 0.3, 0.75], [1, 1, 1, 0, 0, 0, 0])
    >>> bool(c.probability(0.9) > c.probability(0.5) > c.probability(0.1))
    True
    """
    from sklearn.linear_model import LogisticRegression

    s = np.asarray(scores, np.float64).reshape(-1, 1)
    g = np.asarray(genuine, bool)
    if g.all() or not g.any():
        raise ValueError("calibration needs same-person and different-people pairs")
    w = np.where(g, 0.5 / g.sum(), 0.5 / (~g).sum()) * g.size  # both kinds weigh the same: log-odds = LLR
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(s, g, sample_weight=w)
    p = float(g.mean()) if prior is None else float(prior)
    return Calibration(slope=float(lr.coef_[0, 0]), offset=float(lr.intercept_[0]), prior=p)


def cllr(llr, genuine) -> float:
    """The log-likelihood-ratio cost (module text).

    >>> round(cllr([0.0, 0.0], [True, False]), 3)
    1.0
    """
    x = np.asarray(llr, np.float64)
    g = np.asarray(genuine, bool)
    return float(0.5 * (np.mean(np.logaddexp(0, -x[g])) + np.mean(np.logaddexp(0, x[~g]))) / np.log(2))


def min_cllr(scores, genuine) -> float:
    """Cllr of the best monotone LLR of these scores (pool-adjacent-violators on both kinds weighted equally)."""
    from sklearn.isotonic import IsotonicRegression

    s = np.asarray(scores, np.float64)
    g = np.asarray(genuine, bool)
    w = np.where(g, 0.5 / g.sum(), 0.5 / (~g).sum())
    p = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit_transform(s, g.astype(float),
                                                                                       sample_weight=w)
    eps = 1e-12
    p = np.clip(p, eps, 1 - eps)
    return cllr(np.log(p / (1 - p)), g)


def measured(c: Calibration, scores, genuine) -> Calibration:
    """The calibration with its Cllr and minCllr on (eval) scores."""
    from dataclasses import replace

    return replace(c, cllr=cllr(c.llr(scores), genuine), min_cllr=min_cllr(scores, genuine))
